"""Multi-process scaling: the same MSM and the same Groth16 proof batch on 1 process and on 2
processes of one JAX distributed runtime.

    python -m supervm_jax.bench multihost [--n=2**12] [--repeats=3]

Each configuration runs as fresh CPU processes on this machine (`--xla_force_host_platform_device_count=1`
each, so 1 process = 1 device and 2 processes = 2 global devices, coordinator on localhost): every
process makes the same calls on the same inputs over `device_mesh()` (SPMD), timed on process 0.
Records (ours_s: median seconds per call; the 2-process record's `speedup` is 1-process time /
2-process time; extra `processes`):

* "msm.1proc", "msm.2proc": `msm` of n BN254 G1 points (one record pair per --n).
* "prove_batch.1proc", "prove_batch.2proc": `Groth16Prover.prove_batch` of PROOFS witnesses of
  the 960-constraint Poseidon-chain fixture circuit (tests/groth16/fixtures/poseidon_chain; n is
  its constraint count): five fixed-base MSMs per proof split over the mesh, the QAP and the
  blinding on each process (measured once, with the first --n).

Communication per call and process, in bytes received: `bytes_per_call` / `gathers_per_call`, the
results replicated to every process (`pmap.traffic()`, measured); `input_check_bytes`, JAX's own
check that every process passed the same host input to `jax.device_put` onto a sharding over all
processes (an all-gather of that input, measured); `partial_sum_bytes`, the all-gather of the other
processes' per-device window sums inside the MSM programs (modelled: (3, *E) uint32 limbs per
window and device). On one box both processes share the same cores, so the figure measures the
runtime's overhead, not more silicon; across hosts the per-process work halves (docs/DEPLOY.md).
"""

from __future__ import annotations

import contextlib
import json
import math
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
CIRCUIT = Path(__file__).resolve().parents[2] / "tests" / "groth16" / "fixtures" / "poseidon_chain"
PROOFS = 3  # the fixture's witnesses


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(n: int, prove: bool, processes: int, repeats: int) -> dict:
    """Runs `_child` as `processes` processes; returns process 0's measurements."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERVM_")}
    env.update(JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=1")
    coordinator = f"127.0.0.1:{_free_port()}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        procs = [subprocess.Popen([sys.executable, "-m", "supervm_jax.bench.multihost", str(out), str(n), str(int(prove)),
                                   str(repeats), coordinator, str(processes), str(i)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
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


def _child(out: str, n: int, prove: bool, repeats: int, coordinator: str, processes: int, process_id: int) -> None:
    from supervm_jax.pmap import distributed

    distributed.initialize(coordinator, processes, process_id, timeout_s=120)
    import jax

    from supervm_jax.pmap import device_mesh

    mesh = device_mesh()
    result = {"devices": mesh.size, "msm": _measure_msm(n, mesh, repeats)}
    if prove:
        result["prove_batch"] = _measure_prove(mesh, repeats)
    if jax.process_index() == 0:
        Path(out).write_text(json.dumps(result))


def _timed(fn, repeats: int) -> dict:
    """compile_s, ours_s (median) and the traffic of one more call of `fn`: `pmap.traffic()` and the
    bytes of JAX's own input check (below)."""
    from supervm_jax.pmap import distributed

    compile_s, ours_s = harness.compile_and_median(fn, repeats)
    distributed.reset_traffic()
    with _input_checks() as checked:
        fn()
    traffic = distributed.traffic()
    return {"ours_s": ours_s, "compile_s": compile_s, "bytes_per_call": traffic["bytes"],
            "gathers_per_call": traffic["gathers"], "input_check_bytes": checked[0]}


@contextlib.contextmanager
def _input_checks() -> Iterator[list[int]]:
    """Counts what JAX's `jax.device_put` of a host array onto a sharding over every process
    receives to check that all processes passed the same value (`multihost_utils.assert_equal`, an
    all-gather of the whole input): nbytes x (processes - 1) per check, in a one-element list."""
    import jax
    import numpy as np
    from jax.experimental import multihost_utils

    received = [0]
    check = multihost_utils.assert_equal

    def counted(value, *args, **kwargs):
        received[0] += sum(np.asarray(leaf).nbytes for leaf in jax.tree.leaves(value)) * (jax.process_count() - 1)
        return check(value, *args, **kwargs)

    multihost_utils.assert_equal = counted
    try:
        yield received
    finally:
        multihost_utils.assert_equal = check


