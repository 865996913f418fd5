"""Curve groups against py_ecc: constants, group law (identity, P + P, P - P), scalar multiplication,
checks and encodings. Batches are padded to 8 inside the library, so each kernel compiles once per curve.

XLA compile time dominates (5-60 s per curve for the group kernels on this CPU): the full group-law
matrix runs BN254 G1 by default (G2 / Fq2 is covered by the MSM tests and the py_ecc round trip);
the other curves run the same generic code with other constants and are marked slow."""

import random

import pytest

from supervm_jax.curve import ALL_CURVES, BLS12_381_G1, BLS12_381_G2, BN254_G1, BN254_G2, SECP256K1, from_bytes, to_bytes


def _ref(curve):
    """(G, add, mul, neg, eq, Z, normalize-to-affine) of the py_ecc counterpart."""
    if curve is SECP256K1:
        from py_ecc.secp256k1 import secp256k1 as m

        def add(a, b):
            if a is None:
                return b
            if b is None:
                return a
            if a[0] == b[0] and (a[1] + b[1]) % m.P == 0:
                return None
            return m.add(a, b)

        def mul(a, k):
            return None if a is None or k % m.N == 0 else m.multiply(a, k)

        return m.G, add, mul, lambda a: None if a is None else (a[0], -a[1] % m.P), None, None, (lambda a: a)
    from py_ecc import optimized_bls12_381 as bls
    from py_ecc import optimized_bn128 as bn

    m = bn if curve in (BN254_G1, BN254_G2) else bls
    G = m.G1 if curve.coords.degree == 1 else m.G2
    Z = m.Z1 if curve.coords.degree == 1 else m.Z2

    def aff(P):
        if m.is_inf(P):
            return None
        x, y = m.normalize(P)
        if curve.coords.degree == 1:
            return (int(x.n), int(y.n))
        return (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs))

    return G, m.add, m.multiply, m.neg, m.eq, Z, aff


@pytest.mark.parametrize("curve", ALL_CURVES, ids=lambda c: c.name)
def test_constants_match_py_ecc(curve):
    G, *_, aff = _ref(curve)
    assert curve.generator == aff(G)
    host = curve.coords.host_ops()
    x, y = curve.generator
    assert host.mul(y, y) == host.add(host.mul(host.mul(x, x), x), curve.b)
    from py_ecc import optimized_bls12_381 as bls
    from py_ecc import optimized_bn128 as bn

    if curve is BN254_G2:
        assert curve.b == tuple(bn.b2.coeffs)
    if curve is BLS12_381_G2:
        assert curve.b == tuple(bls.b2.coeffs)
    if curve in (BN254_G1, BN254_G2):
        assert curve.order == bn.curve_order
    if curve in (BLS12_381_G1, BLS12_381_G2):
        assert curve.order == bls.curve_order


SLOW = pytest.mark.slow
DEFAULT_AND_SLOW = [BN254_G1] + [pytest.param(c, marks=SLOW) for c in (BN254_G2, BLS12_381_G1, BLS12_381_G2, SECP256K1)]


@pytest.mark.parametrize("curve", DEFAULT_AND_SLOW, ids=lambda c: c.name)
def test_group_law_and_scalar_mul(curve):
    G, add, mul, neg, _, _, aff = _ref(curve)
    rng = random.Random(curve.name)
    ks = [rng.randrange(1, curve.order) for _ in range(4)]
    ref = [mul(G, k) for k in ks]
    # batch: P, P, identity, P, -P, 2P-ish, ...
    P_ref = [ref[0], ref[1], None, ref[2], ref[3], ref[0], ref[2], None]
    Q_ref = [ref[1], ref[1], ref[2], None, neg(ref[3]), ref[0], neg(ref[2]), None]
    to_aff = (lambda x: x) if curve is SECP256K1 else (lambda x: None if x is None else aff(x))
    P = curve.from_affine([to_aff(x) for x in P_ref])
    Q = curve.from_affine([to_aff(x) for x in Q_ref])

    def radd(a, b):
        if curve is SECP256K1:
            return add(a, b)
        if a is None:
            return b
        if b is None:
            return a
        return add(a, b)

    want_sum = [to_aff(radd(a, b)) for a, b in zip(P_ref, Q_ref)]
    assert curve.to_affine(curve.add(P, Q)) == want_sum
    assert curve.to_affine(curve.double(P)) == [to_aff(radd(a, a)) for a in P_ref]
    assert curve.to_affine(curve.neg(P)) == [to_aff(None if a is None else neg(a)) for a in P_ref]
    assert list(curve.eq(curve.add(P, Q), curve.add(Q, P))) == [True] * 8
    assert list(curve.eq(P, Q)) == [a == b for a, b in zip([to_aff(x) for x in P_ref], [to_aff(x) for x in Q_ref])]
    assert list(curve.is_identity(curve.add(P, Q))) == [x is None for x in want_sum]
    scalars = [0, 1, 2, curve.order - 1, rng.randrange(curve.order), 5, 7, 3]
    want = [to_aff(None if a is None or k == 0 else mul(a, k)) for a, k in zip(P_ref, scalars)]
    assert curve.to_affine(curve.scalar_mul(P, scalars)) == want


