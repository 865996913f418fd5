"""The native Block-STM (`mvcc.native`, `native/blockstm.cc`) equals the Python `SerialExecutor`:
receipts (outputs and reasons word for word) and committed write sets, on generated blocks of
transfers and node transfers, mixed with Python transactions, on 1, 2, 4 and 8 native threads."""

from __future__ import annotations

import random
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervm_jax.mvcc import MVCCStore, ParallelExecutor, SerialExecutor, Transfer, balance_key, nonce_key
from supervm_jax.mvcc import native
from supervm_jax.node.formats import SignedTransfer
from supervm_jax.node.transfer import NodeTransfer

pytestmark = pytest.mark.skipif(not native.available(), reason="native library unavailable (no C++ compiler)")

WORKERS = (1, 2, 4, 8)
UNIVERSES = (2, 10, 100, 10_000)


class RecordingStore(MVCCStore):
    """An in-memory store that remembers every committed write set."""

    def __init__(self):
        super().__init__(16, gc_threads=0)
        self.commits: list[dict] = []

    def commit(self, writes, *, base_height=None):
        self.commits.append(dict(writes))
        return super().commit(writes, base_height=base_height)


class Mint:
    """A Python transaction on the transfers' keys: adds `amount` to `account`'s balance, or writes
    `value` there verbatim (a str makes later transfers of that account fail with TypeError)."""

    def __init__(self, account: str, amount: int, value=None):
        self.account, self.amount, self.value = account, amount, value

    def execute(self, ctx):
        key = balance_key(self.account)
        new = self.value if self.value is not None else (ctx.read(key) or 0) + self.amount
        ctx.write(key, new)
        return new


def account(i: int) -> str:
    return f"{i:064x}"


def node_transfer(sender: int, recipient: int, amount: int, nonce: int, sig_ok: bool) -> NodeTransfer:
    tx = SignedTransfer(bytes.fromhex(account(sender)), bytes.fromhex(account(recipient)), amount, nonce, bytes(64))
    return NodeTransfer(tx, sig_ok)


def run(executor_factory, genesis, blocks):
    store = RecordingStore()
    store.commit(genesis)
    store.commits.clear()
    executor = executor_factory(store)
    try:
        receipts = [executor.execute_block(block) for block in blocks]
        stats = executor.last_stats
    finally:
        getattr(executor, "close", lambda: None)()
    return receipts, store.commits, stats


def assert_equals_serial(genesis, blocks, workers, expect_native=True):
    parallel = run(lambda s: ParallelExecutor(s, workers, sequential_below=0, pin=False, native_threads=workers),
                   genesis, blocks)
    serial = run(SerialExecutor, genesis, blocks)
    assert parallel[0] == serial[0]
    assert parallel[1] == serial[1]
    if expect_native:
        assert parallel[2].native > 0


@st.composite
def blocks_of_transfers(draw):
    universe = draw(st.sampled_from(UNIVERSES))
    ids = st.integers(0, min(universe, 40) - 1) if universe <= 100 else st.integers(0, universe - 1)
    genesis = {}
    for i in draw(st.lists(ids, max_size=30)):
        genesis[balance_key(account(i))] = draw(st.integers(0, 200))
        if draw(st.booleans()):
            genesis[nonce_key(account(i))] = draw(st.integers(0, 3))
    plain = st.builds(lambda s, r, a: Transfer(account(s), account(r), a), ids, ids, st.integers(0, 120))
    signed = st.builds(node_transfer, ids, ids, st.integers(0, 120), st.integers(0, 4),
                       st.sampled_from([True, True, True, False]))
    python = st.builds(lambda a, x, odd: Mint(account(a), x, "odd" if odd else None), ids, st.integers(0, 50),
                       st.sampled_from([False] * 9 + [True]))
    kind = draw(st.sampled_from(["plain", "signed", "both", "mixed"]))
    tx = {"plain": plain, "signed": signed, "both": st.one_of(plain, signed),
          "mixed": st.one_of(plain, plain, plain, signed, signed, signed, python)}[kind]
    blocks = draw(st.lists(st.lists(tx, min_size=1, max_size=120), min_size=1, max_size=3))
    return genesis, blocks, draw(st.sampled_from(WORKERS))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks_of_transfers())
