"""Native CPU kernels reached through the XLA FFI, with the JAX kernels as reference and fallback.

XLA's CPU code generation caps a Montgomery multiply near 9 M/s per core here (docs/PERFORMANCE.md);
the hot loops are therefore also offered as C++ kernels, on 64-bit limbs with 128-bit products
(`field64.h`), with the same complete formulas as the JAX kernels:

* `msm_buckets.cc`: the MSM's bucket accumulation, the classic bucket method (`msm/pippenger.py`);
* `curve_ops.cc`: short-Weierstrass point batches: the MSM's final Horner combination of the window
  sums (`pippenger.combine`) and per-lane scalar multiplication (`curve/group.py::scalar_mul_bits`,
  behind the subgroup tests and the batch-verification weights);
* `double_mul.cc`: the signature verifiers' per-lane [a] G + [b] P (`sigverify/kernels.py`), for
  secp256k1 and ed25519;
* `field_pow.cc`: per-lane a^e for a fixed e over a 256-bit field (the square roots of point
  decompression, `curve/edwards.py`, `curve/weierstrass.py::lift_x`);
* `blockstm.cc`: Block-STM for the built-in transfers on native threads (`mvcc/native.py`; a plain
  C function called through ctypes, not an FFI target);
* `pairing.cc`: the BN254 / BLS12-381 pairing's three device steps (`pairing/`): the multi-Miller
  loop over groups of pairs (`pairing_miller`, bit for bit `miller.miller_loop`: the same
  projective formulas and line scaling, lines multiplied in sparsely), the product of a product's
  group accumulators (`pairing_fold`) and the final-exponentiation register program
  (`pairing_final`, the value of `final_exp.run_program`; squarings of cyclotomic-subgroup elements
  by Granger-Scott). Every curve constant (p, xi, 3 b', the Frobenius constants, the loop digits)
  is passed in from `PairingParams`; the Fq2/Fq6/Fq12 tower is written once over `Field<N>`
  (its hot paths redone on x86 carry intrinsics where the compiler targets BMI2).

They are used only on the CPU backend; GPUs run the JAX kernels, which stay the reference the tests
compare against.

The shared library is compiled on first use with the system C++ compiler (`g++ -O3 -march=native`,
about a minute; one line on stderr says so) into `~/.cache/supervm_jax/native/` (override:
SUPERVM_NATIVE_CACHE), keyed by the source, the jaxlib version and the CPU's feature flags (so a
home directory shared with an older CPU builds its own copy instead of loading instructions it
lacks), and registered as an FFI target. Without a compiler, or with SUPERVM_NATIVE=0, or if the
build fails (the compiler's message is logged once), everything falls back to the JAX kernels.

The MSM kernels (`bucket_sums`, `msm_combine`) check what they index with before reading a point —
the shapes of inputs and result, the constants' length, the window bits and every digit against
them — and fail the call with an FFI InvalidArgument naming the bad input (for a digit: its
(instance, window, point) index, value and the allowed range) instead of reading out of bounds.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

_HERE = Path(__file__).parent
_SOURCES = [_HERE / "msm_buckets.cc", _HERE / "double_mul.cc", _HERE / "field_pow.cc", _HERE / "pairing.cc",
            _HERE / "curve_ops.cc", _HERE / "blockstm.cc"]
_HEADERS = [_HERE / "field64.h"]
_TARGET = "supervm_msm_bucket_sums"
_DOUBLE_MUL_TARGET = "supervm_double_mul"
_FIELD_POW_TARGET = "supervm_field_pow"
_PAIRING_MILLER_TARGET = "supervm_pairing_miller"
_PAIRING_FOLD_TARGET = "supervm_pairing_fold"
_PAIRING_FINAL_TARGET = "supervm_pairing_final"
_SCALAR_MUL_TARGET = "supervm_scalar_mul"
_MSM_COMBINE_TARGET = "supervm_msm_combine"
_log = logging.getLogger(__name__)


def _cache_dir() -> Path:
    return Path(os.environ.get("SUPERVM_NATIVE_CACHE") or Path.home() / ".cache" / "supervm_jax" / "native")


def _cpu_flags(compiler: str, cpuinfo: Path = Path("/proc/cpuinfo")) -> bytes:
    """What `-march=native` targets: the CPU's feature flags (the first `flags` line of
    /proc/cpuinfo, `Features` on ARM); where there is none, the compiler's own answer
    (`-march=native -Q --help=target`), else the machine name."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.split(":")[0].strip() in ("flags", "Features"):
                return line.encode()
    except OSError:
        pass
    proc = subprocess.run([compiler, "-march=native", "-Q", "--help=target"], capture_output=True)
    return proc.stdout if proc.returncode == 0 and proc.stdout else platform.machine().encode()


