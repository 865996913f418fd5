"""Transactions, the context they run against, and their receipts.

A transaction is any object with ``execute(ctx)``. It reads state with ``ctx.read(key)`` and writes
with ``ctx.write(key, value)``; nothing else it does is visible to other transactions.

* Keys are ``str``. Values are ``int``, ``str``, ``bytes`` or ``None``; writing ``None`` deletes the
  key, and reading a missing key gives ``None``. ``ctx.write`` raises ``TypeError`` for anything else,
  which fails that transaction like any other exception.
* ``execute`` must be a deterministic function of the values it reads: the parallel executor may run
  a transaction several times (incarnations, each possibly reading different keys) and keeps the run
  whose reads equal those of serial execution.
* Its return value becomes ``Receipt.output``. Raising an ``Exception`` fails the transaction alone:
  its writes are discarded, the receipt carries the reason, and the rest of the block is unaffected.

`Transfer` is the built-in payment. Each account is two keys, ``"<account>/balance"`` and
``"<account>/nonce"`` (missing means 0); a successful transfer moves ``amount`` and increments the
sender's nonce, so the sum of all nonces counts successful transfers (the nonce-sum invariant).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

VALUE_TYPES = frozenset({int, str, bytes, type(None)})


class Context(Protocol):
    """What a transaction sees: its own writes first, then the state before it in block order."""

    def read(self, key: str) -> int | str | bytes | None: ...

    def write(self, key: str, value: int | str | bytes | None) -> None: ...


class Transaction(Protocol):
    def execute(self, ctx: Context) -> Any: ...


class InsufficientFunds(Exception):
    """A transfer's sender holds less than the amount (the transaction fails alone)."""


def check_write(key: object, value: object) -> None:
    """Raises TypeError unless `key` is a str and `value` an int, str, bytes or None (bool refused)."""
    if type(key) is not str:
        raise TypeError(f"state keys must be str, got {type(key).__name__}: {key!r}")
    if type(value) not in VALUE_TYPES:
        raise TypeError(f"state values must be int, str, bytes or None, got {type(value).__name__} for {key!r}")


def failure_reason(err: Exception) -> str:
    """A failed transaction's `Receipt.reason`: ``"<ExceptionType>: <message>"``."""
    return f"{type(err).__name__}: {err}"


def balance_key(account: str) -> str:
    """State key of an account's balance (int, smallest unit; missing means 0)."""
    return f"{account}/balance"


def nonce_key(account: str) -> str:
    """State key of an account's nonce: number of successful transfers it sent (missing means 0)."""
    return f"{account}/nonce"


class Receipt(NamedTuple):
    """Outcome of transaction `index` of a block.

    success: whether its writes were applied. output: what ``execute`` returned (None on failure).
    reason: ``"<ExceptionType>: <message>"`` on failure, None on success.
    """

    index: int
    success: bool
    output: Any = None
    reason: str | None = None


class Transfer:
    """Moves `amount` (int >= 0, smallest unit) from `sender` to `recipient` (account names, str).

    Fails with `InsufficientFunds` when the sender's balance is below `amount`. On success the
    sender's nonce grows by one and ``execute`` returns ``(sender_balance, recipient_balance)`` after
    the transfer. ``sender == recipient`` is allowed (only the nonce changes). The constructor raises
    TypeError / ValueError for non-str accounts or a non-int or negative amount.
    """

    __slots__ = ("sender", "recipient", "amount", "_sender_balance", "_recipient_balance", "_sender_nonce")
    native_kind = 0  # `mvcc.native.NATIVE_TRANSFER`: blocks of transfers run in C++ (same receipts)

    def __init__(self, sender: str, recipient: str, amount: int):
        if type(sender) is not str or type(recipient) is not str:
            raise TypeError(f"Transfer accounts must be str, got {sender!r} -> {recipient!r}")
        if type(amount) is not int:
            raise TypeError(f"Transfer amount must be an int, got {type(amount).__name__}: {amount!r}")
        if amount < 0:
            raise ValueError(f"Transfer amount must be >= 0, got {amount}")
        self.sender = sender
        self.recipient = recipient
        self.amount = amount
        self._sender_balance = balance_key(sender)
        self._recipient_balance = balance_key(recipient)
        self._sender_nonce = nonce_key(sender)

    def __repr__(self) -> str:
        return f"Transfer({self.sender!r}, {self.recipient!r}, {self.amount})"

    def native_failure(self, status: int | None, balance: int) -> InsufficientFunds:
        """The exception of a failed run that read `balance` (a transfer fails only one way, so
        `status`, the native side's code, is not needed)."""
        return InsufficientFunds(f"{self.sender} holds {balance}, needs {self.amount}")

    def execute(self, ctx: Context) -> tuple[int, int]:
        amount = self.amount
        balance = ctx.read(self._sender_balance) or 0
        if balance < amount:
            raise self.native_failure(None, balance)
        ctx.write(self._sender_balance, balance - amount)
        received = (ctx.read(self._recipient_balance) or 0) + amount
        ctx.write(self._recipient_balance, received)
        ctx.write(self._sender_nonce, (ctx.read(self._sender_nonce) or 0) + 1)
        return ctx.read(self._sender_balance), received
