"""Test-wide setup: 8 simulated CPU devices, so every sharded path is exercised without a GPU.

XLA_FLAGS must be set before JAX is imported. The flag only shapes the CPU platform: on a machine
with a GPU, JAX's default backend is the GPU and the same tests run there unchanged (sharded tests
then use every visible GPU).

Compiled programs go to JAX's persistent compilation cache in one directory shared by the xdist
workers and every subprocess the tests start (jobs, examples, multi-process runs inherit the
environment), so a program is compiled once per machine rather than once per process: most of the
suite's time is XLA compiling the same kernels. A `JAX_COMPILATION_CACHE_DIR` already set is kept
(an empty one turns the cache off); entries are keyed by the program, JAX version and backend.
The directory is not size-capped (JAX's cap needs the `filelock` package); delete it at will.
"""

import os
import tempfile

_FLAG = "--xla_force_host_platform_device_count=8"
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _FLAG).strip()
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), f"supervm_jax_tests_xla_{os.getuid()}"))

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


def _memory_maps() -> tuple[int, int] | None:
    """(mappings in use, vm.max_map_count) of this process, or None off Linux."""
    try:
        with open("/proc/self/maps") as maps, open("/proc/sys/vm/max_map_count") as limit:
            return sum(1 for _ in maps), int(limit.read())
    except OSError:
        return None


@pytest.fixture(scope="module", autouse=True)
def _release_compiled_programs():
    """Drops JAX's compiled programs after a test module once they hold half the process's
    memory-map budget.

    XLA:CPU maps about 19 regions per compiled program (JIT code, constants, data) and unmaps them
    only when the program is dropped. A test worker that compiles several thousand programs reaches
    vm.max_map_count (65530 by default); the next compile then fails, and the C++ exception raised
    for that failure crashed the worker with a segmentation fault inside the unwinder (seen in full
    two-worker runs: a core file held 65495 mappings). Clearing only past half the budget keeps the
    programs that later modules share in the usual case.
    """
    yield
    usage = _memory_maps()
    if usage is not None and usage[0] > usage[1] // 2:
        jax.clear_caches()
