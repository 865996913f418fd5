"""The secp256k1 GLV endomorphism: phi(x, y) = (beta x, y) equals [lambda] P (checked with py_ecc), and
the scalar split k = k1 + k2 lambda (mod n) has halves below 2^128, for random and edge scalars."""

import secrets

from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc.secp256k1 import secp256k1 as ref

from supervm_jax.curve import SECP256K1

ENDO = SECP256K1.endomorphism
N = SECP256K1.order
P = SECP256K1.coords.modulus


def test_beta_and_lambda_match():
    assert pow(ENDO.beta, 3, P) == 1 and ENDO.beta != 1
    assert pow(ENDO.lam, 3, N) == 1 and ENDO.lam != 1
    for k in (1, 2, secrets.randbelow(N)):
        x, y = ref.multiply(ref.G, k)
        assert ref.multiply((x, y), ENDO.lam) == (ENDO.beta * x % P, y)


def test_basis_vectors_are_in_the_kernel():
    for a, b in ENDO.basis:
        assert (a + b * ENDO.lam) % N == 0
        assert max(abs(a), abs(b)).bit_length() <= 129


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(0, N - 1), st.sampled_from([0, 1, 2, N - 1, N - 2, N // 2, ENDO.lam, N - ENDO.lam])))
def test_split(k):
    k1, k2 = ENDO.split(k)
    assert (k1 + k2 * ENDO.lam - k) % N == 0
    assert abs(k1) < 1 << 128 and abs(k2) < 1 << 128
