"""Coordinate fields for the curve code: one small interface over a prime field Fq and over Fq2.

The group formulas in `weierstrass.py` are written once against this interface, so a curve over Fq
(G1, secp256k1) and a curve over Fq2 (G2) share every line of group code. An element is a uint32
array whose leading axes are `elem_shape` ((L,) for Fq, (L, 2) for Fq2) followed by batch axes.

All methods except the host conversions are pure kernels: trace them under `pmap.x64_scope()`.
`mul_many` is the only multiplication entry point and forms every product of one formula layer with
a single Montgomery multiply call (XLA compile time grows with multiply call sites).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from supervm_jax.field import montgomery as mont
from supervm_jax.field.fq2 import QuadraticExtension, ints_to_mont_limbs, mont_limbs_to_ints
from supervm_jax.field.prime_field import PrimeField


def _barrier(x: jax.Array) -> jax.Array:
    """Ends an XLA fusion. The field's add/sub are unrolled carry chains; when several are chained,
    XLA's CPU backend fuses them and recomputes each chain once per output limb (16 chained adds:
    7 s of compile and 30x the run time; with barriers 0.5 s). Every add/sub here is one barrier."""
    return lax.optimization_barrier(x)


class _Coords:
    """Shared stacked add/sub: every call is one base-field kernel over all pairs, plus a fusion barrier."""

    elem_shape: tuple[int, ...]
    spec: mont.MontgomerySpec

    def _stacked(self, kernel, pairs):
        """Applies a base-field kernel to every pair with one call over a stacked array."""
        axis = len(self.elem_shape)
        shape = jnp.broadcast_shapes(*(x.shape for pair in pairs for x in pair))
        lhs = jnp.stack([jnp.broadcast_to(a, shape) for a, _ in pairs], axis=axis)
        rhs = jnp.stack([jnp.broadcast_to(b, shape) for _, b in pairs], axis=axis)
        out = _barrier(kernel(self.spec, lhs, rhs))
        return [lax.index_in_dim(out, k, axis, keepdims=False) for k in range(len(pairs))]

    def add_many(self, pairs):
        """[a + b for a, b in pairs] as one stacked add."""
        return self._stacked(mont.add, pairs)

    def sub_many(self, pairs):
        """[a - b for a, b in pairs] as one stacked sub."""
        return self._stacked(mont.sub, pairs)

    def add(self, a, b):
        return self.add_many([(a, b)])[0]

    def sub(self, a, b):
        return self.sub_many([(a, b)])[0]

    def neg(self, a):
        return self.sub_many([(jnp.zeros_like(a), a)])[0]


class PrimeCoords(_Coords):
    """Fq as a coordinate field: elements (L, *batch); values are Python ints."""

    def __init__(self, field: PrimeField):
        self.field = field
        self.spec = field.spec
        self.name = field.name
        self.modulus = field.modulus
        self.n_limbs = field.n_limbs
        self.elem_shape = (field.n_limbs,)
        self.byte_length = field.byte_length
        self.degree = 1

    def mul_many(self, pairs: Sequence[tuple[jax.Array, jax.Array]]) -> list[jax.Array]:
        """[a * b for a, b in pairs] as one stacked multiply."""
        return self._stacked(mont.mont_mul, pairs)

    def batch_inv(self, a):
        return mont.batch_inv(self.spec, a)

    def is_zero(self, a):
        return jnp.all(a == 0, axis=0)

    def eq(self, a, b):
        return jnp.all(a == b, axis=0)

    def select(self, cond, a, b):
        return jnp.where(cond[None], a, b)

    def constant(self, value: int) -> np.ndarray:
        """Montgomery limbs of `value`, shape elem_shape."""
        return self.spec.constant(value)

    # host
    def limbs_from_ints(self, values: Sequence[int], what: str = "element") -> np.ndarray:
        return ints_to_mont_limbs(self.field, values, what)

    def ints_from_limbs(self, limbs: np.ndarray) -> list[int]:
        return mont_limbs_to_ints(self.field, np.asarray(limbs).reshape(self.n_limbs, -1))

    def host_ops(self) -> "HostPrime":
        """Plain Python-int arithmetic on this field's values, for host-side encodings."""
        return HostPrime(self.modulus)


