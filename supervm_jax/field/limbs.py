"""Host (numpy) helpers for little-endian uint32 limb arrays in *row* layout (n, L): one element per
row, as they come from files and go into host-side recodings (the device layout is (L, n)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def first_not_below(limbs: np.ndarray, modulus: int) -> int | None:
    """Index of the first row of (n, L) little-endian uint32 limbs whose value is >= modulus, or None."""
    n, width = limbs.shape
    if modulus >= 1 << (32 * width):
        return None
    m = np.frombuffer(modulus.to_bytes(4 * width, "little"), "<u4")
    less = np.zeros(n, bool)
    equal = np.ones(n, bool)
    for i in range(width - 1, -1, -1):
        less |= equal & (limbs[:, i] < m[i])
        equal &= limbs[:, i] == m[i]
    bad = np.flatnonzero(~less)
    return int(bad[0]) if bad.size else None


def limbs_from_le_bytes(raw, count: int, n8: int) -> np.ndarray:
    """`count` little-endian n8-byte integers (bytes-like) -> (count, n8 / 4) uint32 limbs (a copy)."""
    return np.frombuffer(raw, "<u4", count=count * n8 // 4).reshape(count, n8 // 4).astype(np.uint32)


def ints_from_limbs(limbs: np.ndarray) -> list[int]:
    """(n, L) little-endian uint32 limbs -> Python ints."""
    raw = np.ascontiguousarray(limbs, "<u4").tobytes()
    width = 4 * limbs.shape[1]
    return [int.from_bytes(raw[i : i + width], "little") for i in range(0, len(raw), width)]


def limbs_from_ints(values: Sequence[int], n8: int) -> np.ndarray:
    """Python ints in [0, 2^(8 n8)) -> (n, n8 / 4) uint32 little-endian limbs."""
    raw = b"".join(int(v).to_bytes(n8, "little") for v in values)
    return np.frombuffer(raw, "<u4").reshape(-1, n8 // 4).astype(np.uint32)
