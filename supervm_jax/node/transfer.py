"""The signed transfer as a Block-STM transaction (`supervm_jax.mvcc` protocol: ``execute(ctx)``).

Accounts are keyed by the hex of their public key: ``"<hex>/balance"`` and ``"<hex>/nonce"``
(`mvcc.balance_key` / `nonce_key`; missing means 0). Rules, in order, each failure changing nothing:
the signature is valid (checked in batch on the devices before execution: `sig_ok`), else
`BadSignature`; ``nonce`` equals the sender's nonce, else `BadNonce`; the sender's balance covers
``amount``, else `InsufficientFunds`. On success the amount moves and the sender's nonce grows by 1
(a transfer to oneself only bumps the nonce).
"""

from __future__ import annotations

import numpy as np

from supervm_jax.mvcc import InsufficientFunds, balance_key, nonce_key
from supervm_jax.mvcc.native import BAD_NONCE, BAD_SIGNATURE, INSUFFICIENT_FUNDS, NATIVE_NODE_TRANSFER
from supervm_jax.node.formats import SignedTransfer, TransferColumns


class BadSignature(Exception):
    """The Ed25519 signature does not verify under the sender's key (ZIP-215 rules)."""


class BadNonce(Exception):
    """The transfer's nonce is not the sender's current nonce (a replay, or out of order)."""


REASONS = ("BadSignature", "BadNonce", "InsufficientFunds", "Malformed", "InvalidProof", "UnknownRoot", "NullifierSpent")


class NodeTransfer:
    """A signed transfer with its batch-verified signature result, ready for `execute_block`. A
    built-in transaction (`mvcc.native`): blocks of them execute in C++ with the same receipts.

    sender, recipient: the public keys as lowercase hex (the account names); amount, nonce: ints;
    sig_ok: bool."""

    __slots__ = ("sender", "recipient", "amount", "nonce", "sig_ok")
    native_kind = NATIVE_NODE_TRANSFER

    def __init__(self, tx: SignedTransfer, sig_ok: bool):
        self.sender, self.recipient = tx.sender.hex(), tx.recipient.hex()
        self.amount, self.nonce, self.sig_ok = tx.amount, tx.nonce, bool(sig_ok)

    @classmethod
    def batch(cls, transfers: TransferColumns, sig_ok: np.ndarray) -> list[NodeTransfer]:
        """`NodeTransfer(tx, ok)` of each transfer of a block's columns, built from whole columns;
        sig_ok (n,) bool."""
        senders, recipients = transfers.hex_keys()
        out = []
        for fields in zip(senders, recipients, transfers.amount.tolist(), transfers.nonce.tolist(), sig_ok.tolist()):
            tx = cls.__new__(cls)
            tx.sender, tx.recipient, tx.amount, tx.nonce, tx.sig_ok = fields
            out.append(tx)
        return out

    def native_failure(self, status: int, observed: int) -> Exception:
        """The exception of a failed run: `status` a `mvcc.native` code, `observed` the nonce
        (BAD_NONCE) or balance (INSUFFICIENT_FUNDS) it read."""
        if status == BAD_SIGNATURE:
            return BadSignature("signature does not verify")
        if status == BAD_NONCE:
            return BadNonce(f"nonce {self.nonce}, account expects {observed}")
        if status == INSUFFICIENT_FUNDS:
            return InsufficientFunds(f"balance {observed} < amount {self.amount}")
        raise ValueError(f"no failure has native status {status}")

    def execute(self, ctx) -> None:
        if not self.sig_ok:
            raise self.native_failure(BAD_SIGNATURE, 0)
        sender_nonce, sender_balance = nonce_key(self.sender), balance_key(self.sender)
        nonce = ctx.read(sender_nonce) or 0
        if self.nonce != nonce:
            raise self.native_failure(BAD_NONCE, nonce)
        balance = ctx.read(sender_balance) or 0
        if balance < self.amount:
            raise self.native_failure(INSUFFICIENT_FUNDS, balance)
        recipient_balance = balance_key(self.recipient)
        ctx.write(sender_balance, balance - self.amount)
        ctx.write(recipient_balance, (ctx.read(recipient_balance) or 0) + self.amount)
        ctx.write(sender_nonce, nonce + 1)


# privacy's failure types under the node's receipt names
_PRIVATE_REASONS = {"ProofNotVerified": "InvalidProof", "DepositNotAuthorized": "BadSignature"}


def receipt_reason(mvcc_reason: str | None) -> str | None:
    """mvcc's ``"<ExceptionType>: <message>"`` -> the node's reason code (the exception type, with
    privacy's ProofNotVerified as InvalidProof and DepositNotAuthorized as BadSignature)."""
    if mvcc_reason is None:
        return None
    name = mvcc_reason.split(":", 1)[0]
    return _PRIVATE_REASONS.get(name, name)
