"""Public MSM entry points: validation, signed-digit recoding, padding, sharding, conversion.

Every entry point says what it validates:

* `msm(points, scalars, curve=...)`: points as affine tuples (None = identity) are checked to be
  canonical and on the curve (ValueError naming the index); a device array (from
  `curve.from_affine`, already validated there) is trusted. Subgroup membership is *not* checked
  (use `curve.from_affine(..., subgroup_check=True)` or `curve.from_bytes`). Scalars must be ints in
  [0, r) (ValueError naming the index). Lengths must match.
* `msm_batch`: the same, per instance, for B same-size MSMs in one device program.
* `FixedBaseMSM(curve, points)`: validates the bases once, precomputes 2^(c w) P_i, then each
  `__call__(scalars)` validates only the scalars.

Results are affine: an (x, y) tuple of ints (Fq2 coordinates as (c0, c1) pairs), or **None for the
point at infinity** (the same convention as `curve.to_affine` and `curve.from_affine`).

Sharding: the points axis is split over every device of `mesh` (default: all devices) with
`shard_map`; each device sorts and accumulates its share, the per-window partial sums are gathered
and combined in a fixed order. Sizes are padded (identity points, zero scalars) to a power-of-two
share per device, so a few compiled programs serve every n. Results on 1 and on 8 devices are the
same affine point, bit for bit.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from supervm_jax import native
from supervm_jax.curve import BN254_G1
from supervm_jax.curve.weierstrass import ShortWeierstrass
from supervm_jax.field.limbs import first_not_below
from supervm_jax.msm.digits import signed_digits, signed_digits_device
from supervm_jax.msm.pippenger import combine, window_sums
from supervm_jax.pmap import BATCH_AXIS, announce_compile, device_mesh, fine_bucket, lane_bucket, mesh_jit, mesh_platform, place, pow2_bucket, shard_map, x64_scope

MAX_WINDOW = 16
# Windows x chunks per device: the width of one batched point addition. On XLA:CPU 2,048 lanes keep
# the bucket rows in cache (docs/MSM.md); a GPU needs tens of thousands of lanes in flight to hide
# its latency (a first guess, to be calibrated by tools/gpu/device_check.sh; docs/PERFORMANCE.md).
LANE_TARGET = {"cpu": 2048}
GPU_LANE_TARGET = 1 << 16


def window_bits(n: int, scalar_bits: int) -> int:
    """The window size c minimizing the modelled additions W(c) (n + 2^c) for n points per device
    (W(c) = ceil((scalar_bits + 1) / c) signed-digit windows; n + 2 * 2^(c-1) additions each)."""
    best = None
    for c in range(2, MAX_WINDOW + 1):
        windows = -(-(scalar_bits + 1) // c)
        cost = windows * (n + (1 << c) + 64)
        if best is None or cost < best[0]:
            best = (cost, c)
    return best[1]


def fixed_base_window(n: int, scalar_bits: int) -> int:
    """The window c minimizing the additions of a fixed-base MSM of n points per device: with the
    2^(c w) P_i tables all W(c) windows share one set of buckets, so the cost is W(c) n + 2^c."""
    return min(range(2, MAX_WINDOW + 1), key=lambda c: (n_windows(c, scalar_bits) * n + (1 << c), c))


def n_windows(c: int, scalar_bits: int) -> int:
    return -(-(scalar_bits + 1) // c)


def _chunks(c: int, n_windows_total: int, n: int, platform: str = "cpu") -> int:
    """Chunks per window: a power of two <= M = 2^(c-1), about the platform's LANE_TARGET lanes in
    all, and at most about the number of sorted rows (so each chunk has >= 1 row of real points)."""
    m = 1 << (c - 1)
    want = max(1, LANE_TARGET.get(platform, GPU_LANE_TARGET) // n_windows_total)
    cap = max(1, (n + m) // 4)
    chunks = 1
    while chunks * 2 <= min(m, want, cap):
        chunks *= 2
    return chunks


def _check_scalars(scalars: Sequence[int] | np.ndarray, order: int, what: str = "scalar") -> None:
    if isinstance(scalars, np.ndarray):
        if scalars.dtype != np.uint32 or scalars.ndim != 2:
            raise ValueError(f"{what}s as an array must be (n, L) uint32 little-endian limbs, got {scalars.dtype} {scalars.shape}")
        bad = first_not_below(scalars, order)
        if bad is not None:
            raise ValueError(f"{what} {bad} is not in [0, r)")
        return
    for i, k in enumerate(scalars):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise ValueError(f"{what} {i} is {type(k).__name__}, not an int")
        if not 0 <= k < order:
            raise ValueError(f"{what} {i} = {k} is not in [0, r)")


def _as_scalars(scalars) -> Sequence[int] | np.ndarray:
    """An (n, L) uint32 limb array is kept as is; anything else becomes a list of ints."""
    return scalars if isinstance(scalars, np.ndarray) and scalars.ndim == 2 else list(scalars)


def _points_spec(curve: ShortWeierstrass) -> PartitionSpec:
    """Point arrays (3, *E, B, n) split along n over the mesh."""
    return PartitionSpec(*([None] * (len(curve.point_shape) + 1) + [BATCH_AXIS]))


@functools.lru_cache(maxsize=64)
def _program(curve: ShortWeierstrass, mesh: Mesh, c: int, chunks: int, native_buckets: bool = False):
    """jit(points (3, *E, B, D*N), digits (B, W, D*N)) -> (3, *E, B) projective sums."""
    p_spec = _points_spec(curve)
    d_spec = PartitionSpec(None, None, BATCH_AXIS)

    def per_device(points, digits):
        return window_sums(curve, points, digits, c=c, chunks=chunks, native_buckets=native_buckets)[None]

    sharded = shard_map(per_device, mesh=mesh, in_specs=(p_spec, d_spec), out_specs=PartitionSpec(BATCH_AXIS))

    def run(points, digits):
        sums = jnp.moveaxis(sharded(points, digits), 0, -3)  # (3, *E, D, B, W)
        return combine(curve, sums, c=c, native_combine=native_buckets and curve.form == "short_weierstrass")

    return mesh_jit(run, mesh)


def _points_array(curve: ShortWeierstrass, points: Any, what: str) -> jax.Array:
    if isinstance(points, (jax.Array, np.ndarray)):
        arr = jnp.asarray(points)
        if arr.dtype != jnp.uint32 or tuple(arr.shape[:-1]) != curve.point_shape:
            raise ValueError(f"{what}: expected points of shape {curve.point_shape} + (n,), got {arr.dtype} {arr.shape}")
        return arr
    return curve.from_affine(list(points))


def _pad_identity(curve: ShortWeierstrass, points: jax.Array, total: int) -> jax.Array:
    """points (*point_shape, B, n) -> (*point_shape, B, total), the new entries the curve's identity."""
    n = points.shape[-1]
    if n == total:
        return points
    pad = curve.kernel("identity")((points.shape[-2], total - n))
    return jnp.concatenate([points, pad], axis=-1)


