"""Experiment: formulations of the BN254 base-field Montgomery multiply, timed side by side.

Not part of the library; it records how the representation in supervm_jax/field was chosen
(see docs/PERFORMANCE.md). Run from the repository root: python -m experiments.field_formulations
[log2_n [variant,variant,...]]. All variants: 8 x 32-bit limbs stored as uint32, limb-major (8, n),
products widened to uint64 (traced inside the library's `x64_scope`, as its own kernels are).
"""
import sys, time
import numpy as np
import jax, jax.numpy as jnp
from jax import lax

from supervm_jax.pmap import x64_scope

P = 0x30644E72E131A029B85045B68181585D97816A916871CA8D3C208C16D87CFD47
L = 8
MASK = np.uint64(0xFFFFFFFF)
PL = np.array([(P >> (32 * i)) & 0xFFFFFFFF for i in range(L)], np.uint64)
NP = np.uint64((-pow(P, -1, 2 ** 32)) % 2 ** 32)
R = 2 ** 256 % P
RINV = pow(2 ** 256, -1, P)
u32, u64 = jnp.uint32, jnp.uint64


def final_sub(t):  # t: list of L+1 u64 values < 2^32 each (t[L] small); returns (L, n) u32 of t mod P
    borrow = jnp.zeros_like(t[0])
    d = []
    for i in range(L):
        x = t[i] - PL[i] - borrow
        d.append(x & MASK)
        borrow = (x >> 63)
    x = t[L] - borrow
    keep = (x >> 63) == 1  # t < P
    return jnp.stack([jnp.where(keep, t[i], d[i]) for i in range(L)]).astype(u32)


def cios_unrolled(a, b):
    a = [a[i].astype(u64) for i in range(L)]
    b = [b[i].astype(u64) for i in range(L)]
    t = [jnp.zeros_like(a[0])] * (L + 2)
    for i in range(L):
        c = jnp.zeros_like(a[0])
        for j in range(L):
            s = t[j] + a[j] * b[i] + c
            t[j] = s & MASK; c = s >> 32
        s = t[L] + c; t[L] = s & MASK; t[L + 1] = s >> 32
        m = (t[0] * NP) & MASK
        s = t[0] + m * PL[0]; c = s >> 32
        for j in range(1, L):
            s = t[j] + m * PL[j] + c
            t[j - 1] = s & MASK; c = s >> 32
        s = t[L] + c; t[L - 1] = s & MASK; t[L] = t[L + 1] + (s >> 32)
    return final_sub(t[: L + 1])


def cios_fori(a, b):
    a64 = a.astype(u64); b64 = b.astype(u64)
    def row(i, t):
        t = [t[k] for k in range(L + 1)]
        bi = b64[i]
        c = jnp.zeros_like(bi)
        for j in range(L):
            s = t[j] + a64[j] * bi + c
            t[j] = s & MASK; c = s >> 32
        s = t[L] + c; t[L] = s & MASK; top = s >> 32
        m = (t[0] * NP) & MASK
        s = t[0] + m * PL[0]; c = s >> 32
        for j in range(1, L):
            s = t[j] + m * PL[j] + c
            t[j - 1] = s & MASK; c = s >> 32
        s = t[L] + c; t[L - 1] = s & MASK; t[L] = top + (s >> 32)
        return jnp.stack(t)
    t = lax.fori_loop(0, L, row, jnp.zeros((L + 1,) + a.shape[1:], u64))
    return final_sub([t[k] for k in range(L + 1)])


NP32 = np.uint32(NP)


