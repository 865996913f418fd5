"""The one place that knows which JAX version is installed.

JAX 0.10 (Python 3.11 here) and 0.11/0.12 (the GPU image) differ in where `shard_map` lives and how
64-bit mode is scoped; everything else in supervm_jax imports these names from here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TypeVar

import jax

if hasattr(jax, "shard_map"):
    _shard_map = jax.shard_map
else:  # JAX < 0.7
    from jax.experimental.shard_map import shard_map as _shard_map  # type: ignore[no-redef]

# Our kernels start loop carries from fresh constants, which the replication/varying-axis checker
# rejects inside shard_map; the kernels are elementwise per shard, so the check adds nothing.
_NO_CHECK = {
    name: False for name in ("check_vma", "check_rep") if name in inspect.signature(_shard_map).parameters
}


def shard_map(f: Callable, *, mesh, in_specs, out_specs) -> Callable:
    """`jax.shard_map` (or the experimental one on old JAX) with the varying-axis check off."""
    return _shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, **_NO_CHECK)

if hasattr(jax, "enable_x64"):
    _enable_x64 = jax.enable_x64
else:  # JAX < 0.8
    from jax.experimental import enable_x64 as _enable_x64  # type: ignore[no-redef]

F = TypeVar("F", bound=Callable)


def x64_scope() -> object:
    """Context manager that turns on 64-bit types for the current thread only.

    Field kernels need uint64 for 32x32->64-bit limb products. We never flip the global
    `jax_enable_x64` flag from library code: every public entry point that traces or runs a kernel
    enters this scope, so a user's own code keeps the 32-bit default.
    """
    return _enable_x64(True)


def with_x64(fn: F) -> F:
    """Decorator: runs `fn` (and any tracing it triggers) inside `x64_scope()`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with x64_scope():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
