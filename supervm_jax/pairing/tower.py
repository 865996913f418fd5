"""Fq6 = Fq2[v] / (v^3 - xi) and Fq12 = Fq6[w] / (w^2 - v) as JAX kernels, for the pairing target group.

Layout (limb-major, like every field kernel here; uint32 limbs in Montgomery form, canonical):
  - Fq2  element: (L, 2, *batch)        -- axis 1: coefficients c0 + c1 u (u^2 = -1)
  - Fq6  element: (L, 2, 3, *batch)     -- axis 2: i in a0 + a1 v + a2 v^2
  - Fq12 element: (L, 2, 2, 3, *batch)  -- axis 2: j, axis 3: i in sum c_ji v^i w^j  (= c_ji w^(2i+j))
Because the Fq2 kernels act elementwise on every axis after the coefficient axis, one Fq2 multiply
call forms the products of a whole stack of coefficients: an Fq6 product is one call over 6 Fq2
products (Karatsuba), an Fq12 product one Fq6 call over 3 stacked Fq6 products (18 Fq2 products,
54 base-field products). Compile time grows with call sites, not with products, so every formula
here stacks its independent products.

The same w is py_ecc's FQ12 generator (w^6 = xi on both curves), so `to_py_ecc_coeffs` is a fixed
linear map: u = w^6 - xi0.

All kernels are pure and must be traced under `pmap.x64_scope()`.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
from jax import lax

from supervm_jax.field import montgomery as mont
from supervm_jax.field.fq2 import QuadraticExtension


class Tower:
    """The Fq2 -> Fq6 -> Fq12 tower of one pairing curve.

    Attributes: F2 (the QuadraticExtension, u^2 = -1), xi0 (xi = xi0 + u), p (base prime),
    frobenius (k -> Fq12 constant array (L, 2, 2, 3) of xi^((2i+j)(p^k-1)/6)), one12 ((L, 2, 2, 3)).
    """

    def __init__(self, name: str, F2: QuadraticExtension, xi0: int, py_ecc_fq2):
        if F2.beta != F2.modulus - 1:
            raise ValueError(f"{name}: the tower expects u^2 = -1")
        self.name = name
        self.F2 = F2
        self.spec = F2.spec
        self.p = F2.modulus
        self.xi0 = xi0
        self.L = F2.n_limbs
        xi = py_ecc_fq2([xi0, 1])
        self.frobenius = {}
        for k in (1, 2, 3, 6):
            consts = [[xi ** ((2 * i + j) * (self.p**k - 1) // 6) for i in range(3)] for j in range(2)]
            self.frobenius[k] = self.fq12_constant([[tuple(int(c) for c in x.coeffs) for x in row] for row in consts])
        self.one12 = self.fq12_constant([[(1, 0), (0, 0), (0, 0)], [(0, 0)] * 3])

    # -- host constants ---------------------------------------------------------------------------

    def fq2_constant(self, value: tuple[int, int]) -> np.ndarray:
        """Montgomery limbs (L, 2) of c0 + c1 u."""
        return self.F2.constant(value)

    def fq12_constant(self, coeffs) -> np.ndarray:
        """coeffs[j][i] = (c0, c1) -> (L, 2, 2, 3) uint32."""
        return np.stack([np.stack([self.F2.constant(coeffs[j][i]) for i in range(3)], axis=-1) for j in range(2)],
                        axis=-2)

    # -- Fq2 helpers -------------------------------------------------------------------------------

    def add(self, a, b):
        """Coefficient-wise a + b for any tower layout (broadcasting)."""
        return lax.optimization_barrier(mont.add(self.spec, a, b))

    def sub(self, a, b):
        """Coefficient-wise a - b for any tower layout."""
        return lax.optimization_barrier(mont.sub(self.spec, a, b))

    def mul2(self, a, b):
        """Fq2 products, elementwise over every axis after the coefficient axis: one multiply call."""
        return self.F2.kernel("mul")(a, b)

    def mul_base(self, a, k):
        """Fq2 (or deeper) array a times base-field limbs k of shape (L, *rest) broadcast over axis 1."""
        return lax.optimization_barrier(mont.mont_mul(self.spec, a, jnp.expand_dims(k, 1)))

    def conj2(self, a):
        """Fq2 conjugation c0 - c1 u, elementwise."""
        return jnp.stack([a[:, 0], self.sub(jnp.zeros_like(a[:, 1]), a[:, 1])], axis=1)

    def mul_xi(self, a):
        """xi * a for Fq2 arrays a (L, 2, *rest): (xi0 c0 - c1) + (c0 + xi0 c1) u."""
        scaled = a if self.xi0 == 1 else lax.optimization_barrier(
            mont.mont_mul(self.spec, a, mont._bcast(self.spec.constant(self.xi0), a)))
        return jnp.stack([self.sub(scaled[:, 0], a[:, 1]), self.add(scaled[:, 1], a[:, 0])], axis=1)

    # -- Fq6 ---------------------------------------------------------------------------------------

    def mul6(self, a, b):
        """Fq6 product (Karatsuba, 6 Fq2 products in one call); a, b (L, 2, 3, *rest)."""
        a, b = jnp.broadcast_arrays(a, b)
        a0, a1, a2 = a[:, :, 0], a[:, :, 1], a[:, :, 2]
        b0, b1, b2 = b[:, :, 0], b[:, :, 1], b[:, :, 2]
        sums = self.add(jnp.stack([a1, a0, a0, b1, b0, b0], axis=2), jnp.stack([a2, a1, a2, b2, b1, b2], axis=2))
        prod = self.mul2(jnp.concatenate([a, sums[:, :, :3]], axis=2), jnp.concatenate([b, sums[:, :, 3:]], axis=2))
        v0, v1, v2 = prod[:, :, 0], prod[:, :, 1], prod[:, :, 2]
        s = self.sub(self.sub(prod[:, :, 3:], jnp.stack([v1, v0, v0], axis=2)), jnp.stack([v2, v1, v2], axis=2))
        x = self.mul_xi(jnp.stack([s[:, :, 0], v2], axis=2))
        return self.add(jnp.stack([v0, s[:, :, 1], s[:, :, 2]], axis=2), jnp.stack([x[:, :, 0], x[:, :, 1], v1], axis=2))

    def mul_v(self, a):
        """v * a for Fq6 arrays: (xi a2, a0, a1)."""
        return jnp.stack([self.mul_xi(a[:, :, 2]), a[:, :, 0], a[:, :, 1]], axis=2)

    def inv6(self, a):
        """Fq6 inverse (0 maps to 0): adj(a) / N(a) with one Fq2 inversion."""
        a0, a1, a2 = a[:, :, 0], a[:, :, 1], a[:, :, 2]
        sq = self.mul2(jnp.stack([a0, a1, a2, a0, a1, a0], axis=2), jnp.stack([a0, a2, a2, a1, a1, a2], axis=2))
        a00, a12, a22, a01, a11, a02 = (sq[:, :, k] for k in range(6))
        xi = self.mul_xi(jnp.stack([a12, a22], axis=2))
        c = self.sub(jnp.stack([a00, xi[:, :, 1], a11], axis=2), jnp.stack([xi[:, :, 0], a01, a02], axis=2))
        t = self.mul2(jnp.stack([a0, a2, a1], axis=2), c)
        norm = self.add(t[:, :, 0], self.mul_xi(self.add(t[:, :, 1], t[:, :, 2])))
        return self.mul2(c, jnp.expand_dims(self.F2.kernel("inv")(norm), 2))

    # -- Fq12 --------------------------------------------------------------------------------------

    def mul12(self, a, b):
        """Fq12 product (Karatsuba over Fq6: 18 Fq2 products in one call); a, b (L, 2, 2, 3, *rest)."""
        a, b = jnp.broadcast_arrays(a, b)
        sums = self.add(jnp.stack([a[:, :, 0], b[:, :, 0]], axis=2), jnp.stack([a[:, :, 1], b[:, :, 1]], axis=2))
        lhs = jnp.stack([a[:, :, 0], a[:, :, 1], sums[:, :, 0]], axis=3)
        rhs = jnp.stack([b[:, :, 0], b[:, :, 1], sums[:, :, 1]], axis=3)
        v = self.mul6(lhs, rhs)  # (L, 2, 3, 3, *rest): axis 3 = [a0 b0, a1 b1, (a0 + a1)(b0 + b1)]
        v0, v1, t = v[:, :, :, 0], v[:, :, :, 1], v[:, :, :, 2]
        c0 = self.add(v0, self.mul_v(v1))
        c1 = self.sub(self.sub(t, v0), v1)
        return jnp.stack([c0, c1], axis=2)

    def square12(self, a):
        """Fq12 square (complex method: 2 Fq6 products in one call)."""
        a0, a1 = a[:, :, 0], a[:, :, 1]
        s = self.add(jnp.stack([a0, a0], axis=3), jnp.stack([a1, self.mul_v(a1)], axis=3))
        v = self.mul6(jnp.stack([s[:, :, :, 0], a0], axis=3), jnp.stack([s[:, :, :, 1], a1], axis=3))
        m, p = v[:, :, :, 0], v[:, :, :, 1]
        c0 = self.sub(self.sub(m, p), self.mul_v(p))
        return jnp.stack([c0, self.add(p, p)], axis=2)

    def conj12(self, a):
        """a0 - a1 w: the p^6 Frobenius, and the inverse of a unitary (cyclotomic) element."""
        return jnp.stack([a[:, :, 0], self.sub(jnp.zeros_like(a[:, :, 1]), a[:, :, 1])], axis=2)

    def frobenius12(self, a, k: int):
        """a^(p^k) for k in (1, 2, 3, 6): conjugate every Fq2 coefficient when k is odd, then scale
        coefficient (j, i) by xi^((2i+j)(p^k-1)/6)."""
        if k % 2:
            a = self.conj2(a)
        gamma = jnp.asarray(self.frobenius[k]).reshape(self.frobenius[k].shape + (1,) * (a.ndim - 4))
        return self.mul2(a, gamma)

    def inv12(self, a):
        """Fq12 inverse: conj(a) / (a0^2 - v a1^2) with one Fq6 inversion."""
        a0, a1 = a[:, :, 0], a[:, :, 1]
        sq = self.mul6(jnp.stack([a0, a1], axis=3), jnp.stack([a0, a1], axis=3))
        norm_inv = self.inv6(self.sub(sq[:, :, :, 0], self.mul_v(sq[:, :, :, 1])))
        t = self.mul6(jnp.stack([a0, a1], axis=3), jnp.expand_dims(norm_inv, 3))
        return jnp.stack([t[:, :, :, 0], self.sub(jnp.zeros_like(t[:, :, :, 1]), t[:, :, :, 1])], axis=2)

    def one(self, batch_shape: tuple[int, ...]):
        """The Fq12 identity broadcast to (L, 2, 2, 3, *batch_shape)."""
        c = jnp.asarray(self.one12).reshape(self.one12.shape + (1,) * len(batch_shape))
        return jnp.broadcast_to(c, self.one12.shape + tuple(batch_shape))

    def is_one(self, a):
        """Boolean array of the batch shape: a == 1."""
        one = self.one(a.shape[4:])
        return jnp.all(a == one, axis=(0, 1, 2, 3))

    # -- host conversions --------------------------------------------------------------------------

    def is_one_host(self, limbs: np.ndarray) -> np.ndarray:
        """Host: (L, 2, 2, 3, n) limbs -> bool (n,), element == 1."""
        return np.all(np.asarray(limbs) == self.one12[..., None], axis=(0, 1, 2, 3))

    def ints_from_limbs(self, limbs: np.ndarray) -> list[list[list[tuple[int, int]]]]:
        """Host: (L, 2, 2, 3, n) limbs -> per element [[(c0, c1) for i] for j] Python ints."""
        limbs = np.asarray(limbs)
        n = limbs.shape[-1]
        flat = self.F2.ints_from_limbs(limbs.reshape(self.L, 2, 6 * n))  # coefficient (j, i, element) order
        return [[[flat[(3 * j + i) * n + e] for i in range(3)] for j in range(2)] for e in range(n)]

    def from_py_ecc_coeffs(self, coeffs) -> list[list[tuple[int, int]]]:
        """py_ecc's 12 coefficients over w^0..w^11 -> tower coefficients (the inverse of `py_ecc_coeffs`)."""
        coeffs = [int(c) % self.p for c in coeffs]
        out = [[None] * 3 for _ in range(2)]
        for e in range(6):
            c1 = coeffs[e + 6]
            out[e % 2][e // 2] = ((coeffs[e] + self.xi0 * c1) % self.p, c1)
        return out

    def py_ecc_coeffs(self, element) -> list[int]:
        """Tower coefficients [[(c0, c1)] * 3] * 2 -> py_ecc's 12 coefficients over w^0..w^11 (u = w^6 - xi0)."""
        out = [0] * 12
        for j in range(2):
            for i in range(3):
                c0, c1 = element[j][i]
                e = 2 * i + j
                out[e] = (out[e] + c0 - self.xi0 * c1) % self.p
                out[e + 6] = (out[e + 6] + c1) % self.p
        return out


@functools.lru_cache(maxsize=None)
def tower(curve_name: str) -> Tower:
    """The tower of "bn254" (xi = 9 + u) or "bls12_381" (xi = 1 + u)."""
    from py_ecc.fields import bls12_381_FQ2, bn128_FQ2

    from supervm_jax.field.fq2 import BLS12_381_FQ2, BN254_FQ2

    if curve_name == "bn254":
        return Tower("bn254", BN254_FQ2, 9, bn128_FQ2)
    if curve_name == "bls12_381":
        return Tower("bls12_381", BLS12_381_FQ2, 1, bls12_381_FQ2)
    raise ValueError(f"no pairing tower for {curve_name!r}")
