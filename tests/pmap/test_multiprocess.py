"""2 processes x 2 CPU devices (one JAX distributed runtime, 4 global devices) against 1 process x 4
devices: every sharded API must give the same bits (`multiprocess_worker.py` runs the calls).

Processes are launched as JAX's own multi-process tests do: separate interpreters on localhost
with a free coordinator port, each with XLA_FLAGS giving it 2 CPU devices. Every subprocess runs in
its own process group with a hard timeout; on failure or timeout the groups are killed, so CI never
hangs. The quick variant (no prove_batch) runs by default; the full one is marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jax._src.lib import _jax

WORKER = Path(__file__).with_name("multiprocess_worker.py")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not hasattr(_jax, "make_gloo_tcp_collectives"),
                                reason="this jaxlib has no gloo CPU collectives (cross-process CPU programs)")
TIMEOUT_S = 420  # per launch (the 2-core dev box compiles every kernel in each process)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(devices: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPERVM_", "JAX_COORDINATOR"))}
    env.update(JAX_PLATFORMS="cpu", XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
               PYTHONPATH=str(ROOT))
    return env


def _kill(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def launch(commands: list[list[str]], logs: list[Path], devices_each: int, timeout_s: float = TIMEOUT_S) -> None:
    """Runs the commands as cooperating processes with `devices_each` CPU devices each, output to
    `logs`. Fails with every process's output tail if one exits non-zero or the launch exceeds
    `timeout_s` seconds (all process groups are killed)."""
    procs = []
    try:
        for command, log in zip(commands, logs):
            with open(log, "wb") as fh:
                procs.append(subprocess.Popen(command, cwd=ROOT, env=_env(devices_each), stdout=fh,
                                              stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + timeout_s
        while any(p.poll() is None for p in procs):
            if time.monotonic() > deadline or any(p.poll() not in (None, 0) for p in procs):
                break
            time.sleep(0.5)
    finally:
        _kill(procs)
    codes = [p.returncode for p in procs]
    if codes != [0] * len(procs):
        tails = "\n".join(f"--- process {i} (exit {c}):\n{log.read_text()[-3000:]}" for i, (c, log) in enumerate(zip(codes, logs)))
        pytest.fail(f"{len(procs)} x {devices_each} devices: exit codes {codes} (timeout {timeout_s} s)\n{tails}")


def run_processes(out: Path, mode: str, processes: int, devices_each: int) -> dict:
    """The worker as `processes` cooperating processes (1: no distributed runtime) with
    `devices_each` CPU devices each; returns process 0's JSON."""
    coordinator = f"127.0.0.1:{_free_port()}"
    args = [[]] if processes == 1 else [[coordinator, str(processes), str(i)] for i in range(processes)]
    launch([[sys.executable, str(WORKER), str(out), mode, *extra] for extra in args],
           [out.with_suffix(f".{i}.log") for i in range(processes)], devices_each)
    return json.loads(out.read_text())


@pytest.mark.parametrize("mode", ["quick", pytest.param("full", marks=pytest.mark.slow)])
def test_two_processes_match_one_process(tmp_path, mode):
    multi = run_processes(tmp_path / "multi.json", mode, processes=2, devices_each=2)
    single = run_processes(tmp_path / "single.json", mode, processes=1, devices_each=4)
    assert (multi.pop("processes"), single.pop("processes")) == (2, 1)
    assert multi["devices"] == single["devices"] == 4
    assert multi.keys() == single.keys()
    for api in single:
        assert multi[api] == single[api], api
    assert multi["agreed_randbelow_same"]
    assert single["process_local_mul"][:250] == single["shard_batch_mul"]  # parts placed per process = whole
    if mode == "full":
        assert single["ed25519_single"] == single["ed25519_batch"] == [True, True, True, False, True, True]


def test_job_flags_join_the_runtime_and_report_global_devices(tmp_path):
    """`field_ntt --sharded` as 2 processes x 2 CPU devices: each checks its products and reports 4."""
    coordinator = f"--coordinator=127.0.0.1:{_free_port()}"
    logs = [tmp_path / f"job.{i}.log" for i in range(2)]
    launch([[sys.executable, "-m", "supervm_jax.jobs.field_ntt", "--log_n=8", "--batch=1", "--sharded", coordinator,
             "--num_processes=2", f"--process_id={i}"] for i in range(2)], logs, devices_each=2, timeout_s=240)
    for log in logs:  # gloo prints its connection lines on stdout too: take the JSON line
        summary = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        assert len(summary) == 1 and summary[0]["devices"] == 4 and summary[0]["failures"] == 0, log.read_text()


def test_job_flags_name_a_bad_process_id():
    run = subprocess.run([sys.executable, "-m", "supervm_jax.jobs.field_ntt", "--coordinator=h:1", "--num_processes=2",
                          "--process_id=2"], cwd=ROOT, env=_env(1), capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == "error: distributed.process_id must be in [0, 2) for 2 processes, got 2"