def _build() -> Path | None:
    """Compiles the kernel library once per (source, jaxlib, CPU feature flags); None (logged) if
    that is impossible. The flags are in the key because the build is `-march=native`: a cache
    directory shared with another CPU (a network home) must not load a library using instructions
    this CPU lacks."""
    compiler = shutil.which(os.environ.get("CXX", "g++"))
    if compiler is None:
        _log.warning("supervm_jax.native: no C++ compiler; using the JAX MSM kernels")
        return None
    source = b"".join(f.read_bytes() for f in _SOURCES + _HEADERS)
    key = hashlib.sha256(source + jax.__version__.encode() + jax.lib.__version__.encode()
                         + _cpu_flags(compiler)).hexdigest()[:16]
    out = _cache_dir() / f"supervm_native-{key}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"supervm_jax: building the native kernels into {out.parent} (first use on this CPU, ~1 min)",
          file=sys.stderr, flush=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=out.parent)
    os.close(fd)
    cmd = [compiler, "-O3", "-march=native", "-std=c++17", "-shared", "-fPIC", f"-I{jax.ffi.include_dir()}",
           *map(str, _SOURCES), "-o", tmp]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        Path(tmp).unlink(missing_ok=True)
        _log.warning("supervm_jax.native: build failed, using the JAX MSM kernels:\n%s", proc.stderr[-2000:])
        return None
    os.replace(tmp, out)  # atomic: concurrent builders (pytest workers) never see a partial file
    return out


@functools.lru_cache(maxsize=None)
def library() -> ctypes.CDLL | None:
    """The built kernel library loaded through ctypes (None when it cannot be built; callers check
    `ENABLED` themselves, since tests flip it). Besides the FFI targets it exports plain C functions called with ctypes,
    which releases the GIL for the call: `blockstm.cc`'s `supervm_blockstm_transfers`
    (`mvcc.native`)."""
    path = _build()
    return None if path is None else ctypes.cdll.LoadLibrary(str(path))


@functools.lru_cache(maxsize=None)
def _registered() -> bool:
    lib = library()
    if lib is None:
        return False
    jax.ffi.register_ffi_target(_TARGET, jax.ffi.pycapsule(lib.SupervmMsmBucketSums), platform="cpu")
    jax.ffi.register_ffi_target(_DOUBLE_MUL_TARGET, jax.ffi.pycapsule(lib.SupervmDoubleMul), platform="cpu")
    jax.ffi.register_ffi_target(_FIELD_POW_TARGET, jax.ffi.pycapsule(lib.SupervmFieldPow), platform="cpu")
    jax.ffi.register_ffi_target(_PAIRING_MILLER_TARGET, jax.ffi.pycapsule(lib.SupervmPairingMiller), platform="cpu")
    jax.ffi.register_ffi_target(_PAIRING_FOLD_TARGET, jax.ffi.pycapsule(lib.SupervmPairingFold), platform="cpu")
    jax.ffi.register_ffi_target(_PAIRING_FINAL_TARGET, jax.ffi.pycapsule(lib.SupervmPairingFinal), platform="cpu")
    jax.ffi.register_ffi_target(_SCALAR_MUL_TARGET, jax.ffi.pycapsule(lib.SupervmScalarMul), platform="cpu")
    jax.ffi.register_ffi_target(_MSM_COMBINE_TARGET, jax.ffi.pycapsule(lib.SupervmMsmCombine), platform="cpu")
    return True


_FORMS = {"short_weierstrass": 0, "twisted_edwards": 1}
ENABLED = os.environ.get("SUPERVM_NATIVE", "1") != "0"  # tests flip this to compare with the JAX kernels


def available(curve, platform: str | None = None) -> bool:
    """True when the native bucket kernel serves `curve` on `platform` (`pmap.mesh_platform` of the
    caller's mesh; default the default backend, for code traced without a mesh):
    enabled, a CPU platform, a short-Weierstrass curve with a = 0 over a field of 4 or 6 64-bit
    words, or a twisted Edwards curve over a 4-word field, and the library built and registered."""
    form = getattr(curve, "form", None)
    if not ENABLED or (platform or jax.default_backend()) != "cpu" or form not in _FORMS:
        return False
    if curve.coords.n_limbs not in (8, 12) or (form == "twisted_edwards" and curve.coords.n_limbs != 8):
        return False
    return _registered()


