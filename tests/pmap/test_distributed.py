"""`pmap.distributed`: settings and their errors, and the runtime's start-up failures (in a
subprocess: the runtime can start only once per interpreter, before any computation)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from supervm_jax.config import ConfigError, load_config
from supervm_jax.pmap import device_mesh, distributed

ROOT = Path(__file__).resolve().parents[2]


def test_settings_come_from_arguments_over_config_over_environment():
    cfg = load_config(environ={"SUPERVM_COORDINATOR": "10.0.0.1:1234", "SUPERVM_NUM_PROCESSES": "4",
                               "SUPERVM_PROCESS_ID": "3", "SUPERVM_DISTRIBUTED_TIMEOUT": "9"})
    s = distributed.resolve(cfg=cfg)
    assert (s.coordinator, s.num_processes, s.process_id, s.timeout_s) == ("10.0.0.1:1234", 4, 3, 9)
    s = distributed.resolve("h:1", 2, 0, timeout_s=5, cfg=cfg)
    assert (s.coordinator, s.num_processes, s.process_id, s.timeout_s) == ("h:1", 2, 0, 5)
    assert distributed.resolve(cfg=load_config(environ={})).num_processes == 1


@pytest.mark.parametrize("args, match", [
    (("h:1", 2, 2), r"process_id must be in \[0, 2\) for 2 processes, got 2"),
    (("h:1", 2, -1), r"process_id must be in \[0, 2\)"),
    ((None, 2, 1), r"distributed.coordinator \(host:port of process 0\) is required for 2 processes"),
    (("h", 2, 1), r"must be host:port, got 'h'"),
    (("h:70000", 2, 1), r"must be host:port, got 'h:70000'"),
    (("h:1", 0, 0), r"num_processes must be >= 1, got 0"),
])
def test_bad_settings_name_the_problem(args, match):
    with pytest.raises(ConfigError, match=match):
        distributed.resolve(*args, cfg=load_config(environ={}))


def test_one_process_starts_nothing_and_changes_nothing():
    assert distributed.initialize(num_processes=1, cfg=load_config(environ={})) is False
    mesh = device_mesh()
    assert not distributed.spans_processes(mesh)
    assert distributed.collect_target(mesh) == mesh.devices.flat[0]
    x = np.arange(5)
    before = distributed.traffic()
    assert distributed.to_host(x) is not None and (distributed.to_host(x) == x).all()
    assert distributed.traffic() == before
    assert all(0 <= v < 7 for v in distributed.agreed_randbelow(7, 20))



@pytest.mark.parametrize("bound", [3, 7, 256, 257, (1 << 128) - 1])
def test_randbelow_many_is_uniform_over_the_whole_range(bound):
    """Every value lands in [0, bound); over 6,000 draws the three thirds of the range each get
    their share (a masking or rejection bug skews them), and the top and bottom values occur
    for small bounds."""
    draws = distributed.randbelow_many(bound, 6000)
    assert len(draws) == 6000 and all(0 <= v < bound for v in draws)
    thirds = [sum(1 for v in draws if v * 3 // bound == t) for t in range(3)]
    share = [sum(1 for v in range(bound) if v * 3 // bound == t) / bound for t in range(3)] if bound <= 257 else [1 / 3] * 3
    assert all(abs(c - 6000 * f) < 300 for c, f in zip(thirds, share)), (thirds, share)  # 300 is ~8 sigma
    if bound <= 257:
        assert {0, bound - 1} <= set(draws)


def test_randbelow_many_edges():
    assert distributed.randbelow_many(1, 5) == [0] * 5
    assert distributed.randbelow_many(10, 0) == []
    with pytest.raises(ValueError, match="bound must be >= 1"):
        distributed.randbelow_many(0, 1)

_STARTUP = """
import socket, sys
from supervm_jax.pmap import distributed
port, taken = int(sys.argv[1]), int(sys.argv[2])
for args in ((f"127.0.0.1:{port}", 2, 1), (f"127.0.0.1:{taken}", 2, 0)):
    try:
        distributed.initialize(*args, timeout_s=1)
    except distributed.DistributedError as err:
        print("DistributedError:", err)
import jax
jax.devices()
try:
    distributed.initialize(f"127.0.0.1:{port}", 2, 0, timeout_s=1)
except distributed.DistributedError as err:
    print("DistributedError:", err)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_startup_failures_are_clear_errors_not_hangs():
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERVM_")}
        env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
        run = subprocess.run([sys.executable, "-c", _STARTUP, str(_free_port()), str(taken.getsockname()[1])],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in run.stdout.splitlines() if line.startswith("DistributedError")]
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(lines) == 3, run.stdout + run.stderr[-2000:]
    assert "process 1 of 2: coordinator 127.0.0.1:" in lines[0] and "unreachable for 1 s" in lines[0]
    assert "process 0 cannot serve the coordinator" in lines[1] and "is not free" in lines[1]
    assert "must run before any JAX computation" in lines[2]
