"""`PrivateTransfer`: a proved join-split as an MVCC transaction, and `ShieldedPool`, the block-end
step that appends the new notes to the tree.

State (all through `ctx.read` / `ctx.write`, so Block-STM equals serial execution):
  - `shielded/root/<64 hex>`: present (1) for each recent note-tree root, written by
    `ShieldedPool.finalize` at block end (and deleted when it leaves the root history); the pool's
    own keys (`shielded/leaf/...`, `shielded/roots`, `shielded/nullifier_root`) let
    `ShieldedPool.load` rebuild it after a restart;
  - `shielded/nullifier/<64 hex>`: 1 once the nullifier is spent;
  - the pool's transparent balance `shielded:pool/balance` (an ordinary account, `POOL_ACCOUNT`)
    and the balance of the account named in the transfer's `ExtData`.

A transfer fails alone, with its reason in the receipt (`Receipt.reason` is "<Exception>: ..."):
`ProofNotVerified` (its proof was not marked verified: proofs are checked in batch before the block,
never inside `execute`, which Block-STM may run several times), `UnknownRoot`, `NullifierSpent`
(a double spend, in an earlier block or earlier in this one), `DepositNotAuthorized` (a deposit
whose account has not authorized it, see below), `InsufficientFunds`.

On success it marks both nullifiers spent, moves `public_amount` between the pool and the account
(a deposit debits the account, a withdrawal credits it), and returns a `PrivateTransferOutput`
whose output commitments `ShieldedPool.finalize` appends to the tree after the block, in block order.

Deposits: the proof binds the account name (ext_data_hash) but not the account holder's consent;
whoever submits a deposit must have that consent checked outside (the node checks the account's
signature) and then sets `deposit_authorized = True`. A withdrawal needs no such flag: the proof
shows the spender owns the notes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from supervm_jax.mvcc.transactions import InsufficientFunds, balance_key
from supervm_jax.privacy.notes import R
from supervm_jax.privacy.transfer import PUBLIC_SIGNALS, ExtData
from supervm_jax.privacy.tree import DEPTH, NoteTree

POOL_ACCOUNT = "shielded:pool"
LEAF_PREFIX = "shielded/leaf/"
ROOTS_KEY = "shielded/roots"
NULLIFIER_ROOT_KEY = "shielded/nullifier_root"
NULLIFIER_TAG = b"supervm:nullifiers:v1"


def root_key(root: int) -> str:
    return f"shielded/root/{root:064x}"


def nullifier_key(nullifier: int) -> str:
    return f"shielded/nullifier/{nullifier:064x}"


class ProofNotVerified(Exception):
    """The transfer's proof was not marked verified before execution."""


class UnknownRoot(Exception):
    """The proof's note-tree root is not one of the pool's recent roots."""


class NullifierSpent(Exception):
    """One of the transfer's nullifiers is already spent (a double spend)."""


class DepositNotAuthorized(Exception):
    """A deposit (public_amount > 0) whose account's consent was not checked."""


class PrivateTransferOutput(NamedTuple):
    """What a successful `PrivateTransfer.execute` returns (its receipt's output)."""

    commitments: tuple
    nullifiers: tuple
    public_amount: int


def _signal(value: Any, i: int) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < R:
        raise ValueError(f"PrivateTransfer: public signal {i} ({PUBLIC_SIGNALS[i]}) = {value!r} is not an int in [0, r)")
    return value


