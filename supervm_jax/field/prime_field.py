"""`PrimeField`: the user-facing object for one prime field, wrapping the Montgomery kernels.

Arrays handed out and accepted are `jax.Array`s of shape `(L, *batch)`, dtype uint32, limb-major,
Montgomery form, canonical (see `montgomery.py`). `L` is `F.n_limbs` (8 for the 256-bit fields, 12
for BLS12-381's base field). Conversions to and from Python ints and bytes are the only host work.

Validation: `from_ints` and `from_bytes` reject non-canonical input (ValueError naming the first bad
index); arithmetic methods check the array's dtype and leading dimension (TypeError / ValueError) but
trust that limbs came from this field (they are canonical by construction). `inv` raises
`ZeroDivisionError` naming the first zero (one device-to-host sync); `inv_unchecked` maps 0 to 0 and
is safe inside `jit`.

Every kernel runs under a thread-local 64-bit scope (`pmap.compat.x64_scope`); the global JAX
config is never changed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from supervm_jax.field import montgomery as mont
from supervm_jax.pmap.compat import with_x64
from supervm_jax.pmap.sharding import pow2_bucket

_KERNELS = {
    "add": mont.add,
    "sub": mont.sub,
    "neg": mont.neg,
    "mul": mont.mont_mul,
    "square": lambda spec, a: mont.mont_mul(spec, a, a),
    "inv": mont.inv,
    "batch_inv": mont.batch_inv,
    "to_montgomery": mont.to_montgomery,
    "from_montgomery": mont.from_montgomery,
    "from_wide": mont.from_wide,
    "is_canonical": mont.is_canonical,
}


class FieldOps:
    """The eager arithmetic every field object offers: jitted per field and shape, run under the
    thread-local x64 scope, elementwise with broadcasting over batch dims. Subclasses provide
    `_run(kernel_name, *arrays)`, which validates the arrays' dtype and layout."""

    def _run(self, name: str, *arrays: jax.Array) -> jax.Array:
        raise NotImplementedError

    def add(self, a: jax.Array, b: jax.Array) -> jax.Array:
        """a + b."""
        return self._run("add", a, b)

    def sub(self, a: jax.Array, b: jax.Array) -> jax.Array:
        """a - b."""
        return self._run("sub", a, b)

    def neg(self, a: jax.Array) -> jax.Array:
        """-a."""
        return self._run("neg", a)

    def mul(self, a: jax.Array, b: jax.Array) -> jax.Array:
        """a * b."""
        return self._run("mul", a, b)

    def square(self, a: jax.Array) -> jax.Array:
        """a^2."""
        return self._run("square", a)