def test_native_equals_serial(scenario):
    """Failures (short balances, bad signatures, replayed and future nonces), self-transfers,
    unknown accounts, zero amounts, and Python transactions interleaved (runs of 3 built-ins go
    native): receipts and write sets equal serial on every thread count."""
    genesis, blocks, workers = scenario
    mixed = any(not native.is_builtin(tx) for block in blocks for tx in block)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "MIN_RUN", 3)
        assert_equals_serial(genesis, blocks, workers, expect_native=not mixed)


@pytest.mark.parametrize("chunk", (1, 3, 16, 1000))
@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("universe", UNIVERSES)
def test_chunk_sizes_and_contention(universe, workers, chunk, monkeypatch):
    """Every chunk size, from one transaction per task to the whole block in one, on contended and
    uncontended blocks big enough for the threads to overlap."""
    monkeypatch.setattr(native, "chunk_size", lambda n, w: chunk)
    rng = random.Random(universe * 100 + workers * 10 + chunk)
    ids = range(min(universe, 10_000))
    genesis = {balance_key(account(i)): rng.randrange(0, 5_000) for i in ids}
    nonces = {i: 0 for i in ids}
    block = []
    for _ in range(3_000):
        s, r = rng.choice(ids), rng.choice(ids)
        if rng.random() < 0.5:
            block.append(Transfer(account(s), account(r), rng.randrange(0, 400)))
        else:
            # Mostly the right nonce so that chains of dependent transfers succeed.
            nonce = nonces[s] if rng.random() < 0.8 else rng.randrange(0, 3)
            nonces[s] += 1
            block.append(node_transfer(s, r, rng.randrange(0, 400), nonce, rng.random() < 0.95))
    assert_equals_serial(genesis, [block, block[::-1]], workers)


@pytest.mark.parametrize("workers", (1, 2, 8))
def test_mixed_blocks_split_into_runs(workers, monkeypatch):
    """Built-in runs go native, Python transactions between them run in the Python Block-STM, each
    run on the state the runs before it left; a Python write the native side cannot hold (a str
    balance) sends the following run back to Python. All equal serial."""
    monkeypatch.setattr(native, "MIN_RUN", 4)
    rng = random.Random(workers)
    ids = range(12)
    genesis = {balance_key(account(i)): 100 for i in ids}
    for seed in range(6):
        block = []
        for _ in range(200):
            roll = rng.random()
            if roll < 0.07:
                block.append(Mint(account(rng.choice(ids)), rng.randrange(50)))
            elif roll < 0.08:
                block.append(Mint(account(rng.choice(ids)), 0, value="oops"))
            else:
                block.append(Transfer(account(rng.choice(ids)), account(rng.choice(ids)), rng.randrange(60)))
        runs = native.split_runs(block)
        assert [r[:2] for r in runs] == sorted(r[:2] for r in runs) and runs[0][0] == 0 and runs[-1][1] == 200
        assert any(r[2] for r in runs) and any(not r[2] for r in runs)
        assert_equals_serial(genesis, [block], workers, expect_native=False)


def test_split_runs():
    t, p = Transfer("a", "b", 1), Mint("a", 1)
    assert native.split_runs([t] * 5) == [(0, 5, True)]  # a whole block of built-ins, however short
    assert native.split_runs([]) == []
    assert native.split_runs([p, t, p]) == [(0, 3, False)]  # short built-in runs stay in Python
    block = [p] + [t] * native.MIN_RUN + [t, p, p] + [t] * 3
    assert native.split_runs(block) == [(0, 1, False), (1, 2 + native.MIN_RUN, True), (2 + native.MIN_RUN, len(block), False)]


@pytest.mark.parametrize("workers", (1, 2))
def test_values_beyond_uint64_fall_back_to_python(workers):
    """Balances at or past 2^64 or negative, and sums that would pass 2^64 - 1: the Python result
    (unbounded ints)."""
    big = (1 << 64) - 10
    genesis = {balance_key(account(0)): big, balance_key(account(1)): 100, balance_key(account(2)): 1 << 70,
               balance_key(account(3)): -5}
    overflow = [Transfer(account(1), account(0), 5)] * 3 + [Transfer(account(0), account(1), 1)]
    huge_value = [Transfer(account(2), account(1), 7), Transfer(account(1), account(0), 1)]
    huge_amount = [Transfer(account(0), account(1), 1 << 65)]
    negative = [Transfer(account(3), account(1), 0), Transfer(account(1), account(3), 9)]
    for block in (overflow, huge_value, huge_amount, negative):
        parallel = run(lambda s: ParallelExecutor(s, workers, sequential_below=0, pin=False, native_threads=workers),
                       genesis, [block])
        assert parallel[2].native == 0
        assert parallel[:2] == run(SerialExecutor, genesis, [block])[:2]


