"""Past one box: JAX's multi-process runtime under every sharded API.

Model (SPMD, as JAX's own multi-controller runtime): N processes (typically one per host, each
owning its local devices) run the *same program* on the *same inputs*. `initialize` starts JAX's
distributed runtime (process 0 hosts the coordinator service); after it, `jax.devices()` lists the
devices of every process (process 0's first), so `device_mesh()` is the global mesh and every
sharded API (`shard_batch`, `run_sharded`, `ntt_sharded`, `msm` / `msm_batch` / `FixedBaseMSM`, the
Merkle trees, signature verification, `prove_batch`) takes it unchanged:

* inputs: every process passes the full input; `place` puts on each process's devices only the
  shards those devices own, read from the process's own copy (no bytes cross hosts; a plain
  `jax.device_put` or a jit argument would all-gather the input to check that every process
  passed the same value). `from_process_local` builds a global array from a part per process instead (each
  process reads its own slice of the batch).
* outputs: `mesh_jit` compiles a program over the mesh with its outputs *replicated* when the mesh
  spans several processes, so `np.asarray` works on every process (an array sharded over devices
  of other processes cannot be read); `to_host` does the same for an array made elsewhere. Both
  count the bytes each process receives (`traffic()`). With one process they are plain `jax.jit`
  and `np.asarray`: nothing changes.

* host values every process must share: `agreed_randbelow` (random challenges drawn by process 0)
  and `broadcast_bytes` (process 0's bytes, e.g. a node's committed state at start-up).

Collectives inside a program (the NTT's all-to-all, the MSM's partial-sum gather) run over gloo on
CPU (``jax_cpu_collectives_implementation``), NCCL on GPU; they are not in `traffic()`.
"""

from __future__ import annotations

import functools
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from supervm_jax.config import Config, ConfigError, DistributedConfig, load_config
from supervm_jax.pmap.platform import mesh_platform, platform_scope

_ADDRESS = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


class DistributedError(RuntimeError):
    """The multi-process runtime could not start: a process or the coordinator did not join in time,
    the coordinator port is taken, or JAX was already in use in this process."""


def resolve(coordinator: str | None = None, num_processes: int | None = None, process_id: int | None = None,
            *, timeout_s: int | None = None, cfg: Config | None = None) -> DistributedConfig:
    """The runtime settings: explicit arguments over `cfg.distributed` (default `load_config()`:
    file < SUPERVM_COORDINATOR / SUPERVM_NUM_PROCESSES / SUPERVM_PROCESS_ID /
    SUPERVM_DISTRIBUTED_TIMEOUT < flags). Raises ConfigError for a process id outside
    [0, num_processes), a missing or malformed coordinator address, or a timeout < 1 s."""
    base = (cfg or load_config()).distributed
    out = DistributedConfig(
        coordinator=base.coordinator if coordinator is None else coordinator,
        num_processes=base.num_processes if num_processes is None else num_processes,
        process_id=base.process_id if process_id is None else process_id,
        timeout_s=base.timeout_s if timeout_s is None else timeout_s,
    )
    if out.num_processes < 1:
        raise ConfigError(f"distributed.num_processes must be >= 1, got {out.num_processes}")
    if not 0 <= out.process_id < out.num_processes:
        raise ConfigError(f"distributed.process_id must be in [0, {out.num_processes}) for "
                          f"{out.num_processes} processes, got {out.process_id}")
    if out.timeout_s < 1:
        raise ConfigError(f"distributed.timeout_s must be >= 1 second, got {out.timeout_s}")
    if out.num_processes > 1:
        if not out.coordinator:
            raise ConfigError(f"distributed.coordinator (host:port of process 0) is required for "
                              f"{out.num_processes} processes (--coordinator, SUPERVM_COORDINATOR)")
        m = _ADDRESS.match(out.coordinator)
        if not m or not 0 < int(m.group(2)) < 65536:
            raise ConfigError(f"distributed.coordinator must be host:port, got {out.coordinator!r}")
    return out


