"""Endomorphism subgroup tests (curve/subgroup.py) against multiplication by r in py_ecc.

Points in the subgroup: fresh random multiples of the generator (and the identity). Points outside:
the first few x = 2, 3, ... with x^3 + b a square (their order is not r: py_ecc multiplies by r and
confirms), plus such a point added to a subgroup point. Each must be classified exactly as
[r] P == O says, with the scalar multiplications inside the tests on the C++ kernel
(`native.scalar_mul_bits`, the CPU default) and on the JAX ladder (the GPU path).
"""

import importlib
import secrets

import pytest

from supervm_jax import native
from supervm_jax.curve import BLS12_381_G1, BLS12_381_G2, BN254_G2

MODULES = {"BN254_G2": "py_ecc.optimized_bn128", "BLS12_381_G2": "py_ecc.optimized_bls12_381",
           "BLS12_381_G1": "py_ecc.optimized_bls12_381"}


def _outside(curve, count: int):
    host = curve.coords.host_ops()
    x, found = host.one, []
    while len(found) < count:
        x = host.add(x, host.one)
        y = host.sqrt(host.add(host.mul(host.mul(x, x), x), curve.b))
        if y is not None:
            found.append((x, y))
    return found


@pytest.fixture(params=[True, False], ids=["native", "jax"])
def path(request, monkeypatch):
    """The native point kernels, then the JAX kernels (`Group` programs are cached per flag)."""
    if request.param and not native.weierstrass_available(BN254_G2):
        pytest.skip("native point kernels unavailable here (no compiler or not a CPU backend)")
    monkeypatch.setattr(native, "ENABLED", request.param)
    return request.param


@pytest.mark.parametrize("curve", [BN254_G2, BLS12_381_G2, BLS12_381_G1], ids=lambda c: c.name)
def test_endomorphism_test_equals_multiplication_by_r(curve, path):
    assert curve.subgroup_test is not None  # attached in curves.py: in_subgroup below runs it
    m = importlib.import_module(MODULES[curve.name])
    g2 = curve.coords.degree == 2
    gen, b = (m.G2, m.b2) if g2 else (m.G1, m.b)
    F = m.FQ2 if g2 else m.FQ

    def to_py(pt):
        return (F(list(pt[0]) if g2 else pt[0]), F(list(pt[1]) if g2 else pt[1]), F.one())

    def from_py(pt):
        if m.is_inf(pt):
            return None
        x, y = m.normalize(pt)
        return (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs)) if g2 else (int(x.n), int(y.n))

    inside = [from_py(m.multiply(gen, 1 + secrets.randbelow(curve.order - 1))) for _ in range(3)] + [None, curve.generator]
    outside = _outside(curve, 3)
    mixed = [from_py(m.add(to_py(outside[0]), m.multiply(gen, 5)))]
    points = inside + outside + mixed
    want = [pt is None or m.is_inf(m.multiply(to_py(pt), curve.order)) for pt in points]
    assert want == [True] * len(inside) + [False] * (len(outside) + len(mixed))
    for pt in outside + mixed:
        assert m.is_on_curve(to_py(pt), b)
    got = curve.in_subgroup(curve.from_affine(points))
    assert got.tolist() == want
