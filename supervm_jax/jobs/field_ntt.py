"""Batch job: multiply polynomials with NTTs on device and check the products against Python ints.

    python -m supervm_jax.jobs.field_ntt                         # small embedded default
    python -m supervm_jax.jobs.field_ntt --field=BLS12_381_FR --log_n=16 --batch=8 --sharded

For each of `batch` random polynomial pairs (a, b) of degree < n/2 it computes
c = intt(ntt(a) * ntt(b)) (the product, zero-padded to n), on every device when --sharded, then
checks c(z) == a(z) * b(z) at a random point z with Python-int Horner evaluation (an independent
reference), prints timings on stderr and one JSON summary line on stdout. Exit code 1 if any
check fails, 2 on bad flags or configuration (``error: <message>`` on stderr).
"""

from __future__ import annotations

import json
import random
import sys
import time

import jax
import jax.numpy as jnp
from absl import flags

from supervm_jax import config
from supervm_jax.field import BLS12_381_FR, BN254_FR
from supervm_jax.jobs import config_from_flags, run_main
from supervm_jax.ntt import intt, ntt, ntt_sharded
from supervm_jax.pmap import mesh_from_config, shard_batch

FIELDS = {F.name: F for F in (BN254_FR, BLS12_381_FR)}

flags.DEFINE_enum("field", "BN254_FR", list(FIELDS), "Scalar field of the polynomials.")
flags.DEFINE_integer("log_n", 12, "Transform size 2^log_n (products have degree < 2^log_n - 1).", lower_bound=1, upper_bound=24)
flags.DEFINE_integer("batch", 4, "Number of polynomial pairs.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Random seed for the polynomials and the check point.")
flags.DEFINE_bool("sharded", False, "Split each transform over every device (four-step NTT).")
config.define_flags()
FLAGS = flags.FLAGS


def _horner(coeffs: list[int], z: int, p: int) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * z + c) % p
    return acc


def multiply(field, a: jax.Array, b: jax.Array, sharded: bool, mesh) -> jax.Array:
    """Products of polynomial pairs: a, b of shape (L, batch, n) -> (L, batch, n)."""
    if not sharded:
        return intt(field, field.mul(ntt(field, a), ntt(field, b)))
    rows = []
    for i in range(a.shape[1]):
        fa = ntt_sharded(field, a[:, i], mesh=mesh)
        fb = ntt_sharded(field, b[:, i], mesh=mesh)
        rows.append(ntt_sharded(field, shard_batch(field.kernel("mul"), fa, fb, mesh=mesh), inverse=True, mesh=mesh))
    return jnp.stack(rows, axis=1)


def main(argv: list[str]) -> int:
    del argv
    cfg = config_from_flags()  # a ConfigError exits 2 through run_main
    try:
        mesh = mesh_from_config(cfg)
    except ValueError as err:  # an impossible device count
        print(f"error: {err}", file=sys.stderr)
        return 2
    field = FIELDS[FLAGS.field]
    n, half, p = 2**FLAGS.log_n, 2 ** (FLAGS.log_n - 1), field.modulus
    print(f"field_ntt: {field.name}, {FLAGS.batch} products of degree < {half} via NTTs of size {n} "
          f"on {mesh.size} {jax.default_backend()} device(s){' (sharded)' if FLAGS.sharded else ''}", file=sys.stderr)
    key_a, key_b = jax.random.split(jax.random.key(FLAGS.seed))
    zeros = field.zeros(FLAGS.batch * half).reshape(field.n_limbs, FLAGS.batch, half)
    a = jnp.concatenate([field.random(key_a, FLAGS.batch * half).reshape(field.n_limbs, FLAGS.batch, half), zeros], axis=2)
    b = jnp.concatenate([field.random(key_b, FLAGS.batch * half).reshape(field.n_limbs, FLAGS.batch, half), zeros], axis=2)

    start = time.perf_counter()
    c = multiply(field, a, b, FLAGS.sharded, mesh).block_until_ready()
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    c = multiply(field, a, b, FLAGS.sharded, mesh).block_until_ready()
    steady_s = time.perf_counter() - start
    print(f"  first call (with compile) {first_s:.2f} s, steady {steady_s * 1e3:.1f} ms", file=sys.stderr)

    z = random.Random(FLAGS.seed).randrange(p)
    failures = 0
    for i in range(FLAGS.batch):
        ai, bi, ci = (field.to_ints(v[:, i]) for v in (a, b, c))
        ok = _horner(ci, z, p) == _horner(ai, z, p) * _horner(bi, z, p) % p and ci[-1] == 0
        failures += not ok
        print(f"  product {i}: {'ok' if ok else 'MISMATCH'}", file=sys.stderr)
    summary = {
        "job": "field_ntt", "field": field.name, "n": n, "batch": FLAGS.batch, "devices": mesh.size,
        "sharded": FLAGS.sharded, "first_s": first_s, "steady_s": steady_s, "checked": FLAGS.batch,
        "failures": failures,
    }
    print(json.dumps(summary))
    return 1 if failures else 0


if __name__ == "__main__":
    run_main(main)
