"""An INSECURE, test-only Groth16 setup: a snarkjs-compatible proving key from KNOWN toxic waste.

    from supervm_jax.groth16.setup import insecure_setup
    zkey = insecure_setup("circuit.r1cs")            # INSECURE: fixed public secrets by default
    write_zkey("circuit_insecure.zkey", zkey)        # snarkjs proves and verifies with this key

INSECURE: whoever knows tau, alpha, beta, gamma, delta (here: everybody, the defaults are public
constants) can forge proofs for any public signals. Use it for tests and benchmarks only, never for
anything a proof is supposed to protect. Real keys come from a ceremony (snarkjs powersoftau + zkey).

What it computes is what snarkjs 0.7.6 `zkey new` (`zkey_new.js`) followed by contributions writes
for the same secrets (snarkjs `zkey new` itself has gamma = delta = 1; contributions rescale delta):

  * domain n = 2^(floor(log2(nConstraints + nPublic)) + 1), omega = ffjavascript's n-th root;
  * Lagrange basis at tau, L_i(tau) = omega^i (tau^n - 1) / (n (tau - omega^i)) (1 / 0 when tau is
    a root of unity); u_j = sum_i A[i][j] L_i(tau) with the extra rows A[nConstraints + s][s] = 1
    for s = 0..nPublic, v_j from B, w_j from C;
  * A_j = u_j G1, B1_j = v_j G1, B2_j = v_j G2 for every signal; IC_j = (beta u_j + alpha v_j + w_j)
    / gamma G1 for j <= nPublic, C_j = the same / delta G1 for j > nPublic; H_k = L'_(2k+1)(tau) /
    delta G1 over the Lagrange basis L' of the 2n-th roots; alpha_1, beta_1, beta_2, gamma_2,
    delta_1, delta_2;
  * section 4: per constraint its A terms then its B terms in r1cs order, then (A, nConstraints + s,
    s, 1) for s = 0..nPublic, values stored as v R^2 mod r (R = 2^256).

Scalars are Python-int work (one batch inversion per basis); the ~5 n fixed-base multiplications run
on device with the comb of `ShortWeierstrass.generator_mul` (affine normalization on device too).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Any

import numpy as np

from supervm_jax.field.limbs import ints_from_limbs, limbs_from_ints
from supervm_jax.groth16.curves import BN128, PairingCurve
from supervm_jax.groth16.r1cs import R1CS, read_r1cs
from supervm_jax.groth16.zkey import ZKey, g1_from_raw, g2_from_raw


@dataclasses.dataclass(frozen=True)
class InsecureSecrets:
    """INSECURE toxic waste of a test key: tau, alpha, beta, gamma, delta in [1, r)."""

    tau: int
    alpha: int
    beta: int
    gamma: int
    delta: int

    @classmethod
    def default(cls, curve: PairingCurve = BN128) -> "InsecureSecrets":
        """INSECURE fixed public constants (hashes of their names), the same on every run."""
        vals = [int.from_bytes(hashlib.sha256(f"supervm_jax INSECURE groth16 {k}".encode()).digest(), "big") % curve.r
                for k in ("tau", "alpha", "beta", "gamma", "delta")]
        return cls(*vals)


def _batch_inverse(values: list[int], p: int) -> list[int]:
    """Inverses mod p by Montgomery's trick (every value non-zero)."""
    prefix, acc = [], 1
    for v in values:
        prefix.append(acc)
        acc = acc * v % p
    inv = pow(acc, -1, p)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = inv * prefix[i] % p
        inv = inv * values[i] % p
    return out


