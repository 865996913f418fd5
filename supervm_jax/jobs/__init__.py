"""Batch jobs, each run as ``python -m supervm_jax.jobs.<name>`` (node, execute, field_ntt, prove, verify).

Every job takes ``--config=FILE`` and ``--set=section.key=value`` (`supervm_jax.config`), loads them
with `config_from_flags` and starts through `run_main`, so a configuration error (unknown key, bad
value, unreadable or malformed file), a bad input the job reports as `JobInputError`, or a state
directory another process holds (`mvcc.StateLockedError`) prints one line ``error: <message>`` to
stderr and exits with code 2 instead of a traceback.

Before `main` runs, `run_main` gives JAX's CPU backend one device per usable core (or
``devices.cpu_devices``, ``SUPERVM_CPU_DEVICES``, ``--cpu_devices``), unless ``XLA_FLAGS`` already
sets ``--xla_force_host_platform_device_count``: see `use_cpu_devices`. The benches
(``python -m supervm_jax.bench``) start the same way.

Every job also takes ``--coordinator=host:port --num_processes=N --process_id=i`` (over the
``[distributed]`` config section): with N > 1 the job joins JAX's multi-process runtime before
`main` runs, its mesh spans every process's devices and its JSON summary's ``"devices"`` is the
global count. Every process runs the same job on the same input (SPMD); docs/DEPLOY.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from supervm_jax import config as config_lib
from supervm_jax.config import Config, ConfigError

CONFIG_ERROR_EXIT = 2


class JobInputError(ValueError):
    """An input the user must fix (a flag combination, a file): one line and exit code 2."""


def config_from_flags() -> Config:
    """`supervm_jax.config.config_from_flags`, with a missing, unreadable or non-UTF-8 ``--config``
    file also reported as ConfigError (naming the file)."""
    from absl import flags

    try:
        return config_lib.config_from_flags()
    except OSError as err:
        raise ConfigError(f"config file {flags.FLAGS.config}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {flags.FLAGS.config}: not UTF-8 ({err.reason})") from None


def use_cpu_devices(cfg: Config) -> None:
    """Sets ``jax_num_cpu_devices`` to `config.cpu_devices_to_create(cfg)` (one device per usable
    core by default) unless that is None (the user set XLA_FLAGS' device count or
    JAX_NUM_CPU_DEVICES) or JAX's backends have already started (then the count is fixed; this is
    the case when a test calls a job's `main` in its own process).

    Only the CPU backend reads the option: with a GPU as the default backend, jobs still run on the
    GPUs, and the host platform merely lists that many CPU devices.
    """
    import jax

    count = config_lib.cpu_devices_to_create(cfg)
    if count is None:
        return
    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError:  # JAX refuses a new count once its backends have started
        pass


def run_main(main: Callable[[list[str]], int | None]) -> None:
    """``absl.app.run(main)`` after `use_cpu_devices` and `start_distributed` (the multi-process
    runtime), where a flag that does not parse, or a ConfigError, JobInputError, StateLockedError or
    DistributedError escaping `main`, becomes ``error: <message>`` on stderr (one line) and exit
    code 2. `main`'s module must have called `supervm_jax.config.define_flags()`."""
    from absl import app, flags

    from supervm_jax.mvcc import StateLockedError

    from supervm_jax.pmap.distributed import DistributedError

    define_distributed_flags()

    def checked(argv: list[str]) -> int | None:
        try:
            use_cpu_devices(config_from_flags())
            start_distributed()
            return main(argv)
        except (ConfigError, JobInputError, StateLockedError, DistributedError) as err:
            message = " ".join(str(err).splitlines())
            print(f"error: {message}", file=sys.stderr, flush=True)
            return CONFIG_ERROR_EXIT

    def parse(argv: list[str]) -> list[str]:
        try:
            return flags.FLAGS(argv)
        except flags.Error as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            sys.exit(CONFIG_ERROR_EXIT)

    app.run(checked, flags_parser=parse)


# -- JAX's persistent compilation cache ------------------------------------------------------------

def define_compilation_cache_flag() -> None:
    """Defines ``--compilation_cache`` (idempotent): the directory of JAX's persistent compilation
    cache, by default ``$JAX_COMPILATION_CACHE_DIR`` when set (so a job shares the cache of whatever
    started it, such as the test suite), else ``~/.cache/supervm_jax/xla``; '' disables it."""
    import os

    from absl import flags

    if "compilation_cache" not in flags.FLAGS:
        default = os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                                              "supervm_jax", "xla")
        flags.DEFINE_string("compilation_cache", default, "Directory of JAX's persistent compilation cache (later "
                            "runs skip most compilation; default $JAX_COMPILATION_CACHE_DIR, else "
                            "~/.cache/supervm_jax/xla); '' disables.")


def use_compilation_cache() -> None:
    """Points JAX's persistent compilation cache at ``--compilation_cache`` (every program, however
    quick to compile). A process-wide setting, made by a job (an application), never by the library
    on import."""
    import jax
    from absl import flags

    if flags.FLAGS.compilation_cache:
        jax.config.update("jax_compilation_cache_dir", flags.FLAGS.compilation_cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


# -- multi-process runtime (supervm_jax.pmap.distributed) ------------------------------------------

def define_distributed_flags() -> None:
    """Defines ``--coordinator``, ``--num_processes`` and ``--process_id`` (idempotent); unset, they
    fall back to the ``[distributed]`` config section (file, SUPERVM_* environment, ``--set``)."""
    from absl import flags

    if "coordinator" not in flags.FLAGS:
        flags.DEFINE_string("coordinator", None, "host:port of process 0's JAX runtime coordinator "
                            "(default: config distributed.coordinator).")
    if "num_processes" not in flags.FLAGS:
        flags.DEFINE_integer("num_processes", None, "Processes of this job, one per host (default: config "
                             "distributed.num_processes, 1).", lower_bound=1)
    if "process_id" not in flags.FLAGS:
        flags.DEFINE_integer("process_id", None, "This process, in [0, num_processes) (default: config "
                             "distributed.process_id).", lower_bound=0)


def start_distributed() -> bool:
    """Joins the multi-process runtime from the flags over the config (`pmap.distributed.initialize`);
    False for a single process. Raises ConfigError / DistributedError (exit code 2 in `run_main`)."""
    from absl import flags

    from supervm_jax.pmap.distributed import initialize

    f = flags.FLAGS
    return initialize(f.coordinator, f.num_processes, f.process_id, cfg=config_from_flags())
