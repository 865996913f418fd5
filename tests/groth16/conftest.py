"""Shared helpers for the Groth16 tests: fixture paths and the snarkjs command line (Node)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
NODE_PACKAGE = Path(__file__).resolve().parents[2] / "tools" / "groth16_fixtures"
SNARKJS_CLI = NODE_PACKAGE / "node_modules" / "snarkjs" / "cli.js"
CIRCUITS = ("multiplier", "poseidon_chain", "merkle_membership")


def fixture(circuit: str, name: str) -> Path:
    return FIXTURES / circuit / name


def fixture_json(circuit: str, name: str):
    return json.loads(fixture(circuit, name).read_text())


def fixed_blinding(circuit: str) -> tuple[int, int]:
    rs = fixture_json(circuit, "rs_fixed_0.json")
    return int(rs["r"]), int(rs["s"])


def snarkjs_available() -> bool:
    """True if Node and the pinned snarkjs are installed; skips the calling test otherwise, unless
    SUPERVM_REQUIRE_NODE=1 (set by .ci/run), where their absence is a failure."""
    if shutil.which("node") and SNARKJS_CLI.exists():
        return True
    if os.environ.get("SUPERVM_REQUIRE_NODE") == "1":
        pytest.fail(f"SUPERVM_REQUIRE_NODE=1 but node or {SNARKJS_CLI} is missing (npm ci --prefix {NODE_PACKAGE})")
    pytest.skip("node / snarkjs not installed (npm ci --prefix tools/groth16_fixtures)")


def snarkjs(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Runs the pinned snarkjs CLI; returns the completed process (no check)."""
    return subprocess.run(["node", str(SNARKJS_CLI), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


# -- points outside the prime-order subgroups (test inputs; py_ecc confirms what they are) ------------

def _sqrt_mod(a: int, q: int) -> int | None:
    """A square root mod q (q = 3 mod 4, both curves' base fields), None for a non-residue."""
    y = pow(a, (q + 1) // 4, q)
    return y if y * y % q == a % q else None


def _sqrt_fq2(a: tuple[int, int], q: int) -> tuple[int, int] | None:
    """A square root in Fq2 = Fq[u] / (u^2 + 1): (x0 + x1 u)^2 = a gives x0^2 = (a0 + |a|) / 2, x1 = a1 / (2 x0)."""
    norm = _sqrt_mod((a[0] * a[0] + a[1] * a[1]) % q, q)
    if norm is None:
        return None
    for n in (norm, -norm % q):
        x0 = _sqrt_mod((a[0] + n) * pow(2, -1, q) % q, q)
        if x0:
            x = (x0, a[1] * pow(2 * x0, -1, q) % q)
            if ((x[0] * x[0] - x[1] * x[1]) % q, 2 * x[0] * x[1] % q) == (a[0] % q, a[1] % q):
                return x
    return None


def point_outside_subgroup(curve, group: str):
    """An affine point on `curve`'s G1 curve (group "g1") or twist ("g2") that is not in the order-r
    subgroup: the first x = 1, 2, ... (G2: x = (k, 1)) with x^3 + b a square. Asserted with py_ecc."""
    from supervm_jax.groth16.pyecc import host_groups

    host, q = host_groups(curve), curve.q
    g = getattr(curve, group)
    for k in range(1, 1000):
        if group == "g1":
            y = _sqrt_mod((k**3 + g.b) % q, q)
            point = None if y is None else (k, y)
        else:
            x = (k, 1)
            x2 = ((x[0] * x[0] - x[1] * x[1]) % q, 2 * x[0] * x[1] % q)
            x3 = ((x2[0] * x[0] - x2[1] * x[1]) % q, (x2[0] * x[1] + x2[1] * x[0]) % q)
            y = _sqrt_fq2(((x3[0] + g.b[0]) % q, (x3[1] + g.b[1]) % q), q)
            point = None if y is None else (x, y)
        if point is None:
            continue
        pt = host.g1(point) if group == "g1" else host.g2(point)
        assert host.m.is_on_curve(pt, host.m.b if group == "g1" else host.m.b2)
        if not host.m.is_inf(host.m.multiply(pt, curve.r)):
            return point
    raise AssertionError("no point found")
