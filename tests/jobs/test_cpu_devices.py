"""Jobs and benches give JAX's CPU backend one device per usable core unless configured otherwise
(`supervm_jax.config.cpu_devices_to_create`, applied by `supervm_jax.jobs.run_main`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from supervm_jax.config import cpu_devices_to_create, load_config, usable_cores

ROOT = Path(__file__).resolve().parents[2]
# The smallest program that starts like a job: run_main, then report JAX's device count.
PROGRAM = """
import jax
from supervm_jax import config
from supervm_jax.jobs import run_main
config.define_flags()
run_main(lambda argv: print(jax.device_count()))
"""
FORCE_4 = "--xla_force_host_platform_device_count=4"


def test_count_precedence():
    auto = load_config(environ={})
    assert cpu_devices_to_create(auto, environ={}) == usable_cores() >= 1
    three = load_config(environ={"SUPERVM_CPU_DEVICES": "3"})
    assert cpu_devices_to_create(three, environ={}) == 3
    assert cpu_devices_to_create(three, environ={"XLA_FLAGS": FORCE_4}) is None
    assert cpu_devices_to_create(three, environ={"JAX_NUM_CPU_DEVICES": "2"}) is None


@pytest.mark.parametrize("args, env_extra, expected", [
    ([], {}, usable_cores()),
    (["--cpu_devices=3"], {}, 3),
    ([], {"SUPERVM_CPU_DEVICES": "5"}, 5),
    (["--set=devices.cpu_devices=2"], {"SUPERVM_CPU_DEVICES": "5"}, 2),
    (["--cpu_devices=3"], {"XLA_FLAGS": FORCE_4}, 4),  # the user's XLA_FLAGS win
])
def test_job_device_count(args, env_extra, expected):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SUPERVM_") and k not in ("XLA_FLAGS", "JAX_NUM_CPU_DEVICES")}
    env.update(env_extra, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", PROGRAM, *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) == expected
