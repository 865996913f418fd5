"""snarkjs/circom file readers and writers against files snarkjs and circom wrote.

References nobody here wrote: the fixture files (circom2 + snarkjs 0.7.6), `info.json` (numbers from
`snarkjs r1cs info` and the zkey header), `verification_key.json` (`snarkjs zkey export
verificationkey`), and a plain Python-int evaluation of the constraints.
"""


import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervm_jax.groth16 import BN128, SnarkjsFileError, Witness, parse_proof, parse_verification_key, read_r1cs, read_wtns, read_zkey
from supervm_jax.groth16.proof_json import ProofFormatError, dumps, parse_g1, parse_g2
from supervm_jax.groth16.r1cs import encode_r1cs
from supervm_jax.groth16.wtns import encode_wtns
from supervm_jax.groth16.zkey import encode_zkey
from tests.groth16.conftest import CIRCUITS, fixture, fixture_json

R = BN128.r


def _lc(matrix, row, w):
    sel = np.flatnonzero(matrix.row == row)
    cols = matrix.col[sel]
    vals = [int.from_bytes(matrix.value[k].astype("<u4").tobytes(), "little") for k in sel]
    return sum(v * w[int(c)] for v, c in zip(vals, cols)) % R


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_r1cs_header_and_constraints_hold_for_the_witness(circuit):
    info = fixture_json(circuit, "info.json")
    cs = read_r1cs(fixture(circuit, "circuit.r1cs"))
    assert (cs.prime, cs.n_wires, cs.n_constraints, cs.n_pub_out, cs.n_pub_in, cs.n_prv_in, cs.n_labels) == (
        R, info["nVars"], info["nConstraints"], info["nOutputs"], info["nPublicInputs"], info["nPrivateInputs"], info["nLabels"])
    w = read_wtns(fixture(circuit, "witness_0.wtns")).values()
    for i in range(cs.n_constraints):
        assert _lc(cs.a, i, w) * _lc(cs.b, i, w) % R == _lc(cs.c, i, w), f"constraint {i}"
    w[-1] = (w[-1] + 1) % R  # a wrong assignment breaks some constraint
    assert any(_lc(cs.a, i, w) * _lc(cs.b, i, w) % R != _lc(cs.c, i, w) for i in range(cs.n_constraints))


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_wtns_values_and_roundtrip(circuit):
    raw = fixture(circuit, "witness_0.wtns").read_bytes()
    w = read_wtns(raw)
    values = w.values()
    assert w.prime == R and values[0] == 1
    assert [str(v) for v in values[1 : 1 + len(fixture_json(circuit, "public_0.json"))]] == fixture_json(circuit, "public_0.json")
    assert encode_wtns(w) == raw


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_zkey_header_matches_snarkjs_exports(circuit):
    info = fixture_json(circuit, "info.json")
    key = read_zkey(fixture(circuit, "circuit_final.zkey"))
    assert (key.n_vars, key.n_public, key.domain_size, len(key.coef_row)) == (
        info["nVars"], info["nPublic"], info["domainSize"], info["nCoefsSection4"])
    vk = parse_verification_key(fixture(circuit, "verification_key.json"))
    assert key.alpha_1 == vk["alpha_1"] and key.beta_2 == vk["beta_2"]
    assert key.gamma_2 == vk["gamma_2"] and key.delta_2 == vk["delta_2"] and key.ic == vk["ic"]
    # byte for byte what snarkjs wrote, vk_alphabeta_12 = e(alpha_1, beta_2) included
    assert dumps(key.verification_key()) == fixture(circuit, "verification_key.json").read_text()


def test_zkey_coefficients_are_r1cs_terms_times_r_squared():
    cs = read_r1cs(fixture("poseidon_chain", "circuit.r1cs"))
    key = read_zkey(fixture("poseidon_chain", "circuit_final.zkey"))
    r2 = pow(2, 512, R)
    as_int = lambda limbs: int.from_bytes(limbs.astype("<u4").tobytes(), "little")  # noqa: E731
    stored = {(int(m), int(c), int(s)): as_int(v) * pow(r2, -1, R) % R
              for m, c, s, v in zip(key.coef_matrix, key.coef_row, key.coef_col, key.coef_value)}
    expected = {}
    for m, mat in enumerate((cs.a, cs.b)):
        for c, s, v in zip(mat.row, mat.col, mat.value):
            expected[(m, int(c), int(s))] = as_int(v)
    for s in range(key.n_public + 1):
        expected[(0, cs.n_constraints + s, s)] = 1
    assert stored == expected