def _run(curve: ShortWeierstrass, points: jax.Array, digits: np.ndarray, c: int, mesh: Mesh | None,
         chunks: int | None = None) -> list:
    """points (3, *E, B, n), digits (B, W, n) -> list of B affine results (pads both per call)."""
    mesh = mesh or device_mesh()
    share = lane_bucket(-(-digits.shape[-1] // mesh.size), mesh_platform(mesh))
    # placed as FixedBaseMSM places its table, so both share one compiled program per size (a jit
    # program is compiled per input sharding)
    pts = place(_pad_identity(curve, points, share * mesh.size), NamedSharding(mesh, _points_spec(curve)))
    return _run_padded(curve, pts, digits, c, mesh, chunks)


def _run_padded(curve: ShortWeierstrass, points: jax.Array, digits: np.ndarray | jax.Array, c: int, mesh: Mesh,
                chunks: int | None = None) -> list:
    """points (3, *E, B, D * share) — or (3, *E, 1, D * share), shared by the B instances — already
    padded with identities; digits (B, W, n <= D * share), on the host or already on a device
    (`signed_digits_device`; padded there)."""
    B, W, n = digits.shape
    total = points.shape[-1]
    if isinstance(digits, jax.Array):
        dig = jnp.pad(digits, ((0, 0), (0, 0), (0, total - n))) if total > n else digits
    else:
        dig = np.zeros((B, W, total), np.int32)
        dig[..., :n] = digits
    platform = mesh_platform(mesh)
    chunks = chunks or _chunks(c, B * W, total // mesh.size, platform)
    native_buckets = native.available(curve, platform)  # the mesh's platform decides
    if not native_buckets:  # the JAX Pippenger program compiles for seconds to half a minute
        announce_compile(("msm", curve.name, mesh, c, chunks, points.shape),
                         f"the {curve.name} MSM of {B} x {total} points (c = {c}) with the JAX kernels")
    with x64_scope():
        digits_placed = place(dig, NamedSharding(mesh, PartitionSpec(None, None, BATCH_AXIS)))
        out = _program(curve, mesh, c, chunks, native_buckets)(points, digits_placed)
    return curve.to_affine(out)


def msm(points: Any, scalars: Sequence[int], curve: ShortWeierstrass = BN254_G1, *, window: int | None = None,
        mesh: Mesh | None = None) -> tuple | None:
    """sum_i scalars[i] * points[i] on `curve`, as an affine point (None = infinity).

    points: affine tuples / None (validated: canonical, on the curve), or a (3, *elem_shape, n) device
    array from `curve.from_affine` (trusted). scalars: ints in [0, r) (ValueError naming the index).
    window: bits per signed digit (default chosen from n per device). mesh: devices to shard the
    points over (default all). n = 0 returns None.
    """
    P = _points_array(curve, points, f"{curve.name} msm")
    n = P.shape[-1]
    scalars = _as_scalars(scalars)
    if len(scalars) != n:
        raise ValueError(f"{curve.name} msm: {n} points but {len(scalars)} scalars")
    _check_scalars(scalars, curve.order)
    if n == 0:
        return None
    mesh = mesh or device_mesh()
    c = window or window_bits(pow2_bucket(-(-n // mesh.size), 8), curve.scalar_bits)
    digits = signed_digits(scalars, c, n_windows(c, curve.scalar_bits))
    return _run(curve, P[..., None, :], digits[None], c, mesh)[0]


def msm_batch(points: Sequence[Any], scalars: Sequence[Sequence[int]], curve: ShortWeierstrass = BN254_G1, *,
              window: int | None = None, mesh: Mesh | None = None) -> list:
    """B independent MSMs of the same size n in one device program: [msm(points[b], scalars[b]) ...].

    points: B sequences of n affine points (or a (3, *elem_shape, B, n) device array); scalars: B
    sequences of n ints in [0, r). Validation as in `msm` (messages name instance and index)."""
    scalars = [_as_scalars(s) for s in scalars]
    B = len(scalars)
    if isinstance(points, (jax.Array, np.ndarray)):
        P = jnp.asarray(points)
        if tuple(P.shape[:-2]) != curve.point_shape or P.shape[-2] != B:
            raise ValueError(f"{curve.name} msm_batch: expected points {curve.point_shape} + ({B}, n), got {P.shape}")
    else:
        points = list(points)
        if len(points) != B:
            raise ValueError(f"{curve.name} msm_batch: {len(points)} point lists but {B} scalar lists")
        arrays = [_points_array(curve, pts, f"{curve.name} msm_batch instance {b}") for b, pts in enumerate(points)]
        if len({a.shape[-1] for a in arrays}) > 1:
            raise ValueError(f"{curve.name} msm_batch: instances differ in size")
        P = jnp.stack(arrays, axis=-2) if arrays else None
    if B == 0:
        return []
    n = P.shape[-1]
    for b, s in enumerate(scalars):
        if len(s) != n:
            raise ValueError(f"{curve.name} msm_batch: instance {b} has {len(s)} scalars for {n} points")
        _check_scalars(s, curve.order, f"instance {b} scalar")
    if n == 0:
        return [None] * B
    mesh = mesh or device_mesh()
    c = window or window_bits(pow2_bucket(-(-n // mesh.size), 8), curve.scalar_bits)
    W = n_windows(c, curve.scalar_bits)
    digits = np.stack([signed_digits(s, c, W) for s in scalars])
    return _run(curve, P, digits, c, mesh)


class FixedBaseMSM:
    """MSM over bases that are reused (a Groth16 proving key), kept on device between calls.

    The bases are validated once, bases at infinity are dropped (a proving key has many), and the
    rest are padded and placed on the mesh once, so each call moves only its digits.

    precompute=True (default) also builds the window tables 2^(c w) P_i: each call is then one
    bucket pass over W n points with no per-window bucket overhead and no doublings (all windows
    share one set of buckets; about W n + 2^c additions against W (n + 2^c) without tables), at the
    price of W times the memory and about c W doublings per base up front (minutes for 2^17 bases
    on a 2-core CPU). precompute=False keeps only the bases: use it when few calls follow.

        fb = FixedBaseMSM(BN254_G1, bases)      # validates, precomputes (W n points on device)
        fb(scalars)                             # == msm(bases, scalars)
    """

    def __init__(self, curve: ShortWeierstrass, points: Any, *, window: int | None = None, mesh: Mesh | None = None,
                 min_rows: int = 0, precompute: bool = True):
        """window: bits per digit (default `fixed_base_window` / `window_bits`). min_rows: pad the
        device table to at least this many entries per device, so several tables can share one
        compiled program."""
        self.curve = curve
        self.mesh = mesh or device_mesh()
        self.precompute = precompute
        P = _points_array(curve, points, f"{curve.name} FixedBaseMSM")
        self.n = P.shape[-1]
        finite = ~curve.is_identity(P) if self.n else np.zeros(0, bool)
        self.kept = None if finite.all() else np.flatnonzero(finite)  # indices of the finite bases
        if self.kept is not None:
            P = P[..., self.kept]
        self.n_finite = P.shape[-1]
        D = self.mesh.size
        share = -(-self.n_finite // D)
        choose = fixed_base_window if precompute else window_bits
        self.window = window or choose(share, curve.scalar_bits)
        self.n_windows = n_windows(self.window, curve.scalar_bits)
        self.table = None
        if self.n_finite:
            rows = self.n_windows * self.n_finite if precompute else self.n_finite
            total = fine_bucket(max(-(-rows // D), min_rows)) * D
            if precompute:
                with x64_scope():
                    P = _precompute(curve, self.window, self.n_windows)(P)  # (3, *E, W * n), window-major
            self.table = place(_pad_identity(curve, P[..., None, :], total),
                               NamedSharding(self.mesh, _points_spec(curve)))

    def __call__(self, scalars: Sequence[int] | np.ndarray) -> tuple | None:
        """sum_i scalars[i] P_i. scalars: n ints in [0, r), or an (n, L) uint32 array of little-endian
        standard-form limbs (ValueError naming the first scalar out of range)."""
        return self.batch([scalars])[0]

    def batch(self, scalars: Sequence[Sequence[int] | np.ndarray]) -> list:
        """[self(s) for s in scalars] as one device program: the B instances share the bases (and
        their tables), so a batch of proofs over one key runs each of its MSMs once, on lanes
        B times wider (what fills a GPU). Validation as in `__call__`, naming the instance when
        there are several."""
        vectors = [_as_scalars(s) for s in scalars]
        for b, s in enumerate(vectors):
            which = f"instance {b} " if len(vectors) > 1 else ""
            if len(s) != self.n:
                raise ValueError(f"{self.curve.name} FixedBaseMSM: {self.n} bases but {len(s)} scalars"
                                 f"{f' in instance {b}' if which else ''}")
            _check_scalars(s, self.curve.order, f"{which}scalar")
        if not vectors or self.n_finite == 0:
            return [None] * len(vectors)
        if self.kept is not None:
            vectors = [s[self.kept] if isinstance(s, np.ndarray) else [s[i] for i in self.kept] for s in vectors]
        digits = np.stack([signed_digits(s, self.window, self.n_windows) for s in vectors])  # (B, W, n)
        return self._run(digits)

    def batch_limbs(self, limbs: jax.Array) -> list:
        """`batch` for scalars already on a device: limbs (L, B, n) uint32, little-endian standard
        form (a prover's quotient H from the NTT). The digits are recoded on the device
        (`signed_digits_device`), so the scalars never cross to the host. ValueError naming the
        first scalar >= r (checked on the device; read after the MSM is dispatched)."""
        if limbs.ndim != 3 or limbs.dtype != jnp.uint32 or limbs.shape[-1] != self.n:
            raise ValueError(f"{self.curve.name} FixedBaseMSM: expected (L, B, {self.n}) uint32 limbs, got "
                             f"{limbs.dtype} {limbs.shape}")
        B = limbs.shape[1]
        if B == 0 or self.n_finite == 0:
            return [None] * B
        with x64_scope():
            digits, out_of_range = signed_digits_device(limbs, self.window, self.n_windows, self.curve.order)
            if self.kept is not None:
                digits = digits[..., jnp.asarray(self.kept)]
        sums = self._run(digits)
        bad = np.argwhere(np.asarray(out_of_range))
        if bad.size:
            b, i = (int(v) for v in bad[0])
            raise ValueError(f"{self.curve.name} FixedBaseMSM: {f'instance {b} ' if B > 1 else ''}scalar {i} is not "
                             f"in [0, r)")
        return sums

    def _run(self, digits: np.ndarray | jax.Array) -> list:
        """digits (B, W, n_finite) -> B affine sums over this key's tables."""
        # with tables: one window of c bits over W*n points per instance (combine's Horner loop
        # degenerates to the device sum); without: W windows over the n bases
        if self.precompute:
            digits = digits.reshape(digits.shape[0], 1, -1)
        return _run_padded(self.curve, self.table, digits, self.window, self.mesh)


@functools.lru_cache(maxsize=16)
def _precompute(curve: ShortWeierstrass, c: int, windows: int):
    """jit: P (3, *E, n) -> [2^(c w) P for w in range(windows)] concatenated, (3, *E, windows * n)."""
    double = curve.kernel("double")

    def run(P):
        def step(carry, _):
            nxt = jax.lax.fori_loop(0, c, lambda _, x: double(x), carry)
            return nxt, carry

        _, table = jax.lax.scan(step, P, None, length=windows)  # (windows, 3, *E, n)
        return jnp.moveaxis(table, 0, -2).reshape(P.shape[:-1] + (-1,))

    return jax.jit(run)


__all__ = ["FixedBaseMSM", "msm", "msm_batch", "signed_digits", "window_bits"]