@pytest.mark.parametrize(
    "curve", [BN254_G1, BLS12_381_G1] + [pytest.param(c, marks=SLOW) for c in (BN254_G2, SECP256K1, BLS12_381_G2)],
    ids=lambda c: c.name,
)
def test_off_curve_rejected_with_index(curve):
    x, y = curve.generator
    bad_y = (y + 1) % curve.coords.modulus if isinstance(y, int) else ((y[0] + 1) % curve.coords.modulus, y[1])
    with pytest.raises(ValueError, match="point 2 is not on the curve"):
        curve.from_affine([curve.generator, None, (x, bad_y)])
    with pytest.raises(ValueError, match="point 0"):
        curve.from_affine([(curve.coords.modulus, 0) if isinstance(x, int) else ((curve.coords.modulus, 0), y)])


@pytest.mark.parametrize("curve", [BLS12_381_G1, pytest.param(BN254_G2, marks=SLOW)], ids=lambda c: c.name)
def test_subgroup_check(curve):
    """A curve point outside the order-r subgroup is found by search on x and rejected with its index."""
    host = curve.coords.host_ops()
    x = host.one
    while True:
        x = host.add(x, host.one)
        y = host.sqrt(host.add(host.mul(host.mul(x, x), x), curve.b))
        if y is not None:
            break
    P = curve.from_affine([curve.generator, (x, y)])  # on the curve: accepted without the subgroup check
    assert list(curve.in_subgroup(P)) == [True, False]
    with pytest.raises(ValueError, match="point 1 is not in the prime-order subgroup"):
        curve.from_affine([curve.generator, (x, y)], subgroup_check=True)


@pytest.mark.parametrize("curve", [BLS12_381_G1, pytest.param(BLS12_381_G2, marks=SLOW)], ids=lambda c: c.name)
def test_zcash_encodings_match_py_ecc(curve):
    from py_ecc import optimized_bls12_381 as bls
    from py_ecc.bls.point_compression import compress_G1, compress_G2

    G, _, mul, _, _, Z, aff = _ref(curve)
    pts = [mul(G, k) for k in (1, 2, 12345)] + [Z]
    P = curve.from_affine([aff(p) for p in pts])
    comp = to_bytes(curve, P, compressed=True)
    if curve is BLS12_381_G1:
        want = [compress_G1(p).to_bytes(48, "big") for p in pts]
    else:
        want = [b"".join(z.to_bytes(48, "big") for z in compress_G2(p)) for p in pts]
    assert [bytes(r) for r in comp] == want
    assert curve.to_affine(from_bytes(curve, comp, compressed=True)) == curve.to_affine(P)
    raw = to_bytes(curve, P)
    assert raw[-1, 0] == 0x40 and not raw[-1, 1:].any()
    assert curve.to_affine(from_bytes(curve, raw)) == curve.to_affine(P)
    bad = comp.copy()
    bad[2, 0] &= 0x7F  # drop the compression flag
    with pytest.raises(ValueError, match="point 2"):
        from_bytes(curve, bad, compressed=True)
    del bls


def test_plain_encoding_round_trip_bn254():
    P = BN254_G1.from_affine([BN254_G1.generator, None])
    raw = to_bytes(BN254_G1, P)
    assert raw.shape == (2, 64) and bytes(raw[0]) == (1).to_bytes(32, "big") + (2).to_bytes(32, "big")
    assert not raw[1].any()
    assert BN254_G1.to_affine(from_bytes(BN254_G1, raw)) == [(1, 2), None]
    raw[0, -1] ^= 1
    with pytest.raises(ValueError, match="point 0 is not on the curve"):
        from_bytes(BN254_G1, raw)


def test_py_ecc_round_trip():
    from py_ecc import optimized_bn128 as bn

    pts = [bn.G2, bn.multiply(bn.G2, 7), bn.Z2]
    back = BN254_G2.to_py_ecc(BN254_G2.from_py_ecc(pts))
    assert all(bn.eq(a, b) for a, b in zip(back, pts))
