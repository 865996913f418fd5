"""sqlite3-WAL durability: reopening recovers exactly the last committed block, also after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from supervm_jax.mvcc import MVCCStore, ParallelExecutor, Transfer, balance_key

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
