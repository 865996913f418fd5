"""Montgomery multiplication as a Pallas kernel: one program per block of lanes, all limbs in registers.

Same representation and result as `montgomery.mont_mul` (the reference): elements are `L`
little-endian 32-bit limbs stored as uint32, limb-major `(L, *batch)`, Montgomery form. A grid of
`ceil(n / block)` programs each loads an `(L, block)` tile of `a` and `b`, runs textbook CIOS
(Koc, Acar, Kaliski 1996) on vectors of `block` lanes and stores the `(L, block)` result, so the
whole multiply is one pass over memory: 2 x 4L bytes read and 4L bytes written per element.

Arithmetic: limbs are widened to uint64 and every step computes `t + x * y + carry`, which is at
most (2^32 - 1) + (2^32 - 1)^2 + (2^32 - 1) = 2^64 - 1, so it never overflows. The kernel must be
traced with 64-bit types on (`supervm_jax.pmap.compat.x64_scope`). On GPU the kernel is lowered
with Pallas' Triton backend by default (selected explicitly: JAX 0.10 otherwise picks Mosaic GPU);
Triton keeps the uint64 values as i64 and LLVM can turn `zext * zext` into 32x32->64-bit
multiplies. `backend="mosaic_gpu"` lowers the same kernel with Mosaic GPU (Hopper and newer) for
comparison. On CPU only Pallas' interpret mode exists: correct, but orders of magnitude slower than
`mont_mul`. See docs/PALLAS.md.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import mosaic_gpu as pl_mosaic_gpu
from jax.experimental.pallas import triton as pl_triton

from supervm_jax.field.montgomery import MontgomerySpec
from supervm_jax.pmap.platform import trace_platform

DEFAULT_BLOCK = 256  # lanes per program: 2 elements per thread with Triton's default 4 warps
TRITON_NUM_WARPS = 4
_LO = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)
_u32, _u64 = jnp.uint32, jnp.uint64
BACKENDS = ("triton", "mosaic_gpu")


def _zeros_like_lanes(x: jax.Array) -> jax.Array:
    """Zeros shaped like the lane vector x, computed from x.

    Mosaic GPU gives a constant a splat layout and a loaded vector a strided one, and its fori_loop
    requires the carry's layouts to stay the same, so zeros that meet loaded vectors are derived from data.
    """
    return x ^ x


def _split(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """uint64 vector -> (low 32 bits, high 32 bits), both uint64."""
    return x & _LO, x >> _SHIFT


def _multiply_row(t: list[jax.Array], a: list[jax.Array], b_i: jax.Array) -> list[jax.Array]:
    """t += a * b_i for one 32-bit word b_i.

    t: L + 2 words (uint64 vectors holding values < 2^32); a: L words; b_i: uint64 vector < 2^32.
    Returns the L + 2 new words (the value t + a * b_i < 2^(32(L+2)) by the CIOS invariant).
    """
    n_limbs = len(a)
    out, carry = [], _zeros_like_lanes(b_i)
    for j in range(n_limbs):
        word, carry = _split(t[j] + a[j] * b_i + carry)
        out.append(word)
    word, carry = _split(t[n_limbs] + carry)
    return out + [word, t[n_limbs + 1] + carry]


def _reduce_row(spec: MontgomerySpec, t: list[jax.Array]) -> list[jax.Array]:
    """(t + m p) / 2^32 with m = t[0] * (-p^-1) mod 2^32, which makes the low word vanish.

    t: L + 2 words (uint64 vectors < 2^32). Returns L + 2 words, the last one zero.
    """
    p = [np.uint64(limb) for limb in spec.p_limbs]
    n_limbs = spec.n_limbs
    m = (t[0].astype(_u32) * spec.n_prime).astype(_u64)  # a 32-bit multiply: only m mod 2^32 matters
    _, carry = _split(t[0] + m * p[0])
    out = []
    for j in range(1, n_limbs):
        word, carry = _split(t[j] + m * p[j] + carry)
        out.append(word)
    word, carry = _split(t[n_limbs] + carry)
    return out + [word, t[n_limbs + 1] + carry, _zeros_like_lanes(m)]


def _subtract_p_if_needed(spec: MontgomerySpec, t: list[jax.Array]) -> list[jax.Array]:
    """t mod p for t < 2p given as L words plus a top word (uint64 vectors, words < 2^32, top in {0, 1}).

    Returns L uint32 vectors.
    """
    p = [np.uint64(limb) for limb in spec.p_limbs]
    diff, borrow = [], _zeros_like_lanes(t[0])
    for j in range(spec.n_limbs):
        x = t[j] - p[j] - borrow
        diff.append(x & _LO)
        borrow = x >> np.uint64(63)
    keep = (t[spec.n_limbs] == 0) & (borrow == 1)  # t < p
    return [jnp.where(keep, t[j], diff[j]).astype(_u32) for j in range(spec.n_limbs)]


def _mont_mul_kernel(spec: MontgomerySpec, a_ref, b_ref, out_ref) -> None:
    """One program: out = a * b * 2^(-32L) mod p on an (L, block) uint32 tile of each operand.

    The row loop over the words of b is a `fori_loop` (scf.for in Triton); its carry is the L + 2
    accumulator words as (block,) uint64 vectors. Limbs are loaded and stored one (block,) row at a
    time, so only the lane count has to be a power of two for Triton, not L.
    """
    n_limbs = spec.n_limbs
    a = [a_ref[j, :].astype(_u64) for j in range(n_limbs)]

    def row(i, t):
        b_i = b_ref[i, :].astype(_u64)
        return tuple(_reduce_row(spec, _multiply_row(list(t), a, b_i)))

    zero = _zeros_like_lanes(a[0])
    t = lax.fori_loop(0, n_limbs, row, (zero,) * (n_limbs + 2))
    for j, limb in enumerate(_subtract_p_if_needed(spec, list(t[: n_limbs + 1]))):
        out_ref[j, :] = limb


def _check_inputs(spec: MontgomerySpec, a: jax.Array, b: jax.Array, block: int, backend: str) -> None:
    if a.dtype != _u32 or b.dtype != _u32 or a.shape[0] != spec.n_limbs:
        raise TypeError(f"expected uint32 arrays of shape ({spec.n_limbs}, ...), got {a.dtype} {a.shape}, {b.dtype} {b.shape}")
    if block < 1 or block & (block - 1):
        raise ValueError(f"block must be a power of two (Triton tensor sizes), got {block}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if jax.dtypes.canonicalize_dtype(_u64) != _u64:
        raise RuntimeError("mont_mul_pallas needs 64-bit types: trace it under supervm_jax.pmap.compat.x64_scope()")


def _compiler_params(backend: str):
    """Pallas compiler parameters that select the GPU lowering (ignored in interpret mode)."""
    if backend == "triton":
        return pl_triton.CompilerParams(num_warps=TRITON_NUM_WARPS)
    return pl_mosaic_gpu.CompilerParams()


def mont_mul_pallas(
    spec: MontgomerySpec,
    a: jax.Array,
    b: jax.Array,
    *,
    block: int = DEFAULT_BLOCK,
    interpret: bool | None = None,
    backend: str = "triton",
) -> jax.Array:
    """a * b * 2^(-32L) mod p, equal to `montgomery.mont_mul(spec, a, b)`, as one Pallas kernel.

    a: (L, *batch) uint32 < 2^(32L); b: (L, *batch) uint32 < p (broadcastable against each other).
    Result: (L, *batch) uint32, canonical (< p). `block`: lanes (elements) per program, a power of
    two; the flattened batch is zero-padded to a multiple of it. `interpret`: None runs Pallas'
    interpret mode when the program is for a CPU (`pmap.trace_platform`) and the compiled kernel
    otherwise.
    `backend`: the GPU lowering, "triton" or "mosaic_gpu" (Hopper+; JAX marks `pallas_call` with
    Mosaic GPU deprecated). Must be traced under `x64_scope()` (RuntimeError otherwise).
    """
    a, b = jnp.broadcast_arrays(a, b)
    _check_inputs(spec, a, b, block, backend)
    if interpret is None:
        interpret = trace_platform() == "cpu"
    shape = a.shape
    a, b = a.reshape(spec.n_limbs, -1), b.reshape(spec.n_limbs, -1)
    n = a.shape[1]
    n_blocks = max(pl.cdiv(n, block), 1)
    pad = n_blocks * block - n
    if pad:
        a = jnp.pad(a, ((0, 0), (0, pad)))
        b = jnp.pad(b, ((0, 0), (0, pad)))
    tile = pl.BlockSpec((spec.n_limbs, block), lambda k: (0, k))
    out = pl.pallas_call(
        functools.partial(_mont_mul_kernel, spec),
        out_shape=jax.ShapeDtypeStruct(a.shape, _u32),
        grid=(n_blocks,),
        in_specs=[tile, tile],
        out_specs=tile,
        interpret=interpret,
        compiler_params=_compiler_params(backend),
        name=f"mont_mul_{spec.n_limbs}limbs",
    )(a, b)
    return out[:, :n].reshape(shape)
