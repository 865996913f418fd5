#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (repository root, carry .device_wheels): the one-call device check.
#   device run: bash tools/gpu/device_check.sh      (carry: [".device_wheels"], timeout_s: 600)
# Installs the carried wheels (tools/gpu/prepare_wheels.sh made them), then runs
# tools/gpu/device_check.py: sanity tests, every bench suite at device sizes, the whole test suite,
# all inside a 560 s budget. Results under $OUT: summary.md (the table for docs/PERFORMANCE.md),
# bench.jsonl, one log per stage. Rehearse here: python tools/gpu/device_check.py --rehearse
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
PY=${PY:-python3}
$PY -m pip install -q --no-index --find-links .device_wheels \
  pytest pytest-xdist hypothesis py-ecc pycryptodome gmpy2 pynacl coincurve cryptography \
  sortedcontainers absl-py wasmtime >"$OUT/pip.txt" 2>&1 || echo "wheel install failed (see pip.txt)"
exec $PY tools/gpu/device_check.py --out="$OUT" --budget_s="${BUDGET_S:-560}"
