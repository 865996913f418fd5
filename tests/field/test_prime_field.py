"""Prime-field kernels against Python ints, py_ecc's constants, and edge values."""

import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from py_ecc import bls12_381, bn128, secp256k1

from supervm_jax.field import (
    ALL_FIELDS,
    BLS12_381_FQ,
    BLS12_381_FR,
    BN254_FQ,
    BN254_FR,
    ED25519_FN,
    ED25519_FP,
    SECP256K1_FN,
    SECP256K1_FP,
)

BATCH = 16  # fixed batch for property tests: one compile per field and op
FIELD_IDS = [F.name for F in ALL_FIELDS]


def test_moduli_match_independent_sources():
    assert BN254_FQ.modulus == bn128.field_modulus
    assert BN254_FR.modulus == bn128.curve_order
    assert BLS12_381_FQ.modulus == bls12_381.field_modulus
    assert BLS12_381_FR.modulus == bls12_381.curve_order
    assert SECP256K1_FP.modulus == secp256k1.P
    assert SECP256K1_FN.modulus == secp256k1.N
    assert ED25519_FP.modulus == 57896044618658097711785492504343953926634992332820282019728792003956564819949
    # RFC 8032 section 5.1: L = 2^252 + 27742317777372353535851937790883648493
    assert ED25519_FN.modulus == 7237005577332262213973186563042994240857116359379907606001950938285454250989


def edge_values(p):
    return [0, 1, 2, p - 2, p - 1, (p - 1) // 2, (p + 1) // 2, 2**32 - 1, 2**32, 2**64 % p]


def field_batch(F):
    """Strategy: BATCH field elements, biased towards edge values."""
    p = F.modulus
    element = st.one_of(st.sampled_from(edge_values(p)), st.integers(0, p - 1))
    return st.lists(element, min_size=BATCH, max_size=BATCH)


@pytest.mark.parametrize("F", ALL_FIELDS, ids=FIELD_IDS)
def test_arithmetic_matches_python_ints(F):
    p = F.modulus

    @given(field_batch(F), field_batch(F))
    def check(xs, ys):
        a, b = F.from_ints(xs), F.from_ints(ys)
        assert F.to_ints(a) == xs
        assert F.to_ints(F.add(a, b)) == [(x + y) % p for x, y in zip(xs, ys)]
        assert F.to_ints(F.sub(a, b)) == [(x - y) % p for x, y in zip(xs, ys)]
        assert F.to_ints(F.neg(a)) == [(-x) % p for x in xs]
        assert F.to_ints(F.mul(a, b)) == [x * y % p for x, y in zip(xs, ys)]
        assert F.to_ints(F.square(a)) == [x * x % p for x in xs]
        assert list(np.asarray(F.eq(a, b))) == [x == y for x, y in zip(xs, ys)]
        assert list(np.asarray(F.is_zero(a))) == [x == 0 for x in xs]

    check()


@pytest.mark.parametrize("F", ALL_FIELDS, ids=FIELD_IDS)
def test_all_pairs_of_edge_values(F):
    p = F.modulus
    edges = edge_values(p)
    xs = [x for x in edges for _ in edges]
    ys = [y for _ in edges for y in edges]
    a, b = F.from_ints(xs), F.from_ints(ys)
    assert F.to_ints(F.mul(a, b)) == [x * y % p for x, y in zip(xs, ys)]
    assert F.to_ints(F.add(a, b)) == [(x + y) % p for x, y in zip(xs, ys)]
    assert F.to_ints(F.sub(a, b)) == [(x - y) % p for x, y in zip(xs, ys)]


@pytest.mark.parametrize("F", [BN254_FQ, BLS12_381_FQ, SECP256K1_FP, ED25519_FN], ids=lambda F: F.name)
def test_pow_and_inverse(F):
    p = F.modulus
    rng = random.Random(F.name)
    xs = edge_values(p) + [rng.randrange(p) for _ in range(6)]
    a = F.from_ints(xs)
    for e in [0, 1, 2, 3, 16, 17, 2**64 + 5, p - 2, p - 1, rng.randrange(p)]:
        assert F.to_ints(F.pow(a, e)) == [pow(x, e, p) for x in xs], e
    assert F.to_ints(F.inv_unchecked(a)) == [pow(x, p - 2, p) for x in xs]
    assert F.to_ints(F.batch_inv_unchecked(a)) == [pow(x, p - 2, p) for x in xs]
    nonzero = F.from_ints(xs[1:])
    assert F.to_ints(F.inv(nonzero)) == [pow(x, -1, p) for x in xs[1:]]
    assert F.to_ints(F.batch_inv(nonzero)) == [pow(x, -1, p) for x in xs[1:]]


def test_inverse_of_zero_raises_naming_index():
    F = BN254_FQ
    a = F.from_ints([3, 5, 0, 7])
    with pytest.raises(ZeroDivisionError, match="index 2"):
        F.inv(a)
    with pytest.raises(ZeroDivisionError, match="index 2"):
        F.batch_inv(a)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 13, 5000])
