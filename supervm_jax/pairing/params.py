"""Parameters of the optimal ate pairing on BN254 and BLS12-381 (host constants only).

  - BN254 (EIP-197, py_ecc's `bn128`): u = 4965661367192848881, Miller loop over 6u + 2 in
    non-adjacent form, then the lines through pi(Q) and -pi^2(Q); D-type sextic twist
    E': y^2 = x^3 + 3/xi, xi = 9 + u, untwisting (x, y) -> (x w^2, y w^3).
  - BLS12-381: u = -0xd201000000010000, Miller loop over |u| with no final conjugation (py_ecc's
    choice, so `pairing` equals py_ecc's value; the conjugate would be the inverse); M-type twist
    E': y^2 = x^3 + 4 xi, xi = 1 + u, untwisting (x, y) -> (x w^-2, y w^-3).

`loop_digits` are the signed digits of the loop scalar, most significant first, without the
leading 1 (the loop starts from T = Q).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from supervm_jax.curve import BLS12_381_G1, BLS12_381_G2, BN254_G1, BN254_G2
from supervm_jax.curve.weierstrass import ShortWeierstrass
from supervm_jax.pairing.tower import Tower, tower


def naf(k: int) -> list[int]:
    """Non-adjacent form of k > 0, most significant digit first (digits in {-1, 0, 1})."""
    digits = []
    while k:
        if k & 1:
            d = 2 - (k & 3)
            k -= d
        else:
            d = 0
        digits.append(d)
        k >>= 1
    return digits[::-1]


@dataclasses.dataclass(frozen=True, eq=False)
class PairingParams:
    """One pairing-friendly curve for the kernels.

    name: "bn254" | "bls12_381"; u: the curve's seed (signed); twist: "D" | "M"; g1, g2: the groups;
    tower: the Fq12 tower; loop_digits: int8 array (see the module docstring); three_b: 3 b' as Fq2
    limbs (L, 2); frobenius_q: for BN254 the Fq2 constants that map affine twist points to pi(Q)
    and pi^2(Q): limbs (4, L, 2) = [xi^((p-1)/3), xi^((p-1)/2), xi^((p^2-1)/3), xi^((p^2-1)/2)].
    """

    name: str
    u: int
    twist: str
    g1: ShortWeierstrass
    g2: ShortWeierstrass
    tower: Tower
    loop_digits: np.ndarray
    three_b: np.ndarray
    frobenius_q: np.ndarray | None

    @property
    def r(self) -> int:
        return self.g1.order

    @property
    def p(self) -> int:
        return self.tower.p


@functools.lru_cache(maxsize=None)
def pairing_params(name: str) -> PairingParams:
    """"bn254" or "bls12_381"."""
    T = tower(name)
    if name == "bn254":
        u, twist, g1, g2 = 4965661367192848881, "D", BN254_G1, BN254_G2
        loop = naf(6 * u + 2)
    elif name == "bls12_381":
        u, twist, g1, g2 = -0xD201000000010000, "M", BLS12_381_G1, BLS12_381_G2
        loop = naf(-u)
    else:
        raise ValueError(f"no pairing parameters for {name!r}")
    from py_ecc.fields import bls12_381_FQ2, bn128_FQ2

    FQ2 = bn128_FQ2 if name == "bn254" else bls12_381_FQ2
    b = FQ2(list(g2.b))
    three_b = T.fq2_constant(tuple(int(c) for c in (b * 3).coeffs))
    frob = None
    if name == "bn254":
        xi, p = FQ2([9, 1]), T.p
        consts = [xi ** ((p - 1) // 3), xi ** ((p - 1) // 2), xi ** ((p * p - 1) // 3), xi ** ((p * p - 1) // 2)]
        frob = np.stack([T.fq2_constant(tuple(int(c) for c in x.coeffs)) for x in consts])
    return PairingParams(name, u, twist, g1, g2, T, np.asarray(loop[1:], np.int8), three_b, frob)
