"""Block executors: `SerialExecutor` (the reference) and `ParallelExecutor` (Block-STM on a pool).

Both take a store (anything with `MVCCStore`'s ``snapshot()`` and ``commit(writes, base_height=)``),
run a block of transactions against a snapshot at the latest height, commit the block's write set as
the next height, and return one `Receipt` per transaction. For the same store state and block, the
two return equal receipts and commit equal write sets.

Pre-block reads go through a `BlockView`: each key is fetched from the snapshot once per block and
then cached, so a slow store is paid once per key (what the storage-latency benchmark measures).
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from supervm_jax.config import Config, load_config
from supervm_jax.mvcc import native, numa
from supervm_jax.mvcc.mvmemory import STORAGE, Estimate, MVMemory
from supervm_jax.mvcc.scheduler import VALIDATE, Pacer, Scheduler
from supervm_jax.mvcc.transactions import VALUE_TYPES, Receipt, Transaction, check_write, failure_reason

_MISSING = object()


class _Blocked(BaseException):
    """Unwinds a transaction that read an ESTIMATE (BaseException so `except Exception` won't eat it)."""


def _check_transactions(txs: Sequence[Any]) -> None:
    """TypeError naming the first item without an ``execute`` method (checked once per class
    when the class has one)."""
    for cls in set(map(type, txs)):
        if not callable(getattr(cls, "execute", None)):
            for index, tx in enumerate(txs):
                if not callable(getattr(tx, "execute", None)):
                    raise TypeError(f"transaction {index} ({type(tx).__name__}) has no execute(ctx) method")


class BlockView:
    """The pre-block state of one block: `snapshot` values, each key fetched once and then cached.

    Thread-safe; when several threads miss the same key at once, one fetches it and the others wait
    for that fetch (so a slow store is paid once per key, not once per thread).
    """

    __slots__ = ("_snapshot", "_cache", "_loading")

    def __init__(self, snapshot):
        self._snapshot = snapshot
        self._cache: dict[str, Any] = {}
        self._loading: dict[str, threading.Lock] = {}  # key -> lock held while its fetch runs

    def get(self, key: str) -> int | str | bytes | None:
        value = self._cache.get(key, _MISSING)
        if value is not _MISSING:
            return value
        mine = threading.Lock()
        mine.acquire()
        fetching = self._loading.setdefault(key, mine)
        if fetching is not mine:
            with fetching:  # wait for the other thread's fetch
                pass
            value = self._cache.get(key, _MISSING)
            return self.get(key) if value is _MISSING else value
        try:
            value = self._snapshot.get(key)
            self._cache[key] = value
        finally:
            if value is _MISSING:
                del self._loading[key]
            mine.release()
        return value

    def get_many(self, keys: Sequence[str]) -> list:
        """Values of `keys` in order (None when absent): cached ones from the cache, the rest from
        the snapshot in one batch (``get_many`` when it has one). For a block's only reader, as the
        native path is: concurrent misses of the same key are not coalesced here."""
        cache = self._cache
        missing = [key for key in keys if key not in cache] if cache else keys
        if missing:
            fetch = getattr(self._snapshot, "get_many", None)
            values = fetch(missing) if fetch is not None else [self._snapshot.get(key) for key in missing]
            cache.update(zip(missing, values))
            if missing is keys:  # nothing was cached: the fetch is the answer
                return values
        return [cache[key] for key in keys]


class _OverlayView:
    """The state after earlier runs of a block: their writes (`overlay`, None = deleted) over the
    pre-block `view`. The base a later run of a mixed block executes against."""

    __slots__ = ("_overlay", "_view")

    def __init__(self, overlay: dict, view: BlockView):
        self._overlay = overlay
        self._view = view

    def get(self, key: str):
        value = self._overlay.get(key, _MISSING)
        return self._view.get(key) if value is _MISSING else value

    def get_many(self, keys: Sequence[str]) -> list:
        overlay = self._overlay
        base = self._view.get_many([key for key in keys if key not in overlay])
        fetched = iter(base)
        return [overlay[key] if key in overlay else next(fetched) for key in keys]


@dataclasses.dataclass(frozen=True)
class ExecutionStats:
    """Work done for one block: `executions` and `validations` count transaction runs (every
    incarnation) and read-set validations; `workers` threads ran it (1 and `sequential` for the
    serial path). `native` transactions of it ran in C++ (`mvcc.native`). `timings`: seconds per
    stage of the parallel path — ``convert_s`` (state fetch and conversion to and from the native
    arrays), ``execute_s`` (native and Python execution), ``commit_s`` (the store commit)."""

    transactions: int
    workers: int
    executions: int
    validations: int
    sequential: bool
    native: int = 0
    timings: Mapping[str, float] = dataclasses.field(default_factory=dict)


class _SerialContext:
    __slots__ = ("_overlay", "_base", "writes")

    def __init__(self, overlay: dict, base: BlockView):
        self._overlay = overlay
        self._base = base
        self.writes: dict[str, Any] = {}

    def read(self, key: str):
        value = self.writes.get(key, _MISSING)
        if value is _MISSING:
            value = self._overlay.get(key, _MISSING)
            if value is _MISSING:
                value = self._base.get(key)
        return value

    def write(self, key: str, value) -> None:
        if type(key) is not str or type(value) not in VALUE_TYPES:
            check_write(key, value)
        self.writes[key] = value


def _run_serially(store, txs: Sequence[Any], finalize: Finalize | None = None) -> list[Receipt]:
    """The reference: transactions one after another, each seeing all earlier successful writes."""
    with store.snapshot() as snapshot:
        base = BlockView(snapshot)
        overlay: dict[str, Any] = {}
        receipts = []
        for index, tx in enumerate(txs):
            ctx = _SerialContext(overlay, base)
            try:
                output = tx.execute(ctx)
            except Exception as err:
                receipts.append(Receipt(index, False, None, failure_reason(err)))
                continue
            overlay.update(ctx.writes)
            receipts.append(Receipt(index, True, output))
        store.commit(_with_extra(overlay, receipts, finalize), base_height=snapshot.height)
    return receipts


Finalize = Callable[[Mapping[str, Any], list[Receipt]], Mapping[str, Any]]


def _with_extra(writes: dict, receipts: list[Receipt], finalize: Finalize | None) -> dict:
    """The block's write set plus what `finalize(writes, receipts)` adds (committed atomically with it)."""
    if finalize is None:
        return writes
    extra = finalize(dict(writes), receipts)
    overlap = set(extra) & set(writes)
    if overlap:
        raise ValueError(f"finalize may only add keys the block did not write, got {sorted(overlap)[:3]}")
    return {**writes, **extra}


class SerialExecutor:
    """Executes each block's transactions in order on the calling thread (the reference result)."""

    def __init__(self, store):
        self.store = store
        self.last_stats: ExecutionStats | None = None

    def execute_block(self, txs: Iterable[Transaction], *, finalize: Finalize | None = None) -> list[Receipt]:
        """Runs `txs` in order, commits the block, returns one receipt per transaction.
        finalize: as in `ParallelExecutor.execute_block`.
        Raises TypeError if an item has no ``execute`` method (before running anything)."""
        txs = list(txs)
        _check_transactions(txs)
        receipts = _run_serially(self.store, txs, finalize)
        self.last_stats = ExecutionStats(len(txs), 1, len(txs), 0, True)
        return receipts


class _SpeculativeContext:
    """A run that may be repeated: reads come from speculative writers above the committed prefix,
    else the committed state, else the pre-block state, and are recorded (key -> value seen)."""

    __slots__ = ("_block", "_index", "writes", "reads", "blocked")

    def __init__(self, block: _Block, index: int):
        self._block = block
        self._index = index
        self.writes: dict[str, Any] = {}
        self.reads: dict[str, Any] = {}
        self.blocked: int | None = None

    def read(self, key: str):
        value = self.writes.get(key, _MISSING)
        if value is not _MISSING:
            return value
        value = self.reads.get(key, _MISSING)
        if value is not _MISSING:
            return value
        if self.blocked is not None:
            raise _Blocked
        block = self._block
        value = block.memory.read(key, self._index, block.scheduler.committed)
        if value is STORAGE:
            value = block.state.get(key, _MISSING)
            if value is _MISSING:
                value = block.base.get(key)
        elif type(value) is Estimate:
            self.blocked = value.index
            raise _Blocked
        self.reads[key] = value
        return value

    def write(self, key: str, value) -> None:
        if type(key) is not str or type(value) not in VALUE_TYPES:
            check_write(key, value)
        self.writes[key] = value


class _Block:
    """Shared state of one parallel block run. `state` holds the writes of the committed prefix:
    exactly the serial executor's overlay after that prefix, and the block's write set at the end."""

    def __init__(self, txs: Sequence[Any], base: BlockView):
        n = len(txs)
        self.txs = txs
        self.base = base
        self.state: dict[str, Any] = {}
        self.memory = MVMemory(n)
        self.scheduler = Scheduler(n, self.state)
        # Outcome of each transaction's latest run: success, and its output (or failure reason).
        # Two flat lists rather than tuples: fewer objects for the cyclic garbage collector.
        self.succeeded: list[bool] = [False] * n
        self.payloads: list[Any] = [None] * n
        self.reads: list[dict[str, Any] | None] = [None] * n  # read set of the latest speculative run
        self.lock = threading.Lock()
        self.error: BaseException | None = None
        self.executions = 0
        self.validations = 0


def _execute_speculative(block: _Block, index: int, pacer: Pacer | None):
    """Runs one speculative incarnation of transaction `index`; returns the worker's next task."""
    tx = block.txs[index]
    scheduler = block.scheduler
    while True:
        ctx = _SpeculativeContext(block, index)
        try:
            payload, success = tx.execute(ctx), True
        except _Blocked:
            payload = success = None
        except Exception as err:
            payload, success = failure_reason(err), False
        if ctx.blocked is None:
            break
        if scheduler.add_dependency(index, ctx.blocked):
            return scheduler.next_task(pacer)
    block.succeeded[index] = success
    block.payloads[index] = payload
    block.reads[index] = ctx.reads
    wrote_new_location = block.memory.record(index, ctx.writes if success else {})
    return scheduler.finish_execution(index, wrote_new_location, False, pacer)


def _validate(block: _Block, index: int, incarnation: int, final: bool, pacer: Pacer | None):
    """Checks that transaction `index`'s recorded reads still hold; aborts it if not."""
    memory, state, base = block.memory, block.state, block.base
    floor = index if final else block.scheduler.committed
    for key, seen in block.reads[index].items():
        value = memory.read(key, index, floor)
        if value is STORAGE:
            value = state.get(key, _MISSING)
            if value is _MISSING:
                value = base.get(key)
        elif type(value) is Estimate:
            break
        if value is not seen and value != seen:
            break
    else:
        return block.scheduler.finish_validation(index, incarnation, final, memory.write_sets[index], pacer)
    if block.scheduler.try_validation_abort(index, incarnation):
        memory.mark_estimates(index)
        return block.scheduler.finish_abort(index, pacer)
    return block.scheduler.next_task(pacer)


def _run_worker(block: _Block, pacer: Pacer | None) -> None:
    """One worker's loop over the block's tasks until every transaction is committed.

    Final executions (every lower transaction committed) run inline, in runs (see `Scheduler.
    claim_run`), as the serial executor does: read the committed state, fold the writes into it,
    commit. Their older speculative entries in the multi-version memory then lie below the committed
    prefix and are never read again. Only a run of one can have such entries.
    """
    scheduler, txs, state, base = block.scheduler, block.txs, block.state, block.base
    succeeded, payloads = block.succeeded, block.payloads
    written = block.memory.write_sets
    executions = validations = 0
    try:
        task = scheduler.next_task(pacer)
        while task is not None:
            kind, index, incarnation, final = task
            if kind == VALIDATE:
                validations += 1
                task = _validate(block, index, incarnation, final, pacer)
                continue
            executions += 1
            if not final:
                task = _execute_speculative(block, index, pacer)
                continue
            previous = written[index]  # non-empty only for a re-execution, which runs alone
            end = scheduler.claim_run(index)
            executions += end - index - 1
            wrote_new_location = False
            for member in range(index, end):
                ctx = _SerialContext(state, base)
                try:
                    payloads[member] = txs[member].execute(ctx)
                    succeeded[member] = True
                    writes = ctx.writes
                except Exception as err:
                    payloads[member] = failure_reason(err)
                    succeeded[member] = False
                    writes = {}
                if writes and not wrote_new_location:
                    wrote_new_location = any(key not in previous for key in writes)
                state.update(writes)
                if member + 1 < end:
                    scheduler.commit_in_run(member)
            task = scheduler.finish_execution(end - 1, wrote_new_location, True, pacer)
    except BaseException as err:
        with block.lock:
            block.error = block.error or err
        scheduler.halt()
    finally:
        with block.lock:
            block.executions += executions
            block.validations += validations


class _WorkerPool:
    """Worker 0 is the calling thread, pinned to cpu_sets[0] while it runs a block (its own affinity
    restored afterwards); workers 1.. are daemon threads pinned to cpu_sets[w] for life. None: not
    pinned. Running worker 0 on the caller saves two thread hand-offs per block."""

    def __init__(self, cpu_sets: Sequence[frozenset[int] | None]):
        self._own_cpus = cpu_sets[0]
        self._inboxes = [queue.SimpleQueue() for _ in cpu_sets[1:]]
        self._finished = threading.Semaphore(0)
        started: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._loop, args=(inbox, cpus, started), name=f"mvcc-worker-{w}", daemon=True)
            for w, (inbox, cpus) in enumerate(zip(self._inboxes, cpu_sets[1:]), start=1)
        ]
        for thread in self._threads:
            thread.start()
        errors = [err for err in (started.get() for _ in self._threads) if err is not None]
        if errors:
            self.close()
            raise errors[0]

    def _loop(self, inbox: queue.SimpleQueue, cpus: frozenset[int] | None, started: queue.SimpleQueue) -> None:
        try:
            if cpus is not None:
                numa.pin_current_thread(cpus)
        except OSError as err:
            started.put(err)
        else:
            started.put(None)
        while (job := inbox.get()) is not None:
            try:
                job()
            finally:
                self._finished.release()

    def run(self, jobs: Sequence[Any]) -> None:
        """Runs jobs[w] on worker w, all at once; returns when all have returned."""
        restore = None
        if self._own_cpus is not None:
            restore = frozenset(os.sched_getaffinity(0))
            numa.pin_current_thread(self._own_cpus)
        try:
            for inbox, job in zip(self._inboxes, jobs[1:]):
                inbox.put(job)
            try:
                jobs[0]()
            finally:
                for _ in jobs[1:]:
                    self._finished.acquire()
        finally:
            if restore is not None:
                numa.pin_current_thread(restore)

    def close(self) -> None:
        for inbox in self._inboxes:
            inbox.put(None)
        for thread in self._threads:
            thread.join()


