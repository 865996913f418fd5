"""Public NTT entry points over BN254_FR and BLS12_381_FR (see `radix2` for the kernel).

Arrays are the field layout `(L, *batch, n)` (uint32 limbs, limb-major, Montgomery form); every
function transforms along the last axis and batches over the others. n must be a power of two up to
the field's 2-adicity.

    ntt(F, x)                  X[k] = sum_j x[j] w^(jk),  w = root_of_unity(F, n)
    intt(F, X)                 inverse, including the 1/n factor
    coset_ntt(F, x, shift)     evaluations at shift * w^k (default shift: the multiplicative generator)
    coset_intt(F, X, shift)    inverse of coset_ntt

Every function takes an optional keyword `root`: another primitive n-th root of unity to use as w
(snarkjs's domains on BLS12-381 use 5^((r-1)/n), not the generator 7's).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from supervm_jax.field import PrimeField
from supervm_jax.field import montgomery as mont
from supervm_jax.ntt import domain, four_step
from supervm_jax.ntt.radix2 import ntt_dif
from supervm_jax.pmap.compat import x64_scope


@functools.lru_cache(maxsize=None)
def _kernel(spec: mont.MontgomerySpec, scaled: bool):
    """jit of: [x *= pre_factors] -> NTT -> [y *= n^-1] -> [y *= post_factors].

    `plan` is the (L, n/2) twiddle table (radix-2 kernel) or `FourStepTables` (four-step kernel);
    pre/post factors are (L, n) arrays or None (skipped; a separate trace).
    """

    def run(x, plan, n_inv, pre_factors, post_factors):
        if pre_factors is not None:
            x = mont.mont_mul(spec, x, _bcast_last(pre_factors, x))
        if isinstance(plan, four_step.FourStepTables):
            y = four_step.ntt_four_step(spec, x, plan)
        else:
            y = ntt_dif(spec, x, plan)
        if scaled:
            y = mont.mont_mul(spec, y, n_inv.reshape((-1,) + (1,) * (y.ndim - 1)))
        if post_factors is not None:
            y = mont.mont_mul(spec, y, _bcast_last(post_factors, y))
        return y

    return jax.jit(run)


def _bcast_last(factors: jnp.ndarray, like: jnp.ndarray) -> jnp.ndarray:
    """(L, n) -> (L, 1, ..., 1, n) to broadcast against (L, *batch, n)."""
    return factors.reshape((factors.shape[0],) + (1,) * (like.ndim - 2) + (factors.shape[1],))


def check_input(field: PrimeField, x: jax.Array) -> int:
    """Validates an NTT input array and returns its transform length n."""
    domain.check_ntt_field(field)
    if getattr(x, "dtype", None) != jnp.uint32 or x.ndim < 2 or x.shape[0] != field.n_limbs:
        raise ValueError(
            f"NTT input must be a uint32 array of shape ({field.n_limbs}, *batch, n), got "
            f"{getattr(x, 'dtype', type(x).__name__)} {getattr(x, 'shape', '')}"
        )
    n = x.shape[-1]
    domain.log2_size(field, n)
    return n


def _root(field: PrimeField, n: int, root: int | None) -> int:
    """The transform's primitive n-th root: `root` if given (checked), else `domain.root_of_unity`."""
    if root is None:
        return domain.root_of_unity(field, n)
    p = field.modulus
    if not (isinstance(root, int) and 0 < root < p and pow(root, n, p) == 1 and (n == 1 or pow(root, n // 2, p) != 1)):
        raise ValueError(f"root {root!r} is not a primitive {n}-th root of unity in {field.name}")
    return root


def _transform(field: PrimeField, x: jax.Array, inverse: bool, pre_base: int | None, post_base: int | None,
               root: int | None = None):
    n = check_input(field, x)
    omega = _root(field, n, root)
    if inverse:
        omega = pow(omega, -1, field.modulus)
    if n >= 2**four_step.FOUR_STEP_MIN_LOG:
        plan = four_step.tables(field, n, omega)
    else:
        plan = domain.powers(field, omega, max(n // 2, 1))
    n_inv = jnp.asarray(field.spec.constant(pow(n, -1, field.modulus)))
    pre = domain.powers(field, pre_base, n) if pre_base is not None else None
    post = domain.powers(field, post_base, n) if post_base is not None else None
    with x64_scope():
        fn = _kernel(field.spec, inverse)
        return fn(x, plan, n_inv, pre, post)


def ntt(field: PrimeField, x: jax.Array, *, root: int | None = None) -> jax.Array:
    """Forward NTT along the last axis: X[k] = sum_j x[j] w^(jk) (w = `root` if given: another
    primitive n-th root, e.g. snarkjs's on BLS12-381)."""
    return _transform(field, x, False, None, None, root)


def intt(field: PrimeField, x: jax.Array, *, root: int | None = None) -> jax.Array:
    """Inverse NTT along the last axis: x[j] = n^-1 sum_k X[k] w^(-jk)."""
    return _transform(field, x, True, None, None, root)


def _shift(field: PrimeField, shift: int | None) -> int:
    shift = domain.coset_generator(field) if shift is None else shift
    if not 0 < shift < field.modulus:
        raise ValueError(f"coset shift must be in [1, p), got {shift}")
    return shift


def coset_ntt(field: PrimeField, x: jax.Array, shift: int | None = None, *, root: int | None = None) -> jax.Array:
    """Evaluations of the polynomial with coefficients x at shift * w^k, k = 0..n-1."""
    return _transform(field, x, False, _shift(field, shift), None, root)


def coset_intt(field: PrimeField, x: jax.Array, shift: int | None = None, *, root: int | None = None) -> jax.Array:
    """Coefficients from evaluations at shift * w^k (inverse of `coset_ntt`)."""
    shift = _shift(field, shift)
    return _transform(field, x, True, None, pow(shift, -1, field.modulus), root)
