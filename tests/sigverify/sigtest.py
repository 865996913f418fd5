"""Test-only reference helpers shared by the signature-verification tests (test_ecdsa.py, test_schnorr.py,
test_ed25519.py). Not part of supervm_jax, and nothing here imports it.

* Plain-Python secp256k1 in affine coordinates (None is the point at infinity), written from the curve
  equation y^2 = x^3 + 7 and not against the implementation under test. The tests use it only to craft
  inputs (forged signatures, points with chosen x, nonces of chosen parity).
* Batch builders and result checks: build a batch from a per-row maker, flip one bit, check that a
  result is a boolean vector of the right length, compare a result with a reference element by element.
"""

import random

import numpy as np

# ---------------------------------------------------------------------------------------------------
# secp256k1 (affine; None is the point at infinity)
# ---------------------------------------------------------------------------------------------------

P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (
    0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
    0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8,
)


def point_add(p, q):
    """p + q on secp256k1 (affine; None is the point at infinity)."""
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % P == 0:
        return None
    if p == q:
        lam = 3 * p[0] * p[0] * pow(2 * p[1], -1, P) % P
    else:
        lam = (q[1] - p[1]) * pow(q[0] - p[0], -1, P) % P
    x = (lam * lam - p[0] - q[0]) % P
    return (x, (lam * (p[0] - x) - p[1]) % P)


def point_mul(k, p):
    """k p by double-and-add (k >= 0)."""
    acc = None
    while k:
        if k & 1:
            acc = point_add(acc, p)
        p = point_add(p, p)
        k >>= 1
    return acc


def lift_x(x, odd=False):
    """The point with this x (x < p) and y parity `odd`; None if x^3 + 7 is not a square."""
    y2 = (pow(x, 3, P) + 7) % P
    y = pow(y2, (P + 1) // 4, P)
    if y * y % P != y2:
        return None
    return (x, y if (y & 1) == odd else P - y)


def has_point(x: int) -> bool:
    """Whether some curve point has this x (x < p)."""
    return lift_x(x) is not None


# ---------------------------------------------------------------------------------------------------
# Batches and result checks
# ---------------------------------------------------------------------------------------------------


def batch(make, kinds, seed):
    """Three parallel lists (keys, messages, signatures), row j = make(kinds[j], rng), one rng seeded by seed."""
    rng = random.Random(seed)
    rows = [make(k, rng) for k in kinds]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def flip(b: bytes, bit: int) -> bytes:
    """b with one bit flipped (bit 0 is the low bit of byte 0)."""
    out = bytearray(b)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def check_result(ok, n: int):
    """ok is what a verifier returns for n signatures: a numpy bool array of shape (n,)."""
    assert isinstance(ok, np.ndarray), type(ok)
    assert ok.dtype == np.bool_, ok.dtype
    assert ok.shape == (n,), ok.shape


def assert_matches(ok, want, pks, msgs, sigs, label="", msg_label="msg"):
    """ok[j] == want[j] for every j; the failure message lists every differing row (msg_label names the
    message column, e.g. "hash" for ECDSA)."""
    bad = [
        f"{label} index {j}: got {bool(ok[j])} want {want[j]} "
        f"(pk={pks[j].hex()} {msg_label}={msgs[j].hex()} sig={sigs[j].hex()})"
        for j in range(len(want))
        if bool(ok[j]) != want[j]
    ]
    assert not bad, "\n".join(bad)
