"""Ed25519 key derivation and signing (`ed25519_public_keys`, `ed25519_sign`) against PyNaCl (libsodium), the
RFC 8032 section 7.1 vectors and our own verifier under both rules.

Compiles are the expensive part: every batch here is at most 64 points per `generator_mul` call, so all
of them share one compiled comb program per mesh (the 64-message, one-seed batch takes the two-call path
with the same program). Verification runs on batches of 8 only.
"""

import hashlib
import random

import nacl.signing
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vectors import rfc8032

from supervm_jax.pmap import device_mesh
from supervm_jax.sigverify import ed25519_public_keys, ed25519_sign, ed25519_verify
from supervm_jax.sigverify.sign import _stack

MSG_LENGTHS = (0, 1, 100, 1000)
BATCH = 8


def _nacl(seed: bytes, msg: bytes) -> tuple[bytes, bytes]:
    sk = nacl.signing.SigningKey(seed)
    return bytes(sk.verify_key), sk.sign(msg).signature


def _batch(seed: int, n: int = BATCH, n_seeds: int = BATCH):
    """n (seed, message) rows from n_seeds random seeds; message lengths cycle through MSG_LENGTHS."""
    rng = random.Random(seed)
    keys = [rng.randbytes(32) for _ in range(n_seeds)]
    seeds = [keys[i % n_seeds] for i in range(n)]
    rng.shuffle(seeds)
    msgs = [rng.randbytes(MSG_LENGTHS[i % len(MSG_LENGTHS)]) for i in range(n)]
    return seeds, msgs


def _check_against_nacl(seeds, msgs, pks, sigs):
    assert isinstance(pks, list) and isinstance(sigs, list)
    assert len(pks) == len(sigs) == len(seeds)
    bad = []
    for i, (sd, m, pk, sig) in enumerate(zip(seeds, msgs, pks, sigs)):
        want_pk, want_sig = _nacl(bytes(sd), bytes(m))
        assert type(pk) is bytes and len(pk) == 32 and type(sig) is bytes and len(sig) == 64
        if pk != want_pk or sig != want_sig:
            bad.append(f"index {i}: seed={bytes(sd).hex()} len(msg)={len(m)} pk={pk.hex()} sig={sig.hex()} "
                       f"want pk={want_pk.hex()} sig={want_sig.hex()}")
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------------------------------------
# Byte-identical to PyNaCl / RFC 8032
# ---------------------------------------------------------------------------------------------------


@settings(max_examples=5, deadline=None)
@given(seeds=st.lists(st.binary(min_size=32, max_size=32), min_size=BATCH, max_size=BATCH),
       lengths=st.lists(st.sampled_from(MSG_LENGTHS), min_size=BATCH, max_size=BATCH),
       rng_seed=st.integers(0, 2**32 - 1))
def test_matches_pynacl_random(seeds, lengths, rng_seed):
    rng = random.Random(rng_seed)
    msgs = [rng.randbytes(n) for n in lengths]
    _check_against_nacl(seeds, msgs, ed25519_public_keys(seeds), ed25519_sign(seeds, msgs))


def test_matches_pynacl_every_message_length():
    seeds, msgs = _batch(seed=3)
    assert sorted({len(m) for m in msgs}) == list(MSG_LENGTHS)
    _check_against_nacl(seeds, msgs, ed25519_public_keys(seeds), ed25519_sign(seeds, msgs))


def test_rfc8032_vectors():
    vs = rfc8032()
    seeds, msgs = [v["secret_key"] for v in vs], [v["message"] for v in vs]
    assert ed25519_public_keys(seeds) == [v["public_key"] for v in vs]
    assert ed25519_sign(seeds, msgs) == [v["signature"] for v in vs]
    for v in vs:  # one at a time too (no batch effects)
        assert ed25519_sign([v["secret_key"]], [v["message"]]) == [v["signature"]], v["name"]


def test_repeated_seeds_stacked_and_split_paths():
    """Few seeds over many messages: keys computed once per distinct seed. 20 rows from 3 seeds stack
    into one device call; 64 rows from 1 seed take two calls (65 points would cross 64)."""
    assert _stack(3, 20) and not _stack(1, 64) and not _stack(256, 16384) and _stack(300, 16000)
    for n, n_seeds, seed in ((20, 3, 11), (64, 1, 12)):
        seeds, msgs = _batch(seed, n=n, n_seeds=n_seeds)
        assert len(set(seeds)) == n_seeds
        _check_against_nacl(seeds, msgs, ed25519_public_keys(seeds), ed25519_sign(seeds, msgs))


