"""ParallelExecutor equals SerialExecutor: receipts, committed state and height, on generated blocks."""

from __future__ import annotations

import contextlib
import dataclasses
import random
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervm_jax.config import load_config
from supervm_jax.mvcc import (
    MVCCStore,
    ParallelExecutor,
    Receipt,
    SerialExecutor,
    StaleBlockError,
    Transfer,
    balance_key,
    nonce_key,
)
from supervm_jax.mvcc import scheduler as scheduler_module

WORKERS = (1, 2, 4, 8)
UNIVERSES = (2, 10, 100)


@dataclasses.dataclass(frozen=True)
class Program:
    """Reads `first`; its parity picks which of `even` / `odd` it reads next, so the read set changes
    between incarnations. Writes first+second+delta to `target` (or deletes it), then fails when
    `fail_mod` divides that total (writes discarded). `nap` sleeps, releasing the GIL."""

    first: str
    even: str
    odd: str
    target: str
    delta: int
    fail_mod: int
    nap: bool
    delete: bool

    def execute(self, ctx):
        a = ctx.read(self.first) or 0
        b = ctx.read(self.even if a % 2 == 0 else self.odd)
        b = b if isinstance(b, int) else len(b or "")
        if self.nap:
            time.sleep(20e-6)
        total = a + b + self.delta
        ctx.write(self.target, None if self.delete else total)
        ctx.write(self.target + "/log", str(total))
        if self.fail_mod and total % self.fail_mod == 0:
            raise ValueError(f"unlucky {total}")
        return total


def keys(universe: int) -> st.SearchStrategy[str]:
    return st.integers(0, universe - 1).map(lambda i: f"k{i}")


def programs(universe: int) -> st.SearchStrategy[Program]:
    return st.builds(Program, keys(universe), keys(universe), keys(universe), keys(universe),
                     st.integers(-3, 5), st.sampled_from([0, 0, 3, 5]), st.booleans(),
                     st.sampled_from([False, False, False, True]))


def transfers(universe: int) -> st.SearchStrategy[Transfer]:
    accounts = st.integers(0, universe - 1).map(lambda i: f"k{i}")
    return st.builds(Transfer, accounts, accounts, st.integers(0, 40))


@st.composite
def scenarios(draw):
    universe = draw(st.sampled_from(UNIVERSES))
    genesis = draw(st.dictionaries(st.one_of(keys(universe), keys(universe).map(balance_key)),
                                   st.integers(0, 60), max_size=12))
    blocks = draw(st.lists(st.lists(st.one_of(programs(universe), transfers(universe)), max_size=50),
                           min_size=1, max_size=3))
    return genesis, blocks, draw(st.sampled_from(WORKERS))


def state_of(store: MVCCStore) -> dict:
    with store.snapshot() as snap:
        return dict(snap.scan())


def run_serial(genesis, blocks):
    store = MVCCStore(16, gc_threads=0)
    store.commit(genesis)
    receipts = [SerialExecutor(store).execute_block(block) for block in blocks]
    return receipts, state_of(store), store.height


def run_parallel(genesis, blocks, workers, **kwargs):
    store = MVCCStore(16, gc_threads=0)
    store.commit(genesis)
    with ParallelExecutor(store, workers, sequential_below=0, pin=False, **kwargs) as executor:
        receipts = [executor.execute_block(block) for block in blocks]
    return receipts, state_of(store), store.height


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_parallel_equals_serial(scenario):
    genesis, blocks, workers = scenario
    assert run_parallel(genesis, blocks, workers) == run_serial(genesis, blocks)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_parallel_equals_serial_always_speculating(scenario):
    genesis, blocks, workers = scenario
    with always_speculating():
        parallel = run_parallel(genesis, blocks, workers)
    assert parallel == run_serial(genesis, blocks)


