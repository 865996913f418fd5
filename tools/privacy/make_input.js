#!/usr/bin/env node
// Writes a witness input JSON for supervm_jax/privacy/circuits/transfer.circom (Transfer(20, 2, 2))
// to stdout. A cross-check tool for tests: all values are fixed, so the output is deterministic.
//
//   node tools/privacy/make_input.js CASE [--bad=BAD] [--public]
//
//   CASE  deposit   two zero-amount dummy inputs, public_amount 7, outputs 3 and 4
//         transfer  real inputs 5 and 6 at leaves 0 and 1 of a tree holding just those two
//                   commitments, public_amount 0, outputs 10 and 1
//         withdraw  a real input of 9 at leaf 5 of a tree holding just that commitment and a
//                   dummy, public_amount r - 4, outputs 5 and 0
//   BAD   (each variant is consistent except for the one thing it breaks; all must be rejected)
//         inflation       out_amount[0] one more (its commitment recomputed): the balance fails
//         merkle_path     in_path_elements[i][0] + 1 for the first real input i (transfer, withdraw)
//         same_nullifier  input 1 is the same note as input 0 (out_amount[0] rebalanced)
//         range           input 0 is a real note of 2^64 and out_amount[0] grows by 2^64
//         negative_output out_amount[1] = r - 1, out_amount[0] grows by 1: sums match mod r
//         wrong_key       the first real input's note was committed to the public key of key A,
//                         the prover uses key B (nullifier computed with B): the root check fails
//   --public  print the 7 expected public signals instead (root, public_amount, ext_data_hash,
//             input_nullifier[0..1], output_commitment[0..1]), as a JSON array of strings
//
// Tree: depth 20, empty leaves are 0, an empty subtree at level l+1 is Poseidon(z_l, z_l).
"use strict";
const path = require("path");
const { buildPoseidon } = require(path.join(__dirname, "../groth16_fixtures/node_modules/circomlibjs"));

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const LEVELS = 20;
const mod = (x) => ((x % R) + R) % R;
const KEY_A = 1001n, KEY_B = 2002n, KEY_C = 3003n; // A owns the inputs, B and C receive

const CASES = () => ({
    deposit: {
        public_amount: 7n,
        ins: [
            { amount: 0n, key: KEY_A, blinding: 11n, index: 0 },
            { amount: 0n, key: KEY_A, blinding: 12n, index: 0 },
        ],
        outs: [{ amount: 3n, key: KEY_B, blinding: 21n }, { amount: 4n, key: KEY_A, blinding: 22n }],
    },
    transfer: {
        public_amount: 0n,
        ins: [
            { amount: 5n, key: KEY_A, blinding: 13n, index: 0 },
            { amount: 6n, key: KEY_A, blinding: 14n, index: 1 },
        ],
        outs: [{ amount: 10n, key: KEY_B, blinding: 23n }, { amount: 1n, key: KEY_A, blinding: 24n }],
    },
    withdraw: {
        public_amount: mod(-4n),
        ins: [
            { amount: 9n, key: KEY_A, blinding: 15n, index: 5 },
            { amount: 0n, key: KEY_A, blinding: 16n, index: 0 },
        ],
        outs: [{ amount: 5n, key: KEY_A, blinding: 25n }, { amount: 0n, key: KEY_C, blinding: 26n }],
    },
});
const CASE_NAMES = Object.keys(CASES());

function usage(msg) {
    if (msg) console.error(msg);
    console.error("usage: make_input.js deposit|transfer|withdraw " +
        "[--bad=inflation|merkle_path|same_nullifier|range|negative_output|wrong_key] [--public]");
    process.exit(2);
}

