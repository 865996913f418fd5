#!/usr/bin/env bash
# Usage: verify.sh PROOF PUBLIC VK
# Runs this package's snarkjs (`groth16 verify VK PUBLIC PROOF`); exits 0 only
# if snarkjs reports "OK!". Needs `npm ci --prefix tools/groth16_fixtures`.
set -euo pipefail
if [ "$#" -ne 3 ]; then
    echo "usage: $0 PROOF PUBLIC VK" >&2
    exit 2
fi
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLI="$DIR/node_modules/snarkjs/build/cli.cjs"
if [ ! -f "$CLI" ]; then
    echo "snarkjs not installed: run npm ci --prefix $DIR" >&2
    exit 3
fi
set +e
out="$(node "$CLI" groth16 verify "$3" "$2" "$1" 2>&1)"
rc=$?
set -e
printf '%s\n' "$out"
if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q 'OK!'; then
    exit 0
fi
exit 1