def lagrange_at(curve: PairingCurve, size: int, tau: int, indices: range | None = None) -> list[int]:
    """[L_i(tau) for i in indices] over the `size`-th roots of unity (ffjavascript's omega):
    L_i(x) = omega^i (x^size - 1) / (size (x - omega^i)). INSECURE-setup helper."""
    r = curve.r
    omega = curve.snarkjs_root_of_unity(size)
    indices = range(size) if indices is None else indices
    points, x, step = [], pow(omega, indices.start, r), pow(omega, indices.step, r)
    for _ in indices:
        points.append(x)
        x = x * step % r
    tau %= r
    if pow(tau, size, r) == 1:  # tau is a root of unity: the basis is an indicator
        return [1 if x == tau else 0 for x in points]
    zn = (pow(tau, size, r) - 1) % r
    dens = _batch_inverse([size * (tau - x) % r for x in points], r)
    return [x * zn % r * d % r for x, d in zip(points, dens)]


def _domain_size(n_constraints: int, n_public: int) -> int:
    v = n_constraints + n_public
    return 1 << ((v.bit_length() - 1 if v else 0) + 1)


def _column_sums(matrix, lag: list[int], n_vars: int, r: int) -> list[int]:
    """sum_i M[i][j] lag[i] per column j."""
    acc = [0] * n_vars
    for row, col, v in zip(matrix.row.tolist(), matrix.col.tolist(), ints_from_limbs(matrix.value)):
        acc[col] += v * lag[row]
    return [a % r for a in acc]


def _raw_from_affine(group, aff: np.ndarray) -> np.ndarray:
    """generator_mul affine output (2, *E, n) -> zkey raw layout: G1 (n, 2, L), G2 (n, 2, 2, L)."""
    if group.coords.degree == 1:
        return np.ascontiguousarray(aff.transpose(2, 0, 1))
    return np.ascontiguousarray(aff.transpose(3, 0, 2, 1))


def _fixed_base(group, scalars: list[int], mesh=None) -> np.ndarray:
    """INSECURE-setup helper: k_i G as zkey raw affine points (zeros at k = 0), only non-zero k on device."""
    idx = [i for i, k in enumerate(scalars) if k]
    L = group.coords.n_limbs
    shape = (len(scalars), 2, L) if group.coords.degree == 1 else (len(scalars), 2, 2, L)
    out = np.zeros(shape, np.uint32)
    if idx:
        limbs = limbs_from_ints([scalars[i] for i in idx], 4 * group.scalar_field.n_limbs)
        aff = np.asarray(group.generator_mul(limbs, affine=True, mesh=mesh))
        out[np.asarray(idx)] = _raw_from_affine(group, aff)
    return out


def _coefficients(curve: PairingCurve, cs: R1CS) -> tuple[np.ndarray, ...]:
    """Section 4 in snarkjs order: (matrix, row, col, value limbs v R^2 mod r)."""
    n_a, n_b = len(cs.a), len(cs.b)
    matrix = np.concatenate([np.zeros(n_a, np.uint32), np.ones(n_b, np.uint32)])
    row = np.concatenate([cs.a.row, cs.b.row]).astype(np.uint32)
    col = np.concatenate([cs.a.col, cs.b.col]).astype(np.uint32)
    values = np.concatenate([cs.a.value, cs.b.value]).reshape(n_a + n_b, -1)
    order = np.argsort(row.astype(np.int64) * 2 + matrix, kind="stable")  # per constraint: A terms, then B terms
    matrix, row, col, values = matrix[order], row[order], col[order], values[order]
    extra = np.arange(cs.n_public + 1, dtype=np.uint32)
    matrix = np.concatenate([matrix, np.zeros_like(extra)])
    row = np.concatenate([row, cs.n_constraints + extra])
    col = np.concatenate([col, extra])
    r = curve.r
    r2 = pow(1 << (8 * curve.n8r), 2, r)
    ones = limbs_from_ints([1] * len(extra), curve.n8r)
    std = np.concatenate([values, ones]) if len(values) else ones
    encoded = limbs_from_ints([v * r2 % r for v in ints_from_limbs(std)], curve.n8r)
    return matrix, row, col, encoded