def test_batch_inverse_sizes(n):
    """5000 spans several blocks of ~128 with a padded last block."""
    F = BN254_FR
    rng = random.Random(n)
    xs = [rng.randrange(1, F.modulus) for _ in range(n)]
    assert F.to_ints(F.batch_inv(F.from_ints(xs))) == [pow(x, -1, F.modulus) for x in xs]


def test_pow_rejects_negative_exponent():
    with pytest.raises(ValueError, match="exponent"):
        BN254_FQ.pow(BN254_FQ.from_ints([2]), -1)


@pytest.mark.parametrize("F", ALL_FIELDS, ids=FIELD_IDS)
@pytest.mark.parametrize("bad_offset", [0, 1])
def test_from_ints_rejects_non_canonical(F, bad_offset):
    bad = F.modulus + bad_offset
    with pytest.raises(ValueError, match="element 2 .*non-canonical"):
        F.from_ints([1, 2, bad, 3])


@pytest.mark.parametrize("value", [-1, 2**256 - 1, 2**384])
def test_from_ints_rejects_out_of_range(value):
    with pytest.raises(ValueError, match="element 1"):
        BN254_FQ.from_ints([0, value])


@pytest.mark.parametrize("value", [1.0, "1", True, None])
def test_from_ints_rejects_non_integers(value):
    with pytest.raises(TypeError, match="element 0"):
        BN254_FQ.from_ints([value])


def test_empty_and_odd_batches():
    F = BLS12_381_FQ
    empty = F.from_ints([])
    assert empty.shape == (12, 0)
    assert F.to_ints(F.mul(empty, empty)) == []
    for n in (1, 3, 7):
        xs = list(range(1, n + 1))
        assert F.to_ints(F.mul(F.from_ints(xs), F.from_ints(xs))) == [x * x for x in xs]


def test_broadcasting_and_multi_dimensional_batches():
    F = BN254_FQ
    xs = list(range(6))
    a = F.from_ints(xs).reshape(8, 2, 3)
    two = F.from_ints([2])  # (8, 1) broadcasts against (8, 2, 3)
    out = F.mul(a, two[:, :, None])
    assert out.shape == (8, 2, 3)
    assert F.to_ints(out) == [2 * x for x in xs]


@pytest.mark.parametrize("F", ALL_FIELDS, ids=FIELD_IDS)
@pytest.mark.parametrize("byteorder", ["big", "little"])
def test_bytes_round_trip_matches_int_to_bytes(F, byteorder):
    rng = random.Random(7)
    xs = [0, 1, F.modulus - 1] + [rng.randrange(F.modulus) for _ in range(5)]
    enc = F.to_bytes(F.from_ints(xs), byteorder)
    assert enc.shape == (len(xs), F.byte_length) and enc.dtype == np.uint8
    assert [bytes(row) for row in enc] == [x.to_bytes(F.byte_length, byteorder) for x in xs]
    assert F.to_ints(F.from_bytes(enc, byteorder)) == xs


def test_from_bytes_rejects_bad_input():
    F = BN254_FQ
    good = np.zeros((3, 32), np.uint8)
    bad = good.copy()
    bad[1] = np.frombuffer(F.modulus.to_bytes(32, "big"), np.uint8)
    with pytest.raises(ValueError, match="element 1 .*non-canonical"):
        F.from_bytes(bad)
    with pytest.raises(ValueError, match="shape"):
        F.from_bytes(np.zeros((3, 31), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        F.from_bytes(np.zeros((3, 32), np.int32))
    with pytest.raises(ValueError, match="byteorder"):
        F.from_bytes(good, "middle")
    assert BLS12_381_FQ.byte_length == 48


def test_random_is_uniform_looking_and_deterministic():
    F = SECP256K1_FN
    a = F.random(jax.random.key(1), 256)
    b = F.random(jax.random.key(1), 256)
    c = F.random(jax.random.key(2), 256)
    va, vc = F.to_ints(a), F.to_ints(c)
    assert va == F.to_ints(b)
    assert va != vc
    assert all(0 <= v < F.modulus for v in va)
    assert len(set(va)) == 256
    # The top bit of a uniform value below p ~ 2^256 is set about half the time.
    assert 80 < sum(v >> 255 for v in va) < 176


def test_select_and_ones_zeros():
    F = ED25519_FP
    a, b = F.from_ints([1, 2, 3]), F.from_ints([4, 5, 6])
    out = F.select(jnp.array([True, False, True]), a, b)
    assert F.to_ints(out) == [1, 5, 3]
    assert F.to_ints(F.ones(2)) == [1, 1]
    assert F.to_ints(F.zeros(2)) == [0, 0]


def test_wrong_dtype_or_layout_is_rejected():
    F = BN254_FQ
    with pytest.raises(TypeError, match="uint32"):
        F.mul(jnp.zeros((8, 4), jnp.int32), jnp.zeros((8, 4), jnp.int32))
    with pytest.raises(ValueError, match="limb-major"):
        F.mul(jnp.zeros((4, 8), jnp.uint32), jnp.zeros((4, 8), jnp.uint32))


def test_library_does_not_flip_global_x64():
    BN254_FQ.mul(BN254_FQ.from_ints([3]), BN254_FQ.from_ints([4]))
    assert not jax.config.jax_enable_x64
    assert jnp.asarray(1).dtype == jnp.int32
