"""The C++ pairing kernels (`supervm_jax.native.pairing_*`, `native/pairing.cc`) against py_ecc on
both curves, called directly (tests/pairing/test_pairing.py compares them with the JAX kernels bit
for bit through the API's sharded programs, and runs the final-exponentiation programs against a
host reference):

  - the multi-Miller loop (groups of K = 4 pairs, some pairs masked, one masked pair all zeros)
    followed by the "exact" program gives py_ecc's pairing products;
  - the fold equals a py_ecc FQ12 product;
  - the kernels run sharded over the 8 simulated devices with zero padding lanes;
  - bad programs, shapes and coordinates fail the call with an error naming them.

Inputs are fresh random multiples of the generators (scalars in the failure message).
"""

import dataclasses
import functools
import importlib
import secrets

import jax
import numpy as np
import pytest

from supervm_jax import native
from supervm_jax.pairing import final_exp
from supervm_jax.pairing.params import pairing_params
from supervm_jax.pmap.compat import x64_scope
from supervm_jax.pmap.sharding import run_sharded

CURVES = {"bn254": "py_ecc.optimized_bn128", "bls12_381": "py_ecc.optimized_bls12_381"}
K, G = 4, 2
MASKED = ((1, 0), (3, 1))  # (pair, group) masked out; pair (3, 1) is all zeros


def _need_native(curve: str) -> None:
    if not native.pairing_available(curve):
        pytest.skip("native pairing kernels unavailable here (no compiler, SUPERVM_NATIVE=0 or not CPU)")


@functools.lru_cache(maxsize=None)
def _inputs(curve: str):
    """Random pairs a G1, b G2 laid out as `api._gt_values` does: xP, yP (L, K, G), xQ, yQ
    (L, 2, K, G), mask (K, G); and the scalars a, b (K, G)."""
    m = importlib.import_module(CURVES[curve])
    params = pairing_params(curve)
    L = params.tower.L
    a = np.array([[1 + secrets.randbelow(m.curve_order - 1) for _ in range(G)] for _ in range(K)], dtype=object)
    b = np.array([[1 + secrets.randbelow(m.curve_order - 1) for _ in range(G)] for _ in range(K)], dtype=object)
    P, Q = [], []
    for k in range(K):
        for g in range(G):
            x, y = m.normalize(m.multiply(m.G1, int(a[k, g])))
            P.append((int(x.n), int(y.n)))
            x, y = m.normalize(m.multiply(m.G2, int(b[k, g])))
            Q.append((tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs)))
    g1, g2 = params.g1.affine_limbs(P), params.g2.affine_limbs(Q)  # (3, L, K G), (3, L, 2, K G)
    xP, yP = (np.asarray(g1[i]).reshape(L, K, G) for i in (0, 1))
    xQ, yQ = (np.asarray(g2[i]).reshape(L, 2, K, G) for i in (0, 1))
    mask = np.ones((K, G), bool)
    for k, g in MASKED:
        mask[k, g] = False
    k, g = MASKED[1]
    for arr in (xP, yP, xQ, yQ):
        arr[..., k, g] = 0
    return (xP, yP, xQ, yQ, mask), a, b


def _jit(fn, *args):
    with x64_scope():
        return np.asarray(jax.jit(fn)(*args))


def _native_miller(curve: str) -> np.ndarray:
    params = pairing_params(curve)
    arrays, _, _ = _inputs(curve)
    return _jit(lambda *x: native.pairing_miller(params, *x), *arrays)


def _py_ecc(curve: str, limbs: np.ndarray) -> list:
    """(L, 2, 2, 3, n) limbs -> n py_ecc FQ12 values."""
    m = importlib.import_module(CURVES[curve])
    tw = pairing_params(curve).tower
    return [m.FQ12(tw.py_ecc_coeffs(e)) for e in tw.ints_from_limbs(limbs)]


@pytest.mark.parametrize("curve", sorted(CURVES))
def test_exact_final_exponentiation_equals_py_ecc(curve):
    """Per group: prod over unmasked pairs e(a G1, b G2) = e(G1, G2)^(sum a b)."""
    _need_native(curve)
    params = pairing_params(curve)
    m = importlib.import_module(CURVES[curve])
    arrays, a, b = _inputs(curve)
    mask = arrays[4]
    rows = final_exp.programs(curve)["exact"]
    f = _native_miller(curve)
    got = _py_ecc(curve, _jit(lambda r, n, x: native.pairing_final(params, r, n, x), rows, np.int32(len(rows)), f))
    base = m.pairing(m.G2, m.G1)
    for g in range(G):
        e = sum(int(a[k, g]) * int(b[k, g]) for k in range(K) if mask[k, g]) % m.curve_order
        assert got[g] == base**e, f"group {g}: a={a.tolist()} b={b.tolist()}"


