"""MSM against py_ecc on small random instances and edge cases, 1 vs all devices, large n against the
exact answer, on every group the library serves (BN254 G1/G2, BLS12-381 G1/G2, secp256k1, ed25519):
`msm`, `msm_batch` and `FixedBaseMSM` on each.

Every MSM test runs on both bucket paths (the `path` fixture): the C++ bucket kernel
(`supervm_jax.native`, the CPU default) and the JAX Pippenger kernel it replaces (the GPU path).
Answers come from the reference libraries: the points are k_i G with known k_i, so the exact MSM is
(sum s_i k_i mod r) G, one reference scalar multiplication.

Sizes are chosen so few device programs are compiled (each program is compiled once per path): on
the 8-device mesh every n <= 64 shares one program (8 points per device); the single-device
comparisons use n in (32, 64]; the large-n case (BN254 G1 only) uses one n."""

import random

import jax.numpy as jnp
import nacl.bindings as sodium
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from py_ecc import optimized_bls12_381 as bls
from py_ecc import optimized_bn128 as bn
from py_ecc.secp256k1 import secp256k1 as secp

from supervm_jax import native
from supervm_jax.curve import BLS12_381_G1, BLS12_381_G2, BN254_G1, BN254_G2, ED25519, SECP256K1
from supervm_jax.msm import FixedBaseMSM, msm, msm_batch, signed_digits
from supervm_jax.msm.api import n_windows
from supervm_jax.msm.digits import signed_digits_device
from supervm_jax.pmap import sharding

R = BN254_G1.order


@pytest.fixture(params=[True, False], ids=["native", "jax"])
def path(request, monkeypatch):
    """Run the test on the native C++ bucket kernel, then on the JAX Pippenger kernel (GPU path).
    `native.available` reads the flag at call time and compiled programs are cached per flag."""
    if request.param and not native.available(BN254_G1):
        pytest.skip("native bucket kernel unavailable here (no compiler or not a CPU backend)")
    monkeypatch.setattr(native, "ENABLED", request.param)
    return request.param


def _module(curve):
    return bn if curve in (BN254_G1, BN254_G2) else bls


def _aff(curve, P):
    m = _module(curve)
    if m.is_inf(P):
        return None
    x, y = m.normalize(P)
    if curve.coords.degree == 1:
        return (int(x.n), int(y.n))
    return (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs))


def _ref_msm(curve, pts, ks):
    """Plain py_ecc: sum of k_i P_i (py_ecc points; None entries are the identity)."""
    m = _module(curve)
    Z = m.Z1 if curve.coords.degree == 1 else m.Z2
    acc = Z
    for p, k in zip(pts, ks):
        if p is not None and k:
            acc = m.add(acc, m.multiply(p, k))
    return _aff(curve, acc)


def _gen(curve):
    m = _module(curve)
    return m.G1 if curve.coords.degree == 1 else m.G2


def _points_logs(curve, n, seed):
    """n py_ecc points k_i G with their discrete logs k_i."""
    m = _module(curve)
    rng = random.Random(seed)
    logs = [rng.randrange(1, curve.order) for _ in range(n)]
    return [m.multiply(_gen(curve), k) for k in logs], logs


_POOL = {}


def _pool_logs(curve):
    """64 points k_i G (py_ecc) and their discrete logs k_i, built once per curve."""
    if curve.name not in _POOL:
        _POOL[curve.name] = _points_logs(curve, 64, curve.name)
    return _POOL[curve.name]


def _pool(curve, n=64):
    return _pool_logs(curve)[0][:n]


