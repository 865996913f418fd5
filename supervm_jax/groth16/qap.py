"""Device kernels of the Groth16 prover's polynomial part, computed the way snarkjs 0.7.6 does.

For a witness w (wire 0 = 1) and the key's coefficient list (matrix, constraint, signal, value):

  1. A_T[i] = sum_j A[i, j] w_j and B_T[i] likewise, for every row i of the domain (size n; rows
     beyond the constraints are the nPublic + 1 input-consistency rows snarkjs appends, and zeros);
     C_T = A_T * B_T pointwise (snarkjs derives C from A and B; the key carries no C matrix).
  2. Each of A_T, B_T, C_T is interpolated (inverse NTT over the n-th roots) and evaluated on the coset
     shift * omega^k, shift the 2n-th root of unity (forward NTT after scaling coefficient k by
     shift^k).
  3. H_k = A(x_k) B(x_k) - C(x_k) at those points, in standard form: the scalars of the H MSM.

Representation: field elements are (L, *batch, n) uint32 limbs, limb-major, Montgomery form (R =
2^256) unless marked standard. The key stores a coefficient v as v R^2 mod r, i.e. the Montgomery
form of v R; multiplying it (Montgomery product) by a *standard-form* witness value w gives the
Montgomery form of v w directly, so witnesses go to the device as raw standard limbs.

Sums of many products: the products (each < r) are widened to uint64 and summed per row with
`segment_sum` (exact while a row has < 2^32 terms), carries are propagated to L limbs plus a small
top word t, and the value lo + t 2^(32L) is reduced as lo * 1 + t * R (two Montgomery products).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from supervm_jax.field import montgomery as mont
from supervm_jax.groth16.curves import PairingCurve
from supervm_jax.ntt import coset_ntt, intt
from supervm_jax.pmap.compat import x64_scope

_MASK = np.uint64(0xFFFFFFFF)


def _reduce_sums(spec: mont.MontgomerySpec, sums: jax.Array) -> jax.Array:
    """(L, ...) uint64 limb sums (each < 2^63) of Montgomery-form values -> (L, ...) uint32 value mod p."""
    carry = jnp.zeros(sums.shape[1:], jnp.uint64)
    lo = []
    for i in range(spec.n_limbs):
        t = sums[i] + carry
        lo.append((t & _MASK).astype(jnp.uint32))
        carry = t >> 32
    lo = jnp.stack(lo)
    top = jnp.zeros_like(lo).at[0].set(carry.astype(jnp.uint32))
    one = jnp.asarray(spec.constant(1)).reshape((-1,) + (1,) * (lo.ndim - 1))  # R mod p
    r_mont = jnp.asarray(spec.constant(spec.r)).reshape(one.shape)  # R^2 mod p
    return mont.add(spec, mont.mont_mul(spec, lo, one), mont.mont_mul(spec, top, r_mont))


@functools.lru_cache(maxsize=32)
def matvec_kernel(spec: mont.MontgomerySpec, n_rows: int):
    """jit(coef (L, nnz) Montgomery form of v R, col (nnz,) int32, row (nnz,) int32,
    witness (L, B, n_vars) standard form) -> (L, B, n_rows) Montgomery form of sum v w[col] per row."""

    def run(coef, col, row, witness):
        w = jnp.take(witness, col, axis=-1)  # (L, B, nnz)
        prod = mont.mont_mul(spec, w, coef[:, None, :])
        data = jnp.moveaxis(prod.astype(jnp.uint64), -1, 0)  # (nnz, L, B)
        sums = jax.ops.segment_sum(data, row, num_segments=n_rows)
        return _reduce_sums(spec, jnp.moveaxis(sums, 0, -1))

    return jax.jit(run)


@functools.lru_cache(maxsize=8)
def _mont_coef_kernel(spec: mont.MontgomerySpec):
    """jit: standard-form v (L, n) -> v R^2 mod p (the key's coefficient encoding)."""
    r3 = spec.constant(spec.r * spec.r % spec.modulus)  # Montgomery form of R^2, i.e. R^3 mod p

    def run(v):
        return mont.mont_mul(spec, v, jnp.asarray(r3)[:, None])

    return jax.jit(run)


def coefficient_encoding(spec: mont.MontgomerySpec, values_std: np.ndarray) -> jax.Array:
    """(nnz, L) standard-form coefficient limbs -> (L, nnz) device array in the key's encoding v R^2."""
    with x64_scope():
        return _mont_coef_kernel(spec)(jnp.asarray(np.ascontiguousarray(values_std.T)))


@functools.lru_cache(maxsize=8)
def _pointwise_kernel(spec: mont.MontgomerySpec):
    def product_rows(ab):
        """(L, B, 2, n) [A_T, B_T] -> (L, B, 3, n) [A_T, B_T, A_T * B_T]."""
        c = mont.mont_mul(spec, ab[:, :, 0], ab[:, :, 1])
        return jnp.concatenate([ab, c[:, :, None]], axis=2)

    def join(evals):
        """(L, B, 3, n) coset evaluations -> (L, B, n) standard form of A * B - C."""
        p = mont.sub(spec, mont.mont_mul(spec, evals[:, :, 0], evals[:, :, 1]), evals[:, :, 2])
        return mont.from_montgomery(spec, p)

    return jax.jit(product_rows), jax.jit(join)


def quotient_scalars(curve: PairingCurve, ab: jax.Array) -> jax.Array:
    """(L, B, 2, n) Montgomery [A_T, B_T] at the n-th roots -> (L, B, n) standard-form H scalars."""
    F = curve.fr
    n = ab.shape[-1]
    omega, shift = curve.snarkjs_root_of_unity(n), curve.snarkjs_quotient_shift(n)
    product_rows, join = _pointwise_kernel(F.spec)
    with x64_scope():
        abc = product_rows(ab)
    coeffs = intt(F, abc, root=omega)
    evals = coset_ntt(F, coeffs, shift, root=omega)
    with x64_scope():
        return join(evals)
