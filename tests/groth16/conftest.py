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
