#!/usr/bin/env bash
# Regenerates the BLS12-381 snarkjs Groth16 fixture tests/groth16/fixtures/bls_mul_chain.
#
#   tools/groth16_fixtures/generate_bls.sh      (from anywhere; a few seconds)
#
# Same conventions and determinism as generate.sh (beacon-only ceremony, so
# everything except proof_K.json is reproducible bit for bit), but on the
# bls12381 curve: circom2 compiles for the BLS12-381 scalar field
# (`-p bls12381`) and the powers of tau are `powersoftau new bls12381`.
# Intermediate files go to tools/groth16_fixtures/build/bls/ (git-ignored).
# INSECURE test keys: the toxic waste follows from the public beacon hashes.
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
C=mul_chain
O="$ROOT/tests/groth16/fixtures/bls_mul_chain"
B="$DIR/build/bls"
PTAU_POWER=6
# BLS12-381 scalar order (the circuit's prime).
R=52435875175126190479447740508185965837690552500527637822603658699938581184513

rm -rf "$B" "$O"
mkdir -p "$B/ptau" "$O"

# ---- phase 1: powers of tau (bls12381, 2^PTAU_POWER) ------------------------
PT="$B/ptau"
run "${SNARKJS[@]}" powersoftau new bls12381 "$PTAU_POWER" "$PT/pot_0000.ptau"
run "${SNARKJS[@]}" powersoftau beacon "$PT/pot_0000.ptau" "$PT/pot_beacon.ptau" \
    "$PTAU_BEACON" "$BEACON_ITERS" -n="supervm_jax insecure test beacon (bls12381)"
run "${SNARKJS[@]}" powersoftau prepare phase2 "$PT/pot_beacon.ptau" "$PT/pot_final.ptau"
run "${SNARKJS[@]}" powersoftau verify "$PT/pot_final.ptau" > "$PT/verify.log"

# ---- circuit ----------------------------------------------------------------
run "${CIRCOM[@]}" "$DIR/circuits/$C.circom" --O2 --r1cs --wasm --sym -p bls12381 \
    -l "$DIR/node_modules" -o "$B" > "$B/compile.log"
WASM="$B/${C}_js/$C.wasm"
cp "$B/$C.r1cs" "$O/circuit.r1cs"
run "${SNARKJS[@]}" r1cs info "$O/circuit.r1cs" | tee "$B/r1cs_info.log"
grep -q "Curve: bls12-381" "$B/r1cs_info.log"

setup_key "$C, bls12381" "$O" "$B" "$PT/pot_final.ptau"

# ---- inputs: K=0 small values, K=1 values near r (x = r - 2, k = r - 1) ----
printf '{\n "x": "3",\n "k": "7"\n}\n' > "$O/input_0.json"
printf '{\n "x": "%s",\n "k": "%s"\n}\n' \
    "$(node -e "console.log((BigInt('$R') - 2n).toString())")" \
    "$(node -e "console.log((BigInt('$R') - 1n).toString())")" > "$O/input_1.json"

for K in 0 1; do
    run "${SNARKJS[@]}" wtns calculate "$WASM" "$O/input_$K.json" "$O/witness_$K.wtns"
    run "${SNARKJS[@]}" wtns check "$O/circuit.r1cs" "$O/witness_$K.wtns" > "$B/wtns_check_$K.log"
    run "${SNARKJS[@]}" groth16 prove "$O/circuit_final.zkey" "$O/witness_$K.wtns" \
        "$O/proof_$K.json" "$O/public_$K.json"
    run "$DIR/verify.sh" "$O/proof_$K.json" "$O/public_$K.json" "$O/verification_key.json"
    # public signals [out, k] must equal an independent BigInt evaluation mod r
    node -e '
        const fs = require("fs");
        const r = BigInt(process.argv[3]);
        const inp = JSON.parse(fs.readFileSync(process.argv[1]));
        const x = BigInt(inp.x), k = BigInt(inp.k);
        let y = x * x % r;
        for (let i = 1; i < 12; i++) y = (y * x + k) % r;
        const want = [y.toString(), k.toString()];
        const got = JSON.parse(fs.readFileSync(process.argv[2]));
        if (JSON.stringify(got) !== JSON.stringify(want)) {
            console.error("public signals mismatch", got, want); process.exit(1);
        }' "$O/input_$K.json" "$O/public_$K.json" "$R"
done

run node "$DIR/prove_fixed.js" "$O/circuit_final.zkey" "$O/witness_0.wtns" "$FIXED_R" "$FIXED_S" \
    "$O/proof_fixed_0.json" "$O/public_fixed_0.json" "$O/rs_fixed_0.json"
run "$DIR/verify.sh" "$O/proof_fixed_0.json" "$O/public_fixed_0.json" "$O/verification_key.json"
cmp "$O/public_fixed_0.json" "$O/public_0.json"
grep -q '"curve": "bls12381"' "$O/proof_fixed_0.json"

# a proof must not verify against the other witness's public signals
if "$DIR/verify.sh" "$O/proof_0.json" "$O/public_1.json" "$O/verification_key.json" > /dev/null 2>&1; then
    echo "negative check failed: wrong public signals verified" >&2
    exit 1
fi

du -sh "$O"
echo "fixture written to $O"
