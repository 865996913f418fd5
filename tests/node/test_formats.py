"""The node's hand-formatted JSON (transaction hashes, receipt lines) against the stdlib encoder,
the decoder's strictness on keys that `bytes.fromhex` would shorten, and the columnar decoding of a
block of transfers against the one-by-one decoder."""

from __future__ import annotations

import hashlib
import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from supervm_jax.node.formats import (
    Malformed,
    SignedTransfer,
    TransferColumns,
    decode_tx,
    receipt_json,
    transfer_columns,
)
from supervm_jax.node.state import account_id, account_leaf, account_leaves, header_bytes, transfer_hashes, tx_hash
from supervm_jax.node.transfer import NodeTransfer

_hex = st.text("0123456789abcdefABCDEF", min_size=0, max_size=130)
_text = st.one_of(_hex, st.text(max_size=8))  # some need escaping: quotes, backslashes, non-ASCII
_number = st.one_of(st.integers(-2**70, 2**70), st.booleans(), st.floats(allow_nan=False), st.none(), _text)


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@settings(max_examples=300, deadline=None)
@given(kind=st.one_of(st.just("transfer"), _text), sender=_text, recipient=_text, sig=_text, amount=_number,
       nonce=_number)
def test_transfer_hash_bytes_equal_the_stdlib_canonical_json(kind, sender, recipient, sig, amount, nonce):
    tx = {"type": kind, "from": sender, "to": recipient, "amount": amount, "nonce": nonce, "sig": sig}
    assert header_bytes(tx) == _canonical(tx)
    assert tx_hash(tx) == hashlib.sha256(_canonical(tx)).digest()


def test_other_objects_take_the_general_encoder():
    for value in ({"type": "transfer", "from": "ab"}, {"type": "transfer", "from": "ab", "to": "cd", "amount": 1,
                                                       "nonce": 2, "sig": "ef", "extra": 3}, [1, 2], "x", 5):
        assert header_bytes(value) == _canonical(value)


@settings(max_examples=300, deadline=None)
@given(height=st.integers(0, 2**64), index=st.integers(0, 2**32), success=st.booleans(),
       reason=st.one_of(st.none(), st.sampled_from(["BadNonce", "Malformed"]), st.text(max_size=12)))
def test_receipt_lines_equal_json_dumps(height, index, success, reason):
    expected = json.dumps({"height": height, "index": index, "success": success, "reason": reason})
    assert receipt_json(height, index, success, reason) == expected


def test_receipt_json_refuses_non_int_fields():
    for bad in ((1.0, 0, True), (1, "0", True), (1, 0, 1)):
        try:
            receipt_json(*bad, None)
        except TypeError as err:
            assert "receipt_json" in str(err)
        else:
            raise AssertionError(f"accepted {bad}")


def test_hex_fields_with_whitespace_are_malformed():
    good = {"type": "transfer", "from": "11" * 32, "to": "22" * 32, "amount": 5, "nonce": 0, "sig": "33" * 64}
    assert isinstance(decode_tx(good), SignedTransfer)
    spaced = "11 " * 16 + "11" * 8  # 64 characters that bytes.fromhex accepts as 24 bytes
    assert len(spaced) == 64 and len(bytes.fromhex(spaced)) == 24
    for field, value in (("from", spaced), ("to", spaced), ("sig", " " + "33" * 63 + " "), ("from", "zz" * 32)):
        out = decode_tx({**good, field: value})
        assert isinstance(out, Malformed) and field in out.detail, (field, value, out)


# -- the columnar fast path of a block of transfers against decode_tx / tx_hash, one by one ----------

