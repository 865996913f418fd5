"""`verify_batch` / `verify` on snarkjs fixtures mixed with corrupted proofs: exactly the bad indices
are False, on BN254 and BLS12-381, with one or several pairing products; structural problems raise
naming the index; a key with gamma_2 == delta_2 is refused (and py_ecc shows why); fresh blinding
gives different proofs that both verify. The reference is py_ecc (`HostGroups`), never the device
code itself."""

import json

import numpy as np
import pytest

from supervm_jax.groth16 import BLS12381, BN128, Groth16Prover, ProofFormatError, verify, verify_batch
from supervm_jax.groth16 import verifier
from supervm_jax.groth16.proof_json import (
    CoordinateRangeError, g1_json, g2_json, parse_proof, parse_public, parse_verification_key,
)
from supervm_jax.groth16.pyecc import host_groups
from tests.groth16.conftest import fixture, fixture_json, point_outside_subgroup

BN_VK = fixture("multiplier", "verification_key.json")
BLS_VK = fixture("bls_mul_chain", "verification_key.json")


def pyecc_verify(vk, proof, public) -> bool:
    """The Groth16 check written out with py_ecc: host range checks, point checks, one pairing product."""
    key = parse_verification_key(vk)
    try:
        curve, a, b, c = parse_proof(proof)
    except CoordinateRangeError:
        return False
    signals = parse_public(public)
    if len(signals) != key["n_public"] or any(x >= curve.r for x in signals):
        return False
    host = host_groups(curve)
    if not (host.g1_valid(a) and host.g1_valid(c) and host.g2_valid(b)):
        return False
    vk_x = host.g1(key["ic"][0])
    for x, point in zip(signals, key["ic"][1:]):
        vk_x = host.add(vk_x, host.mul(host.g1(point), x))
    return host.pairing_product_is_one([
        (host.neg(host.g1(a)), host.g2(b)), (host.g1(key["alpha_1"]), host.g2(key["beta_2"])),
        (vk_x, host.g2(key["gamma_2"])), (host.g1(c), host.g2(key["delta_2"])),
    ])


def with_points(proof: dict, a=None, b=None, c=None) -> dict:
    """A copy of a snarkjs proof with some of pi_a, pi_b, pi_c replaced by affine points."""
    out = json.loads(json.dumps(proof))
    for key, point, enc in (("pi_a", a, g1_json), ("pi_b", b, g2_json), ("pi_c", c, g1_json)):
        if point is not None:
            out[key] = enc(point)
    return out


def bn254_batch() -> tuple[list, list, list[bool]]:
    """(proofs, publics, expected): the multiplier fixtures and corruptions of them."""
    host = host_groups(BN128)
    good = [(fixture_json("multiplier", f"proof_{k}.json"), fixture_json("multiplier", f"public_{k}.json")) for k in range(3)]
    good.append((fixture_json("multiplier", "proof_fixed_0.json"), fixture_json("multiplier", "public_fixed_0.json")))
    (p0, s0), (p1, s1) = good[0], good[1]
    _, _, _, c0 = parse_proof(p0)
    _, _, _, c1 = parse_proof(p1)
    flipped = json.loads(json.dumps(p0))
    flipped["pi_a"][0] = str(int(flipped["pi_a"][0]) ^ 1)  # x changed, still < q: off the curve
    too_big = json.loads(json.dumps(p0))
    too_big["pi_c"][0] = str(int(too_big["pi_c"][0]) + BN128.q)  # the same residue, not canonical
    # Two proofs whose errors cancel in an unweighted sum: C0 + T and C1 - T (T = G1 generator).
    t = host.g1((1, 2))
    plus = with_points(p0, c=host.affine(host.add(host.g1(c0), t)))
    minus = with_points(p1, c=host.affine(host.add(host.g1(c1), host.neg(t))))
    # With 3 proofs per product the pairing-checked entries group as [0, 1, 3], [4, 6, 7], [8, 10]: the
    # second product holds only the cancelling pair and a good proof, so only the weights catch it.
    entries = [
        (*good[0], True),
        (*good[1], True),
        (flipped, s0, False),                                              # flipped coordinate of A
        (*good[2], True),
        (plus, s0, False),                                                 # cancelling pair ...
        (with_points(p0, c=(1, 1)), s0, False),                            # C off the curve
        (minus, s1, False),                                                # ... in the same product
        (*good[3], True),
        (p0, s0[::-1], False),                                             # swapped public signals
        (with_points(p0, b=point_outside_subgroup(BN128, "g2")), s0, False),  # B on the twist, not in G2
        (fixture_json("poseidon_chain", "proof_0.json"), fixture_json("poseidon_chain", "public_0.json"), False),  # other key
        (p0, [str(int(s0[0]) + BN128.r), s0[1]], False),                   # signal >= r (same residue)
        (p0, s0[:1], False),                                               # wrong count
        (too_big, s0, False),                                              # coordinate >= q
    ]
    return [e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries]


@pytest.mark.parametrize("per_product", [verifier.PROOFS_PER_PRODUCT, 3])
def test_bn254_batch_marks_exactly_the_bad_proofs(per_product, monkeypatch):
    monkeypatch.setattr(verifier, "PROOFS_PER_PRODUCT", per_product)
    proofs, publics, expected = bn254_batch()
    ok = verify_batch(BN_VK, proofs, publics)
    assert ok.dtype == bool and ok.shape == (len(expected),)
    assert ok.tolist() == expected
    if per_product != 3:  # the oracle once is enough
        assert [pyecc_verify(BN_VK, p, s) for p, s in zip(proofs, publics)] == expected


