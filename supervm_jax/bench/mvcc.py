"""`mvcc` suite: Block-STM `ParallelExecutor` vs `SerialExecutor` on the same store, in the same run.

n is the number of accounts. Every timing is seconds per block, execution plus commit into an
`MVCCStore` built from the configuration (in memory unless SUPERVM_MVCC_PATH is set): the median of
`harness.REPEATS` blocks after a warm-up block, ours and the peer alternating block by block on one
store (so both see the same store size and garbage-collector history).

Cases:
    p2p-native-<n>-w<k>   `P2P_TXS` random transfers over n accounts (n in `NATIVE_SIZES`) on the
                          native path (`mvcc.native`): k = 1 its serial loop, k = 2, 8 Block-STM
                          on k native threads; extra fields give
                          the per-stage split (convert_s, execute_s, commit_s: medians, seconds per
                          block) and execute_speedup_vs_w1 (the execute stage against 1 thread).
    p2p-<n>               the same transfers on the Python Block-STM (`native=False`), the
                          configured worker count (SUPERVM_NUM_THREADS, default os.cpu_count()).
    p2p-<n>-w1            the same block on one worker: the cost of the Block-STM machinery.
    p2p-latency-<n>-w<k>  storage latency (for n >= 100): the first read of each key in a block
                          sleeps 20-100 µs (fixed per key), as grevm's benchmark does; k = 2, 4, 8.
    p2p-jax-<n>-w<k>      GIL-releasing work (for n >= 100): `JAX_TXS` transfers, each also running
                          a small jitted JAX function (a 128x128 float32 matmul); k = 2, 4.

Extra fields: tps (transactions per second of ours), exec_per_tx and val_per_tx (executions and
validations per transaction in ours' last block), workers, txs; jax rows also carry
jax_threads_speedup, the control: `_proof` calls alone split over k plain threads vs one thread.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Iterator

import jax
import jax.numpy as jnp

from supervm_jax.bench import harness
from supervm_jax.config import load_config
from supervm_jax.mvcc import MVCCStore, ParallelExecutor, SerialExecutor, Transfer, balance_key, nonce_key
from supervm_jax.mvcc import native as mvcc_native

DEFAULT_SIZES = [2, 10, 100, 1000, 10000]
P2P_TXS = 10_000
JAX_TXS = 2_000
LATENCY_WORKERS = (2, 4, 8)
NATIVE_SIZES = (2, 100, 10_000)
NATIVE_WORKERS = (1, 2, 8)
JAX_WORKERS = (2, 4)
VARIANT_MIN_ACCOUNTS = 100
VARIANT_REPEATS = 3
GENESIS_BALANCE = 10**15


class _SlowSnapshot:
    """A snapshot whose every `get` first sleeps 20-100 µs, fixed per key (a slow disk)."""

    def __init__(self, snapshot):
        self._snapshot = snapshot
        self.height = snapshot.height

    def get(self, key: str):
        time.sleep((20 + sum(key.encode()) % 81) * 1e-6)
        return self._snapshot.get(key)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._snapshot.close()


class _SlowStore:
    """`store` behind a slow disk: snapshots sleep on reads, commits go straight through."""

    def __init__(self, store: MVCCStore):
        self._store = store

    def snapshot(self) -> _SlowSnapshot:
        return _SlowSnapshot(self._store.snapshot())

    def commit(self, writes, *, base_height=None) -> int:
        return self._store.commit(writes, base_height=base_height)


_WEIGHTS = jnp.linspace(-1.0, 1.0, 128 * 128, dtype=jnp.float32).reshape(128, 128)


@jax.jit
def _proof(amount):
    """A small stand-in for proof work: scaled 128x128 matmul, reduced to one float32."""
    return jnp.sum(jnp.tanh((_WEIGHTS * amount) @ _WEIGHTS))


class _ProvedTransfer:
    """A transfer that first runs `_proof` on its amount (JAX releases the GIL while it computes)."""

    def __init__(self, transfer: Transfer):
        self._transfer = transfer

    def execute(self, ctx):
        checksum = float(_proof(float(self._transfer.amount)))
        return self._transfer.execute(ctx), checksum


def _jax_thread_speedup(threads: int, calls: int = 400) -> float:
    """Control for the JAX variant: speedup of `calls` `_proof` calls split over `threads` plain
    threads vs one thread, with no executor involved (what the GIL and XLA's CPU runtime allow)."""

    def work(count: int) -> None:
        for i in range(count):
            float(_proof(float(i)))

    work(1)
    start = time.perf_counter()
    work(calls)
    one = time.perf_counter() - start
    pool = [threading.Thread(target=work, args=(calls // threads,)) for _ in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return one / (time.perf_counter() - start)


def _transfers(accounts: int, count: int, rng: random.Random) -> list[Transfer]:
    names = [f"acct{i}" for i in range(accounts)]
    return [Transfer(rng.choice(names), rng.choice(names), rng.randrange(1, 1000)) for _ in range(count)]


def _compare(case: str, accounts: int, store, make_block, workers: int, repeats: int | None,
             peer_s: float | None = None, native: bool = False) -> tuple[harness.Record, float]:
    """Times ours (`workers` threads; the native Block-STM when `native`, else the Python one) and,
    unless `peer_s` is given, the serial executor: after a warm-up block each, `repeats` rounds of
    one block each, alternating, so that both see the same store and garbage-collector history;
    medians."""
    rng = random.Random(f"{case}-{workers}")
    repeats = repeats or harness.REPEATS
    serial = SerialExecutor(store) if peer_s is None else None
    ours_blocks = [make_block(rng) for _ in range(repeats + 1)]  # generated before timing
    peer_blocks = [make_block(rng) for _ in range(repeats + 1)] if serial is not None else []
    ours_times, peer_times, stages = [], [], []
    with ParallelExecutor(store, workers, sequential_below=0, native=native, native_threads=workers) as ours:
        for round_ in range(repeats + 1):
            start = time.perf_counter()
            ours.execute_block(ours_blocks[round_])
            ours_times.append(time.perf_counter() - start)
            stages.append(ours.last_stats.timings)
            if serial is not None:
                start = time.perf_counter()
                serial.execute_block(peer_blocks[round_])
                peer_times.append(time.perf_counter() - start)
        stats = ours.last_stats
    ours_s = statistics.median(ours_times[1:])
    if serial is not None:
        peer_s = statistics.median(peer_times[1:])
    txs = stats.transactions
    record = harness.Record(
        suite="mvcc", case=case, n=accounts, ours_s=ours_s, peer="serial", peer_s=peer_s,
        extra={"tps": txs / ours_s, "exec_per_tx": stats.executions / txs, "val_per_tx": stats.validations / txs,
               "workers": workers, "txs": txs, "native_txs": stats.native},
    )
    if native:
        for stage in ("convert_s", "execute_s", "commit_s"):
            record.extra[stage] = statistics.median(t[stage] for t in stages[1:])
    harness.log(f"{case:24s} workers={workers} ours {ours_s * 1e3:8.1f} ms  serial {peer_s * 1e3:8.1f} ms  "
                f"{txs / ours_s:9.0f} tx/s  exec/tx {record.extra['exec_per_tx']:.2f}  "
                f"val/tx {record.extra['val_per_tx']:.2f}")
    return record, peer_s


def run(sizes: list[int]) -> Iterator[harness.Record]:
    config = load_config()
    workers = config.parallel.num_workers
    for accounts in sizes:
        store = MVCCStore.from_config(config)
        genesis = {balance_key(f"acct{i}"): GENESIS_BALANCE for i in range(accounts)}
        # Nonces start at 0 explicitly, so no block creates keys and the timed configurations
        # (which run one after another on this store) all update the same key set.
        genesis.update({nonce_key(f"acct{i}"): 0 for i in range(accounts)})
        store.commit(genesis)

        def p2p(rng, accounts=accounts):
            return _transfers(accounts, P2P_TXS, rng)

        if accounts in NATIVE_SIZES and mvcc_native.available():
            serial_s = one_thread = None
            for k in NATIVE_WORKERS:
                record, serial_s = _compare(f"p2p-native-{accounts}-w{k}", accounts, store, p2p, k, None, serial_s,
                                            native=True)
                one_thread = one_thread or record.extra["execute_s"]
                record.extra["execute_speedup_vs_w1"] = one_thread / record.extra["execute_s"]
                yield record
        record, serial_s = _compare(f"p2p-{accounts}", accounts, store, p2p, workers, None)
        yield record
        yield _compare(f"p2p-{accounts}-w1", accounts, store, p2p, 1, None, serial_s)[0]
        if accounts >= VARIANT_MIN_ACCOUNTS:
            slow = _SlowStore(store)
            serial_s = None
            for k in LATENCY_WORKERS:
                record, serial_s = _compare(f"p2p-latency-{accounts}-w{k}", accounts, slow, p2p, k,
                                            VARIANT_REPEATS, serial_s)
                yield record

            def proved(rng, accounts=accounts):
                return [_ProvedTransfer(t) for t in _transfers(accounts, JAX_TXS, rng)]

            serial_s = None
            for k in JAX_WORKERS:
                record, serial_s = _compare(f"p2p-jax-{accounts}-w{k}", accounts, store, proved, k,
                                            VARIANT_REPEATS, serial_s)
                record.extra["jax_threads_speedup"] = _jax_thread_speedup(k)
                yield record
        store.close()
