"""secp256k1 ECDSA verification against libsecp256k1 (coincurve) and OpenSSL (cryptography), element by
element, on mixed valid / corrupted batches, with crafted edge cases (exact low-S boundary, r + n, keys
with x >= p, hybrid keys, hashes >= n), on 1 and 8 devices.

References, per element:
* low_s=True: coincurve `PublicKey(pk).verify(der, h, hasher=None)` (libsecp256k1 rejects high S and
  r or s outside [1, n)); any exception -> False.
* low_s=False: the same call on the lower-S form of the signature (s -> n - s when s > n/2).
* For 02/03/04 keys, OpenSSL gives the low_s=False answer; "and s <= n/2" gives the low_s=True one.
"""

import hashlib
import random

import coincurve
import numpy as np
import pytest
from coincurve.ecdsa import (
    cdata_to_der,
    der_to_cdata,
    deserialize_compact,
    serialize_compact,
)
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
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
    lift_x,
    point_add,
    point_mul,
)

from supervm_jax.pmap import device_mesh
from supervm_jax.sigverify import ecdsa_verify

# ---------------------------------------------------------------------------------------------------
# secp256k1 encodings and forged inputs (the curve arithmetic is sigtest.py's)
# ---------------------------------------------------------------------------------------------------

HALF_N = N // 2


def _compressed(pt) -> bytes:
    return bytes([2 + (pt[1] & 1)]) + pt[0].to_bytes(32, "big")


def _uncompressed(pt, prefix=4) -> bytes:
    return bytes([prefix]) + pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big")


def _hybrid(pt) -> bytes:
    return _uncompressed(pt, 6 + (pt[1] & 1))


def _rs(sig: bytes):
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")


