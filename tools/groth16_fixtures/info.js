#!/usr/bin/env node
// node info.js CIRCUIT.r1cs CIRCUIT_FINAL.zkey R1CS_INFO_LOG OUT_JSON
//
// Parses the r1cs and zkey headers directly (binary formats of iden3 r1cs v1
// and snarkjs zkey v1), cross-checks them against `snarkjs r1cs info` output,
// checks how the zkey stores the A/B coefficients (section 4), and writes the
// integer facts a test can check to OUT_JSON.
"use strict";
const fs = require("fs");

// scalar order r -> snarkjs curve name
const CURVES = new Map([
    [21888242871839275222246405745257275088548364400416034343698204186575808495617n, "bn128"],
    [0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n, "bls12381"],
]);

function readLE(buf, off, n) {
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[off + i]);
    return v;
}

function sections(buf, magic) {
    if (buf.toString("latin1", 0, 4) !== magic) throw new Error(`bad magic, expected ${magic}`);
    const version = buf.readUInt32LE(4);
    const n = buf.readUInt32LE(8);
    const secs = {};
    let off = 12;
    for (let i = 0; i < n; i++) {
        const type = buf.readUInt32LE(off);
        const size = Number(buf.readBigUInt64LE(off + 4));
        (secs[type] = secs[type] || []).push({ off: off + 12, size });
        off += 12 + size;
    }
    return { version, secs };
}

function parseR1cs(file) {
    const buf = fs.readFileSync(file);
    const { secs } = sections(buf, "r1cs");
    let o = secs[1][0].off;
    const n8 = buf.readUInt32LE(o); o += 4;
    const prime = readLE(buf, o, n8); o += n8;
    const h = { n8, prime };
    for (const k of ["nWires", "nPubOut", "nPubIn", "nPrvIn"]) { h[k] = buf.readUInt32LE(o); o += 4; }
    h.nLabels = Number(buf.readBigUInt64LE(o)); o += 8;
    h.nConstraints = buf.readUInt32LE(o); o += 4;
    // constraints: [A, B, C], each a list of (wire, coef)
    o = secs[2][0].off;
    const constraints = [];
    for (let c = 0; c < h.nConstraints; c++) {
        const lcs = [];
        for (let m = 0; m < 3; m++) {
            const nt = buf.readUInt32LE(o); o += 4;
            const lc = [];
            for (let t = 0; t < nt; t++) {
                const w = buf.readUInt32LE(o); o += 4;
                lc.push([w, readLE(buf, o, n8)]); o += n8;
            }
            lcs.push(lc);
        }
        constraints.push(lcs);
    }
    h.constraints = constraints;
    return h;
}

function parseZkey(file) {
    const buf = fs.readFileSync(file);
    const { secs } = sections(buf, "zkey");
    const protocol = buf.readUInt32LE(secs[1][0].off);
    if (protocol !== 1) throw new Error("zkey is not groth16");
    let o = secs[2][0].off;
    const n8q = buf.readUInt32LE(o); o += 4;
    const q = readLE(buf, o, n8q); o += n8q;
    const n8r = buf.readUInt32LE(o); o += 4;
    const r = readLE(buf, o, n8r); o += n8r;
    const nVars = buf.readUInt32LE(o); o += 4;
    const nPublic = buf.readUInt32LE(o); o += 4;
    const domainSize = buf.readUInt32LE(o); o += 4;
    // section 4: coefficients (matrix, constraint, signal, value)
    o = secs[4][0].off;
    const nCoefs = buf.readUInt32LE(o); o += 4;
    const coefs = [];
    for (let i = 0; i < nCoefs; i++) {
        const m = buf.readUInt32LE(o), c = buf.readUInt32LE(o + 4), s = buf.readUInt32LE(o + 8);
        coefs.push([m, c, s, readLE(buf, o + 12, n8r)]);
        o += 12 + n8r;
    }
    return { n8q, q, n8r, r, nVars, nPublic, domainSize, coefs };
}

