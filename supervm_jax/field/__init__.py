"""Prime-field arithmetic as JAX kernels.

    from supervm_jax.field import BN254_FQ
    x = BN254_FQ.from_ints([1, 2, 3])          # (8, 3) uint32, limb-major, Montgomery form
    BN254_FQ.to_ints(BN254_FQ.mul(x, x))       # [1, 4, 9]

See `prime_field.PrimeField` for the API, `montgomery` for the representation and `fq2` for the
quadratic extensions used by G2.
"""

from supervm_jax.field.fields import (
    ALL_FIELDS,
    BLS12_381_FQ,
    BLS12_381_FR,
    BN254_FQ,
    BN254_FR,
    ED25519_FN,
    ED25519_FP,
    SECP256K1_FN,
    SECP256K1_FP,
)
from supervm_jax.field.fq2 import BLS12_381_FQ2, BN254_FQ2, QuadraticExtension
from supervm_jax.field.prime_field import PrimeField

__all__ = [
    "ALL_FIELDS", "BLS12_381_FQ", "BLS12_381_FQ2", "BLS12_381_FR", "BN254_FQ", "BN254_FQ2", "BN254_FR",
    "ED25519_FN", "ED25519_FP", "QuadraticExtension", "SECP256K1_FN", "SECP256K1_FP", "PrimeField",
]
