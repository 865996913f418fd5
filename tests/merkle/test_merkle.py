"""Merkle roots vs a plain-Python reference tree; proofs round-trip and fail on any flipped byte;
incremental tree vs the static tree; 1 and 8 devices equal."""

import hashlib

import numpy as np
import pytest
from Crypto.Hash import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from supervm_jax.hash import poseidon_constants as pc
from supervm_jax.merkle import IncrementalMerkleTree, MerkleProof, MerkleTree, sha256_root_on_host

REF_HASH = {
    "sha256": lambda a, b: hashlib.sha256(a + b).digest(),
    "keccak256": lambda a, b: keccak.new(digest_bits=256, data=a + b).digest(),
    "poseidon": lambda a, b: pc.hash_reference([a, b]),
}
ZERO = {"sha256": bytes(32), "keccak256": bytes(32), "poseidon": 0}


def reference_root(leaves: list, name: str, depth: int):
    """The obvious tree: 2^depth leaves, missing ones the zero leaf, parent = H(left, right)."""
    level = list(leaves) + [ZERO[name]] * (2**depth - len(leaves))
    for _ in range(depth):
        level = [REF_HASH[name](level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def make_leaves(name: str, n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    if name == "poseidon":
        return [int.from_bytes(rng.bytes(32), "big") % pc.P for _ in range(n)]
    return [rng.bytes(32) for _ in range(n)]


@pytest.mark.parametrize("name", ["sha256", "keccak256", "poseidon"])
def test_roots_and_proofs_vs_reference(name):
    for n in (1, 2, 3, 6, 13):
        leaves = make_leaves(name, n, n)
        tree = MerkleTree(leaves, hash=name)
        assert tree.depth == max(n - 1, 0).bit_length()
        assert tree.root == reference_root(leaves, name, tree.depth), n
        proofs = tree.proofs(range(n))
        assert MerkleTree.verify_batch(tree.root, leaves, proofs).all()
    deeper = MerkleTree(leaves, hash=name, depth=6)
    assert deeper.root == reference_root(leaves, name, 6)


def test_host_sha256_root_equals_the_reference_tree():
    for n in (1, 2, 3, 5, 8, 13, 100, 1025):
        leaves = make_leaves("sha256", n, n)
        assert sha256_root_on_host(leaves) == reference_root(leaves, "sha256", max(n - 1, 0).bit_length()), n
    for bad in ([], [b"x" * 31], [bytes(32), "00" * 32]):
        with pytest.raises(ValueError, match="sha256_root_on_host"):
            sha256_root_on_host(bad)


def test_large_level_chunks_and_array_leaves():
    """300 leaves: the leaf level exceeds the small chunk, so the large fixed-shape chunk runs."""
    arr = np.random.default_rng(5).integers(0, 256, (300, 32), dtype=np.uint8)
    tree = MerkleTree(arr, hash="sha256")
    assert tree.root == reference_root([bytes(x) for x in arr], "sha256", 9)


@pytest.mark.parametrize("name", ["sha256", "keccak256", "poseidon"])
def test_flipped_byte_fails(name):
    leaves = make_leaves(name, 5, 1)
    tree = MerkleTree(leaves, hash=name)
    i = 3
    proof = tree.proof(i)
    assert MerkleTree.verify(tree.root, leaves[i], proof)

    def flips(value):
        raw = value if isinstance(value, bytes) else value.to_bytes(32, "big")
        for pos in range(32):
            flipped = raw[:pos] + bytes([raw[pos] ^ 0x01]) + raw[pos + 1 :]
            yield flipped if isinstance(value, bytes) else int.from_bytes(flipped, "big")

    bad_leaves, bad_proofs = [], []
    for level, sib in enumerate(proof.siblings):
        for f in flips(sib):
            sibs = list(proof.siblings)
            sibs[level] = f
            bad_leaves.append(leaves[i])
            bad_proofs.append(proof._replace(siblings=tuple(sibs)))
    for f in flips(leaves[i]):
        bad_leaves.append(f)
        bad_proofs.append(proof)
    assert not MerkleTree.verify_batch(tree.root, bad_leaves, bad_proofs).any()
    assert not any(MerkleTree.verify(r, leaves[i], proof) for r in list(flips(tree.root))[:3])
    for index in (2, 7, 8, -1):
        assert not MerkleTree.verify(tree.root, leaves[i], proof._replace(index=index))
    assert not MerkleTree.verify(tree.root, leaves[i], proof._replace(siblings=proof.siblings[:-1]))


def test_bad_input():
    with pytest.raises(ValueError):
        MerkleTree(np.zeros((4, 31), np.uint8))
    with pytest.raises(ValueError):
        MerkleTree(np.zeros((4, 32), np.int8))
    with pytest.raises(ValueError):
        MerkleTree([1, 2, pc.P], hash="poseidon")
    with pytest.raises(ValueError):
        MerkleTree([b"x" * 32], hash="md5")
    with pytest.raises(ValueError):
        MerkleTree([], hash="sha256")
    with pytest.raises(ValueError):
        MerkleTree([bytes(32)] * 5, depth=2)
    tree = MerkleTree([bytes(32)] * 3)
    for index in (3, -1):
        with pytest.raises(ValueError):
            tree.proof(index)
    with pytest.raises(ValueError):
        MerkleTree.verify(tree.root, bytes(32), ("sha256", 0, ()))
    with pytest.raises(ValueError):
        MerkleTree([bytes(32)] * 3, keep_levels=False).proof(0)


def test_keep_levels_false_same_root_and_empty_tree():
    leaves = make_leaves("sha256", 7)
    assert MerkleTree(leaves, keep_levels=False).root == MerkleTree(leaves).root
    assert MerkleTree([], depth=3).root == reference_root([], "sha256", 3)


def test_sharded_tree_equals_unsharded(mesh):
    leaves = make_leaves("sha256", 37, 2)
    tree = MerkleTree(leaves, mesh=mesh)
    assert tree.root == MerkleTree(leaves).root == reference_root(leaves, "sha256", 6)
    picks = list(range(0, 37, 4))
    assert MerkleTree.verify_batch(tree.root, [leaves[i] for i in picks], tree.proofs(picks), mesh=mesh).all()
    assert tree.proofs(picks) == MerkleTree(leaves).proofs(picks)
    inc = IncrementalMerkleTree(7, "sha256", mesh=mesh)
    inc.append_batch(leaves)
    assert inc.root == reference_root(leaves, "sha256", 7)


@settings(max_examples=10)
@given(n=st.integers(0, 40), cuts=st.lists(st.integers(0, 40), max_size=4), name=st.sampled_from(["sha256", "poseidon"]))
def test_incremental_equals_static_tree(n, cuts, name):
    leaves = make_leaves(name, n, n)
    tree = IncrementalMerkleTree(6, name, root_history=4)
    bounds = sorted({0, n} | {c for c in cuts if c < n})
    for a, b in zip(bounds, bounds[1:]):
        if b - a == 1:
            assert tree.append(leaves[a]) == a
        else:
            assert tree.append_batch(leaves[a:b]) == a
        assert tree.root == MerkleTree(leaves[:b], hash=name, depth=6).root
    assert tree.n_leaves == n
    assert tree.root == reference_root(leaves, name, 6)
    assert tree.is_known_root(tree.root) and len(tree.roots) <= 4


def test_incremental_history_and_capacity():
    tree = IncrementalMerkleTree(2, "keccak256", root_history=3)
    empty = tree.root
    assert empty == reference_root([], "keccak256", 2)
    leaves = make_leaves("keccak256", 4)
    for x in leaves[:3]:
        tree.append(x)
    assert not tree.is_known_root(empty) and len(tree.roots) == 3
    tree.append(leaves[3])
    with pytest.raises(ValueError):
        tree.append(leaves[0])
    assert tree.root == reference_root(leaves, "keccak256", 2) and tree.n_leaves == 4
    with pytest.raises(ValueError):
        IncrementalMerkleTree(0)
    with pytest.raises(ValueError):
        tree.append(b"short")


def test_proof_object():
    tree = MerkleTree(make_leaves("poseidon", 4), hash="poseidon")
    p = tree.proof(2)
    assert isinstance(p, MerkleProof) and p.hash == "poseidon" and p.index == 2 and len(p.siblings) == 2


def test_verify_accepts_a_row_of_the_leaves_array():
    """A leaf passed as the uint8 row it was built from verifies like its bytes (no silent False)."""
    leaves = np.zeros((4, 32), np.uint8)
    leaves[:, 0] = [1, 2, 3, 4]
    tree = MerkleTree(leaves, hash="sha256")
    proof = tree.proof(2)
    assert MerkleTree.verify(tree.root, leaves[2], proof)
    assert MerkleTree.verify(tree.root, leaves[2].tobytes(), proof)
    assert not MerkleTree.verify(tree.root, leaves[1], proof)
