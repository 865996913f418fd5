"""Per-platform choices inside kernels follow the program's platform, not the default backend."""

import jax
import jax.extend.core
import jax.numpy as jnp
import numpy as np
import pytest

from supervm_jax.field import BN254_FR
from supervm_jax.field import montgomery as mont
from supervm_jax.pmap import device_mesh, mesh_jit, mesh_platform, platform_scope, trace_platform, x64_scope

N = 2 * mont.CPU_MUL_BLOCK + 3  # more than one CPU block


def _loops(jaxpr) -> int:
    """How many loops (scan or while) a jaxpr holds, at any depth."""
    count = 0
    for eqn in jaxpr.eqns:
        count += eqn.primitive.name in ("scan", "while")
        count += sum(_loops(sub) for sub in jax.extend.core.jaxprs_in_params(eqn.params))
    return count


def _mul_jaxpr(platform: str):
    a = jnp.zeros((BN254_FR.n_limbs, N), jnp.uint32)
    with x64_scope(), platform_scope(platform):
        return jax.make_jaxpr(lambda x, y: mont.mont_mul(BN254_FR.spec, x, y))(a, a).jaxpr


def test_multiply_blocks_only_for_a_cpu_program():
    """On a CPU the row loop runs inside a loop over cache-sized blocks; elsewhere it is one pass."""
    assert _loops(_mul_jaxpr("cpu")) == 2
    assert _loops(_mul_jaxpr("gpu")) == 1


def test_scope_sets_and_restores_the_trace_platform():
    outside = trace_platform()
    assert outside == jax.default_backend()
    with platform_scope("gpu"):
        assert trace_platform() == "gpu"
    assert trace_platform() == outside


def test_a_nested_jitted_kernel_is_retraced_per_platform():
    """The platform is part of jit's cache key: a kernel traced for the CPU is not reused inside a
    program traced for another platform."""
    seen = []

    @jax.jit
    def kernel(x):
        seen.append(trace_platform())
        return x + 1

    x = jnp.zeros(4, jnp.uint32)
    for platform in ("cpu", "gpu", "cpu"):
        with platform_scope(platform):
            jax.make_jaxpr(kernel)(x)
    assert seen == ["cpu", "gpu"]


@pytest.mark.parametrize("n_devices", [1, None])
def test_mesh_jit_traces_for_the_mesh_platform(n_devices):
    mesh = device_mesh(n_devices)
    seen = []

    def program(x):
        seen.append(trace_platform())
        return x * 2

    out = mesh_jit(program, mesh)(np.arange(8, dtype=np.uint32))
    np.testing.assert_array_equal(np.asarray(out), np.arange(8) * 2)
    assert seen == [mesh_platform(mesh)]
