"""BIP-340 Schnorr verification against the published BIP-340 vectors and libsecp256k1 (coincurve), element
by element, on mixed valid / corrupted batches, batch vs single, on 1 and 8 devices.

Reference, per element: `coincurve.PublicKeyXOnly(pk).verify(sig, msg)`, any exception (a key that
does not parse) -> False. A plain-Python BIP-340 signer crafts the cases libsecp256k1 cannot sign:
an R with odd y, a key with odd y used without negation.
"""

import hashlib
import random

import coincurve
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sigtest import (
    G,
    N,
    P,
    assert_matches,
    batch,
    check_result,
    flip,
    has_point,
    point_mul,
)
from vectors import bip340

from supervm_jax.pmap import device_mesh
from supervm_jax.sigverify import schnorr_verify


def _tagged(tag: bytes, msg: bytes) -> bytes:
    th = hashlib.sha256(tag).digest()
    return hashlib.sha256(th + th + msg).digest()


def _py_sign(d: int, msg: bytes, k: int, negate_key=True, negate_nonce=True):
    """BIP-340 signing with an explicit nonce; the negate_* switches break the even-y rules on purpose."""
    Pt = point_mul(d, G)
    if negate_key and Pt[1] & 1:
        d = N - d
    R = point_mul(k, G)
    if negate_nonce and R[1] & 1:
        k = N - k
    px, rx = Pt[0].to_bytes(32, "big"), R[0].to_bytes(32, "big")
    e = int.from_bytes(_tagged(b"BIP0340/challenge", rx + px + msg), "big") % N
    return px, rx + ((k + e * d) % N).to_bytes(32, "big")


def _coincurve_ref(pk: bytes, msg: bytes, sig: bytes) -> bool:
    try:
        return bool(coincurve.PublicKeyXOnly(pk).verify(sig, msg))
    except Exception:  # noqa: BLE001 (any exception means "does not verify")
        return False


N_KEYS = 10
SECRETS = [hashlib.sha256(b"schnorr test key %d" % i).digest() for i in range(N_KEYS)]
PRIVS = [coincurve.PrivateKey(s) for s in SECRETS]
PKS = [coincurve.PublicKeyXOnly.from_secret(s).format() for s in SECRETS]
# a key whose point has odd y (before BIP-340's negation), for "key_odd_y"
ODD_KEY = next(i for i in range(N_KEYS) if point_mul(int.from_bytes(SECRETS[i], "big"), G)[1] & 1)
NO_POINT_X = next(x for x in range(7, 10**6) if not has_point(x))
SMALL_X = next(x for x in range(1, 10**6) if has_point(x))  # x + p still fits in 32 bytes


def _sign(i: int, msg: bytes, aux: bytes) -> bytes:
    return PRIVS[i].sign_schnorr(msg, aux)


def _nonce_with_parity(rng: random.Random, odd: bool) -> int:
    while True:
        k = rng.randrange(1, N)
        if point_mul(k, G)[1] & 1 == odd:
            return k


KINDS = [
    "valid", "valid", "py_valid", "flip_r", "flip_s", "flip_key", "flip_msg", "swap_key", "wrong_msg", "r_ge_p",
    "r_plus_p", "s_ge_n", "key_no_point", "key_ge_p", "r_no_point", "odd_R", "key_odd_y", "zero_sig", "zero_key",
    "s_zero",
]


