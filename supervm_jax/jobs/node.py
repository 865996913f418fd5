"""The node: blocks of signed transfers through signature checks on the devices, Block-STM on the
CPU threads, a state root on the devices and a durable commit (docs/NODE.md).

    python -m supervm_jax.jobs.node                                   # generated workload, in memory
    python -m supervm_jax.jobs.node --genesis=g.json --blocks=b.jsonl --state=DIR \\
        --receipts=r.jsonl --dump_state=dump.json --num_workers=2

Without --blocks the workload is generated from --seed, --accounts, --txs_per_block and
--num_blocks (`node.workload`). With --state=DIR the state is durable (DIR/state.db, sqlite WAL); a
rerun on the same DIR continues after the last committed block and reaches the same roots.
stdout: one JSON line per block (stage times, TPS, state root), then a summary line; stderr:
progress. Bad flags, configuration, genesis or state: one line ``error: ...`` and exit code 2.

As N processes (--coordinator, --num_processes, --process_id; the same input on each): every process
executes every block and the device stages span all processes' devices; process 0 alone keeps
--state, writes --receipts and --dump_state and prints the per-block lines; every process prints
the summary line (`node.replica`, docs/DEPLOY.md).
"""

from __future__ import annotations

import json
import os
import sys
import time

from absl import app, flags

from supervm_jax import config as config_lib
from supervm_jax.jobs import JobInputError, config_from_flags, run_main

