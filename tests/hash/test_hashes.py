"""SHA-256 vs hashlib, Keccak-256 vs pycryptodome, Poseidon vs circomlibjs vectors, on 1 and 8 devices."""

import hashlib
import json
import pathlib

import numpy as np
import pytest
from Crypto.Hash import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from supervm_jax.hash import keccak256_batch, keccak256_many, poseidon_hash, sha256_batch, sha256_many
from supervm_jax.hash import poseidon_constants as pc

# Padding boundaries: SHA-256 blocks of 64 bytes (length field needs 9), Keccak rate 136.
LENGTHS = [0, 1, 55, 56, 63, 64, 65, 119, 120, 135, 136, 137, 200, 271, 272]
BATCH = 5  # fixed batch shape inside property tests: no recompiles between examples
VECTORS = json.loads((pathlib.Path(__file__).parent / "poseidon_vectors.json").read_text())


def _keccak_ref(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def _messages(seed: int, length: int, n: int = BATCH) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, length), dtype=np.uint8)


@settings(max_examples=12)
@given(length=st.sampled_from(LENGTHS), seed=st.integers(0, 2**32 - 1))
def test_sha256_matches_hashlib(length, seed):
    msgs = _messages(seed, length)
    got = sha256_batch(msgs)
    assert got.shape == (BATCH, 32) and got.dtype == np.uint8
    assert [bytes(d) for d in got] == [hashlib.sha256(m.tobytes()).digest() for m in msgs]


@settings(max_examples=10)
@given(length=st.sampled_from(LENGTHS), seed=st.integers(0, 2**32 - 1))
def test_keccak256_matches_pycryptodome(length, seed):
    msgs = _messages(seed, length)
    got = keccak256_batch(msgs)
    assert [bytes(d) for d in got] == [_keccak_ref(m.tobytes()) for m in msgs]


def test_known_answers():
    assert sha256_batch(np.zeros((1, 0), np.uint8))[0].tobytes() == hashlib.sha256(b"").digest()
    # Ethereum's keccak256("") (differs from SHA3-256("") = a7ffc6f8...).
    assert keccak256_batch(np.zeros((1, 0), np.uint8))[0].tobytes().hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


def test_keccak_u32_lanes_equal_u64():
    msgs = _messages(7, 137, 3)
    assert (keccak256_batch(msgs, lanes="u32") == keccak256_batch(msgs)).all()


def test_odd_batches_and_empty_batch():
    for n in (0, 1, 3, 9):
        msgs = _messages(n, 64, n)
        assert sha256_batch(msgs).shape == (n, 32)
        assert [bytes(d) for d in keccak256_batch(msgs)] == [_keccak_ref(m.tobytes()) for m in msgs]


def test_mixed_lengths():
    msgs = [bytes(range(k % 256)) * (k // 256 + 1) for k in (0, 3, 64, 3, 137, 0)]
    assert sha256_many(msgs) == [hashlib.sha256(m).digest() for m in msgs]
    assert keccak256_many(msgs) == [_keccak_ref(m) for m in msgs]


def test_sharded_equals_unsharded(mesh):
    msgs = _messages(3, 64, 11)
    assert (sha256_batch(msgs, mesh=mesh) == sha256_batch(msgs)).all()
    assert (keccak256_batch(msgs, mesh=mesh) == keccak256_batch(msgs)).all()
    inputs = [[i, 2 * i + 1] for i in range(11)]
    assert poseidon_hash(inputs, mesh=mesh) == [pc.hash_reference(x) for x in inputs]


@pytest.mark.parametrize("bad", [np.zeros((2, 3), np.int32), np.zeros(5, np.uint8), b"abc", [b"abc"]])
def test_bad_message_input_raises(bad):
    with pytest.raises(ValueError):
        sha256_batch(bad)
    with pytest.raises(ValueError):
        keccak256_batch(bad)


def test_poseidon_published_vector():
    assert poseidon_hash([[1, 2]]) == [0x115CC0F5E7D690413DF64C6B9662E9CF2A3617F2743245519E19607A4417189A]


def test_poseidon_reference_matches_every_circomlibjs_vector():
    """The plain-int model with our Grain-generated constants, at every width t = 2..17."""
    for v in VECTORS["vectors"]:
        assert pc.hash_reference([int(x) for x in v["inputs"]]) == int(v["output"]), len(v["inputs"])


@pytest.mark.parametrize("k", [1, 2, 5, 16])
def test_poseidon_kernel_matches_circomlibjs(k):
    vs = [v for v in VECTORS["vectors"] if len(v["inputs"]) == k]
    assert poseidon_hash([[int(x) for x in v["inputs"]] for v in vs]) == [int(v["output"]) for v in vs]


def test_poseidon_groups_mixed_widths_and_empty():
    assert poseidon_hash([]) == []
    inputs = [[1, 2], [3], [4, 5], [6]]
    assert poseidon_hash(inputs) == [pc.hash_reference(x) for x in inputs]


@pytest.mark.parametrize("bad", [[[pc.P]], [[-1, 2]], [[1.0, 2]], [[]], [list(range(17))], ["ab"]])
def test_poseidon_bad_input_raises(bad):
    with pytest.raises(ValueError):
        poseidon_hash(bad)
