"""`python -m supervm_jax.bench msm`: MSM on BN254 G1 and BLS12-381 G1 vs py_ecc and arkworks.

ours: `supervm_jax.msm.msm` on a device-resident point array (validated once, outside the timing),
Python-int scalars in, affine point out (host digit recoding and the final conversion are included),
sharded over every visible device. Compile time (first call minus a steady call) is reported
separately; one program serves every n with the same power-of-two share per device.
Peers: py_ecc (sum of `multiply`, no MSM of its own) timed at PY_ECC_N points and scaled linearly
(`peer_n` says so); arkworks via `py-arkworks-bls12381` (`G1Point.multiexp_unchecked`, full n) for
BLS12-381 when installed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import jax.numpy as jnp

from supervm_jax.bench import harness
from supervm_jax.curve import BLS12_381_G1, BN254_G1
from supervm_jax.msm import msm
from supervm_jax.msm.api import window_bits
from supervm_jax.pmap import pow2_bucket
from supervm_jax.pmap import device_mesh

DEFAULT_SIZES = [2**12, 2**14, 2**16]
PY_ECC_N = 16
CURVES = (BN254_G1, BLS12_381_G1)


def _points(curve, n: int, rng: random.Random):
    """n points: 64 random multiples of G tiled (MSM cost does not depend on repeats)."""
    base = curve.scalar_mul(curve.generator_points(64), [rng.randrange(1, curve.order) for _ in range(64)])
    return jnp.tile(base, (1, 1, -(-n // 64)))[..., :n]


def _py_ecc_peer(curve, rng: random.Random):
    from py_ecc import optimized_bls12_381 as bls
    from py_ecc import optimized_bn128 as bn

    m = bn if curve is BN254_G1 else bls
    pts = [m.multiply(m.G1, rng.randrange(1, curve.order)) for _ in range(PY_ECC_N)]
    ks = [rng.randrange(curve.order) for _ in range(PY_ECC_N)]

    def run():
        acc = m.Z1
        for p, k in zip(pts, ks):
            acc = m.add(acc, m.multiply(p, k))
        return m.normalize(acc)

    return run


def _arkworks_peer(n: int, rng: random.Random):
    try:
        import py_arkworks_bls12381 as ark
    except ImportError:
        harness.log("py-arkworks-bls12381 not installed (pip install py-arkworks-bls12381); skipping that peer")
        return None
    g = ark.G1Point()
    p = g * ark.Scalar(rng.randrange(1, 2**64))
    pts = []
    for _ in range(n):
        pts.append(p)
        p = p + g
    ks = [ark.Scalar.from_le_bytes_mod_order(rng.randrange(BLS12_381_G1.order).to_bytes(32, "little")) for _ in range(n)]
    return lambda: ark.G1Point.multiexp_unchecked(pts, ks)


def run(sizes: list[int]) -> Iterator[harness.Record]:
    mesh = device_mesh()
    for curve in CURVES:
        rng = random.Random(curve.name)
        py_ecc_s = harness.median_time(_py_ecc_peer(curve, rng), repeats=1, warmup=False, device=False)
        for n in sizes:
            P = _points(curve, n, rng)
            ks = [rng.randrange(curve.order) for _ in range(n)]
            compile_s, ours_s = harness.compile_and_median(lambda: msm(P, ks, curve=curve, mesh=mesh))
            c = window_bits(pow2_bucket(-(-n // mesh.size), 8), curve.scalar_bits)
            harness.log(f"{curve.name} msm n={n}: {ours_s:.3f} s ({n / ours_s:.0f} points/s, window {c}, compile {compile_s:.1f} s)")
            extra = {"ours_points_per_s": n / ours_s, "window": c}
            yield harness.Record("msm", curve.name, n, ours_s, "py_ecc", py_ecc_s * n / PY_ECC_N, compile_s,
                                 extra={**extra, "peer_n": PY_ECC_N})
            if curve is BLS12_381_G1:
                ark = _arkworks_peer(n, rng)
                if ark is not None:
                    ark_s = harness.median_time(ark, device=False)
                    yield harness.Record("msm", curve.name, n, ours_s, "arkworks", ark_s, compile_s,
                                         extra={**extra, "peer_n": n})
