"""Test-wide setup: 8 simulated CPU devices, so every sharded path is exercised without a GPU.

XLA_FLAGS must be set before JAX is imported. The flag only shapes the CPU platform: on a machine
with a GPU, JAX's default backend is the GPU and the same tests run there unchanged (sharded tests
then use every visible GPU).
"""

import os

_FLAG = "--xla_force_host_platform_device_count=8"
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _FLAG).strip()

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "supervm",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("supervm")


@pytest.fixture(scope="session")
def n_devices() -> int:
    return jax.device_count()


@pytest.fixture(params=["one", "all"], scope="session")
def mesh(request):
    """A mesh over one device and one over every device (8 simulated CPUs here)."""
    from supervm_jax.pmap import device_mesh

    return device_mesh(1) if request.param == "one" else device_mesh()
