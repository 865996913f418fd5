"""The signed transfer as a Block-STM transaction (`supervm_jax.mvcc` protocol: ``execute(ctx)``).

Accounts are keyed by the hex of their public key: ``"<hex>/balance"`` and ``"<hex>/nonce"``
(`mvcc.balance_key` / `nonce_key`; missing means 0). Rules, in order, each failure changing nothing:
the signature is valid (checked in batch on the devices before execution: `sig_ok`), else
`BadSignature`; ``nonce`` equals the sender's nonce, else `BadNonce`; the sender's balance covers
``amount``, else `InsufficientFunds`. On success the amount moves and the sender's nonce grows by 1
(a transfer to oneself only bumps the nonce).
"""

from __future__ import annotations

from supervm_jax.mvcc import InsufficientFunds, balance_key, nonce_key
from supervm_jax.mvcc.native import BAD_NONCE, BAD_SIGNATURE, INSUFFICIENT_FUNDS, NATIVE_NODE_TRANSFER
from supervm_jax.node.formats import SignedTransfer


class BadSignature(Exception):
    """The Ed25519 signature does not verify under the sender's key (ZIP-215 rules)."""


class BadNonce(Exception):
    """The transfer's nonce is not the sender's current nonce (a replay, or out of order)."""


REASONS = ("BadSignature", "BadNonce", "InsufficientFunds", "Malformed", "InvalidProof", "UnknownRoot", "NullifierSpent")


class NodeTransfer:
    """`tx` with its batch-verified signature result, ready for `execute_block`. A built-in
    transaction (`mvcc.native`): blocks of them execute in C++ with the same receipts."""

    __slots__ = ("tx", "sig_ok", "sender", "recipient", "amount", "nonce", "_sb", "_rb", "_sn")
    native_kind = NATIVE_NODE_TRANSFER

    def __init__(self, tx: SignedTransfer, sig_ok: bool):
        self.tx, self.sig_ok = tx, bool(sig_ok)
        self.sender, self.recipient = tx.sender.hex(), tx.recipient.hex()
        self.amount, self.nonce = tx.amount, tx.nonce
        self._sb, self._rb, self._sn = balance_key(self.sender), balance_key(self.recipient), nonce_key(self.sender)

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
        nonce = ctx.read(self._sn) or 0
        if self.nonce != nonce:
            raise self.native_failure(BAD_NONCE, nonce)
        balance = ctx.read(self._sb) or 0
        if balance < self.amount:
            raise self.native_failure(INSUFFICIENT_FUNDS, balance)
        ctx.write(self._sb, balance - self.amount)
        ctx.write(self._rb, (ctx.read(self._rb) or 0) + self.amount)
        ctx.write(self._sn, nonce + 1)


# privacy's failure types under the node's receipt names
_PRIVATE_REASONS = {"ProofNotVerified": "InvalidProof", "DepositNotAuthorized": "BadSignature"}


def receipt_reason(mvcc_reason: str | None) -> str | None:
    """mvcc's ``"<ExceptionType>: <message>"`` -> the node's reason code (the exception type, with
    privacy's ProofNotVerified as InvalidProof and DepositNotAuthorized as BadSignature)."""
    if mvcc_reason is None:
        return None
    name = mvcc_reason.split(":", 1)[0]
    return _PRIVATE_REASONS.get(name, name)
