#!/usr/bin/env node
// Groth16 proof with caller-chosen blinding scalars r and s (snarkjs 0.7.6).
//
//   node prove_fixed.js ZKEY WTNS R S PROOF_OUT PUBLIC_OUT [RS_OUT]
//   node prove_fixed.js --selftest ZKEY WTNS VK
//
// snarkjs' groth16.prove (src/groth16_prove.js) draws, in this order,
//     const r = curve.Fr.random();
//     const s = curve.Fr.random();
// and uses them as  A += r*delta1,  B += s*delta2,
//                   C += s*A + r*B1 - r*s*delta1.
// The curve object comes from ffjavascript's buildBn128() / buildBls12381(),
// which cache one instance in globalThis.curve_bn128 / globalThis.curve_bls12381
// (shared by every ffjavascript copy in node_modules). We read the base-field
// prime q from the zkey header and obtain that very instance through snarkjs'
// own exported `curves.getCurveFromQ` (the call snarkjs' prove makes), replace its Fr.random for the duration of one prove() call
// with a function that hands out Fr.e(r) then Fr.e(s), and restore it after.
// The patch asserts both values were consumed; --selftest also checks that the
// values land where Groth16 puts r and s (A(r=1) - A(r=0) == delta1, etc.).
"use strict";
const fs = require("fs");
const snarkjs = require("snarkjs");

function parseScalar(x, order) {
    const v = BigInt(x);
    if (v < 0n || v >= order) throw new Error(`scalar out of range [0, r): ${x}`);
    return v;
}

function readLE(buf, off, n) {
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[off + i]);
    return v;
}

// Offset of the zkey's section 2 (Groth16 header) payload.
function zkeyHeaderOffset(buf) {
    if (buf.toString("latin1", 0, 4) !== "zkey") throw new Error("not a zkey file");
    const nSec = buf.readUInt32LE(8);
    let off = 12;
    for (let i = 0; i < nSec; i++) {
        const type = buf.readUInt32LE(off);
        const size = Number(buf.readBigUInt64LE(off + 4));
        if (type === 2) return off + 12;
        off += 12 + size;
    }
    throw new Error("zkey has no section 2");
}

// The (cached) ffjavascript curve of the zkey, chosen by its base-field prime q
// (bn128 or bls12381), and its scalar order r.
async function getCurve(zkeyFile) {
    const buf = fs.readFileSync(zkeyFile);
    let o = zkeyHeaderOffset(buf);
    const n8q = buf.readUInt32LE(o);
    const q = readLE(buf, o + 4, n8q);
    const curve = await snarkjs.curves.getCurveFromQ(q);
    return curve;
}

function curveOrder(curve) {
    return BigInt(curve.r.toString());
}

