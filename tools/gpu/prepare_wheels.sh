#!/usr/bin/env bash
# Run HERE (a machine with PyPI), before a device call: downloads the Python 3.12 wheels that the
# GPU image lacks (every test dependency and the package's own non-JAX dependencies) into
# .device_wheels/ (git-ignored); name that folder in the device call's `carry`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PIP=${PIP:-.venv/bin/pip}
"$PIP" download -q --python-version 3.12 --only-binary=:all: \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  -d .device_wheels pytest pytest-xdist hypothesis py-ecc pycryptodome gmpy2 pynacl coincurve cryptography \
  cffi pycparser sortedcontainers absl-py wasmtime
ls .device_wheels
