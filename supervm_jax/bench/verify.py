"""`python -m supervm_jax.bench verify`: Groth16 verification and pairings vs arkworks, snarkjs and py_ecc.

`--n` counts proofs (defaults 1 and 1,024). Proofs: the snarkjs-made `multiplier` fixture
(tests/groth16/fixtures, BN254, one public signal), re-randomized on device into n distinct valid
proofs (A -> sA, B -> s^-1 B for fresh s; e(sA, s^-1 B) = e(A, B)), so every proof differs.

Rows per n (ours always checks the result: all True, or the suite fails):
  - "bn128.verify_batch": `groth16.verify_batch(vk, proofs, publics)` (device pairings, random
    linear combination) against arkworks through groth16py (`Verifier.verify_snarkjs`, one proof at
    a time, in a loop over min(n, PEER_N) proofs scaled to n). Extra: ms and proofs per second for
    both, and the same n verified by snarkjs 0.7.6 `groth16.verify` in ONE long-lived node process
    (curve built once, node start-up not timed; `snarkjs_s`, scaled the same way) and by py_ecc
    (`py_ecc_s`, one proof scaled to n: about a second per proof).
  - "bn128.verify": `groth16.verify` one proof at a time (min(n, SINGLE_N) proofs scaled), vs
    groth16py the same way.
  - "bn254.pairing" / "bls12_381.pairing" (n = 1 only): `pairing(P, Q)` (exact value) vs py_ecc
    (BN254) and py-arkworks-bls12381 (BLS12-381; py_ecc's time in `py_ecc_s`).
Compile time (first call minus steady median) is `compile_s`.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from supervm_jax.bench import harness

DEFAULT_SIZES = [1, 2**10]
PEER_N = 64
SINGLE_N = 8
ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "groth16" / "fixtures" / "multiplier"
SNARKJS = ROOT / "tools" / "groth16_fixtures" / "node_modules" / "snarkjs"

_NODE_LOOP = r"""
const snarkjs = require(process.argv[2]);
const fs = require("fs");
(async () => {
  const vk = JSON.parse(fs.readFileSync(process.argv[3]));
  const items = JSON.parse(fs.readFileSync(process.argv[4]));
  await snarkjs.groth16.verify(vk, items[0][1], items[0][0], null);  // builds and caches the curve
  const start = process.hrtime.bigint();
  let ok = true;
  for (const [proof, pub] of items) ok = (await snarkjs.groth16.verify(vk, pub, proof, null)) && ok;
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({seconds: s, ok}));
  process.exit(0);
})();
"""


def _rerandomized(n: int):
    """n distinct valid proofs of the fixture (device scalar multiplications) and their publics."""
    from supervm_jax.curve import BN254_G1, BN254_G2
    from supervm_jax.groth16 import parse_proof
    from supervm_jax.groth16.proof_json import proof_json

    proof = json.loads((FIXTURE / "proof_0.json").read_text())
    public = json.loads((FIXTURE / "public_0.json").read_text())
    curve, A, B, C = parse_proof(proof)
    r = curve.r
    s = [1 + secrets.randbelow(r - 1) for _ in range(n)]
    As = BN254_G1.to_affine(BN254_G1.scalar_mul(BN254_G1.from_affine([A] * n), s))
    Bs = BN254_G2.to_affine(BN254_G2.scalar_mul(BN254_G2.from_affine([B] * n), [pow(k, -1, r) for k in s]))
    return [proof_json(curve, a, b, C) for a, b in zip(As, Bs)], [public] * n


def _snarkjs_seconds(vk: dict, proofs: list, publics: list) -> tuple[float | None, str | None]:
    """Seconds for snarkjs to verify these proofs in one warm node process, or (None, reason)."""
    if shutil.which("node") is None or not SNARKJS.exists():
        return None, "node or tools/groth16_fixtures/node_modules/snarkjs missing"
    tmp = Path(harness_tmp())
    (tmp / "vk.json").write_text(json.dumps(vk))
    (tmp / "items.json").write_text(json.dumps([[p, pub] for p, pub in zip(proofs, publics)]))
    (tmp / "loop.js").write_text(_NODE_LOOP)
    out = subprocess.run(["node", str(tmp / "loop.js"), str(SNARKJS), str(tmp / "vk.json"), str(tmp / "items.json")],
                         capture_output=True, text=True, timeout=600)
    if out.returncode:
        return None, f"node exited {out.returncode}: {out.stderr.strip()[-200:]}"
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise AssertionError("snarkjs rejected a re-randomized proof")
    return result["seconds"], None


def harness_tmp() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="supervm_bench_verify_")


def _groth16py_verifier():
    try:
        import groth16py

        return groth16py.Verifier(groth16py.VerifyingKey.from_snarkjs_file(str(FIXTURE / "verification_key.json"))), None
    except Exception as err:  # noqa: BLE001 - any failure makes the peer unavailable
        return None, f"groth16py unavailable ({type(err).__name__}: {err})"


def _py_ecc_seconds(vk: dict, proof: dict, public: list) -> float:
    """Seconds for py_ecc to check one proof's pairing equation (the test oracle's path)."""
    from supervm_jax.groth16.proof_json import parse_proof, parse_public, parse_verification_key
    from supervm_jax.groth16.pyecc import host_groups

    key = parse_verification_key(vk)
    _, A, B, C = parse_proof(proof)
    host = host_groups(key["curve"])
    start = time.perf_counter()
    vk_x = host.g1(key["ic"][0])
    for x, point in zip(parse_public(public), key["ic"][1:]):
        vk_x = host.add(vk_x, host.mul(host.g1(point), x))
    ok = host.pairing_product_is_one([(host.neg(host.g1(A)), host.g2(B)), (host.g1(key["alpha_1"]), host.g2(key["beta_2"])),
                                      (vk_x, host.g2(key["gamma_2"])), (host.g1(C), host.g2(key["delta_2"]))])
    if not ok:
        raise AssertionError("py_ecc rejected a re-randomized proof")
    return time.perf_counter() - start


def _pairing_rows() -> Iterator[harness.Record]:
    import importlib

    from supervm_jax.pairing import pairing

    for curve, module in (("bn254", "py_ecc.optimized_bn128"), ("bls12_381", "py_ecc.optimized_bls12_381")):
        m = importlib.import_module(module)
        a, b = 1 + secrets.randbelow(m.curve_order - 1), 1 + secrets.randbelow(m.curve_order - 1)
        Pp, Qp = m.multiply(m.G1, a), m.multiply(m.G2, b)
        x, y = m.normalize(Pp)
        P = (int(x.n), int(y.n))
        x2, y2 = m.normalize(Qp)
        Q = (tuple(int(c) for c in x2.coeffs), tuple(int(c) for c in y2.coeffs))
        start = time.perf_counter()
        value = pairing(P, Q, curve=curve)
        first = time.perf_counter() - start
        ours_s = harness.median_time(lambda: pairing(P, Q, curve=curve), repeats=3, warmup=False, device=False)
        start = time.perf_counter()
        want = m.pairing(Qp, Pp)
        py_ecc_s = time.perf_counter() - start
        if value.to_py_ecc() != want:
            raise AssertionError(f"{curve}: pairing differs from py_ecc")
        peer, peer_s, extra = "py_ecc", py_ecc_s, {}
        if curve == "bls12_381":
            try:
                import py_arkworks_bls12381 as ark

                g1 = ark.G1Point() * ark.Scalar(a)
                g2 = ark.G2Point() * ark.Scalar(b)
                peer_s = harness.median_time(lambda: ark.GT.pairing(g1, g2), device=False)
                peer, extra = "py-arkworks-bls12381", {"py_ecc_s": py_ecc_s}
            except Exception as err:  # noqa: BLE001
                extra = {"peer_unavailable": f"py-arkworks-bls12381: {type(err).__name__}: {err}"}
        harness.log(f"verify: {curve} pairing ours {ours_s * 1e3:.1f} ms, {peer} {peer_s * 1e3:.1f} ms")
        yield harness.Record("verify", f"{curve}.pairing", 1, ours_s, peer, peer_s, max(first - ours_s, 0.0), extra=extra)


def run(sizes: list[int]) -> Iterator[harness.Record]:
    from supervm_jax.groth16 import verify, verify_batch

    vk = json.loads((FIXTURE / "verification_key.json").read_text())
    ark, ark_reason = _groth16py_verifier()
    for n in sizes:
        proofs, publics = _rerandomized(n)
        start = time.perf_counter()
        ok = verify_batch(vk, proofs, publics)
        first = time.perf_counter() - start
        if not ok.all():
            raise AssertionError(f"verify_batch rejected {int((~ok).sum())} valid proofs at n={n}")
        ours_s = harness.median_time(lambda: verify_batch(vk, proofs, publics), repeats=3, warmup=False, device=False)
        k = min(n, PEER_N)
        extra = {"proofs": n, "ours_ms_per_proof": ours_s / n * 1e3, "ours_proofs_per_s": n / ours_s}
        snark_s, snark_reason = _snarkjs_seconds(vk, proofs[:k], publics[:k])
        extra["snarkjs_s"] = snark_s * n / k if snark_s is not None else None
        if snark_reason:
            extra["snarkjs_unavailable"] = snark_reason
        extra["py_ecc_s"] = _py_ecc_seconds(vk, proofs[0], publics[0]) * n
        if ark is None:
            extra["peer_unavailable"] = ark_reason
            peer, peer_s = None, None
        else:
            texts = [(json.dumps(p), json.dumps(pub)) for p, pub in zip(proofs[:k], publics[:k])]
            if not all(ark.verify_snarkjs(p, pub) for p, pub in texts):
                raise AssertionError("groth16py rejected a re-randomized proof")
            peer, peer_s = "arkworks-groth16py", harness.peer_time(lambda: [ark.verify_snarkjs(p, pub) for p, pub in texts], k, n)
            extra.update({"peer_ms_per_proof": peer_s / n * 1e3, "peer_proofs_per_s": n / peer_s})
        harness.log(f"verify n={n}: ours batch {ours_s * 1e3 / n:.3f} ms/proof, {peer} "
                    + (f"{peer_s * 1e3 / n:.3f} ms/proof" if peer_s else "-"))
        yield harness.Record("verify", "bn128.verify_batch", n, ours_s, peer, peer_s, max(first - ours_s, 0.0), extra=extra)

        j = min(n, SINGLE_N)
        single_s = harness.peer_time(lambda: [verify(vk, p, pub) for p, pub in zip(proofs[:j], publics[:j])], j, n)
        peer_single = (harness.peer_time(lambda: [ark.verify_snarkjs(json.dumps(p), json.dumps(pub))
                                                  for p, pub in zip(proofs[:j], publics[:j])], j, n) if ark else None)
        yield harness.Record("verify", "bn128.verify", n, single_s, "arkworks-groth16py" if ark else None, peer_single,
                             None, extra={"ours_ms_per_proof": single_s / n * 1e3, "timed_proofs": j})
    if 1 in sizes:
        yield from _pairing_rows()
