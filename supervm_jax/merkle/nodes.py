"""Tree nodes per hash: their device layout, the two-to-one node kernel, and host conversions.

A node batch is an array of shape (W, k), batch last:

| hash        | W | dtype  | meaning                                             | value type |
|-------------|---|--------|-----------------------------------------------------|------------|
| "sha256"    | 8 | uint32 | the 32-byte digest as big-endian words              | 32 bytes   |
| "keccak256" | 4 | uint64 | the 32-byte digest as little-endian 64-bit lanes    | 32 bytes   |
| "poseidon"  | 8 | uint32 | a BN254 Fr element, Montgomery limbs (limb-major)   | int < p    |

A parent is H(left || right) for the byte hashes (one 64-byte message; SHA-256's second, padding-only
block uses a host-precomputed schedule) and poseidon([left, right]) (t = 3) for Poseidon.

`pair_level(nodes)` hashes consecutive pairs (2i, 2i+1) of a (W, 2m) batch with fixed-shape compiled
chunks: a level runs as one chunk of the smallest size 64 * 8^k pairs per device that holds it, or
as chunks of the hash's largest size `chunk_pairs` (8192 SHA-256, 4096 Keccak, 512 Poseidon), the
last one padded; so a tree of any size compiles at most four kernels per hash and mesh. With a mesh, each chunk is split over the devices with `shard_map`.

`pair_level_stacked(nodes)` is the tree builder's sharded form: a (W, D, 2m) array whose row d lives
on device d holds D independent subtrees; each device hashes its own row, so no data crosses devices
until the D subtree roots are collected (slicing or concatenating a batch-sharded array instead
makes XLA insert all-gathers, which deadlocked the 2-device CPU backend under load).
"""

from __future__ import annotations

import functools
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from supervm_jax.hash import keccak, poseidon, sha256
from supervm_jax.hash.poseidon_constants import P
from supervm_jax.pmap import BATCH_AXIS, collect_target, mesh_jit, shard_map, x64_scope

SMALL_PAIRS = 64  # pairs per device in the smallest chunk (small levels, proofs, appends)
BUCKET_STEP = 8  # chunk sizes are SMALL_PAIRS * 8^k, up to the hash's `chunk_pairs`

_R = pow(2, 256, P)
_R_INV = pow(_R, -1, P)


class NodeHash:
    """One hash's node layout and conversions (see the module table)."""

    name: str
    width: int
    dtype: np.dtype
    chunk_pairs: int  # pairs per device in the largest chunk (about 0.01-0.1 s of work)

    def pair(self, left: jax.Array, right: jax.Array) -> jax.Array:  # pragma: no cover - interface
        raise NotImplementedError

    def from_values(self, values, what: str = "leaf") -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def to_values(self, words: np.ndarray) -> list:  # pragma: no cover
        raise NotImplementedError

    def check_value(self, value) -> bool:  # pragma: no cover
        raise NotImplementedError

    @property
    def zero_words(self) -> np.ndarray:
        """The zero leaf (32 zero bytes / field element 0) as (W, 1)."""
        return np.zeros((self.width, 1), self.dtype)


def _as_bytes(value):
    """A (32,) uint8 array (a row of the leaves array) as bytes; anything else unchanged."""
    if isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.shape == (32,):
        return value.tobytes()
    return value


class _BytesHash(NodeHash):
    def from_values(self, values, what: str = "leaf") -> np.ndarray:
        """(n, 32) uint8 array or a sequence of 32-byte strings -> (W, n) words. ValueError if malformed."""
        if isinstance(values, np.ndarray) or hasattr(values, "dtype"):
            arr = np.asarray(values)
            if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] != 32:
                raise ValueError(f"{self.name} {what}s: expected a uint8 array of shape (n, 32), got {arr.dtype} {arr.shape}")
        else:
            values = [_as_bytes(v) for v in values]
            for i, v in enumerate(values):
                if not isinstance(v, (bytes, bytearray)) or len(v) != 32:
                    raise ValueError(f"{self.name} {what} {i}: expected 32 bytes, got {type(v).__name__} "
                                     f"of length {len(v) if hasattr(v, '__len__') else '?'}")
            arr = np.frombuffer(b"".join(bytes(v) for v in values), np.uint8).reshape(len(values), 32)
        return self._bytes_to_words(np.ascontiguousarray(arr))

    def to_values(self, words: np.ndarray) -> list[bytes]:
        raw = self._words_to_bytes(np.asarray(words))
        return [raw[i].tobytes() for i in range(raw.shape[0])]

    def check_value(self, value) -> bool:
        value = _as_bytes(value)
        return isinstance(value, (bytes, bytearray)) and len(value) == 32