def test_bls12381_batch_marks_exactly_the_bad_proofs():
    good = [(fixture_json("bls_mul_chain", f"proof_{k}.json"), fixture_json("bls_mul_chain", f"public_{k}.json"))
            for k in range(2)]
    p0, s0 = good[0]
    a_outside = point_outside_subgroup(BLS12381, "g1")  # on the curve, outside G1: BLS12-381 needs the subgroup check
    proofs, publics, expected = map(list, zip(*[
        (*good[0], True),
        (with_points(p0, a=a_outside), s0, False),
        (with_points(p0, b=point_outside_subgroup(BLS12381, "g2")), s0, False),
        (p0, good[1][1], False),                                 # another statement's signals
        (p0, [s0[0], str(int(s0[1]) + BLS12381.r)], False),      # signal >= r
        (*good[1], True),
    ]))
    assert verify_batch(BLS_VK, proofs, publics).tolist() == expected
    assert verify(BLS_VK, *good[1]) and not verify(BLS_VK, p0, good[1][1])


def test_structural_problems_raise_naming_the_index():
    proof, public = fixture_json("multiplier", "proof_0.json"), fixture_json("multiplier", "public_0.json")
    assert verify_batch(BN_VK, [], []).shape == (0,)
    with pytest.raises(ProofFormatError, match="2 proofs but 1 public-signal lists"):
        verify_batch(BN_VK, [proof, proof], [public])
    missing = {k: v for k, v in proof.items() if k != "pi_b"}
    with pytest.raises(ProofFormatError, match="proof 1: proof: missing pi_b"):
        verify_batch(BN_VK, [proof, missing], [public, public])
    with pytest.raises(ProofFormatError, match="proof 0: proof: expected a JSON object"):
        verify_batch(BN_VK, [42], [public])
    with pytest.raises(ProofFormatError, match=r"public signals 1: public\[0\]: negative value"):
        verify_batch(BN_VK, [proof, proof], [public, ["-1", "2"]])
    bls = fixture_json("bls_mul_chain", "proof_0.json")
    with pytest.raises(ProofFormatError, match="proof 1: on bls12381, the verification key on bn128"):
        verify_batch(BN_VK, [proof, bls], [public, public])
    with pytest.raises(ProofFormatError, match="proof 0: on bls12381"):  # verify: the same exceptions
        verify(BN_VK, bls, public)


def test_key_with_a_bad_point_is_refused():
    vk = fixture_json("multiplier", "verification_key.json")
    vk["IC"][1] = ["1", "1", "1"]
    with pytest.raises(ProofFormatError, match=r"verification key: IC\[1\] is not a point of BN254_G1"):
        verify_batch(vk, [fixture_json("multiplier", "proof_0.json")], [fixture_json("multiplier", "public_0.json")])


def test_gamma_equal_to_delta_is_refused_because_proofs_can_be_forged():
    """With gamma_2 = delta_2, C' = C + vk_x - vk_x' turns a proof for x into one for any x'. A key
    with known secrets (alpha, beta, gamma = delta, IC_j = k_j G1) and a proof made from them: py_ecc
    confirms the forgery passes the pairing equation; verify_batch refuses such a key outright."""
    host, r = host_groups(BN128), BN128.r
    alpha, beta, gamma, ks = 11, 12, 14, [3, 5, 7]
    g1 = lambda k: host.affine(host.mul(host.g1((1, 2)), k))  # noqa: E731
    g2 = lambda k: host.affine(host.mul(host.g2(BN128.g2.generator), k))  # noqa: E731
    vk = {"protocol": "groth16", "curve": "bn128", "nPublic": 2, "vk_alpha_1": g1_json(g1(alpha)),
          "vk_beta_2": g2_json(g2(beta)), "vk_gamma_2": g2_json(g2(gamma)), "vk_delta_2": g2_json(g2(gamma)),
          "IC": [g1_json(g1(k)) for k in ks]}
    x, forged_x = [33, 99], [34, 99]
    a, b = 21, 22  # A = a G1, B = b G2, and C from a b = alpha beta + gamma vk_x + delta c
    c = (a * b - alpha * beta - gamma * (ks[0] + ks[1] * x[0] + ks[2] * x[1])) * pow(gamma, -1, r) % r
    proof = {"pi_a": g1_json(g1(a)), "pi_b": g2_json(g2(b)), "pi_c": g1_json(g1(c)), "protocol": "groth16", "curve": "bn128"}
    assert pyecc_verify(vk, proof, [str(v) for v in x])
    forged = with_points(proof, c=g1((c + ks[1] * (x[0] - forged_x[0])) % r))  # C + vk_x - vk_x'
    assert pyecc_verify(vk, forged, [str(v) for v in forged_x])
    for batch in ([forged], []):
        with pytest.raises(ProofFormatError, match="vk_gamma_2 == vk_delta_2"):
            verify_batch(vk, batch, [[str(v) for v in forged_x]] * len(batch))
    snarkjs_key = dict(fixture_json("multiplier", "verification_key.json"))
    snarkjs_key["vk_delta_2"] = snarkjs_key["vk_gamma_2"]
    with pytest.raises(ProofFormatError, match="vk_gamma_2 == vk_delta_2"):
        verify(snarkjs_key, fixture_json("multiplier", "proof_0.json"), fixture_json("multiplier", "public_0.json"))


def test_fresh_blinding_gives_different_proofs_that_both_verify():
    prover = Groth16Prover(fixture("multiplier", "circuit_final.zkey"))
    w = fixture("multiplier", "witness_1.wtns")
    (p0, s0), (p1, s1) = prover.prove(w), prover.prove(w)
    assert s0 == s1 == fixture_json("multiplier", "public_1.json")
    assert all(p0[k] != p1[k] for k in ("pi_a", "pi_b", "pi_c"))
    assert np.array_equal(verify_batch(BN_VK, [p0, p1], [s0, s1]), [True, True])
