"""Device pairings against py_ecc (values), snarkjs (vk_alphabeta_12) and the group law, and the C++
kernels against the JAX kernels bit for bit.

Every value test runs twice (`path`): on the C++ kernels the CPU backend uses (`native/pairing.cc`)
and on the JAX kernels (the GPU path). Inputs are fresh random multiples of the generators every run
(scalars in the failure message). The JAX path's first call per curve and mesh compiles the Miller
loop and the final exponentiation (about a minute on BN254, two on BLS12-381 here), so this file
keeps the JAX kernels to one program size per curve on the default mesh, and the C++ against JAX
comparisons go through those same sharded programs (compiled once for the file).
"""

import importlib
import json
import pathlib
import secrets

import numpy as np
import pytest

from supervm_jax import native
from supervm_jax.pairing import GTElement, api, final_exp, pairing, pairing_check
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


def test_one_device_equals_all_devices():
    """On the platform's own path (the C++ kernels on CPU, the JAX kernels on a GPU): the sharding
    code is the same for both; the JAX kernels on CPU are checked against py_ecc and bit for bit
    against the C++ kernels on the default mesh (tests above and below)."""
    pts = Points("bn254")
    a, b = _scalar(pts.r), _scalar(pts.r)
    batch = [[(pts.g1(a), pts.g2(b)), (pts.g1(-a * b), pts.g2(1))], [(pts.g1(a), pts.g2(b))]]
    one = pairing_check(batch, curve="bn254", mesh=device_mesh(1))
    assert one.tolist() == pairing_check(batch, curve="bn254").tolist() == [True, False]
    gt = pairing(pts.g1(a), pts.g2(b), curve="bn254", mesh=device_mesh(1))
    assert gt == pairing(pts.g1(a), pts.g2(b), curve="bn254")
    assert gt.to_py_ecc() == pts.reference(a, b)


# -- the C++ kernels against the JAX kernels and a host reference ------------------------------------


def _need_native(curve: str) -> None:
    if not native.pairing_available(curve):
        pytest.skip("native pairing kernels unavailable here (no compiler, SUPERVM_NATIVE=0 or not CPU)")


def _random_products(curve: str):
    """Miller lanes (`api._miller_lanes`, points from py_ecc so not re-checked) of three random
    products: 4 pairs (one group), 3 pairs and a pair at infinity (a masked lane), 5 pairs (two
    groups, the second one pair); and their scalars [[(a, b), ...], ...] (a G1, b G2)."""
    pts = Points(curve)
    scalars = [[(_scalar(pts.r), _scalar(pts.r)) for _ in range(k)] for k in (4, 3, 5)]
    products = [[(pts.g1(a), pts.g2(b)) for a, b in product] for product in scalars]
    products[1].insert(2, (None, pts.g2(9)))
    lanes, groups = api._miller_lanes(pairing_params(curve), products, "test", check_groups=False)
    assert groups == [[0], [1], [2, 3]] and lanes[4].sum() == 4 + 3 + 5
    return lanes, scalars


def _py_ecc_values(curve: str, limbs: np.ndarray) -> list:
    """(L, 2, 2, 3, n) limbs -> n py_ecc FQ12 values."""
    return [GTElement(curve, c).to_py_ecc() for c in pairing_params(curve).tower.ints_from_limbs(limbs)]


def test_native_miller_loop_equals_the_jax_one_bit_for_bit():
    """BN254 (the JAX BLS12-381 Miller loop would add a minute and a half of compile; both paths'
    BLS12-381 values are checked against py_ecc): the API's sharded Miller programs on the default
    mesh, with masked lanes, and the groups' accumulators of one product multiply to its value."""
    _need_native("bn254")
    lanes, scalars = _random_products("bn254")
    mesh = device_mesh()
    got = api._miller("bn254", True, lanes, mesh)
    want = api._miller("bn254", False, lanes, mesh)
    assert got.shape == want.shape == (pairing_params("bn254").tower.L, 2, 2, 3, 4)
    assert np.array_equal(got, want), f"scalars {scalars}"
    pts = Points("bn254")
    base = pts.m.pairing(pts.m.G2, pts.m.G1)
    f = _py_ecc_values("bn254", api._final("bn254", True, "exact", got, mesh))
    assert [f[0], f[1], f[2] * f[3]] == [base ** (sum(a * b for a, b in p) % pts.r) for p in scalars], \
        f"scalars {scalars}"


