#!/usr/bin/env bash
# Compiles the private-transfer circuit supervm_jax/privacy/circuits/transfer.circom with the
# pinned circom2 (tools/groth16_fixtures/node_modules) and writes, next to the source,
#   transfer.r1cs   the constraint system
#   transfer.wasm   the witness calculator (circom's transfer_js/transfer.wasm)
# then prints `snarkjs r1cs info`. Intermediate files go to a temporary directory that is
# removed on exit. Deterministic: the same source and tools give the same bytes.
#
#   tools/privacy/compile_transfer.sh          (from anywhere)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# circom2 is a WASI build: it turns path arguments into paths relative to the cwd and can only
# open the cwd and its parents, so it runs from the repository root with relative paths.
cd "$ROOT"
NM=tools/groth16_fixtures/node_modules
CIRCUITS=supervm_jax/privacy/circuits
if [ ! -f "$NM/snarkjs/build/cli.cjs" ] || [ ! -f "$NM/circom2/cli.js" ]; then
    npm ci --prefix tools/groth16_fixtures --no-audit --no-fund
fi
CIRCOM=(node "$NM/circom2/cli.js")
SNARKJS=(node "$NM/snarkjs/build/cli.cjs")

BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT

echo "+ circom transfer.circom --O2 --r1cs --wasm --sym" >&2
"${CIRCOM[@]}" "$CIRCUITS/transfer.circom" --O2 --r1cs --wasm --sym -l "$NM" -o "$BUILD" \
    > "$BUILD/compile.log" || { cat "$BUILD/compile.log" >&2; exit 1; }
cp "$BUILD/transfer.r1cs" "$CIRCUITS/transfer.r1cs"
cp "$BUILD/transfer_js/transfer.wasm" "$CIRCUITS/transfer.wasm"
"${SNARKJS[@]}" r1cs info "$CIRCUITS/transfer.r1cs"
