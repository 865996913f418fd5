"""The node's hand-formatted JSON (transaction hashes, receipt lines) against the stdlib encoder,
and the decoder's strictness on keys that `bytes.fromhex` would shorten."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from supervm_jax.node.formats import Malformed, SignedTransfer, decode_tx, receipt_json
from supervm_jax.node.state import header_bytes, tx_hash

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