def cios_fori32(a, b):
    """CIOS rows in a fori_loop; state and inputs stay uint32, widened to uint64 per product."""
    def row(i, t):
        t = [t[k].astype(u64) for k in range(L + 1)]
        bi = lax.dynamic_index_in_dim(b, i, keepdims=False).astype(u64)
        c = jnp.zeros_like(bi)
        for j in range(L):
            s = t[j] + a[j].astype(u64) * bi + c
            t[j] = s & MASK; c = s >> 32
        s = t[L] + c; t[L] = s & MASK; top = s >> 32
        m = (t[0].astype(u32) * NP32).astype(u64)
        s = t[0] + m * PL[0]; c = s >> 32
        for j in range(1, L):
            s = t[j] + m * PL[j] + c
            t[j - 1] = s & MASK; c = s >> 32
        s = t[L] + c; t[L - 1] = s & MASK; t[L] = top + (s >> 32)
        return jnp.stack([x.astype(u32) for x in t])
    t = lax.fori_loop(0, L, row, jnp.zeros((L + 1,) + a.shape[1:], u32))
    return final_sub([t[k].astype(u64) for k in range(L + 1)])


def cios_barrier(a, b, group):
    """Unrolled CIOS; every `group` carry steps the running (limbs, carry) pass through
    lax.optimization_barrier so XLA materializes them once instead of re-deriving them per output."""
    a = [a[i].astype(u64) for i in range(L)]
    b = [b[i].astype(u64) for i in range(L)]
    t = [jnp.zeros_like(a[0])] * (L + 1)
    steps = 0

    def fence(vals):
        nonlocal steps
        steps += 1
        return list(lax.optimization_barrier(vals)) if steps % group == 0 else vals

    for i in range(L):
        c = jnp.zeros_like(a[0])
        for j in range(L):
            s = t[j] + a[j] * b[i] + c
            t[j] = s & MASK; c = s >> 32
            t[j], c = fence([t[j], c])
        s = t[L] + c; t[L] = s & MASK; top = s >> 32
        m = (t[0].astype(u32) * NP32).astype(u64)
        s = t[0] + m * PL[0]; c = s >> 32
        for j in range(1, L):
            s = t[j] + m * PL[j] + c
            t[j - 1] = s & MASK; c = s >> 32
            t[j - 1], c, m = fence([t[j - 1], c, m])
        s = t[L] + c; t[L - 1] = s & MASK; t[L] = top + (s >> 32)
    return final_sub(t)


def _wide_mul(x, y):
    """32x32->64 product of two uint64 values known to be < 2^32; the masks let LLVM emit vpmuludq
    even when XLA hoisted a uint32->uint64 convert out of the loop into memory."""
    return (x & MASK) * (y & MASK)


def cios_fori32m(a, b):
    """cios_fori32 with explicit low-32-bit masks on every product operand."""
    def row(i, t):
        t = [t[k].astype(u64) for k in range(L + 1)]
        bi = lax.dynamic_index_in_dim(b, i, keepdims=False).astype(u64)
        c = jnp.zeros_like(bi)
        for j in range(L):
            s = t[j] + _wide_mul(a[j].astype(u64), bi) + c
            t[j] = s & MASK; c = s >> 32
        s = t[L] + c; t[L] = s & MASK; top = s >> 32
        m = (t[0].astype(u32) * NP32).astype(u64)
        s = t[0] + _wide_mul(m, PL[0]); c = s >> 32
        for j in range(1, L):
            s = t[j] + _wide_mul(m, PL[j]) + c
            t[j - 1] = s & MASK; c = s >> 32
        s = t[L] + c; t[L - 1] = s & MASK; t[L] = top + (s >> 32)
        return jnp.stack([x.astype(u32) for x in t])
    t = lax.fori_loop(0, L, row, jnp.zeros((L + 1,) + a.shape[1:], u32))
    return final_sub([t[k].astype(u64) for k in range(L + 1)])


