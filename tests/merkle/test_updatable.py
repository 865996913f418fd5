"""UpdatableMerkleTree: roots vs `MerkleTree` and vs plain hashlib trees written here, host and device
level paths equal, proofs verify (host and device verifiers) and fail when tampered, input errors name
the position and leave the tree unchanged, 1 vs 8 devices equal, cost proportional to dirty nodes."""

import hashlib
import math
import time

import numpy as np
import pytest
from Crypto.Hash import keccak

from supervm_jax.hash import poseidon_constants as pc
from supervm_jax.merkle import MerkleProof, MerkleTree, UpdatableMerkleTree
from supervm_jax.merkle import updatable as U

ZERO = bytes(32)


def sha(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(a + b).digest()


def dense_root(depth: int, leaves: dict, pair=sha, zero=ZERO) -> bytes:
    """The obvious tree: all 2^depth leaves listed (unset = the zero leaf), parent = pair(left, right)
    (sha256(left || right) by default)."""
    level = [leaves.get(i, zero) for i in range(2**depth)]
    for _ in range(depth):
        level = [pair(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def sparse_root(depth: int, leaves: dict) -> bytes:
    """The same root for any depth: all-zero subtrees are the chain Z_(l+1) = sha256(Z_l || Z_l)."""
    zeros = [ZERO]
    for _ in range(depth):
        zeros.append(sha(zeros[-1], zeros[-1]))
    level = dict(leaves)
    for l in range(depth):
        level = {p: sha(level.get(2 * p, zeros[l]), level.get(2 * p + 1, zeros[l])) for p in {i >> 1 for i in level}}
    return level.get(0, zeros[depth])


def random_batch(rng, depth: int, k: int, zero_share: float = 0.2):
    """k indices (with repeats) and leaves, about zero_share of them the zero leaf."""
    idx = [int(i) for i in rng.integers(0, 2**depth, k)]
    leaves = [ZERO if rng.random() < zero_share else rng.bytes(32) for _ in range(k)]
    return idx, leaves


def test_references_agree():
    rng = np.random.default_rng(0)
    for depth in (1, 3, 6):
        idx, leaves = random_batch(rng, depth, 5)
        d = dict(zip(idx, leaves))
        assert dense_root(depth, d) == sparse_root(depth, d)
    assert dense_root(2, {}) == sha(sha(ZERO, ZERO), sha(ZERO, ZERO))


@pytest.mark.parametrize("depth", [1, 5, 32, 64])
def test_empty_tree(depth):
    tree = UpdatableMerkleTree(depth=depth)
    assert tree.root == sparse_root(depth, {}) and isinstance(tree.root, bytes)
    assert len(tree) == tree.n_set == 0
    assert tree.update([], []) == tree.root
    i = 2**depth - 1
    assert tree.leaf(i) == ZERO
    assert UpdatableMerkleTree.verify(tree.root, i, ZERO, tree.proof(i))


@pytest.mark.parametrize("depth", [4, 6, 10])
def test_random_updates_vs_merkle_tree_and_hashlib(depth):
    rng = np.random.default_rng(depth)
    tree = UpdatableMerkleTree(depth=depth, hash="sha256")
    state: dict[int, bytes] = {}
    ever: set[int] = set()
    for k in (1, 7, 50, 200, 50, 7):
        idx, leaves = random_batch(rng, depth, k)
        if k > 1:  # a repeated index: the later value wins, and an overwrite with the zero leaf
            idx[-1], leaves[-1] = idx[0], ZERO if leaves[0] != ZERO else rng.bytes(32)
        for i, v in zip(idx, leaves):
            state[i] = v
        ever |= set(idx)
        root = tree.update(idx, leaves)
        dense = [state.get(i, ZERO) for i in range(2**depth)]
        assert root == tree.root == dense_root(depth, state) == MerkleTree(dense, "sha256", depth=depth).root
        assert len(tree) == tree.n_set == len(ever)
        for i in idx[:5] + [int(rng.integers(0, 2**depth))]:
            assert tree.leaf(i) == state.get(i, ZERO)


def test_later_duplicate_wins_and_array_inputs():
    a, b, c = (bytes([x]) * 32 for x in (1, 2, 3))
    tree = UpdatableMerkleTree(depth=4)
    tree.update([5, 9, 5], [a, b, c])
    assert tree.leaf(5) == c and tree.leaf(9) == b and len(tree) == 2
    assert tree.root == dense_root(4, {5: c, 9: b})
    arr = np.stack([np.frombuffer(x, np.uint8) for x in (b, a)])
    other = UpdatableMerkleTree(depth=4)
    other.update(np.array([9, 5]), arr)  # numpy indices and an (k, 32) uint8 leaves array
    other.update([5], [c])
    assert other.root == tree.root and other.leaf(9) == b


def test_zero_overwrites_prune_inner_nodes():
    rng = np.random.default_rng(3)
    tree = UpdatableMerkleTree(depth=12)
    idx = [int(i) for i in rng.choice(2**12, 100, replace=False)]
    tree.update(idx, [rng.bytes(32) for _ in idx])
    assert sum(len(d) for d in tree._levels[1:]) > 0
    assert tree.update(idx, [ZERO] * len(idx)) == sparse_root(12, {})
    assert all(len(d) == 0 for d in tree._levels[1:])  # only non-zero subtrees are stored
    assert len(tree) == 100  # zero-valued indices still count as set


def test_host_and_device_level_paths_equal(monkeypatch):
    depth = 10
    rng = np.random.default_rng(7)
    trees = {
        "device": UpdatableMerkleTree(depth, host_pairs=0),
        "host": UpdatableMerkleTree(depth, host_pairs=math.inf),
        "default": UpdatableMerkleTree(depth),
    }
    state = {}
    for k in (200, 7):
        idx, leaves = random_batch(rng, depth, k)
        state.update(zip(idx, leaves))
        roots = {name: t.update(idx, leaves) for name, t in trees.items()}
        assert len(set(roots.values())) == 1 and roots["host"] == dense_root(depth, state)
    # the module constants are the default thresholds (CPU_HOST_PAIRS on a CPU backend)
    monkeypatch.setattr(U, "HOST_PAIRS", 0)
    monkeypatch.setattr(U, "CPU_HOST_PAIRS", 0)
    forced = UpdatableMerkleTree(depth)
    calls = []
    real = U.N.pair_level
    monkeypatch.setattr(U.N, "pair_level", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    forced.update(list(state), list(state.values()))
    assert forced.root == trees["host"].root and len(calls) == depth  # one device call per level
    calls.clear()
    trees["host"].update([3], [rng.bytes(32)])
    assert calls == []  # never the device


def test_cost_is_dirty_nodes_per_level(monkeypatch):
    tree = UpdatableMerkleTree(depth=32)
    sizes = []
    real = tree._hash_level
    monkeypatch.setattr(tree, "_hash_level", lambda lefts, rights: sizes.append(len(lefts)) or real(lefts, rights))
    tree.update(list(range(1000)), [bytes([1]) * 32] * 1000)
    assert sizes == [-(-1000 // 2 ** (l + 1)) for l in range(32)]
    sizes.clear()
    tree.update([2**32 - 1], [bytes([2]) * 32])
    assert sizes == [1] * 32  # one touched leaf: one hash per level
    assert tree.root == sparse_root(32, {**{i: bytes([1]) * 32 for i in range(1000)}, 2**32 - 1: bytes([2]) * 32})


def test_depth_64_extreme_indices():
    tree = UpdatableMerkleTree(depth=64)
    leaves = {0: bytes([7]) * 32, 2**64 - 1: bytes([8]) * 32, 2**63: bytes([9]) * 32}
    tree.update(list(leaves), list(leaves.values()))
    assert tree.root == sparse_root(64, leaves)
    for i in (2**64 - 1, 12345):
        assert UpdatableMerkleTree.verify(tree.root, i, leaves.get(i, ZERO), tree.proof(i))


def test_proofs_verify_and_fail_when_tampered():
    depth = 8
    rng = np.random.default_rng(11)
    tree = UpdatableMerkleTree(depth)
    idx = [int(i) for i in rng.choice(2**depth, 60, replace=False)]
    tree.update(idx, [rng.bytes(32) for _ in idx])
    root = tree.root
    unset = next(i for i in range(2**depth) if i not in set(idx) and i ^ 1 in set(idx))  # next to a set leaf
    for i in (idx[0], idx[1], unset):
        leaf, proof = tree.leaf(i), tree.proof(i)
        assert isinstance(proof, MerkleProof) and proof.index == i and len(proof.siblings) == depth
        assert UpdatableMerkleTree.verify(root, i, leaf, proof)
        assert MerkleTree.verify(root, leaf, proof)  # the device verifier accepts the same proof
        other = bytes([leaf[0] ^ 1]) + leaf[1:]
        assert not UpdatableMerkleTree.verify(root, i, other, proof)
        for l in range(depth):
            s = proof.siblings[l]
            bad = proof._replace(siblings=proof.siblings[:l] + (s[:5] + bytes([s[5] ^ 0x80]) + s[6:],) + proof.siblings[l + 1 :])
            assert not UpdatableMerkleTree.verify(root, i, leaf, bad)
        for j in (i ^ 1, i ^ (1 << (depth - 1)), -1, 2**depth):
            assert not UpdatableMerkleTree.verify(root, j, leaf, proof)  # asked about another index
            assert not UpdatableMerkleTree.verify(root, j, leaf, proof._replace(index=j))
        assert not UpdatableMerkleTree.verify(root, i, leaf, proof._replace(siblings=proof.siblings[:-1]))
        assert not UpdatableMerkleTree.verify(bytes([root[0] ^ 1]) + root[1:], i, leaf, proof)
        assert not UpdatableMerkleTree.verify(root, i, leaf[:31], proof)
        assert not UpdatableMerkleTree.verify(root, i, leaf, proof, hash="keccak256")
    # after an update, the old leaf fails, and another leaf's old proof is stale (a sibling changed)
    old_leaf, old_other = tree.leaf(idx[0]), tree.proof(idx[1])
    tree.update([idx[0]], [rng.bytes(32)])
    assert not UpdatableMerkleTree.verify(tree.root, idx[0], old_leaf, tree.proof(idx[0]))
    assert UpdatableMerkleTree.verify(tree.root, idx[0], tree.leaf(idx[0]), tree.proof(idx[0]))
    assert not UpdatableMerkleTree.verify(tree.root, idx[1], tree.leaf(idx[1]), old_other)
    assert UpdatableMerkleTree.verify(tree.root, idx[1], tree.leaf(idx[1]), tree.proof(idx[1]))
    with pytest.raises(ValueError):
        UpdatableMerkleTree.verify(root, 0, ZERO, ("sha256", 0, ()))
    with pytest.raises(ValueError):
        UpdatableMerkleTree.verify(root, 0, ZERO, tree.proof(0), hash="md5")


def test_bad_input_names_position_and_leaves_tree_unchanged():
    for depth in (0, 65, True, 3.0, None):
        with pytest.raises(ValueError, match="depth"):
            UpdatableMerkleTree(depth=depth)
    with pytest.raises(ValueError, match="unknown hash"):
        UpdatableMerkleTree(4, hash="md5")
    tree = UpdatableMerkleTree(depth=4)
    tree.update([1, 2], [bytes([1]) * 32, bytes([2]) * 32])
    before = (tree.root, len(tree), [tree.leaf(i) for i in range(16)])
    good = [bytes([3]) * 32] * 3
    for bad in (-1, 16, 2.0, True, "3", None):
        with pytest.raises(ValueError, match=r"index 2\b"):
            tree.update([3, 4, bad], good)
    for bad in (b"x" * 31, "y" * 32, None, 5):
        with pytest.raises(ValueError, match=r"leaf 1\b"):
            tree.update([3, 4, 5], [good[0], bad, good[2]])
    with pytest.raises(ValueError, match="2 indices but 3 leaves"):
        tree.update([3, 4], good)
    with pytest.raises(ValueError):
        tree.update([3, 4], np.zeros((2, 32), np.int8))
    assert (tree.root, len(tree), [tree.leaf(i) for i in range(16)]) == before
    for bad in (-1, 16, 1.0):
        with pytest.raises(ValueError):
            tree.leaf(bad)
        with pytest.raises(ValueError):
            tree.proof(bad)


def test_sharded_equals_unsharded(mesh):
    """Every level through the device kernel split over the mesh (1 and 8 devices): same roots."""
    depth = 9
    rng = np.random.default_rng(5)
    tree = UpdatableMerkleTree(depth, mesh=mesh, host_pairs=0)
    state = {}
    for k in (200, 7):
        idx, leaves = random_batch(rng, depth, k)
        state.update(zip(idx, leaves))
        assert tree.update(idx, leaves) == dense_root(depth, state)
    i = next(iter(state))
    assert UpdatableMerkleTree.verify(tree.root, i, state[i], tree.proof(i))


@pytest.mark.parametrize("name", ["keccak256", "poseidon"])
def test_other_hashes_vs_merkle_tree(name):
    depth = 4
    rng = np.random.default_rng(9)
    if name == "poseidon":
        zero, new = 0, lambda: int.from_bytes(rng.bytes(32), "big") % pc.P
        pair = lambda a, b: pc.hash_reference([a, b])
    else:
        zero, new = ZERO, lambda: rng.bytes(32)
        pair = lambda a, b: keccak.new(digest_bits=256, data=a + b).digest()
    tree = UpdatableMerkleTree(depth, hash=name)
    state = {}
    for idx in ([3, 3, 9, 15], [9, 0]):
        leaves = [new() for _ in idx]
        leaves[-1] = zero if len(idx) == 2 else leaves[-1]
        state.update(zip(idx, leaves))
        tree.update(idx, leaves)
        assert tree.root == MerkleTree([state.get(i, zero) for i in range(16)], name, depth=depth).root
        assert tree.root == dense_root(depth, state, pair, zero)
    for i in (3, 0, 4):
        assert UpdatableMerkleTree.verify(tree.root, i, state.get(i, zero), tree.proof(i), hash=name)
    assert isinstance(tree.root, int if name == "poseidon" else bytes)
    if name == "poseidon":
        with pytest.raises(ValueError, match="leaf 0"):
            tree.update([1], [pc.P])


@pytest.mark.slow
def test_timing_10k_updates_depth_32(capsys):
    """Prints (asserts nothing about speed) the time of one 10k-index update at depth 32."""
    rng = np.random.default_rng(1)
    tree = UpdatableMerkleTree(32)
    tree.update(list(range(10_000)), [rng.bytes(32) for _ in range(10_000)])  # also compiles
    idx, leaves = rng.integers(0, 10_000, 10_000).tolist(), [rng.bytes(32) for _ in range(10_000)]
    t0 = time.perf_counter()
    tree.update(idx, leaves)
    dt = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\nUpdatableMerkleTree depth 32: update of 10k random indices over 10k leaves: {dt:.3f} s")
