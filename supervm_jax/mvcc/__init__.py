"""Multi-version state and Block-STM parallel execution of transaction blocks on CPU threads.

The state (`store.MVCCStore`)
    A key-value map sharded by key hash, where every committed block height is a version. Readers
    open a `Snapshot` at a height and read without blocking writers; a block's write set becomes
    visible all at once; versions older than the oldest open snapshot (the watermark) are reclaimed
    by background GC workers; with a path, each block is also committed to sqlite3 in WAL mode, so a
    restart recovers exactly the last committed block. One open store per path writes it (an
    exclusive lock on ``<path>.lock``; a second open raises `StateLockedError`).

A block, and what "correct" means
    A block is a list of transactions (`transactions.Transfer`, or anything with ``execute(ctx)``
    using ``ctx.read`` / ``ctx.write``). The result is defined by serial execution in index order:
    transaction i sees the writes of every successful transaction below it. A transaction that
    raises fails alone, its writes discarded. `executor.ParallelExecutor` produces exactly the
    receipts and the write set of `executor.SerialExecutor`.

Block-STM (as in aptos-core's block executor), module by module
    * Versions and incarnations. Transactions run optimistically in parallel; each run of
      transaction i is an incarnation (0, 1, ...). A run records its read set (key -> value seen) and
      buffers its writes.
    * The multi-version memory (`mvmemory.MVMemory`) holds, per key, the value each transaction
      index last wrote. Transaction i reads the write of the highest index below i, or the
      pre-block state when there is none. When an incarnation is aborted, its writes become ESTIMATE
      markers: a later transaction that reads one suspends itself on i ("dependency") instead of
      running on a value that is about to change, and is resumed when i has executed again.
    * Validation re-reads an executed transaction's read set from the multi-version memory; any
      change (or an ESTIMATE) aborts the incarnation, turns its writes into ESTIMATEs and schedules
      the next incarnation. Only transactions that have executed are validated.
    * The scheduler (`scheduler.Scheduler`) keeps two counters, ``execution_idx`` and
      ``validation_idx``, and always hands out the lowest-index task: a validation when
      validation_idx < execution_idx, else an execution. An execution that writes a key its previous
      incarnation did not write lowers validation_idx to itself (everything above must be validated
      again); an abort lowers it to the transaction above.
    * Rolling commit. ``committed`` is the length of the prefix of committed transactions. A task
      that starts while every lower transaction is committed reads final values, so a final
      execution commits when it finishes and a final validation commits when it succeeds; committing
      extends the prefix and hands the next transaction a final validation if it already executed.
      The block is done when the prefix covers it. With one worker every execution is final and
      nothing is validated.
    * CPython. Workers are threads of a pool (`executor.ParallelExecutor`, pinned to NUMA nodes by
      `numa`), so pure-Python transactions share one interpreter lock: speculation pays only while
      transactions wait outside the interpreter (storage latency, JAX). The scheduler therefore
      paces speculative tasks (see `scheduler`) and blocks below ``sequential_below`` transactions
      run serially. The parallel result is the serial one in every case.

Public names: `MVCCStore`, `Snapshot`, `ParallelExecutor`, `SerialExecutor`, `Transfer`, `Receipt`.
"""

from supervm_jax.mvcc.executor import ExecutionStats, ParallelExecutor, SerialExecutor
from supervm_jax.mvcc.persistence import StateLockedError
from supervm_jax.mvcc.store import MVCCStore, Snapshot, StaleBlockError
from supervm_jax.mvcc.transactions import InsufficientFunds, Receipt, Transfer, balance_key, nonce_key

__all__ = [
    "ExecutionStats",
    "InsufficientFunds",
    "MVCCStore",
    "ParallelExecutor",
    "Receipt",
    "SerialExecutor",
    "Snapshot",
    "StaleBlockError",
    "StateLockedError",
    "Transfer",
    "balance_key",
    "nonce_key",
]
