"""Ed25519 verification (ZIP-215 and RFC 8032 / libsodium rules) against published vectors, PyNaCl and a
plain-Python ZIP-215 check, on 1 and 8 devices, with batch and single methods.

References, per element:
* ``rule="zip215"``: `_zip215_ref` below (plain Python ints: s < l, y taken mod p, x = 0 with the sign
  bit accepted, [8](sB - R - kA) = 0). It is checked against the speccheck Zebra column and the 196
  small-order signatures before it is used.
* ``rule="rfc8032"``: PyNaCl (`nacl.signing.VerifyKey(pk).verify(msg, sig)`, any exception -> False).

Compiles are the expensive part, so batch sizes are few: 1 and 5 (one 8-device program), 12/13 (one
program), 40 (the "auto" batch path, which starts at 32 signatures) and 196 (small-order table).
"""

import hashlib
import random

import nacl.exceptions
import nacl.signing
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sigtest import assert_matches, batch, check_result, flip
from vectors import rfc8032, speccheck, zip215_small_order, zip215_small_order_sigs

from supervm_jax.pmap import device_mesh
from supervm_jax.sigverify import ed25519_verify
from supervm_jax.sigverify import ed25519 as ed25519_module

# ---------------------------------------------------------------------------------------------------
# Plain-Python Ed25519 (extended coordinates on -x^2 + y^2 = 1 + d x^2 y^2)
# ---------------------------------------------------------------------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, -1, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
IDENTITY = (0, 1, 1, 0)


def _recover_x(y: int, sign: int):
    """x with x^2 = (y^2 - 1) / (d y^2 + 1) and parity `sign`; None when there is none. x = 0 is
    returned whatever the sign bit (ZIP-215 / dalek accept the sign bit set on x = 0)."""
    x2 = (y * y - 1) * pow(D * y * y + 1, -1, P) % P
    if x2 == 0:
        return 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if x & 1 != sign:
        x = P - x
    return x


def _decode(b: bytes):
    """ZIP-215 decoding: y may be >= p (taken mod p). None when no point has this y."""
    v = int.from_bytes(b, "little")
    y, sign = (v & ((1 << 255) - 1)) % P, v >> 255
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


def _add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _neg(p):
    return ((-p[0]) % P, p[1], p[2], (-p[3]) % P)


def _mul(k: int, p):
    acc = IDENTITY
    while k:
        if k & 1:
            acc = _add(acc, p)
        p = _add(p, p)
        k >>= 1
    return acc


def _is_identity(p) -> bool:
    return p[0] % P == 0 and (p[1] - p[2]) % P == 0


def _encode(p) -> bytes:
    zi = pow(p[2], -1, P)
    x, y = p[0] * zi % P, p[1] * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_BY = 4 * pow(5, -1, P) % P
BASE = (_recover_x(_BY, 0), _BY, 1, _recover_x(_BY, 0) * _BY % P)


def _k(r_bytes: bytes, a_bytes: bytes, msg: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r_bytes + a_bytes + msg).digest(), "little") % L


def _zip215_ref(pk: bytes, msg: bytes, sig: bytes) -> bool:
    s = int.from_bytes(sig[32:], "little")
    if s >= L:
        return False
    A, R = _decode(pk), _decode(sig[:32])
    if A is None or R is None:
        return False
    q = _add(_mul(s, BASE), _neg(_add(R, _mul(_k(sig[:32], pk, msg), A))))
    return _is_identity(_mul(8, q))


def _nacl_ref(pk: bytes, msg: bytes, sig: bytes) -> bool:
    try:
        nacl.signing.VerifyKey(pk).verify(msg, sig)
        return True
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError, nacl.exceptions.CryptoError):
        return False


def _ref(rule: str, pk: bytes, msg: bytes, sig: bytes) -> bool:
    return _zip215_ref(pk, msg, sig) if rule == "zip215" else _nacl_ref(pk, msg, sig)