def initialize(coordinator: str | None = None, num_processes: int | None = None, process_id: int | None = None,
               *, timeout_s: int | None = None, cfg: Config | None = None) -> bool:
    """Starts JAX's distributed runtime for this process; call it before any JAX computation.

    Settings as in `resolve` (arguments over config over environment). One process: nothing to start,
    returns False. Otherwise process 0 serves the coordinator at `coordinator` (it binds that port on
    every interface), every process connects and waits up to `timeout_s` seconds for all
    `num_processes` to join; on CPU the cross-process collectives use gloo. Returns True.

    Raises ConfigError for bad settings; DistributedError when the runtime is already running in
    this process, JAX already touched a device, process 0 cannot bind the coordinator port, or a
    process > 0 cannot reach the coordinator within `timeout_s` (the message names both). Once
    connected, a process that does not join within `timeout_s` makes JAX's runtime abort every
    waiting process (DEADLINE_EXCEEDED on RegisterTask): a crash with that message, not a hang.
    """
    s = resolve(coordinator, num_processes, process_id, timeout_s=timeout_s, cfg=cfg)
    if s.num_processes == 1:
        return False
    if is_initialized():
        raise DistributedError("the JAX distributed runtime is already initialized in this process")
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized():
        raise DistributedError("pmap.distributed.initialize must run before any JAX computation (something "
                               "already listed devices or ran a kernel in this process)")
    host, port = s.coordinator.rsplit(":", 1)
    host = host.strip("[]")
    if s.process_id == 0:
        _check_bindable(host, int(port), s.coordinator)
    else:
        _wait_reachable(host, int(port), s)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=s.coordinator, num_processes=s.num_processes, process_id=s.process_id,
        initialization_timeout=s.timeout_s, cluster_detection_method="deactivate")
    return True


