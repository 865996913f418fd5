"""The device prover on the small `multiplier` circuit: byte-identical to snarkjs with the same r and
s, accepted by the (py_ecc) verifier, rejecting bad witnesses and keys, and equal on 1 and 8
devices. Larger circuits and snarkjs's own verifier: `test_circuits.py`."""

import numpy as np
import pytest

from supervm_jax.groth16 import (
    Groth16Prover, SnarkjsFileError, UnsatisfiedWitnessError, Witness, read_wtns, read_zkey, verify,
)
from supervm_jax.groth16.proof_json import dumps
from supervm_jax.groth16.prover import witness_for_key
from supervm_jax.groth16.zkey import encode_zkey
from supervm_jax.pmap import device_mesh
from tests.groth16.conftest import fixed_blinding, fixture, fixture_json

CIRCUIT = "multiplier"
VK = fixture(CIRCUIT, "verification_key.json")


@pytest.fixture(scope="module")
def prover():
    return Groth16Prover(fixture(CIRCUIT, "circuit_final.zkey"), r1cs=fixture(CIRCUIT, "circuit.r1cs"), precompute=True)


def test_same_blinding_gives_snarkjs_bytes(prover):
    proof, public = prover.prove(fixture(CIRCUIT, "witness_0.wtns"), blinding=fixed_blinding(CIRCUIT))
    assert dumps(proof) == fixture(CIRCUIT, "proof_fixed_0.json").read_text()
    assert dumps(public) == fixture(CIRCUIT, "public_fixed_0.json").read_text()


def test_random_proofs_verify_and_tampering_fails(prover):
    proofs = prover.prove_batch([fixture(CIRCUIT, f"witness_{k}.wtns") for k in range(3)])
    assert len({dumps(p) for p, _ in proofs}) == 3
    for k, (proof, public) in enumerate(proofs):
        assert public == fixture_json(CIRCUIT, f"public_{k}.json")
        assert verify(VK, proof, public)
    proof, public = proofs[0]
    assert not verify(VK, proof, [public[0], str(int(public[1]) + 1)])
    assert not verify(VK, proof, public[:1])
    swapped = dict(proof, pi_a=proof["pi_c"], pi_c=proof["pi_a"])
    assert not verify(VK, swapped, public)
    assert not verify(VK, proof, proofs[1][1])


def test_batch_equals_single_proofs(prover):
    ws = [fixture(CIRCUIT, f"witness_{k}.wtns") for k in range(3)]
    blind = [(11 + k, 97 + k) for k in range(3)]
    batch = prover.prove_batch(ws, blinding=blind)
    assert batch == [prover.prove(w, blinding=b) for w, b in zip(ws, blind)]
    assert prover.prove_batch([]) == []


def test_one_device_equals_all_devices(prover):
    one = Groth16Prover(prover.zkey, mesh=device_mesh(1), precompute=False)  # both modes, both meshes
    w = fixture(CIRCUIT, "witness_1.wtns")
    assert one.prove(w, blinding=(5, 6)) == prover.prove(w, blinding=(5, 6))


def test_unsatisfying_witness_is_rejected_with_the_constraint(prover):
    values = read_wtns(fixture(CIRCUIT, "witness_0.wtns")).values()
    values[1] = (values[1] + 1) % prover.curve.r  # c no longer equals a * b
    with pytest.raises(UnsatisfiedWitnessError, match=r"does not satisfy constraint 0 of .*circuit\.r1cs"):
        prover.prove(values)
    # Without the r1cs (as in snarkjs) a proof comes out, and it does not verify.
    plain = Groth16Prover(prover.zkey, precompute=False)
    proof, public = plain.prove(values)
    assert not verify(VK, proof, public)


def test_witness_for_key_checks_on_the_host():
    """The prover's witness checks on the key alone, before any device work (the prove job runs
    them before validating the key's points): count, prime and wire 0, naming the witness."""
    key = read_zkey(fixture(CIRCUIT, "circuit_final.zkey"))
    good = read_wtns(fixture(CIRCUIT, "witness_0.wtns"))
    assert witness_for_key(good, key).values() == good.values()
    with pytest.raises(SnarkjsFileError, match=r"witness 3 \(.*\): 4 values, .* expects 5"):
        witness_for_key(Witness(good.prime, good.limbs[:4]), key, 3)
    with pytest.raises(SnarkjsFileError, match="its prime is not the scalar field"):
        witness_for_key(Witness(good.prime + 2, good.limbs), key)
    with pytest.raises(UnsatisfiedWitnessError, match="wire 0 must be the constant 1"):
        witness_for_key([2] + good.values()[1:], key)


def test_witness_shape_errors(prover):
    good = read_wtns(fixture(CIRCUIT, "witness_0.wtns"))
    with pytest.raises(SnarkjsFileError, match=r"4 values, .* expects 5"):
        prover.prove(Witness(good.prime, good.limbs[:4]))
    with pytest.raises(UnsatisfiedWitnessError, match="wire 0 must be the constant 1"):
        prover.prove([2] + good.values()[1:])
    with pytest.raises(ValueError, match=r"witness value 2 = -1 is not an int in \[0, r\)"):
        prover.prove([1, 2, -1, 3, 4])
    with pytest.raises(ValueError, match=r"blinding r must be an int in \[0, r\)"):
        prover.prove(good, blinding=(prover.curve.r, 1))


def test_key_with_a_base_off_the_curve_is_rejected():
    key = read_zkey(fixture(CIRCUIT, "circuit_final.zkey"))
    raw = bytearray(encode_zkey(key))
    b1 = bytes(raw).index(np.ascontiguousarray(key.b1).tobytes())
    point = next(i for i in range(key.n_vars) if key.b1[i].any())
    raw[b1 + 64 * point] ^= 1  # flip a bit of x: still < q, no longer on the curve
    with pytest.raises(SnarkjsFileError, match=rf"section 6, byte {b1 + 64 * point}: B1 point {point} is not on BN254_G1"):
        Groth16Prover(read_zkey(bytes(raw), name="bad.zkey"))


def test_r1cs_of_another_circuit_is_rejected(prover):
    with pytest.raises(SnarkjsFileError, match=r"does not match .*: 963 wires, the key has 5 signals"):
        Groth16Prover(prover.zkey, r1cs=fixture("poseidon_chain", "circuit.r1cs"))
