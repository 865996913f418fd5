"""NTT against an O(n^2) DFT in Python ints, plus round-trip and convolution identities."""

import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from supervm_jax.field import BLS12_381_FR, BN254_FQ, BN254_FR
from supervm_jax.ntt import coset_generator, coset_intt, coset_ntt, intt, ntt, ntt_sharded, root_of_unity
from supervm_jax.ntt.radix2 import bit_reverse_permutation

NTT_FIELDS = [BN254_FR, BLS12_381_FR]
IDS = [F.name for F in NTT_FIELDS]


def dft(values, root, p):
    n = len(values)
    return [sum(v * pow(root, j * k, p) for j, v in enumerate(values)) % p for k in range(n)]


def random_ints(F, n, seed):
    rng = random.Random(seed)
    return [rng.randrange(F.modulus) for _ in range(n)]


@pytest.mark.parametrize("F", NTT_FIELDS, ids=IDS)
def test_roots_of_unity_are_primitive(F):
    p = F.modulus
    for k in (1, 2, 10, 28):
        w = root_of_unity(F, 2**k)
        assert pow(w, 2**k, p) == 1
        assert pow(w, 2 ** (k - 1), p) == p - 1
    # snarkjs/ffjavascript and arkworks use 5 (BN254) and 7 (BLS12-381) as the generator.
    assert coset_generator(F) == {"BN254_FR": 5, "BLS12_381_FR": 7}[F.name]


@pytest.mark.parametrize("F", NTT_FIELDS, ids=IDS)
@pytest.mark.parametrize("log_n", [0, 1, 2, 5])  # n = 8: test_edge_inputs
def test_forward_inverse_and_coset_match_dft(F, log_n):
    n, p = 2**log_n, F.modulus
    xs = random_ints(F, n, log_n)
    xs[0] = p - 1
    w = root_of_unity(F, n)
    x = F.from_ints(xs)
    assert F.to_ints(ntt(F, x)) == dft(xs, w, p)
    assert F.to_ints(intt(F, F.from_ints(dft(xs, w, p)))) == xs
    g = coset_generator(F)
    coset_ref = [sum(v * pow(g * pow(w, k, p), j, p) for j, v in enumerate(xs)) % p for k in range(n)]
    assert F.to_ints(coset_ntt(F, x)) == coset_ref
    assert F.to_ints(coset_intt(F, F.from_ints(coset_ref))) == xs
    shift = 3**77 % p
    assert F.to_ints(coset_intt(F, coset_ntt(F, x, shift), shift)) == xs


@pytest.mark.parametrize("F", NTT_FIELDS, ids=IDS)
def test_edge_inputs(F):
    n, p = 8, F.modulus
    zero = F.from_ints([0] * n)
    assert F.to_ints(ntt(F, zero)) == [0] * n
    delta = F.from_ints([1] + [0] * (n - 1))
    assert F.to_ints(ntt(F, delta)) == [1] * n
    const = F.from_ints([p - 1] * n)
    assert F.to_ints(ntt(F, const)) == [(p - 1) * n % p] + [0] * (n - 1)


def test_round_trip_and_convolution_at_larger_size():
    F, n, p = BN254_FR, 2**12, BN254_FR.modulus
    a = F.random(jax.random.key(0), n)
    assert np.array_equal(np.asarray(intt(F, ntt(F, a))), np.asarray(a))
    # Linear convolution of two degree < n/2 polynomials, checked by evaluating at a random point.
    half = n // 2
    a_ints = random_ints(F, half, 1) + [0] * half
    b_ints = random_ints(F, half, 2) + [0] * half
    fa, fb = ntt(F, F.from_ints(a_ints)), ntt(F, F.from_ints(b_ints))
    c_ints = F.to_ints(intt(F, F.mul(fa, fb)))
    z = random.Random(3).randrange(p)

    def horner(coeffs):
        acc = 0
        for c in reversed(coeffs):
            acc = (acc * z + c) % p
        return acc

    assert horner(c_ints) == horner(a_ints) * horner(b_ints) % p
    assert c_ints[-1] == 0


