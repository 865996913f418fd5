"""Which platform a program is for: every per-platform choice (docs/PERFORMANCE.md) reads it here.

Two questions, two functions:

* `mesh_platform(mesh)`: the platform of a mesh's devices, for choices made on the host before a
  program is built (padding buckets, host-or-device hashing, native kernels).
* `trace_platform()`: the platform of the program being traced, for choices made inside a kernel
  (the multiply's cache blocking, the NTT's row grouping). `pmap.mesh_jit` traces a mesh's program
  under `platform_scope(mesh_platform(mesh))`; outside such a scope it is the platform that plain
  `jax.jit` calls run on (jax's default device, else the default backend).

`platform_scope` sets jax's ``jax_default_device`` option to the platform name. That option is part
of every jit's cache key and trace context, so a nested jitted kernel traced for one platform is
never reused in a program for another (a CPU mesh on a GPU machine gets the CPU choices).
"""

from __future__ import annotations

import jax
from jax.sharding import Mesh


def mesh_platform(mesh: Mesh | None = None) -> str:
    """The platform ("cpu", "gpu", ...) whose choices apply to programs over `mesh`: its devices'
    (a mesh holds one kind); the default backend without a mesh."""
    return mesh.devices.flat[0].platform if mesh is not None else jax.default_backend()


def trace_platform() -> str:
    """The platform the kernel being traced will run on ("cpu", "gpu", ...): the innermost
    `platform_scope`'s, else jax's default device's, else the default backend."""
    device = jax.config.jax_default_device
    if device is None:
        return jax.default_backend()
    return device if isinstance(device, str) else device.platform


def platform_scope(platform: str):
    """Context manager: kernels traced inside it make `platform`'s choices (`trace_platform`)."""
    return jax.default_device(platform)


__all__ = ["mesh_platform", "platform_scope", "trace_platform"]
