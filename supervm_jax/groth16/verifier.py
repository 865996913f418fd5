"""Groth16 verification with py_ecc's pairing: slow (seconds), but independent of this library's
device kernels, so it checks them. A device pairing is future work.

    from supervm_jax.groth16 import verify
    verify("verification_key.json", "proof.json", "public.json")   # True / False

Accepts paths, JSON strings or parsed objects for each argument. Structural problems (missing
fields, non-numbers, a vk and proof on different curves) raise `ProofFormatError`; a well-formed
proof that does not verify, including public signals >= r, a wrong count of public signals, or
points off the curve / outside the subgroup, returns False.
"""

from __future__ import annotations

from typing import Any

from supervm_jax.groth16.proof_json import ProofFormatError, parse_proof, parse_public, parse_verification_key
from supervm_jax.groth16.pyecc import host_groups


def verify(vk: Any, proof: Any, public: Any) -> bool:
    """e(A, B) == e(alpha, beta) e(IC_0 + sum_i x_i IC_i, gamma) e(C, delta)."""
    key = parse_verification_key(vk)
    curve, pi_a, pi_b, pi_c = parse_proof(proof)
    signals = parse_public(public)
    if curve is not key["curve"]:
        raise ProofFormatError(f"proof is on {curve.name}, the verification key on {key['curve'].name}")
    if len(signals) != key["n_public"] or any(x >= curve.r for x in signals):
        return False
    host = host_groups(curve)
    if not (host.g1_valid(pi_a) and host.g1_valid(pi_c) and host.g2_valid(pi_b)):
        return False
    vk_x = host.g1(key["ic"][0])
    for x, point in zip(signals, key["ic"][1:]):
        vk_x = host.add(vk_x, host.mul(host.g1(point), x))
    return host.pairing_product_is_one([
        (host.neg(host.g1(pi_a)), host.g2(pi_b)),
        (host.g1(key["alpha_1"]), host.g2(key["beta_2"])),
        (vk_x, host.g2(key["gamma_2"])),
        (host.g1(pi_c), host.g2(key["delta_2"])),
    ])