def _sig(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _sign_with_s(d: int, s: int, rng: random.Random):
    """A valid (hash, sig) under key d whose S is exactly s: pick the nonce k, then the hash
    e = s k - r d (mod n), so that s = (e + r d) / k."""
    k = rng.randrange(1, N)
    r = point_mul(k, G)[0] % N
    e = (s * k - r * d) % N
    return e.to_bytes(32, "big"), _sig(r, s)


def _forge_for_point(Q, rng: random.Random):
    """A valid (hash, sig) for any public point Q without its secret: R = u1 G + u2 Q, r = x(R),
    s = r / u2, e = u1 s."""
    while True:
        u1, u2 = rng.randrange(1, N), rng.randrange(1, N)
        R = point_add(point_mul(u1, G), point_mul(u2, Q))
        if R is None or R[0] % N == 0:
            continue
        r = R[0] % N
        s = r * pow(u2, -1, N) % N
        if s == 0:
            continue
        if s > HALF_N:  # keep it low-S: negate R (u1, u2 -> -u1, -u2) which gives s -> n - s
            s = N - s
            u1 = N - u1
        return (u1 * s % N).to_bytes(32, "big"), _sig(r, s)


def _forge_with_R(R, rng: random.Random):
    """A key Q and a valid low-S (hash, sig) whose nonce point is R, no secret needed: pick u1, u2 and
    set Q = (R - u1 G) / u2, so that u1 G + u2 Q = R; then r = x(R) mod n, s = r / u2, e = u1 s.
    (Replacing s by n - s negates u1 and u2, hence R, which keeps x(R): e stays u1 s.)"""
    while True:
        u1, u2 = rng.randrange(1, N), rng.randrange(1, N)
        Q = point_mul(pow(u2, -1, N), point_add(R, point_mul(N - u1, G)))
        r = R[0] % N
        s = r * pow(u2, -1, N) % N
        if Q is not None and r and s:
            e = u1 * s % N
            return Q, e.to_bytes(32, "big"), _sig(r, min(s, N - s))


def _x_ge_n_point():
    """A curve point whose x is in [n, p): its r = x - n is small."""
    x = N + 1
    while lift_x(x) is None:
        x += 1
    assert x < P
    return lift_x(x)


def _small_x_point():
    """A curve point with x < 2^256 - p, so that x + p still fits in 32 bytes (a non-canonical x)."""
    x = 1
    while lift_x(x) is None:
        x += 1
    assert x + P < 2**256
    return lift_x(x)


def _no_point_x(start: int) -> int:
    x = start
    while lift_x(x) is not None:
        x += 1
    return x


# ---------------------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------------------


def _coincurve_ref(pk: bytes, h: bytes, sig: bytes) -> bool:
    try:
        der = cdata_to_der(deserialize_compact(sig))
        return bool(coincurve.PublicKey(pk).verify(der, h, hasher=None))
    except Exception:  # noqa: BLE001 (any exception means "does not verify")
        return False


def _low_s_form(sig: bytes) -> bytes:
    r, s = _rs(sig)
    return _sig(r, N - s) if HALF_N < s < N else sig


def _ref(pk: bytes, h: bytes, sig: bytes, low_s: bool) -> bool:
    return _coincurve_ref(pk, h, sig if low_s else _low_s_form(sig))


def _openssl_ref(pk: bytes, h: bytes, sig: bytes) -> bool:
    """OpenSSL (no low-S rule). Only for 02/03/04 keys: cryptography does not parse hybrid keys."""
    assert pk[0] in (2, 3, 4) and len(pk) in (33, 65)
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), pk)
    except ValueError:
        return False
    try:
        key.verify(utils.encode_dss_signature(*_rs(sig)), h, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return True
    except InvalidSignature:
        return False


# ---------------------------------------------------------------------------------------------------
# Signers and batch builders
# ---------------------------------------------------------------------------------------------------

N_KEYS = 10
SECRETS = [hashlib.sha256(b"ecdsa test key %d" % i).digest() for i in range(N_KEYS)]
PRIVS = [coincurve.PrivateKey(s) for s in SECRETS]
POINTS = [point_mul(int.from_bytes(s, "big"), G) for s in SECRETS]
SMALL_X = _small_x_point()
X_GE_N = _x_ge_n_point()
NO_POINT_X = _no_point_x(12345)


def _sign(i: int, h: bytes) -> bytes:
    sig = serialize_compact(der_to_cdata(PRIVS[i].sign(h, hasher=None)))
    assert sig == PRIVS[i].sign_recoverable(h, hasher=None)[:64]
    return sig


def _encode_key(i: int, form: str) -> bytes:
    pt = POINTS[i]
    return {"c": _compressed, "u": _uncompressed, "h": _hybrid}[form](pt)


KINDS = [
    "valid_c", "valid_u", "valid_h", "high_s", "r_zero", "s_zero", "r_ge_n", "s_ge_n", "r_plus_n", "small_r",
    "x_ge_n", "flip_key",
    "flip_prefix", "flip_hash", "flip_r", "flip_s", "swap_key", "rand_key65", "rand_key33", "hybrid_wrong_parity",
    "prefix_len_mismatch", "key_x_ge_p", "small_x_key", "boundary_s", "hash_ge_n", "no_point_key",
]


def _make(kind: str, rng: random.Random):
    i = rng.randrange(N_KEYS)
    h = rng.randbytes(32)
    form = rng.choice("cu")
    pk, sig = _encode_key(i, form), _sign(i, h)
    r, s = _rs(sig)
    if kind == "valid_u":
        pk = _encode_key(i, "u")
    elif kind == "valid_h":
        pk = _encode_key(i, "h")
    elif kind == "high_s":
        sig = _sig(r, N - s)
    elif kind == "r_zero":
        sig = _sig(0, s)
    elif kind == "s_zero":
        sig = _sig(r, 0)
    elif kind == "r_ge_n":
        sig = _sig(rng.choice([N, N + 1, 2**256 - 1, N + rng.randrange(2**256 - N)]), s)
    elif kind == "s_ge_n":
        sig = _sig(r, rng.choice([N, N + 1, 2**256 - 1, N + rng.randrange(2**256 - N)]))
    elif kind == "r_plus_n":  # a valid signature with a tiny r, sent as r + n (same value mod n): never valid
        Q, h, sig = _forge_with_R(SMALL_X, rng)
        pk = _compressed(Q) if form == "c" else _uncompressed(Q)
        r, s = _rs(sig)
        sig = _sig(r + N, s)
    elif kind == "small_r":  # the same construction, sent canonically: valid
        Q, h, sig = _forge_with_R(SMALL_X, rng)
        pk = _compressed(Q) if form == "c" else _uncompressed(Q)
    elif kind == "x_ge_n":  # x(R) in [n, p): r = x(R) - n, valid (the verifier must compare mod n)
        Q, h, sig = _forge_with_R(X_GE_N, rng)
        pk = _compressed(Q) if form == "c" else _uncompressed(Q)
    elif kind == "flip_key":
        pk = flip(pk, 8 + rng.randrange(8 * (len(pk) - 1)))
    elif kind == "flip_prefix":
        pk = flip(pk, rng.randrange(8))
    elif kind == "flip_hash":
        h = flip(h, rng.randrange(256))
    elif kind == "flip_r":
        sig = flip(sig, rng.randrange(256))
    elif kind == "flip_s":
        sig = flip(sig, 256 + rng.randrange(256))
    elif kind == "swap_key":
        pk = _encode_key((i + 1 + rng.randrange(N_KEYS - 1)) % N_KEYS, form)
    elif kind == "rand_key65":
        pk = bytes([4]) + rng.randbytes(64)
    elif kind == "rand_key33":
        pk = bytes([rng.choice([2, 3])]) + rng.randbytes(32)
    elif kind == "hybrid_wrong_parity":
        pk = _hybrid(POINTS[i])
        pk = bytes([pk[0] ^ 1]) + pk[1:]
    elif kind == "prefix_len_mismatch":
        pk = bytes([4]) + pk[1:] if len(pk) == 33 else bytes([2 + (pk[64] & 1)]) + pk[1:]
    elif kind == "key_x_ge_p":  # the same point with x + p in place of x: never a valid encoding
        h, sig = _forge_for_point(SMALL_X, rng)
        pk = _compressed(SMALL_X) if form == "c" else _uncompressed(SMALL_X)
        pk = pk[:1] + (SMALL_X[0] + P).to_bytes(32, "big") + pk[33:]
    elif kind == "small_x_key":  # its canonical encoding, same forged signature: valid
        h, sig = _forge_for_point(SMALL_X, rng)
        pk = _compressed(SMALL_X) if form == "c" else _uncompressed(SMALL_X)
    elif kind == "boundary_s":  # s = (n-1)/2 (the largest low S) or (n+1)/2 (the smallest high S)
        h, sig = _sign_with_s(int.from_bytes(SECRETS[i], "big"), rng.choice([HALF_N, HALF_N + 1]), rng)
    elif kind == "hash_ge_n":  # libsecp256k1 takes the hash mod n
        h = rng.choice([b"\xff" * 32, N.to_bytes(32, "big"), (N + rng.randrange(2**256 - N)).to_bytes(32, "big")])
        sig = _sign(i, h)
    elif kind == "no_point_key":
        pk = bytes([rng.choice([2, 3])]) + NO_POINT_X.to_bytes(32, "big")
    return pk, h, sig


def _want(pks, hs, sigs, low_s: bool):
    """coincurve per element; where OpenSSL can parse the key it must say the same."""
    want = [_ref(p, h, s, low_s) for p, h, s in zip(pks, hs, sigs)]
    for p, h, s, w in zip(pks, hs, sigs, want):
        if p[0] in (2, 3, 4):
            o = _openssl_ref(p, h, s) and (not low_s or _rs(s)[1] <= HALF_N)
            assert o == w, ("OpenSSL and libsecp256k1 differ", p.hex(), h.hex(), s.hex(), low_s)
    return want


# Kinds whose answer is known in advance (low_s=True, low_s=False); None: depends on the draw.
EXPECTED = {
    "valid_c": (True, True), "valid_u": (True, True), "valid_h": (True, True), "high_s": (False, True),
    "r_zero": (False, False), "s_zero": (False, False), "r_ge_n": (False, False), "s_ge_n": (False, False),
    "r_plus_n": (False, False), "small_r": (True, True), "x_ge_n": (True, True), "flip_key": (False, False),
    "flip_hash": (False, False), "flip_r": (False, False), "flip_s": (False, False), "swap_key": (False, False),
    "rand_key65": (False, False), "hybrid_wrong_parity": (False, False), "prefix_len_mismatch": (False, False),
    "key_x_ge_p": (False, False), "small_x_key": (True, True), "hash_ge_n": (True, True),
    "no_point_key": (False, False),
}

# ---------------------------------------------------------------------------------------------------
# The references and the crafted cases themselves (no device code)
# ---------------------------------------------------------------------------------------------------


def test_reference_checkers_on_constructed_cases():
    rng = random.Random(2)
    assert point_add(point_mul(N - 1, G), G) is None
    for kind in KINDS:
        for _ in range(6):
            pk, h, sig = _make(kind, rng)
            for low_s in (True, False):
                w = _want([pk], [h], [sig], low_s)[0]
                if kind in EXPECTED:
                    assert w == EXPECTED[kind][not low_s], (kind, low_s)
                elif kind == "boundary_s":
                    assert w == (not low_s or _rs(sig)[1] == HALF_N), (kind, low_s)
                elif kind == "rand_key33":
                    assert not w
    # the x >= n nonce point really exercises r = x(R) - n
    assert X_GE_N[0] >= N and SMALL_X[0] + P < 2**256


# ---------------------------------------------------------------------------------------------------
# Mixed batches against libsecp256k1 and OpenSSL
# ---------------------------------------------------------------------------------------------------

BATCH = 13


@settings(max_examples=8, deadline=None)
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=BATCH, max_size=BATCH), seed=st.integers(0, 2**32 - 1))
def test_mixed_batches_match_references(kinds, seed):
    pks, hs, sigs = batch(_make, kinds, seed)
    for low_s in (True, False):
        want = _want(pks, hs, sigs, low_s)
        ok = ecdsa_verify(pks, hs, sigs, low_s=low_s)
        check_result(ok, BATCH)
        assert_matches(ok, want, pks, hs, sigs, f"low_s={low_s} kinds={kinds}", msg_label="hash")
    ok_default = ecdsa_verify(pks, hs, sigs)
    assert ok_default.tolist() == _want(pks, hs, sigs, True)


