"""The node as several processes of one JAX runtime: every process executes; process 0 alone
persists and reports (docs/DEPLOY.md).

The device stages (signature batches, proofs, the account tree's roots) are SPMD programs over the
mesh of every process's devices, so every process must issue the same programs on the same inputs
in the same order. The account-tree update runs inside the executor's commit hook on the block's
write set, so every process executes every block (Block-STM's result equals serial execution: the
same write set everywhere) with the stages one after another (`Node.run` turns the overlap off on
such a mesh). Process 0 keeps the durable store and writes the outputs; the other processes keep an
in-memory store that starts as a copy of process 0's committed state (`open_store`), so a restarted
multi-process node resumes where process 0's state ends.
"""

from __future__ import annotations

import json

from supervm_jax.mvcc import MVCCStore
from supervm_jax.node.pipeline import RECEIPTS_PREFIX
from supervm_jax.pmap import broadcast_bytes


def open_store(config, path: str | None, process_index: int, process_count: int) -> MVCCStore:
    """The store of this process: process 0 opens `path` (durable; None: in memory), as a single
    process does. With several processes, process 0 then sends its `committed_state` to the others
    (one `pmap.broadcast_bytes`), which `restore` it into an in-memory store of their own."""
    cfg = config.mvcc
    lead = process_index == 0
    store = MVCCStore(cfg.shard_count, gc_threads=cfg.gc_threads, path=path if lead else None)
    if process_count == 1:
        return store
    try:
        state = broadcast_bytes(committed_state(store) if lead else b"")
        if not lead:
            restore(store, state)
    except BaseException:
        store.close()
        raise
    return store


def committed_state(store: MVCCStore) -> bytes:
    """The store's latest committed keys and values but the receipts (only process 0 reads those)
    as JSON: {key: int | str | {"hex": bytes as hex}}."""
    with store.snapshot() as snap:
        rows = {key: {"hex": value.hex()} if isinstance(value, bytes) else value
                for key, value in snap.scan() if not key.startswith(RECEIPTS_PREFIX)}
    return json.dumps(rows, separators=(",", ":")).encode()


def restore(store: MVCCStore, state: bytes) -> None:
    """Commits a `committed_state` into `store` (an empty one) as one block; nothing if it is empty."""
    rows = json.loads(state)
    if rows:
        store.commit({key: bytes.fromhex(value["hex"]) if isinstance(value, dict) else value
                      for key, value in rows.items()})