def test_bad_input_is_refused_with_the_reason():
    ok = dict(kinds=[0, 1], senders=[0, 1], recipients=[1, 0], amounts=[1, 2], nonces=[0, 0], sig_ok=[True, True],
              balance=[10, 10], nonce=[0, 0])

    def call(**changes):
        args = {**ok, **changes}
        return native.execute_transfers(*args.values(), num_workers=2)

    result = call()
    assert result.status.tolist() == [native.OK, native.OK] and result.balance.tolist() == [11, 9]
    with pytest.raises(ValueError, match="recipients has 1 entries, expected 2"):
        call(recipients=[1])
    with pytest.raises(ValueError, match=r"amounts\[1\] = -2 is not an int in \[0, 2\^64\)"):
        call(amounts=[1, -2])
    with pytest.raises(ValueError, match=r"balance\[0\] = 18446744073709551616"):
        call(balance=[1 << 64, 0])
    with pytest.raises(ValueError, match=r"transaction 1: account index 1 or 7 outside \[0, 2\)"):
        call(recipients=[1, 7])
    with pytest.raises(ValueError, match=r"transaction 0: account index -1"):
        call(senders=[-1, 1])
    with pytest.raises(ValueError, match="transaction 0: kind 5 is not 0"):
        call(kinds=[5, 1])
    with pytest.raises(ValueError, match="num_workers must be an int >= 1"):
        native.execute_transfers(*ok.values(), num_workers=0)
    with pytest.raises(ValueError, match=r"worker 0: cpu -3 outside"):
        native.execute_transfers(*ok.values(), num_workers=2, cpu_sets=[frozenset({-3}), None])


@pytest.mark.parametrize("workers", (2, 4))
def test_many_blocks_with_background_gc_and_snapshot_readers(workers):
    """60 native blocks on a store with a background collector while readers keep opening snapshots:
    every snapshot sees the conserved total, and the final state equals serial execution."""
    rng = random.Random(workers)
    ids = range(200)
    genesis = {balance_key(account(i)): 1_000 for i in ids}
    total = 1_000 * len(ids)
    blocks = [[Transfer(account(rng.choice(ids)), account(rng.choice(ids)), rng.randrange(300))
               for _ in range(500)] for _ in range(60)]
    store = MVCCStore(64, gc_threads=2)
    store.commit(genesis)
    stop, seen, errors = threading.Event(), [], []

    def reader():
        while not stop.is_set():
            try:
                with store.snapshot() as snap:
                    balances = snap.get_many([balance_key(account(i)) for i in ids])
                    seen.append((snap.height, sum(balances)))
            except Exception as err:  # reported below
                errors.append(err)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        with ParallelExecutor(store, workers, sequential_below=0, pin=False, native_threads=workers) as executor:
            for block in blocks:
                executor.execute_block(block)
                assert executor.last_stats.native == len(block)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not errors
    assert seen and all(s == total for _, s in seen)
    reference = MVCCStore(16, gc_threads=0)
    reference.commit(genesis)
    serial = SerialExecutor(reference)
    for block in blocks:
        serial.execute_block(block)
    with store.snapshot() as ours, reference.snapshot() as theirs:
        assert dict(ours.scan()) == dict(theirs.scan())
    store.close()


def test_native_threads_default_and_checks(monkeypatch):
    """The native path runs its serial loop unless told otherwise (config, env); counts below 1 fail."""
    monkeypatch.setenv("SUPERVM_NATIVE_THREADS", "3")
    store = MVCCStore(16, gc_threads=0)
    with ParallelExecutor(store, 2, pin=False) as executor:
        assert executor.native_threads == 3
    monkeypatch.delenv("SUPERVM_NATIVE_THREADS")
    with ParallelExecutor(store, 2, pin=False) as executor:
        assert executor.native_threads == 1
    with pytest.raises(ValueError, match="native_threads must be an int >= 1, got 0"):
        ParallelExecutor(store, 2, pin=False, native_threads=0)
