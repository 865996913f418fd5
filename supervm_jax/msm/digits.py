"""Signed-digit recoding of MSM scalars: on the host (numpy) and on the device (JAX).

A scalar k in [0, 2^(c W - 1)) becomes W digits d_w in [-2^(c-1), 2^(c-1)] with
sum_w d_w 2^(c w) = k: each window's c bits plus the carry in, and a digit above 2^(c-1) becomes
d - 2^c with a carry of 1 into the next window. Halving the digit range halves the buckets.

`signed_digits` (host) takes Python ints or limb rows that live on the host; `signed_digits_device`
takes limbs that already live on a device (a prover's quotient H, fresh from the NTT) and recodes
them there, so nothing crosses to the host between a proof's stages. Both give the same digits
(tested against each other and against sum_w d_w 2^(c w) = k in Python ints).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

MAX_DIGIT_BITS = 30  # a digit plus its carry fits an int32


def signed_digits(scalars: Sequence[int] | np.ndarray, c: int, windows: int) -> np.ndarray:
    """Signed base-2^c digits of scalars in [0, 2^(c * windows - 1)): (windows, n) int32 with values in
    [-2^(c-1), 2^(c-1)] and sum_w d_w 2^(c w) = k (host numpy, vectorized over n).

    scalars: Python ints, or an (n, L) uint32 array of little-endian limbs (standard form).
    Raises ValueError when a scalar needs more than `windows` windows."""
    n_limbs = -(-(c * windows) // 32) + 2
    if isinstance(scalars, np.ndarray):
        n = scalars.shape[0]
        limbs = np.zeros((n, max(n_limbs, scalars.shape[1])), np.uint64)
        limbs[:, : scalars.shape[1]] = scalars
    else:
        n = len(scalars)
        raw = b"".join(int(k).to_bytes(4 * n_limbs, "little") for k in scalars)
        limbs = np.frombuffer(raw, "<u4").reshape(n, n_limbs).astype(np.uint64)
    mask, half = np.uint64((1 << c) - 1), np.int64(1 << (c - 1))
    out = np.empty((windows, n), np.int64)
    carry = np.zeros(n, np.int64)
    for w in range(windows):
        off = w * c
        lo, sh = off // 32, np.uint64(off % 32)
        v = ((limbs[:, lo] | (limbs[:, lo + 1] << np.uint64(32))) >> sh) & mask
        d = v.astype(np.int64) + carry
        carry = (d > half).astype(np.int64)
        out[w] = d - (carry << c)
    if carry.any():
        raise ValueError("scalar too large for the window layout")
    return out.astype(np.int32)


def signed_digits_device(limbs: jax.Array, c: int, windows: int, bound: int) -> tuple[jax.Array, jax.Array]:
    """The device twin of `signed_digits`: limbs (L, *batch) uint32 little-endian standard form ->
    (digits (*batch[:-1], windows, n) int32, out_of_range (*batch) bool), where n = batch[-1].

    out_of_range marks the scalars >= `bound` (the group order), whose digits must not be used; the
    caller reads it after dispatching its MSM (one small transfer, no wait in between) and raises.
    `bound` must fit the window layout (bound <= 2^(c * windows - 1))."""
    if not 2 <= c <= MAX_DIGIT_BITS:
        raise ValueError(f"digit width c = {c} outside [2, {MAX_DIGIT_BITS}]")
    if bound > 1 << (c * windows - 1):
        raise ValueError(f"{windows} windows of {c} bits cannot hold scalars below {bound}")
    return _recode_kernel(c, windows, bound)(limbs)


@functools.lru_cache(maxsize=32)
def _recode_kernel(c: int, windows: int, bound: int):
    mask, half = jnp.uint32((1 << c) - 1), 1 << (c - 1)

    def run(limbs):
        n_limbs = limbs.shape[0]
        bound_limbs = [jnp.uint32((bound >> (32 * i)) & 0xFFFFFFFF) for i in range(n_limbs)]
        if bound >= 1 << (32 * n_limbs):
            below = jnp.ones(limbs.shape[1:], bool)
        else:  # lexicographic from the top limb
            below, equal = jnp.zeros(limbs.shape[1:], bool), jnp.ones(limbs.shape[1:], bool)
            for i in range(n_limbs - 1, -1, -1):
                below |= equal & (limbs[i] < bound_limbs[i])
                equal &= limbs[i] == bound_limbs[i]
        zero = jnp.zeros(limbs.shape[1:], jnp.uint32)
        limb = lambda i: limbs[i] if i < n_limbs else zero  # noqa: E731
        carry = jnp.zeros(limbs.shape[1:], jnp.int32)
        digits = []
        for w in range(windows):
            lo, sh = divmod(w * c, 32)
            v = limb(lo) >> sh
            if sh + c > 32:
                v = v | (limb(lo + 1) << (32 - sh))
            d = (v & mask).astype(jnp.int32) + carry
            carry = (d > half).astype(jnp.int32)
            digits.append(d - (carry << c))
        return jnp.stack(digits, axis=-2), ~below

    return jax.jit(run)


__all__ = ["signed_digits", "signed_digits_device"]