async function main() {
    let caseName = null, bad = null, pub = false;
    for (const a of process.argv.slice(2)) {
        if (a.startsWith("--bad=")) bad = a.slice(6);
        else if (a === "--public") pub = true;
        else if (!a.startsWith("-") && caseName === null) caseName = a;
        else usage(`unknown argument ${a}`);
    }
    if (!CASE_NAMES.includes(caseName)) usage(caseName ? `unknown case ${caseName}` : null);
    const c = CASES()[caseName];

    const poseidon = await buildPoseidon();
    const H = (...xs) => BigInt(poseidon.F.toString(poseidon(xs)));
    const pubKey = (k) => H(k);
    const commit = (n) => H(n.amount, pubKey(n.key), n.blinding);
    const rebalance = () => {
        const sumIn = c.ins.reduce((s, n) => s + n.amount, 0n);
        const rest = c.outs.slice(1).reduce((s, n) => s + n.amount, 0n);
        c.outs[0].amount = mod(sumIn + c.public_amount - rest);
    };
    const firstReal = () => {
        const i = c.ins.findIndex((n) => n.amount !== 0n);
        if (i < 0) usage(`--bad=${bad} needs a real input (case transfer or withdraw)`);
        return i;
    };

    // Spec-level variants (the tree is built from the modified notes).
    if (bad === "inflation") c.outs[0].amount += 1n;
    else if (bad === "same_nullifier") { c.ins[1] = { ...c.ins[0] }; rebalance(); }
    else if (bad === "range") { c.ins[0].amount = 1n << 64n; c.outs[0].amount += 1n << 64n; }
    else if (bad === "negative_output") { c.outs[1].amount = R - 1n; c.outs[0].amount += 1n; }
    else if (!(bad === null || bad === "merkle_path" || bad === "wrong_key")) usage(`unknown --bad=${bad}`);

    // Sparse tree of the real (nonzero) input notes.
    const zeros = [0n];
    for (let l = 0; l < LEVELS; l++) zeros.push(H(zeros[l], zeros[l]));
    let level = new Map();
    for (const n of c.ins) if (n.amount !== 0n) level.set(n.index, commit(n));
    const levels = [level];
    for (let l = 0; l < LEVELS; l++) {
        const next = new Map();
        for (const idx of level.keys()) {
            const p = idx >> 1;
            if (next.has(p)) continue;
            const left = level.get(2 * p) ?? zeros[l], right = level.get(2 * p + 1) ?? zeros[l];
            next.set(p, H(left, right));
        }
        levels.push(next);
        level = next;
    }
    const root = level.get(0) ?? zeros[LEVELS];
    const pathOf = (n) => {
        if (n.amount === 0n) return Array(LEVELS).fill(0n); // dummies need no path
        const els = [];
        for (let l = 0, idx = n.index; l < LEVELS; l++, idx >>= 1) els.push(levels[l].get(idx ^ 1) ?? zeros[l]);
        return els;
    };

    const input = {
        root,
        public_amount: c.public_amount,
        ext_data_hash: H(424242n, BigInt(CASE_NAMES.indexOf(caseName))),
        input_nullifier: [],
        output_commitment: c.outs.map(commit),
        in_amount: c.ins.map((n) => n.amount),
        in_private_key: c.ins.map((n) => n.key),
        in_blinding: c.ins.map((n) => n.blinding),
        in_path_index: c.ins.map((n) => BigInt(n.index)),
        in_path_elements: c.ins.map(pathOf),
        out_amount: c.outs.map((n) => n.amount),
        out_public_key: c.outs.map((n) => pubKey(n.key)),
        out_blinding: c.outs.map((n) => n.blinding),
    };

    // Witness-level variants (after the tree is built).
    if (bad === "merkle_path") input.in_path_elements[firstReal()][0] += 1n;
    if (bad === "wrong_key") c.ins[firstReal()].key = KEY_B;

    input.input_nullifier = c.ins.map((n, i) => {
        const cm = commit(n);
        input.in_private_key[i] = n.key;
        const sig = H(n.key, cm, BigInt(n.index));
        return H(cm, BigInt(n.index), sig);
    });

    const out = pub
        ? [input.root, input.public_amount, input.ext_data_hash, ...input.input_nullifier, ...input.output_commitment]
        : input;
    process.stdout.write(JSON.stringify(out, (k, v) => typeof v === "bigint" ? v.toString() : v, 1) + "\n");
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
