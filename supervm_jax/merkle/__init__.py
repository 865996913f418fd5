"""Merkle trees over batched device hashes (SHA-256, Keccak-256, Poseidon), and the hashes themselves.

    from supervm_jax.merkle import sha256_batch, keccak256_batch, poseidon_hash, MerkleTree
    tree = MerkleTree(np.zeros((1000, 32), np.uint8), hash="sha256")
    proof = tree.proof(7)
    MerkleTree.verify(tree.root, bytes(32), proof)           # True

* `tree.MerkleTree`: build level by level (one batched kernel per level, chunks split over a device
  mesh), keep all levels or only the root, batch proofs and batch verification; the rule for leaf
  counts that are not powers of two (zero-subtree padding) is in its module docstring.
* `incremental.IncrementalMerkleTree`: append-only tree of fixed depth (Tornado-Cash style), O(depth)
  hashes per leaf, batch append with one kernel per level, root history.
* `nodes`: each hash's node layout and pair kernel. The hash kernels live in `supervm_jax.hash`.
Design and measured numbers: docs/HASHING.md.
"""

from supervm_jax.hash import keccak256_batch, keccak256_many, poseidon_hash, sha256_batch, sha256_many
from supervm_jax.merkle.incremental import IncrementalMerkleTree
from supervm_jax.merkle.tree import MerkleProof, MerkleTree, sha256_root_on_host
from supervm_jax.merkle.updatable import UpdatableMerkleTree

__all__ = [
    "IncrementalMerkleTree", "MerkleProof", "MerkleTree", "UpdatableMerkleTree", "keccak256_batch",
    "keccak256_many", "poseidon_hash", "sha256_batch", "sha256_many", "sha256_root_on_host",
]
