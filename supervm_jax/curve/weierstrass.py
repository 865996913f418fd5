"""Short-Weierstrass groups y^2 = x^3 + a x + b: the group algorithms, written once for every curve.

A curve is a `ShortWeierstrass` parameter object (coordinate field, a, b, subgroup order,
generator); BN254 G1/G2, BLS12-381 G1/G2 and secp256k1 are instances in `curves.py`. A batch of
points is one uint32 array of shape `(3, *elem_shape, *batch)`: homogeneous projective
coordinates (X : Y : Z) with x = X/Z, y = Y/Z, each coordinate in the coordinate field's layout
(`(L, *batch)` for Fq, `(L, 2, *batch)` for Fq2), Montgomery form. The identity is (0 : 1 : 0);
Z = 0 marks it (no flag array, no branches).

Formulas: the complete addition and doubling of Renes, Costello and Batina ("Complete addition
formulas for prime order elliptic curves", 2015), Algorithms 7 and 9 for a = 0. Complete means one
straight-line formula for P + Q for every input, P = Q, P = -Q and the identity included, so
batched kernels never branch. The products of each formula are grouped in dependency layers and
each layer's products, sums and differences are one stacked kernel call each (`coords.mul_many`,
`add_many`, `sub_many`): addition is 3 multiply calls (6, 2, 6 products), 5 adds and 3 subs.
XLA compile time grows with the number of kernel calls, not with their width, so this keeps a
point addition at about a second of compile on CPU (one call per field operation: 5-20 s).

Pure kernels: `curve.kernel(name)` or the module functions `add(curve, P, Q)`, ... (trace under
`pmap.x64_scope()`). Public methods on the curve object (`curve.add`, `curve.from_affine`, ...)
jit, pad the batch to a power-of-two bucket, and enter the 64-bit scope themselves.

Another curve shape (twisted Edwards for ed25519) is a second parameter class with the same kernel
names (identity, add, double, neg, select, eq, is_identity); `supervm_jax.msm` uses only those.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from supervm_jax.pmap.compat import with_x64

# -- kernels --------------------------------------------------------------------------------------


def _const(curve: "ShortWeierstrass", value, like: jax.Array) -> jax.Array:
    """Coordinate-field constant broadcastable against the element array `like`."""
    c = curve.coords.constant(value)
    return jnp.asarray(c).reshape(c.shape + (1,) * (like.ndim - c.ndim))


def identity(curve: "ShortWeierstrass", batch_shape: tuple[int, ...]) -> jax.Array:
    """(0 : 1 : 0) repeated: shape (3, *elem_shape, *batch_shape)."""
    E = curve.coords.elem_shape
    one = jnp.asarray(curve.coords.constant(1)).reshape(E + (1,) * len(batch_shape))
    zero = jnp.zeros(E + tuple(batch_shape), jnp.uint32)
    return jnp.stack([zero, jnp.broadcast_to(one, zero.shape), zero])


def add(curve: "ShortWeierstrass", P: jax.Array, Q: jax.Array) -> jax.Array:
    """P + Q (complete, RCB Alg. 7, a = 0): 12 products + 2 by 3b.

    Written in layers; every layer's sums, differences and products are one stacked kernel call each
    (3 multiplies, 5 adds, 3 subs per formula, whatever the coordinate field)."""
    F = curve.coords
    X1, Y1, Z1 = P[0], P[1], P[2]
    X2, Y2, Z2 = Q[0], Q[1], Q[2]
    b3 = _const(curve, curve.b3, X1)
    xy1, xy2, yz1, yz2, xz1, xz2 = F.add_many([(X1, Y1), (X2, Y2), (Y1, Z1), (Y2, Z2), (X1, Z1), (X2, Z2)])
    t0, t1, t2, t3, t4, t5 = F.mul_many([(X1, X2), (Y1, Y2), (Z1, Z2), (xy1, xy2), (yz1, yz2), (xz1, xz2)])
    t01, t12, t02, t00 = F.add_many([(t0, t1), (t1, t2), (t0, t2), (t0, t0)])
    t3, t4, y3 = F.sub_many([(t3, t01), (t4, t12), (t5, t02)])  # X1Y2+X2Y1, Y1Z2+Y2Z1, X1Z2+X2Z1
    (t0,) = F.add_many([(t00, t0)])  # 3 X1X2
    t2, y3 = F.mul_many([(t2, b3), (y3, b3)])
    (z3,) = F.add_many([(t1, t2)])
    (t1,) = F.sub_many([(t1, t2)])
    x3, t2, y3, t1, t0, z3 = F.mul_many([(t4, y3), (t3, t1), (y3, t0), (t1, z3), (t0, t3), (z3, t4)])
    (x3,) = F.sub_many([(t2, x3)])
    y3, z3 = F.add_many([(t1, y3), (z3, t0)])
    return jnp.stack([x3, y3, z3])


def double(curve: "ShortWeierstrass", P: jax.Array) -> jax.Array:
    """2P (complete, RCB Alg. 9, a = 0), in layers: 3 multiplies (the small constants 8, 2, 3 are
    folded into the second), 2 adds, 1 sub."""
    F = curve.coords
    X, Y, Z = P[0], P[1], P[2]
    c = lambda v: _const(curve, v, X)  # noqa: E731
    t0, t1, t2, xy = F.mul_many([(Y, Y), (Y, Z), (Z, Z), (X, Y)])
    t2b, t2b3, z8, xy2 = F.mul_many([(t2, c(curve.b3)), (t2, c(curve.b9)), (t0, c(8)), (xy, c(2))])
    (y3,) = F.add_many([(t0, t2b)])
    (t0,) = F.sub_many([(t0, t2b3)])
    x3, z3, y3, x3b = F.mul_many([(t2b, z8), (t1, z8), (t0, y3), (t0, xy2)])
    (y3,) = F.add_many([(x3, y3)])
    return jnp.stack([x3b, y3, z3])


def neg(curve: "ShortWeierstrass", P: jax.Array) -> jax.Array:
    """-P = (X : -Y : Z)."""
    return jnp.stack([P[0], curve.coords.neg(P[1]), P[2]])


def select(curve: "ShortWeierstrass", cond: jax.Array, P: jax.Array, Q: jax.Array) -> jax.Array:
    """`P if cond else Q` per batch position; cond has the batch shape."""
    return jnp.where(cond.reshape((1,) * (1 + len(curve.coords.elem_shape)) + cond.shape), P, Q)


def is_identity(curve: "ShortWeierstrass", P: jax.Array) -> jax.Array:
    """Boolean (batch): Z == 0."""
    return curve.coords.is_zero(P[2])


def eq(curve: "ShortWeierstrass", P: jax.Array, Q: jax.Array) -> jax.Array:
    """Boolean (batch): same group element (X1 Z2 = X2 Z1 and Y1 Z2 = Y2 Z1; identity-safe)."""
    F = curve.coords
    a, b, c, d = F.mul_many([(P[0], Q[2]), (Q[0], P[2]), (P[1], Q[2]), (Q[1], P[2])])
    return F.eq(a, b) & F.eq(c, d)


def is_on_curve(curve: "ShortWeierstrass", P: jax.Array) -> jax.Array:
    """Boolean (batch): Y^2 Z = X^3 + b Z^3 and (X, Y, Z) != 0 (the identity counts as on the curve)."""
    F = curve.coords
    X, Y, Z = P[0], P[1], P[2]
    yy, xx, zz, bz = F.mul_many([(Y, Y), (X, X), (Z, Z), (Z, _const(curve, curve.b, Z))])
    y2z, x3, bz3 = F.mul_many([(yy, Z), (xx, X), (zz, bz)])
    (rhs,) = F.add_many([(x3, bz3)])
    return F.eq(y2z, rhs) & ~(F.is_zero(X) & F.is_zero(Y) & F.is_zero(Z))


def scalar_mul_bits(curve: "ShortWeierstrass", P: jax.Array, bits: jax.Array) -> jax.Array:
    """k P per batch position by a Montgomery ladder; bits: (nbits, *batch) bool, most significant first
    (batch may broadcast, e.g. (nbits, 1) for one scalar). One complete addition per bit, on a stacked
    batch of (R0 + R1, 2 T) with T = R_bit, so the ladder is one add call site and has no branches."""
    batch = P.shape[1 + len(curve.coords.elem_shape):]
    bits = jnp.broadcast_to(bits, bits.shape[:1] + batch)
    n = int(np.prod(batch)) if batch else 1
    pf = P.reshape(P.shape[: P.ndim - len(batch)] + (n,))
    bf = bits.reshape(bits.shape[0], n)

    def step(i, carry):
        r0, r1 = carry
        bit = bf[i]
        t = select(curve, bit, r1, r0)
        out = add(curve, jnp.concatenate([r0, t], axis=-1), jnp.concatenate([r1, t], axis=-1))
        s, d = out[..., :n], out[..., n:]
        return select(curve, bit, s, d), select(curve, bit, d, s)

    r0, _ = lax.fori_loop(0, bf.shape[0], step, (identity(curve, (n,)), pf))
    return r0.reshape(P.shape)


def in_subgroup(curve: "ShortWeierstrass", P: jax.Array) -> jax.Array:
    """Boolean (batch): on the curve and r P = identity (just on-curve where the cofactor is 1)."""
    on = is_on_curve(curve, P)
    if curve.cofactor_is_one:
        return on
    bits = jnp.asarray(int_bits(curve.order, curve.order.bit_length()))[:, None]
    return on & is_identity(curve, scalar_mul_bits(curve, P, bits))


def int_bits(k: int, nbits: int) -> np.ndarray:
    """Bits of k, most significant first, shape (nbits,) bool."""
    return np.array([(k >> i) & 1 for i in range(nbits - 1, -1, -1)], bool)


_KERNELS = {
    "add": add, "double": double, "neg": neg, "select": select, "is_identity": is_identity, "eq": eq,
    "is_on_curve": is_on_curve, "scalar_mul_bits": scalar_mul_bits, "in_subgroup": in_subgroup,
    "identity": identity,
}


# -- parameter object and public API ---------------------------------------------------------------


MIN_BUCKET = 64  # batches up to 64 share one compiled kernel (compiles cost seconds, small batches microseconds)


def _bucket(n: int) -> int:
    return max(MIN_BUCKET, 1 << max(n - 1, 0).bit_length())


class ShortWeierstrass:
    """A prime-order (sub)group of y^2 = x^3 + a x + b over a coordinate field (Fq or Fq2).

    Attributes:
      name; coords (`coords.PrimeCoords` / `coords.ExtCoords`); a, b (coordinate-field values: an
      int, or a (c0, c1) pair over Fq2); order (r, the prime subgroup order); generator (affine
      value); cofactor_is_one; scalar_field (the PrimeField of Z/r); point_shape
      ((3, *elem_shape): the leading axes of a point batch); encoding ("zcash" for BLS12-381's
      flagged encodings, "plain" for x || y with the identity as zeros); py_ecc ((module, kind) for
      conversions, kind "optimized" or "affine").
    """

    form = "short_weierstrass"

    def __init__(self, name: str, coords, a, b, order: int, generator, scalar_field, *,
                 cofactor_is_one: bool, encoding: str = "plain", py_ecc: tuple[str, str] | None = None):
        if a not in (0, (0, 0)):
            raise NotImplementedError(f"{name}: only a = 0 curves are implemented (RCB Alg. 7/9)")
        self.name = name
        self.coords = coords
        self.a, self.b = a, b
        self.order = order
        self.generator = generator
        self.scalar_field = scalar_field
        self.cofactor_is_one = cofactor_is_one
        self.encoding = encoding
        self.py_ecc = py_ecc
        self.point_shape = (3,) + tuple(coords.elem_shape)
        self.scalar_bits = order.bit_length()
        host = coords.host_ops()
        self.b3 = host.add(host.add(b, b), b) if isinstance(b, tuple) else 3 * b % coords.modulus
        self.b9 = host.add(host.add(self.b3, self.b3), self.b3) if isinstance(b, tuple) else 9 * b % coords.modulus

    def __repr__(self) -> str:
        return f"ShortWeierstrass({self.name})"

    # kernels
    def kernel(self, name: str):
        """Pure kernel `name` with this curve bound (trace under x64_scope): add(P, Q), double(P),
        neg(P), select(cond, P, Q), is_identity(P), eq(P, Q), is_on_curve(P), in_subgroup(P),
        scalar_mul_bits(P, bits), identity(batch_shape)."""
        return self._kernels[name]

    @functools.cached_property
    def _kernels(self) -> dict:
        return {name: functools.partial(fn, self) for name, fn in _KERNELS.items()}

    @functools.cached_property
    def _jitted(self) -> dict:
        return {name: jax.jit(self._kernels[name]) for name in
                ("add", "double", "neg", "eq", "is_identity", "is_on_curve", "in_subgroup", "scalar_mul_bits")}

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
        size = _bucket(n)
        padded = [jnp.pad(jnp.asarray(x), [(0, 0)] * (x.ndim - 1) + [(0, size - n)]) for x in arrays]
        padded_extra = [jnp.pad(e, [(0, 0)] * (e.ndim - 1) + [(0, size - n)]) if e.shape[-1] == n and n != 1 else e
                        for e in extra]
        out = with_x64(self._jitted[name])(*padded, *padded_extra)
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
        """k_i P_i (or k P_i for one int k). Scalars must be ints in [0, r) (ValueError naming the index)."""
        n = self._check(P)
        ks = [scalars] if isinstance(scalars, (int, np.integer)) else list(scalars)
        if len(ks) not in (1, n):
            raise ValueError(f"{self.name}.scalar_mul: {len(ks)} scalars for {n} points")
        for i, k in enumerate(ks):
            if not isinstance(k, (int, np.integer)) or not 0 <= k < self.order:
                raise ValueError(f"{self.name}.scalar_mul: scalar {i} = {k!r} is not an int in [0, r)")
        bits = np.stack([int_bits(int(k), self.scalar_bits) for k in ks], axis=1)
        return self._run("scalar_mul_bits", P, extra=(jnp.asarray(bits),))

    def generator_points(self, n: int = 1) -> jax.Array:
        """The generator repeated n times, (3, *elem_shape, n)."""
        return self.from_affine([self.generator] * n)

    # -- host conversions ---------------------------------------------------------------------------

    def affine_limbs(self, points: Sequence[Any]) -> np.ndarray:
        """Host: affine values (x, y) (ints, or (c0, c1) pairs over Fq2; None = identity) ->
        projective Montgomery limbs (3, *elem_shape, n) as numpy. Checks only that coordinates are
        canonical field elements (ValueError / TypeError naming the point index)."""
        points = list(points)
        zero = (0, 0) if self.coords.degree == 2 else 0
        xs, ys, finite = [], [], []
        for i, pt in enumerate(points):
            if pt is None:
                xs.append(zero), ys.append(zero), finite.append(False)
                continue
            if not (isinstance(pt, (tuple, list)) and len(pt) == 2):
                raise TypeError(f"{self.name}: point {i} is not an affine (x, y) pair or None: {pt!r}")
            xs.append(pt[0]), ys.append(pt[1]), finite.append(True)
        E = self.coords.elem_shape
        if not points:
            return np.zeros(self.point_shape + (0,), np.uint32)
        x = self.coords.limbs_from_ints(xs, f"{self.name}: point")
        y = self.coords.limbs_from_ints(ys, f"{self.name}: point")
        one = self.coords.constant(1).reshape(E + (1,))
        finite = np.asarray(finite)
        z = np.where(finite, one, 0).astype(np.uint32)
        y = np.where(finite, y, one).astype(np.uint32)
        return np.stack([x, y, z])

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

    def to_affine(self, P: jax.Array) -> list[Any]:
        """(3, *elem_shape, n) -> list of affine values, None for the identity (host Python inversion)."""
        self._check(P)
        P = np.asarray(P).reshape(self.point_shape + (-1,))
        X, Y, Z = (self.coords.ints_from_limbs(P[k]) for k in range(3))
        out = []
        if self.coords.degree == 1:
            p = self.coords.modulus
            for x, y, z in zip(X, Y, Z):
                if z == 0:
                    out.append(None)
                else:
                    zi = pow(z, -1, p)
                    out.append((x * zi % p, y * zi % p))
            return out
        host = self.coords.host_ops()
        p = self.coords.modulus
        for x, y, z in zip(X, Y, Z):
            if z == (0, 0):
                out.append(None)
                continue
            norm_inv = pow((z[0] * z[0] - host.beta * z[1] * z[1]) % p, -1, p)
            zi = (z[0] * norm_inv % p, -z[1] * norm_inv % p)
            out.append((host.mul(x, zi), host.mul(y, zi)))
        return out

    def from_py_ecc(self, points: Iterable[Any], subgroup_check: bool = False) -> jax.Array:
        """py_ecc points (optimized_* projective triples, or secp256k1 affine int pairs) -> device array."""
        return self.from_affine([self._py_ecc_to_affine(pt) for pt in points], subgroup_check)

    def to_py_ecc(self, P: jax.Array) -> list[Any]:
        """Device array -> py_ecc points (the identity as the module's Z1/Z2, or (0, 0) for secp256k1)."""
        module_name, kind = self._py_ecc_spec()
        module = importlib.import_module(module_name)
        out = []
        for pt in self.to_affine(P):
            if kind == "affine":
                out.append((0, 0) if pt is None else pt)
                continue
            if self.coords.degree == 1:
                f = module.FQ
                out.append((f.one(), f.one(), f.zero()) if pt is None else (f(pt[0]), f(pt[1]), f.one()))
            else:
                f = module.FQ2
                out.append((f.one(), f.one(), f.zero()) if pt is None else (f(list(pt[0])), f(list(pt[1])), f.one()))
        return out

    def _py_ecc_spec(self) -> tuple[str, str]:
        if self.py_ecc is None:
            raise NotImplementedError(f"{self.name}: no py_ecc counterpart")
        return self.py_ecc

    def _py_ecc_to_affine(self, pt):
        _, kind = self._py_ecc_spec()
        if pt is None:
            return None
        if kind == "affine":
            return None if tuple(pt) == (0, 0) else (int(pt[0]), int(pt[1]))
        x, y, z = pt
        if z == z.zero():
            return None
        x, y = x / z, y / z
        if self.coords.degree == 1:
            return (int(x.n), int(y.n))
        return (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs))

    # -- fixed-base multiples of the generator (byte-window comb) -----------------------------------

    GENERATOR_CHUNK = 1 << 15  # points per device call of `generator_mul` (bounded memory, one compile)

    @functools.cached_property
    def generator_table(self) -> jax.Array:
        """(3, *elem_shape, W * 256) device table of b 2^(8 w) G for window w < W = ceil(bits / 8),
        byte b < 256, entry w * 256 + b (b = 0 is the identity). Built once per curve on device."""
        with _x64_scope():
            G = jnp.asarray(self.affine_limbs([self.generator]))
            return _generator_table_kernel(self)(G)

    def generator_mul(self, scalars: Sequence[int] | np.ndarray, *, mesh=None, affine: bool = False) -> jax.Array:
        """k_i G for many scalars: a fixed-base comb over byte windows (`generator_table`), summed by
        one `lax.fori_loop` with a single complete-addition call site (W = 32 additions per point),
        sharded over `mesh` (default: all devices) in chunks of GENERATOR_CHUNK points.

        scalars: ints in [0, r), or an (n, L) uint32 array of little-endian standard-form limbs
        (values < r). Returns (3, *elem_shape, n) projective points, or with affine=True the affine
        coordinates (2, *elem_shape, n) in Montgomery form, (0, 0) for the identity (k = 0),
        normalized on device by one batch inversion per chunk."""
        digits = _scalar_bytes(self, scalars)  # (W, n) int32
        n = digits.shape[1]
        out_rows = 2 if affine else 3
        if n == 0:
            return jnp.zeros((out_rows,) + tuple(self.coords.elem_shape) + (0,), jnp.uint32)
        from supervm_jax.pmap.sharding import device_mesh, padded_length

        mesh = mesh or device_mesh()
        chunk = padded_length(min(_bucket(n), self.GENERATOR_CHUNK), mesh.size)
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


