"""The Pallas Montgomery multiply against Python ints and against `montgomery.mont_mul`.

On CPU the kernel runs in Pallas' interpret mode (small batches: each compile takes ~1-2 s); the
GPU lowerings are checked structurally by lowering for CUDA from here, and run for real only where
JAX's default backend is a GPU.
"""

import functools
import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervm_jax.field import BLS12_381_FQ, BN254_FQ, BN254_FR, SECP256K1_FP, montgomery
from supervm_jax.field.montgomery import int_to_limbs
from supervm_jax.field.pallas_mul import BACKENDS, mont_mul_pallas
from supervm_jax.pmap.compat import x64_scope

# 8, 8, 12 and 8 limbs of 32 bits; secp256k1's p > 2^255 is the one where intermediate sums reach
# 2^(32L) (the top word of the CIOS accumulator is used).
FIELDS = (BN254_FR, BN254_FQ, BLS12_381_FQ, SECP256K1_FP)
FIELD_IDS = [F.name for F in FIELDS]
BATCH, BLOCK = 12, 8  # a partial second block: exercises the padding
on_gpu = pytest.mark.skipif(jax.default_backend() != "gpu", reason="needs a GPU backend (compiled Pallas kernel)")


def limbs(values, n_limbs):
    """Python ints < 2^(32 n_limbs) -> (n_limbs, len(values)) uint32 limb-major array."""
    return np.stack([int_to_limbs(v, n_limbs) for v in values], axis=1)


def ints(array):
    """(L, n) uint32 limbs -> list of n Python ints."""
    array = np.asarray(array)
    return [sum(int(array[j, i]) << (32 * j) for j in range(array.shape[0])) for i in range(array.shape[1])]


@functools.cache
def jitted(kernel, spec, **kwargs):
    """One jitted function per kernel and options, so hypothesis examples reuse the compile."""
    return jax.jit(functools.partial(kernel, spec, **kwargs))


def pallas(F, a, b, **kwargs):
    """mont_mul_pallas on host arrays, traced under the x64 scope."""
    with x64_scope():
        return np.asarray(jitted(mont_mul_pallas, F.spec, **kwargs)(a, b))


def reference(F, a, b):
    with x64_scope():
        return np.asarray(jitted(montgomery.mont_mul, F.spec)(a, b))


def expected(F, xs, ys):
    r_inv = pow(2, -32 * F.n_limbs, F.modulus)
    return [x * y * r_inv % F.modulus for x, y in zip(xs, ys)]


def edge_values(F):
    p = F.modulus
    return [0, 1, 2, p - 1, p - 2, F.spec.r, (p - 1) // 2, 2**32 - 1, 2**32, 2**(32 * F.n_limbs - 32) % p]


@pytest.mark.parametrize("F", FIELDS, ids=FIELD_IDS)
def test_matches_python_ints(F):
    element = st.one_of(st.sampled_from(edge_values(F)), st.integers(0, F.modulus - 1))
    batch = st.lists(element, min_size=BATCH, max_size=BATCH)

    @given(batch, batch)
    def check(xs, ys):
        out = pallas(F, limbs(xs, F.n_limbs), limbs(ys, F.n_limbs), block=BLOCK)
        assert ints(out) == expected(F, xs, ys)

    check()


@pytest.mark.parametrize("F", FIELDS, ids=FIELD_IDS)
def test_every_pair_of_edge_values(F):
    values = edge_values(F)
    xs = [x for x in values for _ in values]
    ys = values * len(values)
    out = pallas(F, limbs(xs, F.n_limbs), limbs(ys, F.n_limbs), block=32)
    assert ints(out) == expected(F, xs, ys)


@pytest.mark.parametrize("n", [1, BLOCK, 3 * BLOCK + 5])
def test_batch_sizes(n):
    F = BN254_FQ
    rng = random.Random(n)
    xs = [rng.randrange(F.modulus) for _ in range(n)]
    ys = [rng.randrange(F.modulus) for _ in range(n)]
    assert ints(pallas(F, limbs(xs, F.n_limbs), limbs(ys, F.n_limbs), block=BLOCK)) == expected(F, xs, ys)


@pytest.mark.parametrize("F", FIELDS, ids=FIELD_IDS)
def test_equals_xla_mont_mul_on_random_batches(F):
    """Uniform random a < 2^(32L) (mont_mul's contract allows unreduced a) and b < p."""
    rng = np.random.default_rng(F.n_limbs)
    a = rng.integers(0, 2**32, (F.n_limbs, 40), dtype=np.uint32)
    a[:, 0] = 0xFFFFFFFF  # the largest a
    b = limbs([int(v) % F.modulus for v in ints(rng.integers(0, 2**32, (F.n_limbs, 40), dtype=np.uint32))], F.n_limbs)
    np.testing.assert_array_equal(pallas(F, a, b, block=16), reference(F, a, b))


def test_batch_shape_and_broadcasting():
    F = BN254_FR
    rng = random.Random(7)
    xs = [rng.randrange(F.modulus) for _ in range(6)]
    y = rng.randrange(F.modulus)
    a = limbs(xs, F.n_limbs).reshape(F.n_limbs, 2, 3)
    b = limbs([y], F.n_limbs).reshape(F.n_limbs, 1, 1)
    out = pallas(F, a, b, block=4)
    assert out.shape == (F.n_limbs, 2, 3) and out.dtype == np.uint32
    assert ints(out.reshape(F.n_limbs, 6)) == expected(F, xs, [y] * 6)


def test_rejects_bad_arguments():
    F = BN254_FR
    a = np.zeros((F.n_limbs, 4), np.uint32)
    with pytest.raises(RuntimeError, match="x64_scope"):
        mont_mul_pallas(F.spec, a, a)
    with pytest.raises(ValueError, match="power of two"):
        pallas(F, a, a, block=6)
    with pytest.raises(ValueError, match="backend"):
        pallas(F, a, a, backend="cuda")
    with pytest.raises(TypeError, match="uint32"):
        pallas(F, a.astype(np.int32), a)
    with pytest.raises(TypeError, match="shape"):
        pallas(F, a[:4], a[:4])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("F", [BN254_FQ, BLS12_381_FQ], ids=["BN254_FQ", "BLS12_381_FQ"])
def test_lowers_for_cuda(F, backend):
    """The GPU lowering accepts every primitive of the kernel (lowered for CUDA, compute capability
    9.0 when no GPU is present; not compiled to PTX here)."""
    spec = jax.ShapeDtypeStruct((F.n_limbs, 1000), jnp.uint32)
    with x64_scope():
        fn = jax.jit(lambda a, b: mont_mul_pallas(F.spec, a, b, interpret=False, backend=backend))
        text = fn.trace(spec, spec).lower(lowering_platforms=("cuda",)).as_text()
    target = {"triton": "__gpu$xla.gpu.triton", "mosaic_gpu": "mosaic_gpu"}[backend]
    assert f"stablehlo.custom_call @{target}" in text


@on_gpu
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("F", FIELDS, ids=FIELD_IDS)
def test_compiled_kernel_equals_xla_mont_mul(F, backend):
    n = 2**16 + 3
    a = F.random(jax.random.key(1), n)
    b = F.random(jax.random.key(2), n)
    np.testing.assert_array_equal(pallas(F, a, b, interpret=False, backend=backend), reference(F, a, b))
