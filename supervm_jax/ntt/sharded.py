"""One large NTT split over every device: the four-step algorithm (`four_step.py`) with
all-to-all transposes between the steps:

  1. all-to-all: rows of A split over devices -> columns split over devices;
  2. n2/D column NTTs of size n1 on each device (batched), then the twiddles w_n^(j2 k1);
  3. all-to-all: columns -> rows k1; n1/D row NTTs of size n2;
  4. all-to-all back so that device d holds the contiguous output block d.

Input and output are (L, n) field arrays sharded contiguously along n. Each device needs n1 and n2
divisible by the device count D; smaller transforms run on one device (same result). Results are
bit-identical to `transform.ntt` for every D.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from supervm_jax.field import PrimeField
from supervm_jax.field import montgomery as mont
from supervm_jax.ntt import domain, transform
from supervm_jax.ntt.four_step import grouped_rows_ntt, split_sizes, tables, twiddle
from supervm_jax.pmap.compat import shard_map, x64_scope
from supervm_jax.pmap.distributed import mesh_jit
from supervm_jax.pmap.sharding import BATCH_AXIS, device_mesh


@functools.lru_cache(maxsize=None)
def _four_step_sharded(spec: mont.MontgomerySpec, mesh: Mesh, n: int, scaled: bool, pre: bool):
    n_dev = mesh.size
    n1, n2 = split_sizes(n)
    n_limbs = spec.n_limbs

    def local(x, t, n_inv, pre_factors):
        d = lax.axis_index(BATCH_AXIS).astype(jnp.uint32)
        if pre:
            x = mont.mont_mul(spec, x, pre_factors)
        a = x.reshape(n_limbs, n1 // n_dev, n2)
        a = lax.all_to_all(a, BATCH_AXIS, split_axis=2, concat_axis=1, tiled=True)  # (L, n1, n2/D)
        k1 = jnp.arange(n1, dtype=jnp.uint32)[None, :]

        def apply_twiddle(g, per_group, y):
            first = d * jnp.uint32(n2 // n_dev) + jnp.asarray(g * per_group, jnp.uint32)
            j2 = (first + jnp.arange(per_group, dtype=jnp.uint32))[:, None]
            return mont.mont_mul(spec, y, twiddle(spec, t, n, j2, k1))

        b = grouped_rows_ntt(spec, jnp.swapaxes(a, 1, 2), t.tw1, post=apply_twiddle)  # (L, n2/D, n1): [j2, k1]
        b = lax.all_to_all(b, BATCH_AXIS, split_axis=2, concat_axis=1, tiled=True)  # (L, n2, n1/D)
        c = grouped_rows_ntt(spec, jnp.swapaxes(b, 1, 2), t.tw2)  # (L, n1/D, n2): [k1, k2]
        c = lax.all_to_all(c, BATCH_AXIS, split_axis=2, concat_axis=1, tiled=True)  # (L, n1, n2/D)
        y = jnp.swapaxes(c, 1, 2).reshape(n_limbs, n // n_dev)  # flat k2 * n1 + k1, block d
        if scaled:
            y = mont.mont_mul(spec, y, n_inv[:, None])
        return y

    sharded = PartitionSpec(None, BATCH_AXIS)
    rep = PartitionSpec()
    return mesh_jit(shard_map(local, mesh=mesh, in_specs=(sharded, rep, rep, sharded), out_specs=sharded), mesh)


def ntt_sharded(
    field: PrimeField,
    x: jax.Array,
    *,
    inverse: bool = False,
    coset_shift: int | None = None,
    mesh: Mesh | None = None,
) -> jax.Array:
    """NTT of one polynomial x: (L, n) over all devices of `mesh` (default: every device).

    inverse=True computes the inverse transform (with 1/n). coset_shift=g evaluates at g * w^k
    (forward only; for the inverse coset transform use `transform.coset_intt`). Returns (L, n)
    sharded along n.
    """
    n = transform.check_input(field, x)
    if x.ndim != 2:
        raise ValueError(f"ntt_sharded transforms one polynomial of shape ({field.n_limbs}, n), got {x.shape}")
    if coset_shift is not None and inverse:
        raise ValueError("coset_shift is only supported for the forward transform")
    mesh = mesh or device_mesh()
    n1, n2 = split_sizes(n)
    if n1 % mesh.size or n2 % mesh.size:
        if coset_shift is not None:
            return transform.coset_ntt(field, x, coset_shift)
        return transform.intt(field, x) if inverse else transform.ntt(field, x)
    omega = domain.root_of_unity(field, n)
    if inverse:
        omega = pow(omega, -1, field.modulus)
    n_inv = jnp.asarray(field.spec.constant(pow(n, -1, field.modulus)))
    pre = domain.powers(field, coset_shift, n) if coset_shift is not None else x
    shard = NamedSharding(mesh, PartitionSpec(None, BATCH_AXIS))
    with x64_scope():
        fn = _four_step_sharded(field.spec, mesh, n, inverse, coset_shift is not None)
        return fn(jax.device_put(x, shard), tables(field, n, omega), n_inv, jax.device_put(pre, shard))
