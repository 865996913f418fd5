"""Experiment: single-device NTT, radix-2 kernel vs the grouped four-step path, same process.

Run from the repository root: python -m experiments.ntt_paths LOG2_N   (see docs/PERFORMANCE.md)
"""
import sys
import time

import jax

from supervm_jax.field import BN254_FR as F
from supervm_jax.ntt import four_step, ntt


def main():
    n = 2 ** int(sys.argv[1])
    x = F.random(jax.random.key(0), n)
    for mode in ["radix2", "four_step", "radix2", "four_step"]:
        four_step.FOUR_STEP_MIN_LOG = 99 if mode == "radix2" else 0
        ntt(F, x).block_until_ready()
        times = []
        for _ in range(3):
            start = time.perf_counter()
            ntt(F, x).block_until_ready()
            times.append(time.perf_counter() - start)
        print(mode, round(sorted(times)[1], 3), flush=True)


if __name__ == "__main__":
    main()
