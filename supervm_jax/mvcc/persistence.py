"""Durable copy of the latest committed state in sqlite3 (stdlib), journal mode WAL.

Layout: table ``state(key TEXT PRIMARY KEY, kind TEXT, value)`` holds the value of every live key at
the last committed height; table ``meta`` holds that height. A block is one sqlite transaction
(upserts, deletes and the new height together), so after a crash at any instant, SIGKILL included,
reopening finds exactly the last block whose COMMIT returned, never part of one.

``synchronous=FULL`` (default) fsyncs the WAL at every commit, so a committed block also survives
power loss; ``NORMAL`` survives process crashes only and is faster.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _encode(value: int | str | bytes) -> tuple[str, int | str | bytes]:
    """(kind, column value): ints outside int64 are stored as decimal text with kind 'I'."""
    if type(value) is int:
        return ("i", value) if _INT64_MIN <= value <= _INT64_MAX else ("I", str(value))
    return ("s", value) if type(value) is str else ("b", value)


def _decode(kind: str, stored: int | str | bytes) -> int | str | bytes:
    if kind == "I":
        return int(stored)
    return stored


class SqliteState:
    """The latest committed state at `path`, written one block per sqlite transaction."""

    def __init__(self, path: str, synchronous: str = "FULL"):
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}")
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            self._conn.close()
            raise ValueError(f"{path!r} cannot use WAL journaling (got {mode!r}); give a file path")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, kind TEXT NOT NULL, value) WITHOUT ROWID"
        )
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('height', 0)")

    def load(self) -> tuple[int, dict[str, int | str | bytes]]:
        """(last committed height, {key: value}) as stored; height 0 for a new file."""
        height = self._conn.execute("SELECT value FROM meta WHERE name = 'height'").fetchone()[0]
        rows = self._conn.execute("SELECT key, kind, value FROM state")
        return height, {key: _decode(kind, value) for key, kind, value in rows}

    def write_block(self, height: int, writes: Mapping[str, int | str | bytes | None]) -> None:
        """Applies one block's writes (None deletes) and records `height`, atomically and durably."""
        upserts = [(key, *_encode(value)) for key, value in writes.items() if value is not None]
        deletes = [(key,) for key, value in writes.items() if value is None]
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?)", upserts)
            conn.executemany("DELETE FROM state WHERE key = ?", deletes)
            conn.execute("UPDATE meta SET value = ? WHERE name = 'height'", (height,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()