// Prove with fixed r, s. Returns {proof, publicSignals}.
async function proveFixed(zkey, wtns, r, s) {
    const curve = await getCurve(zkey);
    const Fr = curve.Fr;
    const queue = [Fr.e(r), Fr.e(s)];
    const orig = Object.prototype.hasOwnProperty.call(Fr, "random") ? Fr.random : undefined;
    let calls = 0;
    Fr.random = function () {
        calls += 1;
        if (queue.length === 0) throw new Error("Fr.random called more than twice during prove");
        return queue.shift();
    };
    let res;
    try {
        res = await snarkjs.groth16.prove(zkey, wtns);
    } finally {
        if (orig === undefined) delete Fr.random; else Fr.random = orig;
    }
    if (calls !== 2 || queue.length !== 0) {
        throw new Error(`patch not effective: Fr.random called ${calls} times (expected 2)`);
    }
    // The instance snarkjs used must be the one we patched (still cached).
    if ((await getCurve(zkey)) !== curve) throw new Error("curve instance changed during prove");
    return res;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function selftest(zkey, wtns, vkFile) {
    const vk = JSON.parse(fs.readFileSync(vkFile, "utf8"));
    const curve = await getCurve(zkey);
    const r = 12345678901234567890n, s = 98765432109876543210n;
    const p1 = await proveFixed(zkey, wtns, r, s);
    const p2 = await proveFixed(zkey, wtns, r, s);
    if (!same(p1, p2)) throw new Error("selftest: same r,s gave different proofs");
    const p3 = await proveFixed(zkey, wtns, r + 1n, s);
    const p4 = await proveFixed(zkey, wtns, r, s + 1n);
    if (same(p1.proof.pi_a, p3.proof.pi_a)) throw new Error("selftest: r did not change pi_a");
    if (!same(p1.proof.pi_b, p3.proof.pi_b)) throw new Error("selftest: r changed pi_b");
    if (same(p1.proof.pi_b, p4.proof.pi_b)) throw new Error("selftest: s did not change pi_b");
    if (!same(p1.proof.pi_a, p4.proof.pi_a)) throw new Error("selftest: s changed pi_a");
    // r, s are used as the plain integers (no Montgomery mix-up):
    // A(r=1) - A(r=0) == delta1 and B(s=1) - B(s=0) == delta2.
    const q00 = await proveFixed(zkey, wtns, 0n, 0n);
    const q10 = await proveFixed(zkey, wtns, 1n, 0n);
    const q01 = await proveFixed(zkey, wtns, 0n, 1n);
    const G1 = curve.G1, G2 = curve.G2;
    const g1 = (o) => G1.fromObject(snarkjs_unstringify(o));
    const g2 = (o) => G2.fromObject(snarkjs_unstringify(o));
    if (!G1.eq(G1.sub(g1(q10.proof.pi_a), g1(q00.proof.pi_a)), zkeyDelta1(curve, zkey)))
        throw new Error("selftest: A(r=1)-A(r=0) != delta1");
    if (!G2.eq(G2.sub(g2(q01.proof.pi_b), g2(q00.proof.pi_b)), g2(vk.vk_delta_2)))
        throw new Error("selftest: B(s=1)-B(s=0) != delta2");
    for (const p of [p1, p3, p4, q00, q10, q01]) {
        if (!(await snarkjs.groth16.verify(vk, p.publicSignals, p.proof)))
            throw new Error("selftest: fixed-r,s proof does not verify");
    }
    // After the patch is removed, prove() is randomised again.
    const u1 = await snarkjs.groth16.prove(zkey, wtns);
    const u2 = await snarkjs.groth16.prove(zkey, wtns);
    if (same(u1.proof, u2.proof)) throw new Error("selftest: Fr.random still patched after restore");
    console.log("prove_fixed selftest OK");
}

// vk_delta_1 is not in verification_key.json: read it from the zkey header
// (section 2: n8q, q, n8r, r, nVars, nPublic, domainSize, alpha1, beta1,
// beta2, gamma2, delta1, delta2; points in Montgomery form, little-endian).
function zkeyDelta1(curve, zkeyFile) {
    const buf = fs.readFileSync(zkeyFile);
    let o = zkeyHeaderOffset(buf);
    const n8q = buf.readUInt32LE(o); o += 4 + n8q;
    const n8r = buf.readUInt32LE(o); o += 4 + n8r;
    o += 12;                                  // nVars, nPublic, domainSize
    o += 2 * n8q + 2 * n8q + 4 * n8q + 4 * n8q; // alpha1, beta1, beta2, gamma2
    return curve.G1.fromRprLEM(new Uint8Array(buf.buffer, buf.byteOffset, buf.length), o);
}

function snarkjs_unstringify(o) {
    if (typeof o === "string" && /^[0-9]+$/.test(o)) return BigInt(o);
    if (Array.isArray(o)) return o.map(snarkjs_unstringify);
    return o;
}

async function main() {
    const args = process.argv.slice(2);
    if (args[0] === "--selftest") {
        if (args.length !== 4) throw new Error("usage: prove_fixed.js --selftest ZKEY WTNS VK");
        await selftest(args[1], args[2], args[3]);
    } else {
        if (args.length < 6 || args.length > 7)
            throw new Error("usage: prove_fixed.js ZKEY WTNS R S PROOF_OUT PUBLIC_OUT [RS_OUT]");
        const [zkey, wtns, rStr, sStr, proofOut, publicOut, rsOut] = args;
        const order = curveOrder(await getCurve(zkey));
        const r = parseScalar(rStr, order), s = parseScalar(sStr, order);
        const { proof, publicSignals } = await proveFixed(zkey, wtns, r, s);
        fs.writeFileSync(proofOut, JSON.stringify(proof, null, 1));
        fs.writeFileSync(publicOut, JSON.stringify(publicSignals, null, 1));
        if (rsOut) fs.writeFileSync(rsOut, JSON.stringify({ r: r.toString(), s: s.toString() }, null, 1) + "\n");
    }
    const curve = await getCurve(args[0] === "--selftest" ? args[1] : args[0]);
    await curve.terminate();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
