"""Configuration errors in every job: one line ``error: <message>`` on stderr, exit code 2, no
traceback. Each run fails while parsing the configuration, before any JAX work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JOBS = ["execute", "field_ntt", "prove", "verify"]


def run_job(job: str, *args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERVM_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", f"supervm_jax.jobs.{job}", *args], capture_output=True, check=False,
                          text=True, env=env, cwd=ROOT, timeout=120)


def assert_config_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert proc.stdout == ""


@pytest.fixture(scope="module")
def config_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("configs")
    files = {
        "malformed": "[mvcc\nshard_count = 4\n",
        "bad_value": "[parallel]\nnum_workers = 0\n",
        "unknown": "[mvcc]\nshards = 4\n",
        "not_utf8": None,
    }
    paths = {}
    for name, text in files.items():
        paths[name] = folder / f"{name}.toml"
        if text is None:
            paths[name].write_bytes(b"[mvcc]\npath = '\xff'\n")
        else:
            paths[name].write_text(text)
    paths["missing"] = folder / "missing.toml"
    return paths


@pytest.mark.parametrize("job", JOBS)
def test_bad_set_value_and_key(job):
    assert_config_error(run_job(job, "--set=mvcc.shard_count=3"), "mvcc.shard_count must be a power of two",
                        "got 3")
    assert_config_error(run_job(job, "--set=mvcc.shards=4"), "unknown config key 'mvcc.shards'")
    assert_config_error(run_job(job, "--set=parallel.num_workers"), "--set expects section.key=value")
    assert_config_error(run_job(job, "--set=parallel.sequential_below=many"), "parallel.sequential_below", "integer")


@pytest.mark.parametrize("job", JOBS)
def test_bad_config_file(job, config_files):
    for name, fragments in [
        ("missing", ["No such file or directory"]),
        ("malformed", ["Expected ']'"]),
        ("bad_value", ["parallel.num_workers must be >= 1"]),
        ("unknown", ["unknown config key 'mvcc.shards'"]),
        ("not_utf8", ["not UTF-8"]),
    ]:
        path = config_files[name]
        assert_config_error(run_job(job, f"--config={path}"), f"file {path}", *fragments)


def test_bad_environment_value():
    assert_config_error(run_job("execute", env_extra={"SUPERVM_MVCC_SHARDS": "3"}), "SUPERVM_MVCC_SHARDS")
