"""sqlite3-WAL durability: reopening recovers exactly the last committed block, also after SIGKILL;
a failed COMMIT publishes nothing and leaves the store usable; one writer per file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from supervm_jax.mvcc import MVCCStore, ParallelExecutor, StateLockedError, Transfer, balance_key
from supervm_jax.mvcc.persistence import SqliteState

KEYS = 200

# Commits blocks 1, 2, ...; block h sets k0..k199 to h and prints "committed h" once durable. With
# a stall height, that block's sqlite transaction writes half its rows, prints "inside", and hangs.
WRITER = textwrap.dedent(f"""
    import sys, time
    from supervm_jax.mvcc import MVCCStore, persistence

    path, stall_at = sys.argv[1], int(sys.argv[2])
    write_block = persistence.SqliteState.write_block

    def stalling(self, height, writes):
        if height == stall_at:
            self._conn.execute("BEGIN IMMEDIATE")
            rows = [(key, "i", value) for key, value in list(writes.items())[: len(writes) // 2]]
            self._conn.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?)", rows)
            print("inside", flush=True)
            time.sleep(600)
        write_block(self, height, writes)

    persistence.SqliteState.write_block = stalling
    store = MVCCStore(16, gc_threads=0, path=path, synchronous="NORMAL")
    while True:
        height = store.commit({{f"k{{i}}": store.height + 1 for i in range({KEYS})}})
        print("committed", height, flush=True)
""")


def kill_writer(path: str, stall_at: int, commits_before_kill: int) -> int:
    """Runs the writer, SIGKILLs it once it has reported `commits_before_kill` commits (or
    stalled), and returns the last height it reported committed, including reports still in the
    pipe when it died (it keeps committing while we read)."""
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, path, str(stall_at)],
                              stdout=subprocess.PIPE, text=True, env=env)
    last = 0
    try:
        for line in writer.stdout:
            if line.startswith("inside"):
                break
            last = int(line.split()[1])
            if last >= commits_before_kill:
                break
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        for line in writer.stdout:
            if line.startswith("committed"):
                last = int(line.split()[1])
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    return last


def recovered(path: str) -> tuple[int, set]:
    with MVCCStore(16, gc_threads=0, path=path) as store, store.snapshot() as snap:
        state = dict(snap.scan())
        assert set(state) == {f"k{i}" for i in range(KEYS)}
        return store.height, set(state.values())


def test_sigkill_inside_a_block_commit_recovers_the_previous_block(tmp_path):
    path = str(tmp_path / "state.db")
    assert kill_writer(path, stall_at=6, commits_before_kill=10**9) == 5
    assert recovered(path) == (5, {5})


def test_sigkill_while_committing_continuously_is_all_or_nothing(tmp_path):
    """Every reported block survives; at most the one whose report the kill cut off is extra."""
    path = str(tmp_path / "state.db")
    last = kill_writer(path, stall_at=-1, commits_before_kill=30)
    height, values = recovered(path)
    assert height in (last, last + 1) and values == {height}


def test_reopen_recovers_state_and_continues(tmp_path):
    path = str(tmp_path / "state.db")
    with MVCCStore(8, gc_threads=1, path=path) as store:
        store.commit({balance_key("a"): 10**30, balance_key("b"): 5, "blob": b"\x01\x02", "gone": "x"})
        with ParallelExecutor(store, 2, sequential_below=0, pin=False) as executor:
            executor.execute_block([Transfer("a", "b", 7)] * 40)
        store.commit({"gone": None})
        expected = dict(store.snapshot().scan())
        height = store.height
    with MVCCStore(32, gc_threads=0, path=path) as store:
        assert store.height == height == 3
        assert dict(store.snapshot().scan()) == expected
        assert expected[balance_key("a")] == 10**30 - 280 and "gone" not in expected
        assert store.commit({"more": 1}) == 4
    with pytest.raises(ValueError, match="synchronous"):
        MVCCStore(4, path=path, synchronous="OFF")


# --- a failed COMMIT ---------------------------------------------------------------------------

class _FailingCommit:
    """Stands in for a sqlite3.Connection: `execute("COMMIT")` raises OperationalError `times`
    times (without committing; sqlite leaves the transaction open, as after SQLITE_BUSY), or, with
    `auto_rollback`, rolls back first (as sqlite does itself after an I/O error or a full disk)."""

    def __init__(self, conn, times=1, auto_rollback=False):
        self._conn, self.times, self.auto_rollback = conn, times, auto_rollback

    def execute(self, sql, *args):
        if sql == "COMMIT" and self.times:
            self.times -= 1
            if self.auto_rollback:
                self._conn.execute("ROLLBACK")
            raise sqlite3.OperationalError("disk I/O error (injected)")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def on_disk(path: str) -> tuple[int, dict]:
    """(height, state) as another connection reads the file (the writer lock is not sqlite's)."""
    conn = sqlite3.connect(path)
    try:
        height = conn.execute("SELECT value FROM meta WHERE name = 'height'").fetchone()[0]
        return height, {key: value for key, _, value in conn.execute("SELECT key, kind, value FROM state")}
    finally:
        conn.close()


@pytest.mark.parametrize("auto_rollback", [False, True])
def test_failed_commit_publishes_nothing_and_the_next_block_commits(tmp_path, auto_rollback):
    path = str(tmp_path / "state.db")
    with MVCCStore(4, gc_threads=0, path=path) as store:
        store.commit({"a": 1, "b": 2})
        real = store._db._conn
        store._db._conn = _FailingCommit(real, auto_rollback=auto_rollback)
        with pytest.raises(sqlite3.OperationalError, match="injected"):
            store.commit({"a": 10, "b": None, "c": 3})
        assert not real.in_transaction
        assert store.height == 1 and dict(store.snapshot().scan()) == {"a": 1, "b": 2}
        assert on_disk(path) == (1, {"a": 1, "b": 2})
        assert store.commit({"a": 11, "c": 4}) == 2
        assert dict(store.snapshot().scan()) == {"a": 11, "b": 2, "c": 4}
        assert on_disk(path) == (2, {"a": 11, "b": 2, "c": 4})
    with MVCCStore(4, gc_threads=0, path=path) as store:
        assert store.height == 2 and dict(store.snapshot().scan()) == {"a": 11, "b": 2, "c": 4}


def test_commit_refused_by_sqlite_itself_is_rolled_back(tmp_path):
    """A real COMMIT failure, no stand-in: a deferred foreign key that a trigger breaks for one key
    makes sqlite refuse COMMIT with the transaction still open."""
    path = str(tmp_path / "state.db")
    with MVCCStore(4, gc_threads=0, path=path) as store:
        store.commit({"a": 1})
        conn = store._db._conn
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE child (id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)")
        conn.execute("CREATE TRIGGER poison AFTER INSERT ON state WHEN NEW.key = 'poison' "
                     "BEGIN INSERT INTO child VALUES (42); END")
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            store.commit({"a": 2, "poison": 1})
        assert not conn.in_transaction
        assert store.height == 1 and dict(store.snapshot().scan()) == {"a": 1}
        assert on_disk(path) == (1, {"a": 1})
        assert store.commit({"a": 3}) == 2
        assert on_disk(path) == (2, {"a": 3})


# --- one writer per file -----------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from supervm_jax.mvcc import MVCCStore
    store = MVCCStore(4, gc_threads=1, path=sys.argv[1])
    store.commit({"held": 1})
    print("holding", flush=True)
    time.sleep(600)
""")


def test_second_writer_in_the_same_process_is_refused(tmp_path):
    path = str(tmp_path / "state.db")
    first = MVCCStore(4, gc_threads=1, path=path)
    first.commit({"a": 1})
    with pytest.raises(StateLockedError, match=r"is open by another writer \(lock file .*state\.db\.lock") as info:
        MVCCStore(4, gc_threads=1, path=path)
    assert path in str(info.value) and f"pid {os.getpid()}" in str(info.value)
    with pytest.raises(StateLockedError):
        SqliteState(path)
    assert first.commit({"a": 2}) == 2  # the refused opens left the first writer intact
    first.close()
    first.close()  # idempotent
    with MVCCStore(4, gc_threads=0, path=path) as second:
        assert second.height == 2 and second.get("a") == 2
    state = SqliteState(path)  # released again by the with block
    state.close()


def test_second_writer_in_another_process_is_refused_until_it_dies(tmp_path):
    path = str(tmp_path / "state.db")
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, path], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(StateLockedError, match=f"pid {holder.pid}"):
            MVCCStore(4, gc_threads=0, path=path)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    with MVCCStore(4, gc_threads=0, path=path) as store:
        assert store.height == 1 and store.get("held") == 1
        assert store.commit({"held": 2}) == 2


def test_failed_open_releases_the_lock(tmp_path):
    path = str(tmp_path / "state.db")
    with open(path, "wb") as fh:
        fh.write(b"not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        MVCCStore(4, gc_threads=0, path=path)
    os.remove(path)
    with MVCCStore(4, gc_threads=0, path=path) as store:
        assert store.height == 0
