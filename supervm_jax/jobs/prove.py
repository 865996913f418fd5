"""Batch job: Groth16 proofs for a circom circuit from snarkjs files.

    python -m supervm_jax.jobs.prove --zkey=circuit_final.zkey --wtns=witness.wtns \\
        --proof=proof.json --public=public.json [--r1cs=circuit.r1cs] [--vk=verification_key.json]
    python -m supervm_jax.jobs.prove --zkey=circuit_final.zkey --wtns_dir=witnesses/ --out_dir=proofs/

The single form writes `proof.json` / `public.json` exactly as `snarkjs groth16 prove` does. The
batch form proves every `*.wtns` in --wtns_dir together (`Groth16Prover.prove_batch`) and writes
`<name>.proof.json` and `<name>.public.json` into --out_dir. With --r1cs every witness is checked
against the constraints first; with --vk every proof is verified (`verify_batch`, one call for the
whole batch) before it is written. The key's points are validated on device when it is loaded (on the
curve, in the order-r subgroup); --trusted_key skips the subgroup checks, which take minutes for
keys of 2^17 constraints on a CPU (docs/GROTH16.md).

The MSMs run on the devices of the configuration's ``[devices]`` section (`supervm_jax.config`:
--config, --set=devices.count=N, SUPERVM_DEVICES_*; default every visible device).

Compiled kernels are kept in JAX's persistent compilation cache (--compilation_cache, default
$JAX_COMPILATION_CACHE_DIR when set, else ~/.cache/supervm_jax/xla), so only the first run for a
key size pays for compilation.

Progress goes to stderr, one JSON summary line to stdout. Exit codes: 0 ok, 1 a proof failed
verification, 2 bad flags, configuration or input (malformed file, mismatched key and witness,
unsatisfied constraints), with a message naming the problem. Files are written atomically and only after every
proof of the run succeeded.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import jax
from absl import flags

from supervm_jax import config
from supervm_jax.groth16 import Groth16Prover, ProofFormatError, SnarkjsFileError, read_wtns, verify_batch, write_json
from supervm_jax.groth16.prover import witness_for_key
from supervm_jax.groth16.zkey import load_zkey
from supervm_jax.jobs import config_from_flags, define_compilation_cache_flag, run_main, use_compilation_cache
from supervm_jax.pmap import mesh_from_config

flags.DEFINE_string("zkey", None, "Groth16 proving key (.zkey) from snarkjs.")
flags.DEFINE_string("wtns", None, "Witness file (.wtns) from circom / snarkjs wtns calculate (single proof).")
flags.DEFINE_string("proof", "proof.json", "Output proof JSON (single proof).")
flags.DEFINE_string("public", "public.json", "Output public signals JSON (single proof).")
flags.DEFINE_string("wtns_dir", None, "Directory of .wtns files to prove as one batch (instead of --wtns).")
flags.DEFINE_string("out_dir", None, "Output directory of the batch form (default: --wtns_dir).")
flags.DEFINE_string("r1cs", None, "Optional .r1cs: reject witnesses that do not satisfy the constraints.")
flags.DEFINE_string("vk", None, "Optional verification_key.json: verify every proof before writing any.")
flags.DEFINE_bool("trusted_key", False, "Skip the subgroup checks of the key's points (a key from a source you trust; "
                  "the on-curve checks stay). They take minutes for 2^17-constraint keys on a CPU.")
flags.DEFINE_bool("precompute", False, "Build fixed-base MSM window tables: ~15% faster MSMs for a start-up "
                  "of about a minute per 2^17 bases on a 2-core CPU; worth it only for large batches.")
define_compilation_cache_flag()
config.define_flags()
FLAGS = flags.FLAGS


def _log(msg: str) -> None:
    print(f"[prove] {msg}", file=sys.stderr, flush=True)


def _jobs() -> list[tuple[Path, Path, Path]]:
    """(witness, proof out, public out) triples from the flags; ValueError on a bad combination."""
    if not FLAGS.zkey:
        raise ValueError("--zkey is required")
    if bool(FLAGS.wtns) == bool(FLAGS.wtns_dir):
        raise ValueError("give exactly one of --wtns and --wtns_dir")
    if FLAGS.wtns:
        return [(Path(FLAGS.wtns), Path(FLAGS.proof), Path(FLAGS.public))]
    src = Path(FLAGS.wtns_dir)
    if not src.is_dir():
        raise ValueError(f"--wtns_dir {src} is not a directory")
    files = sorted(src.glob("*.wtns"))
    if not files:
        raise ValueError(f"--wtns_dir {src} holds no .wtns files")
    out = Path(FLAGS.out_dir or src)
    out.mkdir(parents=True, exist_ok=True)
    return [(f, out / f"{f.stem}.proof.json", out / f"{f.stem}.public.json") for f in files]


def main(argv: list[str]) -> int:
    del argv
    cfg = config_from_flags()  # a ConfigError exits 2 through run_main
    use_compilation_cache()
    try:
        jobs = _jobs()
        witnesses = [read_wtns(w) for w, _, _ in jobs]  # malformed witnesses fail before the slow key load
        mesh = mesh_from_config(cfg)  # ValueError for an impossible device count
        t0 = time.perf_counter()
        _log(f"loading {FLAGS.zkey} onto {mesh.size} {mesh.devices.flat[0].platform} device(s)")
        zkey = load_zkey(FLAGS.zkey)
        # witnesses that do not fit the key fail before its points are validated on the devices
        witnesses = [witness_for_key(w, zkey, i) for i, w in enumerate(witnesses)]
        prover = Groth16Prover(zkey, r1cs=FLAGS.r1cs, mesh=mesh, precompute=FLAGS.precompute,
                               trusted_key=FLAGS.trusted_key)
        key = prover.zkey
        _log(f"key: {key.curve.name}, {key.n_vars} signals, {key.n_public} public, domain 2^{key.power} "
             f"({time.perf_counter() - t0:.1f} s)")
        _log(f"proving {len(witnesses)} witness(es)")
        t1 = time.perf_counter()
        results = prover.prove_batch(witnesses)
        prove_s = time.perf_counter() - t1
        _log(f"proved in {prove_s:.2f} s")
        failed = []
        if FLAGS.vk:
            ok = verify_batch(FLAGS.vk, [proof for proof, _ in results], [public for _, public in results])
            failed = [str(w) for (w, _, _), good in zip(jobs, ok) if not good]
            _log(f"verified: {len(results) - len(failed)} ok, {len(failed)} failed")
    except (SnarkjsFileError, ProofFormatError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if failed:
        print(f"error: proofs failed verification: {', '.join(failed)}", file=sys.stderr)
        return 1
    for (_, proof_path, public_path), (proof, public) in zip(jobs, results):
        write_json(proof_path, proof)
        write_json(public_path, public)
    print(json.dumps({"proofs": len(results), "prove_s": round(prove_s, 3), "curve": key.curve.name,
                      "constraints_domain": key.domain_size, "devices": mesh.size,
                      "verified": bool(FLAGS.vk), "outputs": [str(p) for _, p, _ in jobs]}))
    return 0


if __name__ == "__main__":
    run_main(main)
