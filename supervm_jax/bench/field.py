"""`python -m supervm_jax.bench field`: batched field ops vs Python-int, gmpy2 and py_ecc loops.

ours: the jitted kernel on device-resident (L, n) arrays, sharded over every device with
`shard_batch` when there is more than one. Peers run element by element on the host; they are
timed at min(n, PEER_N) and scaled linearly to n (reported as such in `peer_n`).

On a GPU backend the suite also times the Pallas multiply (`field.pallas_mul`, one row per Pallas
GPU lowering: case `<FIELD>.mul_pallas_<backend>`) against XLA's `mont_mul` as the peer
(`xla-mont_mul`), both jitted on one device with the same resident inputs. Elsewhere Pallas only
runs in interpret mode, whose timings say nothing, so the case is skipped with one log line.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterator

import jax

from supervm_jax.bench import harness
from supervm_jax.field import BLS12_381_FQ, BN254_FQ, BN254_FR, ED25519_FP, SECP256K1_FP, PrimeField
from supervm_jax.field import montgomery
from supervm_jax.field.pallas_mul import BACKENDS as PALLAS_BACKENDS
from supervm_jax.field.pallas_mul import mont_mul_pallas
from supervm_jax.pmap import device_mesh, shard_along_batch, shard_batch
from supervm_jax.pmap.compat import with_x64

DEFAULT_SIZES = [2**16, 2**20]
PEER_N = 2**15
MUL_FIELDS = (BN254_FQ, BN254_FR, BLS12_381_FQ, SECP256K1_FP, ED25519_FP)
OP_FIELDS = (BN254_FQ, BLS12_381_FQ)
PALLAS_FIELDS = (BN254_FQ, BLS12_381_FQ)  # 8 and 12 limbs


def _py_ecc_field(field: PrimeField):
    from py_ecc import bls12_381, bn128

    return {BN254_FQ.name: bn128.FQ, BLS12_381_FQ.name: bls12_381.FQ}.get(field.name)


def _peers(field: PrimeField, op: str, xs: list[int], ys: list[int]) -> dict[str, Callable[[], object]]:
    p = field.modulus
    peers: dict[str, Callable[[], object]] = {}
    binary = {
        "mul": lambda x, y, q: x * y % q,
        "add": lambda x, y, q: (x + y) % q,
    }
    if op in binary:
        f = binary[op]
        peers["python-int"] = lambda: [f(x, y, p) for x, y in zip(xs, ys)]
    elif op == "batch_inv":
        peers["python-int"] = lambda: [pow(x, -1, p) for x in xs]
    try:
        import gmpy2

        gp = gmpy2.mpz(p)
        gx, gy = [gmpy2.mpz(x) for x in xs], [gmpy2.mpz(y) for y in ys]
        if op == "mul":
            peers["gmpy2"] = lambda: [x * y % gp for x, y in zip(gx, gy)]
        elif op == "add":
            peers["gmpy2"] = lambda: [(x + y) % gp for x, y in zip(gx, gy)]
        elif op == "batch_inv":
            peers["gmpy2"] = lambda: [gmpy2.invert(x, gp) for x in gx]
    except ImportError:
        harness.log("gmpy2 not installed (pip install '.[bench]'); skipping that peer")
    fq = _py_ecc_field(field)
    if fq is not None and op in ("mul", "add"):
        fx, fy = [fq(x) for x in xs], [fq(y) for y in ys]
        peers["py_ecc"] = (lambda: [x * y for x, y in zip(fx, fy)]) if op == "mul" else (lambda: [x + y for x, y in zip(fx, fy)])
    return peers


def _ours(field: PrimeField, op: str, a: jax.Array, b: jax.Array) -> Callable[[], jax.Array]:
    if op == "batch_inv":
        return lambda: field.batch_inv_unchecked(a)
    if jax.device_count() > 1:
        mesh = device_mesh()
        kernel = field.kernel(op)
        a, b = shard_along_batch(a, mesh), shard_along_batch(b, mesh)  # resident, as in a pipeline
        return lambda: shard_batch(kernel, a, b, mesh=mesh)
    method = getattr(field, op)
    return lambda: method(a, b)


def _pallas_rows(n: int) -> Iterator[harness.Record]:
    """Pallas multiply vs XLA `mont_mul` on one GPU: one row per field and Pallas lowering.

    A lowering that fails to compile is logged and skipped, so the other rows still come out.
    """
    for field in PALLAS_FIELDS:
        a = field.random(jax.random.key(1), n)
        b = field.random(jax.random.key(2), n)
        xla = with_x64(jax.jit(functools.partial(montgomery.mont_mul, field.spec)))
        _, xla_s = harness.compile_and_median(lambda: xla(a, b))
        for backend in PALLAS_BACKENDS:
            pallas = with_x64(jax.jit(functools.partial(mont_mul_pallas, field.spec, backend=backend)))
            try:
                compile_s, ours_s = harness.compile_and_median(lambda: pallas(a, b))
            except Exception as err:  # an unverified lowering: report it, keep the suite going
                harness.log(f"{field.name}.mul_pallas_{backend} n={n}: failed: {type(err).__name__}: {err}")
                continue
            harness.log(f"{field.name}.mul_pallas_{backend} n={n}: {n / ours_s / 1e6:.2f} M/s vs XLA {n / xla_s / 1e6:.2f} M/s")
            yield harness.Record(
                "field", f"{field.name}.mul_pallas_{backend}", n, ours_s, "xla-mont_mul", xla_s, compile_s,
                extra={"ours_per_s": n / ours_s, "peer_n": n},
            )


def run(sizes: list[int]) -> Iterator[harness.Record]:
    cases = [(f, "mul") for f in MUL_FIELDS] + [(f, op) for f in OP_FIELDS for op in ("add", "batch_inv")]
    pallas_on = jax.default_backend() == "gpu"
    if not pallas_on:
        harness.log(f"field: Pallas mul case skipped on {jax.default_backend()}: Pallas runs there only in interpret mode, whose timings are meaningless")
    for n in sizes:
        for field, op in cases:
            a = field.random(jax.random.key(1), n)
            b = field.random(jax.random.key(2), n)
            compile_s, ours_s = harness.compile_and_median(_ours(field, op, a, b))
            harness.log(f"{field.name}.{op} n={n}: {n / ours_s / 1e6:.2f} M/s (compile {compile_s:.2f} s)")
            rng = random.Random(n)
            n_peer = min(n, PEER_N)
            xs = [rng.randrange(1, field.modulus) for _ in range(n_peer)]
            ys = [rng.randrange(1, field.modulus) for _ in range(n_peer)]
            for peer, fn in _peers(field, op, xs, ys).items():
                peer_s = harness.peer_time(fn, n_peer, n)
                yield harness.Record(
                    "field", f"{field.name}.{op}", n, ours_s, peer, peer_s, compile_s,
                    extra={"ours_per_s": n / ours_s, "peer_n": n_peer},
                )
        if pallas_on:
            yield from _pallas_rows(n)
