"""Sharded execution equals unsharded execution, for sizes that do and do not divide the device count."""

import random

import jax
import numpy as np
import pytest

from supervm_jax.field import BLS12_381_FQ, BN254_FQ
from supervm_jax.pmap import device_mesh, fine_bucket, lane_bucket, pad_last_axis, padded_length, pow2_bucket, shard_along_batch, shard_batch


def test_tests_see_eight_devices_on_cpu():
    if jax.default_backend() == "cpu":
        assert jax.device_count() == 8


@pytest.mark.parametrize("n", [0, 1, 7, 8, 13, 64])
@pytest.mark.parametrize("F", [BN254_FQ, BLS12_381_FQ], ids=lambda F: F.name)
def test_shard_batch_equals_unsharded(F, n, mesh):
    rng = random.Random(n)
    xs = [rng.randrange(F.modulus) for _ in range(n)]
    ys = [rng.randrange(F.modulus) for _ in range(n)]
    a, b = F.from_ints(xs), F.from_ints(ys)
    out = shard_batch(F.kernel("mul"), a, b, mesh=mesh)
    assert out.shape == (F.n_limbs, n)
    assert np.array_equal(np.asarray(out), np.asarray(F.mul(a, b)))
    assert F.to_ints(out) == [x * y % F.modulus for x, y in zip(xs, ys)]


def test_shard_batch_multiple_outputs_and_inverse(mesh):
    F = BN254_FQ
    a = F.random(jax.random.key(5), 11)

    def kernel(x):
        return F.kernel("inv")(x), F.kernel("square")(x)

    inv, sq = shard_batch(kernel, a, mesh=mesh)
    assert np.array_equal(np.asarray(inv), np.asarray(F.inv(a)))
    assert np.array_equal(np.asarray(sq), np.asarray(F.square(a)))


def test_padding_helpers_and_errors():
    assert padded_length(13, 8) == 16
    assert padded_length(0, 8) == 8
    assert padded_length(16, 8) == 16
    x = BN254_FQ.from_ints([1, 2, 3])
    assert pad_last_axis(x, 5).shape == (8, 5)
    with pytest.raises(ValueError, match="n_devices"):
        device_mesh(jax.device_count() + 1)
    with pytest.raises(ValueError, match="last-axis length"):
        shard_batch(BN254_FQ.kernel("mul"), x, BN254_FQ.from_ints([1]))
    with pytest.raises(ValueError, match="at least one"):
        shard_batch(BN254_FQ.kernel("mul"))


def test_pow2_bucket():
    assert [pow2_bucket(n) for n in (0, 1, 2, 3, 4, 5, 1024, 1025)] == [1, 1, 2, 4, 4, 8, 1024, 2048]
    assert [pow2_bucket(n, 64) for n in (0, 1, 64, 65)] == [64, 64, 64, 128]


def test_fine_bucket():
    assert [fine_bucket(n) for n in (0, 1, 8, 9, 16, 17, 1000, 16_300, 20_001)] == [8, 8, 8, 16, 16, 24, 1024, 16_384, 20_480]
    assert fine_bucket(65, 64) == 72 and fine_bucket(3, 64) == 64
    for n in range(1, 5000, 7):  # at most 1/8 of the lanes padding, past the minimum
        assert n <= fine_bucket(n) and (fine_bucket(n) - n) * 8 <= max(fine_bucket(n), 64)


def test_lane_bucket_is_fine_on_cpu_and_pow2_elsewhere():
    assert [lane_bucket(n, "cpu", 64) for n in (1, 65, 16_388)] == [64, 72, 18_432]
    assert [lane_bucket(n, "gpu", 64) for n in (1, 65, 16_388)] == [64, 128, 32_768]
    for n in range(1, 40_000, 97):  # a bucket is its own bucket: padding to it twice adds nothing
        for platform in ("cpu", "gpu"):
            b = lane_bucket(n, platform, 64)
            assert b >= n and lane_bucket(b, platform, 64) == b


def test_pre_sharded_inputs_give_the_same_result(mesh):
    F = BN254_FQ
    a = F.random(jax.random.key(9), 16)
    b = F.random(jax.random.key(10), 16)
    ref = np.asarray(F.mul(a, b))
    out = shard_batch(F.kernel("mul"), shard_along_batch(a, mesh), shard_along_batch(b, mesh), mesh=mesh)
    assert np.array_equal(np.asarray(out), ref)