class ExtCoords(_Coords):
    """Fq2 as a coordinate field: elements (L, 2, *batch); values are (c0, c1) int pairs."""

    def __init__(self, field: QuadraticExtension):
        self.field = field
        self.spec = field.spec
        self.name = field.name
        self.modulus = field.modulus
        self.n_limbs = field.n_limbs
        self.elem_shape = field.elem_shape
        self.byte_length = field.byte_length
        self.degree = 2
        self._mul_many = field.kernel("mul_many")
        self._batch_inv = field.kernel("batch_inv")

    def mul_many(self, pairs):
        return self._mul_many(pairs)

    def batch_inv(self, a):
        return self._batch_inv(a)

    def is_zero(self, a):
        return jnp.all(a == 0, axis=(0, 1))

    def eq(self, a, b):
        return jnp.all(a == b, axis=(0, 1))

    def select(self, cond, a, b):
        return jnp.where(cond[None, None], a, b)

    def constant(self, value) -> np.ndarray:
        return self.field.constant(value)

    def limbs_from_ints(self, values, what: str = "element") -> np.ndarray:
        flat = []
        for i, v in enumerate(values):
            if not (isinstance(v, (tuple, list)) and len(v) == 2):
                raise TypeError(f"{what} {i} is not an Fq2 (c0, c1) pair: {v!r}")
            flat += [v[0], v[1]]
        try:
            limbs = ints_to_mont_limbs(self.field.base, flat, "coefficient")
        except (TypeError, ValueError) as err:  # re-word with the element index
            idx = int(str(err).split()[1]) // 2
            raise type(err)(f"{what} {idx}: {err}") from None
        return limbs.reshape(self.n_limbs, len(values), 2).transpose(0, 2, 1)

    def ints_from_limbs(self, limbs: np.ndarray) -> list[tuple[int, int]]:
        return self.field.ints_from_limbs(np.asarray(limbs).reshape(self.n_limbs, 2, -1))

    def host_ops(self) -> "HostFq2":
        """Plain Python arithmetic on (c0, c1) pairs, for host-side encodings."""
        return HostFq2(self.modulus, self.field.beta)


class HostPrime:
    """Plain Python-int Fq arithmetic for host-side encodings (decompression square roots)."""

    def __init__(self, p: int):
        self.p = p
        self.zero, self.one = 0, 1

    def add(self, a, b):
        return (a + b) % self.p

    def sub(self, a, b):
        return (a - b) % self.p

    def mul(self, a, b):
        return a * b % self.p

    def neg(self, a):
        return -a % self.p

    def sqrt(self, a):
        """A square root of a, or None. Needs p = 3 mod 4 (all our base fields but ed25519's)."""
        p = self.p
        if p % 4 != 3:
            raise NotImplementedError("sqrt needs p = 3 mod 4")
        x = pow(a, (p + 1) // 4, p)
        return x if x * x % p == a % p else None

    def is_lex_largest(self, y) -> bool:
        """ZCash sign flag: y > (p - 1) / 2."""
        return y > (self.p - 1) // 2


class HostFq2:
    """Plain Python Fq2 = Fq[u]/(u^2 - beta) arithmetic on (c0, c1) pairs, for host-side encodings."""

    def __init__(self, p: int, beta: int):
        self.p, self.beta = p, beta
        self.zero, self.one = (0, 0), (1, 0)

    def add(self, a, b):
        return ((a[0] + b[0]) % self.p, (a[1] + b[1]) % self.p)

    def sub(self, a, b):
        return ((a[0] - b[0]) % self.p, (a[1] - b[1]) % self.p)

    def neg(self, a):
        return (-a[0] % self.p, -a[1] % self.p)

    def mul(self, a, b):
        p = self.p
        return ((a[0] * b[0] + self.beta * a[1] * b[1]) % p, (a[0] * b[1] + a[1] * b[0]) % p)

    def pow(self, a, e: int):
        out = self.one
        while e:
            if e & 1:
                out = self.mul(out, a)
            a = self.mul(a, a)
            e >>= 1
        return out

    def sqrt(self, a):
        """A square root of a, or None (Adj & Rodriguez-Henriquez, Alg. 9; p = 3 mod 4, beta = -1)."""
        p = self.p
        if p % 4 != 3 or self.beta != p - 1:
            raise NotImplementedError("Fq2 sqrt needs p = 3 mod 4 and u^2 = -1")
        a = (a[0] % p, a[1] % p)
        if a == self.zero:
            return self.zero
        a1 = self.pow(a, (p - 3) // 4)
        alpha = self.mul(self.mul(a1, a1), a)
        x0 = self.mul(a1, a)
        if alpha == (p - 1, 0):
            x = self.mul((0, 1), x0)
        else:
            b = self.pow(self.add(self.one, alpha), (p - 1) // 2)
            x = self.mul(b, x0)
        return x if self.mul(x, x) == a else None

    def is_lex_largest(self, y) -> bool:
        """ZCash sign flag for Fq2: compare c1 first, c0 when c1 = 0."""
        half = (self.p - 1) // 2
        return y[1] > half or (y[1] == 0 and y[0] > half)
