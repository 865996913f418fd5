"""Device pairings against py_ecc (values), snarkjs (vk_alphabeta_12) and the group law.

Every value test runs twice (`path`): on the C++ kernels the CPU backend uses (`native/pairing.cc`)
and on the JAX kernels (the GPU path). Inputs are fresh random multiples of the generators every run
(scalars in the failure message). The JAX path's first call per curve and mesh compiles the Miller
loop and the final exponentiation (about a minute on BN254, two on BLS12-381 here), so this file
keeps to one program size per curve on the default mesh, BN254 also on one device.
"""

import importlib
import json
import pathlib
import secrets

import numpy as np
import pytest

from supervm_jax import native
from supervm_jax.pairing import GTElement, pairing, pairing_check
from supervm_jax.pairing.final_exp import program_exponent, programs
from supervm_jax.pairing.params import pairing_params
from supervm_jax.pmap import device_mesh

FIXTURES = pathlib.Path(__file__).parents[1] / "groth16" / "fixtures"
CURVES = {"bn254": "py_ecc.optimized_bn128", "bls12_381": "py_ecc.optimized_bls12_381"}


class Points:
    """Affine int points k G1 / k G2 of one curve through py_ecc."""

    def __init__(self, curve: str):
        self.m = importlib.import_module(CURVES[curve])
        self.r = self.m.curve_order

    def g1(self, k: int):
        x, y = self.m.normalize(self.m.multiply(self.m.G1, k % self.r))
        return (int(x.n), int(y.n))

    def g2(self, k: int):
        x, y = self.m.normalize(self.m.multiply(self.m.G2, k % self.r))
        return (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs))

    def reference(self, a: int, b: int):
        """py_ecc's e(a G1, b G2)."""
        return self.m.pairing(self.m.multiply(self.m.G2, b), self.m.multiply(self.m.G1, a))


@pytest.fixture(params=[True, False], ids=["native", "jax"])
def path(request, monkeypatch):
    """Run on the C++ pairing kernels, then on the JAX kernels (`native.ENABLED` is read per call)."""
    return _use_path(request.param, monkeypatch)


def _use_path(use_native: bool, monkeypatch) -> str:
    if use_native and not native.pairing_available("bn254"):
        pytest.skip("native pairing kernels unavailable here (no compiler or not a CPU backend)")
    monkeypatch.setattr(native, "ENABLED", use_native)
    return "native" if use_native else "jax"


# (curve, native): BLS12-381 on the JAX kernels is slow-marked: its compile (about 2.5 minutes and
# 3.3 GB here) is the suite's largest; BN254 runs the same JAX code, and BLS12-381's twist type and
# final-exponentiation program run in the default suite on the C++ kernels (which test_pairing_native
# compares with py_ecc) and in `test_final_exponentiation_programs_*` on integers.
CURVE_PATHS = [("bn254", True), ("bn254", False), ("bls12_381", True),
               pytest.param("bls12_381", False, marks=pytest.mark.slow)]


def _scalar(r: int) -> int:
    return 1 + secrets.randbelow(r - 1)


@pytest.mark.parametrize("curve,use_native", CURVE_PATHS)
def test_pairing_equals_py_ecc_on_fresh_points(curve, use_native, monkeypatch):
    _use_path(use_native, monkeypatch)
    pts = Points(curve)
    a, b = _scalar(pts.r), _scalar(pts.r)
    got = pairing(pts.g1(a), pts.g2(b), curve=curve)
    assert got.to_py_ecc() == pts.reference(a, b), f"a={a} b={b}"
    assert not got.is_one()  # non-degenerate on points of order r


@pytest.mark.parametrize("curve,use_native", CURVE_PATHS)
def test_pairing_check_bilinearity_and_failures(curve, use_native, monkeypatch):
    _use_path(use_native, monkeypatch)
    """Products of 2, 6 (two Miller groups) and 0 pairs; e(aP, bQ) e(-ab P, Q) = 1 and near misses."""
    pts = Points(curve)
    a, b, c = _scalar(pts.r), _scalar(pts.r), _scalar(pts.r)
    ab = a * b % pts.r
    good = [(pts.g1(a), pts.g2(b)), (pts.g1(-ab), pts.g2(1))]
    off_by_one = [(pts.g1(a), pts.g2(b)), (pts.g1(-ab + 1), pts.g2(1))]
    swapped = [(pts.g1(b), pts.g2(a + 1)), (pts.g1(-ab), pts.g2(1))]
    six = good + [(pts.g1(c), pts.g2(a)), (pts.g1(a), pts.g2(-c)), (None, pts.g2(b)), (pts.g1(b), None)]
    six_bad = good + [(pts.g1(c), pts.g2(a)), (pts.g1(a), pts.g2(c)), (pts.g1(1), pts.g2(1)), (pts.g1(-1), pts.g2(1))]
    only_infinity = [(None, pts.g2(3)), (pts.g1(5), None)]
    got = pairing_check([good, off_by_one, [], six, swapped, six_bad, only_infinity], curve=curve)
    assert got.tolist() == [True, False, True, True, False, False, True], f"a={a} b={b} c={c}"


