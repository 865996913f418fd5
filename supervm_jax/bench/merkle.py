"""`python -m supervm_jax.bench merkle`: Merkle roots of n leaves vs a hashlib tree in Python.

ours: `MerkleTree(leaves, hash, keep_levels=False).root` from host leaves (numpy (n, 32) uint8, or
ints for Poseidon) to the host root: transfer, every level's kernels (split over every device when
there are several), and the root back. Peer: the same tree in a Python loop with hashlib (SHA-256)
or pycryptodome (Keccak-256), at min(n, PEER_N) leaves, scaled linearly. Poseidon trees run at most
POSEIDON_MAX_N leaves, peer light-poseidon (if installed) at POSEIDON_PEER_N leaves.
`node_hashes_per_s` = (n - 1) / ours_s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import jax
import numpy as np

from supervm_jax.bench import harness
from supervm_jax.hash import poseidon_constants as pc
from supervm_jax.merkle import MerkleTree
from supervm_jax.pmap import device_mesh

DEFAULT_SIZES = [2**16, 2**20]
PEER_N = 2**15
POSEIDON_MAX_N = 2**13
POSEIDON_PEER_N = 2**9


def _python_tree(leaves: list, h: Callable) -> object:
    level = leaves
    while len(level) > 1:
        level = [h(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def run(sizes: list[int]) -> Iterator[harness.Record]:
    from Crypto.Hash import keccak

    mesh = device_mesh() if jax.device_count() > 1 else None
    rng = np.random.default_rng(0)
    byte_peers = {
        "sha256": ("hashlib", lambda a, b: hashlib.sha256(a + b).digest()),
        "keccak256": ("pycryptodome", lambda a, b: keccak.new(digest_bits=256, data=a + b).digest()),
    }
    for n in sizes:
        leaves = rng.integers(0, 256, (n, 32), dtype=np.uint8)
        n_peer = min(n, PEER_N)
        py_leaves = [x.tobytes() for x in leaves[:n_peer]]
        for name, (peer, h) in byte_peers.items():
            compile_s, ours_s = harness.compile_and_median(
                lambda: MerkleTree(leaves, name, keep_levels=False, mesh=mesh).root)
            peer_s = harness.peer_time(lambda: _python_tree(py_leaves, h), n_peer, n)
            harness.log(f"merkle {name} n={n}: {ours_s:.3f} s ({(n - 1) / ours_s / 1e6:.2f} M node hashes/s), {peer} {peer_s:.3f} s")
            yield harness.Record("merkle", f"{name}.root", n, ours_s, peer, peer_s, compile_s,
                                 extra={"node_hashes_per_s": (n - 1) / ours_s, "peer_n": n_peer})
        n_pos = min(n, POSEIDON_MAX_N)
        ints = [int(x) % pc.P for x in rng.integers(0, 2**63, n_pos)]
        compile_s, ours_s = harness.compile_and_median(lambda: MerkleTree(ints, "poseidon", keep_levels=False, mesh=mesh).root)
        harness.log(f"merkle poseidon n={n_pos}: {ours_s:.3f} s ({(n_pos - 1) / ours_s:.0f} node hashes/s)")
        peer, peer_fn, n_peer = "python-int", (lambda a, b: pc.hash_reference([a, b])), min(n_pos, POSEIDON_PEER_N)
        try:
            import light_poseidon_python as lp

            hasher = lp.Hasher(2)
            peer = "light-poseidon"

            def peer_fn(a: int, b: int) -> int:
                return int(hasher.hash_bytes_be([a.to_bytes(32, "big"), b.to_bytes(32, "big")]), 16)
        except ImportError:
            harness.log("light_poseidon_python not installed (pip install light-poseidon); Poseidon tree peer is python-int")
        peer_s = harness.peer_time(lambda: _python_tree(ints[:n_peer], peer_fn), n_peer, n_pos)
        yield harness.Record("merkle", "poseidon.root", n_pos, ours_s, peer, peer_s, compile_s,
                             extra={"node_hashes_per_s": (n_pos - 1) / ours_s, "peer_n": n_peer})
