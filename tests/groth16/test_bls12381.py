"""BLS12-381 against snarkjs: the `bls_mul_chain` fixture (circom2 `-p bls12381`, snarkjs 0.7.6
`powersoftau new bls12381`; see tests/groth16/fixtures/README.md) read, proved byte-identically with
snarkjs' own (r, s), and a fresh proof accepted by our verifier and by `snarkjs groth16 verify`."""


import pytest

from supervm_jax.groth16 import BLS12381, Groth16Prover, parse_verification_key, read_r1cs, read_wtns, read_zkey, verify, write_json
from supervm_jax.groth16.proof_json import dumps
from tests.groth16.conftest import fixed_blinding, fixture, fixture_json, snarkjs, snarkjs_available

CIRCUIT = "bls_mul_chain"
VK = fixture(CIRCUIT, "verification_key.json")


@pytest.fixture(scope="module")
def prover():
    return Groth16Prover(fixture(CIRCUIT, "circuit_final.zkey"), r1cs=fixture(CIRCUIT, "circuit.r1cs"))


def test_files_are_bls12381_and_zkey_header_matches_snarkjs_exports():
    info = fixture_json(CIRCUIT, "info.json")
    assert info["curve"] == "bls12381"
    key = read_zkey(fixture(CIRCUIT, "circuit_final.zkey"))
    assert key.curve is BLS12381
    assert (BLS12381.n8q, BLS12381.n8r) == (48, 32)
    assert (key.n_vars, key.n_public, key.domain_size, len(key.coef_row)) == (
        info["nVars"], info["nPublic"], info["domainSize"], info["nCoefsSection4"])
    cs = read_r1cs(fixture(CIRCUIT, "circuit.r1cs"))
    assert (cs.prime, cs.n_constraints) == (BLS12381.r, info["nConstraints"])
    assert read_wtns(fixture(CIRCUIT, "witness_0.wtns")).prime == BLS12381.r
    vk = parse_verification_key(VK)
    assert vk["curve"] is BLS12381
    assert key.alpha_1 == vk["alpha_1"] and key.beta_2 == vk["beta_2"]
    assert key.gamma_2 == vk["gamma_2"] and key.delta_2 == vk["delta_2"] and key.ic == vk["ic"]
    assert fixture_json(CIRCUIT, "verification_key.json")["curve"] == "bls12381"
    # byte for byte what snarkjs wrote, vk_alphabeta_12 = e(alpha_1, beta_2) included
    assert dumps(key.verification_key()) == VK.read_text()


def test_same_blinding_gives_snarkjs_bytes(prover):
    assert prover.curve is BLS12381
    proof, public = prover.prove(fixture(CIRCUIT, "witness_0.wtns"), blinding=fixed_blinding(CIRCUIT))
    assert dumps(proof) == fixture(CIRCUIT, "proof_fixed_0.json").read_text()
    assert dumps(public) == fixture(CIRCUIT, "public_fixed_0.json").read_text()


def test_snarkjs_proofs_verify_with_ours():
    for k in ("0", "1", "fixed_0"):
        assert verify(VK, fixture(CIRCUIT, f"proof_{k}.json"), fixture(CIRCUIT, f"public_{k}.json")), k
    assert not verify(VK, fixture(CIRCUIT, "proof_0.json"), fixture(CIRCUIT, "public_1.json"))


def test_random_proof_verifies_here_and_in_snarkjs(prover, tmp_path):
    proof, public = prover.prove(fixture(CIRCUIT, "witness_1.wtns"))
    assert proof["curve"] == "bls12381"
    assert public == fixture_json(CIRCUIT, "public_1.json")
    assert verify(VK, proof, public)
    wrong = [public[0], str((int(public[1]) + 1) % BLS12381.r)]
    assert not verify(VK, proof, wrong)
    snarkjs_available()
    write_json(tmp_path / "proof.json", proof)
    write_json(tmp_path / "public.json", public)
    write_json(tmp_path / "wrong.json", wrong)
    out = snarkjs("groth16", "verify", str(VK), str(tmp_path / "public.json"), str(tmp_path / "proof.json"))
    assert out.returncode == 0 and "OK!" in out.stdout, out.stdout + out.stderr
    out = snarkjs("groth16", "verify", str(VK), str(tmp_path / "wrong.json"), str(tmp_path / "proof.json"))
    assert out.returncode != 0 or "OK!" not in out.stdout