class Sha256Nodes(_BytesHash):
    name, width, dtype, chunk_pairs = "sha256", 8, np.dtype(np.uint32), 8192
    # A 64-byte message's second block is all padding: 0x80, zeros, bit length 512.
    _TAIL_KW = sha256.schedule(np.array([0x80000000] + [0] * 14 + [512], np.uint32))

    def pair(self, left, right):
        block = jnp.concatenate([left, right], axis=0)[None]  # (1, 16, k)
        return sha256.hash_blocks(block, jnp.asarray(self._TAIL_KW)[None])

    _bytes_to_words = staticmethod(sha256.bytes_to_digest_words)
    _words_to_bytes = staticmethod(sha256.digest_words_to_bytes)


class Keccak256Nodes(_BytesHash):
    name, width, dtype, chunk_pairs = "keccak256", 4, np.dtype(np.uint64), 4096

    def pair(self, left, right):
        k = left.shape[1:]
        pad_first = jnp.full((1,) + k, 0x01, jnp.uint64)
        zeros = jnp.zeros((7,) + k, jnp.uint64)
        pad_last = jnp.full((1,) + k, 0x80 << 56, jnp.uint64)
        block = jnp.concatenate([left, right, pad_first, zeros, pad_last], axis=0)[None]  # (1, 17, k)
        return keccak.hash_blocks_u64(block)

    @staticmethod
    def _bytes_to_words(arr):
        return np.ascontiguousarray(arr.view("<u8").astype(np.uint64).T)

    @staticmethod
    def _words_to_bytes(words):
        return keccak.digest_to_bytes(words)


class PoseidonNodes(NodeHash):
    name, width, dtype, chunk_pairs = "poseidon", 8, np.dtype(np.uint32), 512

    def pair(self, left, right):
        return poseidon.hash2_kernel(left, right)

    def check_value(self, value) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < P

    def from_values(self, values, what: str = "leaf") -> np.ndarray:
        """Sequence of ints in [0, p) -> (8, n) Montgomery limbs. ValueError names the first bad one."""
        values = list(values)
        for i, v in enumerate(values):
            if not self.check_value(v):
                raise ValueError(f"poseidon {what} {i}: expected an int in [0, p) (BN254 Fr), got {v!r}")
        raw = b"".join((int(v) * _R % P).to_bytes(32, "little") for v in values)
        return np.ascontiguousarray(np.frombuffer(raw, "<u4").astype(np.uint32).reshape(len(values), 8).T)

    def to_values(self, words: np.ndarray) -> list[int]:
        raw = np.ascontiguousarray(np.asarray(words).T).astype("<u4").tobytes()
        return [int.from_bytes(raw[i : i + 32], "little") * _R_INV % P for i in range(0, len(raw), 32)]


HASHES: dict[str, NodeHash] = {h.name: h for h in (Sha256Nodes(), Keccak256Nodes(), PoseidonNodes())}


def get(name: str) -> NodeHash:
    if name not in HASHES:
        raise ValueError(f"unknown hash {name!r}; expected one of {', '.join(HASHES)}")
    return HASHES[name]


@functools.lru_cache(maxsize=64)
def _chunk_kernel(name: str, mesh: Mesh | None, pairs_per_device: int):
    """Jitted (W, 2 * D * pairs_per_device) -> (W, D * pairs_per_device): hashes pairs (2i, 2i+1)."""
    h = HASHES[name]

    def local(x):
        return h.pair(x[:, 0::2], x[:, 1::2])

    if mesh is None:
        return jax.jit(local)
    spec = PartitionSpec(None, BATCH_AXIS)
    return mesh_jit(shard_map(local, mesh=mesh, in_specs=(spec,), out_specs=spec), mesh)


