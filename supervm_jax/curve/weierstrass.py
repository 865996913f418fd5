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

The other curve shape, twisted Edwards (ed25519), is `edwards.py`, with the same kernel names;
what both shapes share (the padded public methods, the ladder, the subgroup check, `eq`, the
generator comb) is written once in `group.py`. `supervm_jax.msm` uses only the kernel names.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from supervm_jax import native
from supervm_jax.curve.group import GENERIC_KERNELS, MIN_BUCKET, Group
from supervm_jax.field import montgomery as mont
from supervm_jax.pmap.compat import with_x64
from supervm_jax.pmap.sharding import lane_bucket, mesh_platform

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


def is_on_curve(curve: "ShortWeierstrass", P: jax.Array) -> jax.Array:
    """Boolean (batch): Y^2 Z = X^3 + b Z^3 and (X, Y, Z) != 0 (the identity counts as on the curve)."""
    F = curve.coords
    X, Y, Z = P[0], P[1], P[2]
    yy, xx, zz, bz = F.mul_many([(Y, Y), (X, X), (Z, Z), (Z, _const(curve, curve.b, Z))])
    y2z, x3, bz3 = F.mul_many([(yy, Z), (xx, X), (zz, bz)])
    (rhs,) = F.add_many([(x3, bz3)])
    return F.eq(y2z, rhs) & ~(F.is_zero(X) & F.is_zero(Y) & F.is_zero(Z))


def lift_x(curve: "ShortWeierstrass", x_std: jax.Array, odd: jax.Array,
           native_pow: bool = False) -> tuple[jax.Array, jax.Array]:
    """The point with x-coordinate x and y of parity `odd`, for prime-field curves with p = 3 mod 4
    (SEC 1 decompression, BIP-340's lift_x with odd = False).

    x_std: (L, n) uint32 standard-form limbs, values < p (callers check); odd: (n,) bool. Returns
    (points (3, L, n), ok (n,) bool); ok is False where x^3 + b is not a square (the slot then holds
    the identity). One exponentiation by (p + 1) / 4 per lane (in C++ with native_pow, CPU only)."""
    F = curve.coords
    spec = F.spec
    x = mont.to_montgomery(spec, x_std)
    (xx,) = F.mul_many([(x, x)])
    (xxx,) = F.mul_many([(xx, x)])
    (rhs,) = F.add_many([(xxx, _const(curve, curve.b, x))])
    y = (native.field_pow if native_pow else mont.pow_int)(spec, rhs, (F.modulus + 1) // 4)
    (yy,) = F.mul_many([(y, y)])
    ok = F.eq(yy, rhs)
    y_odd = (mont.from_montgomery(spec, y)[0] & 1) == 1
    y = jnp.where((y_odd != odd)[None], F.neg(y), y)
    one = jnp.broadcast_to(_const(curve, 1, x), x.shape)
    zero = jnp.zeros_like(x)
    return jnp.stack([jnp.where(ok[None], x, zero), jnp.where(ok[None], y, one), jnp.where(ok[None], one, zero)]), ok


_KERNELS = {
    "add": add, "double": double, "neg": neg, "select": select, "is_identity": is_identity,
    "is_on_curve": is_on_curve, "identity": identity, "lift_x": lift_x, **GENERIC_KERNELS,
}


# -- parameter object and public API ---------------------------------------------------------------


class ShortWeierstrass(Group):
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

    KERNELS = _KERNELS

    def lift_x(self, x_std: np.ndarray, odd: np.ndarray) -> tuple[jax.Array, np.ndarray]:
        """Host entry to the `lift_x` kernel: x_std (L, n) uint32 standard-form limbs (< p), odd (n,)
        bool -> (points (3, L, n) on device, ok (n,) numpy bool). Batches padded to power-of-two
        buckets (few compiles)."""
        if self.coords.degree != 1 or self.coords.modulus % 4 != 3:
            raise NotImplementedError(f"{self.name}: lift_x needs a prime field with p = 3 mod 4")
        n = x_std.shape[-1]
        platform = mesh_platform()  # no mesh here: the default backend
        size = lane_bucket(n, platform, MIN_BUCKET)
        use_native = native.pow_available(self.coords.spec, platform)
        pts, ok = _lift_x_program(self, use_native)(jnp.asarray(np.pad(x_std, [(0, 0), (0, size - n)])), jnp.asarray(np.pad(odd, (0, size - n))))
        return pts[..., :n], np.asarray(ok)[:n]

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


@functools.lru_cache(maxsize=None)
def _lift_x_program(curve: ShortWeierstrass, use_native: bool):
    """The jitted `lift_x` kernel for the default device (native exponentiation on a CPU)."""
    return with_x64(jax.jit(functools.partial(curve.kernel("lift_x"), native_pow=use_native)))
