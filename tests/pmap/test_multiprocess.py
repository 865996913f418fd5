"""2 processes x 2 CPU devices (one JAX distributed runtime, 4 global devices): every sharded API
must give the values references nobody here wrote give for the same inputs (py_ecc, hashlib,
Python-int DFT and products, PyNaCl, snarkjs's proof bytes and verifier), and the node job must
write what 1 process x 4 devices writes (`multiprocess_worker.py` runs the API calls: MSM, Merkle
root, NTT, shard_batch, Ed25519 verification, prove_batch).

Processes are launched as JAX's own multi-process tests do: separate interpreters on localhost
with a free coordinator port, each with XLA_FLAGS giving it 2 CPU devices. Every subprocess runs in
its own process group with a hard timeout; on failure or timeout the groups are killed, so CI never
hangs. Each launch compiles every program it runs (the cost of these tests), so the API calls run in
one launch, at the smallest sizes that still split each batch over 4 devices, and are checked
against host references rather than against a second, single-process launch.
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

import nacl.signing
import pytest
from jax._src.lib import _jax
from multiprocess_worker import BAD_SIGNATURE, SIGNATURES, inputs
from py_ecc import optimized_bn128 as bn

from supervm_jax.field import BN254_FR
from supervm_jax.merkle import sha256_root_on_host
from supervm_jax.node import transfer_message
from supervm_jax.ntt import root_of_unity
from tests.groth16.conftest import fixture, snarkjs, snarkjs_available

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
    """Runs the commands as cooperating processes with `devices_each` CPU devices each, stdout to
    `logs` and stderr next to them (suffix .err). Fails with every process's output tails if one
    exits non-zero or the launch exceeds `timeout_s` seconds (all process groups are killed)."""
    procs = []
    try:
        for command, log in zip(commands, logs):
            with open(log, "wb") as out, open(log.with_suffix(".err"), "wb") as err:
                procs.append(subprocess.Popen(command, cwd=ROOT, env=_env(devices_each), stdout=out, stderr=err,
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
        tails = "\n".join(f"--- process {i} (exit {c}):\n{log.read_text()[-1500:]}\n"
                          f"{log.with_suffix('.err').read_text()[-3000:]}" for i, (c, log) in enumerate(zip(codes, logs)))
        pytest.fail(f"{len(procs)} x {devices_each} devices: exit codes {codes} (timeout {timeout_s} s)\n{tails}")


def run_processes(out: Path, processes: int, devices_each: int) -> dict:
    """The worker as `processes` cooperating processes with `devices_each` CPU devices each;
    returns process 0's JSON."""
    coordinator = f"127.0.0.1:{_free_port()}"
    args = [[coordinator, str(processes), str(i)] for i in range(processes)]
    launch([[sys.executable, str(WORKER), str(out), *extra] for extra in args],
           [out.with_suffix(f".{i}.log") for i in range(processes)], devices_each)
    return json.loads(out.read_text())


def _g1_hex(e: int) -> list[str] | None:
    """e G1 (e mod r) from py_ecc, as the worker writes points: affine hex strings, None at infinity."""
    e %= bn.curve_order
    return [hex(int(c)) for c in bn.normalize(bn.multiply(bn.G1, e))] if e else None