FLAGS = flags.FLAGS
flags.DEFINE_string("genesis", None, "Genesis JSON file (required with --blocks).")
flags.DEFINE_string("blocks", None, "Blocks as JSON lines (default: a generated workload).")
flags.DEFINE_string("state", None, "State directory (durable; default: in memory).")
flags.DEFINE_string("receipts", None, "Write receipts as JSON lines to this file.")
flags.DEFINE_string("dump_state", None, "Write the final accounts and state root to this JSON file.")
flags.DEFINE_integer("num_workers", None, "Executor threads (default: config parallel.num_workers).", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the generated workload.")
flags.DEFINE_integer("accounts", 1000, "Accounts of the generated workload.", lower_bound=2)
flags.DEFINE_integer("txs_per_block", 1000, "Signed transfers per generated block.", lower_bound=0)
flags.DEFINE_integer("private_per_block", 2, "Private transfers (witness requests the node proves) per generated "
                     "block.", lower_bound=0)
flags.DEFINE_string("zkey", None, "Proving key of the private-transfer circuit (a ceremony .zkey for "
                    "supervm_jax/privacy/circuits/transfer.r1cs; default: the cached INSECURE test key).")
flags.DEFINE_integer("num_blocks", 5, "Generated blocks.", lower_bound=0)
flags.DEFINE_bool("serial", False, "Use the serial reference executor.")
flags.DEFINE_bool("overlap", True, "Overlap block k+1's signature checks with block k's execution.")
config_lib.define_flags()


def _write_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _progress(done: int, total: int | None, txs: int, seconds: float) -> None:
    rate = txs / seconds if seconds else 0.0
    of = f"/{total}" if total else ""
    sys.stderr.write(f"\rblock {done}{of}  {txs:,} txs  {rate:,.0f} tx/s   ")
    sys.stderr.flush()


def run() -> None:
    from supervm_jax.node import Node, workload
    from supervm_jax.node.formats import load_genesis
    from supervm_jax.node.replica import open_store

    config = config_from_flags()
    import jax

    lead = jax.process_index() == 0  # process 0 persists and reports; the others only compute

    def note(text: str) -> None:  # progress on stderr: process 0's only
        if lead:
            sys.stderr.write(text)

    if FLAGS.blocks and not FLAGS.genesis:
        raise JobInputError("--blocks needs --genesis")
    path = None
    if FLAGS.state and lead:
        os.makedirs(FLAGS.state, exist_ok=True)
        path = os.path.join(FLAGS.state, "state.db")
    if FLAGS.blocks:
        accounts = load_genesis(FLAGS.genesis)
        with open(FLAGS.blocks, encoding="utf-8"):
            pass  # fail early (exit 2) on a missing file
        total = None
    else:
        note(f"generating the workload: {FLAGS.accounts} accounts, {FLAGS.num_blocks} blocks of "
             f"{FLAGS.txs_per_block} signed transfers and {FLAGS.private_per_block} private transfers "
             f"(first run compiles the signer: ~30 s)\n")
        seeds, pks, accounts = workload.genesis(FLAGS.seed, FLAGS.accounts)
        total = FLAGS.num_blocks
    store = open_store(config, path, jax.process_index(), jax.process_count())
    with store, Node(store, num_workers=FLAGS.num_workers, config=config, serial=FLAGS.serial,
                     zkey=FLAGS.zkey) as node:
        node.init_genesis(accounts)
        done = node.height
        if done > 0:
            note(f"resuming after committed block {done}\n")
        if FLAGS.blocks:
            lines = _lines_after(FLAGS.blocks, done)
        else:
            lines = _skip(workload.blocks(FLAGS.seed, seeds, pks, FLAGS.txs_per_block, FLAGS.num_blocks,
                                          FLAGS.private_per_block), done)
        receipts = _open_receipts(FLAGS.receipts, node) if FLAGS.receipts and lead else None
        note("first block compiles the device programs (signatures, roots): ~1 min on 2 cores; the "
             "first private transfer loads the proving key (~20 s; made once, ~30 s, if it is the "
             "INSECURE test key)\n")
        start, n_txs, n_blocks = time.perf_counter(), 0, 0
        try:
            for result in node.run(lines, overlap=FLAGS.overlap):
                n_txs += result.n_txs
                n_blocks += 1
                if not lead:
                    continue
                if result.warning:
                    note(f"\nblock {result.height}: {result.warning}; committed as an empty block\n")
                if receipts is not None:
                    receipts.write("".join(line + "\n" for line in result.receipts))
                    receipts.flush()
                print(json.dumps(result.summary()), flush=True)
                _progress(result.height, total, n_txs, time.perf_counter() - start)
        finally:
            if receipts is not None:
                receipts.close()
        elapsed = time.perf_counter() - start
        note("\n")
        if FLAGS.dump_state and lead:
            _write_atomic(FLAGS.dump_state, json.dumps(node.dump(), indent=1) + "\n")
        print(json.dumps({"summary": True, "blocks": n_blocks, "txs": n_txs, "seconds": round(elapsed, 3),
                          "tps": round(n_txs / elapsed, 1) if elapsed and n_txs else None, "height": node.height,
                          "state_root": node.state.state_root.hex(), "devices": jax.device_count()}), flush=True)


def _lines_after(path: str, committed: int):
    with open(path, encoding="utf-8") as f:
        for height, line in enumerate(f, start=1):
            if height > committed and line.strip():
                yield line


def _skip(lines, committed: int):
    for height, line in enumerate(lines, start=1):
        if height > committed:
            yield line


def _open_receipts(path: str, node):
    """The receipts file made to hold exactly the committed blocks' receipts (a killed run may have
    written fewer or more: the missing ones come from the state), then opened for appending."""
    kept, last = [], 0
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    height = json.loads(line)["height"]
                except (ValueError, KeyError, TypeError):
                    break
                if height > node.height or height < last:
                    break
                kept.append(line if line.endswith("\n") else line + "\n")
                last = height
    kept = [line for line in kept if json.loads(line)["height"] < last]  # the last block may be partial
    for height in range(max(last, 1), node.height + 1):
        kept.extend(line + "\n" for line in node.receipts(height))
    _write_atomic(path, "".join(kept))
    return open(path, "a", encoding="utf-8")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from supervm_jax.node.formats import FormatError

    try:
        run()
    except (FormatError, OSError) as err:
        raise JobInputError(str(err)) from None


if __name__ == "__main__":
    run_main(main)
