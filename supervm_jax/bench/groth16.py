"""`python -m supervm_jax.bench groth16`: Groth16 proving vs snarkjs 0.7.6 and arkworks (groth16py).

Circuit: N chained Poseidon(2) hashes (`tools/groth16_fixtures/circuits/bench_chain.circom`, 240
constraints each); `--n` is a constraint count, N = n // 240 (defaults 4,080 / 32,640 / 131,040).
`tools/groth16_fixtures/bench_build.sh` compiles it with circom2 and computes the witnesses with
snarkjs; everything lands in a cache dir ($SUPERVM_BENCH_CACHE/N or
~/.cache/supervm_jax/groth16_bench/N) and is reused. The proving key is ours, from the INSECURE
test-only `insecure_setup`, written once with `write_zkey`: snarkjs, groth16py and we prove with the
SAME key file.

Rows (one per size): ours = `Groth16Prover.prove(witness path)` median wall time (compile excluded,
compile_s = first call minus steady); peers measured in the same run: snarkjs `groth16 prove` as a
subprocess (wall time, node start-up included: `node_startup_s` says how much) and arkworks through
groth16py (`import_zkey` once, `prove_wtns` timed). Extra fields: per-stage times of one
instrumented proof (`stage_*`, from the prover's own internals), key read / prover creation / setup
times, whether the native CPU MSM kernel ran (`native_msm`), and up to 32,640 constraints the
window-table mode (`tables_init_s`, `tables_prove_s`; ours is the default mode without tables).
One more row `batch8_2^15`: `prove_batch` of 8 witnesses at 32,640 constraints vs 8 sequential
snarkjs proofs (extra: proofs/s). Every timed proof is checked once per size outside the timing: ours
with the py_ecc verifier, snarkjs's with `snarkjs groth16 verify`, groth16py's with its verifier.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import jax

from supervm_jax.bench import harness

DEFAULT_SIZES = [17 * 240, 136 * 240, 546 * 240]
CONSTRAINTS_PER_HASH = 240
BATCH_N = 136 * 240
BATCH = 8
PACKAGE = Path(__file__).resolve().parents[2] / "tools" / "groth16_fixtures"
SNARKJS_CLI = PACKAGE / "node_modules" / "snarkjs" / "build" / "cli.cjs"


def cache_dir(hashes: int) -> Path:
    root = os.environ.get("SUPERVM_BENCH_CACHE") or Path.home() / ".cache" / "supervm_jax" / "groth16_bench"
    return Path(root) / str(hashes)


def _build(hashes: int, witnesses: int) -> Path:
    """circom2 + snarkjs artifacts (cached), then our INSECURE key (cached, with its setup time)."""
    out = cache_dir(hashes)
    need = [out / "circuit.r1cs"] + [out / f"witness_{k}.wtns" for k in range(witnesses)]
    if not all(p.exists() for p in need):
        harness.log(f"groth16: building the {hashes}-hash circuit in {out} (circom2, snarkjs wtns calculate)")
        subprocess.run(["bash", str(PACKAGE / "bench_build.sh"), str(hashes), str(out), str(witnesses)], check=True,
                       stdout=subprocess.DEVNULL)
    key, meta = out / "insecure.zkey", out / "insecure_setup.json"
    if not key.exists() or not meta.exists():
        from supervm_jax.groth16 import write_zkey
        from supervm_jax.groth16.setup import insecure_setup

        harness.log(f"groth16: INSECURE test setup for {hashes} hashes")
        start = time.perf_counter()
        zkey = insecure_setup(out / "circuit.r1cs")
        setup_s = time.perf_counter() - start
        write_zkey(key, zkey)
        (out / "verification_key.json").write_text(json.dumps(zkey.verification_key()))
        meta.write_text(json.dumps({"setup_s": setup_s, "devices": jax.device_count(), "backend": jax.default_backend()}))
    return out


def _stage_times(prover, witness_path: Path) -> dict[str, float]:
    """One proof through the prover's internals (same steps as `prove_batch`), timed per stage."""
    from supervm_jax.groth16 import qap
    from supervm_jax.pmap.compat import x64_scope

    times: dict[str, float] = {}

    def timed(name, fn, *args):
        start = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        times[name] = times.get(name, 0.0) + time.perf_counter() - start
        return out

    key = prover.zkey
    w = timed("witness_load", prover._witness, str(witness_path), 0)
    device_w = timed("witness_to_device", prover._stack, [w])
    with x64_scope():
        ab = timed("qap_matvec", prover._matvec, prover._coef, prover._col, prover._row, device_w)
    ab = ab.reshape(ab.shape[:2] + (2, key.domain_size))
    h = timed("ntt_quotient", lambda x: qap.quotient_scalars(prover.curve, x), ab)  # stays on the device

    class TimedMSM:
        """A FixedBaseMSM whose calls add to times["msm_<name>"]."""

        def __init__(self, msm, label):
            self.msm, self.label = msm, label

        def batch(self, scalars):
            return timed(self.label, self.msm.batch, scalars)

        def batch_limbs(self, limbs):
            return timed(self.label, self.msm.batch_limbs, limbs)

    originals = dict(prover._msm)
    prover._msm.update({name: TimedMSM(msm, f"msm_{name}") for name, msm in originals.items()})
    try:
        start = time.perf_counter()
        sums = prover._msm_sums([w], h)
        prover._assemble([w], sums, [(1, 2)])
        total = time.perf_counter() - start
    finally:
        prover._msm.update(originals)
    times["host_tail"] = total - sum(v for k, v in times.items() if k.startswith("msm_"))
    return times


