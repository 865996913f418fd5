"""Devices: a mesh over every visible device, batch sharding with shard_map, and the JAX-version shims.

    from supervm_jax.pmap import shard_batch
    from supervm_jax.field import BN254_FQ
    c = shard_batch(BN254_FQ.kernel("mul"), a, b)     # == BN254_FQ.mul(a, b), split over all devices

Several processes (hosts): `initialize(coordinator, num_processes, process_id)` first, then every
mesh spans all processes' devices and the same calls run unchanged in each process (`distributed`).
"""

from supervm_jax.pmap.compat import shard_map, with_x64, x64_scope
from supervm_jax.pmap.distributed import (
    DistributedError,
    agreed_randbelow,
    broadcast_bytes,
    collect_target,
    from_process_local,
    initialize,
    mesh_jit,
    place,
    reset_traffic,
    spans_processes,
    to_host,
    traffic,
)
from supervm_jax.pmap.platform import mesh_platform, platform_scope, trace_platform
from supervm_jax.pmap.sharding import (
    BATCH_AXIS,
    announce_compile,
    device_mesh,
    fine_bucket,
    lane_bucket,
    mesh_from_config,
    pad_last_axis,
    padded_length,
    pow2_bucket,
    run_sharded,
    shard_along_batch,
    shard_batch,
)

__all__ = [
    "BATCH_AXIS", "announce_compile", "device_mesh", "fine_bucket", "lane_bucket", "mesh_from_config", "mesh_platform", "pad_last_axis", "padded_length", "platform_scope", "pow2_bucket", "run_sharded", "shard_along_batch",
    "shard_batch", "trace_platform",
    "shard_map", "with_x64", "x64_scope",
    "DistributedError", "agreed_randbelow", "broadcast_bytes", "collect_target", "from_process_local", "initialize", "mesh_jit", "place", "reset_traffic",
    "spans_processes", "to_host", "traffic",
]