@pytest.mark.parametrize("curve", sorted(CURVES))
def test_fold_equals_py_ecc_product(curve):
    _need_native(curve)
    params = pairing_params(curve)
    tw = params.tower
    M, P = 3, 2
    coeffs = [[[[(secrets.randbelow(tw.p), secrets.randbelow(tw.p)) for _ in range(3)] for _ in range(2)]
               for _ in range(P)] for _ in range(M)]
    f = np.stack([np.stack([tw.fq12_constant(coeffs[m][q]) for q in range(P)], axis=-1) for m in range(M)], axis=-2)
    got = _py_ecc(curve, _jit(lambda x: native.pairing_fold(params, x), f))
    fq12 = importlib.import_module(CURVES[curve]).FQ12
    for q in range(P):
        want = fq12.one()
        for m in range(M):
            want = want * fq12(tw.py_ecc_coeffs(coeffs[m][q]))
        assert got[q] == want
    one = _jit(lambda x: native.pairing_fold(params, x), f[..., :0, :])  # the empty product
    assert tw.is_one_host(one).all()


def test_native_kernels_run_sharded_over_the_mesh():
    """Inside shard_map over every device, with zero padding lanes: the same groups and GT values."""
    curve = "bn254"
    _need_native(curve)
    params = pairing_params(curve)
    arrays, _, _ = _inputs(curve)
    f = run_sharded(lambda *x: native.pairing_miller(params, *x), (), arrays, out_ndim=5)
    assert np.array_equal(f, _native_miller(curve))
    rows = final_exp.programs(curve)["check"]
    args = (jax.numpy.asarray(rows), jax.numpy.asarray(np.int32(len(rows))))
    gt = run_sharded(lambda r, n, x: native.pairing_final(params, r, n, x), args, (f,), out_ndim=5)
    assert np.array_equal(gt, _jit(lambda r, n, x: native.pairing_final(params, r, n, x), *args, f))
    folded = run_sharded(lambda x: native.pairing_fold(params, x), (), (np.stack([f, f], axis=-2),), out_ndim=5)
    assert np.array_equal(folded, _jit(lambda a: native.pairing_fold(params, jax.numpy.stack([a, a], axis=-2)), f))


def test_bad_programs_shapes_and_coordinates_are_refused():
    curve = "bn254"
    _need_native(curve)
    params = pairing_params(curve)
    f = _native_miller(curve)
    final = lambda rows, n: _jit(lambda r, n, x: native.pairing_final(params, r, n, x), rows,  # noqa: E731
                                 np.int32(n), f)
    good = np.asarray([(final_exp.SQR, 1, 0, 0), (final_exp.MUL, 2, 1, 0)], np.int32)
    assert final(good, 2).shape == f.shape
    for row, message in (((9, 1, 0, 0), "op 9"), ((-1, 1, 0, 0), "op -1"), ((0, 12, 0, 0), "register 12"),
                         ((0, 1, 8, 0), "register 8"), ((0, 1, 0, -3), "register -3")):
        with pytest.raises(jax.errors.JaxRuntimeError, match=message):
            final(np.concatenate([good, np.asarray([row], np.int32)]), 3)
    bad_tail = np.concatenate([good, np.asarray([(9, 12, 12, 12)], np.int32)])
    assert np.array_equal(final(bad_tail, 2), final(good, 2))  # rows past n_rows do not run
    for n in (0, 3):
        with pytest.raises(jax.errors.JaxRuntimeError, match="n_rows"):
            final(good, n)
    with pytest.raises(jax.errors.JaxRuntimeError, match="rows must be"):
        final(good[:, :3], 2)

    xP, yP, xQ, yQ, mask = _inputs(curve)[0]
    miller_call = lambda *x: _jit(lambda *y: native.pairing_miller(params, *y), *x)  # noqa: E731
    with pytest.raises(jax.errors.JaxRuntimeError, match="yP must be"):
        miller_call(xP, yP[..., :1], xQ, yQ, mask)
    with pytest.raises(jax.errors.JaxRuntimeError, match="xQ must be"):
        miller_call(xP, yP, xQ[:, :, :3], yQ, mask)
    with pytest.raises(jax.errors.JaxRuntimeError, match="mask must be"):
        miller_call(xP, yP, xQ, yQ, mask[:, :1])
    with pytest.raises(jax.errors.JaxRuntimeError, match="xP must be"):
        miller_call(np.concatenate([xP, xP]), yP, xQ, yQ, mask)
    over = xP.copy()
    over[:, 0, 0] = np.frombuffer(params.p.to_bytes(32, "little"), "<u4")  # p itself: not canonical
    with pytest.raises(jax.errors.JaxRuntimeError, match=r"pair \(0, 0\)"):
        miller_call(over, yP, xQ, yQ, mask)
    masked = xP.copy()
    masked[:, 1, 0] = over[:, 0, 0]  # a masked pair is not read
    assert np.array_equal(miller_call(masked, yP, xQ, yQ, mask), f)
    not_naf = dataclasses.replace(params, loop_digits=np.asarray([1, 0, 2], np.int8))
    with pytest.raises(jax.errors.JaxRuntimeError, match="loop digit 2"):
        _jit(lambda *y: native.pairing_miller(not_naf, *y), xP, yP, xQ, yQ, mask)
    with pytest.raises(jax.errors.JaxRuntimeError, match="f must be"):
        _jit(lambda x: native.pairing_final(params, good, np.int32(2), x), f[0])
    with pytest.raises(jax.errors.JaxRuntimeError, match="f must be"):
        _jit(lambda x: native.pairing_fold(params, x), f)
