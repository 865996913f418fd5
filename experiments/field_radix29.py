"""Experiment: BN254 Montgomery multiply with 29-bit limbs (9 x uint32), full 58-bit products
accumulated without hi/lo splitting, vs the 32-bit carry-save rows (experiments/field_formulations.py).
Run from the repository root: python -m experiments.field_radix29"""
import time, numpy as np, jax, jax.numpy as jnp
from jax import lax

from experiments import field_formulations as ff
from supervm_jax.pmap import x64_scope

u32, u64 = jnp.uint32, jnp.uint64
P = ff.P
W = 29; L9 = 9; M29 = np.uint64((1 << W) - 1)
PL9 = [np.uint64((P >> (W * i)) & ((1 << W) - 1)) for i in range(L9)]
NP29 = np.uint64((-pow(P, -1, 2**W)) % 2**W)
R29 = 2 ** (W * L9)

def to29(xs): return np.array([[(x >> (W * i)) & ((1 << W) - 1) for x in xs] for i in range(L9)], np.uint32)
def from29(arr): arr = np.asarray(arr); return [sum(int(arr[i, k]) << (W * i) for i in range(L9)) for k in range(arr.shape[1])]

def rows29(a, b):
    def row(i, t):
        bi = lax.dynamic_index_in_dim(b, i, keepdims=False).astype(u64)
        t0 = t[0] + a[0].astype(u64) * bi
        m = ((t0 & M29) * NP29) & M29
        new = []
        for j in range(1, L9):
            acc = t[j] + a[j].astype(u64) * bi + m * PL9[j]
            if j == 1:
                acc = acc + ((t0 + m * PL9[0]) >> W)
            new.append(acc)
        new.append(jnp.zeros_like(t0))
        return jnp.stack(new)
    t = lax.fori_loop(0, L9, row, jnp.zeros((L9,) + a.shape[1:], u64))
    # normalize to 29-bit limbs, then conditional subtract p
    limbs = []; c = jnp.zeros_like(t[0])
    for k in range(L9):
        s = t[k] + c; limbs.append(s & M29); c = s >> W
    borrow = jnp.zeros_like(c); diff = []
    for k in range(L9):
        x = limbs[k] - PL9[k] - borrow
        diff.append(x & M29); borrow = x >> 63
    keep = ((c - borrow) >> 63) == 1
    return jnp.stack([jnp.where(keep, limbs[k], diff[k]).astype(u32) for k in range(L9)])


def main():
    n = 2**20
    rng = np.random.default_rng(1)
    xs = [int.from_bytes(rng.bytes(32), "little") % P for _ in range(256)]
    ys = [int.from_bytes(rng.bytes(32), "little") % P for _ in range(256)]
    a29 = jnp.asarray(np.tile(to29(xs), (1, n // 256))); b29 = jnp.asarray(np.tile(to29(ys), (1, n // 256)))
    a32 = jnp.asarray(np.tile(ff.to_limbs(xs), (1, n // 256))); b32 = jnp.asarray(np.tile(ff.to_limbs(ys), (1, n // 256)))
    exp29 = [x * y * pow(R29, -1, P) % P for x, y in zip(xs, ys)]
    variants = [("r29_blk2k", ff.blocked(rows29, 2048), a29, b29, lambda o: from29(o) == exp29),
                ("r29_blk4k", ff.blocked(rows29, 4096), a29, b29, lambda o: from29(o) == exp29),
                ("lazy32_blk2k", ff.blocked(ff.lazy_rows, 2048), a32, b32, lambda o: True)]
    for rep in range(2):
        for name, f, a, b, check in variants:
            f = jax.jit(f); out = f(a, b).block_until_ready()
            ok = check(np.asarray(out)[:, :256])
            ts = []
            for _ in range(5):
                t = time.perf_counter(); f(a, b).block_until_ready(); ts.append(time.perf_counter() - t)
            print(f"{name:14s} ok={ok} {n / sorted(ts)[2] / 1e6:.2f} M/s", flush=True)


if __name__ == "__main__":
    with x64_scope():
        main()
