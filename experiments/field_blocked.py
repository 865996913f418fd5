"""Experiment: the multiply variants of field_formulations.py in cache-sized blocks (fori_loop over
blocks, no transposes), wrapped in shard_map over 1 device and over one CPU device per core, n = 2^20.
Run from the repository root: python -m experiments.field_blocked [variant,variant,...]
"""
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from experiments import field_formulations as ff
from supervm_jax.config import load_config
from supervm_jax.jobs import use_cpu_devices
from supervm_jax.pmap import device_mesh, shard_map, x64_scope

n = 2**20
variants = {
 "fori32": ff.cios_fori32,
 "fori32_blk16k": ff.blocked(ff.cios_fori32, 2**14),
 "fori32_blk4k": ff.blocked(ff.cios_fori32, 2**12),
 "lazy_rows_blk16k": ff.blocked(ff.lazy_rows, 2**14),
 "lazy_rows_blk4k": ff.blocked(ff.lazy_rows, 2**12),
 "lazy_rows_blk2k": ff.blocked(ff.lazy_rows, 2**11),
 "u32a_blk2k": ff.blocked(ff.lazy_rows_u32a, 2**11),
 "u32a_blk4k": ff.blocked(ff.lazy_rows_u32a, 2**12),
 "u32a_blk1k": ff.blocked(ff.lazy_rows_u32a, 2**10),
 "u32a_nohack_blk2k": ff.blocked(lambda a, b: ff.lazy_rows_u32a(a, b, False), 2**11),
 "lazy_rows_blk1k": ff.blocked(ff.lazy_rows, 2**10),
 "lazy_rows_blk512": ff.blocked(ff.lazy_rows, 2**9),
 "lazynf_blk2k": ff.blocked(lambda a, b: ff.lazy_rows(a, b, False), 2**11),
 "lazy_vec_blk2k": ff.blocked(lambda a, b: ff.lazy_vector(a, b, False), 2**11),
}


def main():
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.integers(0, 2**32, (8, n), dtype=np.uint64).astype(np.uint32)); a = a.at[7].set(a[7] % 2**29)
    b = jnp.asarray(rng.integers(0, 2**32, (8, n), dtype=np.uint64).astype(np.uint32)); b = b.at[7].set(b[7] % 2**29)
    only = sys.argv[1].split(",") if len(sys.argv) > 1 else list(variants)
    for d in sorted({1, jax.device_count()}):
        m = device_mesh(d); sh = NamedSharding(m, P(None, 'batch'))
        a2, b2 = jax.device_put(a, sh), jax.device_put(b, sh)
        ref = None
        for name in only:
            f = jax.jit(shard_map(variants[name], mesh=m, in_specs=(P(None,'batch'),)*2, out_specs=P(None,'batch')))
            out = f(a2, b2).block_until_ready()
            if ref is None: ref = np.asarray(out)
            ok = (np.asarray(out) == ref).all()
            ts = []
            for _ in range(5):
                t = time.perf_counter(); f(a2, b2).block_until_ready(); ts.append(time.perf_counter() - t)
            dt = sorted(ts)[2]
            print(f"devices={d} {name:20s} ok={ok} {dt*1e3:7.1f} ms {n/dt/1e6:6.2f} M/s", flush=True)


if __name__ == "__main__":
    use_cpu_devices(load_config())  # one CPU device per core, as the jobs and benches
    with x64_scope():
        main()