def _encode_ed25519(pt) -> bytes:
    """RFC 8032 encoding of an affine ed25519 point (libsodium's output format)."""
    x, y = pt
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _ed25519_decode(enc: bytes) -> tuple[int, int]:
    """The affine (x, y) of a valid RFC 8032 encoding: x = sqrt((y^2 - 1) / (d y^2 + 1)) with the sign
    bit's parity."""
    p = ED25519.coords.modulus
    d = -121665 * pow(121666, -1, p) % p
    v = int.from_bytes(enc, "little")
    y = v & ((1 << 255) - 1)
    u = (y * y - 1) * pow(d * y * y + 1, -1, p) % p
    x = pow(u, (p + 3) // 8, p)
    if (x * x - u) % p:
        x = x * pow(2, (p - 1) // 4, p) % p
    return (p - x if x & 1 != v >> 255 else x, y)


def _bases(curve, n, seed):
    """n affine points k_i G and their discrete logs k_i from the reference library: py_ecc, or
    libsodium for ed25519."""
    if curve in (SECP256K1, ED25519):
        rng = random.Random(seed)
        logs = [rng.randrange(1, curve.order) for _ in range(n)]
        if curve is SECP256K1:
            return [secp.multiply(secp.G, k) for k in logs], logs
        return [_ed25519_decode(sodium.crypto_scalarmult_ed25519_base_noclamp(k.to_bytes(32, "little"))) for k in logs], logs
    pts, logs = _points_logs(curve, n, seed)
    return [_aff(curve, p) for p in pts], logs


def _times_g(curve, e):
    """e G (e in [0, r)) from the reference library, in the form `msm` returns for `curve`: an affine
    tuple or None (py_ecc: BN254, BLS12-381, secp256k1), the RFC 8032 encoding (libsodium: ed25519)."""
    if curve is ED25519:
        return sodium.crypto_scalarmult_ed25519_base_noclamp(e.to_bytes(32, "little")) if e else _encode_ed25519((0, 1))
    if curve is SECP256K1:
        return secp.multiply(secp.G, e) if e else None
    return _aff(curve, _module(curve).multiply(_gen(curve), e)) if e else None


def _msm_value(curve, got):
    """An `msm` result in the form `_times_g` gives (ed25519: encoded; its identity is (0, 1))."""
    return _encode_ed25519(got) if curve is ED25519 else got


def _exact(curve, logs, ks):
    """The exact MSM of the points k_i G: (sum s_i k_i mod r) G, one reference scalar multiplication."""
    return _times_g(curve, sum(s * k for s, k in zip(ks, logs)) % curve.order)


@given(n=st.integers(1, 64), seed=st.integers(0, 2**32))
@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])  # `path` is per test
def test_random_small_all_devices(n, seed, path):
    rng = random.Random(seed)
    pool = _pool(BN254_G1)
    pts = [rng.choice(pool) for _ in range(n)]
    ks = [rng.choice([0, 1, R - 1, rng.randrange(R), rng.randrange(2**20)]) for _ in range(n)]
    got = msm([_aff(BN254_G1, p) for p in pts], ks, curve=BN254_G1)
    assert got == _ref_msm(BN254_G1, pts, ks)


def test_one_device_equals_all_devices(mesh, path):
    rng = random.Random(7)
    pool = _pool(BN254_G1)
    n = 45
    pts = [pool[i % 64] for i in range(n)]
    ks = [rng.randrange(R) for _ in range(n)]
    aff = [_aff(BN254_G1, p) for p in pts]
    want = _ref_msm(BN254_G1, pts, ks)
    assert msm(aff, ks, curve=BN254_G1, mesh=mesh) == want


