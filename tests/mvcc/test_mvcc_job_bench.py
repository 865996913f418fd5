"""The execute job end to end, and the mvcc benchmark suite on tiny blocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from supervm_jax.bench import harness
from supervm_jax.bench import mvcc as bench_mvcc


def test_execute_job_durable_and_resumable(tmp_path):
    path = tmp_path / "state.db"
    command = [sys.executable, "-m", "supervm_jax.jobs.execute", "--accounts=50", "--txs=300", "--blocks=2",
               "--num_workers=2", f"--set=mvcc.path={path}", "--set=parallel.sequential_below=0"]
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    first = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    assert "600 transactions (0 failed) in 2 blocks over 50 accounts, 2 workers" in first.stdout
    assert first.stdout.rstrip().endswith("height 3") and "2/2 blocks" in first.stderr
    again = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    assert again.stdout.rstrip().endswith("height 5")


def test_bench_suite_rows(monkeypatch):
    monkeypatch.setattr(bench_mvcc, "P2P_TXS", 200)
    monkeypatch.setattr(bench_mvcc, "JAX_TXS", 20)
    monkeypatch.setattr(bench_mvcc, "LATENCY_WORKERS", (2,))
    monkeypatch.setattr(bench_mvcc, "JAX_WORKERS", (2,))
    monkeypatch.setattr(bench_mvcc, "NATIVE_WORKERS", (1, 2))
    monkeypatch.setattr(harness, "REPEATS", 1)
    rows = [json.loads(record.to_json()) for record in bench_mvcc.run([2, 100])]
    native_cases = ["p2p-native-2-w1", "p2p-native-2-w2", "p2p-native-100-w1", "p2p-native-100-w2"]
    if not bench_mvcc.mvcc_native.available():
        native_cases = []
    assert [row["case"] for row in rows if row["case"] not in native_cases] == [
        "p2p-2", "p2p-2-w1", "p2p-100", "p2p-100-w1", "p2p-latency-100-w2", "p2p-jax-100-w2",
    ]
    native_rows = [row for row in rows if row["case"] in native_cases]
    assert [row["case"] for row in native_rows] == native_cases
    for row in native_rows:
        assert row["native_txs"] == 200 and row["convert_s"] > 0 and row["execute_s"] > 0 and row["commit_s"] > 0
        assert row["execute_speedup_vs_w1"] > 0
    for row in rows:
        if row["case"] not in native_cases:
            assert row["native_txs"] == 0
    for row in rows:
        assert row["suite"] == "mvcc" and row["peer"] == "serial" and row["ours_s"] > 0 and row["peer_s"] > 0
        assert row["tps"] > 0 and row.get("jax_threads_speedup", 1) > 0 and row["exec_per_tx"] >= 1 and row["val_per_tx"] >= 0 and row["workers"] >= 1
