"""FixedBaseMSM with and without window tables: start-up, first call and steady call times.

    XLA_FLAGS=--xla_force_host_platform_device_count=2 python -m experiments.msm_fixed_base 131072 1   # tables
    XLA_FLAGS=--xla_force_host_platform_device_count=2 python -m experiments.msm_fixed_base 131072 0   # bases only

The numbers behind docs/MSM.md "Fixed-base MSM". Bases are i * G (i = 1..n), scalars pseudo-random
full-size field elements; the result is not checked here (tests/msm does that).
"""

import sys
import time

import jax
import numpy as np

from supervm_jax.curve import BN254_G1
from supervm_jax.msm import FixedBaseMSM


def main(n: int, precompute: bool) -> None:
    bases = BN254_G1.generator_mul(list(range(1, n + 1)))
    rng = np.random.default_rng(0)
    scalars = [int.from_bytes(rng.bytes(32), "little") % BN254_G1.order for _ in range(n)]
    start = time.perf_counter()
    fb = FixedBaseMSM(BN254_G1, bases, precompute=precompute)
    jax.block_until_ready(fb.table)
    init = time.perf_counter() - start
    start = time.perf_counter()
    fb(scalars)
    first = time.perf_counter() - start
    steady = []
    for _ in range(2):
        start = time.perf_counter()
        fb(scalars)
        steady.append(time.perf_counter() - start)
    print(f"n={n} precompute={precompute} window={fb.window} devices={jax.device_count()} "
          f"init={init:.1f}s first={first:.1f}s steady={min(steady):.2f}s", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] == "1")
