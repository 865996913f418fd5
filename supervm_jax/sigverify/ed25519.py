"""Ed25519 signature verification for whole batches, under the ZIP-215 or the libsodium rules.

A signature (R, S) on message M under key A (RFC 8032) is checked against k = SHA-512(R || A || M)
mod l. Hashing stays on the host (`hashlib`, one call per message); point decoding, the scalar
multiplications and the batch equation run on device. Per signature the result is one of:

* ``rule="zip215"`` (ZIP-215, as ed25519-zebra): S < l; A and R decode as curve points, with
  non-canonical encodings (y >= p, x = 0 with the sign bit set) accepted; and the cofactored
  equation [8]([S]B - R - [k]A) = 0 holds.
* ``rule="rfc8032"`` (libsodium 1.0.18+'s `crypto_sign_verify_detached`, as PyNaCl ships it): S < l;
  R's and A's y are not one of the small-order values {0, 1, p - 1, p, p + 1, y8, p - y8} (the
  encoding blocklist, sign bit ignored); A's y < p; A decodes; and the encoding of [S]B - [k]A
  equals the 32 bytes of R (the cofactorless equation, which also makes a non-canonical R fail).

Differences between the rules (each is a test): zip215 accepts small-order A and R, non-canonical
A and R, and signatures that hold only up to a torsion component; rfc8032 rejects all of these.

Methods: ``"single"`` checks every signature by its own double-scalar multiplication
(`kernels.double_mul`). ``"batch"`` (zip215 only) draws 128-bit z_i from `secrets` (on a
multi-process mesh process 0's draw, on every process: `pmap.agreed_randbelow`) and checks
[8](-(sum z_i S_i) B + sum z_i R_i + sum (z_i k_i) A_i) = 0 with one MSM over 2n + 1 points; if it
fails, every signature is checked singly, so the results are always the single results (the
cofactored batch equation is exactly as strict as the cofactored single one). Repeated keys are
decoded once and enter the MSM once, with the sum of their signatures' scalars. ``"auto"`` takes the
batch path for zip215 batches of at least BATCH_MIN well-formed signatures.
"""

from __future__ import annotations

import functools
import hashlib

import jax.numpy as jnp
import numpy as np

from supervm_jax.curve import ED25519
from supervm_jax.msm import msm
from supervm_jax.curve.group import MIN_BUCKET
from supervm_jax.pmap import agreed_randbelow, device_mesh, lane_bucket, mesh_platform
from supervm_jax.sigverify import inputs
from supervm_jax.sigverify.kernels import (
    comb_digits,
    comb_table,
    double_mul,
    ints_to_le_bytes,
    native_for,
    run_sharded,
    window_digits,
)

RULES = ("zip215", "rfc8032")
METHODS = ("auto", "batch", "single")
BATCH_MIN = 32  # "auto": below this many signatures the single path's one program is cheaper

L = ED25519.order
P = ED25519.coords.modulus
_Y8 = 0x05FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826  # y of the order-8 points
SMALL_ORDER_Y = frozenset({0, 1, P - 1, P, P + 1, _Y8, P - _Y8})  # libsodium's encoding blocklist
_BASE_ENCODING = bytes.fromhex("58" + "66" * 31)  # B (RFC 8032)
_IDENTITY_ENCODING = bytes([1]) + bytes(31)  # (0, 1)


