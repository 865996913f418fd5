"""`UpdatableMerkleTree`: a sparse fixed-depth Merkle tree whose leaves are overwritten in batches,
at a cost proportional to the leaves touched (an account-state commitment of a blockchain node).

    tree = UpdatableMerkleTree(depth=32, hash="sha256")        # all leaves the zero leaf
    root = tree.update([5, 9, 5], [a, b, c])                     # leaf 5 = c (the later one wins), leaf 9 = b
    proof = tree.proof(9)
    UpdatableMerkleTree.verify(root, 9, b, proof)                # True: host code only (hashlib)
    MerkleTree.verify(root, b, proof)                            # True as well (the same MerkleProof)

The tree is the tree of 2^depth leaves of `MerkleTree(dense_leaves, hash, depth=depth)` (docs/HASHING.md):
leaves are used as given (32-byte values for "sha256"/"keccak256", ints in [0, p) for "poseidon"), an
unset leaf is the zero leaf, parent = H(left || right) (poseidon([left, right])), Z_l the root of an
all-zero subtree of height l. So `tree.root == MerkleTree(dense_leaves, hash, depth=depth).root`.

Storage: one dict per level, node index -> node value. The leaf level holds every index ever set
(zero-valued ones too, so `len(tree)` counts them); levels 1..depth hold only nodes that differ from
Z_l (a node whose subtree is all zero is absent and read as Z_l). For n leaves at indices 0..n-1 (the
order-of-first-appearance assignment) that is about 2n nodes; n scattered indices cost up to
n * (depth - log2 n + 2).

`update(indices, leaves)` works level by level: the dirty parents of level l + 1 are the sorted unique
parents (i >> 1) of the dirty nodes of level l; their children come from the dicts (new values of this
update first, Z_l when absent) and all dirty parents of one level are hashed by one `nodes.pair_level`
call (the existing pair kernel; split over `mesh` like `MerkleTree` / `IncrementalMerkleTree`; the
batch is padded on the host to the kernel's fixed chunk size, so no per-size compiles). Levels with
fewer than `host_pairs` dirty parents (the top of the tree, where a device call costs more than it
saves) are hashed on the host with hashlib when the hash is "sha256". Cost: sum over levels of the
dirty parents, at most k per level for k distinct indices and at most 2^(depth-l-1) at level l + 1,
i.e. O(k * depth) hashes, never O(2^depth).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from supervm_jax.merkle import nodes as N
from supervm_jax.merkle.tree import MerkleProof, MerkleTree
from supervm_jax.pmap import mesh_platform, x64_scope

# Levels with fewer dirty parents than this are hashed on the host (hashlib) when hash == "sha256".
# 0 sends every level to the device kernel, math.inf every level to the host (same roots). The
# default is chosen by the mesh's platform: on a GPU a device call pays from HOST_PAIRS parents; on
# XLA:CPU hashlib (OpenSSL) beats the kernel below CPU_HOST_PAIRS (10,000 dirty leaves of a
# 10,000-leaf tree: 0.017 s on the host, 0.035 s through the kernel on 2 CPU devices; 2^17: 0.27 s
# CPU time either way), and a host level does not queue behind other device programs (the node's
# root runs while the next block's signatures occupy the devices).
HOST_PAIRS = 64
CPU_HOST_PAIRS = 16_384


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _host_pair(name: str):
    """A host function (left, right) -> parent for hash `name`, or None where no host code exists."""
    if name == "sha256":
        return lambda a, b: hashlib.sha256(a + b).digest()
    if name == "keccak256":
        try:  # pycryptodome: a test dependency, not a required one
            from Crypto.Hash import keccak
        except ImportError:  # pragma: no cover - depends on the environment
            return None
        return lambda a, b: keccak.new(digest_bits=256, data=a + b).digest()
    if name == "poseidon":
        from supervm_jax.hash.poseidon_constants import hash_reference

        return lambda a, b: hash_reference([a, b])
    return None  # pragma: no cover


class UpdatableMerkleTree:
    """Sparse Merkle tree of fixed `depth` (an int in [1, 64]) over 2^depth leaves, updated in batches.

    Args:
      depth: number of levels above the leaves; the tree has 2^depth leaf slots, all the zero leaf at first.
      hash: "sha256", "keccak256" or "poseidon" (values: 32-byte `bytes`, or ints in [0, p)).
      mesh: a `pmap.device_mesh`; each level's device batch is split over its devices (same roots).
      host_pairs: levels with fewer dirty parents than this are hashed on the host with hashlib
        (sha256 only); default by the mesh's platform (default backend without a mesh): the module
        constant `CPU_HOST_PAIRS` (16,384) on CPU, `HOST_PAIRS` (64) elsewhere. 0: always the
        device kernel; math.inf: always the host.

    Attributes: `root` (bytes(32) for sha256/keccak256, an int for poseidon), `depth`, `hash`, `mesh`,
    `n_set` / `len(tree)` (distinct indices ever set, including ones set to the zero leaf).

    Raises ValueError for a depth outside [1, 64] or an unknown hash.
    """

    def __init__(self, depth: int = 32, hash: str = "sha256", mesh: Mesh | None = None, *,
                 host_pairs: float | None = None):
        if not _is_int(depth) or not 1 <= depth <= 64:
            raise ValueError(f"UpdatableMerkleTree: depth must be an int in [1, 64], got {depth!r}")
        self._h = N.get(hash)
        self.hash, self.depth, self.mesh = hash, int(depth), mesh
        if host_pairs is None:
            host_pairs = CPU_HOST_PAIRS if mesh_platform(mesh) == "cpu" else HOST_PAIRS
        self.host_pairs = host_pairs
        self._zeros = [self._h.to_values(z)[0] for z in N.zero_hashes(hash, self.depth)]  # Z_0 .. Z_depth
        self._levels: list[dict] = [{} for _ in range(self.depth + 1)]  # level depth holds the root (if nonzero)
        self._host = _host_pair(hash) if hash == "sha256" else None

    # -- reading -----------------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return 1 << self.depth

    @property
    def root(self):
        return self._levels[self.depth].get(0, self._zeros[self.depth])

    @property
    def n_set(self) -> int:
        return len(self._levels[0])

    def __len__(self) -> int:
        return self.n_set

    def __repr__(self) -> str:
        return f"UpdatableMerkleTree(hash={self.hash!r}, depth={self.depth}, n_set={self.n_set})"

    def _check_index(self, index, what: str) -> int:
        if not _is_int(index) or not 0 <= index < self.capacity:
            raise ValueError(f"UpdatableMerkleTree.{what}: index must be an int in [0, 2^{self.depth}), got {index!r}")
        return int(index)

    def leaf(self, index: int):
        """The leaf at `index` (the zero leaf if never set). ValueError if not an int in [0, 2^depth)."""
        return self._levels[0].get(self._check_index(index, "leaf"), self._zeros[0])

    def proof(self, index: int) -> MerkleProof:
        """Inclusion proof of leaf `index` (set or not): `MerkleProof(hash, index, siblings)`, siblings
        leaf level first. Checked by `UpdatableMerkleTree.verify` (host) or `MerkleTree.verify` (device).
        O(depth) dict reads, no hashing. ValueError if `index` is not an int in [0, 2^depth)."""
        i = self._check_index(index, "proof")
        sibs = tuple(self._levels[l].get((i >> l) ^ 1, self._zeros[l]) for l in range(self.depth))
        return MerkleProof(self.hash, i, sibs)

    # -- updating ----------------------------------------------------------------------------------

    def update(self, indices: Sequence[int], leaves) -> object:
        """Sets leaf `indices[j]` to `leaves[j]` for all j (a later duplicate of an index wins); returns the new root.

        Args:
          indices: sequence (or 1-D integer array) of k ints in [0, 2^depth).
          leaves: k leaf values: 32-byte strings or a (k, 32) uint8 array (sha256/keccak256), ints in
            [0, p) (poseidon). Setting the zero leaf is allowed (the index still counts in `n_set`).

        Validated before anything changes (ValueError naming the position: "index 3: ...", or the
        leaf check of `MerkleTree`, "sha256 leaf 3: ..."): equal lengths, every index an int in range,
        every leaf a valid value. On any error the tree is unchanged. An empty update returns the root.

        Cost: one `pair_level` call (device) or d hashlib calls (host, d < host_pairs) per level, d the
        number of dirty parents of that level (<= k), plus dict reads of their 2d children.
        """
        if len(indices) != len(leaves):
            raise ValueError(f"UpdatableMerkleTree.update: {len(indices)} indices but {len(leaves)} leaves")
        idx = self._checked_indices(indices)
        if not idx:
            return self.root
        if self.hash != "poseidon" and set(map(type, leaves)) == {bytes} and set(map(len, leaves)) == {32}:
            values = list(leaves)  # already the normal form
        else:
            values = self._h.to_values(self._h.from_values(leaves))  # validates (naming the leaf), normalizes
        new0 = dict(zip(idx, values))  # later duplicates win

        staged = [new0]  # staged[l]: new values of the dirty nodes of level l
        dirty = np.unique(np.fromiter(new0.keys(), np.uint64, len(new0)))
        one = np.uint64(1)
        for l in range(self.depth):
            parents = np.unique(dirty >> one)
            left_keys = (parents << one).tolist()
            new_l, old_l, z = staged[l], self._levels[l], self._zeros[l]
            lefts = [new_l[k] if k in new_l else old_l.get(k, z) for k in left_keys]
            rights = [new_l[k] if k in new_l else old_l.get(k, z) for k in (k + 1 for k in left_keys)]
            staged.append(dict(zip(parents.tolist(), self._hash_level(lefts, rights))))
            dirty = parents

        # commit (nothing above raised): leaves as set; inner nodes equal to Z_l are dropped
        self._levels[0].update(new0)
        for l in range(1, self.depth + 1):
            level, z = self._levels[l], self._zeros[l]
            for k, v in staged[l].items():
                if v == z:
                    level.pop(k, None)
                else:
                    level[k] = v
        return self.root

    def _checked_indices(self, indices: Sequence[int]) -> list[int]:
        """`indices` as a list of ints; ValueError naming the first that is not an int in [0, 2^depth)."""
        if set(map(type, indices)) <= {int} and (not len(indices) or 0 <= min(indices) and max(indices) < self.capacity):
            return list(indices)  # plain ints in range: the common case, checked whole
        idx = []
        for pos, i in enumerate(indices):
            if not _is_int(i) or not 0 <= i < self.capacity:
                raise ValueError(f"UpdatableMerkleTree.update: index {pos}: expected an int in [0, 2^{self.depth}), got {i!r}")
            idx.append(int(i))
        return idx

    def _hash_level(self, lefts: list, rights: list) -> list:
        """Parents H(lefts[j] || rights[j]): on the host for small sha256 levels, else one device batch."""
        m = len(lefts)
        if self._host is not None and m < self.host_pairs:
            return [self._host(a, b) for a, b in zip(lefts, rights)]
        flat = [None] * (2 * m)
        flat[0::2], flat[1::2] = lefts, rights
        if isinstance(flat[0], bytes):  # byte hashes: one (2m, 32) array, no per-value checks
            words = self._h.from_values(np.frombuffer(b"".join(flat), np.uint8).reshape(2 * m, 32))
        else:
            words = self._h.from_values(flat, "node")
        padded = self._padded_pairs(m)
        if padded > m:  # pad to the kernel's chunk size here, so pair_level sees only fixed shapes
            words = np.pad(words, ((0, 0), (0, 2 * (padded - m))))
        with x64_scope():
            out = np.asarray(N.pair_level(self._h, jnp.asarray(words), self.mesh))
        return self._h.to_values(out[:, :m])

    def _padded_pairs(self, m: int) -> int:
        """The pair count pair_level runs for m pairs: the smallest chunk that holds them, or whole large chunks."""
        devices = self.mesh.size if self.mesh is not None else 1
        sizes = N.chunk_sizes(self._h)
        for size in sizes:
            if m <= size * devices:
                return size * devices
        large = sizes[-1] * devices
        return -(-m // large) * large

    # -- light-client check ------------------------------------------------------------------------

    @staticmethod
    def verify(root, index: int, leaf, proof: MerkleProof, hash: str = "sha256") -> bool:
        """True iff `proof` proves `leaf` at `index` under `root` for `hash`; pure host code (hashlib
        for sha256, pycryptodome for keccak256, the plain-int Poseidon model for poseidon; keccak256
        falls back to `MerkleTree.verify` when pycryptodome is missing).

        Returns False (never raises) for anything that does not verify: a changed root, leaf or
        sibling, `index != proof.index`, an index outside [0, 2^len(siblings)), more than 64 siblings,
        a value that is not a valid node (wrong length, int >= p), `proof.hash != hash`.
        Raises ValueError only for an unknown `hash` or a `proof` that is not a `MerkleProof`.
        """
        h = N.get(hash)
        if not isinstance(proof, MerkleProof):
            raise ValueError(f"UpdatableMerkleTree.verify: proof is {type(proof).__name__}, not MerkleProof")  # noqa: TRY004 (as MerkleTree.verify)
        sibs = proof.siblings
        if (proof.hash != hash or not _is_int(index) or not _is_int(proof.index) or index != proof.index
                or not isinstance(sibs, (tuple, list)) or len(sibs) > 64 or not 0 <= index < (1 << len(sibs))
                or not h.check_value(root) or not h.check_value(leaf) or not all(h.check_value(s) for s in sibs)):
            return False
        pair = _host_pair(hash)
        if pair is None:  # pragma: no cover - keccak256 without pycryptodome
            return MerkleTree.verify(root, leaf, proof)
        norm = (lambda v: int(v)) if hash == "poseidon" else (lambda v: bytes(v.tobytes() if isinstance(v, np.ndarray) else v))
        cur, index = norm(leaf), int(index)
        for l, s in enumerate(sibs):
            cur = pair(norm(s), cur) if (index >> l) & 1 else pair(cur, norm(s))
        return cur == norm(root)


__all__ = ["CPU_HOST_PAIRS", "HOST_PAIRS", "UpdatableMerkleTree"]
