#!/usr/bin/env bash
# Regenerates the snarkjs Groth16 reference fixtures in tests/groth16/fixtures.
#
#   tools/groth16_fixtures/generate.sh          (from anywhere)
#
# Uses only this package's pinned tools (npm ci is run if node_modules is
# missing). Intermediate files (ptau, zkey_0000, circom output) go to
# tools/groth16_fixtures/build/ (git-ignored).
#
# Determinism: circom2 compilation, the ceremony, the keys, inputs, witnesses
# and the fixed-(r,s) proofs are bit-for-bit reproducible. The ceremony uses
# beacon contributions only, because in snarkjs 0.7.6 `contribute -e TEXT`
# hashes TEXT together with 64 bytes from crypto.randomFillSync, so it can
# never be reproduced. proof_K.json from `snarkjs groth16 prove` are
# randomised by snarkjs (fresh r, s) and change on every run.
# The "toxic waste" is derivable from the public beacon hashes: test keys only.
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
OUT="$ROOT/tests/groth16/fixtures"
BUILD="$DIR/build"
PTAU_POWER=11
CIRCUITS=(multiplier poseidon_chain merkle_membership)

rm -rf "$BUILD"
mkdir -p "$BUILD" "$OUT"

# ---- phase 1: powers of tau (bn128, 2^PTAU_POWER) ---------------------------
PT="$BUILD/ptau"
mkdir -p "$PT"
run "${SNARKJS[@]}" powersoftau new bn128 "$PTAU_POWER" "$PT/pot_0000.ptau"
run "${SNARKJS[@]}" powersoftau beacon "$PT/pot_0000.ptau" "$PT/pot_beacon.ptau" \
    "$PTAU_BEACON" "$BEACON_ITERS" -n="supervm_jax insecure test beacon"
run "${SNARKJS[@]}" powersoftau prepare phase2 "$PT/pot_beacon.ptau" "$PT/pot_final.ptau"
run "${SNARKJS[@]}" powersoftau verify "$PT/pot_final.ptau" > "$PT/verify.log"

# ---- inputs -----------------------------------------------------------------
run node "$DIR/make_inputs.js" "$BUILD/inputs"

# ---- per circuit ------------------------------------------------------------
for C in "${CIRCUITS[@]}"; do
    B="$BUILD/$C"
    O="$OUT/$C"
    mkdir -p "$B"
    rm -rf "$O"
    mkdir -p "$O"

    run "${CIRCOM[@]}" "$DIR/circuits/$C.circom" --O2 --r1cs --wasm --sym \
        -l "$DIR/node_modules" -o "$B" > "$B/compile.log"
    WASM="$B/${C}_js/$C.wasm"
    cp "$B/$C.r1cs" "$O/circuit.r1cs"
    run "${SNARKJS[@]}" r1cs info "$O/circuit.r1cs" | tee "$B/r1cs_info.log"

    setup_key "$C" "$O" "$B" "$PT/pot_final.ptau"

    for K in 0 1 2; do
        cp "$BUILD/inputs/$C/input_$K.json" "$O/input_$K.json"
        run "${SNARKJS[@]}" wtns calculate "$WASM" "$O/input_$K.json" "$O/witness_$K.wtns"
        run "${SNARKJS[@]}" wtns check "$O/circuit.r1cs" "$O/witness_$K.wtns" > "$B/wtns_check_$K.log"
        run "${SNARKJS[@]}" groth16 prove "$O/circuit_final.zkey" "$O/witness_$K.wtns" \
            "$O/proof_$K.json" "$O/public_$K.json"
        run "$DIR/verify.sh" "$O/proof_$K.json" "$O/public_$K.json" "$O/verification_key.json"
        # public signals must equal the independently computed values
        node -e '
            const fs = require("fs");
            const a = JSON.parse(fs.readFileSync(process.argv[1]));
            const b = JSON.parse(fs.readFileSync(process.argv[2]));
            if (JSON.stringify(a) !== JSON.stringify(b)) {
                console.error("public signals mismatch", a, b); process.exit(1);
            }' "$O/public_$K.json" "$BUILD/inputs/$C/expected_$K.json"
    done

    run node "$DIR/prove_fixed.js" "$O/circuit_final.zkey" "$O/witness_0.wtns" "$FIXED_R" "$FIXED_S" \
        "$O/proof_fixed_0.json" "$O/public_fixed_0.json" "$O/rs_fixed_0.json"
    run "$DIR/verify.sh" "$O/proof_fixed_0.json" "$O/public_fixed_0.json" "$O/verification_key.json"
    cmp "$O/public_fixed_0.json" "$O/public_0.json"

    if [ "$C" = multiplier ]; then
        cp "$WASM" "$O/circuit.wasm"
        run node "$DIR/prove_fixed.js" --selftest "$O/circuit_final.zkey" "$O/witness_0.wtns" \
            "$O/verification_key.json"
    fi
done

# a proof must not verify against other public signals / another circuit's key
if "$DIR/verify.sh" "$OUT/multiplier/proof_0.json" "$OUT/multiplier/public_1.json" \
        "$OUT/multiplier/verification_key.json" > /dev/null 2>&1; then
    echo "negative check failed: wrong public signals verified" >&2
    exit 1
fi

du -sh "$OUT"
echo "fixtures written to $OUT"
