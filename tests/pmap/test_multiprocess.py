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

WORKER = Path(__file__).with_name("multiprocess_worker.py")
ROOT = Path(__file__).resolve().parents[2]
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


def run_processes(out: Path, mode: str, processes: int, devices_each: int, timeout_s: float = TIMEOUT_S) -> dict:
    """Runs the worker as `processes` cooperating processes (1: no distributed runtime) with
    `devices_each` CPU devices each; returns process 0's JSON. Fails with every process's output
    tail if one exits non-zero or the launch exceeds `timeout_s` seconds."""
    coordinator = f"127.0.0.1:{_free_port()}"
    args = [[]] if processes == 1 else [[coordinator, str(processes), str(i)] for i in range(processes)]
    logs = [out.with_suffix(f".{i}.log") for i in range(len(args))]
    procs = []
    try:
        for extra, log in zip(args, logs):
            with open(log, "wb") as fh:
                procs.append(subprocess.Popen([sys.executable, str(WORKER), str(out), mode, *extra], cwd=ROOT,
                                              env=_env(devices_each), stdout=fh, stderr=subprocess.STDOUT,
                                              start_new_session=True))
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
        if "gloo" in tails.lower() and "not" in tails.lower() and "available" in tails.lower():
            pytest.skip(f"this jaxlib has no gloo CPU collectives: {tails[-300:]}")
        pytest.fail(f"{processes} x {devices_each} devices: exit codes {codes} (timeout {timeout_s} s)\n{tails}")
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
    if mode == "full":
        assert single["ed25519_single"] == single["ed25519_batch"] == [True, True, True, False, True, True]
