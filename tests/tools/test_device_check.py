"""tools/gpu/device_check.py: stage timeouts, bench-row collection and the summary table."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

from supervm_jax.bench import SUITES

_PATH = Path(__file__).resolve().parents[2] / "tools" / "gpu" / "device_check.py"
_spec = importlib.util.spec_from_file_location("device_check", _PATH)
device_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(device_check)


def test_every_suite_has_sizes():
    assert device_check.suites() == list(SUITES)
    for suite in SUITES:
        assert suite in device_check.GPU_SIZES and suite in device_check.REHEARSAL_SIZES


def test_stage_timeout_kills_the_process_group(tmp_path):
    start = time.monotonic()
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    result = device_check.run_stage("slow", [sys.executable, "-c", script], 1.5, tmp_path, {})
    assert result["rc"] is None and time.monotonic() - start < 20
    ok = device_check.run_stage("fast", [sys.executable, "-c", "print('{\"case\": 1}')"], 30, tmp_path, {})
    assert ok["rc"] == 0 and (tmp_path / "fast.txt").read_text() == '{"case": 1}\n'


def test_rows_progress_and_table():
    text = 'progress\n{"suite": "msm", "case": "bn254", "n": 1024, "ours_s": 0.5, "speedup": 2.0}\n{broken\n'
    rows = device_check.bench_rows(text)
    assert rows == [{"suite": "msm", "case": "bn254", "n": 1024, "ours_s": 0.5, "speedup": 2.0}]
    table = device_check.markdown_table(rows).splitlines()
    assert table[0].startswith("| suite | case | n | devices | ours_s")
    assert table[2] == "| msm | bn254 | 1024 |  | 0.5 |  |  | 2 |  |"
    log = "tests/a.py::x PASSED [ 1%]\ntests/a.py::y FAILED [ 2%]\ntests/b.py::z SKIPPED (no gpu) [ 3%]\n"
    assert device_check.pytest_progress(log) == "1 passed, 1 failed, 1 skipped"
    report = device_check.summary("NVIDIA H200", "device", [{"stage": "tests", "rc": None, "seconds": 3.0}], rows)
    assert "# Device check: NVIDIA H200 (device" in report and "- tests: timed out, 3.0 s" in report
