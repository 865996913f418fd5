"""ed25519's twisted Edwards group against libsodium (PyNaCl's `crypto_scalarmult_ed25519_*`,
`crypto_core_ed25519_*`) and plain Python ints (the RFC 8032 affine formulas): group law with the
identity, P + P, P - P and the small-order points, scalar multiples, the generator comb, the
subgroup check, and the RFC 8032 encoding with on-device decompression (canonical and non-canonical
encodings, encodings with no point). All batches stay within one padded bucket (one compile each)."""

import secrets

import nacl.bindings as sodium
import numpy as np
import pytest

from supervm_jax.curve import ED25519 as E

P = 2**255 - 19
D = -121665 * pow(121666, -1, P) % P
L = E.order


def add(p, q):  # RFC 8032 affine addition (complete for ed25519)
    (x1, y1), (x2, y2) = p, q
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, -1, P) % P, (y1 * y2 + x1 * x2) * pow(1 - t, -1, P) % P)


def mul(k, p):
    acc = (0, 1)
    while k:
        if k & 1:
            acc = add(acc, p)
        p, k = add(p, p), k >> 1
    return acc


def encode(p) -> bytes:
    return (p[1] | (p[0] & 1) << 255).to_bytes(32, "little")


# the 8 points of order dividing 8: multiples of a point of order 8 (x of the order-8 point from
# x^2 = (y^2 - 1) / (d y^2 + 1), y = the blocklisted y8)
_Y8 = 0x05FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826
_X8 = pow((_Y8 * _Y8 - 1) * pow(D * _Y8 * _Y8 + 1, -1, P) % P, (P + 3) // 8, P)
if (_X8 * _X8 - (_Y8 * _Y8 - 1) * pow(D * _Y8 * _Y8 + 1, -1, P)) % P:
    _X8 = _X8 * pow(2, (P - 1) // 4, P) % P
TORSION = [mul(k, (_X8, _Y8)) for k in range(8)]


def _random_points(n):
    return [mul(secrets.randbelow(L), E.generator) for _ in range(n)]


def test_constants_match_libsodium():
    assert encode(E.generator) == sodium.crypto_scalarmult_ed25519_base_noclamp((1).to_bytes(32, "little"))
    assert mul(L, E.generator) == (0, 1)
    assert len(set(TORSION)) == 8 and mul(8, TORSION[1]) == (0, 1)


def test_group_law_against_python_ints():
    pts = _random_points(6) + [(0, 1), TORSION[1], TORSION[4]]
    qs = _random_points(6) + [TORSION[2], TORSION[7], TORSION[4]]
    a, b = E.from_affine(pts), E.from_affine(qs)
    assert E.to_affine(E.add(a, b)) == [add(p, q) for p, q in zip(pts, qs)]
    assert E.to_affine(E.add(a, a)) == [add(p, p) for p in pts]            # P + P by the unified formula
    assert E.to_affine(E.double(a)) == [add(p, p) for p in pts]
    assert E.to_affine(E.add(a, E.neg(a))) == [(0, 1)] * len(pts)          # P - P
    assert E.is_identity(E.add(a, E.neg(a))).all()
    assert E.eq(a, a).all() and E.eq(a, b).tolist() == [p == q for p, q in zip(pts, qs)]


def test_scalar_multiples_match_libsodium():
    ks = [0, 1, 2, L - 1, secrets.randbelow(L), secrets.randbelow(L)]
    got = E.encode(E.generator_mul(ks))
    for k, enc in zip(ks, got):
        want = bytes(32) if k == 0 else sodium.crypto_scalarmult_ed25519_base_noclamp(k.to_bytes(32, "little"))
        assert enc.tobytes() == (encode((0, 1)) if k == 0 else want)
    base = _random_points(3)
    ks = [secrets.randbelow(L) for _ in base]
    got = E.encode(E.scalar_mul(E.from_affine(base), ks))
    for k, p, enc in zip(ks, base, got):
        assert enc.tobytes() == sodium.crypto_scalarmult_ed25519_noclamp(k.to_bytes(32, "little"), encode(p))


def test_subgroup_and_curve_checks():
    good = _random_points(3)
    pts = good + TORSION[1:4] + [add(good[0], TORSION[1])]
    assert E.in_subgroup(E.from_affine(pts)).tolist() == [True] * 3 + [False] * 4
    assert E.is_on_curve(E.from_affine(pts)).all()
    with pytest.raises(ValueError, match="point 1 is not on the curve"):
        E.from_affine([good[0], (1, 1)])
    for p in pts:  # libsodium agrees on which encodings are prime-order points
        assert bool(sodium.crypto_core_ed25519_is_valid_point(encode(p))) == (p in good)


def test_decode_canonical_noncanonical_and_invalid():
    pts = _random_points(4) + TORSION
    encs = [encode(p) for p in pts]
    no_point_y = next(y for y in range(2, 100) if pow((y * y - 1) * pow(D * y * y + 1, -1, P), (P - 1) // 2, P) == P - 1)
    encs += [
        (P + 1).to_bytes(32, "little"),                  # y = p + 1: the identity, non-canonical
        (1 | 1 << 255).to_bytes(32, "little"),           # x = 0 with the sign bit: "-0", non-canonical
        ((P - 1) | 1 << 255).to_bytes(32, "little"),     # the order-2 point with the sign bit
        no_point_y.to_bytes(32, "little"),               # (y^2 - 1)/(d y^2 + 1) not a square
    ]
    points, decodes, canonical = E.decode(np.frombuffer(b"".join(encs), np.uint8).reshape(-1, 32))
    n = len(pts)
    assert decodes.tolist() == [True] * (n + 3) + [False]
    assert canonical.tolist() == [True] * n + [False, False, False, False]
    assert E.to_affine(points[..., : n + 3]) == pts + [(0, 1), (0, 1), (0, P - 1)]
    assert (E.encode(points[..., :n]) == np.frombuffer(b"".join(encs[:n]), np.uint8).reshape(-1, 32)).all()


def test_decode_agrees_with_libsodium_validity():
    """Random 32-byte strings: ours decodes (canonically) exactly when libsodium's decoder does."""
    raw = [secrets.token_bytes(32) for _ in range(40)]
    _, decodes, canonical = E.decode(np.frombuffer(b"".join(raw), np.uint8).reshape(-1, 32))
    for r, ok, can in zip(raw, decodes, canonical):
        y = int.from_bytes(r, "little") & ((1 << 255) - 1)
        x2 = (y * y - 1) * pow(D * y * y + 1, -1, P) % P
        assert ok == (pow(x2, (P - 1) // 2, P) in (0, 1))
        if ok and can:  # a canonical point: libsodium's scalar multiplication by l reproduces membership
            assert encode(E.to_affine(E.decode(np.frombuffer(r, np.uint8)[None])[0])[0]) == r
