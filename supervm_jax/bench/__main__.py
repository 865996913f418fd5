"""Entry point: `python -m supervm_jax.bench SUITE [--n=1024,1048576] [--repeats=5] [--cpu_devices=N]`.

Starts like the jobs (`supervm_jax.jobs.run_main`): the CPU backend gets one JAX device per usable
core unless `--cpu_devices`, ``SUPERVM_CPU_DEVICES``, ``--set=devices.cpu_devices=N`` or XLA_FLAGS'
``--xla_force_host_platform_device_count`` says otherwise; `--config` and `--set` are accepted.
"""

from __future__ import annotations

import importlib

from absl import app, flags

from supervm_jax import config
from supervm_jax.bench import SUITES, harness
from supervm_jax.jobs import run_main

FLAGS = flags.FLAGS
flags.DEFINE_list("n", None, "Comma list of sizes (ints or 2**k); default: the suite's own sizes.")
flags.DEFINE_integer("repeats", harness.REPEATS, "Timed runs per measurement (median reported).")
config.define_flags()


def _parse_size(text: str) -> int:
    text = text.strip()
    if text.startswith("2**"):
        return 2 ** int(text[3:])
    if text.startswith("2^"):
        return 2 ** int(text[2:])
    return int(text)


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[1] not in SUITES:
        raise app.UsageError(f"usage: python -m supervm_jax.bench SUITE, SUITE one of {', '.join(SUITES)}")
    suite = importlib.import_module(f"supervm_jax.bench.{argv[1]}")
    sizes = [_parse_size(s) for s in FLAGS.n] if FLAGS.n else suite.DEFAULT_SIZES
    harness.REPEATS = FLAGS.repeats
    for record in suite.run(sizes):
        print(record.to_json(), flush=True)


if __name__ == "__main__":
    run_main(main)
