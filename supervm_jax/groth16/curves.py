"""The pairing curves a snarkjs file can name, and the conventions snarkjs uses on them.

A snarkjs file identifies its curve by the base-field prime q (and the scalar prime r). Points in a
`.zkey` are affine with coordinates in Montgomery form, R = 2^(8 n8q) (BN254: 2^256, BLS12-381:
2^384), which is exactly this library's limb representation (`field.montgomery`), so raw zkey limbs
are used on device without conversion. The point at infinity is stored as x = y = 0.

Evaluation domains follow snarkjs (ffjavascript), not this library's convention (`ntt.domain`): with
nqr the smallest quadratic non-residue of F_r starting from 2 (5 on both curves) and r - 1 = 2^s t,
the 2^k-th root of unity is nqr^(t 2^(s-k)) (`PairingCurve.snarkjs_root_of_unity`); the coset shift
of the Groth16 quotient is the 2^(k+1)-th root (nqr^2 when k = s; `snarkjs_quotient_shift`). On BN254
these are the library's roots (nqr = g = 5); on BLS12-381 nqr = 5 differs from the multiplicative
generator g = 7, so the prover passes them to the NTTs as `root=`.
"""

from __future__ import annotations

import dataclasses
import functools

from supervm_jax.curve import BLS12_381_G1, BLS12_381_G2, BN254_G1, BN254_G2
from supervm_jax.curve.weierstrass import ShortWeierstrass
from supervm_jax.field import PrimeField
from supervm_jax.groth16.binfile import field_n8


@dataclasses.dataclass(frozen=True, eq=False)
class PairingCurve:
    """One pairing-friendly curve as snarkjs names it ("bn128", "bls12381")."""

    name: str
    g1: ShortWeierstrass
    g2: ShortWeierstrass
    py_ecc_module: str

    @property
    def fr(self) -> PrimeField:
        return self.g1.scalar_field

    @property
    def q(self) -> int:
        return self.g1.coords.modulus

    @property
    def r(self) -> int:
        return self.g1.order

    @property
    def n8q(self) -> int:
        """Bytes per base-field element in snarkjs files (`binfile.field_n8`)."""
        return field_n8(self.q)

    @property
    def n8r(self) -> int:
        """Bytes per scalar-field element in snarkjs files (`binfile.field_n8`)."""
        return field_n8(self.r)

    @functools.cached_property
    def _two_adicity(self) -> tuple[int, int, int]:
        """(nqr, s, t) with r - 1 = 2^s t, t odd, and nqr the smallest non-residue >= 2."""
        r = self.r
        nqr = 2
        while pow(nqr, (r - 1) // 2, r) != r - 1:
            nqr += 1
        s, t = 0, r - 1
        while t % 2 == 0:
            s, t = s + 1, t // 2
        return nqr, s, t

    def snarkjs_root_of_unity(self, n: int) -> int:
        """snarkjs's (ffjavascript's) primitive n-th root of unity in F_r, nqr^((r-1)/n), for n a power
        of two up to 2^s; this library's own convention is `ntt.root_of_unity` (g^((r-1)/n))."""
        nqr, s, t = self._two_adicity
        k = n.bit_length() - 1
        if n < 1 or n & (n - 1) or k > s:
            raise ValueError(f"{self.name}: domain size {n} is not a power of two up to 2^{s}")
        return pow(nqr, t << (s - k), self.r)

    def snarkjs_quotient_shift(self, domain_size: int) -> int:
        """The coset shift snarkjs evaluates A*B - C on: the 2n-th root of unity (nqr^2 at n = 2^s)."""
        nqr, s, _ = self._two_adicity
        if domain_size == 1 << s:
            return nqr * nqr % self.r
        return self.snarkjs_root_of_unity(2 * domain_size)


BN128 = PairingCurve("bn128", BN254_G1, BN254_G2, "py_ecc.optimized_bn128")
BLS12381 = PairingCurve("bls12381", BLS12_381_G1, BLS12_381_G2, "py_ecc.optimized_bls12_381")
CURVES = (BN128, BLS12381)


def curve_from_primes(q: int, r: int | None = None) -> PairingCurve:
    """The curve whose base field is q (and scalar field r, if given); ValueError if unsupported."""
    for curve in CURVES:
        if curve.q == q and (r is None or curve.r == r):
            return curve
    raise ValueError(f"unsupported curve: q = {q:#x}" + (f", r = {r:#x}" if r is not None else "")
                     + f" (supported: {', '.join(c.name for c in CURVES)})")


def curve_from_name(name: str) -> PairingCurve:
    """The curve snarkjs calls `name` ("bn128", "bls12381"; "bn254" is accepted for bn128)."""
    key = {"bn254": "bn128", "bls12_381": "bls12381"}.get(name.lower(), name.lower())
    for curve in CURVES:
        if curve.name == key:
            return curve
    raise ValueError(f"unsupported curve {name!r} (supported: {', '.join(c.name for c in CURVES)})")
