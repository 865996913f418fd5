"""BIP-340 Schnorr signature verification (secp256k1, x-only keys) for whole batches.

Per signature (r, s) on a 32-byte message m under a 32-byte x-only key, the result is True when
(BIP-340, "Verification"): the key's x < p and lift_x(x) exists (the point P with even y); r < p;
s < n; and R = [s] G - [e] P, with e = int(tagged_hash("BIP0340/challenge", r || x || m)) mod n, is
not infinity, has even y and x(R) = r.

Methods: ``"single"`` computes R per signature (`kernels.double_mul`, then one batch inversion to
read y's parity). ``"batch"`` is BIP-340's batch verification: with random 128-bit a_i from
`secrets` (process 0's on a multi-process mesh: `pmap.agreed_randbelow`), check (sum a_i s_i) G = sum a_i R_i + sum (a_i e_i) P_i, R_i = lift_x(r_i), with one MSM
over 2n + 1 points; if it fails, every signature is checked singly, so the results always equal the
single results (secp256k1 has prime order: R = lift_x(r) is exactly "even y and x(R) = r").
``"auto"`` batches at least BATCH_MIN well-formed signatures (the crossover measured on CPU).
Tagged hashing runs on the host.
"""

from __future__ import annotations

import functools
import hashlib

import jax.numpy as jnp
import numpy as np

from supervm_jax.curve import SECP256K1
from supervm_jax.field import montgomery as mont
from supervm_jax.msm import msm
from supervm_jax.pmap import agreed_randbelow, device_mesh
from supervm_jax.sigverify import inputs
from supervm_jax.sigverify.kernels import (
    be_bytes_to_limbs,
    comb_digits,
    comb_table,
    double_mul,
    glv_bases,
    glv_digits,
    native_for,
    run_sharded,
)

METHODS = ("auto", "batch", "single")
BATCH_MIN = 8192  # "auto": on 2 CPU devices single wins at 2^10 (19.0K vs 14.5K/s), batch at 2^14 (24.3K vs 21.7K/s)
N = SECP256K1.order
P = SECP256K1.coords.modulus
_CHALLENGE_TAG = hashlib.sha256(b"BIP0340/challenge").digest()


def schnorr_verify(public_keys, messages, signatures, *, method: str = "auto", mesh=None) -> np.ndarray:
    """Verifies n BIP-340 signatures; returns a numpy bool array of shape (n,).

    public_keys: n 32-byte x-only keys (a sequence of bytes or an (n, 32) uint8 array); messages: n
    32-byte messages; signatures: n 64-byte r || s. method: "auto", "batch" or "single". mesh:
    devices to shard over (default all).

    Raises ValueError for an unknown method or a structural problem (wrong type or length, naming
    the index; different batch sizes). A malformed but well-sized key or signature is just False
    at its index."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    keys = inputs.fixed_rows(public_keys, 32, "public key")
    msgs = inputs.fixed_rows(messages, 32, "message")
    sigs = inputs.fixed_rows(signatures, 64, "signature")
    n = inputs.same_count(public_keys=keys, messages=msgs, signatures=sigs)
    if n == 0:
        return np.zeros(0, bool)
    px = inputs.be_ints(keys)
    r = inputs.be_ints(sigs[:, :32])
    s = inputs.be_ints(sigs[:, 32:])
    ok = np.array([x < P and ri < P and si < N for x, ri, si in zip(px, r, s)])
    e = [int.from_bytes(_challenge(sigs[i, :32].tobytes() + keys[i].tobytes() + msgs[i].tobytes()), "big") % N
         for i in range(n)]
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return ok
    if method == "batch" or (method == "auto" and idx.size >= BATCH_MIN):
        holds, lifted = _batch_equation(keys[idx], sigs[idx, :32], [s[i] for i in idx], [e[i] for i in idx], mesh)
        if holds:
            return ok
        ok[idx] &= lifted  # a key or r without a curve point fails on its own
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return ok
    mesh = mesh or device_mesh()
    nat = native_for(SECP256K1, mesh)
    single = run_sharded(_kernel(nat), (comb_table(SECP256K1, nat),), (
        be_bytes_to_limbs(keys[idx]), be_bytes_to_limbs(sigs[idx, :32]), comb_digits(sigs[idx, 32:][:, ::-1], 32),
        *glv_digits(SECP256K1, [(N - e[i]) % N for i in idx])), mesh=mesh)
    ok[idx] = single
    return ok


def _challenge(data: bytes) -> bytes:
    return hashlib.sha256(_CHALLENGE_TAG + _CHALLENGE_TAG + data).digest()


def _batch_equation(keys: np.ndarray, r_enc: np.ndarray, s: list[int], e: list[int], mesh) -> tuple[bool, np.ndarray]:
    """(the batch equation holds for fresh random 128-bit a_i, per-signature "key and r lift")."""
    m = len(s)
    points, lifted = SECP256K1.lift_x(be_bytes_to_limbs(np.concatenate([r_enc, keys])), np.zeros(2 * m, bool))
    lifted = lifted[:m] & lifted[m:]
    if not lifted.all():
        return False, lifted
    a = [1 + v for v in agreed_randbelow((1 << 128) - 1, m)]  # one a_i per lane on every process
    g_coeff = -sum(ai * si for ai, si in zip(a, s)) % N
    scalars = a + [ai * ei % N for ai, ei in zip(a, e)] + [g_coeff]
    total = msm(jnp.concatenate([points, _generator_point()], axis=-1), scalars, curve=SECP256K1, mesh=mesh)
    return total is None, lifted


@functools.lru_cache(maxsize=None)
def _generator_point():
    """G as a (3, L, 1) device array, built and validated once."""
    return SECP256K1.generator_points(1)


@functools.lru_cache(maxsize=None)
def _kernel(native_kernel: bool):
    """Kernel (table, key x, r, s comb digits, (n - e) GLV digits and signs) -> bool per lane."""
    curve = SECP256K1
    F = curve.coords
    spec = F.spec

    def kernel(table, x_std, r_std, s_digits, e_digits, e_negate):
        Pk, key_ok = curve.kernel("lift_x")(x_std, jnp.zeros(x_std.shape[1:], bool), native_pow=native_kernel)
        R = double_mul(curve, table, s_digits, glv_bases(curve, Pk, e_negate), e_digits, native_kernel)
        zinv = F.batch_inv(R[2])
        x, y = F.mul_many([(R[0], zinv), (R[1], zinv)])
        even = (mont.from_montgomery(spec, y)[0] & 1) == 0
        return key_ok & ~curve.kernel("is_identity")(R) & even & F.eq(x, mont.to_montgomery(spec, r_std))

    return kernel
