"""`IncrementalMerkleTree`: append-only Merkle tree of fixed depth with a root history
(the Tornado Cash / Semaphore construction), with batch append on device.

State per level l: `filled[l]`, the latest node at an even (left) position of level l (Tornado's
"filledSubtrees"), plus the zero hashes Z_l. Appending one leaf walks up the path: at a right
position the left sibling is `filled[l]` (complete by then), at a left position the right sibling
is Z_l and the node becomes `filled[l]`: O(depth) hashes per leaf.

`append_batch(leaves)` does the same for a run of k new leaves one level at a time: the changed
positions at level l form a range [a, b); it is widened on the left by `filled[l]` when a is odd and
on the right by Z_l when b is odd, hashed as one batch (one kernel per level, k/2^l + 1 hashes), and
`filled[l]` is set to the last even position of the range. Roots after every append call are kept
(the last `root_history` of them, the empty tree's root first); `append_batch` records one root for
the whole batch. The root always equals `MerkleTree(all_leaves, hash, depth=depth).root`.
"""

from __future__ import annotations

import collections

import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from supervm_jax.merkle import nodes as N
from supervm_jax.pmap import x64_scope


class IncrementalMerkleTree:
    """Append-only tree of fixed `depth` (1..64) with hash "sha256", "keccak256" or "poseidon".

    Raises ValueError for a bad depth, a malformed leaf (as `MerkleTree`), or an append past
    capacity 2^depth (the tree is left unchanged). `root` is the current root, `roots` the history
    (oldest first), `n_leaves` the number appended.
    """

    def __init__(self, depth: int, hash: str = "sha256", *, root_history: int = 30, mesh: Mesh | None = None):
        if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 64:
            raise ValueError(f"IncrementalMerkleTree: depth must be an int in [1, 64], got {depth!r}")
        if not isinstance(root_history, int) or root_history < 1:
            raise ValueError(f"IncrementalMerkleTree: root_history must be an int >= 1, got {root_history!r}")
        self.hash, self.depth, self.mesh = hash, depth, mesh
        self._h = N.get(hash)
        self._zeros = N.zero_hashes(hash, depth)
        self._filled = list(self._zeros[:depth])
        self.n_leaves = 0
        self._history: collections.deque = collections.deque(maxlen=root_history)
        self._set_root(self._zeros[depth])

    @property
    def capacity(self) -> int:
        return 2**self.depth

    @property
    def roots(self) -> list:
        """Known roots, oldest first (at most `root_history`)."""
        return list(self._history)

    def is_known_root(self, root) -> bool:
        """True if `root` is the current root or one of the recent ones kept in the history."""
        return any(root == r for r in self._history)

    def _set_root(self, words: np.ndarray) -> None:
        self.root = self._h.to_values(words)[0]
        self._history.append(self.root)

    def append(self, leaf) -> int:
        """Appends one leaf (32 bytes or an int < p); returns its index."""
        return self.append_batch([leaf])

    def append_batch(self, leaves) -> int:
        """Appends leaves in order (array or list as in `MerkleTree`); returns the first new index."""
        words = self._h.from_values(leaves)
        k = words.shape[1]
        start = self.n_leaves
        if start + k > self.capacity:
            raise ValueError(f"IncrementalMerkleTree: appending {k} leaves to {start} exceeds capacity 2^{self.depth}")
        if k == 0:
            return start
        filled = list(self._filled)
        with x64_scope():
            level = jnp.asarray(words)
            a, b = start, start + k  # changed positions [a, b) at the current level
            for l in range(self.depth):
                if a % 2:
                    level = jnp.concatenate([jnp.asarray(filled[l]), level], axis=1)
                    a -= 1
                if b % 2:
                    level = jnp.concatenate([level, jnp.asarray(self._zeros[l])], axis=1)
                    b += 1
                last_left = b - 2  # a and b are now even: the last left child of the range
                filled[l] = np.asarray(level[:, last_left - a : last_left - a + 1])
                level = N.pair_level(self._h, level, self.mesh)
                a, b = a // 2, b // 2
            root = np.asarray(level)
        self._filled = filled
        self.n_leaves = start + k
        self._set_root(root)
        return start
