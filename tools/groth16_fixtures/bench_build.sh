#!/usr/bin/env bash
# Usage: bench_build.sh N OUTDIR [K]
# Builds the Groth16 benchmark circuit (N chained Poseidon(2), 240 N constraints) into OUTDIR:
#   OUTDIR/bench_chain_N.circom   the main component for this N (includes circuits/bench_chain.circom)
#   OUTDIR/circuit.r1cs           circom2 --O2 output
#   OUTDIR/circuit.wasm           the witness calculator
#   OUTDIR/input_k.json, OUTDIR/witness_k.wtns for k < K (default 1): x = k + 1, seed = 7
# Uses this package's pinned circom2 and snarkjs (npm ci is run if node_modules is missing).
set -euo pipefail
if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
    echo "usage: $0 N OUTDIR [K]" >&2
    exit 2
fi
N="$1"
OUT="$2"
K="${3:-1}"
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -f "$DIR/node_modules/snarkjs/build/cli.cjs" ] || [ ! -f "$DIR/node_modules/circom2/cli.js" ]; then
    npm ci --prefix "$DIR" --no-audit --no-fund >&2
fi
SNARKJS=(node "$DIR/node_modules/snarkjs/build/cli.cjs")
CIRCOM=(node "$DIR/node_modules/circom2/cli.js")
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
MAIN="$OUT/bench_chain_$N.circom"

if [ ! -f "$OUT/circuit.r1cs" ] || [ ! -f "$OUT/circuit.wasm" ]; then
    printf 'pragma circom 2.1.0;\n\ninclude "%s";\n\ncomponent main {public [seed]} = BenchChain(%d);\n' \
        "bench_chain.circom" "$N" > "$MAIN"
    # circom2 runs under WASI with only the working directory's ancestors visible, and resolves an
    # include next to the including file and does not follow symlinks: copy the template and
    # circomlib beside the main file.
    cp "$DIR/circuits/bench_chain.circom" "$OUT/bench_chain.circom"
    rm -rf "$OUT/circomlib" && mkdir -p "$OUT/circomlib" && cp -r "$DIR/node_modules/circomlib/circuits" "$OUT/circomlib/"
    (cd "$OUT" && "${CIRCOM[@]}" "bench_chain_$N.circom" --O2 --r1cs --wasm -l . -o . > compile.log)
    mv "$OUT/bench_chain_$N.r1cs" "$OUT/circuit.r1cs.tmp"
    cp "$OUT/bench_chain_${N}_js/bench_chain_$N.wasm" "$OUT/circuit.wasm"
    mv "$OUT/circuit.r1cs.tmp" "$OUT/circuit.r1cs"
fi
for ((k = 0; k < K; k++)); do
    if [ ! -f "$OUT/witness_$k.wtns" ]; then
        printf '{"x": "%d", "seed": "7"}\n' "$((k + 1))" > "$OUT/input_$k.json"
        "${SNARKJS[@]}" wtns calculate "$OUT/circuit.wasm" "$OUT/input_$k.json" "$OUT/witness_$k.wtns.tmp"
        mv "$OUT/witness_$k.wtns.tmp" "$OUT/witness_$k.wtns"
    fi
done
