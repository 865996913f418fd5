"""One typed configuration for the whole system, with one precedence rule.

    defaults  <  TOML file  <  environment (SUPERVM_*)  <  absl flags / explicit overrides

Sections and keys (TOML table.key, environment name, type, default):

    [parallel] num_workers      SUPERVM_NUM_THREADS          int  os.cpu_count()
    [parallel] sequential_below SUPERVM_SEQUENTIAL_BELOW     int  32   (blocks smaller than this run serially)
    [parallel] native_threads   SUPERVM_NATIVE_THREADS       int  1    (threads of the native path for built-in
                                                                       transfers; 1: its serial loop, measured fastest)
    [mvcc]     shard_count      SUPERVM_MVCC_SHARDS          int  256  (power of two, 1..4096)
    [mvcc]     gc_threads       SUPERVM_MVCC_GC_THREADS      int  1
    [mvcc]     path             SUPERVM_MVCC_PATH            str  ""   (empty: in-memory only)
    [devices]  platform         SUPERVM_DEVICES_PLATFORM     str  ""   (empty: JAX's default backend)
    [devices]  count            SUPERVM_DEVICES_COUNT        int  0    (0: every visible device)
    [devices]  cpu_devices      SUPERVM_CPU_DEVICES          int  0    (JAX CPU devices jobs and benches
                                                                       create; 0: one per usable core)
    [distributed] coordinator   SUPERVM_COORDINATOR          str  ""   (host:port of process 0's runtime service)
    [distributed] num_processes SUPERVM_NUM_PROCESSES        int  1    (1: single process, nothing to start)
    [distributed] process_id    SUPERVM_PROCESS_ID           int  0    (this process, in [0, num_processes))
    [distributed] timeout_s     SUPERVM_DISTRIBUTED_TIMEOUT  int  120  (seconds to wait for every process to join)

Unknown sections or keys, and values of the wrong type or out of range, raise `ConfigError`
naming the offending key and where it came from.

Usage::

    cfg = load_config("node.toml")                     # file + environment
    cfg = load_config(overrides={"mvcc.shard_count": 1024})
    cfg.mvcc.shard_count

Jobs and benches get `--config=FILE`, `--set=section.key=value` (repeatable) and
`--cpu_devices=N` (same as `--set=devices.cpu_devices=N`) through `define_flags()` /
`config_from_flags()`.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from typing import Any


class ConfigError(ValueError):
    """A configuration key is unknown, or its value has the wrong type or range."""


def _positive(key: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{key} must be >= 1, got {value}")


def _non_negative(key: str, value: int) -> None:
    if value < 0:
        raise ConfigError(f"{key} must be >= 0, got {value}")


def _shard_count(key: str, value: int) -> None:
    if value < 1 or value > 4096 or value & (value - 1):
        raise ConfigError(f"{key} must be a power of two in [1, 4096], got {value}")


@dataclasses.dataclass(frozen=True)
class ParallelConfig:
    num_workers: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)
    sequential_below: int = 32
    native_threads: int = 1


@dataclasses.dataclass(frozen=True)
class MVCCConfig:
    shard_count: int = 256
    gc_threads: int = 1
    path: str = ""


@dataclasses.dataclass(frozen=True)
class DevicesConfig:
    platform: str = ""
    count: int = 0
    cpu_devices: int = 0


@dataclasses.dataclass(frozen=True)
class DistributedConfig:
    """JAX multi-process runtime (see `supervm_jax.pmap.distributed.initialize`)."""

    coordinator: str = ""
    num_processes: int = 1
    process_id: int = 0
    timeout_s: int = 120


@dataclasses.dataclass(frozen=True)
class Config:
    parallel: ParallelConfig = dataclasses.field(default_factory=ParallelConfig)
    mvcc: MVCCConfig = dataclasses.field(default_factory=MVCCConfig)
    devices: DevicesConfig = dataclasses.field(default_factory=DevicesConfig)
    distributed: DistributedConfig = dataclasses.field(default_factory=DistributedConfig)


# section.key -> (environment variable, type, range check or None)
_SCHEMA: dict[str, tuple[str, type, Any]] = {
    "parallel.num_workers": ("SUPERVM_NUM_THREADS", int, _positive),
    "parallel.sequential_below": ("SUPERVM_SEQUENTIAL_BELOW", int, _non_negative),
    "parallel.native_threads": ("SUPERVM_NATIVE_THREADS", int, _positive),
    "mvcc.shard_count": ("SUPERVM_MVCC_SHARDS", int, _shard_count),
    "mvcc.gc_threads": ("SUPERVM_MVCC_GC_THREADS", int, _non_negative),
    "mvcc.path": ("SUPERVM_MVCC_PATH", str, None),
    "devices.platform": ("SUPERVM_DEVICES_PLATFORM", str, None),
    "devices.count": ("SUPERVM_DEVICES_COUNT", int, _non_negative),
    "devices.cpu_devices": ("SUPERVM_CPU_DEVICES", int, _non_negative),
    "distributed.coordinator": ("SUPERVM_COORDINATOR", str, None),
    "distributed.num_processes": ("SUPERVM_NUM_PROCESSES", int, _positive),
    "distributed.process_id": ("SUPERVM_PROCESS_ID", int, _non_negative),
    "distributed.timeout_s": ("SUPERVM_DISTRIBUTED_TIMEOUT", int, _positive),
}
ENV_NAMES = {key: env for key, (env, _, _) in _SCHEMA.items()}


def _coerce(key: str, value: Any, source: str) -> Any:
    """Converts `value` to the declared type of `key` and checks its range."""
    if key not in _SCHEMA:
        known = ", ".join(sorted(_SCHEMA))
        raise ConfigError(f"unknown config key {key!r} (from {source}); known keys: {known}")
    _, ftype, check = _SCHEMA[key]
    if ftype is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{key} (from {source}) must be an integer, got {value!r}")
        try:
            value = int(value)
        except ValueError:
            raise ConfigError(f"{key} (from {source}) must be an integer, got {value!r}") from None
    elif not isinstance(value, str):
        raise ConfigError(f"{key} (from {source}) must be a string, got {value!r}")
    if check is not None:
        try:
            check(key, value)
        except ConfigError as err:
            raise ConfigError(f"{err} (from {source})") from None
    return value


def _flatten_toml(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    flat = {}
    for section, table in data.items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"config key {section!r} (from {source}) must be a [section] table")
        for name, value in table.items():
            flat[f"{section}.{name}"] = value
    return flat


def load_config(
    path: str | os.PathLike | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Builds a `Config`: defaults < TOML at `path` < `environ` (default os.environ) < `overrides`.

    `overrides` maps "section.key" to a value (what absl flags supply). Raises `ConfigError`.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"config file {path}: {err}") from None
        for key, value in _flatten_toml(data, str(path)).items():
            values[key] = _coerce(key, value, f"file {path}")
    for key, env_name in ENV_NAMES.items():
        if env_name in environ:
            values[key] = _coerce(key, environ[env_name], f"environment {env_name}")
    for key, value in (overrides or {}).items():
        values[key] = _coerce(key, value, "override")
    sections: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        section, name = key.split(".")
        sections.setdefault(section, {})[name] = value
    return Config(
        parallel=ParallelConfig(**sections.get("parallel", {})),
        mvcc=MVCCConfig(**sections.get("mvcc", {})),
        devices=DevicesConfig(**sections.get("devices", {})),
        distributed=DistributedConfig(**sections.get("distributed", {})),
    )


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def cpu_devices_to_create(cfg: Config, environ: Mapping[str, str] | None = None) -> int | None:
    """How many CPU devices JAX should create for a job or bench, or None to leave JAX alone.

    None when the user already chose in JAX's own terms: ``--xla_force_host_platform_device_count``
    in ``XLA_FLAGS`` or ``JAX_NUM_CPU_DEVICES`` in `environ` (default os.environ). Otherwise
    ``cfg.devices.cpu_devices``, where 0 means `usable_cores()`.
    """
    environ = os.environ if environ is None else environ
    if "xla_force_host_platform_device_count" in environ.get("XLA_FLAGS", "") or "JAX_NUM_CPU_DEVICES" in environ:
        return None
    return cfg.devices.cpu_devices or usable_cores()


def define_flags() -> None:
    """Defines the `--config`, `--set` and `--cpu_devices` absl flags (idempotent)."""
    from absl import flags

    if "config" not in flags.FLAGS:
        flags.DEFINE_string("config", None, "TOML configuration file (see supervm_jax.config).")
    if "set" not in flags.FLAGS:
        flags.DEFINE_multi_string("set", [], "Override one key: --set=section.key=value (repeatable).")
    if "cpu_devices" not in flags.FLAGS:
        flags.DEFINE_integer("cpu_devices", None, "JAX CPU devices to create (devices.cpu_devices; 0: one per "
                             "core). Ignored when XLA_FLAGS sets --xla_force_host_platform_device_count.")


def config_from_flags() -> Config:
    """Loads the configuration with absl `--config`, `--set` and `--cpu_devices` on top of file and
    environment (`--cpu_devices` last)."""
    from absl import flags

    overrides = {}
    for item in flags.FLAGS.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects section.key=value, got {item!r}")
        overrides[key.strip()] = value.strip()
    if flags.FLAGS.cpu_devices is not None:
        overrides["devices.cpu_devices"] = flags.FLAGS.cpu_devices
    return load_config(flags.FLAGS.config, overrides=overrides)
