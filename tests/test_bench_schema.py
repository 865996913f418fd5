"""Every benchmark suite is registered, importable, and prints the public JSON schema."""

import importlib
import json
import os
import subprocess
import sys

from supervm_jax.bench import SUITES

SCHEMA = {"suite", "case", "n", "backend", "devices", "ours_s", "peer", "peer_s", "speedup", "compile_s"}


def test_every_suite_has_sizes_and_run():
    for name in SUITES:
        suite = importlib.import_module(f"supervm_jax.bench.{name}")
        assert callable(suite.run) and suite.DEFAULT_SIZES, name


def test_ntt_suite_prints_schema_lines():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # two devices from --cpu_devices
    proc = subprocess.run(
        [sys.executable, "-m", "supervm_jax.bench", "ntt", "--n=2**6", "--repeats=1", "--cpu_devices=2"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {r["case"] for r in rows} == {"BN254_FR.ntt", "BN254_FR.ntt_sharded", "BLS12_381_FR.ntt", "BLS12_381_FR.ntt_sharded"}
    for r in rows:
        assert SCHEMA <= set(r), r
        assert r["suite"] == "ntt" and r["n"] == 64 and r["devices"] == 2 and r["ours_s"] > 0
        if r["peer_s"] is not None:
            assert abs(r["speedup"] - r["peer_s"] / r["ours_s"]) < 1e-9


def test_unknown_suite_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "supervm_jax.bench", "nope"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "SUITE one of" in proc.stderr
