"""Real circom circuits (Poseidon chain, Poseidon Merkle membership, ~1K constraints each): our
proofs equal snarkjs's byte for byte with the same r and s, and snarkjs 0.7.6 itself verifies our
proofs made with fresh randomness (needs Node: skipped without it, except under
SUPERVM_REQUIRE_NODE=1, which CI sets)."""

import pytest

from supervm_jax.groth16 import Groth16Prover, verify, write_json
from supervm_jax.groth16.proof_json import dumps
from tests.groth16.conftest import fixed_blinding, fixture, snarkjs, snarkjs_available

CIRCUITS = ("poseidon_chain", "merkle_membership")


@pytest.fixture(scope="module", params=CIRCUITS)
def circuit_prover(request):
    c = request.param
    return c, Groth16Prover(fixture(c, "circuit_final.zkey"), r1cs=fixture(c, "circuit.r1cs"))


def test_fixed_blinding_matches_snarkjs(circuit_prover):
    c, prover = circuit_prover
    proof, public = prover.prove(fixture(c, "witness_0.wtns"), blinding=fixed_blinding(c))
    assert dumps(proof) == fixture(c, "proof_fixed_0.json").read_text()
    assert dumps(public) == fixture(c, "public_fixed_0.json").read_text()


def test_snarkjs_verifies_our_proofs(circuit_prover, tmp_path):
    c, prover = circuit_prover
    proofs = prover.prove_batch([fixture(c, f"witness_{k}.wtns") for k in (1, 2)])
    vk = fixture(c, "verification_key.json")
    assert verify(vk, *proofs[0])
    snarkjs_available()
    for k, (proof, public) in enumerate(proofs):
        write_json(tmp_path / f"proof{k}.json", proof)
        write_json(tmp_path / f"public{k}.json", public)
        out = snarkjs("groth16", "verify", str(vk), str(tmp_path / f"public{k}.json"), str(tmp_path / f"proof{k}.json"))
        assert out.returncode == 0 and "OK!" in out.stdout, out.stdout + out.stderr
    # snarkjs rejects our proof against the other witness's public signals
    out = snarkjs("groth16", "verify", str(vk), str(tmp_path / "public1.json"), str(tmp_path / "proof0.json"))
    assert out.returncode != 0 or "OK!" not in out.stdout
