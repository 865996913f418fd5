"""Multi-scalar multiplication sum_i k_i P_i on every supported curve, over all devices.

    from supervm_jax.msm import msm
    from supervm_jax.curve import BN254_G1
    msm([(1, 2), None], [5, 7], curve=BN254_G1)       # affine (x, y) of 5 G; None would mean infinity

Algorithm (bucket method with signed digits, buckets formed by sorting): `pippenger.py`.
Validation, sharding and the result convention (affine tuple, None for infinity): `api.py`.
"""

from supervm_jax.msm.api import FixedBaseMSM, msm, msm_batch, signed_digits, window_bits

__all__ = ["FixedBaseMSM", "msm", "msm_batch", "signed_digits", "window_bits"]
