"""The final exponentiation f -> f^((p^12 - 1) / r) as a small register program run by one loop.

Easy part: f^((p^6 - 1)(p^2 + 1)) = conj(f) f^-1, then g^(p^2) g. Its result is unitary (in the
cyclotomic subgroup), where inversion is conjugation.

Hard part, d = (p^4 - p^2 + 1) / r, computed up to a known multiple m (both chains are "up to a
permutation" of the published ones, in our own register allocation):
  - BN254, Fuentes-Castaneda, Knapp and Rodriguez-Henriquez ("Faster hashing to G2", 2011):
    f^(lambda_0 + lambda_1 p + lambda_2 p^2 + lambda_3 p^3) with lambda_1 = 12u^3 + 6u^2 + 4u,
    lambda_2 = lambda_1 + 2u, lambda_3 = lambda_1 - 1, lambda_0 = lambda_2 + 6u^2 + 1:
    3 exponentiations by u, 3 squarings, 10 products, 3 Frobenius maps; m = 2u(6u^2 + 3u + 1).
  - BLS12-381, Hayashida, Hayasaka and Teruya (eprint 2020/875):
    3d = (u - 1)^2 (u + p)(u^2 + p^2 - 1) + 3: 5 exponentiations by u; m = 3.
`pairing_check` only asks whether the result is 1, and m is prime to r, so the multiple is free.
`pairing` returns the exact value (equal to py_ecc's): its program appends an exponentiation by
m^-1 mod r.

The programs are int32 arrays of (op, dst, a, b) rows over a register file of NREG Fq12 batches.
One `lax.fori_loop` with a `lax.switch` runs any program, so the whole final exponentiation costs
the compile time of seven Fq12 kernels, and the program is data (one executable serves `pairing`
and `pairing_check`). `program_exponent` evaluates a hard-part program on exponents (modulo
Phi_12(p)); the module checks every program with it when it is built.
"""

from __future__ import annotations

import functools
import math

import jax.numpy as jnp
import numpy as np
from jax import lax

from supervm_jax.pairing.params import PairingParams, naf, pairing_params

MUL, SQR, CONJ, FROB1, FROB2, FROB3, INV = range(7)
NREG = 8


class _Program:
    """Builder of (op, dst, a, b) rows."""

    def __init__(self):
        self.rows: list[tuple[int, int, int, int]] = []

    def op(self, op: int, dst: int, a: int, b: int = 0) -> None:
        self.rows.append((op, dst, a, b))

    def power(self, dst: int, src: int, exponent: int, tmp: int = NREG - 1) -> None:
        """reg[dst] = reg[src]^exponent for a unitary reg[src] (signed exponent, |exponent| >= 2;
        NAF with conj(src) in reg[tmp]; dst, src and tmp distinct)."""
        digits = naf(abs(exponent))
        self.op(CONJ, tmp, src)
        self.op(SQR, dst, src)
        for k, d in enumerate(digits[1:]):
            if k:
                self.op(SQR, dst, dst)
            if d:
                self.op(MUL, dst, dst, src if d > 0 else tmp)
        if exponent < 0:
            self.op(CONJ, dst, dst)

    def array(self) -> np.ndarray:
        return np.asarray(self.rows, np.int32).reshape(-1, 4)


def _easy_part(prog: _Program) -> None:
    prog.op(INV, 1, 0)
    prog.op(CONJ, 0, 0)
    prog.op(MUL, 0, 0, 1)
    prog.op(FROB2, 1, 0)
    prog.op(MUL, 0, 1, 0)


def _hard_part_bn(prog: _Program, u: int) -> None:
    """Fuentes-Castaneda et al. for BN curves; f in r0, result in r0."""
    prog.power(1, 0, u)            # f^u
    prog.op(SQR, 1, 1)             # f^2u
    prog.op(SQR, 2, 1)             # f^4u
    prog.op(MUL, 3, 2, 1)          # f^6u
    prog.power(4, 3, u)            # f^6u^2
    prog.op(SQR, 3, 4)             # f^12u^2
    prog.power(5, 3, u)            # f^12u^3
    prog.op(MUL, 5, 5, 4)
    prog.op(MUL, 5, 5, 2)          # A = f^lambda_1
    prog.op(MUL, 6, 5, 1)          # B = f^lambda_2
    prog.op(CONJ, 2, 0)
    prog.op(MUL, 2, 5, 2)          # C = f^lambda_3
    prog.op(MUL, 4, 6, 4)
    prog.op(MUL, 4, 4, 0)          # D = f^lambda_0
    prog.op(FROB1, 5, 5)
    prog.op(FROB2, 6, 6)
    prog.op(FROB3, 2, 2)
    prog.op(MUL, 0, 4, 5)
    prog.op(MUL, 0, 0, 6)
    prog.op(MUL, 0, 0, 2)


