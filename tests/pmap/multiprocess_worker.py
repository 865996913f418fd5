"""One process of `test_multiprocess.py`: every sharded API on the global mesh, results as JSON.

    python tests/pmap/multiprocess_worker.py OUT.json full|quick [COORDINATOR NUM_PROCESSES PROCESS_ID]

"quick" leaves out signature verification and prove_batch (the slow compiles). With the three runtime arguments it first joins the JAX distributed runtime (each process brings
the devices XLA_FLAGS gives it); without them it runs alone. Every process computes the same calls
on the mesh over all global devices (SPMD); process 0 writes {"devices", "processes", api: result}
to OUT.json. Inputs are fixed (seeded), so one process with 4 devices must write the same file.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from supervm_jax.pmap import distributed  # noqa: E402  (imports no device yet)


def _points(n: int, seed: int) -> list[tuple[int, int]]:
    from py_ecc import bn128

    rng = random.Random(seed)
    return [tuple(int(c) for c in bn128.multiply(bn128.G1, rng.randrange(1, bn128.curve_order))) for _ in range(n)]


def _affine(p) -> list[str] | None:
    return None if p is None else [hex(c) for c in p]


def compute(full: bool) -> dict:
    """Runs each API on `device_mesh()` (all global devices). full=False skips signatures and proofs."""
    import jax
    import numpy as np
    from jax.experimental import multihost_utils

    from supervm_jax.curve import BN254_G1
    from supervm_jax.field import BN254_FR
    from supervm_jax.merkle import MerkleTree
    from supervm_jax.msm import FixedBaseMSM, msm, msm_batch
    from supervm_jax.ntt.sharded import ntt_sharded
    from supervm_jax.pmap import agreed_randbelow, device_mesh, shard_batch

    mesh = device_mesh()
    rng = random.Random(15)
    out: dict = {"devices": mesh.size, "processes": jax.process_count()}

    points = _points(12, 1)
    scalars = [rng.randrange(BN254_G1.order) for _ in points]
    out["msm"] = _affine(msm(points, scalars, BN254_G1, mesh=mesh))
    out["msm_batch"] = [_affine(p) for p in msm_batch([points[:6], points[6:]], [scalars[:6], scalars[6:]],
                                                      BN254_G1, mesh=mesh)]
    out["fixed_base_msm"] = _affine(FixedBaseMSM(BN254_G1, points, mesh=mesh, precompute=False)(scalars))

    leaves = np.frombuffer(random.Random(2).randbytes(37 * 32), np.uint8).reshape(37, 32)
    out["merkle_root"] = MerkleTree(leaves, hash="sha256", mesh=mesh).root.hex()

    n = 256
    values = [rng.randrange(BN254_FR.modulus) for _ in range(n)]
    x = BN254_FR.from_ints(values)
    out["ntt"] = [hex(v) for v in BN254_FR.to_ints(np.asarray(ntt_sharded(BN254_FR, x, mesh=mesh)))]
    y = BN254_FR.from_ints(values[::-1])
    prod = shard_batch(BN254_FR.kernel("mul"), x[:, :250], y[:, :250], mesh=mesh)
    out["shard_batch_mul"] = [hex(v) for v in BN254_FR.to_ints(np.asarray(prod))]
    # each process places only its own part of the batch (its slice of the lanes, in process order)
    part = n // jax.process_count()
    mine = slice(jax.process_index() * part, (jax.process_index() + 1) * part)
    gx = distributed.from_process_local(np.asarray(x)[:, mine], mesh)
    gy = distributed.from_process_local(np.asarray(y)[:, mine], mesh)
    prod = shard_batch(BN254_FR.kernel("mul"), gx, gy, mesh=mesh)
    out["process_local_mul"] = [hex(v) for v in BN254_FR.to_ints(np.asarray(prod))]

    # random: compared across processes only (as bytes: process_allgather would cut uint64 to 32 bits)
    drawn = np.frombuffer(b"".join(v.to_bytes(16, "little") for v in agreed_randbelow(1 << 128, 4)), np.uint8)
    out["agreed_randbelow_same"] = bool((multihost_utils.process_allgather(drawn) == drawn).all())

    if full:
        from supervm_jax.groth16 import Groth16Prover
        from supervm_jax.sigverify import ed25519_public_keys, ed25519_sign, ed25519_verify

        seeds = [bytes([k]) * 32 for k in range(1, 7)]
        msgs = [f"message {k}".encode() for k in range(6)]
        keys = ed25519_public_keys(seeds, mesh=mesh)
        sigs = ed25519_sign(seeds, msgs, mesh=mesh)
        sigs[3] = sigs[3][:40] + bytes([sigs[3][40] ^ 1]) + sigs[3][41:]  # one bad signature
        out["ed25519_keys"] = [k.hex() for k in keys]
        out["ed25519_sigs"] = [s.hex() for s in sigs]
        for method in ("single", "batch"):
            out[f"ed25519_{method}"] = ed25519_verify(keys, msgs, sigs, method=method, mesh=mesh).tolist()

        fixtures = ROOT / "tests" / "groth16" / "fixtures" / "multiplier"
        prover = Groth16Prover(fixtures / "circuit_final.zkey", r1cs=fixtures / "circuit.r1cs", mesh=mesh)
        proofs = prover.prove_batch([fixtures / f"witness_{k}.wtns" for k in range(2)], blinding=[(5, 6), (7, 8)])
        out["prove_batch"] = [[proof, public] for proof, public in proofs]
    return out


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 6) or argv[2] not in ("full", "quick"):
        print(__doc__, file=sys.stderr)
        return 2
    if len(argv) == 6:
        distributed.initialize(argv[3], int(argv[4]), int(argv[5]), timeout_s=60)
    import jax

    result = compute(argv[2] == "full")
    path = argv[1]
    if jax.process_index() == 0:
        Path(path).write_text(json.dumps(result, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