@contextlib.contextmanager
def always_speculating():
    """Pacing off, runs of at most 2, and a 10 µs switch interval: threads interleave inside
    transactions constantly."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scheduler_module.Scheduler, "_pace", lambda self, pacer: True)
        patch.setattr(scheduler_module, "RUN_LENGTH", 2)
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)
        try:
            yield
        finally:
            sys.setswitchinterval(interval)


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("universe", UNIVERSES)
def test_repeated_contended_blocks(workers, universe):
    """The same kind of contended block, many seeds, always speculating: every run equals serial."""
    for seed in range(8):
        rng = random.Random(seed * 1000 + universe)
        block = []
        for _ in range(60):
            k = [f"k{rng.randrange(universe)}" for _ in range(4)]
            if rng.random() < 0.5:
                block.append(Transfer(k[0], k[1], rng.randrange(30)))
            else:
                block.append(Program(*k, rng.randrange(-2, 4), rng.choice([0, 4]), rng.random() < 0.3, False))
        genesis = {balance_key(f"k{i}"): 50 for i in range(universe)}
        with always_speculating():
            parallel = run_parallel(genesis, [block, block[::-1]], workers)
        assert parallel == run_serial(genesis, [block, block[::-1]])


@pytest.mark.parametrize("workers", WORKERS)
def test_nonce_sum_invariant(workers):
    """Balances are conserved and the nonces sum to the number of successful transfers."""
    rng = random.Random(workers)
    accounts = [f"acct{i}" for i in range(10)]
    store = MVCCStore(8, gc_threads=0)
    store.commit({balance_key(a): 100 for a in accounts})
    successes = 0
    with ParallelExecutor(store, workers, sequential_below=0, pin=False) as executor:
        for _ in range(5):
            block = [Transfer(rng.choice(accounts), rng.choice(accounts), rng.randrange(80)) for _ in range(200)]
            successes += sum(r.success for r in executor.execute_block(block))
    with store.snapshot() as snap:
        assert sum(snap.get(balance_key(a)) or 0 for a in accounts) == 1000
        assert sum(snap.get(nonce_key(a)) or 0 for a in accounts) == successes
    assert 0 < successes < 1000


class Boom:
    """Writes, then raises: must fail alone with its writes discarded."""

    def execute(self, ctx):
        ctx.write("boom", 1)
        raise RuntimeError("kaboom")


class BadWrite:
    def execute(self, ctx):
        ctx.write("x", 1.5)


class Echo:
    def __init__(self, key):
        self.key = key

    def execute(self, ctx):
        return ctx.read(self.key)


@pytest.mark.parametrize("workers", (1, 2))
def test_failures_are_isolated(workers):
    store = MVCCStore(4, gc_threads=0)
    store.commit({balance_key("a"): 10})
    txs = [Boom(), Transfer("a", "b", 25), BadWrite(), Transfer("a", "b", 4), Echo("boom"), Echo(balance_key("b"))]
    with ParallelExecutor(store, workers, sequential_below=0, pin=False) as executor:
        receipts = executor.execute_block(txs)
    assert receipts == [
        Receipt(0, False, None, "RuntimeError: kaboom"),
        Receipt(1, False, None, "InsufficientFunds: a holds 10, needs 25"),
        Receipt(2, False, None, "TypeError: state values must be int, str, bytes or None, got float for 'x'"),
        Receipt(3, True, (6, 4)),
        Receipt(4, True, None),
        Receipt(5, True, 4),
    ]
    assert state_of(store) == {balance_key("a"): 6, balance_key("b"): 4, nonce_key("a"): 1}


def test_sequential_fallback_and_stats():
    store = MVCCStore(4, gc_threads=0)
    store.commit({balance_key("a"): 100})
    block = [Transfer("a", "b", 1)] * 5
    with ParallelExecutor(store, 2, sequential_below=6, pin=False) as executor:
        small = executor.execute_block(block)
        assert executor.last_stats.sequential and executor.last_stats.executions == 5
        large = executor.execute_block(block * 2)
        assert not executor.last_stats.sequential and executor.last_stats.workers == 2
        assert executor.last_stats.executions >= 10
    assert [r.output for r in small] == [(100 - i, i) for i in range(1, 6)]
    assert [r.output for r in large][-1] == (85, 15)
    assert store.height == 3


def test_config_and_bad_arguments(monkeypatch):
    store = MVCCStore(4, gc_threads=0)
    monkeypatch.setenv("SUPERVM_NUM_THREADS", "3")
    with ParallelExecutor(store, pin=False) as executor:
        assert executor.num_workers == 3
    config = load_config(overrides={"parallel.num_workers": 2, "parallel.sequential_below": 7})
    with ParallelExecutor(store, config=config, pin=False) as executor:
        assert (executor.num_workers, executor.sequential_below) == (2, 7)
    with pytest.raises(ValueError, match="num_workers"):
        ParallelExecutor(store, 0)
    with pytest.raises(ValueError, match="sequential_below"):
        ParallelExecutor(store, 1, sequential_below=-1)
    with pytest.raises(ValueError, match=">= 0"):
        Transfer("a", "b", -1)
    with pytest.raises(TypeError, match="int"):
        Transfer("a", "b", 1.0)
    with pytest.raises(TypeError, match="str"):
        Transfer(1, "b", 1)
    executor = ParallelExecutor(store, 1, pin=False)
    with pytest.raises(TypeError, match="transaction 1"):
        executor.execute_block([Transfer("a", "b", 0), object()])
    executor.close()
    with pytest.raises(ValueError, match="closed"):
        executor.execute_block([])


def test_stale_block_and_escaping_base_exception():
    store = MVCCStore(4, gc_threads=0)

    class CommitsBehindItsBack:
        def execute(self, ctx):
            store.commit({"other": 1})

    class Interrupt:
        def execute(self, ctx):
            raise KeyboardInterrupt

    with ParallelExecutor(store, 2, sequential_below=0, pin=False) as executor:
        with pytest.raises(StaleBlockError):
            executor.execute_block([CommitsBehindItsBack()])
        with pytest.raises(KeyboardInterrupt):
            executor.execute_block([Interrupt(), Transfer("a", "b", 0)])
        assert executor.execute_block([Transfer("a", "b", 0)]) == [Receipt(0, True, (0, 0))]
