"""`python -m supervm_jax.bench hash`: batched SHA-256, Keccak-256 and Poseidon vs host peers.

ours: the jitted kernel on device-resident, already padded inputs (sharded over every device with
`shard_map` when there is more than one); case "*.e2e" times the host API instead (numpy in,
numpy out: padding, transfers and kernel). Peers, in the same process: hashlib SHA-256 and
pycryptodome Keccak-256 in a Python loop over 64-byte `bytes`; for Poseidon(2) the native
`light-poseidon` bindings (module `light_poseidon_python`, from the distribution `light-poseidon` in the
`bench` extra; Rust, circom-compatible) when installed, and
the plain Python-int reference ("python-int"). Peers run at min(n, PEER_N) and are scaled linearly.
Poseidon runs at most POSEIDON_MAX_N hashes (reported `n` is the size actually run).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from supervm_jax.bench import harness
from supervm_jax.hash import common, keccak, poseidon, sha256
from supervm_jax.hash import poseidon_constants as pc
from supervm_jax.pmap import device_mesh, x64_scope

DEFAULT_SIZES = [2**16, 2**20]
PEER_N = 2**15
POSEIDON_MAX_N = 2**14
POSEIDON_PEER_N = 2**9


def _mesh():
    return device_mesh() if jax.device_count() > 1 else None


def _kernel_call(fn: Callable, *arrays, x64: bool) -> Callable[[], jax.Array]:
    mesh = _mesh()
    with x64_scope():
        dev = [jnp.asarray(a) for a in arrays]
    return lambda: common.run_batched(fn, *dev, mesh=mesh, x64=x64, bucketed=False)


def _record(case, n, ours_s, compile_s, peers: dict[str, Callable[[], object]], n_peer: int):
    harness.log(f"{case} n={n}: {n / ours_s / 1e6:.3f} M/s (compile {compile_s:.2f} s)")
    for peer, fn in peers.items():
        peer_s = harness.peer_time(fn, n_peer, n)
        harness.log(f"  {peer}: {n / peer_s / 1e6:.3f} M/s")
        yield harness.Record("hash", case, n, ours_s, peer, peer_s, compile_s,
                             extra={"ours_per_s": n / ours_s, "peer_per_s": n / peer_s, "peer_n": n_peer})


def _poseidon_peers(inputs: list[list[int]]) -> dict[str, Callable[[], object]]:
    peers: dict[str, Callable[[], object]] = {}
    try:
        import light_poseidon_python as lp

        hasher = lp.Hasher(2)
        assert int(hasher.hash([1, 2]), 16) == pc.hash_reference([1, 2])
        peers["light-poseidon"] = lambda: [hasher.hash(x) for x in inputs]
    except ImportError:
        harness.log("light_poseidon_python not installed (pip install light-poseidon); skipping that peer")
    peers["python-int"] = lambda: [pc.hash_reference(x) for x in inputs]
    return peers


def run(sizes: list[int]) -> Iterator[harness.Record]:
    rng = np.random.default_rng(0)
    for n in sizes:
        msgs = rng.integers(0, 256, (n, 64), dtype=np.uint8)
        n_peer = min(n, PEER_N)
        py_msgs = [m.tobytes() for m in msgs[:n_peer]]

        blocks, tail = sha256.pad(msgs)
        compile_s, ours_s = harness.compile_and_median(_kernel_call(sha256.hash_blocks, blocks, tail, x64=False))
        yield from _record("sha256.64B", n, ours_s, compile_s,
                           {"hashlib": lambda: [hashlib.sha256(m).digest() for m in py_msgs]}, n_peer)
        mesh = _mesh()
        compile_s, ours_s = harness.compile_and_median(lambda: sha256.sha256_batch(msgs, mesh=mesh))
        yield from _record("sha256.64B.e2e", n, ours_s, compile_s,
                           {"hashlib": lambda: [hashlib.sha256(m).digest() for m in py_msgs]}, n_peer)

        from Crypto.Hash import keccak as ckeccak

        compile_s, ours_s = harness.compile_and_median(
            _kernel_call(keccak.hash_blocks_u64, keccak.pad(msgs), x64=True))
        yield from _record("keccak256.64B", n, ours_s, compile_s,
                           {"pycryptodome": lambda: [ckeccak.new(digest_bits=256, data=m).digest() for m in py_msgs]},
                           n_peer)

        n_pos = min(n, POSEIDON_MAX_N)
        ints = [[int(a) % pc.P, int(b) % pc.P] for a, b in rng.integers(0, 2**63, (n_pos, 2))]
        limbs = poseidon._to_limbs(ints, 2)
        mont = limbs  # standard-form limbs: valid field elements, the kernel's cost does not depend on them
        compile_s, ours_s = harness.compile_and_median(_kernel_call(poseidon.hash_kernel, mont, x64=True))
        n_peer = min(n_pos, POSEIDON_PEER_N)
        yield from _record("poseidon2", n_pos, ours_s, compile_s, _poseidon_peers(ints[:n_peer]), n_peer)
