"""Evaluation domains: roots of unity and power tables for the NTT fields.

The library's root-of-unity convention (the one every transform uses unless given `root=`): a
domain of size n = 2^k over a scalar field with 2-adicity s (n <= 2^s) uses the primitive n-th root
omega_n = g^((r-1)/n), g the field's multiplicative generator, as arkworks chooses (BN254: g = 5,
s = 28; BLS12-381: g = 7, s = 32); cosets are shifted by g (`coset_generator`).

The snarkjs convention (ffjavascript) uses the smallest quadratic non-residue nqr instead of g, which
is 5 on both fields: the same roots on BN254, different ones on BLS12-381. Only the Groth16 code
(prover, setup, `.zkey` checks) uses it, through `groth16.curves.PairingCurve.snarkjs_root_of_unity` and
`snarkjs_quotient_shift`, passed to the transforms as `root=` / `shift=`.

Power tables (base^0 .. base^(count-1)) are built on device from two host tables of ~sqrt(count)
entries (base^lo and base^(hi * 2^h)): one Montgomery multiply per entry. Tables are cached per
(field, base, count); `clear_cache()` frees them.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from supervm_jax.field import BLS12_381_FR, BN254_FR, PrimeField
from supervm_jax.field import montgomery as mont
from supervm_jax.pmap.compat import x64_scope

# field name -> (2-adicity s, multiplicative generator g)
TWO_ADICITY = {BN254_FR.name: (28, 5), BLS12_381_FR.name: (32, 7)}
NTT_FIELDS = (BN254_FR, BLS12_381_FR)


def check_ntt_field(field: PrimeField) -> tuple[int, int]:
    """(s, g) for a field that supports NTTs; ValueError otherwise."""
    if field.name not in TWO_ADICITY:
        supported = ", ".join(TWO_ADICITY)
        raise ValueError(f"NTT is defined for {supported}, not {field.name}")
    return TWO_ADICITY[field.name]


def log2_size(field: PrimeField, n: int) -> int:
    """k with n = 2^k; ValueError if n is not a power of two or exceeds the field's 2-adicity."""
    s, _ = check_ntt_field(field)
    if n < 1 or n & (n - 1):
        raise ValueError(f"NTT size must be a power of two, got {n}")
    k = n.bit_length() - 1
    if k > s:
        raise ValueError(f"NTT size 2^{k} exceeds {field.name}'s 2-adicity 2^{s}")
    return k


def root_of_unity(field: PrimeField, n: int) -> int:
    """The library's primitive n-th root of unity omega_n = g^((r-1)/n) as a Python int (g =
    `coset_generator(field)`; snarkjs's root is `PairingCurve.snarkjs_root_of_unity`)."""
    log2_size(field, n)
    _, g = TWO_ADICITY[field.name]
    return pow(g, (field.modulus - 1) // n, field.modulus)


def coset_generator(field: PrimeField) -> int:
    """The default coset shift: the multiplicative generator g (not in any 2-power subgroup)."""
    return check_ntt_field(field)[1]


def _mont_limbs_host(field: PrimeField, values: list[int]) -> np.ndarray:
    """Python ints -> (L, len) uint32 Montgomery limbs, computed on the host."""
    r, p, width = field.spec.r, field.modulus, field.byte_length
    raw = b"".join((v * r % p).to_bytes(width, "little") for v in values)
    return np.frombuffer(raw, dtype="<u4").reshape(len(values), field.n_limbs).T.astype(np.uint32)


@functools.lru_cache(maxsize=64)
def _combine_kernel(spec: mont.MontgomerySpec, count: int, h: int):
    def build(lo, hi):
        e = jnp.arange(count, dtype=jnp.uint32)
        return mont.mont_mul(spec, lo[:, e & ((1 << h) - 1)], hi[:, e >> h])

    return jax.jit(build)


_POWER_CACHE: dict[tuple[str, int, int], jax.Array] = {}


def powers(field: PrimeField, base: int, count: int) -> jax.Array:
    """(L, count) Montgomery array of base^0, base^1, ..., base^(count-1) (cached)."""
    key = (field.name, base % field.modulus, count)
    if key not in _POWER_CACHE:
        p = field.modulus
        h = max((count - 1).bit_length() + 1, 1) // 2
        lo = [pow(base, i, p) for i in range(1 << h)]
        step = pow(base, 1 << h, p)
        hi = [pow(step, i, p) for i in range(-(-count // (1 << h)))]
        with x64_scope():
            table = _combine_kernel(field.spec, count, h)(_mont_limbs_host(field, lo), _mont_limbs_host(field, hi))
        _POWER_CACHE[key] = table
    return _POWER_CACHE[key]


def clear_cache() -> None:
    """Drops every cached power table (device memory)."""
    _POWER_CACHE.clear()
