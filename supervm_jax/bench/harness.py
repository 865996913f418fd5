"""Timing helpers shared by every benchmark suite.

Times are wall-clock seconds, medians over `repeats` runs after one warm-up run; device results are
waited for with `jax.block_until_ready`. Compilation is timed separately (first call of a jitted
function minus a steady-state call) and reported as `compile_s`.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import jax

REPEATS = 5


@dataclasses.dataclass
class Record:
    """One benchmark row: ours vs a peer on the same machine, in the same process run."""

    suite: str
    case: str
    n: int
    ours_s: float
    peer: str | None = None
    peer_s: float | None = None
    compile_s: float | None = None
    backend: str = dataclasses.field(default_factory=lambda: jax.default_backend())
    devices: int = dataclasses.field(default_factory=lambda: jax.device_count())
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> str:
        row = {
            "suite": self.suite,
            "case": self.case,
            "n": self.n,
            "backend": self.backend,
            "devices": self.devices,
            "ours_s": self.ours_s,
            "peer": self.peer,
            "peer_s": self.peer_s,
            "speedup": (self.peer_s / self.ours_s) if self.peer_s and self.ours_s else None,
            "compile_s": self.compile_s,
        }
        row.update(self.extra)
        return json.dumps(row)


def log(*args: Any) -> None:
    """Human-readable progress line on stderr."""
    print(*args, file=sys.stderr, flush=True)


def median_time(
    fn: Callable[[], Any], repeats: int | None = None, warmup: bool = True, device: bool = True
) -> float:
    """Median wall time of `fn()` in seconds.

    device=True waits for the JAX arrays `fn` returns (`block_until_ready`); host peers pass
    device=False so the timing does not include walking a large Python result.
    """
    repeats = repeats or REPEATS
    wait = jax.block_until_ready if device else (lambda result: result)
    if warmup:
        wait(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        wait(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compile_and_median(fn: Callable[[], Any], repeats: int | None = None) -> tuple[float, float]:
    """Returns (compile_s, median_s) for a jitted `fn` that has not been called with these shapes."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - start
    steady = median_time(fn, repeats, warmup=False)
    return max(first - steady, 0.0), steady


def peer_time(fn: Callable[[], Any], n_peer: int, n: int, repeats: int = 3) -> float:
    """Time of a (slow) host peer measured at size `n_peer`, scaled linearly to size `n`."""
    return median_time(fn, repeats, warmup=False, device=False) * (n / n_peer)
