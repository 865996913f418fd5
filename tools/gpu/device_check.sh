#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (repository root, carry .device_wheels): one call that checks
# correctness on the GPU backend, then times every kernel suite at GPU sizes.
#   device run: bash tools/gpu/device_check.sh      (carry: [".device_wheels"], timeout_s: 600)
# Logs and JSON lines go to $OUT; the last lines printed are a short summary.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
PY=${PY:-python3}
export PYTHONPATH=$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
$PY -m pip install -q --no-index --find-links .device_wheels py-ecc pycryptodome gmpy2 pynacl coincurve cryptography hypothesis >"$OUT/pip.txt" 2>&1 || echo "wheel install failed (see pip.txt)"
$PY -c "import jax; print('jax', jax.__version__, jax.devices())" | tee "$OUT/jax.txt"

stage() {  # stage NAME SECONDS COMMAND...
  local name=$1 secs=$2; shift 2
  local start=$SECONDS
  timeout "$secs" "$@" >"$OUT/$name.txt" 2>"$OUT/$name.err"
  echo "$name rc=$? $((SECONDS - start))s" | tee -a "$OUT/summary.txt"
}
stage tests_core 200 $PY -m pytest -q -x -p no:cacheprovider tests/field tests/ntt tests/pmap
stage bench_field 90 $PY -m supervm_jax.bench field --n=2**24 --repeats=5
stage bench_ntt 90 $PY -m supervm_jax.bench ntt --n=2**20,2**22 --repeats=5
stage bench_msm 90 $PY -m supervm_jax.bench msm --n=2**16,2**20 --repeats=3
stage bench_hash 60 $PY -m supervm_jax.bench hash --n=2**20,2**24 --repeats=3
stage bench_merkle 60 $PY -m supervm_jax.bench merkle --n=2**20,2**24 --repeats=3
stage tests_sigverify 150 $PY -m pytest -q -x -p no:cacheprovider tests/sigverify/test_ed25519.py -k "rfc8032_vectors or speccheck or small_order"
stage bench_sigverify 120 $PY -m supervm_jax.bench sigverify --n=2**14,2**16 --repeats=3
stage tests_groth16 120 $PY -m pytest -q -x -p no:cacheprovider tests/groth16/test_prover.py tests/groth16/test_files.py
echo "--- summary"; cat "$OUT/summary.txt"
for f in "$OUT"/bench_*.txt; do tail -n 4 "$f" | cut -c1-220; done
