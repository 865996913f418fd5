"""Durable copy of the latest committed state in sqlite3 (stdlib), journal mode WAL.

Layout: table ``state(key TEXT PRIMARY KEY, kind TEXT, value)`` holds the value of every live key at
the last committed height; table ``meta`` holds that height. A block is one sqlite transaction
(upserts, deletes and the new height together), so after a crash at any instant, SIGKILL included,
reopening finds exactly the last block whose COMMIT returned, never part of one.

``synchronous=FULL`` (default) fsyncs the WAL at every commit, so a committed block also survives
power loss; ``NORMAL`` survives process crashes only and is faster.

A block whose transaction fails, COMMIT included (disk full, I/O error, busy), is rolled back and
the error re-raised: nothing of it is stored and the connection takes the next block.

One writer per file: `SqliteState` holds an exclusive ``flock`` on ``<path>.lock`` from open to
`close()` (the kernel drops it when the process dies, SIGKILL included), and a second open of the
same path, in this process or another, raises `StateLockedError`. The lock file is left in place.
"""

from __future__ import annotations

import errno
import fcntl
import os
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


class StateLockedError(RuntimeError):
    """The database file is already open by another writer (this process or another one)."""


def _lock(path: str) -> int:
    """Opens ``path + ".lock"`` and takes an exclusive non-blocking flock on it; returns the fd.

    flock locks belong to the open file description, so two opens in one process exclude each
    other too; the fd is not inherited across exec. Raises StateLockedError when already held."""
    lock_path = path + ".lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        try:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        except OSError:
            holder = ""
        os.close(fd)
        if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        by = f", held by pid {holder}" if holder.isdigit() else ""
        raise StateLockedError(f"{path!r} is open by another writer (lock file {lock_path!r}{by})") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # the pid is only informative
    return fd


class SqliteState:
    """The latest committed state at `path`, written one block per sqlite transaction.

    Holds the exclusive writer lock ``path + ".lock"`` until `close()`; raises StateLockedError
    when another open instance (any process) holds it."""

    def __init__(self, path: str, synchronous: str = "FULL"):
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}")
        if path in ("", ":memory:"):
            raise ValueError(f"{path!r} cannot use WAL journaling; give a file path")
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = _lock(path)
        try:
            self._open(path, synchronous)
        except BaseException:
            self.close()
            raise

    def _open(self, path: str, synchronous: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
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
        if conn is None:
            raise ValueError("database is closed")
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?)", upserts)
            conn.executemany("DELETE FROM state WHERE key = ?", deletes)
            conn.execute("UPDATE meta SET value = ? WHERE name = 'height'", (height,))
            conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        """Ends a failed block's transaction so the connection takes the next one. sqlite may have
        rolled back already (e.g. after an I/O error or SQLITE_FULL) or may keep the transaction
        open (a busy or constraint-failed COMMIT); a failing ROLLBACK must not hide the first error."""
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def close(self) -> None:
        """Closes the connection and releases the writer lock (idempotent)."""
        try:
            if self._conn is not None:
                self._conn.close()
        finally:
            self._conn = None
            if self._lock_fd is not None:
                fd, self._lock_fd = self._lock_fd, None
                os.close(fd)  # closing the only descriptor releases the flock
