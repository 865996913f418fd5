"""Poseidon parameters for BN254 Fr as used by circom/circomlibjs, generated here from the Grain LFSR
procedure of the Poseidon paper (Grassi et al., "Poseidon: A New Hash Function for Zero-Knowledge
Proof Systems", appendix F; the reference script `generate_parameters_grain.sage`).

Instance: prime field (field bit 1), S-box x^5 (sbox bits 0), n = 254 bits, width t = 2..17 (inputs
1..16), R_F = 8 full rounds, R_P from `PARTIAL_ROUNDS`. For each width the LFSR is seeded with the
80-bit string field(2) | sbox(4) | n(12) | t(12) | R_F(10) | R_P(10) | 1...1(30), clocked 160 times,
then read through the self-shrinking rule (a pair of bits (b1, b2) yields b2 when b1 = 1, nothing
otherwise). Round constants: (R_F + R_P) * t values of n bits each (big-endian), rejecting values
>= p. MDS: a Cauchy matrix M[i][j] = 1 / (x_i + y_j) from 2t further n-bit draws reduced mod p
(redrawn if any repeat). The reference permutation computes new_state[i] = sum_j M[i][j] state[j];
circomlibjs's optimized code stores M transposed, which is why its tables look different.

Pure Python ints; results are cached per width. `permutation_reference` / `hash_reference` are the
plain-integer model (tests, benchmark peer "python-int").
"""

from __future__ import annotations

import functools

P = 0x30644E72E131A029B85045B68181585D2833E84879B9709143E1F593F0000001  # BN254 scalar field
FIELD_BITS = 254
FULL_ROUNDS = 8
PARTIAL_ROUNDS = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68]  # t = 2 .. 17
MIN_WIDTH, MAX_WIDTH = 2, 17


class _Grain:
    """The Grain-style LFSR of the Poseidon paper (80-bit state, taps 62, 51, 38, 23, 13, 0)."""

    def __init__(self, t: int, r_f: int, r_p: int):
        def bits(value: int, width: int) -> list[int]:
            return [int(b) for b in format(value, f"0{width}b")]

        self.state = bits(1, 2) + bits(0, 4) + bits(FIELD_BITS, 12) + bits(t, 12) + bits(r_f, 10) + bits(r_p, 10) + [1] * 30
        for _ in range(160):
            self._clock()

    def _clock(self) -> int:
        s = self.state
        bit = s[62] ^ s[51] ^ s[38] ^ s[23] ^ s[13] ^ s[0]
        s.pop(0)
        s.append(bit)
        return bit

    def bit(self) -> int:
        while self._clock() == 0:
            self._clock()  # pair (0, b): discard b
        return self._clock()

    def integer(self, n_bits: int) -> int:
        value = 0
        for _ in range(n_bits):
            value = (value << 1) | self.bit()
        return value


def partial_rounds(t: int) -> int:
    check_width(t)
    return PARTIAL_ROUNDS[t - MIN_WIDTH]


def check_width(t: int) -> None:
    if not isinstance(t, int) or not MIN_WIDTH <= t <= MAX_WIDTH:
        raise ValueError(f"Poseidon width t must be in [{MIN_WIDTH}, {MAX_WIDTH}] (1..16 inputs), got {t!r}")


@functools.lru_cache(maxsize=None)
def constants(t: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """(round_constants, mds) for width t: round_constants has (R_F + R_P) * t ints (round-major),
    mds is t x t with new_state[i] = sum_j mds[i][j] * state[j]."""
    r_p = partial_rounds(t)
    grain = _Grain(t, FULL_ROUNDS, r_p)
    rc = []
    for _ in range((FULL_ROUNDS + r_p) * t):
        value = grain.integer(FIELD_BITS)
        while value >= P:
            value = grain.integer(FIELD_BITS)
        rc.append(value)
    while True:
        draws = [grain.integer(FIELD_BITS) % P for _ in range(2 * t)]
        if len(set(draws)) == 2 * t:
            break
    xs, ys = draws[:t], draws[t:]
    mds = tuple(tuple(pow(x + y, -1, P) for y in ys) for x in xs)
    return tuple(rc), mds


def permutation_reference(state: list[int]) -> list[int]:
    """The Poseidon permutation on Python ints (mirrors circomlibjs's poseidon_reference.js)."""
    t = len(state)
    rc, mds = constants(t)
    r_p = partial_rounds(t)
    half = FULL_ROUNDS // 2
    for r in range(FULL_ROUNDS + r_p):
        state = [(x + rc[r * t + i]) % P for i, x in enumerate(state)]
        if r < half or r >= half + r_p:
            state = [pow(x, 5, P) for x in state]
        else:
            state[0] = pow(state[0], 5, P)
        state = [sum(m * x for m, x in zip(row, state)) % P for row in mds]
    return state


def hash_reference(inputs: list[int]) -> int:
    """circomlibjs `poseidon(inputs)`: state [0, inputs...], output state[0] after the permutation."""
    return permutation_reference([0] + [x % P for x in inputs])[0]
