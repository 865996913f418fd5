"""`python -m supervm_jax.jobs.prove` end to end, in a subprocess as a user runs it."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supervm_jax.groth16 import verify
from tests.groth16.conftest import fixture, snarkjs_available

ROOT = Path(__file__).resolve().parents[2]

D = "multiplier"


def run_job(*args):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    return subprocess.run([sys.executable, "-m", "supervm_jax.jobs.prove", *args], capture_output=True, text=True,
                          env=env, timeout=900)


def test_single_and_batch_forms(tmp_path):
    wdir = tmp_path / "w"
    wdir.mkdir()
    for k in range(2):
        shutil.copy(fixture(D, f"witness_{k}.wtns"), wdir / f"w{k}.wtns")
    proc = run_job(f"--zkey={fixture(D, 'circuit_final.zkey')}", f"--wtns_dir={wdir}", f"--out_dir={tmp_path / 'out'}",
                   f"--r1cs={fixture(D, 'circuit.r1cs')}", f"--vk={fixture(D, 'verification_key.json')}")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["proofs"] == 2 and summary["verified"] and summary["devices"] == 2
    assert "[prove] loading" in proc.stderr
    for k in range(2):
        proof = json.loads((tmp_path / "out" / f"w{k}.proof.json").read_text())
        public = json.loads((tmp_path / "out" / f"w{k}.public.json").read_text())
        assert verify(fixture(D, "verification_key.json"), proof, public)


def test_bad_input_exits_2_with_a_message(tmp_path):
    bad = tmp_path / "bad.wtns"
    bad.write_bytes(fixture(D, "witness_0.wtns").read_bytes()[:-5])
    proc = run_job(f"--zkey={fixture(D, 'circuit_final.zkey')}", f"--wtns={bad}", f"--proof={tmp_path / 'p.json'}")
    assert proc.returncode == 2
    assert "bad.wtns: section 2" in proc.stderr and "truncated" in proc.stderr
    assert not (tmp_path / "p.json").exists()
    proc = run_job(f"--zkey={fixture('poseidon_chain', 'circuit_final.zkey')}", f"--wtns={fixture(D, 'witness_0.wtns')}")
    assert proc.returncode == 2 and "5 values" in proc.stderr and "expects 963" in proc.stderr
    proc = run_job(f"--wtns={fixture(D, 'witness_0.wtns')}")
    assert proc.returncode == 2 and "--zkey is required" in proc.stderr


def test_readme_prove_section_runs_as_written(tmp_path):
    """The README's "Prove a circom circuit" commands, verbatim, in a scratch directory that links
    to this checkout (so `make install node` finds the existing installs)."""
    snarkjs_available()
    stamp = ROOT / ".venv" / ".installed"
    if not stamp.exists() or stamp.stat().st_mtime < (ROOT / "pyproject.toml").stat().st_mtime:
        pytest.fail(".venv is older than pyproject.toml: run `make install` first (from the scratch directory, "
                    "`make install` would re-install the package there and break the checkout's editable install)")
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Prove a circom circuit", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    for name in (".venv", "tools", "tests", "Makefile", "pyproject.toml"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK!" in proc.stdout
    assert verify(fixture(D, "verification_key.json"), tmp_path / "proof.json", tmp_path / "public.json")
