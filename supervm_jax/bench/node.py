"""`python -m supervm_jax.bench node`: the node end to end on blocks of signed transfers.

n is the number of transfers per block, over n accounts (default 10,000), from the deterministic
workload (`node.workload`, signed once before timing). The signed cases first run every block once in a throwaway
node (`warmup_s`: the device programs of each block's size buckets compile there, as a long-running
node compiles them once), then each case runs WARMUP_BLOCKS blocks and times BLOCKS blocks; `ours_s` is seconds per block, wall clock, for the whole
pipeline: decode, batch signature verification, Block-STM execution, account-tree root, commit
(in-memory store).

Cases and peers (same blocks, same process):
    signed-transfers   the node with overlapped stages, `--num_workers` = the configured worker
                       count; peer "plain-cpu": the PyNaCl loop (libsodium) for the signatures,
                       `SerialExecutor` for execution and a hashlib-only account tree
                       (`UpdatableMerkleTree(host_pairs=inf)`) for the same root, one after another.
    signed-transfers-sequential   the node with stages one after another (overlap=False) as ours,
                       the overlapped node as the peer: speedup = what overlapping buys.
    signed-transfers+private-1%   the same blocks plus n // 100 private transfers each (witness
                       requests: proved in one batch and verified in one batch on the devices per
                       block, `node.workload`), pipelined as ours, its own sequential stages as the
                       peer. The prover's start-up falls in the warm-up block.

Extra fields: tps (transfers per second of ours), stage seconds per block of ours (verify_s,
execute_s, root_s), peer_tps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np

from supervm_jax.bench import harness
from supervm_jax.config import load_config
from supervm_jax.merkle import UpdatableMerkleTree
from supervm_jax.mvcc import MVCCStore, SerialExecutor, balance_key, nonce_key
from supervm_jax.node import Node, workload
from supervm_jax.node.formats import decode_block
from supervm_jax.node.state import ACCOUNT_DEPTH, account_leaf
from supervm_jax.node.transfer import NodeTransfer

DEFAULT_SIZES = [10_000]
WARMUP_BLOCKS = 1
BLOCKS = 3


def _node_run(genesis, lines, *, overlap: bool, workers: int) -> tuple[float, dict]:
    with MVCCStore(256) as store, Node(store, num_workers=workers) as node:
        node.init_genesis(genesis)
        results = list(node.run(lines[:WARMUP_BLOCKS], overlap=overlap))
        start = time.perf_counter()
        results = list(node.run(lines[WARMUP_BLOCKS:], overlap=overlap))
        per_block = (time.perf_counter() - start) / len(results)
        stages = {key: float(np.mean([getattr(r, key) for r in results]))
                  for key in ("verify_s", "prove_s", "execute_s", "root_s")}
        stages["execute_s"] -= stages["root_s"]
        return per_block, stages


def _plain_cpu(genesis, lines) -> float:
    """PyNaCl loop + SerialExecutor + hashlib account tree, per block (after the warm-up blocks)."""
    import nacl.exceptions
    import nacl.signing

    tree = UpdatableMerkleTree(ACCOUNT_DEPTH, "sha256", host_pairs=math.inf)
    index = {pk.hex(): i for i, pk in enumerate(sorted(genesis))}
    tree.update(list(index.values()), [account_leaf(bytes.fromhex(a), genesis[bytes.fromhex(a)], 0) for a in index])
    with MVCCStore(256) as store:
        store.commit({balance_key(pk.hex()): b for pk, b in genesis.items()})
        executor = SerialExecutor(store)
        start = None
        for k, line in enumerate(lines):
            if k == WARMUP_BLOCKS:
                start = time.perf_counter()
            txs, _, _ = decode_block(line)
            work = []
            for tx in txs:
                try:
                    nacl.signing.VerifyKey(tx.sender).verify(tx.message(), tx.sig)
                    ok = True
                except (nacl.exceptions.BadSignatureError, ValueError):
                    ok = False
                work.append(NodeTransfer(tx, ok))
            touched = {}

            def finalize(writes, receipts):
                touched.update(writes)
                return {}

            executor.execute_block(work, finalize=finalize)
            accounts = sorted({key.rsplit("/", 1)[0] for key in touched})
            for a in accounts:
                index.setdefault(a, len(index))
            tree.update([index[a] for a in accounts],
                        [account_leaf(bytes.fromhex(a), store.get(balance_key(a)) or 0, store.get(nonce_key(a)) or 0)
                         for a in accounts])
        return (time.perf_counter() - start) / (len(lines) - WARMUP_BLOCKS)


def run(sizes: list[int]) -> Iterator[harness.Record]:
    workers = load_config().parallel.num_workers
    for n in sizes:
        harness.log(f"node n={n}: generating {WARMUP_BLOCKS + BLOCKS} blocks of {n} signed transfers over {n} accounts")
        seeds, pks, genesis = workload.genesis(0, n)
        lines = list(workload.blocks(0, seeds, pks, n, WARMUP_BLOCKS + BLOCKS))
        warm_start = time.perf_counter()  # every block once first: each compiles its size buckets
        _node_run(genesis, lines, overlap=False, workers=workers)
        warmup_s = time.perf_counter() - warm_start
        ours, stages = _node_run(genesis, lines, overlap=True, workers=workers)
        sequential, seq_stages = _node_run(genesis, lines, overlap=False, workers=workers)
        plain = _plain_cpu(genesis, lines)
        harness.log(f"  pipelined {n / ours:,.0f} tx/s ({stages}); sequential stages {n / sequential:,.0f} tx/s; "
                    f"plain CPU {n / plain:,.0f} tx/s")
        yield harness.Record("node", "signed-transfers", n, ours, "plain-cpu", plain, None,
                             extra={"tps": n / ours, "peer_tps": n / plain, "workers": workers, "warmup_s": warmup_s,
                                    **stages})
        yield harness.Record("node", "signed-transfers-sequential", n, sequential, "pipelined", ours, None,
                             extra={"tps": n / sequential, "peer_tps": n / ours, "workers": workers, **seq_stages})
        p = max(1, n // 100)
        harness.log(f"node n={n}: the same with {p} private transfers per block (proved on the devices)")
        lines = list(workload.blocks(0, seeds, pks, n, WARMUP_BLOCKS + BLOCKS, private_per_block=p))
        ours, stages = _node_run(genesis, lines, overlap=True, workers=workers)
        sequential, _ = _node_run(genesis, lines, overlap=False, workers=workers)
        harness.log(f"  with private: pipelined {(n + p) / ours:,.0f} tx/s ({stages}); sequential {(n + p) / sequential:,.0f} tx/s")
        yield harness.Record("node", "signed-transfers+private-1%", n, ours, "sequential", sequential, None,
                             extra={"tps": (n + p) / ours, "peer_tps": (n + p) / sequential, "private": p,
                                    "workers": workers, **stages})
