"""`PrivateTransfer`: a proved join-split as an MVCC transaction, and `ShieldedPool`, the block-end
step that appends the new notes to the tree.

State (all through `ctx.read` / `ctx.write`, so Block-STM equals serial execution):
  - `shielded/root/<64 hex>`: present (1) for each recent note-tree root, written by
    `ShieldedPool.finalize` at block end (and deleted when it leaves the root history);
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

from collections.abc import Sequence
from typing import Any, NamedTuple

from supervm_jax.mvcc.transactions import InsufficientFunds, balance_key
from supervm_jax.privacy.notes import R
from supervm_jax.privacy.transfer import PUBLIC_SIGNALS, ExtData
from supervm_jax.privacy.tree import NoteTree

POOL_ACCOUNT = "shielded:pool"


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
    successful transfers' receipts, in block order) to the tree on device and returns the root keys
    to commit with the block."""

    def __init__(self, tree: NoteTree | None = None):
        self.tree = tree or NoteTree()

    def genesis_writes(self) -> dict:
        """The keys of the tree's current known roots (commit them before the first private block)."""
        return {root_key(r): 1 for r in self.tree.roots}

    def finalize(self, writes: dict, receipts: Sequence) -> dict:
        new = [c for r in receipts if r.success and isinstance(r.output, PrivateTransferOutput) for c in r.output.commitments]
        if not new:
            return {}
        before = set(self.tree.roots)
        self.tree.append_batch(new)
        after = set(self.tree.roots)
        return {**{root_key(r): None for r in before - after}, **{root_key(r): 1 for r in after - before}}