# The order-8 points (and the rest of the small-order table) decoded by the plain-Python decoder.
SMALL = zip215_small_order()
T8 = next(_decode(v["encoding"]) for v in SMALL if v["order"] == 8 and v["canonical"])
T4 = next(_decode(v["encoding"]) for v in SMALL if v["order"] == 4 and v["canonical"])


def _torsion_sig(rng: random.Random, msg: bytes, where: str):
    """A signature that holds only up to a small-order component (cofactored check passes, the
    cofactorless one fails unless the torsion term happens to vanish): R = rB + T or A = aB + T."""
    a, r = rng.randrange(1, L), rng.randrange(1, L)
    T = T8 if rng.random() < 0.75 else T4
    A = _mul(a, BASE)
    R = _mul(r, BASE)
    if where == "R":
        R = _add(R, T)
    else:
        A = _add(A, T)
    a_b, r_b = _encode(A), _encode(R)
    s = (r + _k(r_b, a_b, msg) * a) % L
    return a_b, r_b + s.to_bytes(32, "little")


def _no_point_key() -> bytes:
    """A canonical 32-byte encoding whose y has no x on the curve."""
    y = 2
    while _recover_x(y, 0) is not None:
        y += 1
    return y.to_bytes(32, "little")


NO_POINT_KEY = _no_point_key()

# ---------------------------------------------------------------------------------------------------
# Signers (PyNaCl) and batch builders
# ---------------------------------------------------------------------------------------------------

N_KEYS = 12
SIGNERS = [nacl.signing.SigningKey(hashlib.sha256(b"ed25519 test key %d" % i).digest()) for i in range(N_KEYS)]
PKS = [bytes(s.verify_key) for s in SIGNERS]


def _sign(i: int, msg: bytes) -> bytes:
    return SIGNERS[i].sign(msg).signature


def _valid_batch(n: int, seed: int, msg_len=None):
    rng = random.Random(seed)
    pks, msgs, sigs = [], [], []
    for _ in range(n):
        i = rng.randrange(N_KEYS)
        m = rng.randbytes(rng.randrange(0, 41) if msg_len is None else msg_len)
        pks.append(PKS[i])
        msgs.append(m)
        sigs.append(_sign(i, m))
    return pks, msgs, sigs


KINDS = [
    "valid", "valid", "flip_R", "flip_s", "flip_key", "flip_msg", "swap_key", "wrong_msg", "s_plus_l",
    "s_high_bit", "no_point_key", "no_point_R", "small_order", "torsion_R", "torsion_A", "zero_sig",
]


def _make(kind: str, rng: random.Random):
    """One (pk, msg, sig) of the given kind; messages are 0 to 40 bytes."""
    i = rng.randrange(N_KEYS)
    msg = rng.randbytes(rng.randrange(0, 41))
    pk, sig = PKS[i], _sign(i, msg)
    if kind == "flip_R":
        sig = flip(sig, rng.randrange(256))
    elif kind == "flip_s":
        sig = flip(sig, 256 + rng.randrange(256))
    elif kind == "flip_key":
        pk = flip(pk, rng.randrange(256))
    elif kind == "flip_msg":
        msg = flip(msg, rng.randrange(8 * len(msg))) if msg else b"\x00"
    elif kind == "swap_key":
        pk = PKS[(i + 1 + rng.randrange(N_KEYS - 1)) % N_KEYS]
    elif kind == "wrong_msg":
        sig = _sign(i, msg + b"!")
    elif kind == "s_plus_l":
        sig = sig[:32] + (int.from_bytes(sig[32:], "little") + L).to_bytes(32, "little")
    elif kind == "s_high_bit":
        sig = sig[:63] + bytes([sig[63] | 0x80])
    elif kind == "no_point_key":
        pk = NO_POINT_KEY
    elif kind == "no_point_R":
        sig = NO_POINT_KEY + sig[32:]
    elif kind == "small_order":
        case = rng.choice(SMALL_SIGS)
        pk, msg, sig = case["pub_key"], case["message"], case["signature"]
    elif kind in ("torsion_R", "torsion_A"):
        pk, sig = _torsion_sig(rng, msg, kind[-1])
    elif kind == "zero_sig":
        sig = bytes(64)
    return pk, msg, sig