@pytest.mark.parametrize("kind", ["valid_h", "boundary_s", "x_ge_n", "r_plus_n", "key_x_ge_p", "hash_ge_n",
                                  "prefix_len_mismatch", "hybrid_wrong_parity"])
def test_crafted_edge_cases(kind):
    """Five of one crafted kind (n = 5) next to each other, against both references."""
    pks, hs, sigs = batch(_make, [kind] * 5, seed=kind)
    for low_s in (True, False):
        want = _want(pks, hs, sigs, low_s)
        if kind in EXPECTED:
            assert want == [EXPECTED[kind][not low_s]] * 5
        ok = ecdsa_verify(pks, hs, sigs, low_s=low_s)
        assert_matches(ok, want, pks, hs, sigs, f"{kind} low_s={low_s}", msg_label="hash")


def test_exact_low_s_boundary():
    rng = random.Random(11)
    d = int.from_bytes(SECRETS[0], "big")
    pk = _encode_key(0, "c")
    rows = [_sign_with_s(d, s, rng) for s in (HALF_N, HALF_N + 1, 1, N - 1, HALF_N - 1)]
    hs, sigs = [r[0] for r in rows], [r[1] for r in rows]
    pks = [pk] * 5
    assert ecdsa_verify(pks, hs, sigs).tolist() == [True, False, True, False, True]
    assert ecdsa_verify(pks, hs, sigs, low_s=False).tolist() == [True] * 5
    assert [_coincurve_ref(pk, h, s) for h, s in zip(hs, sigs)] == [True, False, True, False, True]


