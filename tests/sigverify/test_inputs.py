"""The verifiers' host-side input conversions against their one-row-at-a-time definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervm_jax.sigverify import inputs
from supervm_jax.sigverify.ed25519 import _challenges, _unique_rows

_rows = st.integers(0, 8).flatmap(lambda n: st.lists(st.binary(min_size=32, max_size=32), min_size=n, max_size=n))


@settings(max_examples=200, deadline=None)
@given(values=_rows)
def test_fixed_rows_of_well_formed_bytes_are_their_rows(values):
    out = inputs.fixed_rows(values, 32, "key")
    assert out.dtype == np.uint8 and out.shape == (len(values), 32)
    assert [row.tobytes() for row in out] == values


@pytest.mark.parametrize("bad, message", [
    ([bytes(32), bytes(31)], "key 1: 31 bytes"),
    ([bytes(32), bytearray(33)], "key 1: 33 bytes"),
    ([bytes(32), "00" * 32], "key 1: expected bytes, got str"),
    ([None], "key 0: expected bytes"),
])
def test_fixed_rows_name_the_bad_index(bad, message):
    with pytest.raises(ValueError, match=message):
        inputs.fixed_rows(bad, 32, "key")


def test_fixed_rows_take_bytes_likes():
    values = [bytearray(b"\x01" * 32), memoryview(b"\x02" * 32), b"\x03" * 32]
    assert [row.tobytes() for row in inputs.fixed_rows(values, 32, "key")] == [bytes(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(values=_rows)
def test_ints_and_unique_rows_equal_their_definitions(values):
    rows = np.frombuffer(b"".join(values), np.uint8).reshape(len(values), 32)
    assert inputs.le_ints(rows) == [int.from_bytes(v, "little") for v in values]
    assert inputs.be_ints(rows[:, 3:]) == [int.from_bytes(v[3:], "big") for v in values]
    distinct, owner = _unique_rows(np.concatenate([rows, rows[::-1]]))
    expected, expected_owner = np.unique(np.concatenate([rows, rows[::-1]]), axis=0, return_inverse=True)
    assert np.array_equal(distinct.reshape(-1, 32), expected.reshape(-1, 32))
    assert owner.tolist() == expected_owner.reshape(-1).tolist()


def test_challenges_hash_r_a_m():
    import hashlib

    r, a = np.arange(64, dtype=np.uint8).reshape(2, 32), np.arange(64, 128, dtype=np.uint8).reshape(2, 32)
    msgs = [b"", b"message"]
    order = 2**252 + 27742317777372353535851937790883648493
    assert _challenges(r, a, msgs) == [
        int.from_bytes(hashlib.sha512(r[i].tobytes() + a[i].tobytes() + msgs[i]).digest(), "little") % order
        for i in range(2)]
