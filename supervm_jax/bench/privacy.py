"""`python -m supervm_jax.bench privacy`: private transfers (join-split, circuits/transfer.circom).

`--n` counts transfers (defaults 1, 8, 64). The workload: a note tree holding 2n notes of one owner;
transfer i spends notes 2i and 2i + 1 into two new notes (Merkle paths of depth 20, no dummies).
The key is the cached INSECURE test key (made on first use, ~30 s).

Rows per n:
  - "transfer.witness": `WitnessCalculator.calculate_batch` (wasmtime, thread pool) against
    snarkjs 0.7.6 `wtns.calculate` on the same .wasm in ONE warm node process, one witness after the
    other (min(n, PEER_N) witnesses, scaled to n). Extra: witnesses per second for both.
  - "transfer.prove": `TransferProver.prove` (witnesses + one `prove_batch`, r1cs check included)
    against snarkjs `groth16.fullProve` (witness + proof) on the same key in one warm node process,
    per proof (min(n, PEER_N), scaled). Extra: transfers per second for both; the bar is >= 2x at n = 64.
Compile time (first call minus steady median) is `compile_s`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from supervm_jax.bench import harness

DEFAULT_SIZES = [1, 8, 64]
PEER_N = 4
ROOT = Path(__file__).resolve().parents[2]
SNARKJS = ROOT / "tools" / "groth16_fixtures" / "node_modules" / "snarkjs"

_NODE_LOOP = r"""
const snarkjs = require(process.argv[2]);
const fs = require("fs");
const [mode, wasm, zkey, inputsFile] = process.argv.slice(3);
(async () => {
  const inputs = JSON.parse(fs.readFileSync(inputsFile));
  const one = async (input) => mode === "witness"
      ? snarkjs.wtns.calculate(input, wasm, {type: "mem"})
      : snarkjs.groth16.fullProve(input, wasm, zkey);
  await one(inputs[0]);  // warm: builds and caches the curve
  const start = process.hrtime.bigint();
  for (const input of inputs) await one(input);
  console.log(JSON.stringify({seconds: Number(process.hrtime.bigint() - start) / 1e9}));
  process.exit(0);
})();
"""


def _node_seconds(mode: str, wasm: Path, zkey: Path, inputs: list[dict]) -> tuple[float | None, str | None]:
    """Seconds for snarkjs to run `mode` ("witness" or "prove") over `inputs` in one warm process."""
    if shutil.which("node") is None or not SNARKJS.exists():
        return None, "node or tools/groth16_fixtures/node_modules/snarkjs missing"
    tmp = Path(tempfile.mkdtemp(prefix="supervm_bench_privacy_"))
    (tmp / "inputs.json").write_text(json.dumps([{k: _str(v) for k, v in x.items()} for x in inputs]))
    (tmp / "loop.js").write_text(_NODE_LOOP)
    out = subprocess.run(["node", str(tmp / "loop.js"), str(SNARKJS), mode, str(wasm), str(zkey), str(tmp / "inputs.json")],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode:
        return None, f"node exited {out.returncode}: {out.stderr.strip()[-200:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"], None


def _str(value):
    return [_str(v) for v in value] if isinstance(value, list) else str(value)


def _requests(n: int):
    from supervm_jax.privacy import (
        ExtData,
        Note,
        NoteTree,
        Spend,
        SpendingKey,
        build_transfer,
    )

    key, recipient = SpendingKey.generate(), SpendingKey.generate()
    notes = [Note(10 + i, key.public_key) for i in range(2 * n)]
    tree = NoteTree()
    tree.append_batch([note.commitment for note in notes])
    return [build_transfer(tree, [Spend(notes[2 * i], 2 * i, key), Spend(notes[2 * i + 1], 2 * i + 1, key)],
                           [Note(7, recipient.public_key), Note(notes[2 * i].amount + notes[2 * i + 1].amount - 7,
                                                               key.public_key)], ext_data=ExtData())
            for i in range(n)]


def run(sizes: list[int]) -> Iterator[harness.Record]:
    from supervm_jax.privacy import TransferProver, insecure_test_key, verify_transfers
    from supervm_jax.privacy.prover import WASM_PATH

    start = time.perf_counter()
    prover = TransferProver()
    harness.log(f"privacy: prover ready in {time.perf_counter() - start:.1f} s (INSECURE test key)")
    zkey = insecure_test_key()
    calc = prover.witness_calculator
    for n in sizes:
        requests = _requests(n)
        inputs = [r.inputs for r in requests]
        k = min(n, PEER_N)

        t0 = time.perf_counter()
        calc.calculate_batch(inputs)
        first = time.perf_counter() - t0
        ours_s = harness.median_time(lambda: calc.calculate_batch(inputs), warmup=False, device=False)
        peer_s, reason = _node_seconds("witness", WASM_PATH, zkey, inputs[:k])
        peer_s = None if peer_s is None else peer_s * n / k
        extra = {"ours_per_s": n / ours_s, "peer_per_s": n / peer_s if peer_s else None}
        if reason:
            extra["peer_unavailable"] = reason
        harness.log(f"privacy n={n}: witnesses {n / ours_s:.1f}/s, snarkjs " + (f"{n / peer_s:.1f}/s" if peer_s else "-"))
        yield harness.Record("privacy", "transfer.witness", n, ours_s, "snarkjs-wtns" if peer_s else None, peer_s,
                             max(first - ours_s, 0.0), extra=extra)

        t0 = time.perf_counter()
        txs = prover.prove(requests)
        first = time.perf_counter() - t0
        if not verify_transfers(prover.verification_key, txs).all():
            raise AssertionError(f"privacy n={n}: a proof we made does not verify")
        ours_s = harness.median_time(lambda: prover.prove(requests), repeats=min(harness.REPEATS, 3), warmup=False,
                                     device=False)
        peer_s, reason = _node_seconds("prove", WASM_PATH, zkey, inputs[:k])
        peer_s = None if peer_s is None else peer_s * n / k
        extra = {"ours_per_s": n / ours_s, "peer_per_s": n / peer_s if peer_s else None}
        if reason:
            extra["peer_unavailable"] = reason
        harness.log(f"privacy n={n}: transfers proved {n / ours_s:.2f}/s, snarkjs fullprove "
                    + (f"{n / peer_s:.2f}/s" if peer_s else "-"))
        yield harness.Record("privacy", "transfer.prove", n, ours_s, "snarkjs-fullprove" if peer_s else None, peer_s,
                             max(first - ours_s, 0.0), extra=extra)