def _references() -> dict:
    """What each API must return for `multiprocess_worker.inputs()`, from host references."""
    data, r = inputs(), bn.curve_order
    logs, ks, values = data["logs"], data["scalars"], data["values"]
    msm_of = lambda lo, hi: _g1_hex(sum(k * g for k, g in zip(ks[lo:hi], logs[lo:hi])))  # noqa: E731
    n = len(values)
    w = root_of_unity(BN254_FR, n)
    dft, wk = [], 1
    for _ in range(n):  # X_k = sum_j x_j w^(jk), by Horner in w^k
        acc = 0
        for v in reversed(values):
            acc = (acc * wk + v) % r
        dft.append(acc)
        wk = wk * w % r
    products = [hex(a * b % r) for a, b in zip(values, values[::-1])]
    leaves = [data["leaves"][32 * i : 32 * (i + 1)] for i in range(len(data["leaves"]) // 32)]
    return {"msm": msm_of(0, 12), "msm_batch": [msm_of(0, 6), msm_of(6, 12)], "fixed_base_msm": msm_of(0, 12),
            "merkle_root": sha256_root_on_host(leaves).hex(), "ntt": [hex(v) for v in dft],
            "shard_batch_mul": products[:250], "process_local_mul": products,
            # PyNaCl signed every message but one over its own message: only that one is invalid
            "ed25519_verify": [i != BAD_SIGNATURE for i in range(SIGNATURES)]}


def test_two_processes_match_the_references(tmp_path):
    multi = run_processes(tmp_path / "multi.json", processes=2, devices_each=2)
    assert (multi.pop("processes"), multi.pop("devices")) == (2, 4)
    assert multi.pop("agreed_randbelow_same") and multi.pop("broadcast_bytes_everywhere")
    proofs = multi.pop("prove_batch")
    want = _references()
    assert multi.keys() == want.keys()
    for api in want:
        assert multi[api] == want[api], api
    # prove_batch: the first proof with snarkjs's r, s is snarkjs's proof (every coordinate; the
    # worker's JSON sorts keys); snarkjs verifies the second (another witness and blinding) and
    # refuses it for the first's statement
    (proof0, public0), (proof1, public1) = proofs
    assert proof0 == json.loads(fixture("multiplier", "proof_fixed_0.json").read_text())
    assert public0 == json.loads(fixture("multiplier", "public_fixed_0.json").read_text())
    snarkjs_available()
    vk = fixture("multiplier", "verification_key.json")
    for name, public in (("ok", public1), ("other", public0)):
        (tmp_path / f"public_{name}.json").write_text(json.dumps(public))
    (tmp_path / "proof1.json").write_text(json.dumps(proof1))
    out = snarkjs("groth16", "verify", str(vk), str(tmp_path / "public_ok.json"), str(tmp_path / "proof1.json"))
    assert out.returncode == 0 and "OK!" in out.stdout, out.stdout + out.stderr
    out = snarkjs("groth16", "verify", str(vk), str(tmp_path / "public_other.json"), str(tmp_path / "proof1.json"))
    assert out.returncode != 0 or "OK!" not in out.stdout


# -- the node job --------------------------------------------------------------------------------

KEYS = [nacl.signing.SigningKey(bytes([i + 1]) * 32) for i in range(4)]
PKS = [bytes(k.verify_key) for k in KEYS]


def _transfer(s: int, r: int, amount: int, nonce: int, *, signed_amount: int | None = None) -> dict:
    msg = transfer_message(PKS[s], PKS[r], amount if signed_amount is None else signed_amount, nonce)
    return {"type": "transfer", "from": PKS[s].hex(), "to": PKS[r].hex(), "amount": amount, "nonce": nonce,
            "sig": KEYS[s].sign(msg).signature.hex()}


def _node_input(tmp_path: Path) -> list[str]:
    """Genesis and two blocks of PyNaCl-signed transfers (one signed over another amount, one
    replayed nonce, one overdraft among them); returns the flags that name them."""
    (tmp_path / "genesis.json").write_text(json.dumps({"accounts": {pk.hex(): 1000 for pk in PKS[:3]}}))
    b1 = [_transfer(0, 1, 10, 0), _transfer(1, 3, 5, 0), _transfer(2, 0, 7, 0, signed_amount=8),
          _transfer(3, 2, 1, 0), _transfer(0, 2, 3, 1), _transfer(0, 2, 3, 1), _transfer(2, 1, 2000, 0)]
    b2 = [_transfer(1, 0, 100, 1), _transfer(2, 3, 999, 0), _transfer(3, 0, 4, 1)]
    (tmp_path / "blocks.jsonl").write_text("".join(json.dumps({"txs": b}) + "\n" for b in (b1, b2)))
    return [f"--genesis={tmp_path / 'genesis.json'}", f"--blocks={tmp_path / 'blocks.jsonl'}", "--num_workers=2"]


def _node(tmp_path: Path, name: str, processes: int, devices_each: int, inputs: list[str]) -> list[list[dict]]:
    """The node job as `processes` processes, process i told to write its state, receipts and dump
    under tmp_path/name (process 0) or tmp_path/name.i; every process's JSON stdout lines (gloo
    prints its connection lines on stdout too)."""
    coordinator, commands = f"--coordinator=127.0.0.1:{_free_port()}", []
    for i in range(processes):
        out = tmp_path / (name if i == 0 else f"{name}.{i}")
        runtime = [] if processes == 1 else [coordinator, f"--num_processes={processes}", f"--process_id={i}"]
        commands.append([sys.executable, "-m", "supervm_jax.jobs.node", *inputs, f"--state={out / 'state'}",
                         f"--receipts={out / 'receipts.jsonl'}", f"--dump_state={out / 'dump.json'}", *runtime])
    (tmp_path / name).mkdir()
    logs = [tmp_path / f"{name}.{i}.log" for i in range(processes)]
    launch(commands, logs, devices_each, timeout_s=300)
    return [[json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")] for log in logs]


def test_node_job_as_two_processes_matches_one_process(tmp_path):
    """The node job as 2 processes x 2 CPU devices: process 0 writes the same receipts, dump and
    state root as 1 process x 4 devices; process 1 writes nothing (not even the directories its
    flags name) and prints only its summary, which reports the 4 global devices and the same root."""
    inputs = _node_input(tmp_path)
    multi = _node(tmp_path, "multi", 2, 2, inputs)
    single = _node(tmp_path, "single", 1, 4, inputs)
    for name in ("receipts.jsonl", "dump.json"):
        assert (tmp_path / "multi" / name).read_text() == (tmp_path / "single" / name).read_text(), name
    assert not (tmp_path / "multi.1").exists()
    receipts = [json.loads(line) for line in (tmp_path / "single" / "receipts.jsonl").read_text().splitlines()]
    assert [r["reason"] for r in receipts] == [None, None, "BadSignature", None, None, "BadNonce",
                                               "InsufficientFunds", None, None, None]
    *blocks, summary = multi[0]
    assert [b["height"] for b in blocks] == [1, 2] == [b["height"] for b in single[0][:-1]]
    assert multi[1] == [summary | {"seconds": multi[1][0]["seconds"], "tps": multi[1][0]["tps"]}]
    assert summary["devices"] == 4 and summary["state_root"] == single[0][-1]["state_root"]


def test_job_flags_name_a_bad_process_id():
    run = subprocess.run([sys.executable, "-m", "supervm_jax.jobs.field_ntt", "--coordinator=h:1", "--num_processes=2",
                          "--process_id=2"], cwd=ROOT, env=_env(1), capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == "error: distributed.process_id must be in [0, 2) for 2 processes, got 2"