def _odd_program() -> np.ndarray:
    """Every op; squarings of elements outside the cyclotomic subgroup (f, and the unitary but not
    cyclotomic f^(p^6 - 1): the kernel must fall back to the full squaring) and of the cyclotomic
    f^((p^6 - 1)(p^2 + 1)) (Granger-Scott); the result in register 6."""
    M, S, C, F1, F2, F3, I = (final_exp.MUL, final_exp.SQR, final_exp.CONJ, final_exp.FROB1, final_exp.FROB2,
                              final_exp.FROB3, final_exp.INV)
    return np.asarray([(S, 1, 0, 0), (M, 2, 1, 0), (I, 3, 2, 7), (F1, 4, 3, 0), (F3, 5, 4, 0), (F2, 6, 5, 0),
                       (S, 6, 6, 0), (C, 7, 6, 0), (I, 5, 0, 0), (C, 3, 0, 0), (M, 3, 3, 5), (S, 4, 3, 0),
                       (F2, 1, 3, 0), (M, 3, 1, 3), (S, 2, 3, 0), (S, 2, 2, 0), (M, 2, 2, 4), (M, 2, 2, 7),
                       (F1, 2, 2, 0), (S, 6, 2, 0)], np.int32)


def _host_program(curve: str, rows: np.ndarray, f):
    """A final_exp program run on one py_ecc FQ12 value: the plain reference (conjugation is
    w -> -w, the p^k Frobenius map is the p^k-th power)."""
    fq12, p = importlib.import_module(CURVES[curve]).FQ12, pairing_params(curve).p
    conj = lambda x: fq12([c if e % 2 == 0 else -c for e, c in enumerate(x.coeffs)])  # noqa: E731
    ops = {final_exp.MUL: lambda x, y: x * y, final_exp.SQR: lambda x, y: x * x, final_exp.CONJ: lambda x, y: conj(x),
           final_exp.FROB1: lambda x, y: x ** p, final_exp.FROB2: lambda x, y: x ** (p**2),
           final_exp.FROB3: lambda x, y: x ** (p**3), final_exp.INV: lambda x, y: x.inv()}
    regs = [f] + [fq12.one()] * (final_exp.NREG - 1)
    for op, dst, a, b in rows.tolist():
        regs[dst] = ops[op](regs[a], regs[b])
    return regs[int(rows[-1, 1])]


@pytest.mark.parametrize("curve", sorted(CURVES))
def test_final_programs_equal_reference_and_jax_run_program(curve):
    """The "check" program and `_odd_program` on Miller accumulators (and a zero lane, which stays 0
    as in the JAX kernel) through the API's sharded final programs: the C++ kernel equals py_ecc
    running the program on every curve, and on BN254 the JAX kernel bit for bit (the program the
    value tests above compiled; BLS12-381's would add a minute)."""
    _need_native(curve)
    mesh = device_mesh()
    lanes, scalars = _random_products(curve)
    miller_out = api._miller(curve, True, lanes, mesh)
    f = np.concatenate([miller_out, np.zeros_like(miller_out[..., :1])], axis=-1)
    f_py = _py_ecc_values(curve, miller_out)
    G = miller_out.shape[-1]
    for rows in (programs(curve)["check"], _odd_program()):
        program = (final_exp.padded(rows, api.PROGRAM_ROWS), np.int32(len(rows)))
        got = api._final(curve, True, program, f, mesh)
        assert _py_ecc_values(curve, got[..., :G]) == [_host_program(curve, rows, x) for x in f_py], \
            f"{len(rows)} rows, scalars {scalars}"
        assert not got[..., G].any()
        if curve == "bn254":
            assert np.array_equal(got, api._final(curve, False, program, f, mesh)), f"program of {len(rows)} rows"


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
