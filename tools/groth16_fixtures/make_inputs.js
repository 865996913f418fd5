#!/usr/bin/env node
// Writes the witness inputs input_K.json (K = 0,1,2) for the three fixture
// circuits into OUTDIR/<circuit>/. All values are fixed constants, so the
// output is deterministic. Merkle roots (and the expected poseidon_chain
// outputs, written to expected_K.json for a cross-check) are computed with
// circomlibjs' Poseidon, which matches circomlib's Poseidon circuit.
"use strict";
const fs = require("fs");
const path = require("path");
const { buildPoseidon } = require("circomlibjs");

// BN254 scalar field order.
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

async function main() {
    const outDir = process.argv[2];
    if (!outDir) throw new Error("usage: make_inputs.js OUTDIR");
    const poseidon = await buildPoseidon();
    const H = (a, b) => BigInt(poseidon.F.toString(poseidon([a, b])));
    const write = (circuit, name, obj) => {
        const d = path.join(outDir, circuit);
        fs.mkdirSync(d, { recursive: true });
        fs.writeFileSync(path.join(d, name), JSON.stringify(obj, null, 1) + "\n");
    };
    const s = (x) => x.toString();

    // multiplier: c = a*b, d = c*a (mod r). Includes a value near the modulus.
    const mulInputs = [[3n, 11n], [123456789n, 987654321n], [R - 1n, 5n]];
    mulInputs.forEach(([a, b], k) => {
        write("multiplier", `input_${k}.json`, { a: s(a), b: s(b) });
        const c = (a * b) % R, d = (c * a) % R;
        write("multiplier", `expected_${k}.json`, [s(c), s(d)]);
    });

    // poseidon_chain: 4 hashes, public signals [out, seed].
    const chainInputs = [[1n, 2n], [12345n, 67890n], [R - 1n, 0n]];
    chainInputs.forEach(([x, seed], k) => {
        write("poseidon_chain", `input_${k}.json`, { x: s(x), seed: s(seed) });
        let h = x;
        for (let i = 0; i < 4; i++) h = H(h, seed);
        write("poseidon_chain", `expected_${k}.json`, [s(h), s(seed)]);
    });

    // merkle_membership: depth-4 tree over 16 leaves, leaf_i = 1000 + 7*i
    // (tree K uses leaves shifted by K so the three roots differ).
    const DEPTH = 4;
    const indices = [0, 5, 15];
    indices.forEach((idx, k) => {
        let level = [];
        for (let i = 0; i < (1 << DEPTH); i++) level.push(1000n + 7n * BigInt(i) + 100000n * BigInt(k));
        const leaf = level[idx];
        const pathElements = [], pathIndices = [];
        let pos = idx;
        for (let d = 0; d < DEPTH; d++) {
            pathElements.push(level[pos ^ 1]);
            pathIndices.push(pos & 1);
            const next = [];
            for (let i = 0; i < level.length; i += 2) next.push(H(level[i], level[i + 1]));
            level = next;
            pos >>= 1;
        }
        const root = level[0];
        write("merkle_membership", `input_${k}.json`, {
            leaf: s(leaf),
            pathElements: pathElements.map(s),
            pathIndices: pathIndices.map(String),
            root: s(root),
        });
        write("merkle_membership", `expected_${k}.json`, [s(root)]);
    });
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