_GOOD = {"type": "transfer", "from": "11" * 32, "to": "2a" * 32, "amount": 5, "nonce": 0, "sig": "3C" * 64}
_ODD_VALUES = {
    "from": ["11 " * 16 + "11" * 8, "zz" * 32, "11" * 31, "11" * 33, "é1" * 32, 7, None, b"\x11" * 32],
    "to": [" " + "22" * 31 + " ", "AB" * 32, "\n" * 64],
    "sig": ["33" * 63, "3" * 128 + " ", "33" * 64 + "\t"],
    "amount": [True, False, -1, 2**64, 2**64 - 1, 0, 1.0, "5", None],
    "nonce": [True, -5, 2**64, 2**64 - 1, 2**70, None],
    "type": ["private", "Transfer", None, ["transfer"]],
}
_tx = st.one_of(
    st.builds(lambda f, t, s, a, n: {**_GOOD, "from": f, "to": t, "sig": s, "amount": a, "nonce": n},
              st.text("0123456789abcdefABCDEF", min_size=64, max_size=64),
              st.text("0123456789abcdef", min_size=64, max_size=64),
              st.text("0123456789abcdefABCDEF", min_size=128, max_size=128),
              st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1)),
    st.sampled_from(sorted(_ODD_VALUES)).flatmap(
        lambda field: st.sampled_from(_ODD_VALUES[field]).map(lambda v: {**_GOOD, field: v})),
    st.sampled_from([{**_GOOD, "extra": 1}, {k: v for k, v in _GOOD.items() if k != "sig"}, [1], "x", 3]),
)


@settings(max_examples=400, deadline=None)
@given(raw=st.lists(_tx, max_size=6))
def test_transfer_columns_equal_decode_tx_and_hashes_equal_tx_hash(raw):
    decoded = [decode_tx(obj) for obj in raw]
    columns = transfer_columns(raw)
    exact = all(isinstance(tx, SignedTransfer) for tx in decoded) and all(
        type(obj) is dict and obj.keys() == _GOOD.keys() for obj in raw)
    assert (columns is not None) == (exact and bool(raw))
    if columns is None:
        return
    assert columns.index.tolist() == list(range(len(raw)))
    assert columns.sender.dtype == np.uint8 and columns.amount.dtype == np.uint64
    for j, tx in enumerate(decoded):
        assert columns.sender[j].tobytes() == tx.sender and columns.recipient[j].tobytes() == tx.recipient
        assert columns.sig[j].tobytes() == tx.sig
        assert int(columns.amount[j]) == tx.amount and int(columns.nonce[j]) == tx.nonce
    assert transfer_hashes(raw) == [tx_hash(obj) for obj in raw]
    assert [bytes(m) for m in columns.messages()] == [tx.message() for tx in decoded]
    assert columns.hex_keys() == ([tx.sender.hex() for tx in decoded], [tx.recipient.hex() for tx in decoded])


@settings(max_examples=100, deadline=None)
@given(raw=st.lists(_tx, max_size=6))
def test_columns_of_a_decoded_block_keep_the_signed_transfers_and_their_indices(raw):
    decoded = [decode_tx(obj) for obj in raw]
    columns = TransferColumns.of(decoded)
    signed = [i for i, tx in enumerate(decoded) if isinstance(tx, SignedTransfer)]
    assert columns.index.tolist() == signed and columns.sender.shape == (len(signed), 32)
    ok = np.arange(len(signed)) % 2 == 0
    batch = NodeTransfer.batch(columns, ok)
    for node_tx, i, good in zip(batch, signed, ok):
        reference = NodeTransfer(decoded[i], good)
        assert [getattr(node_tx, k) for k in NodeTransfer.__slots__] == [getattr(reference, k) for k in NodeTransfer.__slots__]


@settings(max_examples=200, deadline=None)
@given(accounts=st.lists(st.tuples(st.one_of(st.binary(min_size=32, max_size=32).map(bytes.hex),
                                             st.sampled_from(["shielded:pool", "AB" * 32, "zz" * 32])),
                                   st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 2**128 - 1)),
                                   st.integers(0, 2**64 - 1)), max_size=6))
def test_account_leaves_equal_account_leaf(accounts):
    names, balances, nonces = (list(column) for column in zip(*accounts)) if accounts else ([], [], [])
    assert account_leaves(names, balances, nonces) == [
        account_leaf(account_id(a), b, n) for a, b, n in zip(names, balances, nonces)]