SMALL_SIGS = zip215_small_order_sigs()
METHODS = {"zip215": ("auto", "batch", "single"), "rfc8032": ("auto", "single")}
RULE_METHODS = [(r, m) for r in ("zip215", "rfc8032") for m in METHODS[r]]

# ---------------------------------------------------------------------------------------------------
# The references themselves (no device code)
# ---------------------------------------------------------------------------------------------------


def test_reference_checkers_agree_with_published_data():
    for v in rfc8032():
        assert _zip215_ref(v["public_key"], v["message"], v["signature"]), v["name"]
        assert _nacl_ref(v["public_key"], v["message"], v["signature"]), v["name"]
        assert bytes(nacl.signing.SigningKey(v["secret_key"]).verify_key) == v["public_key"]
    for c in speccheck():
        assert _zip215_ref(c["pub_key"], c["message"], c["signature"]) == c["zip215"], c["index"]
        assert _nacl_ref(c["pub_key"], c["message"], c["signature"]) == c["libsodium"], c["index"]
    assert all(_zip215_ref(c["pub_key"], c["message"], c["signature"]) for c in SMALL_SIGS)
    assert _encode(BASE) == bytes.fromhex("58" + "66" * 31)
    assert _is_identity(_mul(L, BASE)) and _is_identity(_mul(8, T8)) and not _is_identity(_mul(4, T8))


def test_reference_checkers_on_constructed_cases():
    rng = random.Random(1)
    for kind in KINDS:
        for _ in range(4):
            pk, msg, sig = _make(kind, rng)
            z, n = _zip215_ref(pk, msg, sig), _nacl_ref(pk, msg, sig)
            if kind == "valid":
                assert z and n
            elif kind in ("torsion_R", "torsion_A", "small_order"):
                assert z
                if kind == "torsion_R":
                    assert not n  # R + T is never the encoding of sB - kA
            else:
                assert not z and not n, kind


# ---------------------------------------------------------------------------------------------------
# Published vectors
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule,method", RULE_METHODS)
def test_rfc8032_vectors(rule, method):
    vs = rfc8032()
    ok = ed25519_verify([v["public_key"] for v in vs], [v["message"] for v in vs], [v["signature"] for v in vs],
                        rule, method=method)
    check_result(ok, len(vs))
    assert ok.tolist() == [True] * len(vs)


@pytest.mark.parametrize("rule,method", RULE_METHODS)
def test_speccheck_table(rule, method):
    cs = speccheck()
    col = "zip215" if rule == "zip215" else "libsodium"
    ok = ed25519_verify([c["pub_key"] for c in cs], [c["message"] for c in cs], [c["signature"] for c in cs],
                        rule=rule, method=method)
    check_result(ok, len(cs))
    got = {c["index"]: bool(o) for c, o in zip(cs, ok)}
    want = {c["index"]: c[col] for c in cs}
    assert got == want, {i: (got[i], want[i]) for i in got if got[i] != want[i]}
    if rule == "rfc8032":  # the published libsodium row is also what the installed PyNaCl says
        assert [_nacl_ref(c["pub_key"], c["message"], c["signature"]) for c in cs] == [want[c["index"]] for c in cs]


@pytest.mark.parametrize("rule,method", RULE_METHODS)
def test_small_order_combinations(rule, method):
    pks = [c["pub_key"] for c in SMALL_SIGS]
    msgs = [c["message"] for c in SMALL_SIGS]
    sigs = [c["signature"] for c in SMALL_SIGS]
    ok = ed25519_verify(pks, msgs, sigs, rule=rule, method=method)
    check_result(ok, 196)
    if rule == "zip215":
        assert ok.all(), [j for j in range(196) if not ok[j]]
    else:
        want = [_nacl_ref(p, m, s) for p, m, s in zip(pks, msgs, sigs)]
        assert_matches(ok, want, pks, msgs, sigs, f"rfc8032/{method}")


