"""Groth16 verification on device: one proof, or a batch checked with one random linear combination.

    from supervm_jax.groth16 import verify, verify_batch
    verify("verification_key.json", "proof.json", "public.json")          # True / False
    verify_batch(vk, [proof0, proof1, proof2], [public0, public1, public2])  # numpy bool (3,)

Each of vk, proof and public is a path, a JSON string or the parsed JSON object (snarkjs formats,
`proof_json`). The pairings run through `supervm_jax.pairing.pairing_check`, all products of a step
in one call; point validation, the weighted points and the sums run on device with the curve
kernels (`in_subgroup`, `scalar_mul`) and `msm_batch`. py_ecc stays the tests' independent oracle
(`pyecc.HostGroups.pairing_product_is_one`).

What raises `ProofFormatError` (a ValueError), naming the index: proofs and publics of different
lengths; an element that is not a snarkjs proof object or public-signal list (missing fields,
non-numbers, negative values, unreadable file); a proof on another curve than the key. The key
raises too when it is malformed, when one of its points is not in its group, or when
vk_gamma_2 == vk_delta_2 (see `verify_batch`).

What is False at its index, without affecting the other proofs: a coordinate >= q; A or C not on the
G1 curve (on BLS12-381: not in the order-r subgroup); B not on the twist or not in the order-r
subgroup; a public signal >= r; a count of public signals other than the key's nPublic; and a
well-formed proof that fails the pairing equation
    e(A, B) = e(alpha_1, beta_2) e(vk_x, gamma_2) e(C, delta_2),   vk_x = IC_0 + sum_j x_j IC_j.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from supervm_jax.groth16.curves import PairingCurve
from supervm_jax.groth16.proof_json import (
    CoordinateRangeError, ProofFormatError, parse_proof, parse_public, parse_verification_key,
)
from supervm_jax.msm import msm_batch
from supervm_jax.pmap import pow2_bucket

# Proofs per pairing product of the combined check: each product holds their weighted e(r_i A_i, B_i)
# and the three key terms, 125 + 3 = 128 pairs. A failing product costs one 4-pair product per proof.
PROOFS_PER_PRODUCT = 125

WEIGHT_BITS = 128  # r_i uniform in [1, 2^128): a batch with a bad proof passes with probability <= 2^-128

MIN_SUM_INSTANCES = 8  # msm_batch calls are padded to at least this many instances (one compiled program)


class _Proof(NamedTuple):
    """A parsed proof that passed the host checks: affine points (None = infinity) and signals < r."""

    a: Any
    b: Any
    c: Any
    signals: list[int]


def verify(vk: Any, proof: Any, public: Any) -> bool:
    """One proof: `verify_batch(vk, [proof], [public])[0]` (same validation, same exceptions)."""
    return bool(verify_batch(vk, [proof], [public])[0])


def verify_batch(vk: Any, proofs: Sequence[Any], publics: Sequence[Any]) -> np.ndarray:
    """(n,) numpy bool: proof i with public signals i verifies under vk. See the module docstring for
    what raises and what is False.

    Steps: (1) every proof and the key are checked before any pairing: points on device, in one
    `in_subgroup` call per group, signals on the host; (2) the valid proofs, in products of
    PROOFS_PER_PRODUCT, are checked together: with fresh weights r_i in [1, 2^128) from `secrets`,
        prod_i e(r_i A_i, B_i) * e(-(sum r_i) alpha_1, beta_2) * e(-sum_i r_i vk_x_i, gamma_2)
            * e(-sum r_i C_i, delta_2) == 1,
    where sum_i r_i vk_x_i = (sum r_i) IC_0 + sum_j (sum_i r_i x_ij) IC_j (scalar sums mod r on the
    host, the point sums by one `msm_batch`); all products go to one `pairing_check` call; (3) the
    proofs of a failing product are checked one by one, e(-A, B) e(alpha_1, beta_2) e(vk_x, gamma_2)
    e(C, delta_2) == 1, again in one `pairing_check` call, so exactly the bad proofs are False.

    The key must have vk_gamma_2 != vk_delta_2, else ProofFormatError. With gamma = delta (a key from
    `groth16 setup` with no phase-2 contribution has gamma_2 = delta_2 = the G2 generator) anyone can
    turn a valid proof for signals x into one for any x' (C' = C + vk_x - vk_x' passes the
    equation). snarkjs 0.7.6 `groth16 verify` does not check this and accepts such forgeries; we
    refuse the key. An empty batch returns an empty array (the key is still parsed)."""
    key = _load_key(vk)
    proofs, publics = list(proofs), list(publics)
    if len(proofs) != len(publics):
        raise ProofFormatError(f"verify_batch: {len(proofs)} proofs but {len(publics)} public-signal lists")
    parsed = [_parse(key, proof, public, i) for i, (proof, public) in enumerate(zip(proofs, publics))]
    ok = np.zeros(len(parsed), bool)
    if not parsed:
        return ok
    valid = np.flatnonzero(_points_valid(key, parsed))
    if not valid.size:
        return ok
    chunks = [valid[s : s + PROOFS_PER_PRODUCT] for s in range(0, valid.size, PROOFS_PER_PRODUCT)]
    passed = _combined_check(key, [[parsed[i] for i in chunk] for chunk in chunks])
    for chunk, good in zip(chunks, passed):
        ok[chunk] = good
    suspects = [int(i) for chunk, good in zip(chunks, passed) if not good for i in chunk]
    if suspects:
        ok[suspects] = _single_checks(key, [parsed[i] for i in suspects])
    return ok


# -- parsing and validation ---------------------------------------------------------------------------

def _load_key(vk: Any) -> dict:
    key = parse_verification_key(vk)
    if key["gamma_2"] == key["delta_2"]:
        raise ProofFormatError("verification key: vk_gamma_2 == vk_delta_2 (no phase-2 contribution?): proofs "
                               "under this key can be forged for any public signals, refusing it")
    return key


def _parse(key: dict, proof: Any, public: Any, i: int) -> _Proof | None:
    """The parsed proof i, None if it fails a host check (coordinate >= q, signal count or range)."""
    curve: PairingCurve = key["curve"]
    try:
        signals = parse_public(public)
    except ProofFormatError as err:
        raise ProofFormatError(f"public signals {i}: {err}") from None
    try:
        proof_curve, a, b, c = parse_proof(proof)
    except CoordinateRangeError:
        return None
    except ProofFormatError as err:
        raise ProofFormatError(f"proof {i}: {err}") from None
    if proof_curve is not curve:
        raise ProofFormatError(f"proof {i}: on {proof_curve.name}, the verification key on {curve.name}")
    if len(signals) != key["n_public"] or any(x >= curve.r for x in signals):
        return None
    return _Proof(a, b, c, signals)


def _points_valid(key: dict, parsed: list[_Proof | None]) -> np.ndarray:
    """(n,) bool: proof i parsed and its A, C are in G1 and B in G2 (on device, one `in_subgroup` call
    per group, the key's points in the same calls). ProofFormatError if a key point is not."""
    curve: PairingCurve = key["curve"]
    key_g1 = [("vk_alpha_1", key["alpha_1"])] + [(f"IC[{j}]", p) for j, p in enumerate(key["ic"])]
    key_g2 = [("vk_beta_2", key["beta_2"]), ("vk_gamma_2", key["gamma_2"]), ("vk_delta_2", key["delta_2"])]
    g1_points = [p for _, p in key_g1] + [p for item in parsed for p in ((item.a, item.c) if item else (None, None))]
    g2_points = [p for _, p in key_g2] + [item.b if item else None for item in parsed]
    ok1 = curve.g1.in_subgroup(jnp.asarray(curve.g1.affine_limbs(g1_points)))
    ok2 = curve.g2.in_subgroup(jnp.asarray(curve.g2.affine_limbs(g2_points)))
    for names, ok, group in ((key_g1, ok1, curve.g1), (key_g2, ok2, curve.g2)):
        bad = np.flatnonzero(~ok[: len(names)])
        if bad.size:
            raise ProofFormatError(f"verification key: {names[bad[0]][0]} is not a point of {group.name} "
                                   f"(off the curve or outside the order-r subgroup)")
    proof_g1 = ok1[len(key_g1) :].reshape(-1, 2).all(axis=1)
    return np.array([item is not None for item in parsed]) & proof_g1 & ok2[len(key_g2) :]


# -- the pairing checks ---------------------------------------------------------------------------------

def _g1_sums(curve: PairingCurve, instances: list[list[tuple[Any, int]]]) -> list:
    """[sum_j k_j P_j for each instance of (P_j affine, k_j in [0, r)) pairs], by one `msm_batch`
    call; instances padded with (infinity, 0) to one power-of-two size and a power-of-two count of at
    least MIN_SUM_INSTANCES (few compiled programs)."""
    size = pow2_bucket(max(len(inst) for inst in instances))
    count = max(MIN_SUM_INSTANCES, pow2_bucket(len(instances)))
    padded = [inst + [(None, 0)] * (size - len(inst)) for inst in instances] + [[(None, 0)] * size] * (count - len(instances))
    g1 = curve.g1
    points = g1.affine_limbs([p for inst in padded for p, _ in inst]).reshape(g1.point_shape + (count, size))
    return msm_batch(jnp.asarray(points), [[k for _, k in inst] for inst in padded], curve=g1)[: len(instances)]


def _combined_check(key: dict, chunks: list[list[_Proof]]) -> np.ndarray:
    """(len(chunks),) bool: each chunk's random linear combination of the pairing equation holds."""
    curve: PairingCurve = key["curve"]
    r, ic = curve.r, key["ic"]
    weights = [[1 + secrets.randbelow((1 << WEIGHT_BITS) - 1) for _ in chunk] for chunk in chunks]
    # r_i A_i for every proof: one batched ladder on device over the weights' 128 bits.
    g1 = curve.g1
    a_points = [p.a for chunk in chunks for p in chunk]
    weighted_a = g1.to_affine(g1.scalar_mul(jnp.asarray(g1.affine_limbs(a_points)), [w for ws in weights for w in ws]))
    # -sum r_i C_i, -sum_i r_i vk_x_i and -(sum r_i) alpha_1 per chunk: one msm_batch.
    c_sums = [[(p.c, -w % r) for p, w in zip(chunk, ws)] for chunk, ws in zip(chunks, weights)]
    ic_sums = []
    for chunk, ws in zip(chunks, weights):
        scalars = [sum(ws)] + [sum(w * p.signals[j] for p, w in zip(chunk, ws)) for j in range(len(ic) - 1)]
        ic_sums.append([(point, -k % r) for point, k in zip(ic, scalars)])
    alpha_sums = [[(key["alpha_1"], -sum(ws) % r)] for ws in weights]
    sums = _g1_sums(curve, c_sums + ic_sums + alpha_sums)
    alpha_terms = sums[2 * len(chunks):]
    products, start = [], 0
    for b, chunk in enumerate(chunks):
        pairs = [(weighted_a[start + i], p.b) for i, p in enumerate(chunk)]
        start += len(chunk)
        products.append(pairs + [(alpha_terms[b], key["beta_2"]), (sums[len(chunks) + b], key["gamma_2"]),
                                 (sums[b], key["delta_2"])])
    return _pairing_check(products, curve)


def _single_checks(key: dict, proofs: list[_Proof]) -> np.ndarray:
    """(len(proofs),) bool: e(-A, B) e(alpha_1, beta_2) e(vk_x, gamma_2) e(C, delta_2) == 1 per proof,
    vk_x by one `msm_batch` over the IC points, all products in one `pairing_check` call."""
    curve: PairingCurve = key["curve"]
    ic = key["ic"]
    vk_x = _g1_sums(curve, [list(zip(ic, [1] + p.signals)) for p in proofs])
    neg = lambda pt: None if pt is None else (pt[0], -pt[1] % curve.q)  # noqa: E731
    return _pairing_check([[(neg(p.a), p.b), (key["alpha_1"], key["beta_2"]), (x, key["gamma_2"]), (p.c, key["delta_2"])]
                           for p, x in zip(proofs, vk_x)], curve)


def _pairing_check(products: list, curve: PairingCurve) -> np.ndarray:
    """Every point was checked by `_points_valid` (or is a combination of checked points), so the
    pairing skips its own group checks."""
    from supervm_jax.pairing import pairing_check  # imported here: supervm_jax.pairing imports groth16.curves

    return np.asarray(pairing_check(products, curve=curve, assume_valid=True), bool)
