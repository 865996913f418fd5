"""Published signature test vectors (data only), read from the files next to this module.

Sources and provenance are in README.md in this folder. Each loader returns a fresh list of dicts
whose byte-string fields are ``bytes``:

* ``rfc8032()``: RFC 8032 section 7.1 Ed25519 vectors (5).
* ``speccheck()``: ed25519-speccheck ``cases.json`` edge cases (12) with the published
  ZIP-215 (Zebra) and libsodium accept/reject results.
* ``zip215_small_order()``: the 14 small-order point encodings (8 canonical + 6 non-canonical)
  used by ed25519-zebra's ZIP-215 small-order test.
* ``zip215_small_order_sigs()``: the 196 (A, R) signatures built from them the way
  ed25519-zebra ``tests/small_order.rs`` does (all valid under ZIP-215).
* ``bip340()``: BIP-340 ``test-vectors.csv`` rows (19).

No test in this repo imports a package named ``tests``: test folders have no ``__init__.py``, so a
test file in ``tests/sigverify/`` can do ``from vectors import rfc8032`` (pytest's default
``prepend`` import mode puts that folder on ``sys.path``).
"""

import csv
import json
from pathlib import Path

_HERE = Path(__file__).parent


def _load_json(name: str):
    return json.loads((_HERE / name).read_text())


def _hex_or_none(s: str):
    return bytes.fromhex(s) if s else None


def rfc8032() -> list[dict]:
    """RFC 8032 section 7.1 Ed25519 vectors: name (str); secret_key, public_key, message, signature (bytes)."""
    return [
        {
            "name": v["name"],
            "secret_key": bytes.fromhex(v["secret_key"]),
            "public_key": bytes.fromhex(v["public_key"]),
            "message": bytes.fromhex(v["message"]),
            "signature": bytes.fromhex(v["signature"]),
        }
        for v in _load_json("rfc8032_ed25519.json")
    ]


def speccheck() -> list[dict]:
    """ed25519-speccheck cases: index (int); message, pub_key, signature (bytes);
    zip215, libsodium (bool, or None where the published table has no entry); comment (str)."""
    return [
        {
            "index": int(v["index"]),
            "message": bytes.fromhex(v["message"]),
            "pub_key": bytes.fromhex(v["pub_key"]),
            "signature": bytes.fromhex(v["signature"]),
            "zip215": v["zip215"],
            "libsodium": v["libsodium"],
            "comment": v["comment"],
        }
        for v in _load_json("speccheck_cases.json")
    ]


def zip215_small_order() -> list[dict]:
    """Small-order point encodings: encoding (bytes); canonical (bool); order (int, 1/2/4/8);
    canonical_encoding (bytes, the canonical encoding of the same point); source (str)."""
    return [
        {
            "encoding": bytes.fromhex(v["encoding"]),
            "canonical": bool(v["canonical"]),
            "order": int(v["order"]),
            "canonical_encoding": bytes.fromhex(v["canonical_encoding"]),
            "source": v["source"],
        }
        for v in _load_json("zip215_small_order.json")
    ]


def zip215_small_order_sigs() -> list[dict]:
    """The 14 x 14 = 196 cases of ed25519-zebra tests/small_order.rs: for every A and R in
    zip215_small_order(), pub_key = A, signature = R || 32 zero bytes (s = 0), message = b"Zcash".
    All are valid under ZIP-215 (zip215 = True); A-major order as in that file."""
    encs = [v["encoding"] for v in zip215_small_order()]
    return [
        {"pub_key": a, "signature": r + bytes(32), "message": b"Zcash", "zip215": True}
        for a in encs
        for r in encs
    ]


def bip340() -> list[dict]:
    """BIP-340 test-vectors.csv: index (int); secret_key, aux_rand (bytes or None when blank);
    public_key, message, signature (bytes; message may be empty); result (bool); comment (str)."""
    with open(_HERE / "bip340_test_vectors.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [
        {
            "index": int(r["index"]),
            "secret_key": _hex_or_none(r["secret key"]),
            "public_key": bytes.fromhex(r["public key"]),
            "aux_rand": _hex_or_none(r["aux_rand"]),
            "message": bytes.fromhex(r["message"]),
            "signature": bytes.fromhex(r["signature"]),
            "result": r["verification result"] == "TRUE",
            "comment": r["comment"],
        }
        for r in rows
    ]