function modpow(b, e, m) { let r = 1n; b %= m; while (e > 0n) { if (e & 1n) r = r * b % m; b = b * b % m; e >>= 1n; } return r; }

function main() {
    const [r1csFile, zkeyFile, infoLog, outJson] = process.argv.slice(2);
    if (!outJson) throw new Error("usage: info.js R1CS ZKEY R1CS_INFO_LOG OUT_JSON");
    const r1 = parseR1cs(r1csFile);
    const zk = parseZkey(zkeyFile);
    const ORDER = zk.r;
    const curveName = CURVES.get(ORDER);
    if (curveName === undefined) throw new Error("unsupported curve (zkey r)");
    if (r1.prime !== ORDER) throw new Error("r1cs prime != zkey r");
    if (zk.n8r !== 32) throw new Error("expected 32-byte scalars");
    const nPublic = r1.nPubOut + r1.nPubIn;
    if (zk.nVars !== r1.nWires) throw new Error("zkey nVars != r1cs nWires");
    if (zk.nPublic !== nPublic) throw new Error("zkey nPublic != r1cs nPubOut+nPubIn");
    const power = Math.log2(zk.domainSize);
    if (!Number.isInteger(power)) throw new Error("domain size not a power of two");
    // snarkjs: domain must hold the constraints plus nPublic+1 extra rows.
    if (zk.domainSize < r1.nConstraints + nPublic + 1 || zk.domainSize / 2 >= r1.nConstraints + nPublic + 1)
        throw new Error("unexpected domain size");

    // cross-check against `snarkjs r1cs info`
    const log = fs.readFileSync(infoLog, "utf8");
    const grab = (label) => {
        const m = log.match(new RegExp("# of " + label + ":\\s*(\\d+)"));
        if (!m) throw new Error(`r1cs info: missing '${label}'`);
        return Number(m[1]);
    };
    const fromLog = {
        nWires: grab("Wires"), nConstraints: grab("Constraints"), nPrvIn: grab("Private Inputs"),
        nPubIn: grab("Public Inputs"), nLabels: grab("Labels"), nPubOut: grab("Outputs"),
    };
    for (const k of Object.keys(fromLog)) {
        if (fromLog[k] !== r1[k]) throw new Error(`r1cs info ${k}=${fromLog[k]} but header says ${r1[k]}`);
    }

    // zkey section 4 vs r1cs: expect exactly the A and B entries of every r1cs
    // constraint, plus A[nConstraints+i][i] for i = 0..nPublic, stored as
    // value * R^2 mod r (R = 2^256), little-endian.
    const R2 = modpow(2n, 512n, ORDER);
    const expected = [];
    r1.constraints.forEach((lcs, c) => {
        for (let m = 0; m < 2; m++) for (const [w, v] of lcs[m]) expected.push([m, c, w, v * R2 % ORDER]);
    });
    for (let i = 0; i <= nPublic; i++) expected.push([0, r1.nConstraints + i, i, R2]);
    const key = (e) => e.join(",");
    const a = zk.coefs.map(key).sort(), b = expected.map(key).sort();
    if (a.length !== b.length || a.some((x, i) => x !== b[i]))
        throw new Error("zkey section 4 does not match r1cs A/B with value*R^2 mod r");

    const info = {
        curve: curveName,
        nConstraints: r1.nConstraints,
        nVars: r1.nWires,
        nPublic,
        nOutputs: r1.nPubOut,
        nPublicInputs: r1.nPubIn,
        nPrivateInputs: r1.nPrvIn,
        nLabels: r1.nLabels,
        domainSize: zk.domainSize,
        power,
        nCoefsSection4: zk.coefs.length,
        zkeySection4Encoding: "value * 2^512 mod r, 32-byte little-endian",
    };
    fs.writeFileSync(outJson, JSON.stringify(info, null, 1) + "\n");
    console.log(JSON.stringify(info));
}

try { main(); } catch (e) { console.error(e.message || e); process.exit(1); }
