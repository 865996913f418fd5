"""`MerkleTree`: a binary Merkle tree built level by level on device, with batch proofs and verify.

Shape rule (documented contract): a tree over n >= 1 leaves has depth d = ceil(log2 n) unless a
larger `depth` is given, and is the tree of 2^d leaves whose missing leaves (indices n .. 2^d - 1) are
the zero leaf (32 zero bytes, or the field element 0). It is never padded by copying nodes: when a
level has an odd number of nodes, the missing right sibling is the precomputed zero hash Z_l (the root
of an all-zero subtree of height l), which is exactly what incremental fixed-depth trees
(`IncrementalMerkleTree`) compute, so `MerkleTree(leaves, depth=D).root` equals the incremental root
after appending the same leaves. A one-leaf tree of depth 0 has the leaf as its root.

Leaves are used as given (not hashed first): 32-byte values (bytes, or (32,) uint8 rows) for
"sha256"/"keccak256", ints in [0, p) for "poseidon". Parent = H(left || right) (or poseidon([left, right])).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from supervm_jax.merkle import nodes as N
from supervm_jax.pmap import BATCH_AXIS, x64_scope


class MerkleProof(NamedTuple):
    """Inclusion proof: `siblings[l]` is the sibling at level l (leaf level first); bit l of `index`
    says whether the path node at level l is a right child. Values are bytes (byte hashes) or ints."""

    hash: str
    index: int
    siblings: tuple


def _depth_for(n: int) -> int:
    return max(n - 1, 0).bit_length()


def sha256_root_on_host(leaves: Sequence[bytes]) -> bytes:
    """`MerkleTree(leaves, "sha256").root` with hashlib on the host, for n >= 1 leaves of 32 bytes:
    the same tree (depth ceil(log2 n), an odd level padded with that level's zero-subtree root).

    For callers on a CPU mesh with small trees (a block's transaction and receipt roots): OpenSSL's
    SHA-256 beats the XLA:CPU kernel there and does not queue behind other device programs."""
    level = list(leaves)
    if not level:
        raise ValueError("sha256_root_on_host: no leaves")
    for i, leaf in enumerate(level):
        if not isinstance(leaf, bytes) or len(leaf) != 32:
            raise ValueError(f"sha256_root_on_host: leaf {i} is not 32 bytes")
    zero = bytes(32)
    while len(level) > 1:
        if len(level) % 2:
            level.append(zero)
        level = [hashlib.sha256(level[k] + level[k + 1]).digest() for k in range(0, len(level), 2)]
        zero = hashlib.sha256(zero + zero).digest()
    return level[0]


class MerkleTree:
    """Merkle tree over `leaves` with hash "sha256", "keccak256" or "poseidon".

    Args:
      leaves: (n, 32) uint8 array or list of 32-byte strings (byte hashes); list of ints in [0, p)
        (poseidon). n >= 1, or n = 0 with an explicit depth (the all-zero tree).
      depth: tree depth (default ceil(log2 n)); at most 64; must satisfy n <= 2^depth.
      keep_levels: keep every level on device (needed for `proof`/`proofs`); False keeps only the
        root (half the memory of a full tree is the leaf level alone).
      mesh: a `pmap.device_mesh`; each level's hashing is split over its devices (same result).

    Raises ValueError for malformed leaves (wrong dtype/shape/length, int not in [0, p), naming the
    first bad leaf), unknown hash, bad depth. Attributes: `root`, `depth`, `n_leaves`, `hash`,
    `levels` (device arrays in the node layout of `nodes.py`, or None).
    """

    def __init__(self, leaves, hash: str = "sha256", *, depth: int | None = None, keep_levels: bool = True,
                 mesh: Mesh | None = None):
        self.hash = hash
        self._h = N.get(hash)
        words = self._h.from_values(leaves)
        n = words.shape[1]
        if depth is None:
            if n == 0:
                raise ValueError("MerkleTree: no leaves; give depth= for an all-zero tree")
            depth = _depth_for(n)
        if not isinstance(depth, int) or not 0 <= depth <= 64 or n > 2**depth:
            raise ValueError(f"MerkleTree: depth must be an int in [0, 64] with n_leaves <= 2^depth, got depth={depth!r}, n={n}")
        self.depth, self.n_leaves, self.mesh = depth, n, mesh
        zeros = N.zero_hashes(hash, depth)
        self._stacked_levels = 0
        with x64_scope():
            level, levels, start = self._sharded_subtrees(words, depth, zeros, keep_levels, mesh)
            for l in range(start, depth):
                if level.shape[1] == 0:
                    level = jnp.asarray(zeros[l + 1])
                else:
                    if level.shape[1] % 2:
                        level = jnp.concatenate([level, jnp.asarray(zeros[l])], axis=1)
                    level = N.pair_level(self._h, level)
                if keep_levels:
                    levels.append(level)
            if depth == 0 and n == 0:
                level = jnp.asarray(zeros[0])
        self._root_words = np.asarray(level)[:, :1]
        self.levels = levels if keep_levels else None
        self.root = self._h.to_values(self._root_words)[0]

    def _sharded_subtrees(self, words: np.ndarray, depth: int, zeros, keep_levels: bool, mesh: Mesh | None):
        """Subtrees per device: with D = mesh.size devices (a power of two, 2^depth >= 2 D), leaf
        block d = leaves [d 2^s, (d+1) 2^s), s = depth - log2 D, goes to device d as row d of a
        (W, D, m) array; s levels are hashed there (`pair_level_stacked`), then the D subtree roots
        come to the host and the top log2 D levels run on one device. Rows are zero-padded to the
        first row's length (zero leaves, i.e. zero subtrees: the same tree), so the work is
        D * min(n, 2^s) leaves, at most 2n. Returns (level, kept levels, next level index)."""
        n = words.shape[1]
        d_count = mesh.size if mesh is not None else 1
        if d_count < 2 or d_count & (d_count - 1) or 2 * d_count > 2**depth or n == 0:
            level = jnp.asarray(words)
            return level, [level], 0
        s = depth - (d_count.bit_length() - 1)
        width = min(n, 2**s)
        stacked = np.zeros((words.shape[0], d_count, width), words.dtype)
        for d in range(d_count):
            block = words[:, d * 2**s : d * 2**s + width]
            stacked[:, d, : block.shape[1]] = block
        level = jax.device_put(stacked, NamedSharding(mesh, PartitionSpec(None, BATCH_AXIS, None)))
        levels = [level]
        for l in range(s):
            if level.shape[2] % 2:
                z = jnp.broadcast_to(jnp.asarray(zeros[l])[:, None], (words.shape[0], d_count, 1))
                level = jnp.concatenate([level, jax.device_put(z, level.sharding)], axis=2)
            level = N.pair_level_stacked(self._h, level, mesh)
            if keep_levels:
                levels.append(level)
        self._stacked_levels = len(levels) if keep_levels else 0
        roots = np.asarray(level).reshape(words.shape[0], d_count)
        return jnp.asarray(roots), levels, s

    def _level_host(self, l: int) -> np.ndarray:
        """Level l in global order as a host (W, m_l) array, m_l = ceil(n / 2^l) real nodes (a
        per-device level is fetched row by row, not gathered on device)."""
        level = self.levels[l]
        if level.ndim == 3:
            return self._stacked_global(level, l)[:, : -(-self.n_leaves // 2**l)]
        return np.asarray(level)

    def _stacked_global(self, level: jax.Array, l: int) -> np.ndarray:
        host = np.asarray(level)  # (W, D, width_l)
        d_count = host.shape[1]
        span = 2 ** (self.depth - (d_count.bit_length() - 1) - l)  # nodes per subtree at level l
        out = np.zeros((host.shape[0], d_count * span), host.dtype)
        for d in range(d_count):
            out[:, d * span : d * span + host.shape[2]] = host[:, d]
        return out

    def __repr__(self) -> str:
        return f"MerkleTree(hash={self.hash!r}, n_leaves={self.n_leaves}, depth={self.depth})"

    # -- proofs ----------------------------------------------------------------------------------

    def _check_indices(self, indices) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise ValueError(f"MerkleTree: leaf indices must be a 1-D sequence of ints, got {indices!r}")
        idx = idx.astype(np.int64)
        bad = (idx < 0) | (idx >= self.n_leaves)
        if bad.any():
            raise ValueError(f"MerkleTree: leaf index {int(idx[np.argmax(bad)])} out of range [0, {self.n_leaves})")
        return idx

    def proofs(self, indices: Sequence[int]) -> list[MerkleProof]:
        """Inclusion proofs of many leaves, gathered on device level by level (one gather per level).
        ValueError if an index is out of [0, n_leaves) or the tree was built with keep_levels=False."""
        if self.levels is None:
            raise ValueError("MerkleTree: built with keep_levels=False; rebuild with keep_levels=True for proofs")
        idx = self._check_indices(indices)
        zeros = N.zero_hashes(self.hash, self.depth)
        per_level = []
        for l in range(self.depth):
            level = self.levels[l]
            sib = (idx >> l) ^ 1
            if level.ndim == 3:  # a per-device subtree level: index it on the host
                host = self._level_host(l)
                inside = sib < host.shape[1]
                got = host[:, np.minimum(sib, host.shape[1] - 1)]
            else:
                inside = sib < level.shape[1]
                with x64_scope():
                    got = np.asarray(jnp.take(level, jnp.asarray(np.minimum(sib, level.shape[1] - 1)), axis=1))
            got = np.where(inside[None], got, zeros[l])
            per_level.append(self._h.to_values(got))
        return [MerkleProof(self.hash, int(i), tuple(lv[k] for lv in per_level)) for k, i in enumerate(idx)]

    def proof(self, index: int) -> MerkleProof:
        """Inclusion proof of leaf `index` (ValueError if out of range)."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise ValueError(f"MerkleTree.proof: index must be an int, got {index!r}")
        return self.proofs([index])[0]

    def leaf(self, index: int):
        """The leaf value at `index`."""
        i = self._check_indices([index])[0]
        if self.levels is None:
            raise ValueError("MerkleTree: built with keep_levels=False")
        return self._h.to_values(self._level_host(0)[:, i : i + 1])[0]

    # -- verification ----------------------------------------------------------------------------

    @staticmethod
    def verify(root, leaf, proof: MerkleProof) -> bool:
        """True iff `proof` proves `leaf` at `proof.index` under `root`.

        Returns False (never raises) for any proof that does not verify: a changed sibling, leaf,
        index or root, a sibling that is not a valid node value (wrong length, int >= p), an index
        outside [0, 2^depth). Raises ValueError only if `proof` is not a MerkleProof of a known hash.
        """
        return bool(MerkleTree.verify_batch(root, [leaf], [proof])[0])

    @staticmethod
    def verify_batch(root, leaves: Sequence, proofs: Sequence[MerkleProof], mesh: Mesh | None = None) -> np.ndarray:
        """Verifies many proofs against one root on device; returns a bool array (False entries as in
        `verify`). Proofs of different depths are grouped, one pass per depth."""
        if len(leaves) != len(proofs):
            raise ValueError(f"verify_batch: {len(leaves)} leaves but {len(proofs)} proofs")
        out = np.zeros(len(proofs), bool)
        groups: dict[tuple[str, int], list[int]] = {}
        for i, p in enumerate(proofs):
            if not isinstance(p, MerkleProof):
                raise ValueError(f"verify_batch: proof {i} is {type(p).__name__}, not MerkleProof")
            h = N.get(p.hash)
            ok = (isinstance(p.index, (int, np.integer)) and not isinstance(p.index, bool)
                  and isinstance(p.siblings, (tuple, list)) and len(p.siblings) <= 64
                  and 0 <= p.index < 2 ** len(p.siblings)
                  and h.check_value(leaves[i]) and h.check_value(root)
                  and all(h.check_value(s) for s in p.siblings))
            if ok:
                groups.setdefault((p.hash, len(p.siblings)), []).append(i)
        for (name, depth), members in groups.items():
            h = N.get(name)
            cur = h.from_values([leaves[i] for i in members])
            index = np.array([proofs[i].index for i in members], np.uint64)
            with x64_scope():
                cur = jnp.asarray(cur)
                for l in range(depth):
                    sib = jnp.asarray(h.from_values([proofs[i].siblings[l] for i in members], "sibling"))
                    right = jnp.asarray(((index >> np.uint64(l)) & np.uint64(1)).astype(bool))[None]
                    cur = N.pair_level(h, N.interleave(jnp.where(right, sib, cur), jnp.where(right, cur, sib)), mesh)
                got = np.asarray(cur)
            want = h.from_values([root])
            out[members] = (got == want).all(axis=0)
        return out