def _pack(p: int, words: int, *extra: tuple[int, int]) -> np.ndarray:
    """The constants every kernel starts with — p, -p^-1 mod 2^64, Montgomery 1 (R = 2^(64 words)) —
    then each (value, bytes) of `extra`, as little-endian uint32 words."""
    R = 1 << (64 * words)
    fields = [(p, 8 * words), ((-pow(p, -1, 1 << 64)) % (1 << 64), 8), (R % p, 8 * words), *extra]
    raw = b"".join(v.to_bytes(w, "little") for v, w in fields)
    return np.frombuffer(raw, "<u4").astype(np.uint32)


def _curve_constant(curve):
    """The formula constant: 3 b (short Weierstrass, a pair over Fq2) or 2 d (twisted Edwards)."""
    k = curve.b3 if curve.form == "short_weierstrass" else curve.d2
    return k if isinstance(k, tuple) else (k,)


def _consts(curve) -> np.ndarray:
    """uint32: p, -p^-1 mod 2^64, Montgomery 1, Montgomery 3b (per Fq2 component) or 2d."""
    F = curve.coords
    p, words = F.modulus, F.n_limbs // 2
    R = 1 << (64 * words)
    return _pack(p, words, *((c * R % p, 8 * words) for c in _curve_constant(curve)))


