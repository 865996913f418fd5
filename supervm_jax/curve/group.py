"""What every curve group shares: the public batch API, the Montgomery ladder and the generator comb.

A group is a parameter object (`ShortWeierstrass`, `TwistedEdwards`) that provides pure kernels
under fixed names: identity(batch_shape), add(P, Q), double(P), neg(P), select(cond, P, Q),
is_identity(P), is_on_curve(P). Everything here is written once against those names, so
the ladder, the subgroup check, the padded public methods and the fixed-base comb for the
generator serve every curve shape. A batch of points is one uint32 array of shape
`(*point_shape, *batch)`: `point_shape = (k, *elem_shape)` for k projective coordinates, each in the
coordinate field's layout, Montgomery form; coordinate 2 is always Z.

Subclasses set `KERNELS` (name -> function(curve, ...)) and the host conversions `affine_limbs` /
`to_affine`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from supervm_jax import native
from supervm_jax.pmap.compat import with_x64
from supervm_jax.pmap.sharding import pow2_bucket

# -- generic kernels (written against curve.kernel) -------------------------------------------------


def scalar_mul_bits(curve: "Group", P: jax.Array, bits: jax.Array) -> jax.Array:
    """k P per batch position by a Montgomery ladder; bits: (nbits, *batch) bool, most significant first
    (batch may broadcast, e.g. (nbits, 1) for one scalar). One complete addition per bit, on a stacked
    batch of (R0 + R1, 2 T) with T = R_bit, so the ladder is one add call site and has no branches.

    On the CPU backend the short-Weierstrass curves take the C++ kernel instead
    (`native.scalar_mul_bits`: 4-bit fixed windows, the same values), unless SUPERVM_NATIVE=0."""
    batch = P.shape[1 + len(curve.coords.elem_shape):]
    bits = jnp.broadcast_to(bits, bits.shape[:1] + batch)
    n = int(np.prod(batch)) if batch else 1
    pf = P.reshape(P.shape[: P.ndim - len(batch)] + (n,))
    bf = bits.reshape(bits.shape[0], n)
    if native.weierstrass_available(curve):
        return native.scalar_mul_bits(curve, pf, bf).reshape(P.shape)

    def step(i, carry):
        r0, r1 = carry
        bit = bf[i]
        t = curve.kernel("select")(bit, r1, r0)
        out = curve.kernel("add")(jnp.concatenate([r0, t], axis=-1), jnp.concatenate([r1, t], axis=-1))
        s, d = out[..., :n], out[..., n:]
        return curve.kernel("select")(bit, s, d), curve.kernel("select")(bit, d, s)

    r0, _ = lax.fori_loop(0, bf.shape[0], step, (curve.kernel("identity")((n,)), pf))
    return r0.reshape(P.shape)


def in_subgroup(curve: "Group", P: jax.Array) -> jax.Array:
    """Boolean (batch): on the curve and r P = identity (just on-curve where the cofactor is 1; by the
    curve's endomorphism test where it has one, `curve.subgroup_test`, see `curve/subgroup.py`)."""
    on = curve.kernel("is_on_curve")(P)
    if curve.cofactor_is_one:
        return on
    test = getattr(curve, "subgroup_test", None)
    if test is not None:
        return on & test(curve, P)
    bits = jnp.asarray(int_bits(curve.order, curve.order.bit_length()))[:, None]
    return on & curve.kernel("is_identity")(scalar_mul_bits(curve, P, bits))


def eq(curve: "Group", P: jax.Array, Q: jax.Array) -> jax.Array:
    """Boolean (batch): same group element (X1 Z2 = X2 Z1 and Y1 Z2 = Y2 Z1, with coordinates 0, 1, 2
    the projective X, Y, Z of either curve shape; identity-safe)."""
    F = curve.coords
    a, b, c, d = F.mul_many([(P[0], Q[2]), (Q[0], P[2]), (P[1], Q[2]), (Q[1], P[2])])
    return F.eq(a, b) & F.eq(c, d)


def int_bits(k: int, nbits: int) -> np.ndarray:
    """Bits of k, most significant first, shape (nbits,) bool."""
    return np.array([(k >> i) & 1 for i in range(nbits - 1, -1, -1)], bool)




GENERIC_KERNELS = {"scalar_mul_bits": scalar_mul_bits, "in_subgroup": in_subgroup, "eq": eq}


# -- the shared public API --------------------------------------------------------------------------


MIN_BUCKET = 64  # batches up to 64 share one compiled kernel (compiles cost seconds, small batches microseconds)


class Group:
    """Base of the curve parameter objects: the padded, jitted public methods over a group's kernels.

    Subclass attributes: name, coords, order (prime subgroup order r), generator (affine value),
    scalar_field, cofactor_is_one, point_shape, scalar_bits, KERNELS; methods affine_limbs, to_affine.
    """

    KERNELS: dict = {}

    # kernels
    def kernel(self, name: str):
        """Pure kernel `name` with this curve bound (trace under x64_scope): add(P, Q), double(P),
        neg(P), select(cond, P, Q), is_identity(P), eq(P, Q), is_on_curve(P), in_subgroup(P),
        scalar_mul_bits(P, bits), identity(batch_shape)."""
        return self._kernels[name]

    @functools.cached_property
    def _kernels(self) -> dict:
        return {name: functools.partial(fn, self) for name, fn in self.KERNELS.items()}

    @functools.cached_property
    def _programs(self) -> dict:
        return {}

    def _jitted(self, name: str):
        """jit of kernel `name`, one per setting of `native.ENABLED` (read when a kernel is traced)."""
        key = (name, native.ENABLED)
        if key not in self._programs:
            kernel = self._kernels[name]
            # a fresh function per key: jax.jit shares traces between wrappers of one function object
            self._programs[key] = jax.jit(lambda *args: kernel(*args))
        return self._programs[key]

    def _check(self, *arrays: jax.Array) -> int:
        n = None
        for x in arrays:
            if getattr(x, "dtype", None) != jnp.uint32 or tuple(x.shape[:-1]) != self.point_shape:
                raise ValueError(f"{self.name}: expected uint32 points of shape {self.point_shape} + (n,), got "
                                 f"{getattr(x, 'dtype', None)} {getattr(x, 'shape', None)}")
            if n is not None and x.shape[-1] != n:
                raise ValueError(f"{self.name}: batch lengths differ: {n} vs {x.shape[-1]}")
            n = x.shape[-1]
        return n

    def _run(self, name: str, *arrays: jax.Array, extra: tuple = ()) -> jax.Array:
        """Runs a jitted kernel with the batch padded to a power-of-two bucket (fewer compiles)."""
        n = self._check(*arrays)
        size = pow2_bucket(n, MIN_BUCKET)
        padded = [jnp.pad(jnp.asarray(x), [(0, 0)] * (x.ndim - 1) + [(0, size - n)]) for x in arrays]
        padded_extra = [jnp.pad(e, [(0, 0)] * (e.ndim - 1) + [(0, size - n)]) if e.shape[-1] == n and n != 1 else e
                        for e in extra]
        out = with_x64(self._jitted(name))(*padded, *padded_extra)
        return out[..., :n]

    def add(self, P: jax.Array, Q: jax.Array) -> jax.Array:
        """P + Q for point batches of shape (3, *elem_shape, n)."""
        return self._run("add", P, Q)

    def double(self, P: jax.Array) -> jax.Array:
        """2P."""
        return self._run("double", P)

    def neg(self, P: jax.Array) -> jax.Array:
        """-P."""
        return self._run("neg", P)

    def eq(self, P: jax.Array, Q: jax.Array) -> np.ndarray:
        """Boolean (n,): P == Q as group elements."""
        return np.asarray(self._run("eq", P, Q))

    def is_identity(self, P: jax.Array) -> np.ndarray:
        """Boolean (n,): P is the point at infinity."""
        return np.asarray(self._run("is_identity", P))

    def is_on_curve(self, P: jax.Array) -> np.ndarray:
        """Boolean (n,)."""
        return np.asarray(self._run("is_on_curve", P))

    def in_subgroup(self, P: jax.Array) -> np.ndarray:
        """Boolean (n,): on the curve and in the order-r subgroup (a scalar multiplication by r unless
        the cofactor is 1)."""
        return np.asarray(self._run("in_subgroup", P))

    def scalar_mul(self, P: jax.Array, scalars: int | Sequence[int]) -> jax.Array:
        """k_i P_i (or k P_i for one int k). Scalars must be ints in [0, r) (ValueError naming the index).
        The ladder runs over the longest scalar's bits (rounded up to 64), not always r's."""
        n = self._check(P)
        ks = [scalars] if isinstance(scalars, (int, np.integer)) else list(scalars)
        if len(ks) not in (1, n):
            raise ValueError(f"{self.name}.scalar_mul: {len(ks)} scalars for {n} points")
        for i, k in enumerate(ks):
            if not isinstance(k, (int, np.integer)) or not 0 <= k < self.order:
                raise ValueError(f"{self.name}.scalar_mul: scalar {i} = {k!r} is not an int in [0, r)")
        # Ladder length: the longest scalar, rounded up to 64 bits (few compiled lengths): 128-bit
        # scalars (batch-verification weights) cost half a full-width ladder.
        nbits = min(self.scalar_bits, 64 * max(1, -(-max(int(k).bit_length() for k in ks) // 64)))
        bits = np.stack([int_bits(int(k), nbits) for k in ks], axis=1)
        return self._run("scalar_mul_bits", P, extra=(jnp.asarray(bits),))

    def generator_points(self, n: int = 1) -> jax.Array:
        """The generator repeated n times, (3, *elem_shape, n)."""
        return self.from_affine([self.generator] * n)

    # -- host conversions ---------------------------------------------------------------------------

    def from_affine(self, points: Iterable[Any], subgroup_check: bool = False) -> jax.Array:
        """Affine points (see `affine_limbs`; None = identity) -> device array (3, *elem_shape, n).

        Checks: coordinates canonical, point on the curve, and with subgroup_check=True membership in
        the order-r subgroup (always implied where the cofactor is 1). Raises ValueError naming the
        first bad index."""
        P = jnp.asarray(self.affine_limbs(points))
        self.validate(P, subgroup_check)
        return P

    def validate(self, P: jax.Array, subgroup_check: bool = False) -> None:
        """Raises ValueError naming the first point not on the curve (or, with subgroup_check, not in
        the subgroup)."""
        if P.shape[-1] == 0:
            return
        ok = self.is_on_curve(P)
        if not ok.all():
            raise ValueError(f"{self.name}: point {int(np.argmin(ok))} is not on the curve")
        if subgroup_check and not self.cofactor_is_one:
            ok = self.in_subgroup(P)
            if not ok.all():
                raise ValueError(f"{self.name}: point {int(np.argmin(ok))} is not in the prime-order subgroup")

    # -- fixed-base multiples of the generator (byte-window comb) -----------------------------------

    GENERATOR_CHUNK = 1 << 15  # points per device call of `generator_mul` (bounded memory, one compile)

    @functools.cached_property
    def generator_table(self) -> jax.Array:
        """(*point_shape, W * 256) device table of b 2^(8 w) G for window w < W = ceil(bits / 8),
        byte b < 256, entry w * 256 + b (b = 0 is the identity). Built once per curve on device."""
        with _x64_scope():
            G = jnp.asarray(self.affine_limbs([self.generator]))
            return _generator_table_kernel(self)(G)

    def generator_mul(self, scalars: Sequence[int] | np.ndarray, *, mesh=None, affine: bool = False) -> jax.Array:
        """k_i G for many scalars: a fixed-base comb over byte windows (`generator_table`), summed by
        one `lax.fori_loop` with a single complete-addition call site (W = 32 additions per point),
        sharded over `mesh` (default: all devices) in chunks of GENERATOR_CHUNK points.

        scalars: ints in [0, r), or an (n, L) uint32 array of little-endian standard-form limbs
        (values < r). Returns (*point_shape, n) projective points, or with affine=True the affine
        coordinates (2, *elem_shape, n) in Montgomery form, (0, 0) for the identity (k = 0),
        normalized on device by one batch inversion per chunk."""
        digits = _scalar_bytes(self, scalars)  # (W, n) int32
        n = digits.shape[1]
        out_rows = 2 if affine else self.point_shape[0]
        if n == 0:
            return jnp.zeros((out_rows,) + tuple(self.coords.elem_shape) + (0,), jnp.uint32)
        from supervm_jax.pmap.sharding import device_mesh, padded_length

        mesh = mesh or device_mesh()
        chunk = padded_length(min(pow2_bucket(n, MIN_BUCKET), self.GENERATOR_CHUNK), mesh.size)
        total = -(-n // chunk) * chunk
        if total > n:  # pad with the scalar 1 (never the identity: keeps the batch inversion clean)
            pad = np.zeros((digits.shape[0], total - n), np.int32)
            pad[0] = 1
            digits = np.concatenate([digits, pad], axis=1)
        table = self.generator_table
        fn = _generator_comb_program(self, mesh, affine)
        parts = []
        with _x64_scope():
            for start in range(0, total, chunk):
                parts.append(fn(table, jnp.asarray(digits[:, start : start + chunk])))
        out = parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=-1)
        return out[..., :n]


def _x64_scope():
    from supervm_jax.pmap.compat import x64_scope

    return x64_scope()


def _scalar_bytes(curve: "Group", scalars) -> np.ndarray:
    """Scalars (ints or (n, L) uint32 limbs, each in [0, r)) -> (W, n) int32 little-endian bytes."""
    W = -(-curve.scalar_bits // 8)
    if isinstance(scalars, np.ndarray) and scalars.ndim == 2:
        from supervm_jax.field.limbs import first_not_below

        limbs = np.ascontiguousarray(scalars, "<u4")
        bad = first_not_below(limbs, curve.order)
        if bad is not None:
            raise ValueError(f"{curve.name}.generator_mul: scalar {bad} is not in [0, r)")
        raw = limbs.view(np.uint8).reshape(limbs.shape[0], -1)
        if raw.shape[1] < W:
            raw = np.pad(raw, [(0, 0), (0, W - raw.shape[1])])
        return np.ascontiguousarray(raw[:, :W].T).astype(np.int32)
    ks = list(scalars)
    for i, k in enumerate(ks):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k < curve.order:
            raise ValueError(f"{curve.name}.generator_mul: scalar {i} = {k!r} is not an int in [0, r)")
    raw = b"".join(int(k).to_bytes(W, "little") for k in ks)
    return np.ascontiguousarray(np.frombuffer(raw, np.uint8).reshape(len(ks), W).T).astype(np.int32)


@functools.lru_cache(maxsize=None)
def _generator_table_kernel(curve: "Group"):
    """jit: G (3, *E, 1) -> (3, *E, W * 256) with entry w * 256 + b = b 2^(8 w) G."""
    W = -(-curve.scalar_bits // 8)

    def run(G):
        def window(carry, _):
            nxt = lax.fori_loop(0, 8, lambda _, x: curve.kernel("double")(x), carry)
            return nxt, carry[..., 0]

        _, bases = lax.scan(window, G, None, length=W)  # (W, 3, *E)
        bases = jnp.moveaxis(bases, 0, -1)  # (3, *E, W)

        def multiple(acc, _):
            return curve.kernel("add")(acc, bases), acc

        _, rows = lax.scan(multiple, curve.kernel("identity")((W,)), None, length=256)  # (256, 3, *E, W): b * base_w
        return jnp.moveaxis(rows, 0, -1).reshape(bases.shape[:-1] + (W * 256,))

    return jax.jit(run)


def generator_comb(curve: "Group", affine: bool, table: jax.Array, digits: jax.Array) -> jax.Array:
    """Kernel: sum_w table[w * 256 + digits[w]] for digits (W, n) -> (3, *E, n) (or affine (2, *E, n))."""
    W = digits.shape[0]

    def step(w, acc):
        return curve.kernel("add")(acc, jnp.take(table, w * 256 + digits[w], axis=-1))

    acc = lax.fori_loop(1, W, step, jnp.take(table, digits[0], axis=-1))
    if not affine:
        return acc
    F = curve.coords
    zinv = F.batch_inv(acc[2])
    x, y = F.mul_many([(acc[0], zinv), (acc[1], zinv)])
    return jnp.stack([x, y])  # the identity (Z = 0) gives zinv = 0, so (0, 0)


@functools.lru_cache(maxsize=64)
def _generator_comb_program(curve: "Group", mesh, affine: bool):
    from jax.sharding import PartitionSpec

    from supervm_jax.pmap.compat import shard_map
    from supervm_jax.pmap.distributed import mesh_jit
    from supervm_jax.pmap.sharding import BATCH_AXIS

    E = len(curve.coords.elem_shape)
    kernel = functools.partial(generator_comb, curve, affine)
    table_spec = PartitionSpec(*([None] * (2 + E)))
    out_spec = PartitionSpec(*([None] * (1 + E) + [BATCH_AXIS]))
    return mesh_jit(shard_map(kernel, mesh=mesh, in_specs=(table_spec, PartitionSpec(None, BATCH_AXIS)),
                              out_specs=out_spec), mesh)
