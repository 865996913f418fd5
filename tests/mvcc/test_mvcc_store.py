"""MVCCStore: snapshots, atomic commits, scans, garbage collection, concurrent readers."""

from __future__ import annotations

import threading
import time

import pytest

from supervm_jax.config import load_config
from supervm_jax.mvcc import MVCCStore, StaleBlockError


def test_versions_and_snapshots():
    with MVCCStore(4, gc_threads=0) as store:
        assert store.height == 0 and store.get("a") is None
        assert store.commit({"a": 1, "b": "x"}) == 1
        old = store.snapshot()
        assert store.commit({"a": 2, "b": None, "c": b"\x00"}) == 2
        assert (old.height, old.get("a"), old.get("b"), old.get("c")) == (1, 1, "x", None)
        with store.snapshot() as new:
            assert (new.get("a"), new.get("b"), new.get("c")) == (2, None, b"\x00")
        with store.snapshot(1) as again:
            assert again.get("a") == 1
        old.close()
        old.close()
        with pytest.raises(ValueError, match="closed"):
            old.get("a")
        assert store.commit({}) == 3


def test_scans_in_key_order_across_shards():
    with MVCCStore(8, gc_threads=0) as store:
        store.commit({f"acct{i:03d}/balance": i for i in range(50)} | {"zz": 1, "acct": 0})
        snap = store.snapshot()
        store.commit({"acct007/balance": None, "acct100/balance": 100})
        keys = [k for k, _ in snap.scan(prefix="acct0")]
        assert keys == [f"acct{i:03d}/balance" for i in range(50)]
        assert list(snap.scan("acct010", "acct013")) == [(f"acct{i:03d}/balance", i) for i in (10, 11, 12)]
        assert [k for k, _ in store.snapshot().scan(prefix="acct00")] == [
            f"acct00{i}/balance" for i in range(10) if i != 7
        ]
        assert len(list(snap.scan())) == 52
        with pytest.raises(ValueError, match="either"):
            list(snap.scan("a", prefix="b"))


def test_bad_arguments():
    for bad in (0, 3, 8192, 2.0):
        with pytest.raises(ValueError, match="power of two"):
            MVCCStore(bad)
    assert MVCCStore(4096, gc_threads=0).shard_count == 4096
    with pytest.raises(ValueError, match="gc_threads"):
        MVCCStore(4, gc_threads=-1)
    store = MVCCStore(4, gc_threads=0)
    with pytest.raises(TypeError, match="keys must be str"):
        store.commit({1: 2})
    with pytest.raises(TypeError, match="values must be"):
        store.commit({"a": 2.5})
    with pytest.raises(TypeError, match="values must be"):
        store.commit({"a": True})
    assert store.height == 0
    with pytest.raises(ValueError, match="snapshot height"):
        store.snapshot(1)
    store.commit({"a": 1})
    with pytest.raises(StaleBlockError):
        store.commit({"a": 2}, base_height=0)
    config = load_config(overrides={"mvcc.shard_count": 64, "mvcc.gc_threads": 0})
    assert MVCCStore.from_config(config).shard_count == 64


@pytest.mark.parametrize("gc_threads", (0, 2))
def test_gc_returns_to_baseline(gc_threads):
    """Many blocks rewriting the same keys: retained versions fall back to one per live key."""
    with MVCCStore(16, gc_threads=gc_threads) as store:
        store.commit({f"k{i}": 0 for i in range(100)})
        baseline = store.version_count()
        for height in range(300):
            store.commit({f"k{(height * 7 + j) % 100}": height for j in range(30)} | {f"tmp{height}": 1})
            store.commit({f"tmp{height}": None})
        deadline = time.monotonic() + 10
        while store.version_count() != baseline and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.version_count() == baseline == 100
        assert store.get("tmp5") is None and store.get("k0") is not None


def test_open_snapshot_pins_versions_until_closed():
    with MVCCStore(4, gc_threads=0) as store:
        store.commit({"a": 0})
        pinned = store.snapshot()
        for value in range(1, 20):
            store.commit({"a": value})
        assert store.version_count() == 20
        assert store.watermark == 1 and pinned.get("a") == 0
        later = store.snapshot()
        store.commit({"a": 99})
        pinned.close()
        assert store.watermark == later.height and store.version_count() == 2
        assert later.get("a") == 19
        with pytest.raises(ValueError, match="snapshot height"):
            store.snapshot(1)
        later.close()
        assert store.version_count() == 1


def test_readers_at_old_snapshots_see_exactly_their_version():
    """Readers keep reading while blocks commit and GC runs; every read matches the reader's height.

    Block h sets every key to h, so a snapshot at height h must see h everywhere, all or nothing."""
    keys = [f"k{i}" for i in range(64)]
    with MVCCStore(8, gc_threads=1) as store:
        store.commit(dict.fromkeys(keys, 1))
        stop = threading.Event()
        errors = []  # (height, values read, values scanned) of any inconsistent read
        heights_read = set()

        def reader():
            while not stop.is_set():
                with store.snapshot() as snap:
                    heights_read.add(snap.height)
                    for _ in range(3):
                        seen = {snap.get(k) for k in keys}
                        scanned = {v for _, v in snap.scan(prefix="k")}
                        if seen != {snap.height} or scanned != {snap.height}:
                            errors.append((snap.height, seen, scanned))

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for thread in threads:
            thread.start()
        while len(heights_read) < 20 and store.height < 20_000:
            store.commit(dict.fromkeys(keys, store.height + 1))
        stop.set()
        for thread in threads:
            thread.join()
        assert not errors and len(heights_read) >= 20


def test_get_many_equals_get_at_every_height():
    """Batch reads at old and latest snapshots, with deletions, missing keys and collected history."""
    store = MVCCStore(4, gc_threads=0)
    keys = [f"k{i}" for i in range(20)] + ["absent"]
    snaps = [store.snapshot()]  # each held open, so GC keeps every height readable
    for height in range(1, 6):
        store.commit({f"k{i}": (None if (i + height) % 7 == 0 else i * height) for i in range(0, 20, height)})
        snaps.append(store.snapshot())
    try:
        for snap in snaps:
            assert snap.get_many(keys) == [snap.get(k) for k in keys]
        store.commit({"k1": "new"})
        assert snaps[-1].get_many(["k1"]) == [snaps[-1].get("k1")] != ["new"]
    finally:
        for snap in snaps:
            snap.close()
    store.collect_garbage()
    with store.snapshot() as snap:
        assert snap.get_many(keys) == [snap.get(k) for k in keys] and snap.get_many(["k1"]) == ["new"]
