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
* A private transfer (`supervm_jax.privacy`: the join-split circuit) is either proved,
  ``{"type": "private", "proof": {snarkjs proof}, "public_signals": [7 decimal strings],
  "account": "<hex32>" | "", "sig": "<hex64>"}``, or a witness request that the node proves itself
  (the requester trusts the node with the note secrets), ``{"type": "private", "witness": {circuit
  input signals}, "account": ..., "sig": ...}``, whose public signals are its ``root``,
  ``public_amount``, ``ext_data_hash``, ``input_nullifier`` and ``output_commitment`` inputs.
  ``account`` is the transparent account that pays a deposit or receives a withdrawal ("" for
  neither); the ext_data_hash signal must be `privacy.ExtData(account).hash()`. A deposit
  (public_amount in (0, r/2]) needs ``sig``: the account's Ed25519 signature (ZIP-215) over
  `deposit_message` (b"supervm:deposit:v1" || the 7 public signals, 32 bytes big-endian each);
  otherwise ``sig`` is ignored and may be omitted. A proof that is not a snarkjs proof object, a
  wrong signal count or value, or a mismatched ext_data_hash is ``Malformed``.
* Receipts: one JSON line per transaction, ``{"height": h, "index": i, "success": bool,
  "reason": str | null}``; reasons ``BadSignature``, ``BadNonce``, ``InsufficientFunds``,
  ``Malformed``, and for private transfers ``InvalidProof`` (the proof does not verify, or the
  circuit rejects the witness request), ``UnknownRoot``, ``NullifierSpent``, ``BadSignature`` (a
  deposit without the account's valid signature), ``InsufficientFunds``.
* Dump: ``{"height": h, "state_root": "<hex>", "accounts": {"<hex32>": {"balance": b, "nonce": n}}}``
  holding every account with a nonzero balance or nonce.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from itertools import repeat
from typing import Any

import numpy as np

TRANSFER_DOMAIN = b"supervm:transfer:v1"
DEPOSIT_DOMAIN = b"supervm:deposit:v1"
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
class PrivateTx:
    """A decoded private transfer: its 7 public signals (ints < r), a snarkjs `proof` or a
    `witness` request (exactly one is set), the transparent `account` (32 bytes, or None) and its
    consent signature `sig` (64 bytes, or None)."""

    public_signals: tuple
    proof: dict | None
    witness: dict | None
    account: bytes | None
    sig: bytes | None

    @property
    def ext_data(self):
        from supervm_jax.privacy import ExtData

        return ExtData(self.account.hex() if self.account else "")

    @property
    def is_deposit(self) -> bool:
        from supervm_jax.privacy.notes import R

        return 0 < self.public_signals[1] <= R // 2

    def deposit_message(self) -> bytes:
        return deposit_message(self.public_signals)


@dataclasses.dataclass(frozen=True)
class Malformed:
    """A transaction that could not be decoded; `detail` says why (for logs, not the receipt)."""

    detail: str


@dataclasses.dataclass(frozen=True)
class TransferColumns:
    """A block's signed transfers as columns, built once when the block is decoded and shared by
    signature verification, execution and the roots.

    index (n,) int64: the transfers' positions in the block, ascending; sender, recipient (n, 32)
    uint8: public keys; sig (n, 64) uint8: R || S; amount, nonce (n,) uint64."""

    index: np.ndarray
    sender: np.ndarray
    recipient: np.ndarray
    sig: np.ndarray
    amount: np.ndarray
    nonce: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    @classmethod
    def of(cls, txs: list) -> TransferColumns:
        """The `SignedTransfer`s among a decoded block's transactions (other kinds skipped)."""
        index = [i for i, tx in enumerate(txs) if isinstance(tx, SignedTransfer)]
        rows = [txs[i] for i in index]
        return cls(np.array(index, np.int64), byte_rows([tx.sender for tx in rows], 32),
                   byte_rows([tx.recipient for tx in rows], 32), byte_rows([tx.sig for tx in rows], 64),
                   np.array([tx.amount for tx in rows], np.uint64), np.array([tx.nonce for tx in rows], np.uint64))

    def messages(self) -> np.ndarray:
        """(n, 99) uint8: row j is `transfer_message` of transfer j."""
        n, domain = len(self), len(TRANSFER_DOMAIN)
        out = np.empty((n, domain + 80), np.uint8)
        out[:, :domain] = np.frombuffer(TRANSFER_DOMAIN, np.uint8)
        out[:, domain:domain + 32], out[:, domain + 32:domain + 64] = self.sender, self.recipient
        out[:, domain + 64:domain + 72] = self.amount.astype(">u8").view(np.uint8).reshape(n, 8)
        out[:, domain + 72:] = self.nonce.astype(">u8").view(np.uint8).reshape(n, 8)
        return out

    def hex_keys(self) -> tuple[list[str], list[str]]:
        """The senders' and recipients' public keys as lowercase hex strings (the store's account names)."""
        return _hex_rows(self.sender), _hex_rows(self.recipient)


def byte_rows(values: list[bytes], size: int) -> np.ndarray:
    """(n, size) uint8 array of n byte strings of `size` bytes each (n may be 0)."""
    return np.frombuffer(b"".join(values), np.uint8).reshape(len(values), size)


def hex_rows(values: list, size: int) -> np.ndarray | None:
    """(n, size) uint8 rows of n strings of exactly 2 * size hex digits each, or None when any is
    not one (not a str, a wrong length, a non-hex character, or whitespace: `bytes.fromhex` skips
    it, so the joined bytes come out short)."""
    if values and (set(map(type, values)) != {str} or set(map(len, values)) != {2 * size}):
        return None
    try:
        data = bytes.fromhex("".join(values))
    except ValueError:
        return None
    return np.frombuffer(data, np.uint8).reshape(len(values), size) if len(data) == len(values) * size else None


def _hex_rows(rows: np.ndarray) -> list[str]:
    """The rows of an (n, k) uint8 array as n lowercase hex strings."""
    text, width = rows.tobytes().hex(), 2 * rows.shape[1]
    return [text[i:i + width] for i in range(0, len(text), width)]


def transfer_message(sender: bytes, recipient: bytes, amount: int, nonce: int) -> bytes:
    """The bytes a transfer's signature covers."""
    return TRANSFER_DOMAIN + sender + recipient + amount.to_bytes(8, "big") + nonce.to_bytes(8, "big")


def deposit_message(public_signals) -> bytes:
    """The bytes a deposit's consent signature covers."""
    return DEPOSIT_DOMAIN + b"".join(int(v).to_bytes(32, "big") for v in public_signals)


def _hex_bytes(value: Any, size: int, name: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size:
        raise ValueError(f"{name} must be {2 * size} hex chars")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{name} is not hex") from None
    if len(raw) != size:  # fromhex skips whitespace: "00 00..." of the right length is short
        raise ValueError(f"{name} is not hex")
    return raw


def _u64(value: Any, name: str) -> int:
    if type(value) is not int or not 0 <= value < U64:
        raise ValueError(f"{name} must be an int in [0, 2^64)")
    return value


def _field(value: Any, name: str) -> int:
    from supervm_jax.privacy.notes import R

    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if type(value) is not int or not -R < value < R:
        raise ValueError(f"{name} must be an integer (decimal string or int) of magnitude < r")
    return value % R


def _decode_private(obj: dict) -> PrivateTx | Malformed:
    from supervm_jax.groth16.proof_json import (
        CoordinateRangeError,
        ProofFormatError,
        parse_proof,
    )
    from supervm_jax.privacy import PUBLIC_SIGNALS, ExtData

    try:
        account_hex = obj.get("account", "")
        account = None if account_hex == "" else _hex_bytes(account_hex, 32, "account")
        proof, witness = obj.get("proof"), obj.get("witness")
        if (proof is None) == (witness is None):
            raise ValueError('a private transfer has exactly one of "proof" and "witness"')
        if proof is not None:
            try:
                curve = parse_proof(proof)[0]
                if curve.name != "bn128":
                    raise ValueError(f"proof: on {curve.name}, the transfer circuit's key is on bn128")
            except CoordinateRangeError:
                pass  # well-formed, fails verification
            except ProofFormatError as err:
                raise ValueError(f"proof: {err}") from None
            signals = obj.get("public_signals")
            if not isinstance(signals, list) or len(signals) != len(PUBLIC_SIGNALS):
                raise ValueError(f"public_signals must be a list of {len(PUBLIC_SIGNALS)}")
            values = tuple(_field(v, f"public_signals[{k}]") for k, v in enumerate(signals))
        else:
            if not isinstance(witness, dict):
                raise ValueError("witness must be an object of circuit input signals")
            pairs = [witness.get(n) for n in ("input_nullifier", "output_commitment")]
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ValueError("witness: input_nullifier and output_commitment must be lists of 2")
            raw = [witness.get("root"), witness.get("public_amount"), witness.get("ext_data_hash"), *pairs[0], *pairs[1]]
            values = tuple(_field(v, f"witness {PUBLIC_SIGNALS[k]}") for k, v in enumerate(raw))
        if values[2] != ExtData(account.hex() if account else "").hash():
            raise ValueError("ext_data_hash does not match the account")
        tx = PrivateTx(values, proof, witness, account, None)
        if tx.is_deposit:
            if account is None:
                raise ValueError("a deposit needs an account")
            tx = dataclasses.replace(tx, sig=_hex_bytes(obj.get("sig"), 64, "sig"))
        return tx
    except ValueError as err:
        return Malformed(str(err))


def decode_tx(obj: Any) -> SignedTransfer | PrivateTx | Malformed:
    """One transaction object -> SignedTransfer, PrivateTx, or Malformed with the reason."""
    if not isinstance(obj, dict):
        return Malformed(f"not an object: {type(obj).__name__}")
    if obj.get("type") == "private":
        return _decode_private(obj)
    if obj.get("type") != "transfer":
        return Malformed(f"unknown type {obj.get('type')!r}")
    try:
        return SignedTransfer(_hex_bytes(obj.get("from"), 32, "from"), _hex_bytes(obj.get("to"), 32, "to"),
                              _u64(obj.get("amount"), "amount"), _u64(obj.get("nonce"), "nonce"),
                              _hex_bytes(obj.get("sig"), 64, "sig"))
    except ValueError as err:
        return Malformed(str(err))


_TRANSFER_FIELDS = ("type", "from", "to", "amount", "nonce", "sig")


def transfer_columns(raw: list) -> TransferColumns | None:
    """The fast path of decoding a block's ``txs`` list: its columns when every element is a signed
    transfer object with exactly the six keys of the format and valid values (so `decode_tx` makes a
    `SignedTransfer` of each, with these values), else None (decode each with `decode_tx`).

    Checks whole columns at once: exact dicts of 6 keys, type "transfer", hex fields str of the
    right length whose concatenation `bytes.fromhex` turns into exactly the right number of bytes
    (whitespace, which fromhex skips, would make it short; a non-hex character raises), amounts and
    nonces of type int (not bool) in [0, 2^64)."""
    n = len(raw)
    if not n or set(map(type, raw)) != {dict} or set(map(len, raw)) != {6}:
        return None
    kinds, senders, recipients, amounts, nonces, sigs = (list(map(dict.get, raw, repeat(k))) for k in _TRANSFER_FIELDS)
    if kinds.count("transfer") != n:
        return None
    for values in (amounts, nonces):
        if set(map(type, values)) != {int} or min(values) < 0 or max(values) >= U64:
            return None
    columns = [hex_rows(values, size) for values, size in ((senders, 32), (recipients, 32), (sigs, 64))]
    if any(c is None for c in columns):
        return None
    return TransferColumns(np.arange(n, dtype=np.int64), columns[0], columns[1], columns[2],
                           np.array(amounts, np.uint64), np.array(nonces, np.uint64))


def parse_block(line: str) -> tuple[list, str | None]:
    """One JSON line -> (its raw ``txs`` values, None), or ([], warning) when the line is not a block."""
    try:
        obj = json.loads(line)
    except ValueError as err:
        return [], f"not JSON ({err})"
    if not isinstance(obj, dict) or not isinstance(obj.get("txs"), list):
        return [], 'not an object with a "txs" list'
    return obj["txs"], None


def decode_block(line: str) -> tuple[list[SignedTransfer | PrivateTx | Malformed], list, str | None]:
    """One JSON line -> (transactions, their raw JSON values, None), or ([], [], warning) when the
    line is not a block."""
    raw, warning = parse_block(line)
    return [decode_tx(tx) for tx in raw], raw, warning


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
    """One receipt line, exactly `json.dumps({"height": ..., "index": ..., "success": ..., "reason": ...})`
    (formatted directly: a block has one per transaction)."""
    if type(height) is not int or type(index) is not int or type(success) is not bool:
        raise TypeError(f"receipt_json: height and index must be int, success bool; got {height!r}, {index!r}, "
                        f"{success!r}")
    text = "null" if reason is None else _json_string(reason)
    return f'{{"height": {height}, "index": {index}, "success": {"true" if success else "false"}, "reason": {text}}}'


@functools.lru_cache(maxsize=64)  # the receipt reasons are a handful of names
def _json_string(text: str) -> str:
    return json.dumps(text)