class PrimeField(FieldOps):
    """Arithmetic in Z/pZ on batches of elements held on device.

    Attributes:
      name: e.g. "BN254_FQ".
      modulus: p, a Python int.
      n_limbs: L, number of 32-bit limbs per element.
      byte_length: bytes of the fixed-width encoding (4 * L: 32, or 48 for BLS12-381's base field).
      spec: the `MontgomerySpec` for use inside your own jitted code with `kernel(name)`.
    """

    def __init__(self, name: str, modulus: int, n_limbs: int | None = None):
        self.name = name
        self.modulus = modulus
        self.n_limbs = n_limbs or -(-modulus.bit_length() // 32)
        self.byte_length = 4 * self.n_limbs
        self.spec = mont.MontgomerySpec(modulus, self.n_limbs)

    def __repr__(self) -> str:
        return f"PrimeField({self.name}, p=0x{self.modulus:x})"

    # -- kernels -------------------------------------------------------------------------------

    def kernel(self, name: str):
        """The pure kernel `name` with this field's constants bound, for use inside jit/shard_map.

        Callers must trace it under `pmap.compat.x64_scope()`. Names: add, sub, neg, mul, square, inv
        (0 -> 0), batch_inv (1-D batch, 0 -> 0), to_montgomery, from_montgomery, from_wide,
        is_canonical.
        """
        return self._kernels[name]

    @functools.cached_property
    def _kernels(self) -> dict:
        # One partial per name, so callers that cache on the kernel object (shard_batch) hit.
        return {name: functools.partial(fn, self.spec) for name, fn in _KERNELS.items()}

    @functools.cached_property
    def _jitted(self) -> dict:
        jitted = {name: jax.jit(kernel) for name, kernel in self._kernels.items()}
        jitted["pow"] = jax.jit(functools.partial(mont.pow_digits, self.spec))
        return jitted

    def _check(self, *arrays: jax.Array) -> None:
        for x in arrays:
            dtype = getattr(x, "dtype", None)
            if dtype != jnp.uint32:
                raise TypeError(f"{self.name}: expected a uint32 array of shape (L={self.n_limbs}, ...), got dtype {dtype}")
            if x.ndim < 1 or x.shape[0] != self.n_limbs:
                raise ValueError(f"{self.name}: expected shape ({self.n_limbs}, ...) (limb-major), got {x.shape}")

    def _run(self, name: str, *arrays: jax.Array) -> jax.Array:
        self._check(*arrays)
        return with_x64(self._jitted[name])(*arrays)

    def pow(self, a: jax.Array, exponent: int) -> jax.Array:
        """a^exponent mod p for a Python int exponent >= 0 (0^0 = 1).

        The exponent is a runtime input (base-16 digits padded to a multiple of 16), so exponents
        of similar size share one compiled kernel."""
        if not isinstance(exponent, int) or exponent < 0:
            raise ValueError(f"{self.name}.pow: exponent must be an int >= 0, got {exponent!r}")
        self._check(a)
        return with_x64(self._jitted["pow"])(a, jnp.asarray(mont.exponent_digits(exponent)))

    def inv(self, a: jax.Array) -> jax.Array:
        """a^-1 mod p. Raises ZeroDivisionError naming the first zero element."""
        self._raise_on_zero(a, "inv")
        return self._run("inv", a)

    def inv_unchecked(self, a: jax.Array) -> jax.Array:
        """a^-1 mod p with 0 mapped to 0 (no host sync)."""
        return self._run("inv", a)

    def batch_inv(self, a: jax.Array) -> jax.Array:
        """Inverses of a 1-D batch (L, n) by Montgomery's trick: one inversion and ~6 multiplies per element.

        Raises ZeroDivisionError naming the first zero; `batch_inv_unchecked` maps zeros to 0.
        """
        self._raise_on_zero(a, "batch_inv")
        return self.batch_inv_unchecked(a)

    def batch_inv_unchecked(self, a: jax.Array) -> jax.Array:
        """Like `batch_inv` but zeros map to 0."""
        self._check(a)
        if a.ndim != 2:
            raise ValueError(f"{self.name}.batch_inv: expected shape ({self.n_limbs}, n), got {a.shape}")
        return self._run("batch_inv", a)

    def _raise_on_zero(self, a: jax.Array, op: str) -> None:
        self._check(a)
        zero = np.asarray(self.is_zero(a)).reshape(-1)
        if zero.any():
            raise ZeroDivisionError(f"{self.name}.{op}: element at flat index {int(np.argmax(zero))} is zero")

    def eq(self, a: jax.Array, b: jax.Array) -> jax.Array:
        """Boolean array of the batch shape: a == b."""
        self._check(a, b)
        return mont.eq(a, b)

    def is_zero(self, a: jax.Array) -> jax.Array:
        """Boolean array of the batch shape: a == 0."""
        self._check(a)
        return mont.is_zero(a)

    def select(self, cond: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
        """Elementwise `a if cond else b`; cond is boolean of the batch shape."""
        self._check(a, b)
        return mont.select(jnp.asarray(cond, bool), a, b)

    # -- constants and conversion -------------------------------------------------------------

    def zeros(self, n: int) -> jax.Array:
        """n copies of 0, shape (L, n)."""
        return jnp.zeros((self.n_limbs, n), jnp.uint32)

    def ones(self, n: int) -> jax.Array:
        """n copies of 1 (Montgomery form), shape (L, n)."""
        return jnp.tile(jnp.asarray(self.spec.constant(1))[:, None], (1, n))

    def _limbs_from_ints(self, ints: Sequence[int]) -> np.ndarray:
        p = self.modulus
        for i, x in enumerate(ints):
            if not isinstance(x, (int, np.integer)) or isinstance(x, bool):
                raise TypeError(f"{self.name}.from_ints: element {i} is {type(x).__name__}, not int")
            if not 0 <= x < p:
                raise ValueError(f"{self.name}.from_ints: element {i} = {x} is not in [0, p) (non-canonical)")
        width = self.byte_length
        raw = b"".join(int(x).to_bytes(width, "little") for x in ints)
        return np.frombuffer(raw, dtype="<u4").reshape(len(ints), self.n_limbs).T.astype(np.uint32)

    def _run_bucketed(self, name: str, limbs: np.ndarray) -> jax.Array:
        """Runs a 1-D-batch kernel with the batch zero-padded to a power-of-two bucket, so host
        conversions of many different sizes reuse a few compiled kernels."""
        n = limbs.shape[1]
        bucket = pow2_bucket(n, 8)
        padded = np.zeros((limbs.shape[0], bucket), limbs.dtype)
        padded[:, :n] = limbs
        return self._run(name, jnp.asarray(padded))[..., :n]

    def from_ints(self, ints: Iterable[int]) -> jax.Array:
        """Python ints in [0, p) -> (L, n) uint32 Montgomery array. ValueError names the first bad index."""
        return self._run_bucketed("to_montgomery", self._limbs_from_ints(list(ints)))

    def to_ints(self, x: jax.Array) -> list[int]:
        """(L, n) array -> list of n Python ints in [0, p) (a 1-element batch for shape (L,))."""
        std = self._standard_limbs(x)
        raw = np.ascontiguousarray(std.T).astype("<u4").tobytes()
        width = self.byte_length
        return [int.from_bytes(raw[i : i + width], "little") for i in range(0, len(raw), width)]

    def _standard_limbs(self, x: jax.Array) -> np.ndarray:
        self._check(x)
        return np.asarray(self._run_bucketed("from_montgomery", np.asarray(x).reshape(self.n_limbs, -1)))

    def from_bytes(self, data: np.ndarray, byteorder: str = "big") -> jax.Array:
        """(n, byte_length) uint8 fixed-width encodings -> (L, n) Montgomery array.

        Raises ValueError for a wrong shape/dtype or a value >= p (naming the first bad index).
        """
        data = np.asarray(data)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != self.byte_length:
            raise ValueError(f"{self.name}.from_bytes: expected uint8 array of shape (n, {self.byte_length}), got {data.dtype} {data.shape}")
        if byteorder not in ("big", "little"):
            raise ValueError(f"byteorder must be 'big' or 'little', got {byteorder!r}")
        if byteorder == "big":
            data = data[:, ::-1]
        limbs = np.ascontiguousarray(np.ascontiguousarray(data).view("<u4").astype(np.uint32).T)
        ok = np.asarray(self._run_bucketed("is_canonical", limbs))
        if not ok.all():
            raise ValueError(f"{self.name}.from_bytes: element {int(np.argmin(ok))} is >= p (non-canonical)")
        return self._run_bucketed("to_montgomery", limbs)

    def to_bytes(self, x: jax.Array, byteorder: str = "big") -> np.ndarray:
        """(L, n) array -> (n, byte_length) uint8 fixed-width encodings of the canonical values."""
        if byteorder not in ("big", "little"):
            raise ValueError(f"byteorder must be 'big' or 'little', got {byteorder!r}")
        std = self._standard_limbs(x)
        out = np.ascontiguousarray(std.T).astype("<u4").view(np.uint8)
        return out[:, ::-1].copy() if byteorder == "big" else out

    def random(self, key: jax.Array, n: int) -> jax.Array:
        """n uniform elements from a `jax.random` key, shape (L, n).

        Draws 2L random limbs and reduces the 64L-bit integer mod p (statistical distance from
        uniform < 2^-(32L)).
        """
        wide = jax.random.bits(key, (2, self.n_limbs, n), jnp.uint32)
        return self._run("from_wide", wide[0], wide[1])