def _partial_sum_bytes(group, windows: int, mesh) -> int:
    """Bytes of the other processes' window sums one process receives in one MSM program:
    (3, *E) uint32 limbs per window and per device it does not own."""
    return math.prod(group.point_shape) * 4 * windows * (mesh.size - len(mesh.local_devices))


def _measure_msm(n: int, mesh, repeats: int) -> dict:
    from supervm_jax.curve import BN254_G1
    from supervm_jax.msm import msm
    from supervm_jax.msm.api import window_bits
    from supervm_jax.pmap import pow2_bucket

    rng = random.Random(n)
    points = _points(n, rng)
    ks = [rng.randrange(BN254_G1.order) for _ in range(n)]
    m = _timed(lambda: msm(points, ks, BN254_G1, mesh=mesh), repeats)
    c = window_bits(pow2_bucket(-(-n // mesh.size), 8), BN254_G1.scalar_bits)
    m["partial_sum_bytes"] = _partial_sum_bytes(BN254_G1, -(-(BN254_G1.scalar_bits + 1) // c), mesh)
    return m


def _measure_prove(mesh, repeats: int) -> dict:
    from supervm_jax.groth16 import Groth16Prover

    prover = Groth16Prover(CIRCUIT / "circuit_final.zkey", mesh=mesh, trusted_key=True)  # snarkjs' fixture key
    witnesses = [CIRCUIT / f"witness_{k}.wtns" for k in range(PROOFS)]
    blinding = [(k + 1, k + 2) for k in range(PROOFS)]  # fixed: every process assembles the same proofs
    m = _timed(lambda: prover.prove_batch(witnesses, blinding=blinding), repeats)
    # five fixed-base MSMs per proof (A, B1, B2, C over the witness; H over the quotient)
    msms = prover._msm.values()  # the prover's FixedBaseMSMs: the bench models their programs
    m["partial_sum_bytes"] = PROOFS * sum(_partial_sum_bytes(f.curve, f.n_windows, mesh) for f in msms)
    return m


def _points(n: int, rng: random.Random):
    """n distinct BN254 G1 points k G, k consecutive from a random start (one device scalar_mul)."""
    from supervm_jax.curve import BN254_G1

    start = rng.randrange(1, BN254_G1.order - n)
    return BN254_G1.scalar_mul(BN254_G1.from_affine([BN254_G1.generator] * n), list(range(start, start + n)))


def _record(case: str, n: int, processes: int, m: dict, base: float | None, devices: int, **extra) -> harness.Record:
    return harness.Record("multihost", f"{case}.{processes}proc", n, m["ours_s"],
                          peer=None if processes == 1 else f"{case}.1proc", peer_s=None if processes == 1 else base,
                          compile_s=m["compile_s"], backend="cpu", devices=devices,
                          extra={"processes": processes, "bytes_per_call": m["bytes_per_call"],
                                 "gathers_per_call": m["gathers_per_call"],
                                 "partial_sum_bytes": m["partial_sum_bytes"],
                                 "input_check_bytes": m["input_check_bytes"], **extra})


def run(sizes: list[int]) -> Iterator[harness.Record]:
    for index, n in enumerate(sizes):
        prove = index == 0
        runs = {processes: _launch(n, prove, processes, harness.REPEATS) for processes in (1, 2)}
        for processes, m in runs.items():
            msm = m["msm"]
            harness.log(f"msm BN254_G1 n={n}, {processes} process(es) x 1 CPU device: {msm['ours_s']:.3f} s/call, "
                        f"{msm['bytes_per_call'] + msm['input_check_bytes']} B/call received from other processes "
                        "(measured)")
            yield _record("msm", n, processes, msm, runs[1]["msm"]["ours_s"], m["devices"])
        if not prove:
            continue
        constraints = json.loads((CIRCUIT / "info.json").read_text())["nConstraints"]
        for processes, m in runs.items():
            pb = m["prove_batch"]
            harness.log(f"prove_batch of {PROOFS} proofs ({CIRCUIT.name}), {processes} process(es) x 1 CPU device: "
                        f"{pb['ours_s']:.3f} s/call, {pb['bytes_per_call'] + pb['input_check_bytes']} B/call received from "
                        "other processes (measured)")
            yield _record("prove_batch", constraints, processes, pb, runs[1]["prove_batch"]["ours_s"], m["devices"],
                          proofs=PROOFS, circuit=CIRCUIT.name)


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4]), sys.argv[5], int(sys.argv[6]),
           int(sys.argv[7]))
