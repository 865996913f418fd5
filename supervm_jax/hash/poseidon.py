"""circom-compatible Poseidon over the BN254 scalar field as a batched JAX kernel.

Representation: field elements as in `supervm_jax.field` (8 x uint32 limbs, limb-major, Montgomery
form). A batch of Poseidon states is `(8, t, *batch)`; the inputs of a batch of hashes are
`(8, t - 1, *batch)` and the outputs `(8, *batch)`. Kernels use `BN254_FR.kernel("mul"/"add")` and
must be traced under `pmap.x64_scope()`.

Rounds: the 4 + R_P + 4 rounds are three `lax.fori_loop`s; a round adds its t constants, applies
x^5 (three multiplies) to every element (full rounds) or to state[0] only (partial rounds), and
multiplies by the MDS matrix as one broadcast multiply of (8, t, t, *batch) followed by t - 1 adds,
so each width compiles one multiply site per kind of step whatever t is. Constants come from
`poseidon_constants` (Grain LFSR, generated in this project).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from supervm_jax.field import BN254_FR
from supervm_jax.hash import common
from supervm_jax.hash import poseidon_constants as pc

_mul = BN254_FR.kernel("mul")
_add = BN254_FR.kernel("add")


@functools.lru_cache(maxsize=None)
def _device_constants(t: int) -> tuple[np.ndarray, np.ndarray]:
    """Montgomery limbs: round constants (R, 8, t) and MDS (8, t, t), as numpy uint32."""
    rc, mds = pc.constants(t)
    rounds = len(rc) // t
    spec = BN254_FR.spec
    rc_limbs = np.stack([np.stack([spec.constant(rc[r * t + i]) for i in range(t)], axis=1) for r in range(rounds)])
    mds_limbs = np.stack([np.stack([spec.constant(mds[i][j]) for j in range(t)], axis=1) for i in range(t)], axis=1)
    return rc_limbs, mds_limbs


def _sbox(x: jax.Array) -> jax.Array:
    """x^5 as three multiplies through one multiply site (x*x, x2*x2, x4*x) in a fori_loop: every
    Montgomery multiply site costs ~0.5 s of XLA compile time, so sites are kept few."""

    def step(i, acc):
        return _mul(acc, jnp.where(i == 2, x, acc))

    return lax.fori_loop(0, 3, step, x)


def _mix(state: jax.Array, mds: jax.Array) -> jax.Array:
    """new[i] = sum_j mds[i][j] * state[j]; state (8, t, *batch), mds (8, t, t) + batch ones.
    One broadcast multiply, then the t terms summed in a fori_loop (one add site)."""
    t = state.shape[1]
    products = _mul(mds, state[:, None])  # (8, t_i, t_j, *batch)
    return lax.fori_loop(1, t, lambda j, acc: _add(acc, lax.dynamic_index_in_dim(products, j, 2, False)),
                         products[:, :, 0])


def permutation(state: jax.Array) -> jax.Array:
    """The Poseidon permutation: state (8, t, *batch) Montgomery limbs -> same shape.

    All R_F + R_P rounds run in one `lax.fori_loop` whose body adds the round constants, applies x^5
    to state[0], applies x^5 to state[1:] under a `lax.cond` taken only in full rounds, and mixes.
    (Separate loops for full and partial rounds would double the multiply sites, i.e. compile time.)
    """
    t = state.shape[1]
    ones = (1,) * (state.ndim - 2)
    rc_np, mds_np = _device_constants(t)
    rc = jnp.asarray(rc_np).reshape(rc_np.shape + ones)
    mds = jnp.asarray(mds_np).reshape(mds_np.shape + ones)
    half = pc.FULL_ROUNDS // 2
    r_p = pc.partial_rounds(t)

    def round_(r, s):
        s = _add(s, lax.dynamic_index_in_dim(rc, r, 0, False))
        first = _sbox(s[:, :1])
        full = (r < half) | (r >= half + r_p)
        rest = lax.cond(full, _sbox, lambda x: x, s[:, 1:])
        return _mix(jnp.concatenate([first, rest], axis=1), mds)

    return lax.fori_loop(0, pc.FULL_ROUNDS + r_p, round_, state)


def hash_kernel(inputs: jax.Array) -> jax.Array:
    """Poseidon of a batch: inputs (8, k, *batch) Montgomery limbs, k = 1..16 -> (8, *batch)
    = state[0] of the permutation of [0, inputs...]."""
    zero = jnp.zeros(inputs.shape[:1] + (1,) + inputs.shape[2:], inputs.dtype)
    return permutation(jnp.concatenate([zero, inputs], axis=1))[:, 0]


def hash2_kernel(left: jax.Array, right: jax.Array) -> jax.Array:
    """Poseidon([left, right]) for (8, *batch) Montgomery arrays (t = 3; Merkle nodes)."""
    return hash_kernel(jnp.stack([left, right], axis=1))


def _to_limbs(rows: Sequence[Sequence[int]], k: int) -> np.ndarray:
    """Validated ints -> standard-form limbs (8, k, n) uint32 (not yet Montgomery)."""
    flat = []
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
                raise ValueError(f"poseidon_hash: input {i} element {j} is {type(x).__name__}, not int")
            if not 0 <= x < pc.P:
                raise ValueError(f"poseidon_hash: input {i} element {j} = {x} is not in [0, p) (BN254 Fr)")
            flat.append(int(x))
    raw = b"".join(x.to_bytes(32, "little") for x in flat)
    return np.frombuffer(raw, "<u4").astype(np.uint32).reshape(len(rows), k, 8).transpose(2, 1, 0)


def _hash_standard(limbs: jax.Array) -> jax.Array:
    """Standard-form input limbs (8, k, n) -> standard-form output limbs (8, n)."""
    mont = BN254_FR.kernel("to_montgomery")(limbs)
    return BN254_FR.kernel("from_montgomery")(hash_kernel(mont))


def poseidon_hash(inputs: Sequence[Sequence[int]], mesh=None) -> list[int]:
    """circomlibjs `poseidon(x)` for each x in `inputs` (lists of 1..16 ints in [0, p)); returns ints.

    Validates every element (ValueError naming the hash and element: not an int, or >= p) and every
    length (ValueError if not 1..16). Inputs of different lengths are grouped, one kernel per length.
    With `mesh` each group's batch is split over the mesh's devices (same results).
    """
    groups: dict[int, list[int]] = {}
    for i, row in enumerate(inputs):
        if isinstance(row, (str, bytes)) or not hasattr(row, "__len__"):
            raise ValueError(f"poseidon_hash: input {i} is {type(row).__name__}, expected a list of ints")
        pc.check_width(len(row) + 1)
        groups.setdefault(len(row), []).append(i)
    out: list[int] = [0] * len(inputs)
    for k, idx in groups.items():
        limbs = _to_limbs([inputs[i] for i in idx], k)
        words = np.asarray(common.run_batched(_hash_standard, limbs, mesh=mesh, x64=True))
        raw = np.ascontiguousarray(words.T).astype("<u4").tobytes()
        for pos, i in enumerate(idx):
            out[i] = int.from_bytes(raw[32 * pos : 32 * pos + 32], "little")
    return out
