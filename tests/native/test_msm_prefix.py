"""The C++ prefix-sum kernel (`supervm_jax.native`) against the JAX point addition: the same limbs,
bit for bit, on every short-Weierstrass curve, including identities, doublings and P + (-P)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from supervm_jax import native
from supervm_jax.curve import ALL_CURVES
from supervm_jax.pmap.compat import x64_scope

R, LANES = 6, 5


def _rows(curve):
    """(R, 3, *E, LANES): multiples of the generator with identities, repeats and negations."""
    ks = np.arange(1, R * LANES + 1).reshape(R, LANES) * 7919 % 1000 + 1
    ks[1, 0] = 0                      # identity
    ks[0, 1], ks[1, 1] = 5, 5         # acc = 5G, then + 5G: a doubling inside the complete formula
    ks[0, 2] = ks[1, 2] = 0           # identity + identity
    flat = curve.scalar_mul(curve.generator_points(R * LANES), [int(k) for k in ks.reshape(-1)])
    pts = jnp.moveaxis(flat.reshape(flat.shape[:-1] + (R, LANES)), -2, 0)
    neg = curve.neg(pts[0])           # lane 3: P then -P
    return pts.at[1, ..., 3].set(neg[..., 3])


def _jax_prefix(curve, rows):
    add = curve.kernel("add")

    def step(acc, row):
        acc = add(acc, row)
        return acc, acc

    with x64_scope():
        _, out = jax.jit(lambda r: jax.lax.scan(step, curve.kernel("identity")((LANES,)), r))(rows)
    return out


@pytest.mark.parametrize("curve", ALL_CURVES, ids=lambda c: c.name)
def test_native_prefix_scan_equals_jax(curve):
    if not native.prefix_scan_available(curve):
        pytest.skip("native kernel unavailable here (no compiler or not the CPU backend)")
    rows = _rows(curve)
    with x64_scope():
        got = jax.jit(lambda r: native.prefix_scan(curve, r))(rows)
    want = _jax_prefix(curve, rows)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert bool(curve.is_identity(got[1])[3])  # P + (-P)