def _snarkjs(args: list[str], cwd: Path) -> str:
    proc = subprocess.run(["node", str(SNARKJS_CLI), *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"snarkjs {' '.join(args)} failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    return proc.stdout


def _node_startup() -> float:
    """Wall time of starting node and loading snarkjs (no proving): the fixed part of each peer run."""
    main = SNARKJS_CLI.parent / "main.cjs"
    return harness.median_time(lambda: subprocess.run(["node", "-e", f"require({json.dumps(str(main))})"], check=True),
                               repeats=3, warmup=False, device=False)


def _groth16py(key: Path):
    """(prove(witness path) -> bytes, verifier, import_s) or (None, reason, None)."""
    try:
        import groth16py
    except Exception as err:  # noqa: BLE001 - any import failure makes the peer unavailable
        return None, f"groth16py not importable ({type(err).__name__}: {err}); pip install groth16py", None
    try:
        start = time.perf_counter()
        pk, vk = groth16py.import_zkey(str(key))
        import_s = time.perf_counter() - start
    except Exception as err:  # noqa: BLE001
        return None, f"groth16py.import_zkey failed: {type(err).__name__}: {err}", None
    return (lambda wtns: groth16py.prove_wtns(pk, str(wtns))), groth16py.Verifier(vk), import_s


def run(sizes: list[int]) -> Iterator[harness.Record]:
    from supervm_jax import native
    from supervm_jax.groth16 import Groth16Prover, read_zkey, verify
    from supervm_jax.pmap import device_mesh

    node_ok = shutil.which("node") is not None and SNARKJS_CLI.exists()
    node_startup_s = _node_startup() if node_ok else None
    mesh = device_mesh()
    for n in sizes:
        hashes = max(n // CONSTRAINTS_PER_HASH, 1)
        n_constraints = hashes * CONSTRAINTS_PER_HASH
        batch = n_constraints == BATCH_N
        out = _build(hashes, BATCH if batch else 1)
        key_path, wtns = out / "insecure.zkey", out / "witness_0.wtns"
        setup_s = json.loads((out / "insecure_setup.json").read_text())["setup_s"]

        start = time.perf_counter()
        zkey = read_zkey(key_path)
        key_read_s = time.perf_counter() - start
        start = time.perf_counter()
        prover = Groth16Prover(zkey, mesh=mesh, trusted_key=True)  # our own INSECURE key: no subgroup checks timed
        prover_init_s = time.perf_counter() - start

        start = time.perf_counter()
        proof, public = prover.prove(wtns)
        first = time.perf_counter() - start
        ours_s = harness.median_time(lambda: prover.prove(wtns), warmup=False, device=False)
        compile_s = max(first - ours_s, 0.0)
        vk = zkey.verification_key()
        ours_ok = verify(vk, proof, public)
        # the window-table mode (precompute=True): start-up against proof time; its start-up is minutes
        # at 131K constraints on 2 cores, so it is measured up to the batch size only
        tables = {}
        if n_constraints <= BATCH_N:
            start = time.perf_counter()
            with_tables = Groth16Prover(zkey, mesh=mesh, precompute=True, trusted_key=True)
            tables["tables_init_s"] = time.perf_counter() - start
            with_tables.prove(wtns)
            tables["tables_prove_s"] = harness.median_time(lambda: with_tables.prove(wtns), repeats=1, warmup=False,
                                                          device=False)
            del with_tables
        stages = [_stage_times(prover, wtns)]  # one instrumented proof (large sizes: a proof is minutes on CPU)
        stage = {f"stage_{k}_s": statistics.median(s[k] for s in stages) for k in stages[0]}
        harness.log(f"groth16 n={n_constraints}: ours {ours_s:.3f} s (compile {compile_s:.1f} s, verified {ours_ok}), "
                    + ", ".join(f"{k[6:-2]} {v:.3f}" for k, v in stage.items()))
        extra = {"constraints": n_constraints, "hashes": hashes, "domain_size": zkey.domain_size, "n_vars": zkey.n_vars,
                 "verified": ours_ok, "key_read_s": key_read_s, "prover_init_s": prover_init_s,
                 "insecure_setup_s": setup_s, "native_msm": native.available(zkey.curve.g1), **tables, **stage}

        # snarkjs: same key file, same witness, a fresh node process per proof
        if node_ok:
            tmp = out / "snarkjs_out"
            tmp.mkdir(exist_ok=True)
            prove_args = ["groth16", "prove", str(key_path), str(wtns), "proof.json", "public.json"]
            snark_s = harness.median_time(lambda: _snarkjs(prove_args, tmp), warmup=False, device=False)
            (tmp / "vk.json").write_text(json.dumps(vk))
            snark_ok = "OK!" in _snarkjs(["groth16", "verify", "vk.json", "public.json", "proof.json"], tmp)
            harness.log(f"groth16 n={n_constraints}: snarkjs {snark_s:.3f} s (verified {snark_ok})")
            yield harness.Record("groth16", "bn128.prove", n_constraints, ours_s, "snarkjs-0.7.6", snark_s, compile_s,
                                 extra={**extra, "peer_verified": snark_ok, "node_startup_s": node_startup_s,
                                        "peer_note": "wall time of `node cli.cjs groth16 prove`, node start-up included"})
        else:
            yield harness.Record("groth16", "bn128.prove", n_constraints, ours_s, None, None, compile_s,
                                 extra={**extra, "peer_unavailable": "snarkjs-0.7.6: node or node_modules missing"})

        # arkworks via groth16py, same key file
        prove_ark, verifier, import_s = _groth16py(key_path)
        if prove_ark is None:
            yield harness.Record("groth16", "bn128.prove", n_constraints, ours_s, None, None, compile_s,
                                 extra={**extra, "peer_unavailable": f"arkworks (groth16py): {verifier}"})
        else:
            ark_s = harness.median_time(lambda: prove_ark(wtns), device=False)
            ark_ok = verifier.verify(prove_ark(wtns), [int(x) for x in public])
            harness.log(f"groth16 n={n_constraints}: groth16py {ark_s:.3f} s (verified {ark_ok})")
            yield harness.Record("groth16", "bn128.prove", n_constraints, ours_s, "arkworks-groth16py", ark_s, compile_s,
                                 extra={**extra, "peer_verified": ark_ok, "peer_key_import_s": import_s})

        if batch:
            paths = [out / f"witness_{k}.wtns" for k in range(BATCH)]
            start = time.perf_counter()
            results = prover.prove_batch(paths)
            first = time.perf_counter() - start
            batch_s = harness.median_time(lambda: prover.prove_batch(paths), warmup=False, device=False)
            batch_ok = all(verify(vk, p, pub) for p, pub in results)
            peer_s = None
            if node_ok:
                def sequential():
                    for k, path in enumerate(paths):
                        _snarkjs(["groth16", "prove", str(key_path), str(path), f"proof_{k}.json", f"public_{k}.json"],
                                 out / "snarkjs_out")

                peer_s = harness.median_time(sequential, repeats=1, warmup=False, device=False)
            harness.log(f"groth16 batch of {BATCH} at n={n_constraints}: ours {batch_s:.3f} s ({BATCH / batch_s:.2f} proofs/s)"
                        + (f", snarkjs {peer_s:.3f} s" if peer_s else ""))
            yield harness.Record("groth16", "batch8_2^15", n_constraints, batch_s, "snarkjs-0.7.6" if peer_s else None,
                                 peer_s, max(first - batch_s, 0.0),
                                 extra={"constraints": n_constraints, "batch": BATCH, "verified": batch_ok,
                                        "ours_proofs_per_s": BATCH / batch_s,
                                        "peer_proofs_per_s": BATCH / peer_s if peer_s else None,
                                        "peer_note": "8 sequential `groth16 prove` processes" if peer_s else None})
        del prover