def _scalar_bytes(curve: ShortWeierstrass, scalars) -> np.ndarray:
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
def _generator_table_kernel(curve: ShortWeierstrass):
    """jit: G (3, *E, 1) -> (3, *E, W * 256) with entry w * 256 + b = b 2^(8 w) G."""
    W = -(-curve.scalar_bits // 8)

    def run(G):
        def window(carry, _):
            nxt = lax.fori_loop(0, 8, lambda _, x: double(curve, x), carry)
            return nxt, carry[..., 0]

        _, bases = lax.scan(window, G, None, length=W)  # (W, 3, *E)
        bases = jnp.moveaxis(bases, 0, -1)  # (3, *E, W)

        def multiple(acc, _):
            return add(curve, acc, bases), acc

        _, rows = lax.scan(multiple, identity(curve, (W,)), None, length=256)  # (256, 3, *E, W): b * base_w
        return jnp.moveaxis(rows, 0, -1).reshape(bases.shape[:-1] + (W * 256,))

    return jax.jit(run)


def _generator_comb(curve: ShortWeierstrass, affine: bool, table: jax.Array, digits: jax.Array) -> jax.Array:
    """Kernel: sum_w table[w * 256 + digits[w]] for digits (W, n) -> (3, *E, n) (or affine (2, *E, n))."""
    W = digits.shape[0]

    def step(w, acc):
        return add(curve, acc, jnp.take(table, w * 256 + digits[w], axis=-1))

    acc = lax.fori_loop(1, W, step, jnp.take(table, digits[0], axis=-1))
    if not affine:
        return acc
    F = curve.coords
    zinv = F.batch_inv(acc[2])
    x, y = F.mul_many([(acc[0], zinv), (acc[1], zinv)])
    return jnp.stack([x, y])  # the identity (Z = 0) gives zinv = 0, so (0, 0)


@functools.lru_cache(maxsize=64)
def _generator_comb_program(curve: ShortWeierstrass, mesh, affine: bool):
    from jax.sharding import PartitionSpec

    from supervm_jax.pmap.compat import shard_map
    from supervm_jax.pmap.sharding import BATCH_AXIS

    E = len(curve.coords.elem_shape)
    kernel = functools.partial(_generator_comb, curve, affine)
    table_spec = PartitionSpec(*([None] * (2 + E)))
    out_spec = PartitionSpec(*([None] * (1 + E) + [BATCH_AXIS]))
    return jax.jit(shard_map(kernel, mesh=mesh, in_specs=(table_spec, PartitionSpec(None, BATCH_AXIS)),
                             out_specs=out_spec))