# ---------------------------------------------------------------------------------------------------
# Mixed valid / corrupted batches, every element against the reference
# ---------------------------------------------------------------------------------------------------

BATCH = 13  # not a multiple of the 8 devices


@settings(max_examples=6, deadline=None)
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=BATCH, max_size=BATCH), seed=st.integers(0, 2**32 - 1))
def test_mixed_batches_match_references(kinds, seed):
    pks, msgs, sigs = batch(_make, kinds, seed)
    for rule in ("zip215", "rfc8032"):
        want = [_ref(rule, p, m, s) for p, m, s in zip(pks, msgs, sigs)]
        for kind, w in zip(kinds, want):
            if kind == "valid":
                assert w
            if kind in ("s_plus_l", "s_high_bit", "no_point_key", "no_point_R", "zero_sig"):
                assert not w
        results = {}
        for method in METHODS[rule]:
            ok = ed25519_verify(pks, msgs, sigs, rule=rule, method=method)
            check_result(ok, BATCH)
            assert_matches(ok, want, pks, msgs, sigs, f"{rule}/{method} kinds={kinds}")
            results[method] = ok.tolist()
        assert len({tuple(v) for v in results.values()}) == 1, results


@settings(max_examples=5, deadline=None)
@given(kinds=st.lists(st.sampled_from(["valid"] * 6 + KINDS), min_size=40, max_size=40), seed=st.integers(0, 2**32 - 1))
def test_batch_equals_single_zip215_large(kinds, seed):
    """n = 40: "auto" takes the batch path here (it starts at 32 signatures)."""
    pks, msgs, sigs = batch(_make, kinds, seed)
    want = [_zip215_ref(p, m, s) for p, m, s in zip(pks, msgs, sigs)]
    got = {m: ed25519_verify(pks, msgs, sigs, method=m) for m in ("auto", "batch", "single")}
    for m, ok in got.items():
        check_result(ok, 40)
        assert_matches(ok, want, pks, msgs, sigs, f"zip215/{m}")


@pytest.mark.parametrize("method", ["auto", "batch", "single"])
def test_one_bad_signature_among_forty(method):
    pks, msgs, sigs = _valid_batch(40, seed=40)
    assert ed25519_verify(pks, msgs, sigs, method=method).tolist() == [True] * 40
    for bad in (0, 17, 39):
        s2 = list(sigs)
        s2[bad] = flip(s2[bad], 300)
        ok = ed25519_verify(pks, msgs, s2, method=method)
        assert ok.tolist() == [j != bad for j in range(40)], (bad, ok)
    # every signature bad
    ok = ed25519_verify(pks, msgs, [flip(s, 5) for s in sigs], method=method)
    assert ok.tolist() == [False] * 40


def test_torsion_only_batches():
    """Signatures valid only up to a torsion component: zip215 accepts all (batch and single alike);
    rfc8032 equals libsodium one by one."""
    rng = random.Random(215)
    rows = [_make(rng.choice(["torsion_R", "torsion_A", "small_order"]), rng) for _ in range(BATCH)]
    pks, msgs, sigs = ([r[j] for r in rows] for j in range(3))
    for method in METHODS["zip215"]:
        assert ed25519_verify(pks, msgs, sigs, method=method).tolist() == [True] * BATCH, method
    want = [_nacl_ref(p, m, s) for p, m, s in zip(pks, msgs, sigs)]
    for method in METHODS["rfc8032"]:
        assert_matches(ed25519_verify(pks, msgs, sigs, rule="rfc8032", method=method), want, pks, msgs, sigs, method)


