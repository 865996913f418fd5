"""Every verifier on both CPU paths: the C++ kernels (`supervm_jax.native`: double_mul, field_pow,
the Edwards bucket sums) and the JAX kernels they replace (the GPU path). The same mixed batch of
valid and corrupted signatures must give the same answers, and the answers a reference library gives
(PyNaCl, coincurve)."""

import functools
import os

import coincurve
import jax.numpy as jnp
import nacl.signing
import numpy as np
import pytest

from supervm_jax import native
from supervm_jax.curve import ED25519, SECP256K1
from supervm_jax.pmap import device_mesh
from supervm_jax.sigverify import ecdsa_verify, ed25519_verify, kernels, schnorr_verify

N = 36  # above the batch threshold (32), so method="auto" takes the batch path


def _flip(b: bytes, i: int) -> bytes:
    return b[:i] + bytes([b[i] ^ 1]) + b[i + 1:]


@pytest.fixture(params=[True, False], ids=["native", "jax"])
def path(request, monkeypatch):
    if request.param and not native.double_mul_available(ED25519):
        pytest.skip("native kernels unavailable here (no compiler or not a CPU backend)")
    monkeypatch.setattr(native, "ENABLED", request.param)
    return request.param


def _ed_batch():
    keys, msgs, sigs = [], [], []
    for i in range(N):
        sk = nacl.signing.SigningKey(os.urandom(32))
        m = os.urandom(i % 7 * 9)
        keys.append(bytes(sk.verify_key)), msgs.append(m), sigs.append(sk.sign(m).signature)
    sigs[1] = _flip(sigs[1], 3)                 # R
    sigs[2] = _flip(sigs[2], 40)                # S
    keys[3] = _flip(keys[3], 0)                 # key
    msgs[4] = msgs[4] + b"!"                    # message
    return keys, msgs, sigs


def _pynacl(keys, msgs, sigs):
    out = []
    for k, m, s in zip(keys, msgs, sigs):
        try:
            nacl.signing.VerifyKey(k).verify(m, s)
            out.append(True)
        except Exception:
            out.append(False)
    return np.array(out)


def test_ed25519_paths(path):
    keys, msgs, sigs = _ed_batch()
    want = _pynacl(keys, msgs, sigs)  # these corruptions fail under both rules
    for rule, method in [("zip215", "single"), ("zip215", "batch"), ("rfc8032", "single")]:
        got = ed25519_verify(keys, msgs, sigs, rule=rule, method=method)
        assert got.tolist() == want.tolist(), (rule, method)
    good = [i for i in range(N) if want[i]]
    assert ed25519_verify([keys[i] for i in good], [msgs[i] for i in good], [sigs[i] for i in good],
                          method="batch").all()


def test_ecdsa_paths(path):
    keys, hashes, sigs, want = [], [], [], []
    for i in range(N):
        k = coincurve.PrivateKey(os.urandom(32))
        h = os.urandom(32)
        der = k.sign(h, hasher=None)
        keys.append(k.public_key.format(compressed=i % 2 == 0)), hashes.append(h)
        sigs.append(coincurve.ecdsa.serialize_compact(coincurve.ecdsa.der_to_cdata(der)))
    sigs[1] = _flip(sigs[1], 5)
    hashes[2] = _flip(hashes[2], 31)
    keys[3] = _flip(keys[3], 10)
    for k, h, s in zip(keys, hashes, sigs):
        try:
            cdata = coincurve.ecdsa.deserialize_compact(s)
            want.append(coincurve.PublicKey(k).verify(coincurve.ecdsa.cdata_to_der(cdata), h, hasher=None))
        except Exception:
            want.append(False)
    assert ecdsa_verify(keys, hashes, sigs).tolist() == want


def test_schnorr_paths(path):
    keys, msgs, sigs = [], [], []
    for _ in range(N):
        k = coincurve.PrivateKey(os.urandom(32))
        m = os.urandom(32)
        keys.append(k.public_key.format()[1:]), msgs.append(m), sigs.append(k.sign_schnorr(m, os.urandom(32)))
    sigs[1] = _flip(sigs[1], 2)
    sigs[2] = _flip(sigs[2], 50)
    msgs[3] = _flip(msgs[3], 0)
    want = [coincurve.PublicKeyXOnly(k).verify(s, m) for k, m, s in zip(keys, msgs, sigs)]
    for method in ("single", "batch"):
        assert schnorr_verify(keys, msgs, sigs, method=method).tolist() == want, method


def test_native_double_mul_equals_jax(path):
    """The kernel itself, on edge scalars: 0, 1, l - 1 / n - 1, and a random one, for both curves."""
    mesh = device_mesh()
    for curve in (ED25519, SECP256K1):
        r = curve.order
        a = [0, 1, r - 1, int.from_bytes(os.urandom(31), "big"), 5]
        b = [0, r - 1, 1, 7, int.from_bytes(os.urandom(31), "big")]
        P = curve.scalar_mul(curve.generator_points(len(a)), [3, 5, 7, 11, 13])
        nat = kernels.native_for(curve, mesh)
        out = kernels.run_sharded(functools.partial(kernels.double_mul, curve, native_kernel=nat), (kernels.comb_table(curve, nat),),
                                  (kernels.comb_digits(kernels.ints_to_le_bytes(a), 32), np.asarray(P)[None],
                                   kernels.window_digits(kernels.ints_to_le_bytes(b))[None]), mesh=mesh,
                                  out_ndim=len(curve.point_shape) + 1)
        want = [(ai + bi * k) % r for ai, bi, k in zip(a, b, [3, 5, 7, 11, 13])]
        assert curve.eq(jnp.asarray(out), curve.generator_mul(want)).all(), curve.name
