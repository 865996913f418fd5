"""`NoteTree`: the shielded pool's append-only tree of note commitments.

A Poseidon `IncrementalMerkleTree` (depth 20 by default, zero leaf 0, node = Poseidon(left, right),
as the circuit hashes) that appends each batch on device and keeps a history of recent roots, plus
the leaves on the host so that it can hand out Merkle paths for spending (a wallet's view; the node
itself needs only the roots). A path is built on device from all leaves so far (`MerkleTree`),
cached until the next append.
"""

from __future__ import annotations

from collections.abc import Sequence

from supervm_jax.merkle import IncrementalMerkleTree, MerkleTree
from supervm_jax.merkle.tree import MerkleProof

DEPTH = 20  # the circuit's tree depth (transfer.circom: Transfer(20, 2, 2))


class NoteTree:
    """Append-only note-commitment tree. depth: 1..64 (the circuit proves membership at depth 20);
    root_history: how many recent roots `is_known_root` accepts (the current one included).

    Attributes: `root` (int), `roots` (oldest first), `n_leaves`, `depth`. Raises ValueError for a
    commitment that is not an int in [0, r) (naming its index) or an append past 2^depth leaves (the
    tree is left unchanged)."""

    def __init__(self, depth: int = DEPTH, *, root_history: int = 100, mesh=None):
        self._tree = IncrementalMerkleTree(depth, "poseidon", root_history=root_history, mesh=mesh)
        self._leaves: list[int] = []
        self._paths: MerkleTree | None = None
        self.mesh = mesh

    @property
    def depth(self) -> int:
        return self._tree.depth

    @property
    def capacity(self) -> int:
        return self._tree.capacity

    @property
    def root(self) -> int:
        return self._tree.root

    @property
    def roots(self) -> list[int]:
        return self._tree.roots

    @property
    def n_leaves(self) -> int:
        return self._tree.n_leaves

    @property
    def leaves(self) -> tuple[int, ...]:
        return tuple(self._leaves)

    def is_known_root(self, root: int) -> bool:
        return self._tree.is_known_root(root)

    def append_batch(self, commitments: Sequence[int]) -> int:
        """Appends commitments in order (one device pass per level); returns the first new leaf index."""
        commitments = list(commitments)
        start = self._tree.append_batch(commitments)
        self._leaves.extend(int(c) for c in commitments)
        if commitments:
            self._paths = None
        return start

    def paths(self, indices: Sequence[int]) -> list[MerkleProof]:
        """Merkle paths (siblings from the leaf level up, ints) of leaves under the current root."""
        if self._paths is None:
            self._paths = MerkleTree(self._leaves, "poseidon", depth=self.depth, mesh=self.mesh)
        return self._paths.proofs(list(indices))

    def path(self, index: int) -> MerkleProof:
        return self.paths([index])[0]