@pytest.mark.parametrize("circuit", ["multiplier", "merkle_membership"])
def test_writers_roundtrip(circuit):
    key = read_zkey(fixture(circuit, "circuit_final.zkey"))
    again = read_zkey(encode_zkey(key))
    for field in ("n_vars", "n_public", "domain_size", "alpha_1", "beta_1", "beta_2", "gamma_2", "delta_1", "delta_2", "ic"):
        assert getattr(again, field) == getattr(key, field), field
    for field in ("coef_matrix", "coef_row", "coef_col", "coef_value", "a", "b1", "b2", "c", "h"):
        np.testing.assert_array_equal(getattr(again, field), getattr(key, field), err_msg=field)
    cs = read_r1cs(fixture(circuit, "circuit.r1cs"))
    cs2 = read_r1cs(encode_r1cs(cs))
    assert (cs2.n_wires, cs2.n_constraints, cs2.n_public) == (cs.n_wires, cs.n_constraints, cs.n_public)
    for m, m2 in zip((cs.a, cs.b, cs.c), (cs2.a, cs2.b, cs2.c)):
        key_of = lambda x: sorted(zip(x.row.tolist(), x.col.tolist(), map(tuple, x.value.tolist())))  # noqa: E731
        assert key_of(m) == key_of(m2)


@given(st.lists(st.integers(0, R - 1), min_size=1, max_size=40))
def test_wtns_roundtrip_random(values):
    w = Witness.from_ints(values, R)
    assert read_wtns(encode_wtns(w)).values() == values


# -- malformed input ----------------------------------------------------------------------------------

def test_truncated_and_foreign_files_name_the_problem():
    raw = fixture("multiplier", "circuit_final.zkey").read_bytes()
    with pytest.raises(SnarkjsFileError, match=r"truncated"):
        read_zkey(raw[: len(raw) - 10], name="cut.zkey")
    with pytest.raises(SnarkjsFileError, match=r"cut\.zkey: byte 0: not a zkey file"):
        read_zkey(fixture("multiplier", "witness_0.wtns").read_bytes(), name="cut.zkey")
    with pytest.raises(SnarkjsFileError, match=r"trailing bytes"):
        read_wtns(fixture("multiplier", "witness_0.wtns").read_bytes() + b"\0", name="w.wtns")
    with pytest.raises(SnarkjsFileError, match=r"cannot read"):
        read_r1cs("/nonexistent/c.r1cs")


def _section_offset(raw: bytes, sid: int) -> int:
    pos = 12
    while True:
        s, size = int.from_bytes(raw[pos : pos + 4], "little"), int.from_bytes(raw[pos + 4 : pos + 12], "little")
        if s == sid:
            return pos + 12
        pos += 12 + size


def test_non_canonical_values_are_rejected_with_offset():
    raw = bytearray(fixture("multiplier", "witness_0.wtns").read_bytes())
    start = _section_offset(bytes(raw), 2)
    raw[start + 32 * 3 : start + 32 * 4] = b"\xff" * 32
    with pytest.raises(SnarkjsFileError, match=rf"w\.wtns: section 2, byte {start + 96}: witness value 3 is >= the prime"):
        read_wtns(bytes(raw), name="w.wtns")

    key = bytearray(fixture("multiplier", "circuit_final.zkey").read_bytes())
    h = _section_offset(bytes(key), 9)
    key[h + 64 : h + 96] = b"\xff" * 32  # x of H point 1
    with pytest.raises(SnarkjsFileError, match=rf"section 9, byte {h + 64}: H point 1: coordinate >= q"):
        read_zkey(bytes(key))


def test_zkey_structure_errors():
    key = bytearray(fixture("multiplier", "circuit_final.zkey").read_bytes())
    s1 = _section_offset(bytes(key), 1)
    plonk = bytes(key[:s1]) + (2).to_bytes(4, "little") + bytes(key[s1 + 4 :])
    with pytest.raises(SnarkjsFileError, match=r"not a Groth16 key \(protocol id 2 = plonk\)"):
        read_zkey(plonk)
    s4 = _section_offset(bytes(key), 4)
    bad = bytearray(key)
    bad[s4 + 4 + 4 : s4 + 4 + 8] = (10**6).to_bytes(4, "little")  # constraint of coefficient 0
    with pytest.raises(SnarkjsFileError, match=rf"section 4, byte {s4 + 4}: coefficient 0: constraint >= domainSize"):
        read_zkey(bytes(bad))


def test_proof_json_parsing():
    curve, a, b, c = parse_proof(fixture("multiplier", "proof_0.json"))
    assert curve is BN128 and a is not None and b is not None and c is not None
    # Jacobian inputs are normalized: (x z^2, y z^3, z) is the same point as (x, y, 1).
    q, z = BN128.q, 7
    jac = [str(a[0] * z * z % q), str(a[1] * z**3 % q), str(z)]
    assert parse_g1(jac, BN128, "p") == a
    assert parse_g1(["0", "1", "0"], BN128, "p") is None
    assert parse_g2([["0", "0"], ["1", "0"], ["0", "0"]], BN128, "p") is None
    with pytest.raises(ProofFormatError, match="proof: missing pi_c"):
        parse_proof({"pi_a": ["1", "2", "1"], "pi_b": [], "protocol": "groth16", "curve": "bn128"})
    with pytest.raises(ProofFormatError, match=r"proof\.pi_a\[0\]: 'x' is not a decimal integer"):
        parse_proof({"pi_a": ["x", "2", "1"], "pi_b": [["1", "0"], ["1", "0"], ["1", "0"]], "pi_c": ["1", "2", "1"]})
