"""Generate, execute and commit blocks of random transfers, and print the throughput.

    python -m supervm_jax.jobs.execute --accounts=10000 --txs=10000 --blocks=10 --num_workers=2

Configuration comes from `supervm_jax.config` (defaults < --config file < SUPERVM_* environment <
--set=section.key=value); --num_workers, when given, overrides parallel.num_workers. A non-empty
mvcc.path makes the store durable (sqlite3 WAL), and a rerun continues from its last block. Accounts
are funded in a genesis block when the store holds none. A progress bar goes to stderr; the summary
line (transactions, seconds, TPS including commit) to stdout. A configuration error prints
``error: <message>`` and exits with code 2.
"""

from __future__ import annotations

import random
import sys
import time

from absl import app, flags

from supervm_jax import config as config_lib
from supervm_jax.jobs import config_from_flags, run_main
from supervm_jax.mvcc import MVCCStore, ParallelExecutor, SerialExecutor, Transfer, balance_key

FLAGS = flags.FLAGS
flags.DEFINE_integer("accounts", 10_000, "Number of accounts transfers are drawn from.", lower_bound=1)
flags.DEFINE_integer("txs", 10_000, "Transfers per block.", lower_bound=0)
flags.DEFINE_integer("blocks", 10, "Blocks to execute.", lower_bound=1)
flags.DEFINE_integer("num_workers", None, "Worker threads (default: config parallel.num_workers).", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the random transfers.")
flags.DEFINE_bool("serial", False, "Use the serial executor instead (the reference, for comparison).")
config_lib.define_flags()

GENESIS_BALANCE = 10**15


def _progress(done: int, total: int, txs: int, seconds: float) -> None:
    filled = 30 * done // total
    rate = txs / seconds if seconds else 0.0
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} blocks  {rate:,.0f} tx/s")
    sys.stderr.flush()


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    config = config_from_flags()
    num_workers = FLAGS.num_workers or config.parallel.num_workers
    rng = random.Random(FLAGS.seed)
    names = [f"acct{i}" for i in range(FLAGS.accounts)]
    with MVCCStore.from_config(config) as store:
        with store.snapshot() as snap:
            funded = snap.get(balance_key(names[0])) is not None
        if not funded:
            store.commit({balance_key(name): GENESIS_BALANCE for name in names})
        if FLAGS.serial:
            executor = SerialExecutor(store)
        else:
            executor = ParallelExecutor(store, num_workers, config=config)
        elapsed = 0.0
        executed = failed = 0
        try:
            for block_number in range(FLAGS.blocks):
                block = [Transfer(rng.choice(names), rng.choice(names), rng.randrange(1, 1000))
                         for _ in range(FLAGS.txs)]
                start = time.perf_counter()
                receipts = executor.execute_block(block)
                elapsed += time.perf_counter() - start
                executed += len(receipts)
                failed += sum(not receipt.success for receipt in receipts)
                _progress(block_number + 1, FLAGS.blocks, executed, elapsed)
        finally:
            if not FLAGS.serial:
                executor.close()
        sys.stderr.write("\n")
        mode = "serial" if FLAGS.serial else f"{num_workers} workers"
        print(f"{executed} transactions ({failed} failed) in {FLAGS.blocks} blocks over {FLAGS.accounts} "
              f"accounts, {mode}: {elapsed:.3f} s, {executed / elapsed if elapsed else 0.0:,.0f} TPS; "
              f"height {store.height}")


if __name__ == "__main__":
    run_main(main)
