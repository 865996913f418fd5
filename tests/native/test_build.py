"""The native library's build cache (`supervm_jax.native._build`), with a stand-in compiler: one
stderr line on a build, none on a cache hit, and a separate build for a CPU with other feature
flags (the library is `-march=native`)."""

import os
import platform

import pytest

from supervm_jax import native


@pytest.fixture
def fake_compiler(tmp_path, monkeypatch):
    """CXX = a script that records each call and writes its `-o` file; the cache in tmp_path."""
    log = tmp_path / "calls"
    script = tmp_path / "fake-cxx"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\nwhile [ "$1" != "-o" ]; do shift; done\necho lib > "$2"\n')
    script.chmod(0o755)
    monkeypatch.setenv("CXX", str(script))
    monkeypatch.setenv("SUPERVM_NATIVE_CACHE", str(tmp_path / "cache"))
    return log


def _calls(log):
    return log.read_text().splitlines() if log.exists() else []


def test_build_once_per_cpu_flags(fake_compiler, monkeypatch, capfd):
    monkeypatch.setattr(native, "_cpu_flags", lambda compiler: b"flags : fpu sse2 avx2")
    first = native._build()
    assert first is not None and first.read_text() == "lib\n" and len(_calls(fake_compiler)) == 1
    assert "-march=native" in _calls(fake_compiler)[0]
    assert capfd.readouterr().err.count("supervm_jax: building the native kernels") == 1

    assert native._build() == first                         # cached: no compiler call, silent
    assert len(_calls(fake_compiler)) == 1
    assert capfd.readouterr().err == ""

    monkeypatch.setattr(native, "_cpu_flags", lambda compiler: b"flags : fpu sse2")  # an older CPU
    other = native._build()
    assert other is not None and other != first and len(_calls(fake_compiler)) == 2
    assert sorted(os.listdir(first.parent)) == sorted([first.name, other.name])


def test_cpu_flags_reader(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 bmi2\n\nprocessor\t: 1\nflags\t\t: fpu avx2 bmi2\n")
    assert native._cpu_flags("g++", info) == b"flags\t\t: fpu avx2 bmi2"
    arm = tmp_path / "cpuinfo-arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd aes\n")
    assert native._cpu_flags("g++", arm) == b"Features\t: fp asimd aes"
    # no /proc/cpuinfo (macOS): the compiler's view of -march=native, or the machine name
    assert native._cpu_flags("/bin/false", tmp_path / "absent") == platform.machine().encode()