def test_message_lengths_across_hash_block_boundaries():
    """SHA-512 of R || A || M: 64 + len(M) + 17 crosses 128-byte blocks at len(M) = 47, 48, 175, 176."""
    lengths = [0, 1, 46, 47, 48, 63, 64, 111, 112, 175, 176, 1000, 5000]
    rng = random.Random(3)
    msgs = [rng.randbytes(n) for n in lengths]
    pks = [PKS[j % N_KEYS] for j in range(len(msgs))]
    sigs = [_sign(j % N_KEYS, m) for j, m in enumerate(msgs)]
    sigs[5] = _sign(5, msgs[5] + b"x")
    for rule, method in RULE_METHODS:
        ok = ed25519_verify(pks, msgs, sigs, rule=rule, method=method)
        assert ok.tolist() == [j != 5 for j in range(len(msgs))], (rule, method)


# ---------------------------------------------------------------------------------------------------
# Edge cases: empty, one, array inputs, errors, meshes
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule,method", RULE_METHODS)
def test_empty_batch(rule, method):
    for pks, sigs in (([], []), (np.zeros((0, 32), np.uint8), np.zeros((0, 64), np.uint8))):
        ok = ed25519_verify(pks, [], sigs, rule=rule, method=method)
        check_result(ok, 0)


@pytest.mark.parametrize("rule,method", RULE_METHODS)
def test_batch_of_one(rule, method):
    pks, msgs, sigs = _valid_batch(1, seed=1)
    ok = ed25519_verify(pks, msgs, sigs, rule=rule, method=method)
    check_result(ok, 1)
    assert ok.tolist() == [True]
    assert ed25519_verify(pks, msgs, [flip(sigs[0], 7)], rule=rule, method=method).tolist() == [False]
    assert ed25519_verify(pks, [msgs[0] + b"."], sigs, rule=rule, method=method).tolist() == [False]


def test_array_inputs_equal_bytes_inputs():
    kinds = ["valid", "flip_R", "valid", "s_plus_l", "small_order", "valid", "no_point_key", "torsion_A",
             "valid", "flip_key", "swap_key", "valid", "zero_sig"]
    pks, msgs, sigs = batch(_make, kinds, seed=77)
    pk_arr = np.frombuffer(b"".join(pks), np.uint8).reshape(-1, 32)
    sig_arr = np.frombuffer(b"".join(sigs), np.uint8).reshape(-1, 64)
    for rule, method in RULE_METHODS:
        want = ed25519_verify(pks, msgs, sigs, rule=rule, method=method)
        assert want.tolist() == [_ref(rule, p, m, s) for p, m, s in zip(pks, msgs, sigs)]
        assert ed25519_verify(pk_arr, msgs, sig_arr, rule=rule, method=method).tolist() == want.tolist()
        assert ed25519_verify(pk_arr, msgs, sigs, rule=rule, method=method).tolist() == want.tolist()
        assert ed25519_verify(pks, msgs, sig_arr, rule=rule, method=method).tolist() == want.tolist()


def test_one_device_mesh_equals_all_devices(n_devices):
    kinds = ["valid", "torsion_R", "flip_s", "valid", "small_order", "swap_key", "valid", "s_plus_l",
             "valid", "no_point_R", "torsion_A", "flip_msg", "valid"]
    pks, msgs, sigs = batch(_make, kinds, seed=5)
    one, every = device_mesh(1), device_mesh()
    assert every.devices.size == n_devices
    for rule, method in RULE_METHODS:
        want = [_ref(rule, p, m, s) for p, m, s in zip(pks, msgs, sigs)]
        a = ed25519_verify(pks, msgs, sigs, rule=rule, method=method, mesh=one)
        b = ed25519_verify(pks, msgs, sigs, rule=rule, method=method, mesh=every)
        check_result(a, BATCH)
        assert_matches(a, want, pks, msgs, sigs, f"1 device {rule}/{method}")
        assert a.tolist() == b.tolist(), (rule, method)


