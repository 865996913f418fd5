"""The C++ bucket kernel (`supervm_jax.native`) against the JAX window sums it replaces on CPU: the
same group elements for every short-Weierstrass curve and for ed25519's twisted Edwards group, with identities, zero and extreme digits,
repeated points (doublings inside a bucket), P and -P in one bucket, a window whose points all share
one bucket (the batch-affine kernel's waiting FIFO and overflow accumulator), and both affine (mixed
addition) and projective inputs."""

import jax
import numpy as np
import pytest

from supervm_jax import native
from supervm_jax.curve import ALL_CURVES, ED25519
from supervm_jax.msm.pippenger import window_sums
from supervm_jax.pmap.compat import x64_scope

B, W, N, C_BITS, CHUNKS = 2, 3, 10, 4, 2  # M = 8 buckets per window


def _inputs(curve):
    rng = np.random.default_rng(7)
    ks = [int(k) for k in rng.integers(1, 10**6, B * N)]
    ks[3] = 0                                   # a point at infinity
    ks[5] = ks[4]                               # a repeated point
    pts = curve.scalar_mul(curve.generator_points(B * N), ks)
    pts = pts.at[..., 6].set(curve.neg(pts[..., 4:5])[..., 0])   # -P of point 4
    # even points affine (Z = 1: the kernel's mixed addition), odd ones projective (full addition)
    affine = curve.from_affine(curve.to_affine(pts))
    pts = pts.at[..., 0::2].set(affine[..., 0::2])
    digits = rng.integers(-8, 9, (B, W, N)).astype(np.int32)
    digits[:, :, 4:7] = 3                       # P, P, -P into one bucket
    digits[0, 0, :] = 0                         # an empty window
    digits[1, 2, 0], digits[1, 2, 1] = 8, -8    # the extreme digits
    digits[1, 1, :] = 5                         # every point in one bucket: the batch-affine kernel's
    digits[1, 1, 9] = -5                        # FIFO fills and its overflow accumulator takes the rest
    return pts.reshape(pts.shape[:-1] + (B, N)), digits


@pytest.mark.parametrize("curve", ALL_CURVES + (ED25519,), ids=lambda c: c.name)
def test_native_bucket_sums_equal_jax_window_sums(curve):
    if not native.available(curve):
        pytest.skip("native kernel unavailable here (no compiler or not the CPU backend)")
    points, digits = _inputs(curve)
    with x64_scope():
        run = lambda flag: jax.jit(lambda p, d: window_sums(curve, p, d, c=C_BITS, chunks=CHUNKS,  # noqa: E731
                                                           native_buckets=flag))(points, digits)
        got, want = run(True), run(False)
    flat = lambda s: s.reshape(s.shape[:-2] + (B * W,))  # noqa: E731
    assert curve.eq(flat(got), flat(want)).all()
    assert curve.is_identity(flat(got))[0]      # the empty window


@pytest.mark.parametrize("curve", [ALL_CURVES[0], ED25519], ids=lambda c: c.name)
def test_bad_inputs_fail_the_call_naming_them(curve):
    """The FFI call itself (not the Python wrapper) rejects a digit outside [-M, M], window bits it
    cannot bucket and a points table of the wrong length, naming the offending input."""
    if not native.available(curve):
        pytest.skip("native kernel unavailable here (no compiler or not the CPU backend)")
    points, digits = _inputs(curve)
    point_major = jax.numpy.moveaxis(points.reshape(points.shape[:-2] + (B * N,)), -1, 0)  # (B N, K, *E)
    call = lambda p, d, c: jax.jit(lambda p, d: native.bucket_sums(curve, p, d, c=c))(p, d)  # noqa: E731
    with x64_scope():
        call(point_major, digits, C_BITS).block_until_ready()  # the good inputs pass
        bad = digits.copy()
        bad[1, 2, 3] = 9                                        # M = 8
        with pytest.raises(jax.errors.JaxRuntimeError, match=r"digit \(b, w, i\) = \(1, 2, 3\) is 9, outside \[-8, 8\]"):
            call(point_major, bad, C_BITS).block_until_ready()
        bad[1, 2, 3] = -(2**31)
        with pytest.raises(jax.errors.JaxRuntimeError, match=r"\(1, 2, 3\) is -2147483648"):
            call(point_major, bad, C_BITS).block_until_ready()
        with pytest.raises(jax.errors.JaxRuntimeError, match=r"c_bits = 25 is outside \[1, 24\]"):
            call(point_major, digits, 25).block_until_ready()
        with pytest.raises(jax.errors.JaxRuntimeError, match=r"points must be \(20, "):
            call(point_major[:-1], digits, C_BITS).block_until_ready()