@functools.lru_cache(maxsize=64)
def _stacked_kernel(name: str, mesh: Mesh, pairs_per_device: int):
    """Jitted (W, D, 2 * pairs_per_device) -> (W, D, pairs_per_device), axis 1 split over the mesh:
    device d hashes the pairs of its own row (its subtree); no data crosses devices."""
    h = HASHES[name]

    def local(x):
        flat = x.reshape(x.shape[0], -1)
        return h.pair(flat[:, 0::2], flat[:, 1::2]).reshape(x.shape[0], 1, -1)

    spec = PartitionSpec(None, BATCH_AXIS, None)
    return mesh_jit(shard_map(local, mesh=mesh, in_specs=(spec,), out_specs=spec), mesh)


def chunk_sizes(h: NodeHash) -> list[int]:
    """Pairs per device of the compiled chunk kernels: SMALL_PAIRS * BUCKET_STEP^k, then chunk_pairs."""
    sizes = [SMALL_PAIRS]
    while sizes[-1] * BUCKET_STEP < h.chunk_pairs:
        sizes.append(sizes[-1] * BUCKET_STEP)
    return sizes + [h.chunk_pairs] if sizes[-1] < h.chunk_pairs else sizes


def _run_chunks(nodes: jax.Array, m: int, sizes: list[int], scale: int, kernel_for) -> jax.Array:
    """Pairs along the last axis of `nodes` (..., 2m): one chunk of the smallest size that holds
    the level, or chunks of the largest size (last one padded). `scale` = devices per chunk row."""
    pad = [(0, 0)] * (nodes.ndim - 1)
    for size in sizes:
        if m <= size * scale:
            x = jnp.pad(nodes, pad + [(0, 2 * (size * scale - m))])
            return kernel_for(size)(x)[..., :m]
    large = sizes[-1] * scale
    kernel = kernel_for(sizes[-1])
    outs = []
    for start in range(0, m, large):
        stop = min(start + large, m)
        x = nodes[..., 2 * start : 2 * stop]
        if stop - start < large:
            x = jnp.pad(x, pad + [(0, 2 * (large - (stop - start)))])
        outs.append(kernel(x)[..., : stop - start])
    return outs[0] if len(outs) == 1 else jnp.concatenate(outs, axis=-1)


def pair_level(h: NodeHash, nodes: jax.Array, mesh: Mesh | None = None) -> jax.Array:
    """(W, 2m) nodes -> (W, m) parents, in fixed-shape chunks (see module docstring). With a mesh
    each chunk is split over its devices and the parents are collected on the mesh's first device
    (a copy, no collective)."""
    m = nodes.shape[1] // 2
    devices = mesh.size if mesh is not None else 1

    def kernel_for(size):
        kernel = _chunk_kernel(h.name, mesh, size)
        if mesh is None:
            return kernel
        return _on_device(kernel, NamedSharding(mesh, PartitionSpec(None, BATCH_AXIS)), collect_target(mesh))

    with x64_scope():
        return _run_chunks(nodes, m, chunk_sizes(h), devices, kernel_for)


def pair_level_stacked(h: NodeHash, nodes: jax.Array, mesh: Mesh) -> jax.Array:
    """(W, D, 2m) -> (W, D, m): one level of D independent subtrees, row d on device d."""
    m = nodes.shape[2] // 2
    with x64_scope():
        return _run_chunks(nodes, m, chunk_sizes(h), 1, lambda size: _stacked_kernel(h.name, mesh, size))


def _on_device(kernel, spread, target):
    """Scatter the input over the mesh and bring the output to `target` (`pmap.collect_target`: the
    mesh's first device, a copy with no collective; replicated when the mesh spans processes)."""
    return lambda x: jax.device_put(kernel(jax.device_put(x, spread)), target)


def interleave(left: jax.Array, right: jax.Array) -> jax.Array:
    """(W, k), (W, k) -> (W, 2k) with left at even and right at odd positions (pair_level's input)."""
    return jnp.stack([left, right], axis=-1).reshape(left.shape[0], -1)


@functools.lru_cache(maxsize=None)
def zero_hashes(name: str, depth: int) -> tuple[np.ndarray, ...]:
    """Z_0 .. Z_depth as (W, 1) numpy words: Z_0 the zero leaf, Z_(l+1) = H(Z_l, Z_l) (the root of
    an all-zero subtree of height l+1)."""
    h = HASHES[name]
    if depth == 0:
        return (h.zero_words,)
    below = zero_hashes(name, depth - 1)
    with x64_scope():
        z = jnp.asarray(below[-1])
        return below + (np.asarray(pair_level(h, interleave(z, z))),)