def ed25519_verify(public_keys, messages, signatures, rule: str = "zip215", *, method: str = "auto",
                   mesh=None) -> np.ndarray:
    """Verifies n Ed25519 signatures; returns a numpy bool array of shape (n,).

    public_keys: n 32-byte encodings (a sequence of bytes or an (n, 32) uint8 array); messages: n
    messages of any length (bytes, or an (n, k) uint8 array); signatures: n 64-byte R || S.
    rule: "zip215" (default) or "rfc8032" (see the module docstring). method: "auto", "batch"
    (zip215 only) or "single". mesh: devices to shard over (default all).

    Raises ValueError for an unknown rule or method, or a structural problem (wrong type or length,
    naming the index; different batch sizes). A malformed but well-sized key or signature is just
    False at its index."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "batch" and rule != "zip215":
        raise ValueError("method='batch' needs rule='zip215' (the rfc8032 equation is cofactorless; "
                         "it is checked per signature)")
    keys = inputs.fixed_rows(public_keys, 32, "public key")
    msgs = inputs.messages(messages)
    sigs = inputs.fixed_rows(signatures, 64, "signature")
    n = inputs.same_count(public_keys=keys, messages=msgs, signatures=sigs)
    if n == 0:
        return np.zeros(0, bool)
    r_enc, s_enc = sigs[:, :32], sigs[:, 32:]
    s = inputs.le_ints(s_enc)
    k = _challenges(r_enc, keys, msgs)
    mesh = mesh or device_mesh()
    # A block's signers repeat: each distinct key is decoded once and, in the batch equation, is one
    # MSM point whose scalar sums its signatures' z_i k_i. The decode batch is [distinct keys, B,
    # identity padding, R], padded so that it (and the MSM over it) fills a `lane_bucket`
    # exactly: every device shape then depends on n and that bucket only, not on this batch's keys
    # (no compile per batch; B's slot carries the batch equation's B coefficient).
    unique_keys, owner = _unique_rows(keys)
    u = len(unique_keys)
    slots = lane_bucket(n + u + 1, mesh_platform(mesh), MIN_BUCKET) - n
    fill = np.frombuffer(_BASE_ENCODING + _IDENTITY_ENCODING * (slots - u - 1), np.uint8).reshape(-1, 32)
    points, decodes, canonical = ED25519.decode(np.concatenate([unique_keys, fill, r_enc]), mesh=mesh)
    A_slots, R = points[..., :slots], points[..., slots:]
    ok = np.array([v < L for v in s]) & decodes[:u][owner] & decodes[slots:]
    if rule == "rfc8032":
        y_a, y_r = _y_values(keys), _y_values(r_enc)
        ok &= np.array([ya < P and ya not in SMALL_ORDER_Y and yr not in SMALL_ORDER_Y for ya, yr in zip(y_a, y_r)])
        ok &= canonical[slots:]  # only a canonical R can equal an encoding we compute
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return ok
    use_batch = rule == "zip215" and (method == "batch" or (method == "auto" and idx.size >= BATCH_MIN))
    if use_batch and _batch_equation_holds(A_slots, u, owner, R, ok, s, k, mesh):
        return ok
    if idx.size < n:  # gather the well-formed ones (no device gather when all are)
        R, s, k, s_enc = R[..., idx], [s[i] for i in idx], [k[i] for i in idx], s_enc[idx]
    nat = native_for(ED25519, mesh)
    A = A_slots[..., jnp.asarray(owner[idx])]
    single = run_sharded(_single_kernel(rule == "zip215", nat), (comb_table(ED25519, nat),),
                         (comb_digits(s_enc, 32), np.asarray(A), window_digits(ints_to_le_bytes(k))[None],
                          np.asarray(R)), mesh=mesh)
    ok[idx] = single
    return ok


def _challenges(r_enc: np.ndarray, keys: np.ndarray, msgs: list[bytes]) -> list[int]:
    """k_i = SHA-512(R_i || A_i || M_i) mod l as ints; r_enc, keys (n, 32) uint8, msgs n bytes."""
    prefix = np.concatenate([r_enc, keys], axis=1).tobytes()
    return [int.from_bytes(hashlib.sha512(prefix[i:i + 64] + m).digest(), "little") % L
            for i, m in zip(range(0, len(prefix), 64), msgs)]


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(rows, axis=0, return_inverse=True)` of (n, 32) uint8 rows, flat inverse (n,) int:
    the distinct rows in lexicographic order (sorted as 32-byte void scalars, memcmp order)."""
    distinct, owner = np.unique(np.ascontiguousarray(rows).view(np.dtype((np.void, 32))).ravel(), return_inverse=True)
    return distinct.view(np.uint8).reshape(-1, 32), owner.reshape(-1)


def _y_values(encodings: np.ndarray) -> list[int]:
    """The 255-bit y fields of (n, 32) encodings (sign bit cleared), not reduced mod p."""
    return [v & ((1 << 255) - 1) for v in inputs.le_ints(encodings)]


@functools.lru_cache(maxsize=None)
def _single_kernel(cofactored: bool, native_kernel: bool):
    """Kernel (table, s digits, A, k digits, R) -> bool per lane: [8]([s]B - [k]A - R) = 0 when
    cofactored, else [s]B - [k]A = R."""
    curve = ED25519

    def kernel(table, s_digits, A, k_digits, R):
        Q = double_mul(curve, table, s_digits, curve.kernel("neg")(A)[None], k_digits, native_kernel)
        if not cofactored:
            return curve.kernel("eq")(Q, R)
        D = curve.kernel("add")(Q, curve.kernel("neg")(R))
        for _ in range(3):
            D = curve.kernel("double")(D)
        return curve.kernel("is_identity")(D)

    return kernel


def _batch_equation_holds(A_slots, base_slot: int, owner: np.ndarray, R, ok: np.ndarray, s: list[int],
                          k: list[int], mesh) -> bool:
    """[8](-(sum z_i s_i) B + sum z_i R_i + sum_j (sum_{i: owner_i = j} z_i k_i) A_j) = 0 over the
    signatures i with ok[i], for fresh random 128-bit z_i (z_i = 0 for the others). Signature i's key
    is A_slots[owner[i]], B is A_slots[base_slot], the other slots are the identity (scalar 0)."""
    draws = agreed_randbelow((1 << 128) - 1, len(s))  # one z per lane on every process
    z = [1 + v if good else 0 for v, good in zip(draws, ok.tolist())]
    coeff = [0] * A_slots.shape[-1]
    for j, zi, ki in zip(owner.tolist(), z, k):
        if zi:
            coeff[j] += zi * ki
    coeff[base_slot] = -sum(zi * si for zi, si in zip(z, s) if zi)
    total = msm(jnp.concatenate([R, A_slots], axis=-1), z + [c % L for c in coeff], curve=ED25519, mesh=mesh)
    return _is_small_order(total)


def _is_small_order(pt: tuple[int, int]) -> bool:
    """[8] pt = identity, for an affine point on the curve (host ints)."""
    x, y = pt
    d = ED25519.d
    for _ in range(3):
        xx, yy, xy = x * x % P, y * y % P, x * y % P
        x, y = 2 * xy * pow((1 + d * xx * yy) % P, -1, P) % P, (yy + xx) * pow((1 - d * xx * yy) % P, -1, P) % P
    return x == 0 and y == 1
