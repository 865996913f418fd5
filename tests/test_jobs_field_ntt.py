"""The field_ntt job end to end, in a subprocess as a user runs it."""

import json
import os
import subprocess
import sys


def run_job(*args):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    return subprocess.run(
        [sys.executable, "-m", "supervm_jax.jobs.field_ntt", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_job_multiplies_and_checks_products_sharded():
    proc = run_job("--log_n=6", "--batch=2", "--sharded", "--field=BLS12_381_FR")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["failures"] == 0 and summary["checked"] == 2 and summary["devices"] == 4


def test_job_rejects_bad_config():
    proc = run_job("--log_n=3", "--set=mvcc.shard_count=3")
    assert proc.returncode == 2
    assert "mvcc.shard_count must be a power of two" in proc.stderr
