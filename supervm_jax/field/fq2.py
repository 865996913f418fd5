"""Quadratic extension fields Fq2 = Fq[u] / (u^2 - beta) as JAX kernels, for the G2 groups of pairing curves.

Representation: an Fq2 element c0 + c1 u is one uint32 array of shape `(L, 2, *batch)`: the base
field's limb-major layout with a coefficient axis after the limbs (`x[:, 0]` is c0, `x[:, 1]` is
c1), both coefficients in Montgomery form and canonical. Because addition is coefficient-wise, the
base-field `add`/`sub`/`neg`/`eq`/`is_zero` kernels act on this layout unchanged; only products need
their own kernels here.

Products are batched: `mul_many([(a, b), ...])` forms every base-field product of a list of Fq2
products with **one** Montgomery multiply call over a stacked array (three base products per Fq2
product, Karatsuba), so a point formula with k independent Fq2 products costs one multiply call
site (compile time grows with call sites, not with products).

    from supervm_jax.field.fq2 import BN254_FQ2
    x = BN254_FQ2.from_ints([(1, 2), (3, 4)])      # (8, 2, 2) uint32
    BN254_FQ2.to_ints(BN254_FQ2.mul(x, x))          # [(p-3, 4), (p-7, 24)]   (u^2 = -1)

Validation: `from_ints` raises ValueError naming the first coefficient pair outside [0, p); the
kernels trust their inputs (canonical by construction). Kernels must be traced inside
`pmap.x64_scope()` (get them with `F2.kernel(name)`); the public methods (`F2.add`, `F2.mul`, ...)
are jitted and enter the scope themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jax import lax

from supervm_jax.field import montgomery as mont
from supervm_jax.field.fields import BLS12_381_FQ, BN254_FQ
from supervm_jax.field.prime_field import FieldOps, PrimeField
from supervm_jax.pmap.compat import with_x64


def _add(spec, a, b):
    """Base-field add followed by a fusion barrier: chained unrolled carry chains otherwise get fused
    and recomputed per output by XLA's CPU backend (compile time and run time blow up)."""
    return lax.optimization_barrier(mont.add(spec, a, b))


def _sub(spec, a, b):
    """Base-field sub with a fusion barrier (see `_add`)."""
    return lax.optimization_barrier(mont.sub(spec, a, b))


