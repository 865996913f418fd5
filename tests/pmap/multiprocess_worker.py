"""One process of `test_multiprocess.py`: every sharded API on the global mesh, results as JSON.

    python tests/pmap/multiprocess_worker.py OUT.json [COORDINATOR NUM_PROCESSES PROCESS_ID]

With the three runtime arguments it first joins the JAX distributed runtime (each process brings
the devices XLA_FLAGS gives it); without them it runs alone. Every process computes the same calls
on the mesh over all global devices (SPMD): MSM (`msm`, `msm_batch`, `FixedBaseMSM`), a Merkle
root, `ntt_sharded`, `shard_batch` (whole input and per-process parts), `agreed_randbelow` and
`broadcast_bytes` (checked across processes), Ed25519 verification (a batch that takes the batch
path, fails it on one bad signature and falls back to the single path) and a Groth16 `prove_batch`
(the smallest fixture circuit, the first proof with snarkjs's fixed blinding). Process 0 writes
{"devices", "processes", api: result} to OUT.json. Inputs are fixed (`inputs`: seeded; signatures
made on the host with PyNaCl), so the test computes every expected value from them with references
nobody here wrote. Sizes are small: the run is compile-bound, one launch compiles it all.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from supervm_jax.pmap import distributed  # noqa: E402  (imports no device yet)

SIGNATURES = 32  # ed25519_verify's BATCH_MIN: "auto" takes the batch path
BAD_SIGNATURE = 5  # signed over another message: well-formed, so only the equation catches it


def inputs() -> dict:
    """The fixed inputs of every call: "logs" and "points" (12 MSM bases log_i G1, affine ints from
    py_ecc), "scalars" (12 MSM scalars), "values" (256 BN254 Fr elements), "leaves" (37 x 32 Merkle
    leaf bytes)."""
    from py_ecc import optimized_bn128 as bn

    order = bn.curve_order
    logs_rng, rng = random.Random(1), random.Random(15)
    logs = [logs_rng.randrange(1, order) for _ in range(12)]
    points = [tuple(int(c) for c in bn.normalize(bn.multiply(bn.G1, k))) for k in logs]
    scalars = [rng.randrange(order) for _ in logs]
    values = [rng.randrange(order) for _ in range(256)]  # BN254's Fr is Z / r
    return {"logs": logs, "points": points, "scalars": scalars, "values": values,
            "leaves": random.Random(2).randbytes(37 * 32)}


def _affine(p) -> list[str] | None:
    return None if p is None else [hex(c) for c in p]


def signed_batch() -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(keys, messages, signatures): SIGNATURES signatures by 4 PyNaCl keys (repeated signers, as in
    a block), the one at BAD_SIGNATURE made over a different message."""
    import nacl.signing

    signers = [nacl.signing.SigningKey(bytes([k + 1]) * 32) for k in range(4)]
    keys, msgs, sigs = [], [], []
    for i in range(SIGNATURES):
        key, msg = signers[i % 4], f"message {i}".encode()
        keys.append(bytes(key.verify_key))
        msgs.append(msg)
        sigs.append(key.sign(b"another message" if i == BAD_SIGNATURE else msg).signature)
    return keys, msgs, sigs


def compute() -> dict:
    """Runs each API on `device_mesh()` (all global devices)."""
    import jax
    import numpy as np
    from jax.experimental import multihost_utils

    from supervm_jax.curve import BN254_G1
    from supervm_jax.field import BN254_FR
    from supervm_jax.groth16 import Groth16Prover
    from supervm_jax.merkle import MerkleTree
    from supervm_jax.msm import FixedBaseMSM, msm, msm_batch
    from supervm_jax.ntt.sharded import ntt_sharded
    from supervm_jax.pmap import agreed_randbelow, device_mesh, shard_batch
    from supervm_jax.sigverify import ed25519_verify
    from tests.groth16.conftest import fixed_blinding

    mesh = device_mesh()
    data = inputs()
    out: dict = {"devices": mesh.size, "processes": jax.process_count()}

    points, scalars = data["points"], data["scalars"]
    out["msm"] = _affine(msm(points, scalars, BN254_G1, mesh=mesh))
    out["msm_batch"] = [_affine(p) for p in msm_batch([points[:6], points[6:]], [scalars[:6], scalars[6:]],
                                                      BN254_G1, mesh=mesh)]
    out["fixed_base_msm"] = _affine(FixedBaseMSM(BN254_G1, points, mesh=mesh, precompute=False)(scalars))

    leaves = np.frombuffer(data["leaves"], np.uint8).reshape(37, 32)
    out["merkle_root"] = MerkleTree(leaves, hash="sha256", mesh=mesh).root.hex()

    values = data["values"]
    n = len(values)
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
    payload = random.Random(3).randbytes(1000)  # the others pass nothing: they must receive process 0's bytes
    got = distributed.broadcast_bytes(payload if jax.process_index() == 0 else b"")
    out["broadcast_bytes_everywhere"] = bool(multihost_utils.process_allgather(np.array([got == payload])).all())

    out["ed25519_verify"] = ed25519_verify(*signed_batch(), mesh=mesh).tolist()

    fixtures = ROOT / "tests" / "groth16" / "fixtures" / "multiplier"  # the smallest fixture circuit
    prover = Groth16Prover(fixtures / "circuit_final.zkey", mesh=mesh, trusted_key=True)
    proofs = prover.prove_batch([fixtures / f"witness_{k}.wtns" for k in range(2)],
                                blinding=[fixed_blinding("multiplier"), (7, 8)])  # snarkjs's r, s, then others
    out["prove_batch"] = [[proof, public] for proof, public in proofs]
    return out


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 5):
        print(__doc__, file=sys.stderr)
        return 2
    if len(argv) == 5:
        distributed.initialize(argv[2], int(argv[3]), int(argv[4]), timeout_s=60)
    import jax

    result = compute()
    if jax.process_index() == 0:
        Path(argv[1]).write_text(json.dumps(result, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