def test_pairing_identity_and_aliases():
    pts = Points("bn254")
    assert pairing(None, pts.g2(7), curve="bn128").is_one()
    assert pairing(pts.g1(7), None, curve="BN254").to_py_ecc() == pts.m.FQ12.one()
    assert pairing_check([], curve="bn254").shape == (0,)
    with pytest.raises(ValueError, match="unknown pairing curve"):
        pairing_check([[]], curve="secp256k1")


def test_one_device_equals_all_devices(path):
    pts = Points("bn254")
    a, b = _scalar(pts.r), _scalar(pts.r)
    batch = [[(pts.g1(a), pts.g2(b)), (pts.g1(-a * b), pts.g2(1))], [(pts.g1(a), pts.g2(b))]]
    one = pairing_check(batch, curve="bn254", mesh=device_mesh(1))
    assert one.tolist() == pairing_check(batch, curve="bn254").tolist() == [True, False]
    gt = pairing(pts.g1(a), pts.g2(b), curve="bn254", mesh=device_mesh(1))
    assert gt == pairing(pts.g1(a), pts.g2(b), curve="bn254")
    assert gt.to_py_ecc() == pts.reference(a, b)


def _off_curve_g2(curve: str):
    """A point on neither the twist nor anything useful: (x, y + 1) of a valid point."""
    pts = Points(curve)
    (x, y) = pts.g2(5)
    return (x, ((y[0] + 1) % pairing_params(curve).p, y[1]))


def _twist_point_outside_subgroup(curve: str):
    """A point on the twist outside the order-r subgroup: the first x = 2, 3, ... with x^3 + b' a
    square (the twist's cofactor is huge, so it is not in G2; py_ecc confirms)."""
    g2 = pairing_params(curve).g2
    host = g2.coords.host_ops()
    x = host.one
    while True:
        x = host.add(x, host.one)
        y = host.sqrt(host.add(host.mul(host.mul(x, x), x), g2.b))
        if y is not None:
            break
    m = importlib.import_module(CURVES[curve])
    pt = (m.FQ2(list(x)), m.FQ2(list(y)), m.FQ2.one())
    assert m.is_on_curve(pt, m.b2) and not m.is_inf(m.multiply(pt, m.curve_order))
    return (x, y)


def test_invalid_points_are_refused_naming_product_and_pair():
    pts = Points("bn254")
    good = (pts.g1(2), pts.g2(3))
    with pytest.raises(ValueError, match=r"product 1 pair 0: Q .* not on the curve"):
        pairing_check([[good], [(pts.g1(2), _off_curve_g2("bn254"))]], curve="bn254")
    with pytest.raises(ValueError, match=r"product 0 pair 1: P .* not on the curve"):
        pairing_check([[good, ((1, 3), pts.g2(1))]], curve="bn254")
    with pytest.raises(ValueError, match=r"product 0 pair 0: Q .* not in the order-r subgroup"):
        pairing_check([[(pts.g1(1), _twist_point_outside_subgroup("bn254"))]], curve="bn254")
    with pytest.raises(ValueError, match=r"product 0 pair 0: P is malformed"):
        pairing_check([[((pairing_params("bn254").p, 2), pts.g2(1))]], curve="bn254")
    with pytest.raises(ValueError, match=r"product 0 pair 0 is not a \(P, Q\) pair"):
        pairing_check([[(pts.g1(1), pts.g2(1), 3)]], curve="bn254")


@pytest.mark.parametrize("curve", sorted(CURVES))
def test_final_exponentiation_programs_compute_the_documented_multiples(curve):
    """The hard parts compute f^(m d), d = (p^4 - p^2 + 1) / r, with the m of the literature
    (Fuentes-Castaneda et al.: 2u(6u^2 + 3u + 1); Hayashida-Hayasaka-Teruya: 3), and the exact
    program adds m^-1 mod r: checked here on exponents, independently of the device."""
    params = pairing_params(curve)
    p, r, u = params.p, params.r, params.u
    phi = p**4 - p**2 + 1
    d = phi // r
    m = 2 * u * (6 * u * u + 3 * u + 1) if curve == "bn254" else 3
    rows = programs(curve)
    easy = 5  # INV, CONJ, MUL, FROB2, MUL
    assert program_exponent(rows["check"][easy:], p) == m * d % phi
    exact = program_exponent(rows["exact"][easy:], p)
    assert exact % d == 0 and (exact // d) % r == 1


@pytest.mark.parametrize("fixture", ["multiplier", "bls_mul_chain"])
def test_alpha_beta_matches_snarkjs_vk_alphabeta_12(fixture):  # the CPU default path
    """snarkjs writes e(alpha_1, beta_2) into every verification key; ours must be identical."""
    vk = json.loads((FIXTURES / fixture / "verification_key.json").read_text())
    curve = "bn254" if vk["curve"] == "bn128" else "bls12_381"
    alpha = tuple(int(c) for c in vk["vk_alpha_1"][:2])
    beta = tuple(tuple(int(c) for c in coord) for coord in vk["vk_beta_2"][:2])
    got = pairing(alpha, beta, curve=curve)
    assert got.to_snarkjs() == vk["vk_alphabeta_12"]
    assert isinstance(got, GTElement) and np.all(np.array(got.to_snarkjs(), dtype=object) != None)  # noqa: E711