def test_batched_equals_one_at_a_time():
    F, n = BLS12_381_FR, 16
    rows = [random_ints(F, n, s) for s in range(3)]
    batch = jnp.stack([F.from_ints(r) for r in rows], axis=1)  # (L, 3, n)
    out = ntt(F, batch)
    assert out.shape == (F.n_limbs, 3, n)
    for i, r in enumerate(rows):
        assert np.array_equal(np.asarray(out[:, i]), np.asarray(ntt(F, F.from_ints(r))))
    back = coset_intt(F, coset_ntt(F, batch))
    assert np.array_equal(np.asarray(back), np.asarray(batch))


@pytest.mark.parametrize("F, log_n", [(BN254_FR, 4), (BN254_FR, 9), (BLS12_381_FR, 6)], ids=["BN254-16", "BN254-512", "BLS-64"])
def test_sharded_equals_single_device(F, log_n, mesh):
    """log_n = 4 is below the 8-device four-step minimum (falls back to one device)."""
    n = 2**log_n
    x = F.random(jax.random.key(log_n), n)
    y = ntt_sharded(F, x, mesh=mesh)
    assert np.array_equal(np.asarray(y), np.asarray(ntt(F, x)))


def test_sharded_inverse_and_coset(mesh):
    F, n = BN254_FR, 2**6
    x = F.random(jax.random.key(1), n)
    y = ntt_sharded(F, x, mesh=mesh)
    assert np.array_equal(np.asarray(ntt_sharded(F, y, inverse=True, mesh=mesh)), np.asarray(x))
    shift = coset_generator(F)
    assert np.array_equal(np.asarray(ntt_sharded(F, x, coset_shift=shift, mesh=mesh)), np.asarray(coset_ntt(F, x)))
    with pytest.raises(ValueError, match="forward"):
        ntt_sharded(F, x, coset_shift=shift, inverse=True, mesh=mesh)


def test_bad_inputs_raise():
    F = BN254_FR
    with pytest.raises(ValueError, match="power of two"):
        ntt(F, F.from_ints([1, 2, 3]))
    with pytest.raises(ValueError, match="2-adicity"):
        root_of_unity(F, 2**29)
    with pytest.raises(ValueError, match="NTT is defined for"):
        ntt(BN254_FQ, BN254_FQ.from_ints([1, 2]))
    with pytest.raises(ValueError, match="shape"):
        ntt(F, jnp.zeros((4, 8), jnp.uint32))
    with pytest.raises(ValueError, match="coset shift"):
        coset_ntt(F, F.from_ints([1, 2]), 0)
    with pytest.raises(ValueError, match="one polynomial"):
        ntt_sharded(F, jnp.zeros((8, 2, 8), jnp.uint32))


def test_bit_reverse_permutation():
    assert list(bit_reverse_permutation(8)) == [0, 4, 2, 6, 1, 5, 3, 7]
    assert list(bit_reverse_permutation(1)) == [0]


@pytest.mark.parametrize("log_n", [4, 5])
def test_four_step_path_matches_dft(monkeypatch, log_n):
    """Large transforms take the cache-blocked four-step path; force it at small sizes to check it."""
    from supervm_jax.ntt import four_step

    monkeypatch.setattr(four_step, "FOUR_STEP_MIN_LOG", 4)
    monkeypatch.setattr(four_step, "GROUP_ELEMENTS", 8)  # several groups per pass
    F, n = BN254_FR, 2**log_n
    p = F.modulus
    rows = [random_ints(F, n, s) for s in range(2)]
    x = jnp.stack([F.from_ints(r) for r in rows], axis=1)  # (L, 2, n)
    out = ntt(F, x)
    w = root_of_unity(F, n)
    for i, r in enumerate(rows):
        assert F.to_ints(out[:, i]) == dft(r, w, p)
    assert np.array_equal(np.asarray(intt(F, out)), np.asarray(x))