# ---------------------------------------------------------------------------------------------------
# Our own verifier accepts them
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["zip215", "rfc8032"])
def test_signatures_verify(rule):
    seeds, msgs = _batch(seed=21)
    pks, sigs = ed25519_public_keys(seeds), ed25519_sign(seeds, msgs)
    assert ed25519_verify(pks, msgs, sigs, rule=rule).tolist() == [True] * BATCH
    wrong = [m + b"!" for m in msgs]
    assert ed25519_verify(pks, wrong, sigs, rule=rule).tolist() == [False] * BATCH


# ---------------------------------------------------------------------------------------------------
# Input forms, empty batches, meshes
# ---------------------------------------------------------------------------------------------------


def test_empty_batch():
    assert ed25519_public_keys([]) == []
    assert ed25519_sign([], []) == []
    assert ed25519_public_keys(np.zeros((0, 32), np.uint8)) == []
    assert ed25519_sign(np.zeros((0, 32), np.uint8), np.zeros((0, 5), np.uint8)) == []


def test_array_inputs_equal_bytes_inputs():
    rng = random.Random(31)
    seeds = [rng.randbytes(32) for _ in range(BATCH)]
    msgs = [rng.randbytes(40) for _ in range(BATCH)]
    seed_arr = np.frombuffer(b"".join(seeds), np.uint8).reshape(-1, 32)
    msg_arr = np.frombuffer(b"".join(msgs), np.uint8).reshape(-1, 40)
    want_pks, want_sigs = ed25519_public_keys(seeds), ed25519_sign(seeds, msgs)
    _check_against_nacl(seeds, msgs, want_pks, want_sigs)
    assert ed25519_public_keys(seed_arr) == want_pks
    assert ed25519_sign(seed_arr, msg_arr) == want_sigs
    assert ed25519_sign([bytearray(s) for s in seeds], [memoryview(m) for m in msgs]) == want_sigs


def test_one_device_mesh_equals_all_devices():
    seeds, msgs = _batch(seed=41)
    one, every = device_mesh(1), device_mesh()
    assert ed25519_sign(seeds, msgs, mesh=one) == ed25519_sign(seeds, msgs, mesh=every)
    assert ed25519_public_keys(seeds, mesh=one) == ed25519_public_keys(seeds, mesh=every)


def test_deterministic():
    seeds, msgs = _batch(seed=51)
    assert ed25519_sign(seeds, msgs) == ed25519_sign(list(seeds), list(msgs))


# ---------------------------------------------------------------------------------------------------
# Errors (raised on the host, before any device work)
# ---------------------------------------------------------------------------------------------------

GOOD_SEEDS = [hashlib.sha256(b"sign test seed %d" % i).digest() for i in range(5)]
GOOD_MSGS = [b"m%d" % i for i in range(5)]


@pytest.mark.parametrize("case", ["short_seed", "long_seed", "str_seed", "int_seed", "none_seed",
                                  "str_msg", "none_msg", "int_msg"])
def test_value_error_names_the_index(case):
    seeds, msgs = list(GOOD_SEEDS), list(GOOD_MSGS)
    idx = 3
    if case == "short_seed":
        seeds[idx] = seeds[idx][:31]
    elif case == "long_seed":
        seeds[idx] = seeds[idx] + b"\x00"
    elif case == "str_seed":
        seeds[idx] = seeds[idx].hex()[:32]
    elif case == "int_seed":
        seeds[idx] = 12345
    elif case == "none_seed":
        seeds[idx] = None
    elif case == "str_msg":
        msgs[idx] = "hello"
    elif case == "none_msg":
        msgs[idx] = None
    elif case == "int_msg":
        msgs[idx] = 7
    with pytest.raises(ValueError, match=rf"\b{idx}\b"):
        ed25519_sign(seeds, msgs)
    if case.endswith("_seed"):
        with pytest.raises(ValueError, match=rf"^seed {idx}\b"):
            ed25519_public_keys(seeds)


@pytest.mark.parametrize("case", ["fewer_msgs", "fewer_seeds", "seed_array_width", "seed_array_dtype",
                                  "seed_array_1d", "seeds_bytes", "msgs_bytes", "msgs_str"])
def test_value_error_structure(case):
    seeds, msgs = list(GOOD_SEEDS), list(GOOD_MSGS)
    match = None
    if case == "fewer_msgs":
        msgs, match = msgs[:4], r"seeds=5, messages=4"
    elif case == "fewer_seeds":
        seeds, match = seeds[:4], r"seeds=4, messages=5"
    elif case == "seed_array_width":
        seeds = np.zeros((5, 33), np.uint8)
    elif case == "seed_array_dtype":
        seeds = np.zeros((5, 32), np.int32)
    elif case == "seed_array_1d":
        seeds = np.zeros(5 * 32, np.uint8)
    elif case == "seeds_bytes":
        seeds = b"".join(seeds)
    elif case == "msgs_bytes":
        msgs = b"".join(msgs)
    elif case == "msgs_str":
        msgs = "hello"
    with pytest.raises(ValueError, match=match):
        ed25519_sign(seeds, msgs)