@pytest.mark.parametrize("case", ["zeros", "r_minus_1", "all_equal", "with_infinity", "cancel", "n1", "n13"])
def test_edge_cases(case, path):
    pool = _pool(BN254_G1)
    rng = random.Random(case)
    n = {"n1": 1, "n13": 13}.get(case, 24)
    pts = list(pool[:n])
    ks = [rng.randrange(R) for _ in range(n)]
    if case == "zeros":
        ks = [0] * n
    elif case == "r_minus_1":
        ks = [R - 1] * n
    elif case == "all_equal":
        pts = [pool[0]] * n
    elif case == "with_infinity":
        pts[3] = pts[10] = None
    elif case == "cancel":  # k P + k (-P) = infinity
        pts = [pool[0], bn.neg(pool[0])] * (n // 2)
        ks = [ks[0]] * n
    aff = [None if p is None else _aff(BN254_G1, p) for p in pts]
    want = _ref_msm(BN254_G1, pts, ks)
    got = msm(aff, ks, curve=BN254_G1)
    assert got == want
    if case in ("zeros", "cancel"):
        assert got is None


def test_n0_and_validation(path):
    assert msm([], [], curve=BN254_G1) is None
    g = BN254_G1.generator
    with pytest.raises(ValueError, match="scalar 1 = .* not in \\[0, r\\)"):
        msm([g, g], [1, R], curve=BN254_G1)
    with pytest.raises(ValueError, match="scalar 0"):
        msm([g], [-1], curve=BN254_G1)
    with pytest.raises(ValueError, match="point 1 is not on the curve"):
        msm([g, (1, 3)], [1, 2], curve=BN254_G1)
    with pytest.raises(ValueError, match="2 points but 1 scalars"):
        msm([g, g], [1], curve=BN254_G1)


def test_signed_digits_recompose():
    rng = random.Random(3)
    ks = [0, 1, R - 1, 2**253] + [rng.randrange(R) for _ in range(60)]
    for c in (2, 3, 7, 13, 16):
        W = -(-(R.bit_length() + 1) // c)
        d = signed_digits(ks, c, W)
        assert abs(d).max() <= 2 ** (c - 1)
        assert [sum(int(d[w, i]) << (c * w) for w in range(W)) for i in range(len(ks))] == ks


def _limbs(instances: list[list[int]]) -> jnp.ndarray:
    """B lists of n ints < 2^256 -> (8, B, n) uint32 little-endian limbs on the device."""
    raw = np.array([[[(k >> (32 * i)) & 0xFFFFFFFF for k in ks] for ks in instances] for i in range(8)], np.uint32)
    return jnp.asarray(raw.reshape(8, len(instances), -1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 16), st.lists(st.integers(0, 2**256 - 1), min_size=9, max_size=9),
       st.sampled_from([[0, 1, R - 1, R, R + 1, 2**254, 2**256 - 1], [0x5555_5555 << 96, 2**31, 2**32 - 1, 2, 3, R - 2, R + 2]]))
def test_device_digits_equal_host_digits(c, ks, edges):
    """On the device: the same digits as the host recoding for every scalar < r, and every scalar >= r
    flagged (its digits unused). One batch size (16), so one program per digit width c."""
    ks = ks + edges
    W = n_windows(c, R.bit_length())
    digits, out_of_range = signed_digits_device(_limbs([ks])[:, 0], c, W, R)
    digits, out_of_range = np.asarray(digits), np.asarray(out_of_range)
    assert digits.shape == (W, len(ks)) and digits.dtype == np.int32
    assert out_of_range.tolist() == [k >= R for k in ks]
    good = [i for i, k in enumerate(ks) if k < R]
    np.testing.assert_array_equal(digits[:, good], signed_digits([ks[i] for i in good], c, W))
    assert [sum(int(digits[w, i]) << (c * w) for w in range(W)) for i in good] == [ks[i] for i in good]
    assert np.abs(digits[:, good]).max(initial=0) <= 2 ** (c - 1)


def test_device_digits_reject_layouts_that_cannot_hold_the_scalars():
    with pytest.raises(ValueError, match="cannot hold"):
        signed_digits_device(_limbs([[1]])[:, 0], 4, 63, R)  # 252 bits for 254-bit scalars
    with pytest.raises(ValueError, match="outside"):
        signed_digits_device(_limbs([[1]])[:, 0], 31, 9, R)


def test_fixed_base_msm_of_device_limbs(path):
    """FixedBaseMSM.batch_limbs (the prover's H: scalars recoded where the NTT left them) equals the
    reference, with an identity among the bases (skipped on the device too), per instance. One batch
    size (one program per path); the prover's single proofs run B = 1 (tests/groth16)."""
    rng = random.Random(17)
    pts = _pool(BN254_G1)[:29] + [bn.Z1]
    fb = FixedBaseMSM(BN254_G1, [_aff(BN254_G1, p) for p in pts])
    batch = [[rng.randrange(R) for _ in range(30)], [0] * 30, [R - 1] * 30]
    assert fb.batch_limbs(_limbs(batch)) == [_ref_msm(BN254_G1, pts, ks) for ks in batch]
    with pytest.raises(ValueError, match="instance 1 scalar 29 is not in"):  # the same program: B = 3
        fb.batch_limbs(_limbs([[0] * 30, [0] * 29 + [R], [1] * 30]))
    with pytest.raises(ValueError, match=r"expected \(L, B, 30\) uint32"):
        fb.batch_limbs(_limbs([[0] * 29]))


def _bn_add(a, b):
    to_bn = lambda q: bn.Z1 if q is None else (bn.FQ(q[0]), bn.FQ(q[1]), bn.FQ.one())  # noqa: E731
    return _aff(BN254_G1, bn.add(to_bn(a), to_bn(b)))


def test_concatenation_equals_sum_of_parts_small(path):
    rng = random.Random(12)
    pool = _pool(BN254_G1)
    aff = [_aff(BN254_G1, pool[i % 64]) for i in range(60)]
    ks = [rng.randrange(R) for _ in range(60)]
    assert msm(aff, ks, curve=BN254_G1) == _bn_add(msm(aff[:33], ks[:33], curve=BN254_G1), msm(aff[33:], ks[33:], curve=BN254_G1))


def _large_bases(n):
    """n bases P_i = k_(i mod 64) G built by py_ecc (`_pool_logs`), as a device array, with the logs."""
    import jax.numpy as jnp

    pts, logs = _pool_logs(BN254_G1)
    base = BN254_G1.from_affine([_aff(BN254_G1, p) for p in pts])
    reps = -(-n // 64)
    return jnp.tile(base, (1, 1, reps))[..., :n], (logs * reps)[:n]


def test_large_n_exact(path):
    """n = 4097 (one program): MSM(P, s) = (sum s_i k_i mod r) G exactly, for the whole scalar vector
    and for its two halves (zeros elsewhere), and the halves add up to the whole."""
    rng = random.Random(10)
    n, cut = 4097, 2500
    P, logs = _large_bases(n)
    ks = [rng.randrange(R) for _ in range(n)]
    ks_a, ks_b = ks[:cut] + [0] * (n - cut), [0] * cut + ks[cut:]
    whole = msm(P, ks, curve=BN254_G1)
    assert whole == _exact(BN254_G1, logs, ks)
    a = msm(P, ks_a, curve=BN254_G1)
    b = msm(P, ks_b, curve=BN254_G1)
    assert a == _exact(BN254_G1, logs, ks_a)
    assert b == _exact(BN254_G1, logs, ks_b)
    assert whole == _bn_add(a, b)


@pytest.mark.slow
def test_concatenation_equals_sum_of_parts(path):
    """Large n: MSM(A ++ B) = MSM(A) + MSM(B), each the exact answer (three programs)."""
    rng = random.Random(11)
    n_a, n_b = 2500, 1597
    P, logs = _large_bases(n_a + n_b)
    ks = [rng.randrange(R) for _ in range(n_a + n_b)]
    whole = msm(P, ks, curve=BN254_G1)
    a = msm(P[..., :n_a], ks[:n_a], curve=BN254_G1)
    b = msm(P[..., n_a:], ks[n_a:], curve=BN254_G1)
    assert whole == _exact(BN254_G1, logs, ks)
    assert a == _exact(BN254_G1, logs[:n_a], ks[:n_a])
    assert b == _exact(BN254_G1, logs[n_a:], ks[n_a:])
    assert whole == _bn_add(a, b)


@pytest.mark.parametrize("curve", [BN254_G2, BLS12_381_G1, BLS12_381_G2, SECP256K1, ED25519], ids=lambda c: c.name)
def test_every_group_exact(curve, path):
    """msm, FixedBaseMSM (bases only) and msm_batch on every group but BN254 G1 (the tests above):
    n = 11 points k_i G of known logs, one at infinity, scalars r - 1 and 0; each result is
    (sum s_i k_i mod r) G from py_ecc (libsodium for ed25519). One window width, so two programs per
    group and path: one instance of n <= 64 on the 8-device mesh (msm and FixedBaseMSM share it) and
    msm_batch's two (FixedBaseMSM.batch, the instances sharing the bases, runs on BN254 G1 above)."""
    rng = random.Random(curve.name)
    n, r, c = 11, curve.order, 5
    pts, logs = _bases(curve, n - 1, curve.name)
    pts.insert(5, None)
    logs.insert(5, 0)
    ks = [rng.randrange(r) for _ in range(n)]
    ks[2], ks[7] = r - 1, 0
    assert _msm_value(curve, msm(pts, ks, curve=curve, window=c)) == _exact(curve, logs, ks)
    fb = FixedBaseMSM(curve, pts, precompute=False, window=c)
    ks2 = [rng.randrange(r) for _ in range(n)]
    assert _msm_value(curve, fb(ks2)) == _exact(curve, logs, ks2)
    got = msm_batch([pts, pts[::-1]], [ks2, ks], curve=curve, window=c)
    assert [_msm_value(curve, g) for g in got] == [_exact(curve, logs, ks2), _exact(curve, logs[::-1], ks)]


def test_batch_msm(path):
    rng = random.Random(9)
    pool = _pool(BN254_G1)
    inst = [[rng.choice(pool) for _ in range(20)] for _ in range(3)]
    ks = [[rng.randrange(R) for _ in range(20)] for _ in range(3)]
    ks[1] = [0] * 20
    got = msm_batch([[_aff(BN254_G1, p) for p in pts] for pts in inst], ks, curve=BN254_G1)
    assert got == [_ref_msm(BN254_G1, pts, k) for pts, k in zip(inst, ks)]


def test_fixed_base_msm(path):
    rng = random.Random(13)
    pts = _pool(BN254_G1)[:30]
    fb = FixedBaseMSM(BN254_G1, [_aff(BN254_G1, p) for p in pts])
    for _ in range(2):
        ks = [rng.randrange(R) for _ in range(30)]
        assert fb(ks) == _ref_msm(BN254_G1, pts, ks)
    with pytest.raises(ValueError, match="scalar 3"):
        fb([1, 2, 3, R] + [0] * 26)
    # a batch over the shared tables: each instance its own sum (one all zeros)
    batch = [[rng.randrange(R) for _ in range(30)], [0] * 30, [rng.randrange(R) for _ in range(30)]]
    assert fb.batch(batch) == [_ref_msm(BN254_G1, pts, ks) for ks in batch]
    assert fb.batch([]) == []
    with pytest.raises(ValueError, match="instance 1 scalar 3"):
        fb.batch([[0] * 30, [1, 2, 3, R] + [0] * 26])
    with pytest.raises(ValueError, match="30 bases but 29 scalars in instance 1"):
        fb.batch([[0] * 30, [0] * 29])


def test_jax_program_compile_is_announced_once(path, monkeypatch, capfd):
    """The JAX Pippenger program's first run (a compile of seconds to half a minute) prints one stderr
    line; the native path (a quick compile) and later runs print nothing."""
    monkeypatch.setattr(sharding, "_announced", set())
    aff = [_aff(BN254_G1, p) for p in _pool(BN254_G1, 11)]
    for ks in ([1] * 11, list(range(11))):
        assert msm(aff, ks, curve=BN254_G1) == _ref_msm(BN254_G1, _pool(BN254_G1, 11), ks)
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("supervm_jax: compiling")]
    want = ("supervm_jax: compiling the BN254_G1 MSM of 1 x 64 points (c = 5) with the JAX kernels (first use of this "
            "size; tens of seconds on CPU)")
    assert lines == ([] if path else [want])
