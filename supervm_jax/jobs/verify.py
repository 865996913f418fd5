"""Batch job: verify Groth16 proofs (snarkjs JSON) against a verification key, on device.

    python -m supervm_jax.jobs.verify --vk=verification_key.json --proof=proof.json --public=public.json
    python -m supervm_jax.jobs.verify --vk=verification_key.json --proof_dir=proofs/

The directory form pairs every `NAME.proof.json` in --proof_dir with `NAME.public.json` (what
`jobs.prove --wtns_dir` writes) and verifies them all in one `verify_batch` call.

Output (stdout): one JSON line per proof, {"proof": NAME, "valid": true|false} (NAME is the file stem
in the directory form, the --proof path in the single form), in file-name order, then one summary
line {"proofs", "valid", "invalid", "verify_s", "curve"}. Progress goes to stderr.

Exit codes: 0 every proof valid; 1 at least one invalid (a proof that fails the pairing equation,
has a point off its curve or outside its subgroup, a public signal >= r, or the wrong number of
public signals: see `supervm_jax.groth16.verifier`); 2 bad flags, configuration or input, with one
line `error: ...` naming the file: an unreadable or malformed file, a proof without its
`NAME.public.json`, a proof on another curve than the key, a key with a point outside its group or
with vk_gamma_2 == vk_delta_2.

Compiled kernels go to JAX's persistent compilation cache (--compilation_cache, as in `jobs.prove`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import jax
from absl import flags

from supervm_jax import config
from supervm_jax.groth16 import ProofFormatError, parse_proof, parse_public, parse_verification_key, verify_batch
from supervm_jax.groth16.proof_json import CoordinateRangeError, load_json
from supervm_jax.jobs import (
    JobInputError, config_from_flags, define_compilation_cache_flag, run_main, use_compilation_cache,
)

flags.DEFINE_string("vk", None, "verification_key.json (snarkjs zkey export verificationkey).")
flags.DEFINE_string("proof", None, "A proof JSON (single form, with --public).")
flags.DEFINE_string("public", None, "Its public signals JSON (single form).")
flags.DEFINE_string("proof_dir", None, "Directory of NAME.proof.json + NAME.public.json pairs, verified as one batch.")
define_compilation_cache_flag()
config.define_flags()
FLAGS = flags.FLAGS

PROOF_SUFFIX, PUBLIC_SUFFIX = ".proof.json", ".public.json"


def _log(msg: str) -> None:
    print(f"[verify] {msg}", file=sys.stderr, flush=True)


def _inputs() -> list[tuple[str, Path, Path]]:
    """(name, proof path, public path) from the flags; JobInputError on a bad combination or a
    missing public file."""
    if not FLAGS.vk:
        raise JobInputError("--vk is required")
    if bool(FLAGS.proof) == bool(FLAGS.proof_dir):
        raise JobInputError("give exactly one of --proof (with --public) and --proof_dir")
    if FLAGS.proof:
        if not FLAGS.public:
            raise JobInputError("--proof needs --public")
        return [(FLAGS.proof, Path(FLAGS.proof), Path(FLAGS.public))]
    src = Path(FLAGS.proof_dir)
    if not src.is_dir():
        raise JobInputError(f"--proof_dir {src} is not a directory")
    proofs = sorted(src.glob(f"*{PROOF_SUFFIX}"))
    if not proofs:
        raise JobInputError(f"--proof_dir {src} holds no *{PROOF_SUFFIX} files")
    out = []
    for path in proofs:
        name = path.name[: -len(PROOF_SUFFIX)]
        public = src / f"{name}{PUBLIC_SUFFIX}"
        if not public.is_file():
            raise JobInputError(f"{path}: no public signals file {public.name} next to it")
        out.append((name, path, public))
    return out


def _load_checked(path: Path, what: str, parse) -> tuple[object, object]:
    """(JSON of `path`, `parse` of it) for a proof or public-signal file; JobInputError naming the file
    when it is unreadable or not the snarkjs structure. A proof with a coordinate >= q parses to None:
    it is an invalid proof (False), not a malformed file."""
    obj = _load_json(path, what)
    try:
        return obj, parse(obj)
    except CoordinateRangeError:
        return obj, None
    except ProofFormatError as err:
        raise JobInputError(f"{path}: {err}") from None


def _load_json(path: Path, what: str) -> object:
    try:
        return load_json(path, what)
    except ProofFormatError as err:
        raise JobInputError(f"{path}: {err}") from None


def main(argv: list[str]) -> int:
    del argv
    config_from_flags()  # a ConfigError exits 2 through run_main
    use_compilation_cache()
    inputs = _inputs()
    vk = _load_json(Path(FLAGS.vk), "verification key")
    try:
        curve = parse_verification_key(vk)["curve"]
    except ProofFormatError as err:
        raise JobInputError(f"{FLAGS.vk}: {err}") from None
    proofs, publics = [], []
    for _, proof_path, public_path in inputs:
        proof, parsed = _load_checked(proof_path, "proof", parse_proof)
        if parsed is not None and parsed[0] is not curve:
            raise JobInputError(f"{proof_path}: proof on {parsed[0].name}, the verification key on {curve.name}")
        proofs.append(proof)
        publics.append(_load_checked(public_path, "public signals", parse_public)[0])
    _log(f"verifying {len(inputs)} proof(s) on {curve.name}, {jax.device_count()} {jax.default_backend()} device(s)")
    t0 = time.perf_counter()
    try:
        ok = verify_batch(vk, proofs, publics)
    except ProofFormatError as err:  # the proof and public files passed the same structural checks above
        raise JobInputError(f"{FLAGS.vk}: {err}") from None
    verify_s = time.perf_counter() - t0
    for (name, _, _), valid in zip(inputs, ok):
        print(json.dumps({"proof": name, "valid": bool(valid)}))
    print(json.dumps({"proofs": len(inputs), "valid": int(ok.sum()), "invalid": int((~ok).sum()),
                      "verify_s": round(verify_s, 3), "curve": curve.name, "devices": jax.device_count()}), flush=True)
    return 0 if ok.all() else 1


if __name__ == "__main__":
    run_main(main)
