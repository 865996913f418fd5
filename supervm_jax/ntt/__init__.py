"""Number-theoretic transforms over BN254_FR and BLS12_381_FR, batched and sharded.

    from supervm_jax.field import BN254_FR
    from supervm_jax.ntt import ntt, intt
    X = ntt(BN254_FR, BN254_FR.from_ints(coeffs))     # coeffs: length 2^k
"""

from supervm_jax.ntt.domain import NTT_FIELDS, clear_cache, coset_generator, root_of_unity
from supervm_jax.ntt.sharded import ntt_sharded
from supervm_jax.ntt.transform import coset_intt, coset_ntt, intt, ntt

__all__ = ["NTT_FIELDS", "clear_cache", "coset_generator", "coset_intt", "coset_ntt", "intt", "ntt", "ntt_sharded", "root_of_unity"]
