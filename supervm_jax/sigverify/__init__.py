"""Batch signature verification on device: Ed25519 (ZIP-215 / RFC 8032), secp256k1 ECDSA, BIP-340.

    from supervm_jax.sigverify import ed25519_verify, ecdsa_verify, schnorr_verify
    ok = ed25519_verify(public_keys, messages, signatures, rule="zip215")   # or rule="rfc8032"
    ok = ecdsa_verify(public_keys, message_hashes, signatures)               # secp256k1, low_s=True
    ok = schnorr_verify(public_keys, messages, signatures)                   # BIP-340

Each returns a numpy bool array with one result per signature. Structural problems (wrong type,
wrong length, different batch sizes) raise ValueError naming the index; a well-sized but malformed
key or signature is False at its index and never affects the others. Hashing runs on the host
(hashlib); decoding, scalar multiplications and batch equations run on every device of the mesh.
Rules, algorithms and measurements: docs/SIGVERIFY.md.
"""

from supervm_jax.sigverify.ecdsa import ecdsa_verify
from supervm_jax.sigverify.ed25519 import ed25519_verify
from supervm_jax.sigverify.schnorr import schnorr_verify
from supervm_jax.sigverify.sign import ed25519_public_keys, ed25519_sign

__all__ = ["ecdsa_verify", "ed25519_public_keys", "ed25519_sign", "ed25519_verify", "schnorr_verify"]
