"""snarkjs JSON: proofs, public signals and verification keys.

Formats (snarkjs 0.7.6): numbers are decimal strings; a G1 point is [x, y, z] and a G2 point
[[x0, x1], [y0, y1], [z0, z1]] in Jacobian coordinates (snarkjs writes z = 1, and the point at
infinity as z = 0); `proof.json` is {"pi_a", "pi_b", "pi_c", "protocol": "groth16", "curve"};
`public.json` is the list of public signals; the verification key has "protocol", "curve", "nPublic",
"vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2" and "IC" (nPublic + 1 G1 points).

The verification key also holds "vk_alphabeta_12" = e(alpha_1, beta_2), which snarkjs writes but does
not read: an Fq12 element as [[[c00, c01], [c10, c11], [c20, c21]], [[...], [...], [...]]] (decimal
strings), ffjavascript's tower Fq12 = Fq6[w] / (w^2 - v), Fq6 = Fq2[v] / (v^3 - xi), Fq2 = Fq[u] /
(u^2 + 1): outer index the power of w, middle the power of v, inner (c0, c1) of the Fq2 coefficient
(`supervm_jax.pairing.GTElement.to_snarkjs`).

Files are written the way snarkjs writes them (`JSON.stringify(x, null, 1)`), atomically. Parsing
raises `ProofFormatError` naming the field for structural problems, and its subclass
`CoordinateRangeError` for a coordinate >= q; it does not check that points lie on the curve (the
verifier does, and answers False).
"""

from __future__ import annotations

import json
import os
from typing import Any

from supervm_jax.groth16.binfile import write_atomic
from supervm_jax.groth16.curves import PairingCurve, curve_from_name


class ProofFormatError(ValueError):
    """A proof, public-signal list or verification key does not have the snarkjs JSON structure."""


class CoordinateRangeError(ProofFormatError):
    """A point coordinate is not a canonical base-field element (>= q). The verifier treats such a
    proof as invalid (False), not as malformed."""


def g1_json(point) -> list[str]:
    """Affine (x, y) or None -> snarkjs G1 JSON."""
    if point is None:
        return ["0", "1", "0"]
    return [str(point[0]), str(point[1]), "1"]


def g2_json(point) -> list[list[str]]:
    """Affine ((x0, x1), (y0, y1)) or None -> snarkjs G2 JSON."""
    if point is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    (x0, x1), (y0, y1) = point
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


def proof_json(curve: PairingCurve, pi_a, pi_b, pi_c) -> dict:
    """The snarkjs proof object (key order as snarkjs writes it)."""
    return {"pi_a": g1_json(pi_a), "pi_b": g2_json(pi_b), "pi_c": g1_json(pi_c), "protocol": "groth16", "curve": curve.name}