def _err(idx):
    return rf"\b{idx}\b"


GOOD_PKS, GOOD_MSGS, GOOD_SIGS = _valid_batch(5, seed=9)


@pytest.mark.parametrize(
    "case",
    ["short_key", "long_key", "short_sig", "long_sig", "str_key", "int_sig", "str_msg", "none_msg", "int_msg"],
)
def test_value_error_names_the_index(case):
    pks, msgs, sigs = list(GOOD_PKS), list(GOOD_MSGS), list(GOOD_SIGS)
    idx = 3
    if case == "short_key":
        pks[idx] = pks[idx][:31]
    elif case == "long_key":
        pks[idx] = pks[idx] + b"\x00"
    elif case == "short_sig":
        sigs[idx] = sigs[idx][:63]
    elif case == "long_sig":
        sigs[idx] = sigs[idx] + b"\x00"
    elif case == "str_key":
        pks[idx] = pks[idx].hex()[:32]
    elif case == "int_sig":
        sigs[idx] = 12345
    elif case == "str_msg":
        msgs[idx] = "hello"
    elif case == "none_msg":
        msgs[idx] = None
    elif case == "int_msg":
        msgs[idx] = 7
    for rule in ("zip215", "rfc8032"):
        with pytest.raises(ValueError, match=_err(idx)):
            ed25519_verify(pks, msgs, sigs, rule=rule)


@pytest.mark.parametrize("case", ["fewer_msgs", "fewer_sigs", "fewer_keys", "key_array_width", "sig_array_width",
                                  "key_array_dtype", "key_array_1d", "bytes_not_sequence"])
def test_value_error_structure(case):
    pks, msgs, sigs = list(GOOD_PKS), list(GOOD_MSGS), list(GOOD_SIGS)
    if case == "fewer_msgs":
        msgs = msgs[:4]
    elif case == "fewer_sigs":
        sigs = sigs[:4]
    elif case == "fewer_keys":
        pks = pks[:4]
    elif case == "key_array_width":
        pks = np.zeros((5, 33), np.uint8)
    elif case == "sig_array_width":
        sigs = np.zeros((5, 63), np.uint8)
    elif case == "key_array_dtype":
        pks = np.zeros((5, 32), np.int32)
    elif case == "key_array_1d":
        pks = np.zeros(5 * 32, np.uint8)
    elif case == "bytes_not_sequence":
        pks = b"".join(pks)
    with pytest.raises(ValueError):
        ed25519_verify(pks, msgs, sigs)


@pytest.mark.parametrize("n,signers", [(40, 3), (70, 70), (33, 1)])
def test_batch_equation_with_repeated_keys_holds_without_the_single_path(monkeypatch, n, signers):
    """Valid batches whose keys repeat (and sizes the buckets do not divide) pass on the batch
    equation alone: the per-signature fallback, which would hide a wrong aggregated key scalar, is
    made to fail. One flipped S bit must then fail the equation (and reach the fallback)."""
    keys = [nacl.signing.SigningKey(bytes([7, k]) * 16) for k in range(signers)]
    pks, msgs, sigs = [], [], []
    for i in range(n):
        key = keys[(i * 5) % signers]
        msg = f"repeated signer {i}".encode()
        pks.append(bytes(key.verify_key))
        msgs.append(msg)
        sigs.append(key.sign(msg).signature)

    def no_single_path(*args, **kwargs):
        raise AssertionError("the batch equation failed on a valid batch")

    monkeypatch.setattr(ed25519_module, "run_sharded", no_single_path)
    assert ed25519_verify(pks, msgs, sigs, method="batch").all()
    bad = bytearray(sigs[n // 2])
    bad[40] ^= 1  # S changes: the signature is invalid, the batch equation must fail
    with pytest.raises(AssertionError, match="batch equation failed"):
        ed25519_verify(pks, msgs, sigs[: n // 2] + [bytes(bad)] + sigs[n // 2 + 1:], method="batch")
