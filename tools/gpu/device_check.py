"""The one-call device check: tests and every bench suite on the device backend, one table out.

Run on the lent GPU machine from the repository root (through `tools/gpu/device_check.sh`, which
installs the carried wheels first), or here with ``--rehearse`` (CPU backend, small sizes):

    python tools/gpu/device_check.py --out=/tmp/out [--rehearse] [--budget_s=560]

Stages run one after another, each under its own timeout clipped to what is left of the budget, so
the call always returns inside the device tool's 10-minute limit with whatever finished:

1. ``sanity``: the prime-field and sharding tests (the device backend works at all);
2. ``bench_<suite>``: every suite of `supervm_jax.bench` at device-sized n (`GPU_SIZES`; rehearsal:
   `REHEARSAL_SIZES`), its JSON lines collected;
3. ``tests``: the whole test suite (``pytest -v``, so a stage cut by the budget still reports how far
   it got), on the GPU in 4 xdist workers that share the card without preallocating it.

Writes under --out: ``<stage>.txt`` / ``<stage>.err`` (outputs), ``bench.jsonl`` (every row),
``summary.md`` (the card's name, one line per stage, and the bench table that drops into
docs/PERFORMANCE.md) and prints the summary. Exit code 0 when every stage passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

# Device-sized n per suite (what issue 14 asks: 2^20 field, NTT, MSM, hashes and Merkle, ...).
GPU_SIZES = {
    "field": "2**20", "ntt": "2**20", "msm": "2**20", "hash": "2**20", "merkle": "2**20",
    "sigverify": "2**14", "groth16": "32640", "verify": "2**10", "privacy": "8", "mvcc": "10000",
    "node": "10000", "multihost": None,
}
REHEARSAL_SIZES = {
    "field": "2**12", "ntt": "2**10", "msm": "2**10", "hash": "2**10", "merkle": "2**10",
    "sigverify": "2**6", "groth16": "4080", "verify": "4", "privacy": "1", "mvcc": "100",
    "node": "200", "multihost": None,
}
STAGE_TIMEOUT_S = {"sanity": 120, "tests": 300}
BENCH_TIMEOUT_S = 90
TABLE_FIELDS = ("suite", "case", "n", "devices", "ours_s", "peer", "peer_s", "speedup", "compile_s")


def card_name() -> str:
    """The GPU's name from nvidia-smi, else the first JAX device's kind (run in a subprocess so this
    process never initializes a backend)."""
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip().splitlines()[0]
    out = subprocess.run([sys.executable, "-c", "import jax; d = jax.devices()[0]; print(d.platform, d.device_kind)"],
                         capture_output=True, text=True, timeout=120)
    return out.stdout.strip() or "unknown device"


def run_stage(name: str, argv: list[str], timeout_s: float, out: Path, env: dict) -> dict:
    """Runs `argv` in its own process group under `timeout_s`, output to <out>/<name>.txt/.err.
    Returns {"stage", "rc" (None when timed out), "seconds"}; a timed-out group is killed."""
    start = time.monotonic()
    with open(out / f"{name}.txt", "w") as stdout, open(out / f"{name}.err", "w") as stderr:
        proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env, start_new_session=True)
        try:
            rc = proc.wait(timeout=max(timeout_s, 1))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
    return {"stage": name, "rc": rc, "seconds": round(time.monotonic() - start, 1)}


def pytest_progress(text: str) -> str:
    """'N passed, M failed' from a ``pytest -v`` log (also when it was cut short)."""
    passed = len(re.findall(r" PASSED", text))
    failed = len(re.findall(r" (?:FAILED|ERROR)", text))
    skipped = len(re.findall(r" SKIPPED", text))
    return f"{passed} passed, {failed} failed, {skipped} skipped"


def bench_rows(text: str) -> list[dict]:
    """The JSON lines of a bench stage's stdout (other lines ignored)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(rows: list[dict]) -> str:
    """The bench rows as a markdown table with the `TABLE_FIELDS` columns."""
    lines = ["| " + " | ".join(TABLE_FIELDS) + " |", "|" + "---|" * len(TABLE_FIELDS)]
    lines += ["| " + " | ".join(_cell(row.get(f)) for f in TABLE_FIELDS) + " |" for row in rows]
    return "\n".join(lines)


def summary(card: str, mode: str, stages: list[dict], rows: list[dict]) -> str:
    head = [f"# Device check: {card} ({mode}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", ""]
    for s in stages:
        state = {None: "timed out", 0: "ok", "skipped": "skipped"}.get(s["rc"], f"rc={s['rc']}")
        head.append(f"- {s['stage']}: {state}, {s['seconds']} s" + (f" ({s['detail']})" if s.get("detail") else ""))
    return "\n".join(head + ["", markdown_table(rows), ""])


def suites() -> list[str]:
    """The bench suites of this checkout (read without importing JAX)."""
    text = (Path(__file__).resolve().parents[2] / "supervm_jax" / "bench" / "__init__.py").read_text()
    return list(re.search(r"SUITES = \(([^)]*)\)", text).group(1).replace('"', "").replace(" ", "").split(","))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.environ.get("OUT", "/tmp/out"))
    parser.add_argument("--rehearse", action="store_true", help="CPU backend, small sizes, a short test subset")
    parser.add_argument("--budget_s", type=float, default=560.0, help="wall-clock budget of the whole call")
    parser.add_argument("--skip", default="", help="comma list of stages to skip (e.g. tests)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget_s
    py = sys.executable
    env = dict(os.environ, PYTHONPATH=str(Path.cwd()), XLA_PYTHON_CLIENT_PREALLOCATE="false")
    if args.rehearse:
        env["JAX_PLATFORMS"] = "cpu"
    skip = set(filter(None, args.skip.split(",")))
    sizes = REHEARSAL_SIZES if args.rehearse else GPU_SIZES
    card = card_name()
    plan = [("sanity", [py, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/field/test_prime_field.py",
                        "tests/pmap/test_sharding.py"], STAGE_TIMEOUT_S["sanity"])]
    for suite in suites():
        n = sizes.get(suite)
        plan.append((f"bench_{suite}", [py, "-m", "supervm_jax.bench", suite, "--repeats=3"] + ([f"--n={n}"] if n else []),
                     BENCH_TIMEOUT_S))
    tests = [py, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--max-worker-restart=0"]
    tests += ["-x", "tests/hash"] if args.rehearse else ["-n", "4", "--dist", "loadfile"]
    plan.append(("tests", tests, STAGE_TIMEOUT_S["tests"]))
    stages, rows = [], []
    for name, command, timeout_s in plan:
        left = deadline - time.monotonic()
        if name in skip or left < 5:
            stages.append({"stage": name, "rc": "skipped", "seconds": 0})
            continue
        result = run_stage(name, command, min(timeout_s, left), out, env)
        text = (out / f"{name}.txt").read_text(errors="replace")
        if name.startswith("bench_"):
            found = bench_rows(text)
            rows += found
            result["detail"] = f"{len(found)} rows"
        elif name == "tests":
            result["detail"] = pytest_progress(text)
        else:
            result["detail"] = (text.strip().splitlines() or [""])[-1]
        stages.append(result)
        print(f"{name}: rc={result['rc']} {result['seconds']} s {result.get('detail', '')}", flush=True)
    with open(out / "bench.jsonl", "w") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    report = summary(card, "rehearsal on CPU" if args.rehearse else "device", stages, rows)
    (out / "summary.md").write_text(report)
    print(report)
    return 0 if all(s["rc"] in (0, "skipped") for s in stages) else 1


if __name__ == "__main__":
    sys.exit(main())