def _make(kind: str, rng: random.Random):
    i = rng.randrange(N_KEYS)
    msg, aux = rng.randbytes(32), rng.randbytes(32)
    pk, sig = PKS[i], _sign(i, msg, aux)
    r = sig[:32]
    if kind == "py_valid":
        pk, sig = _py_sign(int.from_bytes(SECRETS[i], "big"), msg, rng.randrange(1, N))
    elif kind == "flip_r":
        sig = flip(sig, rng.randrange(256))
    elif kind == "flip_s":
        sig = flip(sig, 256 + rng.randrange(256))
    elif kind == "flip_key":
        pk = flip(pk, rng.randrange(256))
    elif kind == "flip_msg":
        msg = flip(msg, rng.randrange(256))
    elif kind == "swap_key":
        pk = PKS[(i + 1 + rng.randrange(N_KEYS - 1)) % N_KEYS]
    elif kind == "wrong_msg":
        sig = _sign(i, rng.randbytes(32), aux)
    elif kind == "r_ge_p":
        sig = rng.choice([P, P + 1, 2**256 - 1, P + rng.randrange(2**256 - P)]).to_bytes(32, "big") + sig[32:]
    elif kind == "r_plus_p":  # an x that has a point, sent as x + p
        sig = (SMALL_X + P).to_bytes(32, "big") + sig[32:]
    elif kind == "s_ge_n":
        sig = r + rng.choice([N, N + 1, 2**256 - 1, N + rng.randrange(2**256 - N)]).to_bytes(32, "big")
    elif kind == "key_no_point":
        pk = NO_POINT_X.to_bytes(32, "big")
    elif kind == "key_ge_p":
        pk = rng.choice([P, P + SMALL_X, 2**256 - 1]).to_bytes(32, "big")
    elif kind == "r_no_point":
        sig = NO_POINT_X.to_bytes(32, "big") + sig[32:]
    elif kind == "odd_R":  # R with odd y used as is: x(R) matches but y does not
        pk, sig = _py_sign(int.from_bytes(SECRETS[i], "big"), msg, _nonce_with_parity(rng, True), negate_nonce=False)
    elif kind == "key_odd_y":  # the secret of an odd-y point used without negation
        pk, sig = _py_sign(int.from_bytes(SECRETS[ODD_KEY], "big"), msg, rng.randrange(1, N), negate_key=False)
    elif kind == "zero_sig":
        sig = bytes(64)
    elif kind == "zero_key":
        pk = bytes(32)
    elif kind == "s_zero":
        sig = r + bytes(32)
    return pk, msg, sig


EXPECTED = {k: False for k in KINDS}
EXPECTED.update(valid=True, py_valid=True)


def _want(pks, msgs, sigs):
    return [_coincurve_ref(p, m, s) for p, m, s in zip(pks, msgs, sigs)]


METHODS = ("auto", "batch", "single")
VECTORS_32 = [v for v in bip340() if len(v["message"]) == 32]

# ---------------------------------------------------------------------------------------------------
# The references themselves (no device code)
# ---------------------------------------------------------------------------------------------------


def test_reference_checkers():
    assert [v["index"] for v in VECTORS_32] == list(range(15))
    for v in bip340():
        assert _coincurve_ref(v["public_key"], v["message"], v["signature"]) == v["result"], v["index"]
    rng = random.Random(3)
    for kind in KINDS:
        for _ in range(5):
            pk, msg, sig = _make(kind, rng)
            assert _coincurve_ref(pk, msg, sig) == EXPECTED[kind], kind
    # the plain-Python signer reproduces the published signature when given BIP-340's nonce
    v = bip340()[0]
    d = int.from_bytes(v["secret_key"], "big")
    Pt = point_mul(d, G)
    dd = d if Pt[1] % 2 == 0 else N - d
    t = (dd ^ int.from_bytes(_tagged(b"BIP0340/aux", v["aux_rand"]), "big")).to_bytes(32, "big")
    k = int.from_bytes(_tagged(b"BIP0340/nonce", t + Pt[0].to_bytes(32, "big") + v["message"]), "big") % N
    assert _py_sign(d, v["message"], k) == (v["public_key"], v["signature"])


# ---------------------------------------------------------------------------------------------------
# Published vectors
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_bip340_vectors(method):
    vs = VECTORS_32
    ok = schnorr_verify([v["public_key"] for v in vs], [v["message"] for v in vs], [v["signature"] for v in vs],
                        method=method)
    check_result(ok, len(vs))
    got = {v["index"]: bool(o) for v, o in zip(vs, ok)}
    want = {v["index"]: v["result"] for v in vs}
    assert got == want, {i: (got[i], want[i]) for i in got if got[i] != want[i]}


