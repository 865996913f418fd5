"""Every benchmark suite is registered, importable, and prints the public JSON schema; the `bench`
extra installs the peers the suites import."""

import ast
import importlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from supervm_jax.bench import SUITES

ROOT = Path(__file__).resolve().parents[1]

SCHEMA = {"suite", "case", "n", "backend", "devices", "ours_s", "peer", "peer_s", "speedup", "compile_s"}


def test_every_suite_has_sizes_and_run():
    for name in SUITES:
        suite = importlib.import_module(f"supervm_jax.bench.{name}")
        assert callable(suite.run) and suite.DEFAULT_SIZES, name


def test_ntt_suite_prints_schema_lines():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # two devices from --cpu_devices
    proc = subprocess.run(
        [sys.executable, "-m", "supervm_jax.bench", "ntt", "--n=2**6", "--repeats=1", "--cpu_devices=2"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {r["case"] for r in rows} == {"BN254_FR.ntt", "BN254_FR.ntt_sharded", "BLS12_381_FR.ntt", "BLS12_381_FR.ntt_sharded"}
    for r in rows:
        assert SCHEMA <= set(r), r
        assert r["suite"] == "ntt" and r["n"] == 64 and r["devices"] == 2 and r["ours_s"] > 0
        if r["peer_s"] is not None:
            assert abs(r["speedup"] - r["peer_s"] / r["ours_s"]) < 1e-9


def test_unknown_suite_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "supervm_jax.bench", "nope"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "SUITE one of" in proc.stderr


def _distribution_names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", req).group()).lower() for req in requirements}


def test_bench_extra_provides_every_installed_peer_module():
    """Each third-party module a suite imports comes from a distribution that the core dependencies or
    the `bench` extra name (e.g. module light_poseidon_python from light-poseidon). Checked for the
    modules installed here (the test environment installs the extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _distribution_names(project["dependencies"] + project["optional-dependencies"]["bench"])
    modules = set()
    for path in (ROOT / "supervm_jax" / "bench").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    installed = importlib.metadata.packages_distributions()
    third_party = sorted(m for m in modules if m not in sys.stdlib_module_names and m != "supervm_jax")
    checked = [m for m in third_party if m in installed]
    assert "light_poseidon_python" in checked, third_party
    for module in checked:
        assert _distribution_names(installed[module]) & declared, (module, installed[module])