def test_all_key_encodings_of_one_key():
    """Compressed, uncompressed and hybrid encodings of the same keys verify the same signatures."""
    rng = random.Random(4)
    pks, hs, sigs = [], [], []
    for j in range(BATCH):
        i = j % N_KEYS
        h = rng.randbytes(32)
        pks.append(_encode_key(i, "cuh"[j % 3]))
        hs.append(h)
        sigs.append(_sign(i, h))
    assert ecdsa_verify(pks, hs, sigs).tolist() == [True] * BATCH
    assert [_coincurve_ref(p, h, s) for p, h, s in zip(pks, hs, sigs)] == [True] * BATCH


# ---------------------------------------------------------------------------------------------------
# Edge cases: empty, one, arrays, errors, meshes
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("low_s", [True, False])
def test_empty_batch(low_s):
    check_result(ecdsa_verify([], [], [], low_s=low_s), 0)
    for width in (33, 65):
        z = np.zeros
        check_result(ecdsa_verify(z((0, width), np.uint8), z((0, 32), np.uint8), z((0, 64), np.uint8), low_s=low_s), 0)


def test_batch_of_one():
    pks, hs, sigs = batch(_make, ["valid_c"], seed=1)
    ok = ecdsa_verify(pks, hs, sigs)
    check_result(ok, 1)
    assert ok.tolist() == [True]
    r, s = _rs(sigs[0])
    assert ecdsa_verify(pks, hs, [_sig(r, N - s)]).tolist() == [False]
    assert ecdsa_verify(pks, hs, [_sig(r, N - s)], low_s=False).tolist() == [True]
    assert ecdsa_verify(pks, [flip(hs[0], 0)], sigs).tolist() == [False]


