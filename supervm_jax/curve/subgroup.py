"""Fast prime-order subgroup tests by endomorphisms, instead of multiplying by the 255-bit order r.

  - BN254 G2 (El Housni, Guillevic and Piellard, eprint 2022/348; seed u = 4965661367192848881,
    u != 4 mod 13 and u != 92 mod 97 as the theorem needs): Q is in G2 iff
        [u + 1] Q + psi([u] Q) + psi^2([u] Q) == psi^3([2u] Q).
  - BLS12-381 G2 (Scott, eprint 2021/1130, sec. 4; EIP-2537): Q in G2 iff psi(Q) == [u] Q
    (u = -0xd201000000010000; EIP-2537 writes it for -psi).
  - BLS12-381 G1 (same sources): P in G1 iff phi(P) + [u^2] P == O with phi(x, y) = (beta x, y)
    for the cube root of unity beta that makes phi = [-u^2] on G1 (the square of EIP-2537's).
psi is the untwist-Frobenius-twist endomorphism psi(x, y) = (conj(x) c_x, conj(y) c_y) with
c_x = xi^((p-1)/3), c_y = xi^((p-1)/2) on a D-type twist (BN254) and their inverses on an M-type
twist (BLS12-381); on projective points it also conjugates Z. The scalars are 64 and 128 bits, so
each test costs a quarter (BLS12-381 G2), a quarter (BN254 G2) or a half (BLS12-381 G1) of the
multiplication by r. Tests: tests/curve/test_subgroup.py checks every test against the
multiplication by r on subgroup points and on points outside the subgroup.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from supervm_jax.curve.group import int_bits, scalar_mul_bits


@dataclasses.dataclass(frozen=True, eq=False)
class SubgroupTest:
    """kind: "bn_g2" | "bls12_g2" | "bls12_g1"; u: the curve seed (signed);
    consts: Montgomery limbs of (c_x, c_y) for psi (Fq2, each (L, 2)) or (beta,) for phi (L,)."""

    kind: str
    u: int
    consts: tuple

    def __call__(self, curve, P: jax.Array) -> jax.Array:
        """Boolean (batch): P (on the curve) is in the order-r subgroup."""
        F = curve.coords
        if self.kind == "bls12_g1":
            (beta,) = self.consts
            phi = jnp.stack([F.mul_many([(P[0], _bcast(beta, P[0]))])[0], P[1], P[2]])
            k2P = scalar_mul_bits(curve, P, _bits(self.u * self.u))
            return curve.kernel("is_identity")(curve.kernel("add")(phi, k2P))
        uP = scalar_mul_bits(curve, P, _bits(abs(self.u)))
        if self.kind == "bls12_g2":  # psi(Q) == [u] Q, u < 0
            return curve.kernel("eq")(self._psi(curve, P), curve.kernel("neg")(uP) if self.u < 0 else uP)
        psi1 = self._psi(curve, uP)
        psi2 = self._psi(curve, psi1)
        lhs = curve.kernel("add")(curve.kernel("add")(uP, P), curve.kernel("add")(psi1, psi2))
        rhs = self._psi(curve, self._psi(curve, self._psi(curve, curve.kernel("double")(uP))))
        return curve.kernel("eq")(lhs, rhs)

    def _psi(self, curve, P):
        F = curve.coords
        cx, cy = self.consts
        conj = [jnp.stack([c[:, 0], F.neg(c[:, 1])], axis=1) for c in (P[0], P[1], P[2])]
        x, y = F.mul_many([(conj[0], _bcast(cx, conj[0])), (conj[1], _bcast(cy, conj[1]))])
        return jnp.stack([x, y, conj[2]])


def _bcast(const, like):
    return jnp.broadcast_to(jnp.asarray(const).reshape(const.shape + (1,) * (like.ndim - const.ndim)), like.shape)


def _bits(k: int) -> jax.Array:
    return jnp.asarray(int_bits(k, k.bit_length()))[:, None]


def psi_test(coords, kind: str, u: int, twist: str) -> SubgroupTest:
    """The G2 test for a twist over `coords` (ExtCoords, u^2 = -1, xi = xi0 + u)."""
    host = coords.host_ops()
    p = coords.modulus
    xi = (9, 1) if kind == "bn_g2" else (1, 1)
    cx, cy = host.pow(xi, (p - 1) // 3), host.pow(xi, (p - 1) // 2)
    if twist == "M":
        cx, cy = host.pow(cx, p * p - 2), host.pow(cy, p * p - 2)  # inverses (the group has order p^2 - 1)
    return SubgroupTest(kind, u, (coords.constant(cx), coords.constant(cy)))


def phi_test(coords, u: int, beta: int) -> SubgroupTest:
    """The BLS12 G1 test with phi(x, y) = (beta x, y)."""
    return SubgroupTest("bls12_g1", u, (coords.constant(beta),))