class PrivateTransfer:
    """A join-split: a Groth16 `proof` (snarkjs JSON object) of the transfer circuit with its 7
    `public_signals` (ints or decimal strings, `PUBLIC_SIGNALS` order) and its `ext_data`.

    The constructor raises ValueError for a wrong signal count, a signal >= r, or ext_data whose hash
    is not the proof's ext_data_hash. Flags set outside execution: `proof_verified` (by
    `privacy.verify_transfers`), `deposit_authorized` (by whoever checked the account's consent)."""

    def __init__(self, proof: dict, public_signals: Sequence[Any], ext_data: ExtData = ExtData()):
        if len(public_signals) != len(PUBLIC_SIGNALS):
            raise ValueError(f"PrivateTransfer: {len(public_signals)} public signals, the circuit has {len(PUBLIC_SIGNALS)}")
        signals = [_signal(v, i) for i, v in enumerate(public_signals)]
        if not isinstance(ext_data, ExtData):
            raise ValueError(f"PrivateTransfer: ext_data is {type(ext_data).__name__}, expected ExtData")
        if ext_data.hash() != signals[2]:
            raise ValueError("PrivateTransfer: ext_data does not match the proof's ext_data_hash")
        self.proof = proof
        self.public_signals = signals
        self.ext_data = ext_data
        self.root = signals[0]
        field = signals[1]
        self.public_amount = field if field <= R // 2 else field - R  # signed: deposit > 0, withdrawal < 0
        self.nullifiers = tuple(signals[3:5])
        self.commitments = tuple(signals[5:7])
        self.proof_verified = False
        self.deposit_authorized = False

    def __repr__(self) -> str:
        return (f"PrivateTransfer(public_amount={self.public_amount}, account={self.ext_data.account!r}, "
                f"nullifiers={[f'{n:#x}'[:12] for n in self.nullifiers]})")

    def execute(self, ctx) -> PrivateTransferOutput:
        if not self.proof_verified:
            raise ProofNotVerified("the proof was not verified before execution")
        if ctx.read(root_key(self.root)) is None:
            raise UnknownRoot(f"root {self.root:#x} is not a recent note-tree root")
        for nf in self.nullifiers:
            if ctx.read(nullifier_key(nf)) is not None:
                raise NullifierSpent(f"nullifier {nf:#x} is already spent")
        amount = self.public_amount
        if amount:
            account = self.ext_data.account
            if amount > 0 and not self.deposit_authorized:
                raise DepositNotAuthorized(f"deposit of {amount} from {account!r} not authorized by the account")
            payer, payee = (account, POOL_ACCOUNT) if amount > 0 else (POOL_ACCOUNT, account)
            value = abs(amount)
            held = ctx.read(balance_key(payer)) or 0
            if held < value:
                raise InsufficientFunds(f"{payer} holds {held}, needs {value}")
            ctx.write(balance_key(payer), held - value)
            ctx.write(balance_key(payee), (ctx.read(balance_key(payee)) or 0) + value)
        for nf in self.nullifiers:
            ctx.write(nullifier_key(nf), 1)
        return PrivateTransferOutput(self.commitments, self.nullifiers, amount)


class ShieldedPool:
    """The note tree behind a store: `genesis_writes()` once, then `finalize` as each block's
    `execute_block(..., finalize=pool.finalize)`, which appends the block's new commitments (from the
    successful transfers' receipts, in block order) to the tree on device and returns the keys to
    commit with the block: each new leaf (`shielded/leaf/<index>`), the new root's key, the root
    history (`shielded/roots`, JSON list of hex, oldest first; a root leaving it has its key deleted)
    and the nullifier accumulator. `ShieldedPool.load(store)` rebuilds the same pool from a store, so
    a restarted node accepts exactly the roots a node that never stopped would.

    `nullifier_root`: SHA-256 chain over every spent nullifier in block order,
    acc' = H("supervm:nullifiers:v1" || acc || nullifier as 32 bytes big-endian), zeros at genesis:
    a commitment to the nullifier set (and its order) for the state root."""

    def __init__(self, tree: NoteTree | None = None, *, root_history: int = 100):
        self.tree = tree or NoteTree()
        self.root_history = root_history
        self.recent: list[int] = [self.tree.root]
        self.nullifier_root = bytes(32)

    @classmethod
    def load(cls, store, *, depth: int = DEPTH, root_history: int = 100) -> "ShieldedPool":
        """The pool committed in `store` (an empty pool when it has none)."""
        pool = cls(NoteTree(depth), root_history=root_history)
        with store.snapshot() as snap:
            leaves = [int(v, 16) for _, v in snap.scan(prefix=LEAF_PREFIX)]
            roots = snap.get(ROOTS_KEY)
            acc = snap.get(NULLIFIER_ROOT_KEY)
        if leaves:
            pool.tree.append_batch(leaves)
        if roots is not None:
            pool.recent = [int(r, 16) for r in json.loads(roots)]
        if acc is not None:
            pool.nullifier_root = bytes.fromhex(acc)
        return pool

    @property
    def note_root(self) -> bytes:
        return self.tree.root.to_bytes(32, "big")

    def genesis_writes(self) -> dict:
        """The keys of the tree's current root (commit them before the first private block)."""
        return {root_key(self.tree.root): 1, ROOTS_KEY: json.dumps([f"{r:064x}" for r in self.recent])}

    def finalize(self, writes: dict, receipts: Sequence) -> dict:
        outputs = [r.output for r in receipts if r.success and isinstance(r.output, PrivateTransferOutput)]
        if not outputs:
            return {}
        acc = self.nullifier_root
        for out in outputs:
            for nf in out.nullifiers:
                acc = hashlib.sha256(NULLIFIER_TAG + acc + nf.to_bytes(32, "big")).digest()
        new = [c for out in outputs for c in out.commitments]
        start = self.tree.append_batch(new)
        extra: dict = {f"{LEAF_PREFIX}{start + k:010d}": f"{c:064x}" for k, c in enumerate(new)}
        recent = self.recent + [self.tree.root]
        for old in recent[: max(0, len(recent) - self.root_history)]:
            extra[root_key(old)] = None
        recent = recent[-self.root_history :]
        extra[root_key(self.tree.root)] = 1
        extra[ROOTS_KEY] = json.dumps([f"{r:064x}" for r in recent])
        extra[NULLIFIER_ROOT_KEY] = acc.hex()
        self.recent, self.nullifier_root = recent, acc
        return extra
