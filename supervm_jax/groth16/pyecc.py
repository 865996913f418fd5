"""Host-side group and pairing operations through py_ecc, on affine int points.

Used for the O(1) tail of the prover (adding the blinding terms to the MSM results: a few scalar
multiplications per proof) and by the verifier, whose pairing is deliberately independent of this
library's device kernels. Points are the library's affine convention: (x, y) ints on G1,
((x0, x1), (y0, y1)) on G2, None for infinity.
"""

from __future__ import annotations

import functools
import importlib

from supervm_jax.groth16.curves import PairingCurve


class HostGroups:
    """G1/G2 arithmetic and the pairing of one curve, through the curve's optimized py_ecc module."""

    def __init__(self, curve: PairingCurve):
        self.curve = curve
        self.m = importlib.import_module(curve.py_ecc_module)

    # conversions
    def g1(self, p):
        m = self.m
        return m.Z1 if p is None else (m.FQ(p[0]), m.FQ(p[1]), m.FQ.one())

    def g2(self, p):
        m = self.m
        return m.Z2 if p is None else (m.FQ2(list(p[0])), m.FQ2(list(p[1])), m.FQ2.one())

    def affine(self, pt):
        """py_ecc projective point -> the library's affine ints (None at infinity)."""
        m = self.m
        if m.is_inf(pt):
            return None
        x, y = m.normalize(pt)
        if isinstance(x, m.FQ):
            return (int(x.n), int(y.n))
        return (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs))

    # group law
    def add(self, a, b):
        return self.m.add(a, b)

    def mul(self, a, k: int):
        return self.m.multiply(a, k % self.curve.r)

    def neg(self, a):
        return self.m.neg(a)

    # checks
    def g1_valid(self, p) -> bool:
        """On the curve (G1 has cofactor 1 on BN254; BLS12-381 G1 also gets the subgroup check)."""
        if p is None:
            return True
        pt = self.g1(p)
        if not self.m.is_on_curve(pt, self.m.b):
            return False
        return self.curve.name == "bn128" or self.m.is_inf(self.m.multiply(pt, self.curve.r))

    def g2_valid(self, p) -> bool:
        """On the twist and in the order-r subgroup."""
        if p is None:
            return True
        pt = self.g2(p)
        return self.m.is_on_curve(pt, self.m.b2) and self.m.is_inf(self.m.multiply(pt, self.curve.r))

    def pairing_product_is_one(self, pairs) -> bool:
        """prod e(P_i, Q_i) == 1 for [(P in G1, Q in G2) as py_ecc points], one final exponentiation."""
        m = self.m
        acc = m.FQ12.one()
        for p, q in pairs:
            if m.is_inf(p) or m.is_inf(q):
                continue
            acc = acc * m.pairing(q, p, final_exponentiate=False)
        return m.final_exponentiate(acc) == m.FQ12.one()


@functools.lru_cache(maxsize=None)
def host_groups(curve: PairingCurve) -> HostGroups:
    return HostGroups(curve)