def lazy_rows(a, b, fence_m=True):
    """Carry-save CIOS: per row every output limb is t[j+1] plus the four 32-bit halves that land on
    it, so no carry chain crosses limbs inside a row; m is materialized once per row."""
    def row(i, t):
        bi = lax.dynamic_index_in_dim(b, i, keepdims=False).astype(u64)
        t0 = t[0] + ((a[0].astype(u64) * bi) & MASK)
        m = (t0.astype(u32) * NP32).astype(u64)
        if fence_m:
            m = lax.optimization_barrier(m)
        out = []
        for j in range(L + 1):
            if j == 0:
                acc = (t0 + ((m * PL[0]) & MASK)) >> 32
            else:
                acc = t[j]
            if j < L:
                if j > 0:
                    acc = acc + ((a[j].astype(u64) * bi) & MASK) + ((m * PL[j]) & MASK)
                acc = acc + ((a[j - 1].astype(u64) * bi) >> 32) + ((m * PL[j - 1]) >> 32) if j > 0 else acc
            else:
                acc = acc + ((a[L - 1].astype(u64) * bi) >> 32) + ((m * PL[L - 1]) >> 32)
            out.append(acc)
        # out[j] is the new position j-1 (shift down by one limb); out[0] is the carry out of position 0
        new = [out[1] + out[0]] + out[2:] + [jnp.zeros_like(bi)]
        return jnp.stack(new)
    t = lax.fori_loop(0, L, row, jnp.zeros((L + 1,) + a.shape[1:], u64))
    norm = []; c = jnp.zeros_like(t[0])
    for k in range(L + 1):
        s = t[k] + c; norm.append(s & MASK); c = s >> 32
    return final_sub(norm)


def lazy_rows_u32a(a, b, block_hoist=True):
    """lazy_rows, but `a` is re-derived inside the loop from a value XLA cannot prove constant
    (the top accumulator limb shifted right by 48 bits, always 0), so the uint32->uint64 widening
    stays inside each fusion: loads are 4 bytes and LLVM sees zero high halves (vpmuludq)."""
    def row(i, t):
        zero = (t[L] >> 48).astype(u32) if block_hoist else jnp.zeros_like(a[0])
        aw = [(a[j] ^ zero).astype(u64) for j in range(L)]
        bi = (lax.dynamic_index_in_dim(b, i, keepdims=False) ^ zero).astype(u64)
        t0 = t[0] + ((aw[0] * bi) & MASK)
        m = (t0.astype(u32) * NP32).astype(u64)
        new = []
        carry0 = (t0 + ((m * PL[0]) & MASK)) >> 32
        for j in range(1, L + 1):
            acc = t[j] + ((aw[j - 1] * bi) >> 32) + ((m * PL[j - 1]) >> 32)
            if j < L:
                acc = acc + ((aw[j] * bi) & MASK) + ((m * PL[j]) & MASK)
            if j == 1:
                acc = acc + carry0
            new.append(acc)
        new.append(jnp.zeros_like(t0))
        return jnp.stack(new)
    t = lax.fori_loop(0, L, row, jnp.zeros((L + 1,) + a.shape[1:], u64))
    norm = []; c = jnp.zeros_like(t[0])
    for k in range(L + 1):
        s = t[k] + c; norm.append(s & MASK); c = s >> 32
    return final_sub(norm)


def lazy_vector(a, b, unroll):
    """Whole-array ops over the limb axis with lazily propagated carries."""
    a64 = a.astype(u64); b64 = b.astype(u64)
    pl = jnp.asarray(PL).reshape((L,) + (1,) * (a.ndim - 1))
    zero_row = jnp.zeros((1,) + a.shape[1:], u64)
    def row(i, t):  # t: (L+1, n) u64 lazy accumulators
        p = a64 * b64[i]
        t = t + jnp.concatenate([p & MASK, zero_row]) + jnp.concatenate([zero_row, p >> 32])
        m = (t[0] * NP) & MASK
        q = m * pl
        t = t + jnp.concatenate([q & MASK, zero_row]) + jnp.concatenate([zero_row, q >> 32])
        t1 = t[1] + (t[0] >> 32)
        return jnp.concatenate([t1[None], t[2:], zero_row])
    t = jnp.zeros((L + 1,) + a.shape[1:], u64)
    if unroll:
        for i in range(L):
            t = row(i, t)
    else:
        t = lax.fori_loop(0, L, row, t)
    out = []; c = jnp.zeros_like(t[0])
    for i in range(L + 1):
        s = t[i] + c; out.append(s & MASK); c = s >> 32
    return final_sub(out)


def chunked(f, chunk):
    def g(a, b):
        n = a.shape[1]
        if n <= chunk:
            return f(a, b)
        k = n // chunk
        ar = a.reshape(L, k, chunk).transpose(1, 0, 2); br = b.reshape(L, k, chunk).transpose(1, 0, 2)
        return lax.map(lambda ab: f(*ab), (ar, br)).transpose(1, 0, 2).reshape(L, n)
    return g