class QuadraticExtension(FieldOps):
    """Fq2 = Fq[u]/(u^2 - beta) over a `PrimeField`; beta a small nonresidue (here -1).

    Attributes:
      name, base (the PrimeField), beta (Python int, as an element of Fq), modulus (p of the base),
      n_limbs (L), elem_shape ((L, 2): the leading axes of one element), byte_length (2 * base's).
    """

    degree = 2

    def __init__(self, name: str, base: PrimeField, beta: int):
        self.name = name
        self.base = base
        self.beta = beta % base.modulus
        self.modulus = base.modulus
        self.n_limbs = base.n_limbs
        self.elem_shape = (base.n_limbs, 2)
        self.byte_length = 2 * base.byte_length
        self.spec = base.spec
        p = base.modulus
        if pow(self.beta, (p - 1) // 2, p) != p - 1:
            raise ValueError(f"{name}: beta = {beta} is a square mod p, u^2 - beta does not define a field")

    def __repr__(self) -> str:
        return f"QuadraticExtension({self.name}, u^2 = {self.beta - self.modulus if self.beta > self.modulus // 2 else self.beta})"

    # -- pure kernels (trace under x64_scope) ---------------------------------------------------

    def _k_add(self, a: jax.Array, b: jax.Array) -> jax.Array:
        """a + b, shapes (L, 2, *batch) (broadcasting)."""
        return _add(self.spec, a, b)

    def _k_sub(self, a: jax.Array, b: jax.Array) -> jax.Array:
        """a - b."""
        return _sub(self.spec, a, b)

    def _k_neg(self, a: jax.Array) -> jax.Array:
        """-a."""
        return _sub(self.spec, jnp.zeros_like(a), a)

    def _k_conj(self, a: jax.Array) -> jax.Array:
        """c0 - c1 u (the Frobenius map x -> x^p)."""
        return jnp.stack([a[:, 0], _sub(self.spec, jnp.zeros_like(a[:, 1]), a[:, 1])], axis=1)

    def _mul_beta(self, x: jax.Array) -> jax.Array:
        """beta * x for base-field limbs x (L, ...)."""
        if self.beta == self.modulus - 1:
            return _sub(self.spec, jnp.zeros_like(x), x)
        c = mont._bcast(self.spec.constant(self.beta), x)
        return mont.mont_mul(self.spec, jnp.broadcast_to(c, x.shape), x)

    def _k_mul_many(self, pairs: Sequence[tuple[jax.Array, jax.Array]]) -> list[jax.Array]:
        """[a * b for a, b in pairs] with one base-field multiply call (3 base products each).

        Karatsuba: v0 = a0 b0, v1 = a1 b1, v2 = (a0 + a1)(b0 + b1); c0 = v0 + beta v1,
        c1 = v2 - v0 - v1. Operands broadcast per pair; results have the broadcast shape.
        """
        spec = self.spec
        k = len(pairs)
        shape = jnp.broadcast_shapes(*(x.shape for pair in pairs for x in pair))
        a = jnp.stack([jnp.broadcast_to(a, shape) for a, _ in pairs], axis=2)  # (L, 2, k, *batch)
        b = jnp.stack([jnp.broadcast_to(b, shape) for _, b in pairs], axis=2)
        # Both operands' coefficient sums in one stacked add, all 3k products in one multiply.
        sums = _add(spec, jnp.stack([a[:, 0], b[:, 0]], axis=1), jnp.stack([a[:, 1], b[:, 1]], axis=1))
        lhs = jnp.concatenate([a[:, 0], a[:, 1], sums[:, 0]], axis=1)  # (L, 3k, *batch)
        rhs = jnp.concatenate([b[:, 0], b[:, 1], sums[:, 1]], axis=1)
        prod = lax.optimization_barrier(mont.mont_mul(spec, lhs, rhs))
        v0, v1, v2 = prod[:, :k], prod[:, k : 2 * k], prod[:, 2 * k :]
        # c0 = v0 + beta v1, c1 = v2 - (v0 + v1): one stacked add, one stacked sub.
        s = _add(spec, jnp.stack([v0, v0], axis=1), jnp.stack([self._mul_beta(v1), v1], axis=1))
        out = _sub(spec, jnp.stack([s[:, 0], v2], axis=1), jnp.stack([jnp.zeros_like(v0), s[:, 1]], axis=1))  # (L, 2, k, *batch)
        return [out[:, :, j] for j in range(k)]

    def _k_mul(self, a: jax.Array, b: jax.Array) -> jax.Array:
        """a * b."""
        return self._k_mul_many([(a, b)])[0]

    def _k_square(self, a: jax.Array) -> jax.Array:
        """a^2."""
        return self._k_mul_many([(a, a)])[0]

    def _k_mul_by_base(self, a: jax.Array, k: jax.Array) -> jax.Array:
        """a * k for k a base-field array (L, *batch) (both coefficients scaled)."""
        return mont.mont_mul(self.spec, a, k[:, None])

    def _k_norm(self, a: jax.Array) -> jax.Array:
        """c0^2 - beta c1^2, a base-field array (L, *batch)."""
        sq = mont.mont_mul(self.spec, a, a)
        return _sub(self.spec, sq[:, 0], self._mul_beta(sq[:, 1]))

    def _k_inv(self, a: jax.Array) -> jax.Array:
        """a^-1 = conj(a) / norm(a); 0 maps to 0."""
        return self._k_mul_by_base(self._k_conj(a), mont.inv(self.spec, self._k_norm(a)))

    def _k_batch_inv(self, a: jax.Array) -> jax.Array:
        """Inverses of a 1-D batch (L, 2, n) with one batched base-field inversion; 0 maps to 0."""
        return self._k_mul_by_base(self._k_conj(a), mont.batch_inv(self.spec, self._k_norm(a)))

    def _k_is_zero(self, a: jax.Array) -> jax.Array:
        """Boolean array of the batch shape."""
        return jnp.all(a == 0, axis=(0, 1))

    def _k_eq(self, a: jax.Array, b: jax.Array) -> jax.Array:
        """Boolean array of the batch shape."""
        return jnp.all(a == b, axis=(0, 1))

    def _k_select(self, cond: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
        """`a if cond else b` elementwise; cond has the batch shape."""
        return jnp.where(cond[None, None], a, b)

    def constant(self, value) -> np.ndarray:
        """Montgomery limbs of (c0, c1) (or an int c0), shape (L, 2) uint32."""
        c0, c1 = (value, 0) if isinstance(value, int) else value
        return np.stack([self.spec.constant(c0), self.spec.constant(c1)], axis=1)

    # -- host conversions ------------------------------------------------------------------------

    def limbs_from_ints(self, values: Sequence[tuple[int, int]]) -> np.ndarray:
        """Host: (c0, c1) int pairs in [0, p) -> Montgomery limbs (L, 2, n) as numpy (no device work)."""
        flat = []
        for i, v in enumerate(values):
            if not (isinstance(v, (tuple, list)) and len(v) == 2):
                raise TypeError(f"{self.name}: element {i} is not a (c0, c1) pair: {v!r}")
            for c in v:
                if not isinstance(c, (int, np.integer)) or isinstance(c, bool):
                    raise TypeError(f"{self.name}: element {i} has a {type(c).__name__} coefficient, not int")
                if not 0 <= c < self.modulus:
                    raise ValueError(f"{self.name}: element {i} = {v} has a coefficient not in [0, p)")
            flat += [v[0], v[1]]
        limbs = ints_to_mont_limbs(self.base, flat, f"{self.name}: coefficient")
        return limbs.reshape(self.n_limbs, len(values), 2).transpose(0, 2, 1)

    def ints_from_limbs(self, limbs: np.ndarray) -> list[tuple[int, int]]:
        """Host: Montgomery limbs (L, 2, n) -> list of (c0, c1) ints."""
        limbs = np.asarray(limbs)
        flat = mont_limbs_to_ints(self.base, limbs.transpose(0, 2, 1).reshape(self.n_limbs, -1))
        return [(flat[2 * i], flat[2 * i + 1]) for i in range(len(flat) // 2)]

    def from_ints(self, values: Iterable[tuple[int, int]]) -> jax.Array:
        """(c0, c1) pairs in [0, p) -> (L, 2, n) device array. ValueError names the first bad element."""
        return jnp.asarray(self.limbs_from_ints(list(values)))

    def to_ints(self, a: jax.Array) -> list[tuple[int, int]]:
        """(L, 2, n) array -> list of (c0, c1) Python ints."""
        return self.ints_from_limbs(np.asarray(a).reshape(self.n_limbs, 2, -1))

    def random(self, key: jax.Array, n: int) -> jax.Array:
        """n uniform elements, shape (L, 2, n)."""
        return jnp.stack([self.base.random(k, n) for k in jax.random.split(key, 2)], axis=1)

    # -- kernels and public jitted entry points ------------------------------------------------

    KERNEL_NAMES = ("add", "sub", "neg", "conj", "mul", "mul_many", "square", "mul_by_base", "norm", "inv",
                    "batch_inv", "is_zero", "eq", "select")

    def kernel(self, name: str):
        """The pure kernel `name` (see KERNEL_NAMES) for use inside jit/shard_map under x64_scope.

        mul_many(pairs) -> list takes a list of (a, b) pairs; select(cond, a, b); the others take and
        return (L, 2, *batch) arrays (norm returns base-field limbs, is_zero/eq booleans)."""
        if name not in self.KERNEL_NAMES:
            raise KeyError(f"{self.name}: no kernel {name!r}; one of {self.KERNEL_NAMES}")
        return getattr(self, f"_k_{name}")

    @functools.cached_property
    def _jitted(self) -> dict:
        return {name: jax.jit(self.kernel(name)) for name in ("add", "sub", "neg", "mul", "square", "inv", "conj")}

    def _run(self, name: str, *arrays: jax.Array) -> jax.Array:
        for x in arrays:
            if getattr(x, "dtype", None) != jnp.uint32 or tuple(x.shape[:2]) != self.elem_shape:
                raise ValueError(f"{self.name}: expected uint32 of shape {self.elem_shape} + batch, got {getattr(x, 'dtype', None)} {getattr(x, 'shape', None)}")
        return with_x64(self._jitted[name])(*arrays)

    def inv(self, a: jax.Array) -> jax.Array:
        """a^-1 (0 maps to 0)."""
        return self._run("inv", a)

    def conj(self, a: jax.Array) -> jax.Array:
        """c0 - c1 u."""
        return self._run("conj", a)


def ints_to_mont_limbs(field: PrimeField, values: Sequence[int], what: str = "element") -> np.ndarray:
    """Host: ints in [0, p) -> Montgomery-form limbs (L, n) uint32 (Python-int arithmetic, no device).

    Raises TypeError / ValueError naming the first bad index (`what` prefixes the message)."""
    p, r = field.modulus, field.spec.r
    width = field.byte_length
    parts = []
    for i, x in enumerate(values):
        if not isinstance(x, (int, np.integer)) or isinstance(x, bool):
            raise TypeError(f"{what} {i} is {type(x).__name__}, not int")
        if not 0 <= x < p:
            raise ValueError(f"{what} {i} = {x} is not in [0, p) for {field.name}")
        parts.append((int(x) * r % p).to_bytes(width, "little"))
    raw = b"".join(parts)
    return np.frombuffer(raw, dtype="<u4").reshape(len(values), field.n_limbs).T.astype(np.uint32)


def mont_limbs_to_ints(field: PrimeField, limbs: np.ndarray) -> list[int]:
    """Host: Montgomery-form limbs (L, n) -> canonical Python ints."""
    p = field.modulus
    r_inv = pow(field.spec.r, -1, p)
    raw = np.ascontiguousarray(np.asarray(limbs, np.uint32).T).astype("<u4").tobytes()
    width = field.byte_length
    return [int.from_bytes(raw[i : i + width], "little") * r_inv % p for i in range(0, len(raw), width)]


BN254_FQ2 = QuadraticExtension("BN254_FQ2", BN254_FQ, -1)
BLS12_381_FQ2 = QuadraticExtension("BLS12_381_FQ2", BLS12_381_FQ, -1)
