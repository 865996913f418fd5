"""Input normalization for the verifiers: sequences of bytes or (n, k) uint8 arrays -> numpy rows.

Every structural problem (a wrong type, a wrong length, batches of different sizes) raises
ValueError naming the argument and the index. Well-sized but malformed encodings are not checked
here: the verifiers turn them into a False result for that index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def fixed_rows(values, sizes: int | tuple[int, ...], what: str) -> list[np.ndarray] | np.ndarray:
    """values: a sequence of bytes-like objects, or an (n, k) uint8 array.

    sizes: the allowed byte length(s). With one size, returns an (n, size) uint8 array; with several,
    a list of 1-D uint8 arrays (one per element, each of an allowed length)."""
    allowed = (sizes,) if isinstance(sizes, int) else tuple(sizes)
    if isinstance(values, np.ndarray):
        if values.dtype != np.uint8 or values.ndim != 2:
            raise ValueError(f"{what}: an array must be (n, k) uint8, got {values.dtype} {values.shape}")
        if values.shape[1] not in allowed and values.shape[0] > 0:
            raise ValueError(f"{what} 0: {values.shape[1]} bytes, expected {_lengths(allowed)}")
        if len(allowed) == 1:
            if values.shape[0] == 0:
                return np.zeros((0, allowed[0]), np.uint8)
            return np.ascontiguousarray(values)
        return list(values)
    if isinstance(values, (bytes, bytearray, str)) or not isinstance(values, Sequence):
        raise ValueError(f"{what}: expected a sequence of bytes or an (n, k) uint8 array, got {type(values).__name__}")
    if len(allowed) == 1 and set(map(type, values)) <= {bytes} and set(map(len, values)) <= set(allowed):
        return np.frombuffer(b"".join(values), np.uint8).reshape(len(values), allowed[0])  # all well-formed
    rows = []
    for i, v in enumerate(values):
        if not isinstance(v, (bytes, bytearray, memoryview)):
            raise ValueError(f"{what} {i}: expected bytes, got {type(v).__name__}")
        if len(v) not in allowed:
            raise ValueError(f"{what} {i}: {len(v)} bytes, expected {_lengths(allowed)}")
        rows.append(np.frombuffer(bytes(v), np.uint8))
    if len(allowed) == 1:
        return np.stack(rows) if rows else np.zeros((0, allowed[0]), np.uint8)
    return rows


def messages(values, what: str = "message") -> list[bytes]:
    """Messages of any length: a sequence of bytes-like objects, or an (n, k) uint8 array."""
    if isinstance(values, np.ndarray):
        if values.dtype != np.uint8 or values.ndim != 2:
            raise ValueError(f"{what}s: an array must be (n, k) uint8, got {values.dtype} {values.shape}")
        return [row.tobytes() for row in values]
    if isinstance(values, (bytes, bytearray, str)) or not isinstance(values, Sequence):
        raise ValueError(f"{what}s: expected a sequence of bytes or an (n, k) uint8 array, got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        if not isinstance(v, (bytes, bytearray, memoryview)):
            raise ValueError(f"{what} {i}: expected bytes, got {type(v).__name__}")
        out.append(bytes(v))
    return out


def same_count(**batches) -> int:
    """The common length of the batches; ValueError naming them when they differ."""
    counts = {name: len(b) for name, b in batches.items()}
    if len(set(counts.values())) > 1:
        raise ValueError("batch sizes differ: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return next(iter(counts.values()))


def le_ints(rows: np.ndarray) -> list[int]:
    """(n, k) uint8 little-endian rows -> Python ints."""
    return _ints(rows, "little")


def be_ints(rows: np.ndarray) -> list[int]:
    """(n, k) uint8 big-endian rows -> Python ints."""
    return _ints(rows, "big")


def _ints(rows: np.ndarray, order: str) -> list[int]:
    """(n, k) uint8 rows -> n Python ints in byte `order` (one copy of the rows, sliced per row)."""
    data, k = np.ascontiguousarray(rows).tobytes(), rows.shape[1]
    if k == 0:
        return [0] * rows.shape[0]
    return [int.from_bytes(data[i:i + k], order) for i in range(0, len(data), k)]


def _lengths(allowed: tuple[int, ...]) -> str:
    return " or ".join(str(a) for a in allowed)