def dumps(obj: Any) -> str:
    """JSON text formatted like snarkjs's `JSON.stringify(obj, null, 1)`."""
    return json.dumps(obj, indent=1)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Writes snarkjs-formatted JSON atomically."""
    write_atomic(path, dumps(obj))


def load_json(source: Any, what: str) -> Any:
    """A JSON object from a path, a JSON string, or an already parsed object."""
    if isinstance(source, (str, os.PathLike)) and not (isinstance(source, str) and source.lstrip()[:1] in ("{", "[")):
        try:
            with open(source) as fh:
                return json.load(fh)
        except OSError as err:
            raise ProofFormatError(f"{what}: cannot read {source}: {err.strerror}") from None
        except json.JSONDecodeError as err:
            raise ProofFormatError(f"{what}: {source} is not JSON: {err}") from None
    if isinstance(source, str):
        try:
            return json.loads(source)
        except json.JSONDecodeError as err:
            raise ProofFormatError(f"{what}: not JSON: {err}") from None
    return source


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ProofFormatError(f"{where}: expected a decimal string, got {value!r}")
    try:
        out = int(value)
    except ValueError:
        raise ProofFormatError(f"{where}: {value!r} is not a decimal integer") from None
    if out < 0:
        raise ProofFormatError(f"{where}: negative value {value!r}")
    return out


def parse_g1(value: Any, curve: PairingCurve, where: str):
    """snarkjs G1 JSON -> affine (x, y) ints or None (Jacobian z != 1 is normalized)."""
    if not isinstance(value, list) or len(value) not in (2, 3):
        raise ProofFormatError(f"{where}: expected [x, y, z], got {value!r}")
    x, y = _int(value[0], f"{where}[0]"), _int(value[1], f"{where}[1]")
    z = _int(value[2], f"{where}[2]") if len(value) == 3 else 1
    q = curve.q
    if max(x, y, z) >= q:
        raise CoordinateRangeError(f"{where}: coordinate >= q")
    if z == 0:
        return None
    zi = pow(z, -1, q)
    return (x * zi * zi % q, y * zi * zi * zi % q)


def parse_g2(value: Any, curve: PairingCurve, where: str):
    """snarkjs G2 JSON -> affine ((x0, x1), (y0, y1)) or None."""
    if not isinstance(value, list) or len(value) not in (2, 3) or not all(isinstance(v, list) and len(v) == 2 for v in value):
        raise ProofFormatError(f"{where}: expected [[x0, x1], [y0, y1], [z0, z1]], got {value!r}")
    c = [[_int(v, f"{where}[{i}][{j}]") for j, v in enumerate(pair)] for i, pair in enumerate(value)]
    q = curve.q
    if max(max(pair) for pair in c) >= q:
        raise CoordinateRangeError(f"{where}: coordinate >= q")
    z = tuple(c[2]) if len(c) == 3 else (1, 0)
    if z == (0, 0):
        return None
    x, y = tuple(c[0]), tuple(c[1])
    if z == (1, 0):
        return (x, y)
    mul = lambda a, b: ((a[0] * b[0] - a[1] * b[1]) % q, (a[0] * b[1] + a[1] * b[0]) % q)  # noqa: E731  (u^2 = -1)
    norm_inv = pow((z[0] * z[0] + z[1] * z[1]) % q, -1, q)
    zi = (z[0] * norm_inv % q, -z[1] * norm_inv % q)
    zi2 = mul(zi, zi)
    return (mul(x, zi2), mul(y, mul(zi2, zi)))


def _curve_of(obj: dict, what: str) -> PairingCurve:
    if not isinstance(obj, dict):
        raise ProofFormatError(f"{what}: expected a JSON object, got {type(obj).__name__}")
    if obj.get("protocol", "groth16") != "groth16":
        raise ProofFormatError(f"{what}: protocol {obj.get('protocol')!r} is not groth16")
    try:
        return curve_from_name(str(obj.get("curve", "bn128")))
    except ValueError as err:
        raise ProofFormatError(f"{what}: {err}") from None


def parse_proof(source: Any) -> tuple[PairingCurve, Any, Any, Any]:
    """(curve, pi_a, pi_b, pi_c) from a proof path, JSON string or dict."""
    obj = load_json(source, "proof")
    curve = _curve_of(obj, "proof")
    for key in ("pi_a", "pi_b", "pi_c"):
        if key not in obj:
            raise ProofFormatError(f"proof: missing {key}")
    return curve, parse_g1(obj["pi_a"], curve, "proof.pi_a"), parse_g2(obj["pi_b"], curve, "proof.pi_b"), parse_g1(obj["pi_c"], curve, "proof.pi_c")


def parse_public(source: Any) -> list[int]:
    """Public signals (ints, not yet range-checked) from a path, JSON string or list."""
    obj = load_json(source, "public signals")
    if not isinstance(obj, list):
        raise ProofFormatError(f"public signals: expected a JSON list, got {type(obj).__name__}")
    return [_int(v, f"public[{i}]") for i, v in enumerate(obj)]


def parse_verification_key(source: Any) -> dict:
    """{"curve", "n_public", "alpha_1", "beta_2", "gamma_2", "delta_2", "ic"} from a snarkjs vk."""
    obj = load_json(source, "verification key")
    curve = _curve_of(obj, "verification key")
    for key in ("vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"):
        if key not in obj:
            raise ProofFormatError(f"verification key: missing {key}")
    if not isinstance(obj["IC"], list) or not obj["IC"]:
        raise ProofFormatError("verification key: IC must be a non-empty list")
    n_public = len(obj["IC"]) - 1
    if "nPublic" in obj and _int(obj["nPublic"], "verification key.nPublic") != n_public:
        raise ProofFormatError(f"verification key: nPublic = {obj['nPublic']} but IC has {len(obj['IC'])} points")
    return {
        "curve": curve, "n_public": n_public,
        "alpha_1": parse_g1(obj["vk_alpha_1"], curve, "vk_alpha_1"),
        "beta_2": parse_g2(obj["vk_beta_2"], curve, "vk_beta_2"),
        "gamma_2": parse_g2(obj["vk_gamma_2"], curve, "vk_gamma_2"),
        "delta_2": parse_g2(obj["vk_delta_2"], curve, "vk_delta_2"),
        "ic": [parse_g1(p, curve, f"IC[{i}]") for i, p in enumerate(obj["IC"])],
    }