def bucket_sums(curve, points: jax.Array, digits: jax.Array, *, c: int) -> jax.Array:
    """Window sums S_{b,w} = sum_i d_{b,w,i} P_{b,i} by the bucket method in C++.

    points: (B n, K, *elem_shape) projective, point-major (K = 3, or 4 for twisted Edwards), or
    (n, K, *elem_shape) shared by the B instances; digits:
    (B, W, n) int32 in [-2^(c-1), 2^(c-1)]. Returns (K, *elem_shape, B W) projective sums. Call inside jit / shard_map
    on the CPU backend only, after `available(curve)`."""
    B, W, _ = digits.shape
    out = jax.ShapeDtypeStruct(points.shape[1:] + (B * W,), jnp.uint32)
    call = jax.ffi.ffi_call(_TARGET, out)
    return call(jnp.asarray(_consts(curve)), points, digits.astype(jnp.int32), n64=np.int64(curve.coords.n_limbs // 2),
                degree=np.int64(curve.coords.degree), c_bits=np.int64(c), form=np.int64(_FORMS[curve.form]))


def weierstrass_available(curve) -> bool:
    """True when the short-Weierstrass point kernels (`scalar_mul_bits`, `msm_combine`) serve `curve`:
    `available(curve)` and the curve is short Weierstrass (BN254 and BLS12-381 G1/G2, secp256k1)."""
    return getattr(curve, "form", None) == "short_weierstrass" and available(curve)


def _weierstrass_attrs(curve) -> dict:
    return {"n64": np.int64(curve.coords.n_limbs // 2), "degree": np.int64(curve.coords.degree)}


def scalar_mul_bits(curve, points: jax.Array, bits: jax.Array) -> jax.Array:
    """k_i P_i per lane in C++ (`curve_ops.cc`, 4-bit fixed windows with a constant-time table scan),
    the value of `curve.group.scalar_mul_bits`. points: (3, *E, n) projective, Montgomery form,
    coordinates < p (checked: the call fails naming the lane); bits: (nbits, n) bool, most significant
    first. Returns (3, *E, n). Call inside jit on the CPU backend only, after
    `weierstrass_available(curve)`."""
    call = jax.ffi.ffi_call(_SCALAR_MUL_TARGET, jax.ShapeDtypeStruct(points.shape, jnp.uint32))
    return call(jnp.asarray(_consts(curve)), points, bits.astype(jnp.bool_), **_weierstrass_attrs(curve))


def msm_combine(curve, sums: jax.Array, *, c: int) -> jax.Array:
    """sum_w 2^(c w) sum_d sums[..., d, b, w] per instance b in C++ (`curve_ops.cc`), the value of
    `msm.pippenger.combine`: (3, *E, D, B, W) -> (3, *E, B). Coordinates < p (checked). Call inside
    jit on the CPU backend only, after `weierstrass_available(curve)`."""
    out = jax.ShapeDtypeStruct(sums.shape[:-3] + sums.shape[-2:-1], jnp.uint32)
    call = jax.ffi.ffi_call(_MSM_COMBINE_TARGET, out)
    return call(jnp.asarray(_consts(curve)), sums, c_bits=np.int64(c), **_weierstrass_attrs(curve))


def double_mul_available(curve, platform: str = "cpu") -> bool:
    """True when the native double-scalar kernel serves `curve` on `platform` (the mesh's): enabled,
    CPU, a prime field p = 2^256 - c with a small c (secp256k1; ed25519 through 2^256 = 38) under a
    curve of either form, and the library built and registered."""
    if not ENABLED or platform != "cpu" or getattr(curve, "form", None) not in _FORMS:
        return False
    if curve.coords.degree != 1 or curve.coords.n_limbs != 8 or _small_c(curve.coords.modulus) is None:
        return False
    return _registered()


def _small_c(p: int) -> int | None:
    """2^256 mod p when it is below 2^34 (the `PseudoMersenne` field of field64.h), else None."""
    c = (1 << 256) % p
    return c if c < (1 << 34) else None


def _double_mul_consts(curve) -> np.ndarray:
    """uint32: p, -p^-1 mod 2^64, Montgomery 1, Montgomery (3 b | 2 d), R^2 mod p, 2^256 mod p."""
    p, R = curve.coords.modulus, 1 << 256
    (k,) = _curve_constant(curve)
    return _pack(p, 4, (k * R % p, 32), (R * R % p, 32), (_small_c(p), 8))


def point_major_table(curve, table: jax.Array) -> np.ndarray:
    """A limb-major comb table (K, L, T) in Montgomery form -> the (T, K, L) standard-form layout
    `double_mul` reads (host, once per curve)."""
    F = curve.coords
    mont = np.moveaxis(np.asarray(table), -1, 0)  # (T, K, L)
    ints = F.ints_from_limbs(np.moveaxis(mont, -1, 0).reshape(F.n_limbs, -1))
    raw = b"".join(v.to_bytes(4 * F.n_limbs, "little") for v in ints)
    return np.frombuffer(raw, "<u4").reshape(mont.shape).astype(np.uint32)


def double_mul(curve, table_pm: jax.Array, g_digits: jax.Array, points: jax.Array, p_digits: jax.Array) -> jax.Array:
    """[a_i] G + sum_j [b_ij] P_ij per lane in C++ (see `double_mul.cc`). table_pm:
    `point_major_table(curve, curve.generator_table)`; g_digits (W, n) comb bytes; points (m, K, L, n);
    p_digits (m, D, n) 4-bit digits, most significant first. Returns (K, L, n) projective points. Call inside jit /
    shard_map on the CPU backend only, after `double_mul_available(curve)`."""
    out = jax.ShapeDtypeStruct(points.shape[1:], jnp.uint32)
    call = jax.ffi.ffi_call(_DOUBLE_MUL_TARGET, out)
    return call(jnp.asarray(_double_mul_consts(curve)), table_pm, g_digits.astype(jnp.int32), points,
                p_digits.astype(jnp.int32), form=np.int64(_FORMS[curve.form]))


def pow_available(spec, platform: str = "cpu") -> bool:
    """True when `field_pow` serves a field with this Montgomery spec on `platform`: enabled, CPU,
    p = 2^256 - c with a small c (secp256k1, ed25519), library built."""
    return ENABLED and platform == "cpu" and spec.n_limbs == 8 and _small_c(spec.modulus) is not None and _registered()


def field_pow(spec, a: jax.Array, exponent: int) -> jax.Array:
    """a^exponent per lane in C++ (`field_pow.cc`); a: (8, n) uint32 Montgomery form, exponent an int
    in [0, 2^256). Call inside jit on the CPU backend only, after `pow_available(spec)`."""
    p = spec.modulus
    consts = _pack(p, 4, ((1 << 512) % p, 32), (_small_c(p), 8))
    exp = np.frombuffer(int(exponent).to_bytes(32, "little"), "<u4").astype(np.uint32)
    shape = a.shape
    flat = a.reshape(shape[0], -1)
    out = jax.ffi.ffi_call(_FIELD_POW_TARGET, jax.ShapeDtypeStruct(flat.shape, jnp.uint32))(
        jnp.asarray(consts), jnp.asarray(exp), flat)
    return out.reshape(shape)


# -- pairing (`pairing.cc`) -----------------------------------------------------------------------

PAIRING_CURVES = ("bn254", "bls12_381")


def pairing_available(curve_name: str, platform: str = "cpu") -> bool:
    """True when the native pairing kernels serve `curve_name` ("bn254" or "bls12_381", the
    `PairingParams.name`) on `platform` (the mesh's): enabled, CPU, library built and registered."""
    return ENABLED and platform == "cpu" and curve_name in PAIRING_CURVES and _registered()


@functools.lru_cache(maxsize=None)
def _pairing_consts(params) -> dict[str, np.ndarray]:
    """Host constants of one `PairingParams` (cached per object): the header p, -p^-1 mod 2^64,
    Montgomery 1, xi0 (uint32); three_b (L, 2); frob_q (4, L, 2), zeros without BN254's tail;
    frobenius (3, L, 2, 2, 3) for p, p^2, p^3; loop digits int32; twist and tail flags. Raises
    RuntimeError when the library is not built (callers check `pairing_available` first)."""
    if not _registered():
        raise RuntimeError("supervm_jax.native: the pairing kernels are unavailable (see pairing_available)")
    tw = params.tower
    L = tw.L
    frob_q = params.frobenius_q if params.frobenius_q is not None else np.zeros((4, L, 2), np.uint32)
    return {
        "header": _pack(tw.p, L // 2, (tw.xi0, 8)),
        "three_b": np.asarray(params.three_b, np.uint32),
        "frob_q": np.asarray(frob_q, np.uint32),
        "frobenius": np.stack([np.asarray(tw.frobenius[k], np.uint32) for k in (1, 2, 3)]),
        "digits": np.asarray(params.loop_digits, np.int32),
        "twist": np.int64({"D": 0, "M": 1}[params.twist]),
        "tail": np.int64(params.frobenius_q is not None),
    }


def pairing_miller(params, xP: jax.Array, yP: jax.Array, xQ: jax.Array, yQ: jax.Array, mask: jax.Array) -> jax.Array:
    """`miller.miller_loop(params, xP, yP, xQ, yQ, mask)` in C++ (`pairing.cc`), bit for bit.

    xP, yP: (L, K, G) uint32 Montgomery limbs of affine G1 points; xQ, yQ: (L, 2, K, G) of affine
    twist points; mask: (K, G) bool, False for pairs that contribute 1. Returns (L, 2, 2, 3, G)
    uint32, one Miller accumulator per group. The kernel checks every shape and that unmasked
    coordinates are < p (the call fails naming the pair), not that points are on the curve or in
    the subgroup. Call inside jit / shard_map on the CPU backend only, after `pairing_available`."""
    c = _pairing_consts(params)
    L, _, G = xP.shape
    out = jax.ShapeDtypeStruct((L, 2, 2, 3, G), jnp.uint32)
    return jax.ffi.ffi_call(_PAIRING_MILLER_TARGET, out)(
        jnp.asarray(c["header"]), jnp.asarray(c["three_b"]), jnp.asarray(c["frob_q"]), jnp.asarray(c["digits"]),
        xP, yP, xQ, yQ, mask.astype(jnp.bool_), twist=c["twist"], tail=c["tail"])


def pairing_fold(params, f: jax.Array) -> jax.Array:
    """(L, 2, 2, 3, M, P) uint32 Fq12 limbs -> (L, 2, 2, 3, P): the product over M, as
    `api._fold_kernel` (M = 0 gives 1). Checks shapes and that every coefficient is < p. Call
    inside jit / shard_map on the CPU backend only, after `pairing_available`."""
    c = _pairing_consts(params)
    out = jax.ShapeDtypeStruct(f.shape[:4] + f.shape[5:], jnp.uint32)
    return jax.ffi.ffi_call(_PAIRING_FOLD_TARGET, out)(jnp.asarray(c["header"]), f)


def pairing_final(params, rows: jax.Array, n_rows: jax.Array, f: jax.Array) -> jax.Array:
    """`final_exp.run_program(params, rows, n_rows, f)` in C++: the first n_rows rows of the int32
    (R, 4) program (op, dst, a, b) run on every lane of f (L, 2, 2, 3, P) in register 0 (the other
    registers start at 1); returns the destination register of row n_rows - 1, (L, 2, 2, 3, P).
    The call fails on an op outside MUL..INV, a register outside [0, 8), n_rows outside [1, R], a
    bad shape or a coefficient >= p. Call inside jit / shard_map on the CPU backend only, after
    `pairing_available`."""
    c = _pairing_consts(params)
    out = jax.ShapeDtypeStruct(f.shape, jnp.uint32)
    return jax.ffi.ffi_call(_PAIRING_FINAL_TARGET, out)(
        jnp.asarray(c["header"]), jnp.asarray(c["frobenius"]), jnp.asarray(rows, jnp.int32),
        jnp.asarray(n_rows, jnp.int32).reshape(()), f)
