"""Per-block multi-version map: for every key, the value each transaction index last wrote to it.

Only speculative executions record here (final ones go straight to the committed state, see
`executor`). ``read(key, i, floor)`` returns what transaction ``i`` sees from speculative writers at
or above ``floor`` (the committed prefix): the value written by the highest such index ``j < i``, an
`Estimate` marker if that writer was aborted (its write is expected again, so the reader should wait
for ``j``), or `STORAGE` when there is none (read the committed state). Entries below the committed
prefix are stale by construction and ignored.

Layout: ``key -> (order, values)``, ``order`` the ascending writer indices, ``values`` a dict from
index to value or `Estimate`. Values are written before their index enters ``order`` and removed
after it leaves, so a concurrent reader never finds an index without a value.

Locking: none. Under CPython's GIL every list and dict operation here is atomic; a reader can only
be confused by a concurrent insert or removal of a *lower* index than its own (which shifts the
positions it bisected), and then it either retries (index out of range, value gone, index not below
its own) or returns a stale value. A stale value is harmless: the executor decides finality only by
reads made while every lower transaction is committed, which never come from here.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping


class Estimate:
    """Marks the writes of aborted transaction `index`: readers wait for it instead of reading."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


class _Storage:
    __slots__ = ()

    def __repr__(self) -> str:
        return "STORAGE"


STORAGE = _Storage()
"""`MVMemory.read` result: no lower transaction wrote the key; read the pre-block state."""


class MVMemory:
    """Multi-version writes of the `n` transactions of one block."""

    __slots__ = ("_data", "write_sets")

    def __init__(self, n: int):
        self._data: dict[str, tuple[list[int], dict[int, object]]] = {}
        self.write_sets: list[Mapping[str, object]] = [{}] * n  # last recorded write set per transaction

    def read(self, key: str, index: int, floor: int) -> object:
        """Value written to `key` by the highest transaction w with floor <= w < index, an `Estimate`
        if that one was aborted, or STORAGE when there is none (read the committed state instead)."""
        entry = self._data.get(key)
        if entry is None:
            return STORAGE
        order, values = entry
        while True:
            pos = bisect_left(order, index)
            if not pos:
                return STORAGE
            try:
                writer = order[pos - 1]
                value = values[writer]
            except (IndexError, KeyError):
                continue
            if writer < index:
                return value if writer >= floor else STORAGE

    def record(self, index: int, writes: Mapping[str, object]) -> bool:
        """Replaces transaction `index`'s write set by `writes` (the mapping is kept, not copied).

        Returns True when it writes a key the previous incarnation did not (Block-STM's "wrote a new
        location"): transactions above that read the key elsewhere must then be validated again.
        """
        data = self._data
        new_location = False
        for key, value in writes.items():
            entry = data.get(key)
            if entry is None:
                entry = data.setdefault(key, ([], {}))
            order, values = entry
            fresh = index not in values
            values[index] = value
            if fresh:
                insort(order, index)
                new_location = True
        previous = self.write_sets[index]
        for key in previous:
            if key not in writes:
                order, values = data[key]
                order.remove(index)
                del values[index]
        self.write_sets[index] = writes
        return new_location

    def mark_estimates(self, index: int) -> None:
        """Turns transaction `index`'s writes into `Estimate` markers (it was aborted)."""
        marker = Estimate(index)
        data = self._data
        for key in self.write_sets[index]:
            data[key][1][index] = marker
