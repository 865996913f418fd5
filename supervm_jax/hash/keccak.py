"""Keccak-256 (Ethereum's: Keccak[c=512] with the original padding 0x01...0x80, not SHA3-256's 0x06)
as a batched JAX kernel.

Representation: the 1600-bit state is 25 lanes of 64 bits; lane (x, y) is index x + 5y, and a
lane's bytes are little-endian. Two lane encodings are implemented and measured (docs/HASHING.md):

* "u64" (default): one uint64 per lane (traced under `pmap.x64_scope`, never the global flag).
  On CPU the rotations are single vector instructions (AVX-512 `vprolq`).
* "u32": a pair of uint32 (low, high) per lane, for accelerators without native 64-bit integers;
  a rotation by r is two funnel shifts (and a swap when r >= 32).

Arrays are batch-last: absorbed blocks are (B, 17, *batch) lanes (rate 136 bytes = 17 lanes), the
digest is 4 lanes. The 24 rounds of Keccak-f[1600] are a `lax.fori_loop` (one unrolled round in the
body, round constant indexed from a table); blocks are a `lax.scan`. The round constants and rotation
offsets are computed here from their definitions (FIPS 202, 3.2.2 and 3.2.5).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from supervm_jax.hash import common

RATE_BYTES = 136
RATE_LANES = RATE_BYTES // 8
DIGEST_BYTES = 32
ROUNDS = 24


def _round_constants() -> list[int]:
    """RC[i] from the degree-8 LFSR rc(t) (FIPS 202 algorithms 5 and 6)."""
    def rc(t: int) -> int:
        r = [1, 0, 0, 0, 0, 0, 0, 0]
        for _ in range(t % 255):
            r = [0] + r
            for k in (0, 4, 5, 6):
                r[k] ^= r[8]
            r = r[:8]
        return r[0]

    out = []
    for i in range(ROUNDS):
        value = 0
        for j in range(7):
            value |= rc(j + 7 * i) << ((1 << j) - 1)
        out.append(value)
    return out


def _rotation_offsets() -> list[int]:
    """r[x + 5y] (FIPS 202 algorithm 2, rho)."""
    r = [0] * 25
    x, y = 1, 0
    for t in range(24):
        r[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    return r


RC = _round_constants()
ROT = _rotation_offsets()
assert RC[0] == 1 and RC[1] == 0x8082 and RC[23] == 0x8000000080008008 and ROT[1] == 1 and ROT[24] == 14

# Pi: the lane at (x, y) moves to (y, 2x + 3y).
_PI_DEST = [(y) + 5 * ((2 * x + 3 * y) % 5) for y in range(5) for x in range(5)]  # index by x + 5y


class _U64:
    """Lanes as uint64 arrays."""

    @staticmethod
    def rotl(v, r: int):
        if r == 0:
            return v
        return (v << np.uint64(r)) | (v >> np.uint64(64 - r))

    xor = staticmethod(lambda a, b: a ^ b)
    andn = staticmethod(lambda a, b: ~a & b)

    @staticmethod
    def xor_const(v, c: jax.Array):
        return v ^ c


class _U32:
    """Lanes as (low, high) pairs of uint32 arrays."""

    @staticmethod
    def rotl(v, r: int):
        lo, hi = v
        if r >= 32:
            lo, hi, r = hi, lo, r - 32
        if r == 0:
            return (lo, hi)
        s, t = np.uint32(r), np.uint32(32 - r)
        return ((lo << s) | (hi >> t), (hi << s) | (lo >> t))

    xor = staticmethod(lambda a, b: (a[0] ^ b[0], a[1] ^ b[1]))
    andn = staticmethod(lambda a, b: (~a[0] & b[0], ~a[1] & b[1]))

    @staticmethod
    def xor_const(v, c: jax.Array):
        return (v[0] ^ c[0], v[1] ^ c[1])


def _round(ops, a: list, rc) -> list:
    c = [ops.xor(ops.xor(ops.xor(ops.xor(a[x], a[x + 5]), a[x + 10]), a[x + 15]), a[x + 20]) for x in range(5)]
    d = [ops.xor(c[(x - 1) % 5], ops.rotl(c[(x + 1) % 5], 1)) for x in range(5)]
    # Materialize theta's D: otherwise XLA fuses (recomputes) it into each of the 25 lane outputs.
    d = list(lax.optimization_barrier(tuple(d)))
    b = [None] * 25
    for i in range(25):
        b[_PI_DEST[i]] = ops.rotl(ops.xor(a[i], d[i % 5]), ROT[i])
    out = [ops.xor(b[i], ops.andn(b[(i % 5 + 1) % 5 + 5 * (i // 5)], b[(i % 5 + 2) % 5 + 5 * (i // 5)])) for i in range(25)]
    out[0] = ops.xor_const(out[0], rc)
    return out


def permute_u64(lanes: list) -> list:
    """Keccak-f[1600] on 25 uint64 lane arrays (trace under x64_scope)."""
    rcs = jnp.asarray(np.array(RC, np.uint64))
    return list(lax.fori_loop(0, ROUNDS, lambda i, a: tuple(_round(_U64, list(a), rcs[i])), tuple(lanes)))


def permute_u32(lanes: list) -> list:
    """Keccak-f[1600] on 25 (low, high) uint32 lane pairs."""
    rcs = jnp.asarray(np.array([[c & 0xFFFFFFFF, c >> 32] for c in RC], np.uint32))
    return list(lax.fori_loop(0, ROUNDS, lambda i, a: tuple(_round(_U32, list(a), (rcs[i, 0], rcs[i, 1]))), tuple(lanes)))


def _absorb_all(blocks: jax.Array, permute, zero_lane, take_lane) -> list:
    def absorb(state, block):
        state = [take_lane(state[i], block, i) if i < RATE_LANES else state[i] for i in range(25)]
        return tuple(permute(state)), None

    state, _ = lax.scan(absorb, tuple([zero_lane] * 25), blocks)
    return state


def _hash_u64(blocks: jax.Array) -> jax.Array:
    zero = jnp.zeros(blocks.shape[2:], jnp.uint64)
    state = _absorb_all(blocks, permute_u64, zero, lambda lane, block, i: lane ^ block[i])
    return jnp.stack(state[:4])


def _hash_u32(blocks: jax.Array) -> jax.Array:
    zero = jnp.zeros(blocks.shape[2:], jnp.uint32)
    state = _absorb_all(blocks, permute_u32, (zero, zero),
                        lambda lane, block, i: (lane[0] ^ block[2 * i], lane[1] ^ block[2 * i + 1]))
    return jnp.stack([w for lane in state[:4] for w in lane])


CHUNK = 1024  # lanes per cache-resident piece (25-lane state; measured 2x on CPU)


def hash_blocks_u64(blocks: jax.Array) -> jax.Array:
    """Keccak-256 of padded messages: blocks (B, 17, *batch) uint64 lanes -> (4, *batch) uint64 lanes
    (the digest's little-endian 64-bit words). Trace under `x64_scope`."""
    return common.chunked(_hash_u64, blocks, CHUNK)


def hash_blocks_u32(blocks: jax.Array) -> jax.Array:
    """Keccak-256 of padded messages: blocks (B, 34, *batch) uint32 (lane i = words 2i, 2i+1: low,
    high) -> (8, *batch) uint32, the digest's 8 little-endian 32-bit words."""
    return common.chunked(_hash_u32, blocks, CHUNK)


LANES = {"u64": hash_blocks_u64, "u32": hash_blocks_u32}


def pad(msgs: np.ndarray, lanes: str = "u64") -> np.ndarray:
    """Host: (n, L) uint8 -> (B, 17, n) uint64 lanes ("u64") or (B, 34, n) uint32 words ("u32"),
    with Keccak's pad10*1 and domain byte 0x01 (Ethereum)."""
    n, length = msgs.shape
    blocks = length // RATE_BYTES + 1
    buf = np.zeros((n, blocks * RATE_BYTES), np.uint8)
    buf[:, :length] = msgs
    buf[:, length] ^= 0x01
    buf[:, -1] ^= 0x80
    if lanes == "u64":
        words = buf.view("<u8").astype(np.uint64).reshape(n, blocks, RATE_LANES)
    else:
        words = buf.view("<u4").astype(np.uint32).reshape(n, blocks, 2 * RATE_LANES)
    return np.ascontiguousarray(words.transpose(1, 2, 0))


def digest_to_bytes(words: np.ndarray) -> np.ndarray:
    """(4, n) uint64 or (8, n) uint32 little-endian digest words -> (n, 32) uint8."""
    words = np.asarray(words)
    le = "<u8" if words.dtype == np.uint64 else "<u4"
    return np.ascontiguousarray(words.T).astype(le).view(np.uint8).reshape(-1, DIGEST_BYTES)


def keccak256_batch(msgs: np.ndarray, mesh=None, lanes: str = "u64") -> np.ndarray:
    """Ethereum Keccak-256 of n messages of one length: msgs (n, L) uint8 -> (n, 32) uint8.

    Validates: msgs is a 2-D uint8 array (ValueError otherwise); `lanes` is "u64" or "u32" (both give
    the same digests). With `mesh` the batch is split over its devices. Mixed lengths:
    `keccak256_many`.
    """
    msgs = common.check_messages(msgs, "keccak256_batch")
    if lanes not in LANES:
        raise ValueError(f"keccak256_batch: lanes must be 'u64' or 'u32', got {lanes!r}")
    if msgs.shape[0] == 0:
        return np.zeros((0, DIGEST_BYTES), np.uint8)
    words = common.run_batched(LANES[lanes], pad(msgs, lanes), mesh=mesh, x64=True)
    return digest_to_bytes(words)


def keccak256_many(msgs: Sequence[bytes], mesh=None) -> list[bytes]:
    """Keccak-256 of byte strings of any lengths (one kernel call per distinct length)."""
    return common.hash_grouped(keccak256_batch, msgs, mesh)
