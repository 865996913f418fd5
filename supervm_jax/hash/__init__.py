"""Batched hash kernels: SHA-256, Keccak-256 (Ethereum) and circom-compatible Poseidon over BN254 Fr.

    from supervm_jax.hash import sha256_batch, keccak256_batch, poseidon_hash
    sha256_batch(np.zeros((4, 64), np.uint8))      # (4, 32) uint8 digests
    poseidon_hash([[1, 2]])                        # [0x115cc0f5...189a]

Every kernel is data-parallel over a batch axis (the last axis of its arrays); host functions take
an optional `mesh` to split that axis over devices. Design and measurements: docs/HASHING.md.
"""

from supervm_jax.hash.keccak import keccak256_batch, keccak256_many
from supervm_jax.hash.poseidon import poseidon_hash
from supervm_jax.hash.sha256 import sha256_batch, sha256_many

__all__ = ["keccak256_batch", "keccak256_many", "poseidon_hash", "sha256_batch", "sha256_many"]
