"""Running kernels over every visible device: a 1-D mesh and a sharded batch axis.

`shard_batch(kernel, *arrays)` splits the **last** axis of every input (the batch axis of the
limb-major field layout `(L, *batch)`) over the mesh's "batch" axis with `shard_map`, padding it to a
multiple of the device count with zeros and unpadding the outputs. The kernel must act independently
on each position of that axis (field ops, hashes, ...); results then equal the unsharded call bit for
bit. Compiled wrappers are cached per (kernel, mesh, input ranks, padded length).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from supervm_jax.pmap.compat import shard_map, x64_scope
from supervm_jax.pmap.distributed import mesh_jit, place, spans_processes
from supervm_jax.pmap.platform import mesh_platform

BATCH_AXIS = "batch"
_announced: set = set()


def announce_compile(key: tuple, what: str) -> None:
    """One stderr line the first time this process runs the device program `key` (a heavy program
    that compiles for a while first, so a user knows why they wait); silent afterwards."""
    if key not in _announced:
        _announced.add(key)
        print(f"supervm_jax: compiling {what} (first use of this size; tens of seconds on CPU)", file=sys.stderr,
              flush=True)


def device_mesh(n_devices: int | None = None, platform: str | None = None) -> Mesh:
    """A 1-D mesh named "batch" over the first `n_devices` devices of `platform` (default: all, default backend)."""
    devices = jax.devices(platform) if platform else jax.devices()
    if n_devices is not None:
        if not 1 <= n_devices <= len(devices):
            raise ValueError(f"n_devices must be in [1, {len(devices)}], got {n_devices}")
        devices = devices[:n_devices]
    return Mesh(np.array(devices), (BATCH_AXIS,))


def mesh_from_config(cfg) -> Mesh:
    """Mesh for a `supervm_jax.config.Config` (devices.platform, devices.count; 0 = all)."""
    return device_mesh(cfg.devices.count or None, cfg.devices.platform or None)


def pow2_bucket(n: int, minimum: int = 1) -> int:
    """The padded length of a batch of `n` items: the smallest power of two >= max(n, minimum)
    (`minimum` itself a power of two). Padding batches to these lengths leaves at most one compiled
    program per octave of batch sizes; `minimum` lets every small batch share one program."""
    return max(minimum, 1 << max(n - 1, 0).bit_length())


def fine_bucket(n: int, minimum: int = 8) -> int:
    """The padded length of a batch of `n` items when padding costs real work: n rounded up to a
    multiple of 2^(bit_length(n) - 4), at least `minimum` (a power of two >= 8). At most 1/8 of the
    lanes are padding (`pow2_bucket` wastes up to half), for at most 8 compiled programs per octave."""
    if n <= minimum:
        return minimum
    step = 1 << max(n.bit_length() - 4, 3)
    return -(-n // step) * step


def lane_bucket(n: int, platform: str, minimum: int = 8) -> int:
    """The padded length of a batch of `n` lanes for a kernel on `platform` ("cpu", "gpu", ...):
    `fine_bucket` on CPU, `pow2_bucket` elsewhere (`minimum` a power of two >= 8).

    On XLA:CPU every padded lane costs as much as a real one (the native kernels and the vectorized
    loops compute each lane in full), so up to half the work of a `pow2_bucket` can be padding; a
    compile there costs a few seconds and happens at most 8 times per octave. On a GPU a batch below
    the card's width costs about the same whatever its length while each new shape compiles for much
    longer, so powers of two win (docs/PERFORMANCE.md, per-platform choices)."""
    return fine_bucket(n, minimum) if platform == "cpu" else pow2_bucket(n, minimum)


def padded_length(n: int, n_devices: int) -> int:
    """Smallest multiple of n_devices that is >= n (at least n_devices, so every shard is non-empty)."""
    return max(-(-n // n_devices), 1) * n_devices


def pad_last_axis(x: jax.Array, length: int) -> jax.Array:
    """Zero-pads the last axis of x to `length`."""
    extra = length - x.shape[-1]
    if extra == 0:
        return x
    return jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, extra)])


def _last_axis_spec(ndim: int) -> PartitionSpec:
    return PartitionSpec(*([None] * (ndim - 1) + [BATCH_AXIS]))


@functools.lru_cache(maxsize=256)
def _sharded_callable(kernel: Callable, mesh: Mesh, in_ndims: tuple[int, ...], out_ndims: tuple[int, ...] | int):
    in_specs = tuple(_last_axis_spec(d) for d in in_ndims)
    if isinstance(out_ndims, int):
        out_specs = _last_axis_spec(out_ndims)
    else:
        out_specs = tuple(_last_axis_spec(d) for d in out_ndims)
    return mesh_jit(shard_map(kernel, mesh=mesh, in_specs=in_specs, out_specs=out_specs), mesh)


def shard_along_batch(x: jax.Array, mesh: Mesh) -> jax.Array:
    """Places x with its last axis split over `mesh` (what `shard_batch` expects; pre-placing
    inputs that are used many times avoids moving them on every call)."""
    return place(x, jax.sharding.NamedSharding(mesh, _last_axis_spec(x.ndim)))


def _across_processes(mesh: Mesh, arrays: Sequence, specs: Sequence[PartitionSpec]) -> list:
    """The inputs of a program over `mesh`: placed with `place` when the mesh spans processes (a
    jit argument that is not yet global would be all-gathered to check that every process passed
    the same value); unchanged otherwise (the program places them)."""
    if not spans_processes(mesh):
        return list(arrays)
    return [place(a, jax.sharding.NamedSharding(mesh, spec)) for a, spec in zip(arrays, specs)]


def shard_batch(kernel: Callable, *arrays: jax.Array, mesh: Mesh | None = None) -> jax.Array | tuple:
    """Runs `kernel(*arrays)` with the last axis of every array sharded over `mesh` (default: all devices).

    All inputs must share the same last-axis length n; outputs must keep that axis last. Returns
    the outputs with the padding removed (shape of the unsharded result). Traced under x64 scope.
    """
    if not arrays:
        raise ValueError("shard_batch needs at least one array")
    n = arrays[0].shape[-1]
    if any(a.shape[-1] != n for a in arrays):
        raise ValueError(f"all inputs must share the last-axis length, got {[a.shape for a in arrays]}")
    mesh = mesh or device_mesh()
    length = padded_length(n, mesh.size)
    padded = [pad_last_axis(jnp.asarray(a), length) for a in arrays]
    padded = _across_processes(mesh, padded, [_last_axis_spec(a.ndim) for a in padded])
    with x64_scope():
        out_shape = jax.eval_shape(kernel, *padded)
        out_ndims = out_shape.ndim if not isinstance(out_shape, Sequence) else tuple(o.ndim for o in out_shape)
        fn = _sharded_callable(kernel, mesh, tuple(a.ndim for a in padded), out_ndims)
        out = fn(*padded)
    if length == n:  # nothing padded: keep the outputs as they are (sharded, no copy)
        return tuple(out) if isinstance(out, (tuple, list)) else out
    if isinstance(out, (tuple, list)):
        return tuple(o[..., :n] for o in out)
    return out[..., :n]


# -- chunked, bucketed execution of per-lane kernels ----------------------------------------------

MIN_SHARE = 8  # smallest per-device lane count of `run_sharded` (a few compiled sizes serve every batch)


def _share(n: int, devices: int, min_share: int) -> int:
    return pow2_bucket(-(-n // devices), min_share)


@functools.lru_cache(maxsize=64)
def _replicated_and_batched(kernel: Callable, mesh: Mesh, n_replicated: int, batched_ndims: tuple[int, ...], out_ndim: int):
    rep = tuple(PartitionSpec() for _ in range(n_replicated))
    bat = tuple(_last_axis_spec(d) for d in batched_ndims)
    return mesh_jit(shard_map(kernel, mesh=mesh, in_specs=rep + bat, out_specs=_last_axis_spec(out_ndim)), mesh)


def run_sharded(kernel: Callable, replicated: tuple, batched: tuple, *, mesh: Mesh | None = None,
                out_ndim: int = 1, chunk: int = 1 << 14, min_share: int = MIN_SHARE) -> np.ndarray:
    """kernel(*replicated, *batched) with the last axis of every `batched` array split over `mesh`
    (default: all devices) and every `replicated` array copied to each device.

    The lanes are zero-padded to a power-of-two share per device (at least `min_share`, so a few
    compiled programs serve every batch size) and run in chunks of at most `chunk` lanes (bounded
    memory). `kernel` must act on each lane independently and keep the lane axis last in its single
    output of rank `out_ndim`; zero lanes must be harmless inputs. Returns numpy with the padding
    removed, so 1 and N devices give the same bits. Traced under x64 scope.
    """
    mesh = mesh or device_mesh()
    n = batched[0].shape[-1]
    D = mesh.size
    if n == 0:
        raise ValueError("run_sharded needs at least one lane")
    share = min(_share(n, D, min_share), _share(chunk, D, min_share))
    step = share * D
    fn = _replicated_and_batched(kernel, mesh, len(replicated), tuple(np.ndim(b) for b in batched), out_ndim)
    replicated = _across_processes(mesh, replicated, [PartitionSpec()] * len(replicated))
    parts = []
    with x64_scope():
        for start in range(0, n, step):
            part = [np.asarray(b)[..., start : start + step] for b in batched]
            m = part[0].shape[-1]
            if m < step:
                part = [np.pad(c, [(0, 0)] * (c.ndim - 1) + [(0, step - m)]) for c in part]
            part = _across_processes(mesh, part, [_last_axis_spec(c.ndim) for c in part])  # host arrays
            parts.append(np.asarray(fn(*replicated, *part))[..., :m])
    return np.concatenate(parts, axis=-1)