@pytest.mark.parametrize("form", ["c", "u"])
def test_array_inputs_equal_bytes_inputs(form):
    rng = random.Random(form)
    pks, hs, sigs = [], [], []
    for j in range(BATCH):
        i = j % N_KEYS
        h = rng.randbytes(32)
        sig = _sign(i, h)
        if j % 4 == 1:
            sig = flip(sig, rng.randrange(512))
        if j % 5 == 2:
            r, s = _rs(sig)
            sig = _sig(r, N - s)
        pks.append(_encode_key(i, form))
        hs.append(h)
        sigs.append(sig)
    width = 33 if form == "c" else 65
    arr = lambda rows, k: np.frombuffer(b"".join(rows), np.uint8).reshape(-1, k)  # noqa: E731, RUF100
    for low_s in (True, False):
        want = _want(pks, hs, sigs, low_s)
        got = ecdsa_verify(pks, hs, sigs, low_s=low_s)
        assert_matches(got, want, pks, hs, sigs, f"lists low_s={low_s}", msg_label="hash")
        got_arr = ecdsa_verify(arr(pks, width), arr(hs, 32), arr(sigs, 64), low_s=low_s)
        check_result(got_arr, BATCH)
        assert got_arr.tolist() == got.tolist()
        assert ecdsa_verify(pks, arr(hs, 32), sigs, low_s=low_s).tolist() == got.tolist()


def test_one_device_mesh_equals_all_devices(n_devices):
    kinds = ["valid_c", "high_s", "valid_u", "r_plus_n", "valid_h", "x_ge_n", "flip_key", "boundary_s",
             "s_ge_n", "valid_c", "key_x_ge_p", "rand_key65", "hash_ge_n"]
    pks, hs, sigs = batch(_make, kinds, seed=8)
    one, every = device_mesh(1), device_mesh()
    assert every.devices.size == n_devices
    for low_s in (True, False):
        want = _want(pks, hs, sigs, low_s)
        a = ecdsa_verify(pks, hs, sigs, low_s=low_s, mesh=one)
        b = ecdsa_verify(pks, hs, sigs, low_s=low_s, mesh=every)
        check_result(a, BATCH)
        assert_matches(a, want, pks, hs, sigs, f"1 device low_s={low_s}", msg_label="hash")
        assert a.tolist() == b.tolist()


GOOD_PKS, GOOD_HS, GOOD_SIGS = batch(_make, ["valid_c", "valid_u", "valid_c", "valid_h", "valid_c"], seed=9)


@pytest.mark.parametrize(
    "case",
    ["key32", "key34", "key64", "key66", "key0", "hash31", "hash33", "hash0", "sig63", "sig65",
     "str_key", "int_hash", "none_sig"],
)
def test_value_error_names_the_index(case):
    pks, hs, sigs = list(GOOD_PKS), list(GOOD_HS), list(GOOD_SIGS)
    idx = 3
    if case.startswith("key") and case[3:].isdigit():
        n = int(case[3:])
        pks[idx] = (pks[idx] * 3)[:n]
    elif case.startswith("hash") and case[4:].isdigit():
        hs[idx] = (hs[idx] * 2)[: int(case[4:])]
    elif case.startswith("sig") and case[3:].isdigit():
        sigs[idx] = (sigs[idx] * 2)[: int(case[3:])]
    elif case == "str_key":
        pks[idx] = pks[idx].hex()[:33]
    elif case == "int_hash":
        hs[idx] = 5
    elif case == "none_sig":
        sigs[idx] = None
    for low_s in (True, False):
        with pytest.raises(ValueError, match=rf"\b{idx}\b"):
            ecdsa_verify(pks, hs, sigs, low_s=low_s)


@pytest.mark.parametrize("case", ["fewer_hashes", "fewer_sigs", "fewer_keys", "key_array_width", "hash_array_width",
                                  "sig_array_width", "sig_array_dtype", "hashes_as_bytes"])
def test_value_error_structure(case):
    pks, hs, sigs = list(GOOD_PKS), list(GOOD_HS), list(GOOD_SIGS)
    if case == "fewer_hashes":
        hs = hs[:4]
    elif case == "fewer_sigs":
        sigs = sigs[:4]
    elif case == "fewer_keys":
        pks = pks[:4]
    elif case == "key_array_width":
        pks = np.zeros((5, 32), np.uint8)
    elif case == "hash_array_width":
        hs = np.zeros((5, 33), np.uint8)
    elif case == "sig_array_width":
        sigs = np.zeros((5, 65), np.uint8)
    elif case == "sig_array_dtype":
        sigs = np.zeros((5, 64), np.uint16)
    elif case == "hashes_as_bytes":
        hs = b"".join(hs)
    with pytest.raises(ValueError):
        ecdsa_verify(pks, hs, sigs)
