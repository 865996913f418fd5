"""The node's file formats (a public contract: other tools read and write them).

* Genesis: ``{"accounts": {"<ed25519 public key, 64 hex chars>": <balance int>, ...}}``. Balances
  are ints in [0, 2^64). `load_genesis` raises `FormatError` naming the file and the account.
* Blocks: JSON lines, one block per line, ``{"txs": [tx, ...]}``; heights count from 1 in file order.
  A signed transfer is ``{"type": "transfer", "from": "<hex32>", "to": "<hex32>", "amount": int,
  "nonce": int, "sig": "<hex64>"}``, signed (Ed25519, ZIP-215 rules) by ``from`` over
  `transfer_message`. `decode_block` never raises: a transaction that is not such an object
  (wrong lengths or types, unknown type, amount or nonce outside [0, 2^64)) becomes a `Malformed`
  placeholder that keeps its index and gets the receipt ``Malformed``; a line that is not a JSON
  object with a ``txs`` list is a block with no transactions (its height still counts) and a
  warning on stderr.
* Receipts: one JSON line per transaction, ``{"height": h, "index": i, "success": bool,
  "reason": str | null}``; reasons ``BadSignature``, ``BadNonce``, ``InsufficientFunds``,
  ``Malformed``.
* Dump: ``{"height": h, "state_root": "<hex>", "accounts": {"<hex32>": {"balance": b, "nonce": n}}}``
  holding every account with a nonzero balance or nonce.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

TRANSFER_DOMAIN = b"supervm:transfer:v1"
U64 = 1 << 64


class FormatError(ValueError):
    """A genesis or block file that cannot be used at all (the node exits with code 2)."""


@dataclasses.dataclass(frozen=True)
class SignedTransfer:
    """A decoded transfer: 32-byte keys, ints in [0, 2^64), a 64-byte signature."""

    sender: bytes
    recipient: bytes
    amount: int
    nonce: int
    sig: bytes

    def message(self) -> bytes:
        return transfer_message(self.sender, self.recipient, self.amount, self.nonce)

    def to_json(self) -> dict[str, Any]:
        return {"type": "transfer", "from": self.sender.hex(), "to": self.recipient.hex(), "amount": self.amount,
                "nonce": self.nonce, "sig": self.sig.hex()}


@dataclasses.dataclass(frozen=True)
class Malformed:
    """A transaction that could not be decoded; `detail` says why (for logs, not the receipt)."""

    detail: str


def transfer_message(sender: bytes, recipient: bytes, amount: int, nonce: int) -> bytes:
    """The bytes a transfer's signature covers."""
    return TRANSFER_DOMAIN + sender + recipient + amount.to_bytes(8, "big") + nonce.to_bytes(8, "big")


def _hex_bytes(value: Any, size: int, name: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size:
        raise ValueError(f"{name} must be {2 * size} hex chars")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{name} is not hex") from None


def _u64(value: Any, name: str) -> int:
    if type(value) is not int or not 0 <= value < U64:
        raise ValueError(f"{name} must be an int in [0, 2^64)")
    return value


def decode_tx(obj: Any) -> SignedTransfer | Malformed:
    """One transaction object -> SignedTransfer, or Malformed with the reason."""
    if not isinstance(obj, dict):
        return Malformed(f"not an object: {type(obj).__name__}")
    if obj.get("type") != "transfer":
        return Malformed(f"unknown type {obj.get('type')!r}")
    try:
        return SignedTransfer(_hex_bytes(obj.get("from"), 32, "from"), _hex_bytes(obj.get("to"), 32, "to"),
                              _u64(obj.get("amount"), "amount"), _u64(obj.get("nonce"), "nonce"),
                              _hex_bytes(obj.get("sig"), 64, "sig"))
    except ValueError as err:
        return Malformed(str(err))


def decode_block(line: str) -> tuple[list[SignedTransfer | Malformed], list, str | None]:
    """One JSON line -> (transactions, their raw JSON values, None), or ([], [], warning) when the
    line is not a block."""
    try:
        obj = json.loads(line)
    except ValueError as err:
        return [], [], f"not JSON ({err})"
    if not isinstance(obj, dict) or not isinstance(obj.get("txs"), list):
        return [], [], 'not an object with a "txs" list'
    return [decode_tx(tx) for tx in obj["txs"]], obj["txs"], None


def load_genesis(path: str) -> dict[bytes, int]:
    """Genesis file -> {public key bytes: balance}. Raises FormatError naming the file and account."""
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except OSError as err:
        raise FormatError(f"{path}: cannot read genesis: {err.strerror or err}") from None
    except ValueError as err:
        raise FormatError(f"{path}: genesis is not JSON: {err}") from None
    return parse_genesis(obj, path)


def parse_genesis(obj: Any, where: str = "genesis") -> dict[bytes, int]:
    if not isinstance(obj, dict) or not isinstance(obj.get("accounts"), dict):
        raise FormatError(f'{where}: expected {{"accounts": {{"<hex32>": balance, ...}}}}')
    accounts = {}
    for key, balance in obj["accounts"].items():
        try:
            pk = _hex_bytes(key, 32, "account key")
            accounts[pk] = _u64(balance, "balance")
        except ValueError as err:
            raise FormatError(f"{where}: account {key!r}: {err}") from None
    return accounts


def genesis_json(accounts: dict[bytes, int]) -> dict[str, Any]:
    return {"accounts": {pk.hex(): balance for pk, balance in sorted(accounts.items())}}


def receipt_json(height: int, index: int, success: bool, reason: str | None) -> str:
    return json.dumps({"height": height, "index": index, "success": success, "reason": reason})