def _hard_part_bls12(prog: _Program, u: int) -> None:
    """Hayashida-Hayasaka-Teruya for BLS12 curves; f in r0, result (f^3d) in r0."""
    prog.power(1, 0, u)
    prog.op(CONJ, 2, 0)
    prog.op(MUL, 1, 1, 2)          # a = f^(u-1)
    prog.power(2, 1, u)
    prog.op(CONJ, 3, 1)
    prog.op(MUL, 1, 2, 3)          # b = a^(u-1)
    prog.power(2, 1, u)
    prog.op(FROB1, 3, 1)
    prog.op(MUL, 1, 2, 3)          # c = b^(u+p)
    prog.power(2, 1, u)
    prog.power(3, 2, u)
    prog.op(FROB2, 4, 1)
    prog.op(CONJ, 5, 1)
    prog.op(MUL, 3, 3, 4)
    prog.op(MUL, 3, 3, 5)          # e = c^(u^2 + p^2 - 1)
    prog.op(SQR, 4, 0)
    prog.op(MUL, 4, 4, 0)
    prog.op(MUL, 0, 3, 4)          # e f^3


def program_exponent(rows: np.ndarray, p: int) -> int:
    """The exponent e with f -> f^e that a hard-part program computes on a unitary input f in
    register 0 (result: the destination register of the last row), modulo Phi_12(p) = p^4 - p^2 + 1
    (INV and CONJ negate; FROBk multiplies by p^k)."""
    phi = p**4 - p**2 + 1
    regs = [1] + [0] * (NREG - 1)
    for op, dst, a, b in rows.tolist():
        x, y = regs[a], regs[b]
        regs[dst] = {MUL: x + y, SQR: 2 * x, CONJ: -x, INV: -x, FROB1: x * p, FROB2: x * p**2, FROB3: x * p**3}[op] % phi
    return regs[int(rows[-1, 1])]


@functools.lru_cache(maxsize=None)
def programs(curve: str) -> dict[str, np.ndarray]:
    """{"check": easy + hard part (f^(m (p^12-1)/r)), "exact": the same then ^(m^-1 mod r)}.

    The result of a program is the destination register of its last row.

    Raises AssertionError at build time if a hard part is not m * d for the documented m."""
    params = pairing_params(curve)
    p, r, u = params.p, params.r, params.u
    d = (p**4 - p**2 + 1) // r
    hard = _Program()
    if curve == "bn254":
        _hard_part_bn(hard, u)
        m = 2 * u * (6 * u * u + 3 * u + 1)
    else:
        _hard_part_bls12(hard, u)
        m = 3
    if program_exponent(hard.array(), p) != m * d % (p**4 - p**2 + 1) or math.gcd(m, r) != 1:
        raise AssertionError(f"{curve}: the hard part does not compute f^(m d) for m = {m}")
    check = _Program()
    _easy_part(check)
    check.rows += hard.rows
    exact = _Program()
    exact.rows += check.rows
    exact.power(1, 0, pow(m, -1, r))
    return {"check": check.array(), "exact": exact.array()}


def _kernels(params: PairingParams):
    tw = params.tower
    return [
        lambda x, y: tw.mul12(x, y),
        lambda x, y: tw.square12(x),
        lambda x, y: tw.conj12(x),
        lambda x, y: tw.frobenius12(x, 1),
        lambda x, y: tw.frobenius12(x, 2),
        lambda x, y: tw.frobenius12(x, 3),
        lambda x, y: tw.inv12(x),
    ]


def run_program(params: PairingParams, rows: jnp.ndarray, n_rows: jnp.ndarray, f: jnp.ndarray) -> jnp.ndarray:
    """Runs the first n_rows rows of an int32 (R, 4) program on f (L, 2, 2, 3, *batch) in register 0
    (the others start at 1); returns the destination register of row n_rows - 1. R and the batch
    shape are static, the program and n_rows are data (traced under `pmap.x64_scope()`)."""
    tw = params.tower
    regs = jnp.stack([f] + [tw.one(f.shape[4:])] * (NREG - 1))
    kernels = _kernels(params)

    def step(i, regs):
        op, dst, a, b = rows[i, 0], rows[i, 1], rows[i, 2], rows[i, 3]
        out = lax.switch(op, kernels, regs[a], regs[b])
        return regs.at[dst].set(out)

    regs = lax.fori_loop(0, n_rows, step, regs)
    return regs[rows[n_rows - 1, 1]]


def padded(rows: np.ndarray, length: int) -> np.ndarray:
    """A program padded with zero rows to `length` rows (only the first len(rows) run)."""
    if len(rows) > length:
        raise ValueError(f"program of {len(rows)} rows does not fit {length}")
    return np.concatenate([rows, np.zeros((length - len(rows), 4), np.int32)])
