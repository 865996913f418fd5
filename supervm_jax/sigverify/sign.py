"""Deterministic Ed25519 key derivation and signing (RFC 8032, sections 5.1.5 and 5.1.6) for whole batches.

For workload generation and tests: a node's workload generator and the test suite produce signed
transactions with it, without PyNaCl. Secrets are Python ints and the computation is not
constant-time (hashing and scalar arithmetic on the host, the scalar multiplications in ordinary
device kernels), so it is not for signing with valuable keys.

    from supervm_jax.sigverify import ed25519_public_keys, ed25519_sign
    pks = ed25519_public_keys(seeds)          # n 32-byte seeds -> n 32-byte public keys
    sigs = ed25519_sign(seeds, messages)      # -> n 64-byte signatures R || S

Per seed and message M: h = SHA-512(seed); a = clamp(h[:32]) (little-endian; low 3 bits and bit 255
cleared, bit 254 set); prefix = h[32:]; A = [a]B; r = SHA-512(prefix || M) mod l; R = [r]B;
k = SHA-512(R || A || M) mod l; S = (r + k a) mod l. The output is byte-identical to RFC 8032 and
libsodium (PyNaCl's ``SigningKey(seed).sign(M).signature``).

The clamped a lies in [2^254, 2^255), above l; since B has order l, [a]B = [a mod l]B and S is taken
mod l anyway, so a mod l is used throughout. SHA-512 runs on the host (`hashlib`); all the
[a]B and [r]B of a batch go to device together in one `ED25519.generator_mul` call (fixed-base comb,
sharded over the mesh, affine coordinates normalized on device), or in two calls (keys, nonces)
where stacking would double the padded batch. A seed that occurs several times in a batch has its
public key computed once.
"""

from __future__ import annotations

import hashlib

import numpy as np

from supervm_jax.curve import ED25519
from supervm_jax.sigverify import inputs

L = ED25519.order
P = ED25519.coords.modulus


def ed25519_public_keys(seeds, *, mesh=None) -> list[bytes]:
    """n 32-byte secret seeds (a sequence of bytes or an (n, 32) uint8 array) -> n 32-byte public keys.

    mesh: devices to shard the scalar multiplications over (default all). Raises ValueError for a
    structural problem (not a sequence, an element not bytes or not 32 bytes), naming the index."""
    rows = inputs.fixed_rows(seeds, 32, "seed")
    if len(rows) == 0:
        return []
    keys = [row.tobytes() for row in rows]
    unique = list(dict.fromkeys(keys))
    encoded = _base_multiples([_secret_scalar(hashlib.sha512(s).digest()) for s in unique], mesh)
    by_seed = dict(zip(unique, encoded))
    return [by_seed[s] for s in keys]


def ed25519_sign(seeds, messages, *, mesh=None) -> list[bytes]:
    """Signs messages[i] with seeds[i]; returns n 64-byte signatures R || S (RFC 8032, deterministic).

    seeds: n 32-byte secret seeds (a sequence of bytes or an (n, 32) uint8 array); messages: n
    messages of any length (a sequence of bytes or an (n, k) uint8 array). mesh: devices to shard
    the scalar multiplications over (default all). Raises ValueError for a structural problem
    (wrong type or length, naming the index; different batch sizes)."""
    rows = inputs.fixed_rows(seeds, 32, "seed")
    msgs = inputs.messages(messages)
    n = inputs.same_count(seeds=rows, messages=msgs)
    if n == 0:
        return []
    keys = [row.tobytes() for row in rows]
    unique = list(dict.fromkeys(keys))
    digests = {s: hashlib.sha512(s).digest() for s in unique}
    a = {s: _secret_scalar(digests[s]) for s in unique}
    r = [int.from_bytes(hashlib.sha512(digests[s][32:] + m).digest(), "little") % L for s, m in zip(keys, msgs)]
    a_list = [a[s] for s in unique]
    if _stack(len(unique), n):
        encoded = _base_multiples(a_list + r, mesh)
        public_list, R_list = encoded[: len(unique)], encoded[len(unique):]
    else:
        public_list, R_list = _base_multiples(a_list, mesh), _base_multiples(r, mesh)
    public = dict(zip(unique, public_list))
    out = []
    for i in range(n):
        R, A = R_list[i], public[keys[i]]
        k = int.from_bytes(hashlib.sha512(R + A + msgs[i]).digest(), "little") % L
        out.append(R + ((r[i] + k * a[keys[i]]) % L).to_bytes(32, "little"))
    return out


def _secret_scalar(digest: bytes) -> int:
    """The clamped secret scalar of SHA-512(seed) (first half), reduced mod l."""
    v = int.from_bytes(digest[:32], "little")
    v &= ~7
    v &= (1 << 255) - 1
    v |= 1 << 254
    return v % L


def _stack(n_keys: int, n_sigs: int) -> bool:
    """Whether the [a]B and [r]B go to device as one stacked `generator_mul` call: yes unless the keys
    would push the batch over a power of two (generator_mul pads each batch to a power-of-two bucket
    of at least 64, so 256 keys + 16384 nonces stacked would cost a 32768-point comb, twice the work
    of two calls)."""
    total = n_keys + n_sigs
    return total <= 64 or (total - 1).bit_length() == (n_sigs - 1).bit_length()


def _base_multiples(scalars: list[int], mesh) -> list[bytes]:
    """[k]B for scalars k in [0, l) -> their 32-byte RFC 8032 encodings, one `generator_mul` call."""
    aff = np.asarray(ED25519.generator_mul(scalars, mesh=mesh, affine=True))  # (2, L, n), Montgomery
    xs = ED25519.coords.ints_from_limbs(aff[0])
    ys = ED25519.coords.ints_from_limbs(aff[1])
    size = ED25519.encoded_size
    out = []
    for k, x, y in zip(scalars, xs, ys):
        if k == 0:  # affine output writes the identity as (0, 0); its encoding is y = 1
            x, y = 0, 1
        out.append((y | ((x & 1) << (8 * size - 1))).to_bytes(size, "little"))
    return out
