"""Fq2 kernels against plain Python arithmetic on (c0, c1) pairs (u^2 = -1)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervm_jax.field import BLS12_381_FQ2, BN254_FQ2

N = 8  # fixed batch: one compile per kernel


def ref_mul(a, b, p):
    return ((a[0] * b[0] - a[1] * b[1]) % p, (a[0] * b[1] + a[1] * b[0]) % p)


@pytest.mark.parametrize("F", [BN254_FQ2, BLS12_381_FQ2], ids=lambda f: f.name)
@given(data=st.data())
def test_mul_add_sub_inv(F, data):
    p = F.modulus
    elem = st.tuples(st.integers(0, p - 1), st.integers(0, p - 1))
    xs = data.draw(st.lists(elem, min_size=N, max_size=N))
    ys = data.draw(st.lists(elem, min_size=N, max_size=N))
    xs[0] = (0, 0)
    ys[1] = (p - 1, p - 1)
    a, b = F.from_ints(xs), F.from_ints(ys)
    assert F.to_ints(F.mul(a, b)) == [ref_mul(x, y, p) for x, y in zip(xs, ys)]
    assert F.to_ints(F.add(a, b)) == [((x[0] + y[0]) % p, (x[1] + y[1]) % p) for x, y in zip(xs, ys)]
    assert F.to_ints(F.sub(a, b)) == [((x[0] - y[0]) % p, (x[1] - y[1]) % p) for x, y in zip(xs, ys)]
    inv = F.to_ints(F.inv(a))
    for x, xi in zip(xs, inv):
        assert ref_mul(x, xi, p) == ((1, 0) if x != (0, 0) else (0, 0))


def test_from_ints_rejects_noncanonical():
    with pytest.raises(ValueError, match="element 1"):
        BN254_FQ2.from_ints([(1, 2), (BN254_FQ2.modulus, 0)])


def test_matches_py_ecc_fq2():
    from py_ecc.fields import optimized_bn128_FQ2 as FQ2

    a, b = (3, 5), (7, 11)
    want = FQ2([3, 5]) * FQ2([7, 11])
    got = BN254_FQ2.to_ints(BN254_FQ2.mul(BN254_FQ2.from_ints([a]), BN254_FQ2.from_ints([b])))[0]
    assert got == tuple(int(c) for c in want.coeffs)
