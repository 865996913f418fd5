"""The INSECURE test-only setup: its keys prove and verify (ours and snarkjs's prover), and match
snarkjs `zkey new` byte for byte where snarkjs's secrets are known (a fresh ceremony: all ones)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from supervm_jax.groth16 import BN128, Groth16Prover, read_zkey, verify, write_json, write_zkey
from supervm_jax.groth16.binfile import read_binfile
from supervm_jax.groth16.setup import InsecureSecrets, insecure_setup, lagrange_at
from supervm_jax.groth16.zkey import encode_zkey

FIXTURES = Path(__file__).parent / "fixtures"
MULT = FIXTURES / "multiplier"
PACKAGE = Path(__file__).resolve().parents[2] / "tools" / "groth16_fixtures"
CLI = PACKAGE / "node_modules" / "snarkjs" / "build" / "cli.cjs"


def _snarkjs():
    """The snarkjs command, or skip (fail with SUPERVM_REQUIRE_NODE=1) when Node or the package is missing."""
    if shutil.which("node") and CLI.exists():
        return ["node", str(CLI)]
    why = "node or tools/groth16_fixtures/node_modules missing (npm ci --prefix tools/groth16_fixtures)"
    if os.environ.get("SUPERVM_REQUIRE_NODE") == "1":
        pytest.fail(why)
    pytest.skip(why)


def _run(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def key():
    return insecure_setup(MULT / "circuit.r1cs")


def test_lagrange_basis():
    r = BN128.r
    tau = InsecureSecrets.default().tau
    lag = lagrange_at(BN128, 8, tau)
    assert sum(lag) % r == 1  # the basis interpolates the constant 1
    omega = BN128.snarkjs_root_of_unity(8)
    assert sum(l * pow(omega, i, r) for i, l in enumerate(lag)) % r == tau  # ... and x
    assert lagrange_at(BN128, 8, pow(omega, 3, r)) == [0, 0, 0, 1, 0, 0, 0, 0]


def test_prove_and_verify(key):
    assert key.domain_size == 8 and key.n_public == 2
    ref = read_zkey(MULT / "circuit_final.zkey")  # snarkjs's coefficient section does not depend on secrets
    for name in ("coef_matrix", "coef_row", "coef_col", "coef_value"):
        assert (getattr(ref, name) == getattr(key, name)).all(), name
    proof, public = Groth16Prover(key).prove(MULT / "witness_0.wtns")
    vk = key.verification_key()
    assert verify(vk, proof, public)
    tampered = [str(int(public[0]) + 1)] + public[1:]
    assert not verify(vk, proof, tampered)


def test_snarkjs_proves_and_verifies_with_our_key(key, tmp_path):
    cmd = _snarkjs()
    write_zkey(tmp_path / "k.zkey", key)
    _run(cmd + ["groth16", "prove", "k.zkey", str(MULT / "witness_1.wtns"), "p.json", "pub.json"], tmp_path)
    _run(cmd + ["zkey", "export", "verificationkey", "k.zkey", "vk.json"], tmp_path)
    assert "OK!" in _run(cmd + ["groth16", "verify", "vk.json", "pub.json", "p.json"], tmp_path)
    proof, public = (json.loads((tmp_path / f).read_text()) for f in ("p.json", "pub.json"))
    assert verify(key.verification_key(), proof, public)
    write_json(tmp_path / "bad.json", [str(int(public[0]) + 1)] + public[1:])
    bad = subprocess.run(cmd + ["groth16", "verify", "vk.json", "bad.json", "p.json"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert "OK!" not in bad.stdout


def test_byte_identical_to_snarkjs_zkey_new(tmp_path):
    """`powersoftau new` + `prepare phase2` + `groth16 setup` with no contribution has tau = alpha =
    beta = gamma = delta = 1: every section but the hash (10) must equal ours for those secrets."""
    cmd = _snarkjs()
    _run(cmd + ["powersoftau", "new", "bn128", "4", "p0.ptau"], tmp_path)
    _run(cmd + ["powersoftau", "prepare", "phase2", "p0.ptau", "p1.ptau"], tmp_path)
    _run(cmd + ["groth16", "setup", str(MULT / "circuit.r1cs"), "p1.ptau", "k.zkey"], tmp_path)
    ours = read_binfile(encode_zkey(insecure_setup(MULT / "circuit.r1cs", (1, 1, 1, 1, 1))), b"zkey", 1)
    ref = read_binfile(tmp_path / "k.zkey", b"zkey", 1)
    for sid in range(1, 10):
        assert bytes(ours.sections[sid].data) == bytes(ref.sections[sid].data), f"section {sid}"


def test_rejects_zero_secrets():
    with pytest.raises(ValueError, match="INSECURE"):
        insecure_setup(MULT / "circuit.r1cs", (5, 0, 1, 1, 1))
