"""`python -m supervm_jax.bench sigverify`: batch Ed25519, ECDSA and BIP-340 verification vs host peers.

ours: the host API of `supervm_jax.sigverify` end to end (Python bytes in, numpy bool array out:
host hashing and parsing, transfers, the sharded device programs), which is what a node pays. It
runs on the default mesh (every visible device). Cases: "ed25519" (rule="zip215", method="single"),
"ed25519-batch" (method="batch"), "ecdsa" (secp256k1, low_s=True), "schnorr" (BIP-340,
method="single") and "schnorr-batch" (method="batch"). Compile time (first call minus the steady
median) is reported as `compile_s`.

Inputs: n valid signatures per size, generated once with PyNaCl (Ed25519: random 32-byte seeds,
messages of 32 to 64 random bytes) and coincurve (ECDSA over random 32-byte hashes, compact r || s
with 33-byte compressed keys; BIP-340 `sign_schnorr` over random 32-byte messages with random aux,
32-byte x-only keys). To keep generation fast, SIGNERS distinct keys sign round-robin; every
message (so every signature) is distinct. Ours must return all True on them, and (once, at the
smallest size) False exactly at one corrupted signature, or the suite fails.

Peers, in the same process, in a Python loop at min(n, PEER_N) and scaled linearly (`peer_n` says
so): PyNaCl (libsodium) `VerifyKey(pk).verify(msg, sig)` for both Ed25519 cases, coincurve
(libsecp256k1) `PublicKey(pk).verify(der_sig, hash, hasher=None)` for ECDSA (DER precomputed) and
`PublicKeyXOnly(pk).verify(sig, msg)` ("coincurve-schnorr") for both BIP-340 cases. The key object
is built inside the loop: that is what a verifier of arbitrary keys pays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import jax
import numpy as np

from supervm_jax.bench import harness
from supervm_jax.pmap import device_mesh
from supervm_jax.sigverify import ecdsa_verify, ed25519_verify, schnorr_verify

DEFAULT_SIZES = [2**10, 2**14]
PEER_N = 2**12
SIGNERS = 256


def _ed25519_inputs(n: int, rng: np.random.Generator):
    from nacl.signing import SigningKey

    signers = [SigningKey(rng.bytes(32)) for _ in range(min(n, SIGNERS))]
    keys, msgs, sigs = [], [], []
    for i in range(n):
        sk = signers[i % len(signers)]
        msg = rng.bytes(int(rng.integers(32, 65)))
        keys.append(bytes(sk.verify_key))
        msgs.append(msg)
        sigs.append(sk.sign(msg).signature)
    return keys, msgs, sigs


def _ecdsa_inputs(n: int, rng: np.random.Generator):
    import coincurve
    from coincurve.ecdsa import der_to_cdata, serialize_compact

    signers = [coincurve.PrivateKey(rng.bytes(32)) for _ in range(min(n, SIGNERS))]
    pubs = [sk.public_key.format(compressed=True) for sk in signers]
    keys, hashes, sigs, ders = [], [], [], []
    for i in range(n):
        j = i % len(signers)
        h = rng.bytes(32)
        der = signers[j].sign(h, hasher=None)
        keys.append(pubs[j])
        hashes.append(h)
        sigs.append(serialize_compact(der_to_cdata(der)))
        ders.append(der)
    return keys, hashes, sigs, ders


def _schnorr_inputs(n: int, rng: np.random.Generator):
    import coincurve

    signers = [coincurve.PrivateKey(rng.bytes(32)) for _ in range(min(n, SIGNERS))]
    xonly = [sk.public_key.format()[1:] for sk in signers]
    keys, msgs, sigs = [], [], []
    for i in range(n):
        j = i % len(signers)
        msg = rng.bytes(32)
        keys.append(xonly[j])
        msgs.append(msg)
        sigs.append(signers[j].sign_schnorr(msg, rng.bytes(32)))
    return keys, msgs, sigs


def _flip(sig: bytes, pos: int) -> bytes:
    """sig with the lowest bit of byte pos flipped (pos: S's least significant byte keeps S in range)."""
    b = bytearray(sig)
    b[pos] ^= 1
    return bytes(b)


def _check(case: str, ok: np.ndarray, n: int, bad: int | None = None) -> None:
    want = np.ones(n, bool)
    if bad is not None:
        want[bad] = False
    if not isinstance(ok, np.ndarray) or ok.shape != (n,) or ok.dtype != np.bool_:
        raise AssertionError(f"sigverify bench {case}: expected a numpy bool array of shape ({n},), got {ok!r:.200}")
    if not np.array_equal(ok, want):
        what = "all True" if bad is None else f"False only at {bad}"
        wrong = np.flatnonzero(ok != want)[:8].tolist()
        raise AssertionError(f"sigverify bench {case}: expected {what}, wrong at indices {wrong}")


def _case(case: str, n: int, ours: Callable[[list[bytes]], np.ndarray], sigs: list[bytes],
          peer: str, peer_fn: Callable[[], object], n_peer: int,
          corrupt_pos: int | None) -> harness.Record:
    """Times ours (checking it accepts every signature) and the peer; corrupt_pos: when set, also
    checks that flipping that byte of one signature makes exactly that result False."""
    results: list[np.ndarray] = []

    def call():
        ok = ours(sigs)
        results.append(ok)
        return ok

    compile_s, ours_s = harness.compile_and_median(call)
    for ok in results:
        _check(case, ok, n)
    if corrupt_pos is not None:
        bad = n // 2
        corrupted = list(sigs)
        corrupted[bad] = _flip(sigs[bad], corrupt_pos)
        _check(case + " (corrupted)", ours(corrupted), n, bad)
    peer_s = harness.peer_time(peer_fn, n_peer, n)
    harness.log(f"{case} n={n}: ours {n / ours_s:,.0f} verif/s ({ours_s:.3f} s, compile {compile_s:.1f} s); "
                f"{peer} {n / peer_s:,.0f} verif/s (at n={n_peer}); speedup {peer_s / ours_s:.2f}x")
    return harness.Record("sigverify", case, n, ours_s, peer, peer_s, compile_s,
                          extra={"ours_per_s": n / ours_s, "peer_per_s": n / peer_s, "peer_n": n_peer})


Case = tuple[str, Callable[[list[bytes]], np.ndarray], list[bytes], str, Callable[[], object], int]
"""(case, ours(signatures) -> bools, signatures, peer, peer loop, byte of a signature to corrupt)."""


def _ed25519_cases(n: int, n_peer: int, rng: np.random.Generator, mesh) -> list[Case]:
    from nacl.signing import VerifyKey

    keys, msgs, sigs = _ed25519_inputs(n, rng)
    pk, pm, ps = keys[:n_peer], msgs[:n_peer], sigs[:n_peer]

    def peer():
        return [VerifyKey(k).verify(m, s) for k, m, s in zip(pk, pm, ps)]

    def ours(method):
        return lambda s: ed25519_verify(keys, msgs, s, rule="zip215", method=method, mesh=mesh)

    # S is little-endian: byte 32 is its least significant byte
    return [("ed25519", ours("single"), sigs, "pynacl", peer, 32),
            ("ed25519-batch", ours("batch"), sigs, "pynacl", peer, 32)]


def _ecdsa_cases(n: int, n_peer: int, rng: np.random.Generator, mesh) -> list[Case]:
    import coincurve

    keys, hashes, sigs, ders = _ecdsa_inputs(n, rng)
    pk, ph, pd = keys[:n_peer], hashes[:n_peer], ders[:n_peer]

    def peer():
        return [coincurve.PublicKey(k).verify(d, h, hasher=None) for k, h, d in zip(pk, ph, pd)]

    assert all(peer()), "coincurve rejects its own ECDSA signatures"
    # s is big-endian: byte 63 is its least significant byte
    return [("ecdsa", lambda s: ecdsa_verify(keys, hashes, s, low_s=True, mesh=mesh), sigs, "coincurve", peer, 63)]


def _schnorr_cases(n: int, n_peer: int, rng: np.random.Generator, mesh) -> list[Case]:
    import coincurve

    keys, msgs, sigs = _schnorr_inputs(n, rng)
    pk, pm, ps = keys[:n_peer], msgs[:n_peer], sigs[:n_peer]

    def peer():
        return [coincurve.PublicKeyXOnly(k).verify(s, m) for k, m, s in zip(pk, pm, ps)]

    def ours(method):
        return lambda s: schnorr_verify(keys, msgs, s, method=method, mesh=mesh)

    assert all(peer()), "coincurve rejects its own BIP-340 signatures"
    return [("schnorr", ours("single"), sigs, "coincurve-schnorr", peer, 63),
            ("schnorr-batch", ours("batch"), sigs, "coincurve-schnorr", peer, 63)]


def run(sizes: list[int]) -> Iterator[harness.Record]:
    mesh = device_mesh()
    harness.log(f"sigverify: {jax.default_backend()} backend, mesh of {mesh.size} device(s)")
    corrupt_at = min(sizes)  # the corrupted-signature check runs once, at the smallest size
    rng = np.random.default_rng(0)
    for n in sizes:
        n_peer = min(n, PEER_N)
        harness.log(f"n={n}: generating {n} signatures per scheme ({min(n, SIGNERS)} signers)")
        for builder in (_ed25519_cases, _ecdsa_cases, _schnorr_cases):
            for case, ours, sigs, peer, peer_fn, pos in builder(n, n_peer, rng, mesh):
                yield _case(case, n, ours, sigs, peer, peer_fn, n_peer, pos if n == corrupt_at else None)
        if n == corrupt_at:
            corrupt_at = -1
