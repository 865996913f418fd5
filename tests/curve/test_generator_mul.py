"""`ShortWeierstrass.generator_mul`: the byte-window comb for multiples of the generator."""

import random

import numpy as np
import pytest

from supervm_jax.curve import BLS12_381_G1, BN254_G1, BN254_G2
from supervm_jax.field.limbs import limbs_from_ints


def _scalars(curve, n, seed):
    rng = random.Random(seed)
    return [0, 1, 2, 255, 256, curve.order - 1] + [rng.randrange(curve.order) for _ in range(n - 6)]


@pytest.mark.parametrize("curve", [BN254_G1, BN254_G2, BLS12_381_G1], ids=lambda c: c.name)
def test_matches_scalar_mul(curve):
    ks = _scalars(curve, 20, curve.name)
    got = curve.generator_mul(ks)
    assert got.shape == curve.point_shape + (len(ks),)
    ref = curve.scalar_mul(curve.generator_points(len(ks)), ks)
    assert curve.eq(got, ref).all()
    assert curve.is_identity(got)[0] and not curve.is_identity(got)[1:].any()


def test_affine_and_limb_scalars_match_py_ecc():
    from py_ecc import optimized_bn128 as bn

    curve = BN254_G1
    ks = _scalars(curve, 10, 7)
    aff = np.asarray(curve.generator_mul(limbs_from_ints(ks, 32), affine=True))  # (2, L, n) Montgomery
    xs, ys = curve.coords.ints_from_limbs(aff[0]), curve.coords.ints_from_limbs(aff[1])
    assert (xs[0], ys[0]) == (0, 0)
    for k, x, y in zip(ks[1:], xs[1:], ys[1:]):
        ex, ey = bn.normalize(bn.multiply(bn.G1, k))
        assert (x, y) == (int(ex.n), int(ey.n))


def test_g2_affine_matches_to_affine():
    curve = BN254_G2
    ks = _scalars(curve, 8, 3)
    aff = np.asarray(curve.generator_mul(ks, affine=True))  # (2, L, 2, n)
    ref = curve.to_affine(curve.generator_mul(ks))
    xs, ys = curve.coords.ints_from_limbs(aff[0]), curve.coords.ints_from_limbs(aff[1])
    assert (xs[0], ys[0]) == ((0, 0), (0, 0))
    assert list(zip(xs[1:], ys[1:])) == ref[1:]


def test_chunks_and_padding(monkeypatch):
    curve = BN254_G1
    monkeypatch.setattr(type(curve), "GENERATOR_CHUNK", 64)
    ks = _scalars(curve, 150, 11)  # 3 chunks of 64, the last one padded
    got = curve.generator_mul(ks)
    assert got.shape[-1] == 150
    assert curve.eq(got, curve.scalar_mul(curve.generator_points(150), ks)).all()


def test_rejects_out_of_range():
    with pytest.raises(ValueError, match="scalar 1"):
        BN254_G1.generator_mul([1, BN254_G1.order])
    with pytest.raises(ValueError, match="scalar 0"):
        BN254_G1.generator_mul(limbs_from_ints([BN254_G1.order], 32))
    assert BN254_G1.generator_mul([]).shape == BN254_G1.point_shape + (0,)
