"""Multi-process scaling: the same MSM on 1 process and on 2 processes of one JAX distributed runtime.

    python -m supervm_jax.bench multihost [--n=2**12] [--repeats=3]

Each configuration runs as fresh CPU processes on this machine (`--xla_force_host_platform_device_count=1`
each, so 1 process = 1 device and 2 processes = 2 global devices, coordinator on localhost): every
process calls `msm(points, scalars, mesh=device_mesh())` on the same inputs (SPMD). Records:
case "msm.1proc" and "msm.2proc" (ours_s: median seconds per call; the 2-process record's `speedup`
is 1-process time / 2-process time) with extra `processes` and the cross-process bytes received per
call and process (`pmap.traffic()`: results replicated to every process; the all-gather of
per-device partial sums inside the MSM program is `extra.partial_sum_bytes`, modelled). On one box
both processes share the same cores, so the figure measures the runtime's overhead, not more
silicon; across hosts the per-process work halves (docs/DEPLOY.md).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from supervm_jax.bench import harness

DEFAULT_SIZES = [2**12]
TIMEOUT_S = 900


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(n: int, processes: int, repeats: int) -> dict:
    """Runs `_child` as `processes` processes; returns process 0's measurement."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERVM_")}
    env.update(JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=1")
    coordinator = f"127.0.0.1:{_free_port()}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        procs = [subprocess.Popen([sys.executable, "-m", "supervm_jax.bench.multihost", str(out), str(n), str(repeats),
                                   coordinator, str(processes), str(i)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, start_new_session=True)
                 for i in range(processes)]
        try:
            errs = [p.communicate(timeout=TIMEOUT_S)[1] for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, 9)
                    p.wait()
        if any(p.returncode for p in procs):
            raise RuntimeError(f"multihost bench, {processes} process(es): exit codes {[p.returncode for p in procs]}\n"
                               + "\n".join(e[-2000:] for e in errs))
        return json.loads(out.read_text())


def _child(out: str, n: int, repeats: int, coordinator: str, processes: int, process_id: int) -> None:
    from supervm_jax.pmap import distributed

    distributed.initialize(coordinator, processes, process_id, timeout_s=120)
    import jax

    from supervm_jax.curve import BN254_G1
    from supervm_jax.msm import msm
    from supervm_jax.msm.api import window_bits
    from supervm_jax.pmap import pow2_bucket
    from supervm_jax.pmap import device_mesh

    rng = random.Random(n)
    mesh = device_mesh()
    points = _points(n, rng)
    ks = [rng.randrange(BN254_G1.order) for _ in range(n)]
    compile_s, ours_s = harness.compile_and_median(lambda: msm(points, ks, BN254_G1, mesh=mesh), repeats)
    distributed.reset_traffic()
    msm(points, ks, BN254_G1, mesh=mesh)
    traffic = distributed.traffic()
    c = window_bits(pow2_bucket(-(-n // mesh.size), 8), BN254_G1.scalar_bits)
    windows = -(-(BN254_G1.scalar_bits + 1) // c)
    # partial sums (3 coords x 8 limbs x 4 bytes per window and device), gathered from the other devices
    partial = 3 * 8 * 4 * windows * (mesh.size - len(mesh.local_devices))
    if jax.process_index() == 0:
        Path(out).write_text(json.dumps({"ours_s": ours_s, "compile_s": compile_s, "devices": mesh.size,
                                         "bytes_per_call": traffic["bytes"], "gathers_per_call": traffic["gathers"],
                                         "partial_sum_bytes": partial}))


def _points(n: int, rng: random.Random):
    """n distinct BN254 G1 points k G, k consecutive from a random start (one device scalar_mul)."""
    from supervm_jax.curve import BN254_G1

    start = rng.randrange(1, BN254_G1.order - n)
    return BN254_G1.scalar_mul(BN254_G1.from_affine([BN254_G1.generator] * n), list(range(start, start + n)))


def run(sizes: list[int]) -> Iterator[harness.Record]:
    for n in sizes:
        base = None
        for processes in (1, 2):
            m = _launch(n, processes, harness.REPEATS)
            base = base or m["ours_s"]
            harness.log(f"msm BN254_G1 n={n}, {processes} process(es) x 1 CPU device: {m['ours_s']:.3f} s/call, "
                        f"{m['bytes_per_call']} B/call received from other processes")
            yield harness.Record("multihost", f"msm.{processes}proc", n, m["ours_s"],
                                 peer=None if processes == 1 else "msm.1proc",
                                 peer_s=None if processes == 1 else base, compile_s=m["compile_s"],
                                 backend="cpu", devices=m["devices"],
                                 extra={"processes": processes, "bytes_per_call": m["bytes_per_call"],
                                        "gathers_per_call": m["gathers_per_call"],
                                        "partial_sum_bytes": m["partial_sum_bytes"]})


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
