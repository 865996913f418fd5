"""The bucket (Pippenger) method as two device loops, each with a single point-addition call site.

On the CPU backend `window_sums` hands the whole bucket accumulation to the C++ kernel of
`supervm_jax.native` (the classic bucket method, same sums); the device loops below are the GPU path
and the reference it is tested against.

Notation: n points P_i, scalars k_i = sum_w d_{i,w} 2^(c w) with signed digits d in [-2^(c-1), 2^(c-1)]
(W windows of c bits), M = 2^(c-1) buckets per window. For one window the bucket method computes

    S_w = sum_i d_{i,w} P_i = sum_{b=1..M} b B_b = sum_{t=1..M} (sum of the points with |d| >= t).

**Data-parallel bucket accumulation by sorting.** Sort the window's points by |d| descending (a
negative digit contributes -P). Then "points with |d| >= t" is a prefix of the sorted list, so
S_w = sum_t Q(cnt_t) with Q(k) the k-th prefix sum and cnt_t = #{i : |d_i| >= t}. One dummy identity
point per bucket value 1..M is appended, so every value occurs and the M prefixes summed are at
distinct positions ("boundaries"). The prefix sums are taken in C independent chunks of R rows
(a scan over rows, vectorized over chunks and windows); local prefixes L are exact within a chunk,
and the chunk offsets are folded back with small scalars: sum_t Q(cnt_t) = sum_t L(pos_t) +
sum_c G_c T_c, where T_c is chunk c's total and G_c = |d| of the first sorted point after chunk c
(the number of boundaries beyond chunk c, at most M, so c bits).

**One loop, one addition.** `window_sums` runs, in one `fori_loop` whose body makes exactly one
complete point addition over K * C lanes (K = windows x batch instances):
  phase 1 (R steps)       prefix scan: acc += row r of the sorted points; row r is overwritten by acc;
  phase 2 (2c steps)      acc = sum_c G_c T_c by double-and-add on all lanes (T_c = last row);
  phase 3 (M / C steps)   acc += the local prefixes at the boundaries (gathered from the rows);
  phase 4 (log2 C steps)  tree-sum the C lanes of each window into its first lane.
Only the operand selection differs between phases (gathers and selects, cheap to compile); the
point addition is compiled once. Compile time on CPU is dominated by addition call sites
(about 1-4 s each), which is why the algorithm is shaped this way.

`combine` (a second one-addition loop) sums the per-device window sums and runs Horner's rule over
the windows: result = sum_w 2^(c w) S_w (on CPU, for short-Weierstrass curves, the C++ kernel).

Work per window: n + 2M additions (points, dummies, boundaries) plus 2c + log2 C wide steps, against
n + 2M for the classical running-sum reduction; the sort replaces the scatter into buckets.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from supervm_jax import native


def _take_lanes(points: jax.Array, idx: jax.Array) -> jax.Array:
    """points[..., idx] for a point array (3, *E, n) and an integer index array of any shape."""
    return jnp.take(points, idx, axis=-1)


def window_sums(curve, points: jax.Array, digits: jax.Array, *, c: int, chunks: int,
                native_buckets: bool = False) -> jax.Array:
    """Per-window sums S_{b,w} = sum_i d_{b,w,i} P_{b,i} of one device's share.

    points: (3, *E, B, N) projective, Montgomery form, or (3, *E, 1, N): one set of N points shared
    by the B instances (a batch of MSMs over the same bases). digits: (B, W, N) int32 signed window
    digits in [-2^(c-1), 2^(c-1)]. chunks: C, a power of two dividing M = 2^(c-1). native_buckets: compute
    the same sums with the C++ bucket kernel instead (`supervm_jax.native`, CPU only; no sort, no
    device loop). Returns (3, *E, B, W).
    Pure; trace under x64_scope.
    """
    add = curve.kernel("add")
    ident = curve.kernel("identity")
    neg = curve.kernel("neg")
    pshape = points.shape[:-2]
    B, W, N = digits.shape
    Bp = points.shape[-2]  # B, or 1 when the instances share their points
    if native_buckets:
        point_major = jnp.moveaxis(points.reshape(pshape + (Bp * N,)), -1, 0)  # (Bp N, 3, *E)
        return native.bucket_sums(curve, point_major, digits, c=c).reshape(pshape + (B, W))
    K, M, C = B * W, 1 << (c - 1), chunks
    n_ext = -(-(N + M) // C) * C
    R = n_ext // C
    lanes = K * C

    # Extended point table: [P (Bp*N), -P (Bp*N), identity].
    flat = points.reshape(pshape + (Bp * N,))
    table = jnp.concatenate([flat, neg(flat), ident((1,))], axis=-1)
    mags = jnp.abs(digits).reshape(K, N)
    first = jnp.arange(B, dtype=jnp.int32) * N if Bp == B else jnp.zeros(B, jnp.int32)  # instance b's first point
    base = first[:, None, None] + jnp.arange(N, dtype=jnp.int32)
    idx = (base + (digits < 0).astype(jnp.int32) * (Bp * N)).reshape(K, N)
    pad = n_ext - N - M
    dummy_mags = jnp.concatenate([jnp.arange(M, 0, -1, dtype=jnp.int32), jnp.zeros(pad, jnp.int32)])
    mags = jnp.concatenate([mags, jnp.broadcast_to(dummy_mags, (K, M + pad))], axis=1)
    idx = jnp.concatenate([idx, jnp.full((K, M + pad), 2 * Bp * N, jnp.int32)], axis=1)

    order = jnp.argsort(-mags, axis=1, stable=True)
    sorted_mags = jnp.take_along_axis(mags, order, axis=1)  # (K, n_ext), descending
    sorted_idx = jnp.take_along_axis(idx, order, axis=1)
    # rows[r, ..., k*C + c] = sorted point c*R + r of window k
    lane_idx = sorted_idx.reshape(K, C, R).transpose(2, 0, 1).reshape(R, lanes)
    rows = jnp.moveaxis(_take_lanes(table, lane_idx), -2, 0)  # (R, 3, *E, lanes)

    # Chunk-offset multipliers G and their bits (MSB first), c bits each (G <= M = 2^(c-1)).
    nxt = jnp.concatenate([sorted_mags[:, R::R], jnp.zeros((K, 1), jnp.int32)], axis=1)[:, :C]
    g = nxt.reshape(lanes)
    g_bits = (g[None, :] >> jnp.arange(c - 1, -1, -1, dtype=jnp.int32)[:, None]) & 1  # (c, lanes)

    # Boundaries: pos_t = cnt_t - 1, cnt_t = #{|d| >= t}, t = 1..M; t = 1 + s*C + j goes to lane k*C + j.
    t = jnp.arange(1, M + 1, dtype=jnp.int32)
    cnt = jax.vmap(lambda row: jnp.searchsorted(-row, -t, side="right"))(sorted_mags)  # (K, M)
    pos = cnt - 1
    steps3 = M // C
    b_row = (pos % R).reshape(K, steps3, C).transpose(1, 0, 2).reshape(steps3, lanes)
    b_lane = ((pos // R) + (jnp.arange(K, dtype=jnp.int32) * C)[:, None]).reshape(K, steps3, C)
    b_lane = b_lane.transpose(1, 0, 2).reshape(steps3, lanes)

    n_tree = C.bit_length() - 1
    e1, e2, e3 = R, R + 2 * c, R + 2 * c + steps3
    total = e3 + n_tree
    identity_lanes = ident((lanes,))
    lane_ids = jnp.arange(lanes, dtype=jnp.int32)

    def operands(i, rows, acc):
        def prefix():
            return acc, lax.dynamic_index_in_dim(rows, i, keepdims=False)

        def offsets():
            j = i - e1
            a = jnp.where(j == 0, identity_lanes, acc)
            bit = lax.dynamic_index_in_dim(g_bits, j // 2, keepdims=False) == 1
            addend = curve.kernel("select")(bit, rows[R - 1], identity_lanes)
            return a, jnp.where(j % 2 == 1, addend, a)

        def boundaries():
            s = i - e2
            r = lax.dynamic_index_in_dim(b_row, s, keepdims=False)
            ln = lax.dynamic_index_in_dim(b_lane, s, keepdims=False)
            return acc, jnp.moveaxis(rows[r, ..., ln], 0, -1)

        def tree():
            shift = C >> (i - e3 + 1)
            return acc, _take_lanes(acc, (lane_ids + shift) % lanes)

        phase = (i >= e1).astype(jnp.int32) + (i >= e2) + (i >= e3)
        return lax.switch(phase, [prefix, offsets, boundaries, tree])

    def step(i, state):
        rows, acc = state
        a, b = operands(i, rows, acc)
        out = add(a, b)
        r = jnp.minimum(i, R - 1)
        keep = lax.dynamic_index_in_dim(rows, r, keepdims=False)
        rows = lax.dynamic_update_index_in_dim(rows, jnp.where(i < e1, out, keep), r, 0)
        return rows, out

    _, acc = lax.fori_loop(0, total, step, (rows, identity_lanes))
    return acc[..., ::C].reshape(pshape + (B, W))


def combine(curve, sums: jax.Array, *, c: int, native_combine: bool = False) -> jax.Array:
    """sum_w 2^(c w) (sum_d sums[:, ..., d, b, w]) for each instance b: (3, *E, D, B, W) -> (3, *E, B).

    One loop with one addition over B * W lanes: D steps add the device partials lane-wise, then
    W (c + 1) Horner steps (c doublings, then the next window) on a running total replicated over
    each instance's W lanes. That loop is latency-bound on CPU for small batches (W (c + 1) steps
    over few lanes); native_combine: the same sums by the C++ kernel (`native.msm_combine`,
    short-Weierstrass curves on the CPU backend only)."""
    if native_combine:
        return native.msm_combine(curve, sums, c=c)
    add = curve.kernel("add")
    pshape = sums.shape[:-3]
    D, B, W = sums.shape[-3:]
    lanes = B * W
    parts = sums.reshape(pshape + (D, lanes))
    ident = curve.kernel("identity")((lanes,))

    def step(i, state):
        x, y = state
        in_sum = i < D
        d = jnp.minimum(i, D - 1)
        j = jnp.maximum(i - D, 0)
        w = W - 1 - j // (c + 1)
        doubling = j % (c + 1) < c
        xw = lax.dynamic_index_in_dim(x.reshape(pshape + (B, W)), w, axis=-1, keepdims=True)
        xw = jnp.broadcast_to(xw, pshape + (B, W)).reshape(pshape + (lanes,))
        a = jnp.where(in_sum, x, y)
        b = jnp.where(in_sum, lax.dynamic_index_in_dim(parts, d, axis=-2, keepdims=False),
                      jnp.where(doubling, y, xw))
        out = add(a, b)
        return jnp.where(in_sum, out, x), jnp.where(in_sum, y, out)

    _, y = lax.fori_loop(0, D + W * (c + 1), step, (ident, ident))
    return y[..., ::W]