@pytest.mark.parametrize("method", METHODS)
def test_bip340_valid_vectors_alone(method):
    """Only the rows that verify, so the batch equation itself has to hold (no fallback)."""
    vs = [v for v in VECTORS_32 if v["result"]]
    ok = schnorr_verify([v["public_key"] for v in vs], [v["message"] for v in vs], [v["signature"] for v in vs],
                        method=method)
    assert ok.tolist() == [True] * len(vs)


def test_bip340_messages_not_32_bytes_raise():
    """Rows 15 to 18 have messages of 0, 1, 17 and 100 bytes: outside this API (32-byte messages)."""
    rows = bip340()
    for v in rows[15:]:
        pks = [rows[0]["public_key"]] * 4 + [v["public_key"]]
        msgs = [rows[0]["message"]] * 4 + [v["message"]]
        sigs = [rows[0]["signature"]] * 4 + [v["signature"]]
        with pytest.raises(ValueError, match=r"\b4\b"):
            schnorr_verify(pks, msgs, sigs)


# ---------------------------------------------------------------------------------------------------
# Mixed batches, batch vs single
# ---------------------------------------------------------------------------------------------------

BATCH = 13


@settings(max_examples=8, deadline=None)
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=BATCH, max_size=BATCH), seed=st.integers(0, 2**32 - 1))
def test_mixed_batches_match_coincurve(kinds, seed):
    pks, msgs, sigs = batch(_make, kinds, seed)
    want = _want(pks, msgs, sigs)
    assert want == [EXPECTED[k] for k in kinds]
    results = {}
    for method in METHODS:
        ok = schnorr_verify(pks, msgs, sigs, method=method)
        check_result(ok, BATCH)
        assert_matches(ok, want, pks, msgs, sigs, f"{method} kinds={kinds}")
        results[method] = ok.tolist()
    assert len({tuple(v) for v in results.values()}) == 1, results


@settings(max_examples=5, deadline=None)
@given(kinds=st.lists(st.sampled_from(["valid"] * 8 + KINDS), min_size=40, max_size=40), seed=st.integers(0, 2**32 - 1))
def test_batch_equals_single_large(kinds, seed):
    """n = 40: "auto" takes the batch path (it starts at 32 signatures)."""
    pks, msgs, sigs = batch(_make, kinds, seed)
    want = _want(pks, msgs, sigs)
    for method in METHODS:
        ok = schnorr_verify(pks, msgs, sigs, method=method)
        check_result(ok, 40)
        assert_matches(ok, want, pks, msgs, sigs, method)


@pytest.mark.parametrize("method", METHODS)
def test_one_bad_signature_among_forty(method):
    pks, msgs, sigs = batch(_make, ["valid"] * 40, seed=40)
    assert schnorr_verify(pks, msgs, sigs, method=method).tolist() == [True] * 40
    for bad_kind, bad in (("odd_R", 0), ("flip_s", 17), ("key_no_point", 39), ("r_no_point", 21), ("key_odd_y", 5)):
        p2, m2, s2 = list(pks), list(msgs), list(sigs)
        p2[bad], m2[bad], s2[bad] = _make(bad_kind, random.Random(bad))
        ok = schnorr_verify(p2, m2, s2, method=method)
        assert ok.tolist() == [j != bad for j in range(40)], (bad_kind, bad, ok)
    ok = schnorr_verify(pks, msgs, [flip(s, 300) for s in sigs], method=method)
    assert ok.tolist() == [False] * 40


# ---------------------------------------------------------------------------------------------------
# Edge cases: empty, one, arrays, errors, meshes
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_empty_batch(method):
    check_result(schnorr_verify([], [], [], method=method), 0)
    z = np.zeros
    check_result(schnorr_verify(z((0, 32), np.uint8), z((0, 32), np.uint8), z((0, 64), np.uint8), method=method), 0)


@pytest.mark.parametrize("method", METHODS)
def test_batch_of_one(method):
    pks, msgs, sigs = batch(_make, ["valid"], seed=1)
    ok = schnorr_verify(pks, msgs, sigs, method=method)
    check_result(ok, 1)
    assert ok.tolist() == [True]
    assert schnorr_verify(pks, msgs, [flip(sigs[0], 400)], method=method).tolist() == [False]
    assert schnorr_verify([NO_POINT_X.to_bytes(32, "big")], msgs, sigs, method=method).tolist() == [False]