class ParallelExecutor:
    """Block-STM execution of blocks on a pool of `num_workers` threads; results equal serial.

    num_workers: threads (>= 1; default ``config.parallel.num_workers``, env SUPERVM_NUM_THREADS).
    sequential_below: blocks with fewer transactions run serially on the calling thread (default
    ``config.parallel.sequential_below``). config: a `supervm_jax.config.Config` (default: loaded
    from the environment). pin: pin each worker to the CPUs of one NUMA node read from `sysfs_root`
    (worker 0 is the thread calling `execute_block`, pinned only while the block runs; ignored on
    platforms without ``os.sched_setaffinity``). native: run the block's built-in transactions
    (`Transfer`, the node's signed transfer) in C++ when the library is available (`mvcc.native`;
    False: always the Python Block-STM). native_threads: threads of that path (default
    ``config.parallel.native_threads``, 1): 1 runs its serial loop, more run Block-STM on that many
    native threads pinned like the workers (docs/MVCC.md measures why 1 is the default).
    Raises ValueError for a worker or native thread count below 1 or a negative threshold. Close it (or use ``with``)
    to stop the threads.
    """

    def __init__(self, store, num_workers: int | None = None, *, sequential_below: int | None = None,
                 config: Config | None = None, pin: bool = True, sysfs_root: str = "/sys", native: bool = True,
                 native_threads: int | None = None):
        config = load_config() if config is None else config
        num_workers = config.parallel.num_workers if num_workers is None else num_workers
        sequential_below = config.parallel.sequential_below if sequential_below is None else sequential_below
        native_threads = config.parallel.native_threads if native_threads is None else native_threads
        if type(num_workers) is not int or num_workers < 1:
            raise ValueError(f"num_workers must be an int >= 1, got {num_workers!r}")
        if type(native_threads) is not int or native_threads < 1:
            raise ValueError(f"native_threads must be an int >= 1, got {native_threads!r}")
        if type(sequential_below) is not int or sequential_below < 0:
            raise ValueError(f"sequential_below must be an int >= 0, got {sequential_below!r}")
        self.store = store
        self.num_workers = num_workers
        self.sequential_below = sequential_below
        self.last_stats: ExecutionStats | None = None
        self._lock = threading.Lock()
        pin = pin and hasattr(os, "sched_setaffinity")
        cpu_sets = numa.worker_cpu_sets(num_workers, sysfs_root) if pin else [None] * num_workers
        self.native = native
        self.native_threads = native_threads
        self._native_cpu_sets = numa.worker_cpu_sets(native_threads, sysfs_root) if pin else None
        self._pool = _WorkerPool(cpu_sets)

    def execute_block(self, txs: Iterable[Transaction], *, finalize: Finalize | None = None) -> list[Receipt]:
        """Executes `txs` as one block, commits its write set as the store's next height, and returns
        one receipt per transaction, equal to what `SerialExecutor` returns.

        finalize: called as ``finalize(writes, receipts)`` with the block's write set and receipts
        after execution and before the commit; the keys it returns (which the block must not have
        written) are committed atomically with the block (a node's header and state root). If it
        raises, nothing is committed.

        Raises TypeError if an item has no ``execute`` method (before running anything), the
        store's StaleBlockError if another block was committed meanwhile, and re-raises a
        BaseException that is not an Exception (e.g. KeyboardInterrupt) escaping a transaction.
        """
        txs = list(txs)
        _check_transactions(txs)
        with self._lock:
            if self._pool is None:
                raise ValueError("executor is closed")
            if len(txs) < self.sequential_below:
                receipts = _run_serially(self.store, txs, finalize)
                self.last_stats = ExecutionStats(len(txs), 1, len(txs), 0, True)
                return receipts
            with self.store.snapshot() as snapshot:
                receipts, writes, stats = self._execute_runs(txs, BlockView(snapshot))
                writes = _with_extra(writes, receipts, finalize)
                start = time.perf_counter()
                self.store.commit(writes, base_height=snapshot.height)
                stats.timings["commit_s"] = time.perf_counter() - start
            self.last_stats = stats
        return receipts

    def _execute_runs(self, txs: list, view: BlockView) -> tuple[list[Receipt], dict, ExecutionStats]:
        """Executes the block run by run (`native.split_runs`): each run against the state after the
        runs before it, built-in runs in C++ and the rest in the Python Block-STM. Serial execution
        is the runs' serial executions one after another, so this equals it. Returns the receipts,
        the block's write set and its stats."""
        runs = native.split_runs(txs) if self.native and native.available() else [(0, len(txs), False)]
        receipts: list[Receipt] = []
        writes: dict[str, Any] = {}
        executions = validations = native_txs = 0
        timings = {"convert_s": 0.0, "execute_s": 0.0}
        for start, end, is_native in runs:
            base = _OverlayView(writes, view) if writes else view
            outcome = None
            if is_native:
                outcome = native.execute_run(txs[start:end], base, first_index=start,
                                             num_workers=self.native_threads, cpu_sets=self._native_cpu_sets)
            if outcome is not None:
                run_receipts, run_writes = outcome.receipts, outcome.writes
                executions += outcome.executions
                validations += outcome.validations
                native_txs += end - start
                for stage, seconds in outcome.timings.items():
                    timings[stage] += seconds
            else:
                began = time.perf_counter()
                block = _Block(txs[start:end], base)
                pacing = self.num_workers > 1
                self._pool.run([
                    lambda: _run_worker(block, Pacer() if pacing else None) for _ in range(self.num_workers)
                ])
                if block.error is not None:
                    raise block.error
                run_receipts = [
                    Receipt(start + i, True, payload) if success else Receipt(start + i, False, None, payload)
                    for i, (success, payload) in enumerate(zip(block.succeeded, block.payloads))
                ]
                run_writes = block.state
                executions += block.executions
                validations += block.validations
                timings["execute_s"] += time.perf_counter() - began
            receipts.extend(run_receipts)
            writes.update(run_writes)
        stats = ExecutionStats(len(txs), self.num_workers, executions, validations, False, native_txs, timings)
        return receipts, writes, stats

    def close(self) -> None:
        """Stops the worker threads (idempotent)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> ParallelExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