def blocked(f, chunk):
    """f over (L, n) arrays in blocks of `chunk` elements: a fori_loop of dynamic slices (no transposes)."""
    def g(a, b):
        n = a.shape[1]
        if n <= chunk:
            return f(a, b)
        def body(i, out):
            s = i * chunk
            r = f(lax.dynamic_slice_in_dim(a, s, chunk, 1), lax.dynamic_slice_in_dim(b, s, chunk, 1))
            return lax.dynamic_update_slice_in_dim(out, r, s, 1)
        return lax.fori_loop(0, n // chunk, body, jnp.zeros_like(a))
    return g


def to_limbs(xs):
    return np.array([[(x >> (32 * i)) & 0xFFFFFFFF for x in xs] for i in range(L)], np.uint32)


def from_limbs(arr):
    arr = np.asarray(arr)
    return [sum(int(arr[i, k]) << (32 * i) for i in range(L)) for k in range(arr.shape[1])]


def main():
    logn = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    n = 2 ** logn
    rng = np.random.default_rng(1)
    xs = [int.from_bytes(rng.bytes(32), "little") % P for _ in range(256)]
    ys = [int.from_bytes(rng.bytes(32), "little") % P for _ in range(256)]
    a_small, b_small = to_limbs(xs), to_limbs(ys)
    a = jnp.asarray(np.tile(a_small, (1, n // 256))); b = jnp.asarray(np.tile(b_small, (1, n // 256)))
    expect = [(x * y * RINV) % P for x, y in zip(xs, ys)]
    variants = {
        "lazy_rows": lazy_rows,
        "lazy_rows_nofence": lambda a, b: lazy_rows(a, b, False),
        "lazy_rows_chunk8k": chunked(lazy_rows, 8192),
        "lazy_rows_chunk32k": chunked(lazy_rows, 32768),
        "cios_fori32m": cios_fori32m,
        "cios_fori32m_chunk8k": chunked(cios_fori32m, 8192),
        "barrier1_chunk8k": chunked(lambda a, b: cios_barrier(a, b, 1), 8192),
        "barrier2_chunk8k": chunked(lambda a, b: cios_barrier(a, b, 2), 8192),
        "barrier4_chunk8k": chunked(lambda a, b: cios_barrier(a, b, 4), 8192),
        "barrier1_chunk2k": chunked(lambda a, b: cios_barrier(a, b, 1), 2048),
        "cios_fori32": cios_fori32,
        "cios_fori32_chunk8k": chunked(cios_fori32, 8192),
        "cios_fori32_chunk2k": chunked(cios_fori32, 2048),
        "cios_fori": cios_fori,
        "cios_fori_chunk8k": chunked(cios_fori, 32768),
        "cios_unrolled_chunk8k": chunked(cios_unrolled, 8192),
        "cios_unrolled": cios_unrolled,
        "lazy_vector_fori": lambda a, b: lazy_vector(a, b, False),
        "lazy_vector_fori_chunk8k": chunked(lambda a, b: lazy_vector(a, b, False), 8192),
        "lazy_vector_unrolled_chunk8k": chunked(lambda a, b: lazy_vector(a, b, True), 8192),
    }
    only = sys.argv[2].split(",") if len(sys.argv) > 2 else list(variants)
    for name in only:
        f = jax.jit(variants[name])
        t0 = time.perf_counter(); out = f(a, b).block_until_ready(); tc = time.perf_counter() - t0
        ok = from_limbs(np.asarray(out)[:, :256]) == expect
        ts = []
        for _ in range(3):
            t0 = time.perf_counter(); f(a, b).block_until_ready(); ts.append(time.perf_counter() - t0)
        t = sorted(ts)[1]
        print(f"{name:32s} ok={ok} first={tc:.2f}s  {t*1e3:.1f} ms  {n/t/1e6:.2f} M mul/s", flush=True)


if __name__ == "__main__":
    with x64_scope():
        main()
