"""Elliptic-curve groups as batched JAX kernels: one algorithm, curves as parameter objects.

    from supervm_jax.curve import BN254_G1
    P = BN254_G1.from_affine([(1, 2), None])         # (3, 8, 2) uint32: projective X, Y, Z; None = identity
    Q = BN254_G1.scalar_mul(P, [5, 7])
    BN254_G1.to_affine(BN254_G1.add(P, Q))           # [affine (x, y) of 6 G, None]

Layout, formulas and validation rules: `weierstrass.py` (short Weierstrass), `edwards.py` (ed25519,
with its RFC 8032 encoding and on-device decompression); what both share: `group.py`. Byte
encodings of the Weierstrass curves: `encoding.py`.
"""

from supervm_jax.curve.curves import ALL_CURVES, BLS12_381_G1, BLS12_381_G2, BN254_G1, BN254_G2, ED25519, SECP256K1
from supervm_jax.curve.edwards import TwistedEdwards
from supervm_jax.curve.encoding import from_bytes, to_bytes
from supervm_jax.curve.weierstrass import ShortWeierstrass

__all__ = [
    "ALL_CURVES", "BLS12_381_G1", "BLS12_381_G2", "BN254_G1", "BN254_G2", "ED25519", "SECP256K1", "ShortWeierstrass",
    "TwistedEdwards",
    "from_bytes", "to_bytes",
]
