"""`python -m supervm_jax.bench ntt`: forward NTT vs an iterative radix-2 NTT over gmpy2 integers.

The peer is the fastest NTT reachable from Python on this machine that we found: no maintained
PyPI package ships a native NTT over the BN254/BLS12-381 scalar fields (galois works on Python-int
object arrays for primes this large), so the peer is a textbook in-place Cooley-Tukey loop over
gmpy2 mpz values (GMP arithmetic, Python control flow), timed at min(n, PEER_N) and scaled by
n log n. ours: `ntt` on one device; with several devices also `ntt_sharded` (case *.ntt_sharded).
"""

from __future__ import annotations

from collections.abc import Iterator

import jax

from supervm_jax.bench import harness
from supervm_jax.field import BLS12_381_FR, BN254_FR, PrimeField
from supervm_jax.ntt import ntt, ntt_sharded, root_of_unity
from supervm_jax.ntt.radix2 import bit_reverse_permutation

DEFAULT_SIZES = [2**12, 2**16, 2**20]
PEER_N = 2**12


def gmpy2_ntt(values: list, root: int, p: int) -> list:
    """Iterative radix-2 Cooley-Tukey NTT (bit-reversed input order, natural output)."""
    import gmpy2

    n = len(values)
    gp = gmpy2.mpz(p)
    a = [gmpy2.mpz(values[i]) for i in bit_reverse_permutation(n)]
    length = 2
    while length <= n:
        w_len = gmpy2.powmod(root, n // length, gp)
        half = length // 2
        ws = [gmpy2.mpz(1)]
        for _ in range(half - 1):
            ws.append(ws[-1] * w_len % gp)
        for start in range(0, n, length):
            for j in range(half):
                u = a[start + j]
                v = a[start + j + half] * ws[j] % gp
                a[start + j] = (u + v) % gp
                a[start + j + half] = (u - v) % gp
        length *= 2
    return a


def _scale(n_peer: int, n: int) -> float:
    lg = lambda m: max(m.bit_length() - 1, 1)  # noqa: E731
    return (n * lg(n)) / (n_peer * lg(n_peer))


def run(sizes: list[int]) -> Iterator[harness.Record]:
    fields: tuple[PrimeField, ...] = (BN254_FR, BLS12_381_FR)
    for n in sizes:
        for field in fields:
            x = field.random(jax.random.key(n), n)
            compile_s, ours_s = harness.compile_and_median(lambda: ntt(field, x))
            harness.log(f"{field.name}.ntt n={n}: {ours_s * 1e3:.1f} ms (compile {compile_s:.2f} s)")
            peer_s = None
            n_peer = min(n, PEER_N)
            try:
                xs = field.to_ints(x[:, :n_peer])
                root = root_of_unity(field, n_peer)
                peer_s = harness.median_time(lambda: gmpy2_ntt(xs, root, field.modulus), repeats=3, warmup=False, device=False)
                peer_s *= _scale(n_peer, n)
            except ImportError:
                harness.log("gmpy2 not installed (pip install '.[bench]'); no peer")
            extra = {"peer_n": n_peer}
            yield harness.Record("ntt", f"{field.name}.ntt", n, ours_s, "gmpy2" if peer_s else None, peer_s, compile_s, extra=extra)
            if jax.device_count() > 1:
                c_s, sh_s = harness.compile_and_median(lambda: ntt_sharded(field, x))
                harness.log(f"{field.name}.ntt_sharded n={n}: {sh_s * 1e3:.1f} ms on {jax.device_count()} devices")
                yield harness.Record("ntt", f"{field.name}.ntt_sharded", n, sh_s, "gmpy2" if peer_s else None, peer_s, c_s, extra=extra)
