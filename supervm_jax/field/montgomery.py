"""Montgomery arithmetic on batches of prime-field elements: the device kernels.

Representation (chosen by measurement, see docs/PERFORMANCE.md): an element of a field with an
`L`-limb modulus p is `L` little-endian 32-bit limbs stored as uint32, in Montgomery form
(x * 2^(32L) mod p), canonical (< p). Batches are **limb-major**: an array of shape `(L, *batch)`,
so each limb of every element is one contiguous vector and an elementwise loop vectorizes on CPU and
coalesces on GPU. Products are formed by widening limbs to uint64 one product at a time, so the
kernels must be traced with 64-bit types on (`supervm_jax.pmap.compat.x64_scope`).

The multiply is CIOS (coarsely integrated operand scanning) in carry-save form: the outer loop over
the rows of `b` is a `lax.fori_loop` whose carry is `L+1` uint64 accumulators with lazily
propagated carries (see `_mont_mul_rows`). XLA's CPU backend emits one loop fusion per output
array and recomputes shared subexpressions in each, so every formulation here keeps the work of
each output limb small; fully unrolling the rows made XLA duplicate carry chains into every fusion
(measured ~400x slower). Measurements of every variant: docs/PERFORMANCE.md.

Every function here is pure and shape-polymorphic over `*batch`; the `spec` argument is static.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
from jax import lax

from supervm_jax.pmap.platform import trace_platform

LIMB_BITS = 32
_MASK = np.uint64(0xFFFFFFFF)
_u32, _u64 = jnp.uint32, jnp.uint64


def int_to_limbs(value: int, n_limbs: int) -> np.ndarray:
    """Python int in [0, 2^(32 n_limbs)) -> little-endian uint32 limbs, shape (n_limbs,)."""
    return np.frombuffer(value.to_bytes(4 * n_limbs, "little"), dtype="<u4").astype(np.uint32)


@dataclasses.dataclass(frozen=True, eq=False)
class MontgomerySpec:
    """Constants of one prime modulus for the kernels (hashable by identity, so usable as static)."""

    modulus: int
    n_limbs: int

    def __post_init__(self):
        if self.modulus % 2 == 0 or self.modulus < 3:
            raise ValueError(f"modulus must be an odd prime > 2, got {self.modulus}")
        if self.modulus.bit_length() > LIMB_BITS * self.n_limbs:
            raise ValueError(f"modulus does not fit in {self.n_limbs} limbs of {LIMB_BITS} bits")

    @property
    def r(self) -> int:
        """The Montgomery radix 2^(32 L) reduced mod p (the Montgomery form of 1)."""
        return pow(2, LIMB_BITS * self.n_limbs, self.modulus)

    @property
    def p_limbs(self) -> np.ndarray:
        return int_to_limbs(self.modulus, self.n_limbs)

    @property
    def n_prime(self) -> np.uint32:
        """-p^-1 mod 2^32."""
        return np.uint32((-pow(self.modulus, -1, 2**LIMB_BITS)) % 2**LIMB_BITS)

    def constant(self, value: int, montgomery: bool = True) -> np.ndarray:
        """Limbs of `value` (in Montgomery form unless montgomery=False), shape (L,) uint32."""
        value %= self.modulus
        if montgomery:
            value = value * self.r % self.modulus
        return int_to_limbs(value, self.n_limbs)


def _bcast(limbs: np.ndarray, like: jnp.ndarray) -> jnp.ndarray:
    """Constant limbs (L,) -> array of shape (L, 1, ..., 1) broadcastable against `like`."""
    return jnp.asarray(limbs, _u32).reshape((-1,) + (1,) * (like.ndim - 1))


def _sub_if_geq(spec: MontgomerySpec, t: list[jnp.ndarray], top: jnp.ndarray | None) -> jnp.ndarray:
    """Given value = t (L uint64 limbs < 2^32) + top * 2^(32L) < 2p, returns value mod p as (L, ...) uint32."""
    p = spec.p_limbs
    borrow = jnp.zeros_like(t[0])
    diff = []
    for i in range(spec.n_limbs):
        x = t[i] - np.uint64(p[i]) - borrow
        diff.append(x & _MASK)
        borrow = x >> 63
    if top is None:
        keep = borrow == 1
    else:
        keep = ((top - borrow) >> 63) == 1
    return _materialize(jnp.stack([jnp.where(keep, t[i], diff[i]).astype(_u32) for i in range(spec.n_limbs)]))


def _materialize(x: jnp.ndarray) -> jnp.ndarray:
    """Marks a kernel's result as a fusion boundary.

    Every output limb of add/sub/mul depends on every input limb (through the final borrow chain).
    Without a boundary, XLA fuses chains of field ops and re-derives the previous op's limbs inside
    each output limb's fusion: 16 chained adds did not finish compiling in 10 minutes; with the
    barrier they compile in well under a second and run at memory speed.
    """
    return lax.optimization_barrier(x)


# Elements per block of the CPU multiply: the lazy accumulators of one block (9 x 8 bytes per
# element) stay in L2 while the row loop runs. Measured best at 2K-4K (docs/PERFORMANCE.md).
CPU_MUL_BLOCK = 2048


def _mont_mul_rows(spec: MontgomerySpec, a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    """Carry-save CIOS on (L, n) arrays: the row loop without any carry chain across limbs.

    Row i adds a * b_i + m_i * p to an (L+1)-limb accumulator and shifts it down one limb. Each
    accumulator limb is a uint64 that collects the 32-bit halves landing on it (lazy carries):
    new[j] = t[j+1] + lo(a[j+1] b_i) + hi(a[j] b_i) + lo(m p[j+1]) + hi(m p[j]), so every output limb
    is a short expression of its own and XLA's one-fusion-per-output code recomputes only m_i.
    Only the low 32 bits of t[0] matter for m_i, and those are exact. Accumulators stay below
    4 L 2^32 + 2^33 < 2^40, far from overflow. Carries are propagated once at the end.
    """
    n_limbs = spec.n_limbs
    p = [np.uint64(v) for v in spec.p_limbs]
    n_prime = spec.n_prime

    def row(i, t):
        b_i = lax.dynamic_index_in_dim(b, i, keepdims=False).astype(_u64)
        prod = [a[j].astype(_u64) * b_i for j in range(n_limbs)]
        t0 = t[0] + (prod[0] & _MASK)
        m = (t0.astype(_u32) * n_prime).astype(_u64)
        new = []
        for j in range(1, n_limbs + 1):
            acc = t[j] + (prod[j - 1] >> 32) + ((m * p[j - 1]) >> 32)
            if j < n_limbs:
                acc = acc + (prod[j] & _MASK) + ((m * p[j]) & _MASK)
            if j == 1:
                acc = acc + ((t0 + ((m * p[0]) & _MASK)) >> 32)
            new.append(acc)
        new.append(jnp.zeros_like(t0))
        return jnp.stack(new)

    t = lax.fori_loop(0, n_limbs, row, jnp.zeros((n_limbs + 1,) + a.shape[1:], _u64))
    limbs, carry = [], jnp.zeros(a.shape[1:], _u64)
    for k in range(n_limbs + 1):
        s = t[k] + carry
        limbs.append(s & _MASK)
        carry = s >> 32
    return _sub_if_geq(spec, limbs[:n_limbs], limbs[n_limbs])


def mont_mul(spec: MontgomerySpec, a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    """a * b * 2^(-32L) mod p.

    a: (L, *batch) uint32 < 2^(32L); b: (L, *batch) uint32 < p (broadcastable). Result (L, *batch)
    uint32 canonical. With a < 2^(32L) and b < p the Montgomery result is < 2p, so one conditional
    subtraction suffices; this lets `from_wide` feed unreduced limbs as `a`.

    For a CPU program (`pmap.trace_platform`) the batch is processed in blocks of CPU_MUL_BLOCK
    elements (a `fori_loop` over blocks) so the accumulators stay in cache; on GPU it is one pass.
    """
    a, b = jnp.broadcast_arrays(a, b)
    shape = a.shape
    a, b = a.reshape(spec.n_limbs, -1), b.reshape(spec.n_limbs, -1)
    n = a.shape[1]
    block = CPU_MUL_BLOCK if trace_platform() == "cpu" else n
    if n <= block:
        return _mont_mul_rows(spec, a, b).reshape(shape)
    n_blocks = -(-n // block)
    pad = n_blocks * block - n
    if pad:
        a = jnp.pad(a, ((0, 0), (0, pad)))
        b = jnp.pad(b, ((0, 0), (0, pad)))

    def one_block(k, out):
        start = k * block
        a_k = lax.dynamic_slice_in_dim(a, start, block, axis=1)
        b_k = lax.dynamic_slice_in_dim(b, start, block, axis=1)
        return lax.dynamic_update_slice_in_dim(out, _mont_mul_rows(spec, a_k, b_k), start, axis=1)

    out = lax.fori_loop(0, n_blocks, one_block, jnp.zeros_like(a))
    return out[:, :n].reshape(shape)


def add(spec: MontgomerySpec, a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    """(a + b) mod p for canonical a, b of shape (L, *batch) uint32."""
    a, b = jnp.broadcast_arrays(a, b)
    carry = jnp.zeros(a.shape[1:], _u64)
    s = []
    for i in range(spec.n_limbs):
        x = a[i].astype(_u64) + b[i].astype(_u64) + carry
        s.append(x & _MASK)
        carry = x >> 32
    return _sub_if_geq(spec, s, carry)


def sub(spec: MontgomerySpec, a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    """(a - b) mod p for canonical a, b of shape (L, *batch) uint32."""
    a, b = jnp.broadcast_arrays(a, b)
    p = spec.p_limbs
    borrow = jnp.zeros(a.shape[1:], _u64)
    d = []
    for i in range(spec.n_limbs):
        x = a[i].astype(_u64) - b[i].astype(_u64) - borrow
        d.append(x & _MASK)
        borrow = x >> 63
    # Add p back where the subtraction wrapped (borrow == 1); masked p is 0 elsewhere.
    carry = jnp.zeros_like(borrow)
    out = []
    for i in range(spec.n_limbs):
        x = d[i] + borrow * np.uint64(p[i]) + carry
        out.append((x & _MASK).astype(_u32))
        carry = x >> 32
    return _materialize(jnp.stack(out))


def neg(spec: MontgomerySpec, a: jnp.ndarray) -> jnp.ndarray:
    """(-a) mod p; 0 stays 0."""
    return sub(spec, jnp.zeros_like(a), a)


def is_zero(a: jnp.ndarray) -> jnp.ndarray:
    """Boolean array of shape `batch`: element == 0 (canonical form, so Montgomery 0 is limbs 0)."""
    return jnp.all(a == 0, axis=0)


def eq(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    """Boolean array of shape `batch`: a == b elementwise (canonical inputs)."""
    return jnp.all(a == b, axis=0)


def select(cond: jnp.ndarray, a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    """Elementwise `a if cond else b`; cond has shape `batch`, a and b (L, *batch)."""
    return jnp.where(cond[None], a, b)


def is_canonical(spec: MontgomerySpec, a: jnp.ndarray) -> jnp.ndarray:
    """Boolean array of shape `batch`: the limbs encode an integer < p."""
    p = spec.p_limbs
    borrow = jnp.zeros(a.shape[1:], _u64)
    for i in range(spec.n_limbs):
        borrow = (a[i].astype(_u64) - np.uint64(p[i]) - borrow) >> 63
    return borrow == 1


POW_WINDOW = 4
POW_DIGIT_BUCKET = 16  # exponent digit counts are padded to a multiple of this (fewer compiles)


def exponent_digits(exponent: int) -> np.ndarray:
    """Base-16 digits of a Python int >= 0, most significant first, left-padded with zeros to a
    multiple of POW_DIGIT_BUCKET (leading zero digits leave the result unchanged); int32."""
    if exponent < 0:
        raise ValueError(f"exponent must be >= 0, got {exponent}")
    digits = []
    while exponent:
        digits.append(exponent & (2**POW_WINDOW - 1))
        exponent >>= POW_WINDOW
    pad = (-len(digits)) % POW_DIGIT_BUCKET or (POW_DIGIT_BUCKET if not digits else 0)
    return np.asarray([0] * pad + digits[::-1], np.int32)


def pow_digits(spec: MontgomerySpec, a: jnp.ndarray, digits: jnp.ndarray) -> jnp.ndarray:
    """a^e where e is given by `exponent_digits(e)` (a traced int32 vector, so one compile serves
    every exponent of the same digit count). Fixed 4-bit window, left to right: per digit four
    squarings and one multiply by a precomputed a^digit."""
    one = jnp.broadcast_to(_bcast(spec.constant(1), a), a.shape)

    def power_step(prev, _):
        nxt = mont_mul(spec, prev, a)
        return nxt, nxt

    _, higher = lax.scan(power_step, one, None, length=2**POW_WINDOW - 1)
    table = jnp.concatenate([one[None], higher])  # table[k] = a^k

    def digit_step(acc, digit):
        acc = lax.fori_loop(0, POW_WINDOW, lambda _, x: mont_mul(spec, x, x), acc)
        return mont_mul(spec, acc, table[digit]), None

    acc, _ = lax.scan(digit_step, one, digits)
    return acc


def pow_int(spec: MontgomerySpec, a: jnp.ndarray, exponent: int) -> jnp.ndarray:
    """a^exponent for a Python int exponent >= 0 (0^0 = 1)."""
    return pow_digits(spec, a, jnp.asarray(exponent_digits(exponent)))


def inv(spec: MontgomerySpec, a: jnp.ndarray) -> jnp.ndarray:
    """a^(p-2): the inverse of nonzero a; maps 0 to 0 (callers that must reject 0 check first)."""
    return pow_int(spec, a, spec.modulus - 2)


BATCH_INV_MIN_BLOCK = 64


def batch_inv(spec: MontgomerySpec, a: jnp.ndarray) -> jnp.ndarray:
    """Inverses of a 1-D batch (L, n) by Montgomery's trick, blocked; 0 maps to 0.

    The batch is cut into about sqrt(n) blocks of about sqrt(n) elements (at least
    BATCH_INV_MIN_BLOCK; the last block padded with ones), balancing the sequential scan length
    against the number of block totals to invert (2^20 on 2 CPU devices: 64-element blocks 0.95 M
    inversions/s, 1024-element blocks 2.25 M/s). A scan
    along the block forms prefix products for all blocks at once, the block totals are inverted
    together by exponentiation, and a reverse scan peels each inverse off:
    inv(x_i) = inv(prefix_i) * prefix_(i-1), inv(prefix_(i-1)) = inv(prefix_i) * x_i.
    About 3 multiplies per element plus ~1.5 log2(p) / block for the block inversions.
    """
    n = a.shape[1]
    if n == 0:
        return a
    m = min(n, max(BATCH_INV_MIN_BLOCK, 1 << ((n.bit_length() + 1) // 2)))
    blocks = -(-n // m)
    one_col = _bcast(spec.constant(1), a)
    zero = is_zero(a)
    safe = jnp.where(zero[None], one_col, a)
    safe = jnp.concatenate([safe, jnp.broadcast_to(one_col, (spec.n_limbs, blocks * m - n))], axis=1)
    x = safe.reshape(spec.n_limbs, blocks, m).transpose(2, 0, 1)  # (m, L, blocks): scan over m

    def prefix_step(acc, xi):
        acc = mont_mul(spec, acc, xi)
        return acc, acc

    ones = jnp.broadcast_to(one_col, (spec.n_limbs, blocks))
    total, prefix = lax.scan(prefix_step, ones, x)  # prefix[i] = x_0 ... x_i
    prev_prefix = jnp.concatenate([ones[None], prefix[:-1]])

    def peel_step(inv_acc, inputs):
        xi, before = inputs
        return mont_mul(spec, inv_acc, xi), mont_mul(spec, inv_acc, before)

    _, out = lax.scan(peel_step, inv(spec, total), (x, prev_prefix), reverse=True)
    out = out.transpose(1, 2, 0).reshape(spec.n_limbs, blocks * m)[:, :n]
    return jnp.where(zero[None], jnp.zeros_like(a), out)


def to_montgomery(spec: MontgomerySpec, a: jnp.ndarray) -> jnp.ndarray:
    """Standard-form limbs (< 2^(32L), need not be reduced) -> Montgomery form mod p."""
    r2 = _bcast(spec.constant(spec.r), a)  # Montgomery form of R is R^2 mod p
    return mont_mul(spec, a, r2)


def from_montgomery(spec: MontgomerySpec, a: jnp.ndarray) -> jnp.ndarray:
    """Montgomery form -> standard-form canonical limbs."""
    one_std = _bcast(spec.constant(1, montgomery=False), a)
    return mont_mul(spec, a, one_std)


def from_wide(spec: MontgomerySpec, lo: jnp.ndarray, hi: jnp.ndarray) -> jnp.ndarray:
    """Montgomery form of (lo + hi * 2^(32L)) mod p, for arbitrary limbs lo, hi of shape (L, *batch)."""
    r3 = _bcast(spec.constant(spec.r * spec.r % spec.modulus), lo)  # Montgomery form of R^2
    return add(spec, to_montgomery(spec, lo), mont_mul(spec, hi, r3))
