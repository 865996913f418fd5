# Shared by generate.sh and generate_bls.sh (sourced): the pinned Node tools, the public beacon
# "randomness" of the INSECURE test ceremonies, the fixed blinding scalars, and a logging runner.
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$DIR/../.." && pwd)"
# Blinding scalars for proof_fixed_0.json (below both curves' scalar orders).
FIXED_R=12345678901234567890
FIXED_S=98765432109876543210
# Public "randomness" of the insecure ceremony: the toxic waste follows from these.
PTAU_BEACON=0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
ZKEY_BEACON=2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40
BEACON_ITERS=10

if [ ! -f "$DIR/node_modules/snarkjs/build/cli.cjs" ] || [ ! -f "$DIR/node_modules/circom2/cli.js" ]; then
    npm ci --prefix "$DIR" --no-audit --no-fund
fi
SNARKJS=(node "$DIR/node_modules/snarkjs/build/cli.cjs")
CIRCOM=(node "$DIR/node_modules/circom2/cli.js")

run() { echo "+ $*" >&2; "$@"; }

# setup_key NAME OUT BUILD PTAU: Groth16 key for OUT/circuit.r1cs from the ptau (setup, one public
# beacon, verify), its verification key, and OUT/info.json (reads BUILD/r1cs_info.log).
setup_key() {
    local name=$1 out=$2 build=$3 ptau=$4
    run "${SNARKJS[@]}" groth16 setup "$out/circuit.r1cs" "$ptau" "$build/circuit_0000.zkey"
    run "${SNARKJS[@]}" zkey beacon "$build/circuit_0000.zkey" "$out/circuit_final.zkey" \
        "$ZKEY_BEACON" "$BEACON_ITERS" -n="supervm_jax insecure test beacon ($name)"
    run "${SNARKJS[@]}" zkey verify "$out/circuit.r1cs" "$ptau" "$out/circuit_final.zkey" > "$build/zkey_verify.log"
    run "${SNARKJS[@]}" zkey export verificationkey "$out/circuit_final.zkey" "$out/verification_key.json"
    run node "$DIR/info.js" "$out/circuit.r1cs" "$out/circuit_final.zkey" "$build/r1cs_info.log" "$out/info.json"
}
