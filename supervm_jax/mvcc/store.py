"""Sharded multi-version key-value store: snapshots at block heights, atomic block commits, GC.

Heights count committed blocks: an empty store is at height 0 and each `MVCCStore.commit` makes the
next height. Every key maps to a version chain (two parallel lists, heights ascending, and values);
a snapshot at height h reads, per key, the last version with height <= h.

Concurrency:

* Keys live in ``shard_count`` shards (a power of two, 1..4096), ``hash(key) & (shard_count - 1)``;
  each shard keeps its keys ordered (``SortedDict``) for range and prefix scans and has one lock.
* Commits are serialized. A commit appends its versions shard by shard under each shard's lock, and
  only then publishes the new height; snapshots open at a published height, so all keys of a block
  become visible together or not at all.
* Point reads take no lock: appending a version never moves the versions an open snapshot can see,
  and garbage collection truncates a chain inside a sequence lock (readers retry if it moved under
  them), allocating nothing. Scans hold a shard's lock only while copying that shard's matching keys.
* Garbage collection: the watermark is the oldest open snapshot's height (the latest height when
  none is open). Per key, versions older than the newest one at or below the watermark are dropped,
  and a key whose only remaining version is a deletion at or below the watermark is removed. Commits
  mark the keys they touch; ``gc_threads`` background workers (each owning the shards ``s`` with
  ``s % gc_threads == worker``) collect them after every commit and snapshot close; with
  ``gc_threads=0`` the committing thread collects inline. Opening a snapshot below the height the
  collector has already passed raises ValueError.
* With a ``path``, each block is first written to sqlite3 in WAL mode (see `persistence`), then
  published in memory; reopening the same path recovers the last committed block at its height. A
  block whose durable write fails is not published (the height stays, the error propagates). Only
  one open store may write a path: a second one raises `StateLockedError` until `close()`.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import threading
from collections import Counter
from collections.abc import Iterator, Mapping

from sortedcontainers import SortedDict

from supervm_jax.mvcc.persistence import SqliteState
from supervm_jax.mvcc.transactions import VALUE_TYPES, check_write

MAX_SHARDS = 4096


class StaleBlockError(RuntimeError):
    """`commit(..., base_height=h)` found that another block was committed after height h."""


class _Chain:
    """Versions of one key: parallel lists `heights` (ascending) and `values`.

    Commits append (value first, then height); GC truncates the front in place inside an odd
    `epoch` (a sequence lock), so lock-free readers retry when the epoch moved under them.
    """

    __slots__ = ("heights", "values", "epoch")

    def __init__(self, height: int, value: int | str | bytes):
        self.heights = [height]
        self.values = [value]
        self.epoch = 0

    def at(self, height: int) -> int | str | bytes | None:
        """Value of the last version at or below `height` (None when there is none)."""
        while True:
            epoch = self.epoch
            pos = bisect.bisect_right(self.heights, height)
            try:
                value = self.values[pos - 1] if pos else None
            except IndexError:
                continue
            if epoch == self.epoch and not epoch & 1:
                return value


class _Shard:
    __slots__ = ("lock", "keys", "dirty")

    def __init__(self):
        self.lock = threading.Lock()
        self.keys: SortedDict = SortedDict()  # key -> _Chain
        self.dirty: set[str] = set()  # keys that may hold reclaimable versions


class Snapshot:
    """A read-only view of the store at one committed `height`; close it to let GC pass it.

    Reads never block commits and always return the values as of `height`. Usable as a context
    manager. Reading after `close()` raises ValueError.
    """

    __slots__ = ("height", "_store", "_shards", "_mask", "_open")

    def __init__(self, store: MVCCStore, height: int):
        self.height = height
        self._store = store
        self._shards = store._shards
        self._mask = store.shard_count - 1
        self._open = True

    def get(self, key: str) -> int | str | bytes | None:
        """Value of `key` at this snapshot's height; None when absent or deleted."""
        if not self._open:
            raise ValueError("snapshot is closed")
        chain = self._shards[hash(key) & self._mask].keys.get(key)
        return None if chain is None else chain.at(self.height)

    def get_many(self, keys) -> list[int | str | bytes | None]:
        """`get` of each of `keys`, in order (one call for a block's whole read set). A chain whose
        newest version is visible (the usual case at the latest height) is read without a search;
        a chain that GC is editing meanwhile (its epoch odd or moved) goes through `_Chain.at`."""
        if not self._open:
            raise ValueError("snapshot is closed")
        shards, mask, height = self._shards, self._mask, self.height
        values = []
        append = values.append
        for key in keys:
            chain = shards[hash(key) & mask].keys.get(key)
            if chain is None:
                append(None)
                continue
            epoch, heights = chain.epoch, chain.heights
            last = len(heights) - 1
            try:
                if not epoch & 1 and heights[last] <= height:
                    value = chain.values[last]  # values are appended before heights: index last exists
                    if chain.epoch == epoch:
                        append(value)
                        continue
            except IndexError:  # GC truncated the chain under us: search it properly
                pass
            append(chain.at(height))
        return values

    def scan(self, start: str | None = None, stop: str | None = None, *, prefix: str | None = None
             ) -> Iterator[tuple[str, int | str | bytes]]:
        """Yields (key, value) for live keys with start <= key < stop (None: unbounded), or with
        key.startswith(prefix), in key order across all shards, as of this snapshot's height."""
        if not self._open:
            raise ValueError("snapshot is closed")
        if prefix is not None and (start is not None or stop is not None):
            raise ValueError("give either prefix or start/stop, not both")
        per_shard = []
        for shard in self._shards:
            with shard.lock:
                if prefix is None:
                    keys = list(shard.keys.irange(start, stop, (True, False)))
                else:
                    keys = list(itertools.takewhile(lambda k: k.startswith(prefix), shard.keys.irange(prefix)))
                per_shard.append([(key, shard.keys[key]) for key in keys])
        for key, chain in heapq.merge(*per_shard, key=lambda item: item[0]):
            value = chain.at(self.height)
            if value is not None:
                yield key, value

    def close(self) -> None:
        """Releases the snapshot (idempotent); GC may then reclaim versions it kept alive."""
        if self._open:
            self._open = False
            self._store._release(self.height)

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class MVCCStore:
    """Multi-version state: `snapshot` reads at a height, `commit` adds the next height atomically.

    shard_count: power of two in [1, 4096]. gc_threads: background collectors (>= 0; 0 collects in
    the committing thread). path: sqlite3 file for durability (None or "": in memory only); an
    existing file is recovered at its last committed height, and is locked against other writers
    until `close()` (StateLockedError if another open store holds it). synchronous: sqlite's FULL
    (default, survives power loss) or NORMAL (survives process crashes). Raises ValueError for bad
    arguments.
    """

    def __init__(self, shard_count: int = 256, *, gc_threads: int = 1, path: str | None = None,
                 synchronous: str = "FULL"):
        if type(shard_count) is not int or not 1 <= shard_count <= MAX_SHARDS or shard_count & (shard_count - 1):
            raise ValueError(f"shard_count must be a power of two in [1, {MAX_SHARDS}], got {shard_count!r}")
        if type(gc_threads) is not int or gc_threads < 0:
            raise ValueError(f"gc_threads must be an int >= 0, got {gc_threads!r}")
        self.shard_count = shard_count
        self._shards = [_Shard() for _ in range(shard_count)]
        self._commit_lock = threading.Lock()
        self._snap_lock = threading.Lock()
        self._open_heights: Counter[int] = Counter()
        self._gc_floor = 0  # heights below this may have been collected
        self._height = 0
        self._db = SqliteState(path, synchronous) if path else None
        if self._db is not None:
            try:
                height, state = self._db.load()
                self._apply(height, state)
            except BaseException:
                self._db.close()
                raise
            self._height = height
        self._closed = False
        self._gc_wake = [threading.Event() for _ in range(gc_threads)]
        self._gc_workers = [
            threading.Thread(target=self._gc_loop, args=(w,), name=f"mvcc-gc-{w}", daemon=True)
            for w in range(gc_threads)
        ]
        for thread in self._gc_workers:
            thread.start()

    @classmethod
    def from_config(cls, config) -> MVCCStore:
        """Builds a store from a `supervm_jax.config.Config` (its ``mvcc`` section)."""
        return cls(config.mvcc.shard_count, gc_threads=config.mvcc.gc_threads, path=config.mvcc.path or None)

    @property
    def height(self) -> int:
        """Latest committed height (0 for an empty store)."""
        return self._height

    def snapshot(self, height: int | None = None) -> Snapshot:
        """Opens a snapshot at `height` (default: latest). Raises ValueError for a height above the
        latest or below what GC has already collected."""
        with self._snap_lock:
            height = self._height if height is None else height
            if type(height) is not int or not self._gc_floor <= height <= self._height:
                raise ValueError(
                    f"snapshot height must be an int in [{self._gc_floor}, {self._height}], got {height!r}"
                )
            self._open_heights[height] += 1
        return Snapshot(self, height)

    def get(self, key: str) -> int | str | bytes | None:
        """Value of `key` at the latest height (None when absent)."""
        with self.snapshot() as snap:
            return snap.get(key)

    def commit(self, writes: Mapping[str, int | str | bytes | None], *, base_height: int | None = None) -> int:
        """Commits one block's write set as the next height and returns that height.

        Values are int, str, bytes, or None (deletes the key); TypeError otherwise, before anything is
        written. With `base_height`, raises StaleBlockError unless the latest height still equals it.
        With a path, returns after the block is durable. All keys become visible together.
        """
        for key, value in writes.items():
            if type(key) is not str or type(value) not in VALUE_TYPES:
                check_write(key, value)
        with self._commit_lock:
            if self._closed:
                raise ValueError("store is closed")
            if base_height is not None and base_height != self._height:
                raise StaleBlockError(f"block was built on height {base_height}, store is at {self._height}")
            height = self._height + 1
            if self._db is not None:
                self._db.write_block(height, writes)
            self._apply(height, writes)
            self._height = height
        self._after_change()
        return height

    def _apply(self, height: int, writes: Mapping[str, int | str | bytes | None]) -> None:
        """Appends version `height` of every written key, shard by shard (caller holds the commit lock)."""
        mask = self.shard_count - 1
        by_shard: dict[int, list[tuple[str, int | str | bytes | None]]] = {}
        for item in writes.items():
            by_shard.setdefault(hash(item[0]) & mask, []).append(item)
        for index in sorted(by_shard):
            shard = self._shards[index]
            with shard.lock:
                keys, dirty = shard.keys, shard.dirty
                for key, value in by_shard[index]:
                    chain = keys.get(key)
                    if chain is None:
                        if value is not None:
                            keys[key] = _Chain(height, value)
                        continue
                    chain.values.append(value)
                    chain.heights.append(height)
                    dirty.add(key)

    def _release(self, height: int) -> None:
        with self._snap_lock:
            self._open_heights[height] -= 1
            if not self._open_heights[height]:
                del self._open_heights[height]
        self._after_change()

    def _after_change(self) -> None:
        if self._gc_workers:
            for event in self._gc_wake:
                event.set()
        else:
            self.collect_garbage()

    @property
    def watermark(self) -> int:
        """Height of the oldest open snapshot, or the latest height when none is open."""
        with self._snap_lock:
            return min(self._open_heights, default=self._height)

    def _advance_floor(self) -> int:
        """Fixes the watermark as the new GC floor (no snapshot may open below it) and returns it."""
        with self._snap_lock:
            watermark = min(self._open_heights, default=self._height)
            self._gc_floor = max(self._gc_floor, watermark)
            return self._gc_floor

    def collect_garbage(self) -> int:
        """Reclaims every version below the watermark now, in the calling thread; returns how many."""
        watermark = self._advance_floor()
        return sum(self._collect_shard(shard, watermark) for shard in self._shards if shard.dirty)

    @staticmethod
    def _collect_shard(shard: _Shard, watermark: int) -> int:
        reclaimed = 0
        with shard.lock:
            still_dirty = set()
            for key in shard.dirty:
                chain = shard.keys[key]
                heights, values = chain.heights, chain.values
                drop = bisect.bisect_right(heights, watermark) - 1
                if drop > 0:
                    chain.epoch += 1
                    del heights[:drop]
                    del values[:drop]
                    chain.epoch += 1
                    reclaimed += drop
                if len(heights) > 1:
                    still_dirty.add(key)
                elif values[0] is None:
                    if heights[0] <= watermark:
                        del shard.keys[key]
                        reclaimed += 1
                    else:
                        still_dirty.add(key)
            shard.dirty = still_dirty
        return reclaimed

    def _gc_loop(self, worker: int) -> None:
        wake = self._gc_wake[worker]
        mine = self._shards[worker::len(self._gc_workers)]
        while True:
            wake.wait()
            wake.clear()
            if self._closed:
                return
            watermark = self._advance_floor()
            for shard in mine:
                if shard.dirty:
                    self._collect_shard(shard, watermark)

    def version_count(self) -> int:
        """Number of retained versions over all keys (deletions included): the store's memory measure."""
        total = 0
        for shard in self._shards:
            with shard.lock:
                total += sum(len(chain.heights) for chain in shard.keys.values())
        return total

    def close(self) -> None:
        """Stops the GC workers, closes the database and releases its writer lock (idempotent). Open
        snapshots stay readable."""
        with self._commit_lock:
            if self._closed:
                return
            self._closed = True
        for event in self._gc_wake:
            event.set()
        for thread in self._gc_workers:
            thread.join()
        if self._db is not None:
            self._db.close()

    def __enter__(self) -> MVCCStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
