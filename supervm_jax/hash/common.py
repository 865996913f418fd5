"""Host-side plumbing shared by the hash kernels: input checks, batch bucketing, device sharding.

Kernels take one batched array whose **last** axis is the batch (messages, or tree nodes) plus
optional constants shared by the whole batch. `run_batched` pads the batch axis to a bucket size
(so many batch sizes share a few compiled kernels), optionally splits it over a mesh with
`shard_map` (constants replicated), and cuts the padding off again. Every hash lane is independent,
so sharded and unsharded results are identical.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, PartitionSpec

from supervm_jax.pmap import BATCH_AXIS, mesh_jit, pow2_bucket, shard_map, x64_scope


def check_messages(msgs, name: str) -> np.ndarray:
    """(n, L) uint8 array (numpy or jax) -> numpy array; ValueError naming the problem otherwise."""
    if isinstance(msgs, (bytes, bytearray, list, tuple)):
        raise ValueError(f"{name}: expected a uint8 array of shape (n, L), got {type(msgs).__name__} "
                         "(use the *_many function for a list of bytes)")
    dtype = getattr(msgs, "dtype", None)
    ndim = getattr(msgs, "ndim", None)
    if dtype != np.uint8 or ndim != 2:
        raise ValueError(f"{name}: expected a uint8 array of shape (n, L), got dtype {dtype} "
                         f"shape {getattr(msgs, 'shape', None)}")
    return np.ascontiguousarray(np.asarray(msgs))


def bucket(n: int) -> int:
    """Padded batch length: a power of two up to 4096, then a multiple of 2^(bit_length(n) - 4)
    (at most 1/8 padding), so a process compiles only a few kernels per octave of batch sizes."""
    if n <= 4096:
        return pow2_bucket(n, 8)
    step = 1 << (n.bit_length() - 4)
    return -(-n // step) * step


def pad_batch(x, length: int):
    extra = length - x.shape[-1]
    if extra == 0:
        return x
    widths = [(0, 0)] * (x.ndim - 1) + [(0, extra)]
    return np.pad(x, widths) if isinstance(x, np.ndarray) else jnp.pad(x, widths)


@functools.lru_cache(maxsize=256)
def _sharded(fn: Callable, mesh: Mesh, ndims: tuple[int, ...], out_ndim: int, n_batched: int):
    specs = tuple(
        PartitionSpec(*([None] * (d - 1) + [BATCH_AXIS])) if i < n_batched else PartitionSpec()
        for i, d in enumerate(ndims)
    )
    out = PartitionSpec(*([None] * (out_ndim - 1) + [BATCH_AXIS]))
    return mesh_jit(shard_map(fn, mesh=mesh, in_specs=specs, out_specs=out), mesh)


def run_batched(fn: Callable, *arrays, mesh: Mesh | None = None, n_batched: int = 1, x64: bool = False,
                bucketed: bool = True) -> jax.Array:
    """fn(*arrays) where the first `n_batched` arrays share a batch (last) axis of length n and the
    rest are constants shared by the batch. `fn` is jitted (cached per fn); with `mesh` the batch is
    split over the mesh's devices. Returns fn's output (batch last) with the padding removed."""
    n = arrays[0].shape[-1]
    length = bucket(n) if bucketed else n
    if mesh is not None:
        length = -(-length // mesh.size) * mesh.size
    args = [pad_batch(a, length) if i < n_batched else a for i, a in enumerate(arrays)]
    scope = x64_scope() if x64 else _nullscope()
    with scope:
        if mesh is None:
            out = _jit(fn)(*args)
        else:
            out_ndim = jax.eval_shape(fn, *args).ndim
            out = _sharded(fn, mesh, tuple(np.ndim(a) for a in args), out_ndim, n_batched)(*args)
    return out[..., :n]


class _nullscope:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@functools.lru_cache(maxsize=256)
def _jit(fn: Callable) -> Callable:
    return jax.jit(fn)


def chunked(kernel: Callable, blocks: jax.Array, chunk: int, *consts) -> jax.Array:
    """kernel(blocks, *consts) for blocks (B, words, n) with a 1-D batch, run as pieces of about
    `chunk` lanes one after another (`lax.map`), so the loop state of a piece stays in cache through
    all rounds. Pieces are balanced (n split into ceil(n / chunk) near-equal parts, rounded up to a
    multiple of 8), so padding is under 8 lanes per piece. Output (words_out, n)."""
    n = blocks.shape[-1]
    if blocks.ndim != 3 or n <= chunk:
        return kernel(blocks, *consts)
    pieces = -(-n // chunk)
    size = -(-n // pieces)
    size = -(-size // 8) * 8
    x = jnp.pad(blocks, [(0, 0), (0, 0), (0, pieces * size - n)])
    x = x.reshape(blocks.shape[:2] + (pieces, size)).transpose(2, 0, 1, 3)
    out = lax.map(lambda piece: kernel(piece, *consts), x)  # (pieces, words_out, size)
    return out.transpose(1, 0, 2).reshape(out.shape[1], pieces * size)[:, :n]


def hash_grouped(batch_fn: Callable, msgs: Sequence[bytes], mesh: Mesh | None) -> list[bytes]:
    """Hashes byte strings of mixed lengths with `batch_fn((n, L) uint8) -> (n, 32) uint8`, one call
    per distinct length. ValueError if an element is not bytes-like."""
    groups: dict[int, list[int]] = {}
    for i, m in enumerate(msgs):
        if not isinstance(m, (bytes, bytearray, memoryview)):
            raise ValueError(f"message {i} is {type(m).__name__}, not bytes")
        groups.setdefault(len(m), []).append(i)
    out: list[bytes] = [b""] * len(msgs)
    for length, idx in groups.items():
        arr = np.frombuffer(b"".join(bytes(msgs[i]) for i in idx), np.uint8).reshape(len(idx), length)
        digests = batch_fn(arr, mesh=mesh)
        for i, d in zip(idx, digests):
            out[i] = d.tobytes()
    return out
