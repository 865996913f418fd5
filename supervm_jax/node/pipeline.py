"""The block pipeline: decode -> batch signature verification (devices) -> Block-STM execution (CPU
threads) -> state root (devices) -> durable commit, with consecutive blocks overlapped.

`Node.run` keeps one block in flight on each side: while block k executes and commits on the calling
thread (the executor's worker pool), block k + 1 is decoded and its signatures verified on a helper
thread (the device kernels release the interpreter lock). ``overlap=False`` runs the stages one
after another (the bench's peer). The receipts and roots are the same either way, and the same as
serial execution (`serial=True` uses `mvcc.SerialExecutor`).

Failures: a malformed transaction or line never stops the node (`formats`). An exception in
execution, in the root or in the commit stops it with nothing of that block committed; reopening
the same state continues after the last committed block.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import gc
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from supervm_jax.mvcc import ParallelExecutor, SerialExecutor, balance_key, nonce_key
from supervm_jax.node import formats
from supervm_jax.node.formats import FormatError, Malformed, PrivateTx, SignedTransfer, TransferColumns
from supervm_jax.node.state import ZERO, AccountState, transfer_hashes, tx_hash
from supervm_jax.node.transfer import NodeTransfer, receipt_reason
from supervm_jax.pmap import device_mesh, spans_processes
from supervm_jax.privacy import (
    POOL_ACCOUNT,
    PrivateTransfer,
    ShieldedPool,
    TransferRequest,
    verify_transfers,
)
from supervm_jax.sigverify import ed25519_verify

GENESIS_KEY = "chain/genesis"
RECEIPTS_PREFIX = "receipts/"


def receipts_key(height: int) -> str:
    """Store key of block `height`'s receipt lines (newline-joined), kept so a restarted node can
    rewrite a receipts file that a kill left short."""
    return f"{RECEIPTS_PREFIX}{height}"


@dataclasses.dataclass
class Prepared:
    """A block after decoding and signature verification, ready to execute: its `n_txs`
    transactions are the signed `transfers` (columns) and the `others` (index -> PrivateTx or
    Malformed)."""

    height: int
    n_txs: int
    transfers: TransferColumns
    others: dict[int, PrivateTx | Malformed]
    tx_hashes: list[bytes]
    sig_ok: np.ndarray
    warning: str | None
    decode_s: float
    verify_s: float
    private: dict = dataclasses.field(default_factory=dict)  # index -> PrivateTransfer (flags set)
    prove_s: float = 0.0


@dataclasses.dataclass
class BlockResult:
    """What one committed block produced: receipts (JSON lines) and stage times in seconds."""

    height: int
    receipts: list[str]
    state_root: str
    n_txs: int
    n_ok: int
    decode_s: float
    verify_s: float
    execute_s: float
    root_s: float
    warning: str | None
    n_private: int = 0
    prove_s: float = 0.0

    def summary(self) -> dict:
        busy = self.execute_s + self.verify_s + self.prove_s
        return {"height": self.height, "txs": self.n_txs, "ok": self.n_ok, "private": self.n_private,
                "decode_s": round(self.decode_s, 4), "verify_s": round(self.verify_s, 4),
                "prove_s": round(self.prove_s, 4), "execute_s": round(self.execute_s - self.root_s, 4),
                "root_s": round(self.root_s, 4), "tps": round(self.n_txs / busy, 1) if busy else None,
                "state_root": self.state_root}


def genesis_hash(accounts: dict[bytes, int]) -> str:
    return hashlib.sha256(json.dumps(formats.genesis_json(accounts), sort_keys=True).encode()).hexdigest()


class Node:
    """One node over an `mvcc.MVCCStore`. Use as a context manager (closes the executor).

    num_workers, config: the executor's (see `mvcc.ParallelExecutor`); serial: use the serial
    reference executor; mesh: devices for signatures and roots (default all); zkey: the private
    transfers' proving key (default: the INSECURE test key), or prover: a `privacy.TransferProver`
    to share (tests)."""

    def __init__(self, store, *, num_workers: int | None = None, config=None, serial: bool = False, mesh=None,
                 zkey=None, prover=None):
        self.store = store
        self.mesh = mesh or device_mesh()
        self.pool = ShieldedPool.load(store)
        self.state = AccountState(store, self.mesh, note_root=self._note_root(), nullifier_root=self.pool.nullifier_root)
        self.executor = SerialExecutor(store) if serial else ParallelExecutor(store, num_workers, config=config)
        self.zkey = zkey
        self._prover = prover
        self._prover_lock = threading.Lock()

    def _note_root(self) -> bytes:
        return self.pool.note_root if self.pool.tree.n_leaves else ZERO

    @property
    def prover(self):
        """The private transfers' `TransferProver` (its key: `zkey`, default the INSECURE test key),
        made on the first private transfer (key load and validation: ~20 s on 2 cores)."""
        with self._prover_lock:
            if self._prover is None:
                from supervm_jax.privacy import TransferProver

                self._prover = TransferProver(self.zkey, mesh=self.mesh)
            return self._prover

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if isinstance(self.executor, ParallelExecutor):
            self.executor.close()

    @property
    def height(self) -> int:
        """Latest committed node height (-1 before genesis, 0 after it)."""
        return self.state.height

    def init_genesis(self, accounts: dict[bytes, int]) -> None:
        """Commits genesis (node height 0), or checks that the existing state was made from it."""
        digest = genesis_hash(accounts)
        if self.height >= 0:
            stored = self.store.get(GENESIS_KEY)
            if stored != digest:
                raise FormatError(f"the state was created from another genesis ({stored} != {digest})")
            return
        writes = {balance_key(pk.hex()): balance for pk, balance in accounts.items() if balance}
        extra = self.state.finalize(0, [], [], writes)
        self.store.commit({**writes, **extra, **self.pool.genesis_writes(), GENESIS_KEY: digest})

    # -- stages ------------------------------------------------------------------------------------

    def prepare(self, height: int, line: str) -> Prepared:
        """Decode one block line, verify its signatures in one device batch, prove and verify its
        private transfers: `decode` then `verify`."""
        return self.verify(self.decode(height, line))

    def decode(self, height: int, line: str) -> Prepared:
        """The host half of `prepare`: the block's transactions and their hashes (no device work;
        `sig_ok` all False until `verify`). A block of well-formed transfers only is decoded whole
        columns at a time (`formats.transfer_columns`), any other one transaction by transaction."""
        start = time.perf_counter()
        raw, warning = formats.parse_block(line)
        transfers = formats.transfer_columns(raw)
        if transfers is not None:
            others, tx_hashes = {}, transfer_hashes(raw)
        else:
            txs = [formats.decode_tx(obj) for obj in raw]
            transfers = TransferColumns.of(txs)
            others = {i: tx for i, tx in enumerate(txs) if not isinstance(tx, SignedTransfer)}
            tx_hashes = [tx_hash(obj) for obj in raw]
        return Prepared(height, len(raw), transfers, others, tx_hashes, np.zeros(len(raw), bool), warning,
                        time.perf_counter() - start, 0.0)

    def verify(self, block: Prepared) -> Prepared:
        """The device half of `prepare`: signatures (transfers and deposit consents) in one batch,
        then the private transfers (`_prove_and_verify`); returns the block with `sig_ok`, `private`
        and the stage times set."""
        start = time.perf_counter()
        transfers = block.transfers
        deposits = [i for i, tx in sorted(block.others.items()) if isinstance(tx, PrivateTx) and tx.is_deposit]
        sig_ok = np.zeros(block.n_txs, bool)
        if len(transfers) or deposits:  # transfer signatures and deposit consents: one device batch
            consents = [block.others[i] for i in deposits]
            keys = np.concatenate([transfers.sender, formats.byte_rows([tx.account for tx in consents], 32)])
            msgs = list(map(bytes, transfers.messages())) + [tx.deposit_message() for tx in consents]
            sigs = np.concatenate([transfers.sig, formats.byte_rows([tx.sig for tx in consents], 64)])
            sig_ok[np.concatenate([transfers.index, np.array(deposits, np.int64)])] = ed25519_verify(
                keys, msgs, sigs, rule="zip215", mesh=self.mesh)
        verified = time.perf_counter()
        private = self._prove_and_verify(block.others, sig_ok)
        return dataclasses.replace(block, sig_ok=sig_ok, verify_s=verified - start, private=private,
                                   prove_s=time.perf_counter() - verified)

    def _prove_and_verify(self, txs: dict, sig_ok: np.ndarray) -> dict:
        """The block's private transfers (among `txs`, block index -> transaction) as
        `PrivateTransfer`s: witness requests proved in one batch
        (a request the circuit rejects stays unverified: InvalidProof; the proofs made here come from
        r1cs-checked witnesses and are not verified again), then every submitted proof verified in
        one batch; deposits marked authorized where their consent signature verified."""
        idx = [i for i, tx in sorted(txs.items()) if isinstance(tx, PrivateTx)]
        if not idx:
            return {}
        prover = self.prover
        out: dict = {}
        requests = [i for i in idx if txs[i].witness is not None]
        made = prover.prove([TransferRequest(txs[i].witness, list(txs[i].public_signals), txs[i].ext_data, ())
                             for i in requests], skip_invalid=True)
        for i, tx in zip(requests, made):
            if tx is None:  # the circuit rejected the request: stays unverified (InvalidProof)
                out[i] = PrivateTransfer({}, list(txs[i].public_signals), txs[i].ext_data)
            else:  # made here from an r1cs-checked witness: valid by construction, not verified again
                out[i] = tx
                tx.proof_verified = True
        to_verify = [i for i in idx if txs[i].proof is not None]
        for i in to_verify:
            out[i] = PrivateTransfer(txs[i].proof, list(txs[i].public_signals), txs[i].ext_data)
        if to_verify:
            verify_transfers(prover.verification_key, [out[i] for i in to_verify])
        for i in idx:
            out[i].deposit_authorized = bool(txs[i].is_deposit and sig_ok[i])
        return out

    def execute(self, block: Prepared) -> BlockResult:
        """Execute, root and commit one prepared block (on top of the latest committed height)."""
        transfers = block.transfers
        work = NodeTransfer.batch(transfers, block.sig_ok[transfers.index])
        runnable = transfers.index.tolist()
        if block.private:  # merged into block order
            by_index = {**dict(zip(runnable, work)), **block.private}
            runnable = sorted(by_index)
            work = [by_index[i] for i in runnable]
        lines: list[str] = []
        reasons: list[str | None] = ["Malformed"] * block.n_txs
        timing = {"root_s": 0.0}

        def finalize(writes, receipts):
            for i, receipt in zip(runnable, receipts):
                reasons[i] = None if receipt.success else receipt_reason(receipt.reason)
            lines.extend(formats.receipt_json(block.height, i, r is None, r) for i, r in enumerate(reasons))
            start = time.perf_counter()
            pool_extra = self.pool.finalize(writes, receipts)  # new notes appended on device
            extra = self.state.finalize(block.height, block.tx_hashes, lines, writes, note_root=self._note_root(),
                                        nullifier_root=self.pool.nullifier_root)
            extra.update(pool_extra)
            extra[receipts_key(block.height)] = "\n".join(lines)
            timing["root_s"] = time.perf_counter() - start
            return extra

        start = time.perf_counter()
        self.executor.execute_block(work, finalize=finalize)
        execute_s = time.perf_counter() - start
        n_ok = sum(r is None for r in reasons)
        return BlockResult(block.height, lines, self.state.header["state_root"], block.n_txs, n_ok,
                           block.decode_s, block.verify_s, execute_s, timing["root_s"], block.warning,
                           len(block.private), block.prove_s)

    def run(self, lines: Iterable[str], *, overlap: bool = True,
            on_block: Callable[[BlockResult], None] | None = None) -> Iterator[BlockResult]:
        """Process block lines as the next heights (after the latest committed one); yields results.
        With overlap, block k + 1 is prepared (`decode`, `verify`) on a helper thread while block k
        executes. Starts by moving every object the interpreter's cyclic collector tracks into its
        permanent generation (`gc.freeze`): the node's state (the account tree's and the store's
        hundreds of thousands of objects) is long-lived, and each full collection would otherwise
        re-scan it, holding the interpreter lock (~50 ms per block at 10,000 accounts). Reference
        counting still frees what becomes garbage. On a mesh that spans several processes the
        stages always run one after another: every process must issue the same device programs in
        the same order (`node.replica`)."""
        gc.freeze()
        heights = iter(range(self.height + 1, 1 << 62))
        items = ((next(heights), line) for line in lines)
        if not overlap or spans_processes(self.mesh):
            for height, line in items:
                yield self._done(self.execute(self.prepare(height, line)), on_block)
            return
        with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare") as pool:
            first = next(items, None)
            pending = pool.submit(self.prepare, *first) if first else None
            while pending is not None:
                block = pending.result()
                nxt = next(items, None)
                pending = pool.submit(self.prepare, *nxt) if nxt else None
                yield self._done(self.execute(block), on_block)

    @staticmethod
    def _done(result: BlockResult, on_block) -> BlockResult:
        if on_block is not None:
            on_block(result)
        return result

    # -- queries -----------------------------------------------------------------------------------

    def dump(self) -> dict:
        """The dump format: every account with a nonzero balance or nonce, at the latest height."""
        accounts = {}
        with self.store.snapshot() as snap:
            for key, value in snap.scan(prefix="idx/"):
                account = key[4:]
                balance, nonce = snap.get(balance_key(account)) or 0, snap.get(nonce_key(account)) or 0
                if (balance or nonce) and account != POOL_ACCOUNT:
                    accounts[account] = {"balance": balance, "nonce": nonce}
            pool = snap.get(balance_key(POOL_ACCOUNT)) or 0
        dump = {"height": self.height, "state_root": self.state.state_root.hex(), "accounts": dict(sorted(accounts.items()))}
        if pool or self.pool.tree.n_leaves:
            dump["shielded"] = {"pool_balance": pool, "notes": self.pool.tree.n_leaves,
                                "note_root": self._note_root().hex(), "nullifier_root": self.pool.nullifier_root.hex()}
        return dump

    def receipts(self, height: int) -> list[str]:
        """The receipt lines of committed block `height`."""
        text = self.store.get(receipts_key(height))
        return text.split("\n") if text else []

    def account_proof(self, pubkey: bytes) -> dict | None:
        return self.state.account_proof(pubkey)
