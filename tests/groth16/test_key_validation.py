"""Proving-key validation (`Groth16Prover` / `validate_key_points`): one bad point in a temp copy of a
fixture `.zkey` (header, IC, a base section; off the curve, or on it but outside the order-r
subgroup) is rejected with the file, the section, the point and its byte offset; `trusted_key=True`
skips only the subgroup checks. The offsets are found by searching the file's bytes, independently of
`ZKey.point_offset`."""

import dataclasses

import pytest

from supervm_jax.groth16 import BLS12381, BN128, Groth16Prover, SnarkjsFileError, read_zkey, write_zkey
from supervm_jax.groth16.zkey import g1_to_raw, g2_to_raw
from tests.groth16.conftest import fixture, point_outside_subgroup


def corrupted(tmp_path, circuit: str, **changes):
    """Writes the fixture key with `changes` (ZKey fields) to tmp_path/bad.zkey; returns (path, bytes)."""
    key = dataclasses.replace(read_zkey(fixture(circuit, "circuit_final.zkey")), **changes)
    path = tmp_path / "bad.zkey"
    write_zkey(path, key)
    return path, path.read_bytes()


def offset_of(raw: bytes, encoded) -> int:
    data = encoded.tobytes()
    assert raw.count(data) == 1
    return raw.index(data)


def test_bn254_header_ic_and_bases(tmp_path):
    key = read_zkey(fixture("multiplier", "circuit_final.zkey"))
    outside = point_outside_subgroup(BN128, "g2")

    path, raw = corrupted(tmp_path, "multiplier", gamma_2=outside)
    at = offset_of(raw, g2_to_raw(BN128, [outside]))
    with pytest.raises(SnarkjsFileError, match=rf"bad\.zkey: section 2, byte {at}: gamma_2 is not in the order-r subgroup "
                                               rf"of BN254_G2"):
        Groth16Prover(path)
    Groth16Prover(path, trusted_key=True)  # on the twist: only the subgroup check catches it

    k = next(i for i in range(key.n_vars) if key.b2[i].any())
    b2 = key.b2.copy()
    b2[k] = g2_to_raw(BN128, [outside])[0]
    path, raw = corrupted(tmp_path, "multiplier", b2=b2)
    at = offset_of(raw, g2_to_raw(BN128, [outside]))
    with pytest.raises(SnarkjsFileError, match=rf"section 7, byte {at}: B2 point {k} is not in the order-r subgroup of BN254_G2"):
        Groth16Prover(path)

    ic = list(key.ic)
    ic[1] = (ic[1][0], (ic[1][1] + 1) % BN128.q)
    path, raw = corrupted(tmp_path, "multiplier", ic=ic)
    at = offset_of(raw, g1_to_raw(BN128, [ic[1]]))
    for trusted in (False, True):  # off the curve: rejected either way
        with pytest.raises(SnarkjsFileError, match=rf"section 3, byte {at}: IC point 1 is not on BN254_G1"):
            Groth16Prover(path, trusted_key=trusted)

    h = key.h.copy()
    h[3, 1, 0] ^= 1  # y of H point 3, in Montgomery limbs: still < q, off the curve
    path, raw = corrupted(tmp_path, "multiplier", h=h)
    at = offset_of(raw, h[3])
    with pytest.raises(SnarkjsFileError, match=rf"section 9, byte {at}: H point 3 is not on BN254_G1"):
        Groth16Prover(path)


def test_bls12381_g1_points_need_the_subgroup_check(tmp_path):
    key = read_zkey(fixture("bls_mul_chain", "circuit_final.zkey"))
    outside = point_outside_subgroup(BLS12381, "g1")  # on the curve (cofactor != 1), outside G1
    a = key.a.copy()
    a[2] = g1_to_raw(BLS12381, [outside])[0]
    path, raw = corrupted(tmp_path, "bls_mul_chain", a=a)
    at = offset_of(raw, g1_to_raw(BLS12381, [outside]))
    with pytest.raises(SnarkjsFileError, match=rf"section 5, byte {at}: A point 2 is not in the order-r subgroup of BLS12_381"):
        Groth16Prover(path)
    path, raw = corrupted(tmp_path, "bls_mul_chain", delta_1=outside)
    at = offset_of(raw, g1_to_raw(BLS12381, [outside]))
    with pytest.raises(SnarkjsFileError, match=rf"section 2, byte {at}: delta_1 is not in the order-r subgroup"):
        Groth16Prover(path)
