"""The C++ short-Weierstrass point kernels (`native/curve_ops.cc`) against py_ecc and against the JAX
kernels they replace on CPU:

  - `native.scalar_mul_bits` (4-bit fixed windows) gives py_ecc's k P on all five curves, for
    scalars 0, 1, r - 1, random full-width and 128-bit ones, the identity and projective (Z != 1)
    inputs, and bit lengths that leave 1, 2, 3 or 4 bits in the top window; it equals the JAX
    ladder (`curve.group.scalar_mul_bits` with the native path off) as group elements;
  - `native.msm_combine` equals `pippenger.combine` and the known discrete logs on random BN254 G1
    window sums (several devices, instances and windows);
  - a coordinate >= p fails the call, naming the lane.

The MSM tests (`tests/msm`) run the whole MSM, combine included, on both paths against py_ecc.
"""

import importlib
import secrets

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from supervm_jax import native
from supervm_jax.curve import BLS12_381_G1, BLS12_381_G2, BN254_G1, BN254_G2, SECP256K1
from supervm_jax.curve.group import int_bits, scalar_mul_bits
from supervm_jax.msm.pippenger import combine
from supervm_jax.pmap.compat import x64_scope

CURVES = (BN254_G1, BN254_G2, BLS12_381_G1, BLS12_381_G2, SECP256K1)
MODULES = {"BN254_G1": "py_ecc.optimized_bn128", "BN254_G2": "py_ecc.optimized_bn128",
           "BLS12_381_G1": "py_ecc.optimized_bls12_381", "BLS12_381_G2": "py_ecc.optimized_bls12_381"}


def _need_native(curve) -> None:
    if not native.weierstrass_available(curve):
        pytest.skip("native point kernels unavailable here (no compiler, SUPERVM_NATIVE=0 or not CPU)")


class _Ref:
    """py_ecc's k G and k P for one curve, as the library's affine tuples (None = infinity)."""

    def __init__(self, curve):
        self.curve = curve
        if curve is SECP256K1:
            from py_ecc.secp256k1 import secp256k1 as s

            self.s, self.m = s, None
        else:
            self.m = importlib.import_module(MODULES[curve.name])

    def mul_generator(self, k: int):
        """(py_ecc point, affine tuple) of k G."""
        if self.m is None:
            pt = self.s.multiply(self.s.G, k) if k else None
            return pt, (None if pt is None else (pt[0], pt[1]))
        gen = self.m.G2 if self.curve.coords.degree == 2 else self.m.G1
        pt = self.m.multiply(gen, k)
        return pt, self._affine(pt)

    def mul(self, pt, k: int):
        if self.m is None:
            return None if pt is None or k % self.curve.order == 0 else self.s.multiply(pt, k)
        return self._affine(self.m.multiply(pt, k))

    def _affine(self, pt):
        if self.m.is_inf(pt):
            return None
        x, y = self.m.normalize(pt)
        if self.curve.coords.degree == 1:
            return (int(x.n), int(y.n))
        return (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs))


def _run_scalar_mul(curve, P, bits, use_native: bool):
    with x64_scope():
        if use_native:
            return jax.jit(lambda p, b: native.scalar_mul_bits(curve, p, b))(P, bits)
        old, native.ENABLED = native.ENABLED, False
        try:
            return jax.jit(lambda p, b: scalar_mul_bits(curve, p, b))(P, bits)
        finally:
            native.ENABLED = old


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_scalar_mul_equals_py_ecc_and_the_jax_ladder(curve):
    _need_native(curve)
    ref = _Ref(curve)
    r = curve.order
    logs = [1 + secrets.randbelow(r - 1) for _ in range(6)]
    bases = [ref.mul_generator(a) for a in logs]
    affine = [aff for _, aff in bases] + [None]  # the identity as input too
    P = curve.from_affine(affine)
    P = P.at[..., 1].set(curve.double(P[..., 1:2])[..., 0])  # a projective input (Z != 1): 2 a_1 G
    inputs = [pt for pt, _ in bases] + [None]
    inputs[1] = ref.mul_generator(2 * logs[1] % r)[0]
    for nbits in (1, 2, 3, 66, 128, r.bit_length()):
        ks = [secrets.randbits(nbits) for _ in inputs]
        if nbits == r.bit_length():
            ks[:3] = [0, 1, r - 1]
        bits = jnp.asarray(np.stack([int_bits(k, nbits) for k in ks], axis=1))
        got = _run_scalar_mul(curve, P, bits, use_native=True)
        want = [None if pt is None else ref.mul(pt, k) for pt, k in zip(inputs, ks)]
        assert curve.to_affine(got) == want, f"nbits={nbits} scalars={ks}"
        if nbits == 128:  # the GPU path gives the same group elements (one compiled ladder per curve)
            assert curve.eq(got, _run_scalar_mul(curve, P, bits, use_native=False)).all(), f"nbits={nbits}"


def test_msm_combine_equals_the_jax_combine():
    curve = BN254_G1  # the other groups: tests/msm on both paths
    _need_native(curve)
    D, B, W, c = 2, 3, 5, 3
    ks = [secrets.randbelow(curve.order) for _ in range(D * B * W)]
    ks[0] = 0  # one window sum is the identity
    sums = curve.generator_mul(ks)  # projective (Z != 1) points
    sums = sums.reshape(sums.shape[:-1] + (D, B, W))
    with x64_scope():
        got = jax.jit(lambda s: combine(curve, s, c=c, native_combine=True))(sums)
        want = jax.jit(lambda s: combine(curve, s, c=c))(sums)
    assert curve.eq(got, want).all()
    expect = [sum(ks[(d * B + b) * W + w] << (c * w) for d in range(D) for w in range(W)) % curve.order for b in range(B)]
    assert curve.to_affine(got) == curve.to_affine(curve.generator_mul(expect))


def _non_canonical(curve, lane: int, n: int):
    """n copies of the generator with lane `lane`'s X limbs replaced by those of p (>= p)."""
    P = np.array(curve.generator_points(n))
    p_limbs = np.frombuffer(curve.coords.modulus.to_bytes(4 * curve.coords.n_limbs, "little"), "<u4")
    P[0, :, ..., lane] = p_limbs.reshape((-1,) + (1,) * (P.ndim - 3))
    return jnp.asarray(P)


@pytest.mark.parametrize("curve", [BN254_G1, BLS12_381_G2], ids=lambda c: c.name)
def test_non_canonical_coordinates_fail_naming_the_lane(curve):
    _need_native(curve)
    P = _non_canonical(curve, lane=2, n=4)
    with pytest.raises(Exception, match="point 2 has a coordinate >= p"):
        _run_scalar_mul(curve, P, jnp.ones((5, 4), bool), use_native=True).block_until_ready()
    sums = _non_canonical(curve, lane=3, n=4).reshape(P.shape[:-1] + (1, 2, 2))
    with pytest.raises(Exception, match="window sum 3 has a coordinate >= p"):
        with x64_scope():
            jax.jit(lambda s: native.msm_combine(curve, s, c=2))(sums).block_until_ready()