def _check_bindable(host: str, port: int, address: str) -> None:
    """Process 0 serves the coordinator on `port` (every interface): fail now if it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("::" if family == socket.AF_INET6 else "", port))
        except OSError as err:
            raise DistributedError(f"process 0 cannot serve the coordinator {address}: port {port} is not "
                                   f"free ({err.strerror or err})") from None


def _wait_reachable(host: str, port: int, s: DistributedConfig) -> None:
    """Processes > 0: wait up to s.timeout_s for process 0's coordinator to accept TCP connections
    (JAX's own client aborts the interpreter when it cannot register, so this fails first, cleanly)."""
    deadline = time.monotonic() + s.timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError as err:
            if time.monotonic() >= deadline:
                raise DistributedError(
                    f"process {s.process_id} of {s.num_processes}: coordinator {s.coordinator} unreachable for "
                    f"{s.timeout_s} s ({err.strerror or err}); start process 0 there first, or raise "
                    f"distributed.timeout_s") from None
            time.sleep(0.5)


def is_initialized() -> bool:
    """True once `initialize` (or `jax.distributed.initialize`) started the runtime here."""
    from jax._src import distributed as _dist

    return _dist.global_state.client is not None


def spans_processes(mesh: Mesh) -> bool:
    """True when `mesh` has devices of other processes (its arrays cannot all be read locally)."""
    return mesh.is_multi_process


# -- traffic accounting ------------------------------------------------------------------------

_lock = threading.Lock()
_traffic = {"gathers": 0, "bytes": 0}


def traffic() -> dict[str, int]:
    """{"gathers": outputs gathered to this process, "bytes": bytes received from other processes}
    since the last `reset_traffic()`. Bytes of a replicated output of B bytes on a mesh of D
    devices, L of them local: B (D - L) / D (the shards this process did not compute)."""
    with _lock:
        return dict(_traffic)


def reset_traffic() -> None:
    with _lock:
        _traffic.update(gathers=0, bytes=0)


def _count(nbytes: int, mesh_size: int, local: int) -> None:
    with _lock:
        _traffic["gathers"] += 1
        _traffic["bytes"] += nbytes * (mesh_size - local) // mesh_size


# -- programs and host transfers ---------------------------------------------------------------

def mesh_jit(fn: Callable, mesh: Mesh) -> Callable:
    """`jax.jit(fn)` for a program over `mesh` (typically a `shard_map`), traced under
    `platform_scope(mesh_platform(mesh))` so that kernels make the mesh's platform choices. When the
    mesh spans several processes the outputs are replicated on every device (an all-gather in the
    program, counted in `traffic()`), so every process can read them."""
    platform = mesh_platform(mesh)

    @functools.wraps(fn)
    def traced(*args):
        with platform_scope(platform):
            return fn(*args)

    if not spans_processes(mesh):
        return jax.jit(traced)
    jitted = jax.jit(traced, out_shardings=NamedSharding(mesh, PartitionSpec()))
    local = len(mesh.local_devices)

    @functools.wraps(fn)
    def run(*args):
        out = jitted(*args)
        for leaf in jax.tree.leaves(out):
            _count(leaf.nbytes, mesh.size, local)
        return out

    return run


def to_host(x: Any) -> np.ndarray:
    """x as a numpy array on every process: an array sharded over devices of other processes is
    all-gathered (`multihost_utils.process_allgather`, counted in `traffic()`); anything readable
    here (numpy, a local or replicated array) is `np.asarray(x)`."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable and not x.is_fully_replicated:
        from jax.experimental import multihost_utils

        local = len(x.sharding.addressable_devices)
        _count(x.nbytes, len(x.sharding.device_set), local)
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def collect_target(mesh: Mesh) -> jax.Device | NamedSharding:
    """Where a result spread over `mesh` is collected: its first device (a copy) when this process
    owns the whole mesh, else a replicated sharding over the mesh (every process keeps a copy)."""
    if spans_processes(mesh):
        return NamedSharding(mesh, PartitionSpec())
    return mesh.devices.flat[0]


def place(x: Any, sharding: NamedSharding) -> jax.Array:
    """x (a host array, or a jax.Array) laid out as `sharding`. With one process: `jax.device_put`.
    On a mesh over several processes, where every process holds the full input (the model above),
    `jax.make_array_from_callback` fills this process's shards from its own copy: `jax.device_put`
    of a host value would first all-gather it from every process to check that they agree
    (`multihost_utils.assert_equal`), moving the whole input between hosts on every call. An
    array already spread over other processes is resharded by `jax.device_put`."""
    if not spans_processes(sharding.mesh) or (isinstance(x, jax.Array) and not x.is_fully_addressable):
        return jax.device_put(x, sharding)
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def from_process_local(local: np.ndarray, mesh: Mesh) -> jax.Array:
    """A global array whose last axis (the batch) is the concatenation, in process order, of every
    process's `local` part (all parts the same shape, their length a multiple of this process's
    device count in the mesh): each process reads and places only its own part."""
    from supervm_jax.pmap.sharding import BATCH_AXIS

    spec = PartitionSpec(*([None] * (np.ndim(local) - 1) + [BATCH_AXIS]))
    return jax.make_array_from_process_local_data(NamedSharding(mesh, spec), np.asarray(local))


def randbelow_many(bound: int, count: int) -> list[int]:
    """`count` independent uniform ints in [0, bound) from the OS CSPRNG (`secrets`), drawn in one
    `secrets.token_bytes` call per round (rejection sampling on (bound - 1).bit_length() bits)
    rather than one system call per value: a block's 10,000 batch-equation coefficients in ~3 ms."""
    if bound < 1:
        raise ValueError(f"bound must be >= 1, got {bound}")
    bits = (bound - 1).bit_length()
    if bits == 0:
        return [0] * count
    width, mask = -(-bits // 8), (1 << bits) - 1
    out: list[int] = []
    while len(out) < count:  # each round keeps > half of its draws
        raw = secrets.token_bytes((count - len(out)) * width)
        values = (int.from_bytes(raw[i : i + width], "little") & mask for i in range(0, len(raw), width))
        out.extend(v for v in values if v < bound)
    return out[:count]


def agreed_randbelow(bound: int, count: int) -> list[int]:
    """`count` uniform ints in [0, bound) from the OS CSPRNG, the same on every process: process 0
    draws them and broadcasts them (a random challenge that feeds a sharded call must be one value,
    not one per process, or the shards would mix different challenges)."""
    if jax.process_count() == 1:
        return randbelow_many(bound, count)
    from jax.experimental import multihost_utils

    width = -(-bound.bit_length() // 8)
    raw = np.zeros((count, width), np.uint8)
    if jax.process_index() == 0:
        raw[:] = np.frombuffer(b"".join(v.to_bytes(width, "little") for v in randbelow_many(bound, count)),
                               np.uint8).reshape(count, width)
    raw = np.asarray(multihost_utils.broadcast_one_to_all(raw))
    with _lock:
        _traffic["gathers"] += 1
        _traffic["bytes"] += raw.nbytes if jax.process_index() else 0
    return [int.from_bytes(row.tobytes(), "little") for row in raw]


def broadcast_bytes(data: bytes) -> bytes:
    """Process 0's `data` on every process (what the others pass is ignored); `data` itself with
    one process. Two broadcasts (the length, then the bytes padded to a power of two so that sizes
    share compiled programs); the bytes received count in `traffic()`. For start-up state, not for
    a hot path."""
    if jax.process_count() == 1:
        return data
    from jax.experimental import multihost_utils

    lead = jax.process_index() == 0
    length = np.frombuffer(len(data).to_bytes(8, "little") if lead else bytes(8), np.uint8)
    length = int.from_bytes(np.asarray(multihost_utils.broadcast_one_to_all(length)).tobytes(), "little")
    padded = np.zeros(1 << max(length - 1, 0).bit_length(), np.uint8)
    if lead:
        padded[:length] = np.frombuffer(data, np.uint8)
    out = np.asarray(multihost_utils.broadcast_one_to_all(padded))[:length].tobytes()
    with _lock:
        _traffic["gathers"] += 2
        _traffic["bytes"] += 0 if lead else 8 + padded.nbytes
    return out