def insecure_setup(r1cs: Any, secrets: InsecureSecrets | tuple | None = None, *, curve: PairingCurve = BN128,
                   mesh=None) -> ZKey:
    """INSECURE test-only Groth16 proving key for `r1cs` (an `R1CS` or a `.r1cs` path) from known
    toxic waste `secrets` (an `InsecureSecrets` or (tau, alpha, beta, gamma, delta); default the
    public constants of `InsecureSecrets.default`). Anyone knowing the secrets can forge proofs.

    Returns the `ZKey` snarkjs would hold for these secrets (see the module docstring); write it with
    `write_zkey`. The fixed-base multiplications run on device (`mesh`, default all devices)."""
    cs = r1cs if isinstance(r1cs, R1CS) else read_r1cs(r1cs)
    if cs.prime != curve.r:
        raise ValueError(f"{cs.name}: its prime is not the scalar field of {curve.name}")
    if secrets is None:
        secrets = InsecureSecrets.default(curve)
    elif not isinstance(secrets, InsecureSecrets):
        secrets = InsecureSecrets(*secrets)
    r = curve.r
    tau, alpha, beta, gamma, delta = (v % r for v in dataclasses.astuple(secrets))
    if not (alpha and beta and gamma and delta):
        raise ValueError("INSECURE setup: alpha, beta, gamma and delta must be non-zero mod r")

    n_public, n_vars, n_cons = cs.n_public, cs.n_wires, cs.n_constraints
    n = _domain_size(n_cons, n_public)
    curve.snarkjs_root_of_unity(2 * n)  # raises if the 2n domain does not exist
    lag = lagrange_at(curve, n, tau, range(n_cons + n_public + 1))
    u = _column_sums(cs.a, lag, n_vars, r)
    for s in range(n_public + 1):
        u[s] = (u[s] + lag[n_cons + s]) % r
    v = _column_sums(cs.b, lag, n_vars, r)
    w = _column_sums(cs.c, lag, n_vars, r)
    gamma_inv, delta_inv = pow(gamma, -1, r), pow(delta, -1, r)
    mix = [(beta * a + alpha * b + c) % r for a, b, c in zip(u, v, w)]
    ic = [m * gamma_inv % r for m in mix[: n_public + 1]]
    c_priv = [m * delta_inv % r for m in mix[n_public + 1 :]]
    h = [x * delta_inv % r for x in lagrange_at(curve, 2 * n, tau, range(1, 2 * n, 2))]

    g1, g2 = curve.g1, curve.g2
    heads1 = [alpha, beta, delta]
    parts1 = [u, v, c_priv, h, ic, heads1]
    raw1 = _fixed_base(g1, [k for part in parts1 for k in part], mesh)
    bounds = np.cumsum([0] + [len(p) for p in parts1])
    a_pts, b1_pts, c_pts, h_pts, ic_raw, head1_raw = (raw1[bounds[i] : bounds[i + 1]] for i in range(len(parts1)))
    raw2 = _fixed_base(g2, v + [beta, gamma, delta], mesh)
    b2_pts, head2_raw = raw2[:n_vars], raw2[n_vars:]
    alpha_1, beta_1, delta_1 = g1_from_raw(curve, head1_raw)
    beta_2, gamma_2, delta_2 = g2_from_raw(curve, head2_raw)
    matrix, row, col, value = _coefficients(curve, cs)
    return ZKey(curve, n_vars, n_public, n, alpha_1=alpha_1, beta_1=beta_1, beta_2=beta_2, gamma_2=gamma_2,
                delta_1=delta_1, delta_2=delta_2, ic=g1_from_raw(curve, ic_raw), coef_matrix=matrix, coef_row=row,
                coef_col=col, coef_value=value, a=a_pts, b1=b1_pts, b2=b2_pts, c=c_pts, h=h_pts,
                name=f"<INSECURE setup of {os.path.basename(str(cs.name))}>")


__all__ = ["InsecureSecrets", "insecure_setup", "lagrange_at"]