def test_array_inputs_equal_bytes_inputs():
    kinds = ["valid", "flip_r", "valid", "s_ge_n", "odd_R", "valid", "key_no_point", "py_valid", "valid",
             "flip_key", "swap_key", "valid", "r_ge_p"]
    pks, msgs, sigs = batch(_make, kinds, seed=77)
    arr = lambda rows, k: np.frombuffer(b"".join(rows), np.uint8).reshape(-1, k)  # noqa: E731, RUF100
    want = _want(pks, msgs, sigs)
    for method in METHODS:
        got = schnorr_verify(pks, msgs, sigs, method=method)
        assert_matches(got, want, pks, msgs, sigs, method)
        assert schnorr_verify(arr(pks, 32), arr(msgs, 32), arr(sigs, 64), method=method).tolist() == want
        assert schnorr_verify(pks, arr(msgs, 32), sigs, method=method).tolist() == want


def test_one_device_mesh_equals_all_devices(n_devices):
    kinds = ["valid", "odd_R", "valid", "key_odd_y", "valid", "r_no_point", "flip_msg", "valid", "s_ge_n",
             "py_valid", "key_ge_p", "valid", "swap_key"]
    pks, msgs, sigs = batch(_make, kinds, seed=6)
    want = _want(pks, msgs, sigs)
    one, every = device_mesh(1), device_mesh()
    assert every.devices.size == n_devices
    for method in METHODS:
        a = schnorr_verify(pks, msgs, sigs, method=method, mesh=one)
        b = schnorr_verify(pks, msgs, sigs, method=method, mesh=every)
        check_result(a, BATCH)
        assert_matches(a, want, pks, msgs, sigs, f"1 device {method}")
        assert a.tolist() == b.tolist(), method


GOOD = batch(_make, ["valid"] * 5, seed=9)


@pytest.mark.parametrize("case", ["key31", "key33", "key0", "msg31", "msg33", "msg0", "sig63", "sig65", "str_key",
                                  "int_msg", "none_sig"])
def test_value_error_names_the_index(case):
    pks, msgs, sigs = (list(x) for x in GOOD)
    idx = 3
    if case.startswith("key") and case[3:].isdigit():
        pks[idx] = (pks[idx] * 2)[: int(case[3:])]
    elif case.startswith("msg") and case[3:].isdigit():
        msgs[idx] = (msgs[idx] * 2)[: int(case[3:])]
    elif case.startswith("sig") and case[3:].isdigit():
        sigs[idx] = (sigs[idx] * 2)[: int(case[3:])]
    elif case == "str_key":
        pks[idx] = pks[idx].hex()[:32]
    elif case == "int_msg":
        msgs[idx] = 3
    elif case == "none_sig":
        sigs[idx] = None
    with pytest.raises(ValueError, match=rf"\b{idx}\b"):
        schnorr_verify(pks, msgs, sigs)


@pytest.mark.parametrize("case", ["fewer_msgs", "fewer_sigs", "fewer_keys", "key_array_width", "msg_array_width",
                                  "sig_array_width", "msg_array_dtype", "keys_as_bytes"])
def test_value_error_structure(case):
    pks, msgs, sigs = (list(x) for x in GOOD)
    if case == "fewer_msgs":
        msgs = msgs[:4]
    elif case == "fewer_sigs":
        sigs = sigs[:4]
    elif case == "fewer_keys":
        pks = pks[:4]
    elif case == "key_array_width":
        pks = np.zeros((5, 33), np.uint8)
    elif case == "msg_array_width":
        msgs = np.zeros((5, 31), np.uint8)
    elif case == "sig_array_width":
        sigs = np.zeros((5, 63), np.uint8)
    elif case == "msg_array_dtype":
        msgs = np.zeros((5, 32), np.int8)
    elif case == "keys_as_bytes":
        pks = b"".join(pks)
    with pytest.raises(ValueError):
        schnorr_verify(pks, msgs, sigs)
