"""Optimal ate pairings on BN254 and BLS12-381 (public API).

    from supervm_jax.pairing import pairing, pairing_check
    gt = pairing(P, Q, curve="bn254")          # GTElement; gt.to_py_ecc() is py_ecc's FQ12 value
    ok = pairing_check([[(P1, Q1), (P2, Q2)], [(P3, Q3)]], curve="bn254")   # numpy bool per product

Points are the library's affine int tuples: G1 (x, y), G2 ((x0, x1), (y0, y1)), None for infinity.
Curve names: "bn254" (alias "bn128") and "bls12_381" (aliases "bls12381", "bls12-381").

Modules: `tower` (Fq6/Fq12 kernels), `params` (curve constants), `miller` (the multi-Miller loop),
`final_exp` (the final exponentiation as a register program), `api` (validation, layout, sharding).
Method and measurements: docs/GROTH16.md ("Pairings and verification").
"""

from supervm_jax.pairing.api import GTElement, pairing, pairing_check, resolve_curve

__all__ = ["GTElement", "pairing", "pairing_check", "resolve_curve"]
