"""The GLV endomorphism of a = 0 curves with a cube root of unity (secp256k1): phi(x, y) = (beta x, y)
= [lambda] (x, y), and the split of a scalar k into two halves of about half the bits.

Gallant, Lambert and Vanstone ("Faster point multiplication on elliptic curves with efficient
endomorphisms", 2001): k = k1 + k2 lambda (mod n) with |k1|, |k2| about sqrt(n), so [k] P =
[k1] P + [k2] phi(P) needs half the doublings. The short lattice basis comes from the extended
Euclidean algorithm on (n, lambda) (Guide to Elliptic Curve Cryptography, Alg. 3.74); `split`
rounds exactly with Python ints. Host-side only; the kernels take the halves as digits.
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Endomorphism:
    """beta: a cube root of unity mod p; lam: the matching one mod n (phi(P) = [lam] P); order: n."""

    beta: int
    lam: int
    order: int

    @property
    def basis(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Two short vectors (a, b) with a + b lam = 0 (mod n)."""
        n, root = self.order, math.isqrt(self.order)
        r0, r1, t0, t1 = n, self.lam, 0, 1
        while r1 >= root:
            q = r0 // r1
            r0, r1, t0, t1 = r1, r0 - q * r1, t1, t0 - q * t1
        q = r0 // r1
        r2, t2 = r0 - q * r1, t0 - q * t1
        v1 = (r1, -t1)
        v2 = (r0, -t0) if r0 * r0 + t0 * t0 <= r2 * r2 + t2 * t2 else (r2, -t2)
        return v1, v2

    def split(self, k: int) -> tuple[int, int]:
        """(k1, k2), signed, with k1 + k2 lam = k (mod n) and |k1|, |k2| < 2^129 on secp256k1."""
        (a1, b1), (a2, b2) = self._basis
        n = self.order
        c1 = (2 * b2 * k + n) // (2 * n)
        c2 = (-2 * b1 * k + n) // (2 * n)
        return k - c1 * a1 - c2 * a2, -c1 * b1 - c2 * b2

    @property
    def _basis(self):
        cached = self.__dict__.get("_basis_cache")
        if cached is None:
            cached = self.basis
            object.__setattr__(self, "_basis_cache", cached)
        return cached
