"""The NTT kernel: constant-geometry radix-2 decimation in frequency, batched over leading axes.

Input x: (L, *batch, n) uint32 Montgomery limbs, n = 2^k, transform along the last axis.
Every stage s = 0..k-1 reads the two halves a = y[:n/2], b = y[n/2:] and writes
u = a + b, v = (a - b) * omega^((i >> s) << s) interleaved (y'[2i] = u[i], y'[2i+1] = v[i]) — the
same shapes every stage, so the stages are one `lax.fori_loop` body compiled once. After k stages
the result is in bit-reversed order and one gather restores natural order.

twiddles: (L, n/2) Montgomery powers omega^0 .. omega^(n/2-1).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import lax

from supervm_jax.field import montgomery as mont


def bit_reverse_permutation(n: int) -> np.ndarray:
    """int32 array perm with perm[i] = bit-reversal of i over log2(n) bits."""
    k = n.bit_length() - 1
    idx = np.arange(n, dtype=np.int64)
    rev = np.zeros(n, dtype=np.int64)
    for b in range(k):
        rev |= ((idx >> b) & 1) << (k - 1 - b)
    return rev.astype(np.int32)


def ntt_dif(spec: mont.MontgomerySpec, x: jnp.ndarray, twiddles: jnp.ndarray) -> jnp.ndarray:
    """Forward DFT over the last axis: X[k] = sum_j x[j] omega^(jk), natural order in and out."""
    n = x.shape[-1]
    if n == 1:
        return x
    k = n.bit_length() - 1
    half = n // 2
    i = jnp.arange(half, dtype=jnp.uint32)
    w_shape = (spec.n_limbs,) + (1,) * (x.ndim - 2) + (half,)

    def stage(s, y):
        a, b = y[..., :half], y[..., half:]
        w = twiddles[:, (i >> s) << s].reshape(w_shape)
        u = mont.add(spec, a, b)
        v = mont.mont_mul(spec, mont.sub(spec, a, b), w)
        return jnp.stack([u, v], axis=-1).reshape(y.shape)

    y = lax.fori_loop(0, k, stage, x)
    return y[..., bit_reverse_permutation(n)]
