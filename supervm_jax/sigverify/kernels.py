"""The device half of every verifier: per-signature double-scalar multiplication, sharded.

Each signature needs [a]G + [b]P with G the curve's generator and P its own key. Both halves are
straight-line, batched over signatures (one lane per signature) and branch-free:

* [a]G: the generator's fixed-base comb (`Group.generator_table`, 32 byte windows, 31 additions
  with one addition call site; `curve.group.generator_comb`).
* [b]P: a 4-bit fixed window, most significant first: a per-lane table of 0P..15P (14 additions),
  then 64 windows of 4 doublings and one addition of the looked-up multiple. On secp256k1 the scalar
  is split by the GLV endomorphism (`curve/glv.py`): [b]P = [b1](+-P) + [b2](+-phi(P)) with 128-bit
  halves, 32 windows of 4 doublings and two additions (Straus, doublings shared).

About 256 doublings and 110 additions per signature (128 and 140 with GLV). On a CPU mesh the same computation runs in
C++ (`supervm_jax.native.double_mul`, the same digits and formulas, one lane after another) when
the native library is available: XLA's CPU code reaches a few M field multiplies per second per
core, the C++ loop tens of M (docs/SIGVERIFY.md). The choice is made from the mesh's platform
(`native_for`), never from the default backend. `run_sharded` splits the lanes over every
device of a mesh with `shard_map` (the comb table replicated), pads the batch to a power-of-two
share per device (few compiled programs) and runs it in chunks of `CHUNK` signatures (bounded
memory); results are per lane, so 1 and 8 devices give the same bits.

Host helpers turn scalars into the digit arrays the kernels take.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh

from supervm_jax import native
from supervm_jax.curve.group import generator_comb
from supervm_jax.pmap.sharding import mesh_platform
from supervm_jax.pmap.sharding import run_sharded as _run_sharded

WINDOW_BITS = 4
CHUNK = 1 << 14  # signatures per device program call


# -- host: scalars -> digits ----------------------------------------------------------------------


def ints_to_le_bytes(values: list[int], width: int = 32) -> np.ndarray:
    """Python ints in [0, 2^(8 width)) -> (n, width) uint8, little-endian."""
    raw = b"".join(int(v).to_bytes(width, "little") for v in values)
    return np.frombuffer(raw, np.uint8).reshape(len(values), width)


def comb_digits(le_bytes: np.ndarray, windows: int) -> np.ndarray:
    """(n, >= windows) uint8 little-endian scalars -> (windows, n) int32 byte digits for the comb."""
    return np.ascontiguousarray(le_bytes[:, :windows].T).astype(np.int32)


def window_digits(le_bytes: np.ndarray) -> np.ndarray:
    """(n, w) uint8 little-endian scalars -> (2 w, n) int32 4-bit digits, most significant first."""
    be = le_bytes[:, ::-1]
    nib = np.stack([be >> 4, be & 15], axis=-1).reshape(be.shape[0], -1)
    return np.ascontiguousarray(nib.T).astype(np.int32)


def glv_digits(curve, scalars: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """[k] P as [|k1|] (+-P) + [|k2|] (+-phi(P)) (`curve.endomorphism`): returns (digits (2, 32, n)
    int32 4-bit digits of |k1|, |k2|, most significant first; negate (2, n) bool, the signs)."""
    endo = curve.endomorphism
    halves, signs = [], []
    for k in scalars:
        k1, k2 = endo.split(k)
        if abs(k1) >> 128 or abs(k2) >> 128:  # excluded by the basis bound (docs/SIGVERIFY.md)
            raise RuntimeError(f"GLV split of {k} exceeds 128 bits")
        halves += [abs(k1), abs(k2)]
        signs.append((k1 < 0, k2 < 0))
    digits = window_digits(ints_to_le_bytes(halves, 16))  # (32, 2 n): lane i at columns 2i, 2i + 1
    return np.ascontiguousarray(digits.reshape(32, -1, 2).transpose(2, 0, 1)), np.array(signs, bool).T.reshape(2, -1)


def glv_bases(curve, P: jax.Array, negate: jax.Array) -> jax.Array:
    """Kernel: (+-P, +-phi(P)) stacked as (2, *point_shape, n) for `glv_digits`' signs; phi(X : Y : Z)
    = (beta X : Y : Z). Pure; trace under x64_scope."""
    F = curve.coords
    (bx,) = F.mul_many([(P[0], jnp.asarray(F.constant(curve.endomorphism.beta))[:, None])])
    phi = jnp.stack([bx, P[1], P[2]])
    neg = curve.kernel("neg")
    return jnp.stack([curve.kernel("select")(negate[0], neg(P), P), curve.kernel("select")(negate[1], neg(phi), phi)])


# -- kernels --------------------------------------------------------------------------------------


def variable_base_mul(curve, P: jax.Array, digits: jax.Array) -> jax.Array:
    """sum_j [b_ij] P_ij per lane i (Straus: the doublings shared by the m bases). P: (m, *point_shape,
    n); digits: (m, D, n) int32 4-bit digits of b_ij, most significant first. Pure; trace under
    x64_scope."""
    add, dbl = curve.kernel("add"), curve.kernel("double")
    m, n = P.shape[0], P.shape[-1]
    ident = curve.kernel("identity")((m * n,))
    flat_bases = jnp.moveaxis(P, 0, -2).reshape(P.shape[1:-1] + (m * n,))  # column j n + i: base j of lane i

    def multiple(prev, _):
        nxt = add(prev, flat_bases)
        return nxt, nxt

    _, higher = lax.scan(multiple, ident, None, length=(1 << WINDOW_BITS) - 1)  # 1P .. 15P of every base
    table = jnp.concatenate([ident[None], higher])  # (16, *point_shape, m n), column = base * n + lane
    flat = jnp.moveaxis(table, 0, -2).reshape(P.shape[1:-1] + ((1 << WINDOW_BITS) * m * n,))
    lanes = jnp.arange(n, dtype=jnp.int32)

    def window(w, acc):
        acc = lax.fori_loop(0, WINDOW_BITS, lambda _, x: dbl(x), acc)
        for j in range(m):
            acc = add(acc, jnp.take(flat, digits[j, w] * (m * n) + j * n + lanes, axis=-1))
        return acc

    return lax.fori_loop(0, digits.shape[1], window, curve.kernel("identity")((n,)))


def double_mul(curve, table: jax.Array, g_digits: jax.Array, P: jax.Array, p_digits: jax.Array,
               native_kernel: bool = False) -> jax.Array:
    """[a_i]G + sum_j [b_ij]P_ij per lane (projective). table: `comb_table(curve, native_kernel)`;
    g_digits: (W, n) comb byte digits of a_i; P (m, *point_shape, n), p_digits (m, D, n) as in
    `variable_base_mul` (m = 1, D = 64 for a plain scalar; m = 2, D = 32 for a GLV split).
    native_kernel: run the C++ kernel (CPU meshes only, see `native_for`)."""
    if native_kernel:
        return native.double_mul(curve, table, g_digits, P, p_digits)
    return curve.kernel("add")(generator_comb(curve, False, table, g_digits), variable_base_mul(curve, P, p_digits))


def native_for(curve, mesh: Mesh) -> bool:
    """Whether `double_mul` runs in C++ on this mesh: its devices are CPUs and the native library
    serves the curve (`SUPERVM_NATIVE=0` turns it off)."""
    return native.double_mul_available(curve, mesh_platform(mesh))


@functools.lru_cache(maxsize=None)
def _point_major_table(curve) -> np.ndarray:
    return native.point_major_table(curve, curve.generator_table)


def comb_table(curve, native_kernel: bool):
    """The generator's comb table in the layout `double_mul` reads: limb-major for JAX, point-major
    for C++ (converted once per curve)."""
    return _point_major_table(curve) if native_kernel else curve.generator_table


def run_sharded(kernel: Callable, replicated: tuple, batched: tuple, *, mesh: Mesh | None = None,
                out_ndim: int = 1) -> np.ndarray:
    """`pmap.run_sharded` in chunks of CHUNK signatures."""
    return _run_sharded(kernel, replicated, batched, mesh=mesh, out_ndim=out_ndim, chunk=CHUNK)


def be_bytes_to_limbs(rows: np.ndarray) -> np.ndarray:
    """(n, 32) uint8 big-endian values -> (8, n) uint32 standard-form little-endian limbs."""
    le = np.ascontiguousarray(rows[:, ::-1])
    return np.ascontiguousarray(le.view("<u4").reshape(rows.shape[0], 8).T).astype(np.uint32)


def ints_to_limbs(values: list[int]) -> np.ndarray:
    """Python ints in [0, 2^256) -> (8, n) uint32 standard-form little-endian limbs."""
    return np.ascontiguousarray(ints_to_le_bytes(values).view("<u4").reshape(len(values), 8).T).astype(np.uint32)
