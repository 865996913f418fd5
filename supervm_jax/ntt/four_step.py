"""Four-step NTT: large transforms as many small ones that fit in cache (and split over devices).

View a length-n vector as an n1 x n2 matrix A[j1, j2] = x[j1 n2 + j2] (n = n1 n2). Then
X[k1 + n1 k2] = sum_j2 w_n2^(j2 k2) w_n^(j2 k1) sum_j1 A[j1, j2] w_n1^(j1 k1):
column NTTs of size n1, a twiddle w_n^(j2 k1), row NTTs of size n2, and a transpose.

The small NTTs run in groups of rows (about GROUP_ELEMENTS elements per group) through all their
stages before the next group is touched, so a 2^20 transform streams memory ~3 times instead of
20 times. `sharded.py` uses the same pieces with all-to-all transposes between devices.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from jax import lax

from supervm_jax.field import PrimeField
from supervm_jax.field import montgomery as mont
from supervm_jax.ntt import domain
from supervm_jax.ntt.radix2 import ntt_dif
from supervm_jax.pmap.platform import trace_platform

GROUP_ELEMENTS = 4096  # CPU only; on GPU all rows form one group (one wide pass per stage)
# Single-device transforms of 2^FOUR_STEP_MIN_LOG and more take this path. Measured on the 2-core
# CPU (docs/PERFORMANCE.md) it did not beat the plain radix-2 kernel (2^16: 0.096 vs 0.080 s;
# 2^20: 1.88 vs 1.72 s; 2^22: 8.23 vs 8.26 s), so it is off by default (above every 2-adicity);
# `ntt_sharded` always uses it.
FOUR_STEP_MIN_LOG = 33


def split_sizes(n: int) -> tuple[int, int]:
    """(n1, n2) with n1 * n2 = n, n1 = 2^floor(k/2)."""
    k = n.bit_length() - 1
    return 1 << (k // 2), 1 << (k - k // 2)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class FourStepTables:
    """Device tables for one (field, n, direction): Montgomery (L, m) arrays.

    tw1: powers of w_n1 (n1/2), tw2: powers of w_n2 (n2/2); w_lo[e] = w^e for e < 2^h and
    w_hi[e] = w^(e 2^h), so w^e = w_lo[e mod 2^h] * w_hi[e >> h] for any e < n.
    """

    tw1: jax.Array
    tw2: jax.Array
    w_lo: jax.Array
    w_hi: jax.Array


def tables(field: PrimeField, n: int, omega: int) -> FourStepTables:
    """Four-step tables for a size-n transform with root `omega` (cached through domain.powers)."""
    p = field.modulus
    n1, n2 = split_sizes(n)
    h = lo_bits(n)
    return FourStepTables(
        tw1=domain.powers(field, pow(omega, n2, p), max(n1 // 2, 1)),
        tw2=domain.powers(field, pow(omega, n1, p), max(n2 // 2, 1)),
        w_lo=domain.powers(field, omega, 1 << h),
        w_hi=domain.powers(field, pow(omega, 1 << h, p), -(-n // (1 << h))),
    )


def lo_bits(n: int) -> int:
    """Bits of the exponent covered by w_lo (about half of log2 n)."""
    return max((n - 1).bit_length() + 1, 1) // 2


def twiddle(spec: mont.MontgomerySpec, t: FourStepTables, n: int, j2: jax.Array, k1: jax.Array) -> jax.Array:
    """w_n^(j2 * k1 mod n) for broadcastable uint32 index arrays j2, k1 -> (L, *broadcast shape)."""
    h = lo_bits(n)
    e = (j2 * k1) & jnp.uint32(n - 1)
    return mont.mont_mul(spec, t.w_lo[:, e & jnp.uint32((1 << h) - 1)], t.w_hi[:, e >> h])


def grouped_rows_ntt(spec: mont.MontgomerySpec, rows: jax.Array, tw: jax.Array, post=None) -> jax.Array:
    """NTT of every row of rows: (L, R, m), in groups of ~GROUP_ELEMENTS elements.

    post(group_index, rows_per_group, y) -> y, if given, is applied to each transformed group while
    it is still in cache (the four-step twiddle).
    """
    n_limbs, n_rows, m = rows.shape
    if trace_platform() == "cpu":  # cache-sized groups; one pass on a GPU
        per_group = math.gcd(max(GROUP_ELEMENTS // m, 1), n_rows)
    else:
        per_group = n_rows
    n_groups = n_rows // per_group

    def one_group(g, out):
        block = lax.dynamic_slice_in_dim(rows, g * per_group, per_group, axis=1)
        y = ntt_dif(spec, block, tw)
        if post is not None:
            y = post(g, per_group, y)
        return lax.dynamic_update_slice_in_dim(out, y, g * per_group, axis=1)

    if n_groups == 1:
        return one_group(0, rows)
    return lax.fori_loop(0, n_groups, one_group, rows)


def ntt_four_step(spec: mont.MontgomerySpec, x: jax.Array, t: FourStepTables) -> jax.Array:
    """Forward DFT over the last axis of x: (L, *batch, n) with the four-step algorithm (natural order)."""
    n_limbs, n = x.shape[0], x.shape[-1]
    batch = x.shape[1:-1]
    n1, n2 = split_sizes(n)
    b = math.prod(batch)
    cols = jnp.swapaxes(x.reshape(n_limbs, b, n1, n2), 2, 3).reshape(n_limbs, b * n2, n1)  # rows: (b, j2)
    k1 = jnp.arange(n1, dtype=jnp.uint32)[None, :]

    def apply_twiddle(g, per_group, y):
        first = jnp.asarray(g * per_group, jnp.uint32)
        j2 = ((first + jnp.arange(per_group, dtype=jnp.uint32)) % jnp.uint32(n2))[:, None]
        return mont.mont_mul(spec, y, twiddle(spec, t, n, j2, k1))

    cols = grouped_rows_ntt(spec, cols, t.tw1, post=apply_twiddle)  # [(b, j2), k1]
    rows = jnp.swapaxes(cols.reshape(n_limbs, b, n2, n1), 2, 3).reshape(n_limbs, b * n1, n2)  # [(b, k1), j2]
    out = grouped_rows_ntt(spec, rows, t.tw2)  # [(b, k1), k2]
    return jnp.swapaxes(out.reshape(n_limbs, b, n1, n2), 2, 3).reshape(x.shape)  # X[k1 + n1 k2]
