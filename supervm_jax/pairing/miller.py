"""The multi-Miller loop: pairs in groups of K that share one Fq12 accumulator (and its squarings).

Lanes: the pairs of a call are laid out (K, G): G groups of K pairs, the group axis last (the axis
that is sharded over devices). Every loop step doubles T for all K G pairs at once and evaluates the
tangent lines at P; on a nonzero loop digit it adds +-Q and multiplies in the chord line; the K
lines of a group are multiplied together (a tree of Fq12 products over the K axis) and the group's
accumulator becomes f^2 * prod(lines). So a group of K pairs pays one Fq12 squaring per step instead
of K. A masked pair (padding, or a point at infinity) contributes the line 1.

Arithmetic (homogeneous projective coordinates on the twist, a = 0; formulas as in Costello,
Lange and Naehrig, "Faster pairing computations on curves with high-degree twists", scaled so no
halving is needed):
  doubling T = (X, Y, Z): B = Y^2, E = 3b' Z^2, F = 3E, H = 2YZ,
      X' = 2XY (B - F), Y' = (B + F)^2 - 12 E^2, Z' = 4 B H,
      line = -H yP  +  3 X^2 xP  +  (E - B)           (times a nonzero Fq2 factor, which the final
  mixed addition T + Q, Q = (xQ, yQ) affine:          exponentiation removes)
      theta = Y - yQ Z, lambda = X - xQ Z, C = theta^2, D = lambda^2, E = lambda D, F = Z C,
      G = X D, H = E + F - 2G: X' = lambda H, Y' = theta (G - H) - Y E, Z' = Z E,
      line = lambda yP  -  theta xP  +  (theta xQ - lambda yQ).
The three line coefficients sit at tower positions fixed by the twist type: D-type (y w^3 untwist)
at 1, w, v w; M-type (multiplied through by w^3) at v w, v, 1.

All kernels are pure and traced under `pmap.x64_scope()`.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import lax

from supervm_jax.field import montgomery as mont

from supervm_jax.pairing.params import PairingParams

# Pairs per group (sharing one accumulator). 4 gets most of the saving (the squaring is paid by 4
# pairs; the line tree costs 3/4 of a product per pair) with two tree levels of compile time.
GROUP_SIZE = 4


def _bcast(const, like):
    """Constant limbs (L, 2) -> broadcastable against an Fq2 array `like` (L, 2, *rest)."""
    return jnp.asarray(const).reshape(const.shape + (1,) * (like.ndim - 2))


def _line(params: PairingParams, c_y, c_x, c_0):
    """Dense Fq12 (L, 2, 2, 3, *rest) from the line coefficients at yP, at xP and the constant."""
    z = jnp.zeros_like(c_y)
    rows = [[c_y, z, z], [c_x, c_0, z]] if params.twist == "D" else [[c_0, c_x, z], [z, c_y, z]]
    return jnp.stack([jnp.stack(r, axis=2) for r in rows], axis=2)


def double_step(params: PairingParams, T, P):
    """T = (L, 2, 3, *rest) [X, Y, Z]; P = (y_neg, x3, y, x_neg) base limbs (L, *rest).
    Returns (2T, tangent line as dense Fq12)."""
    tw = params.tower
    X, Y, Z = T[:, :, 0], T[:, :, 1], T[:, :, 2]
    y_neg, x3, _, _ = P
    bZ = tw.mul2(Z, _bcast(params.three_b, Z))
    r1 = tw.mul2(jnp.stack([Y, bZ, X, X, Y], axis=2), jnp.stack([Y, Z, X, Y, Z], axis=2))
    B, E, XX, XY, YZ = (r1[:, :, k] for k in range(5))
    twice = tw.add(jnp.stack([YZ, E], axis=2), jnp.stack([YZ, E], axis=2))
    H = twice[:, :, 0]
    F = tw.add(twice[:, :, 1], E)
    pm = jnp.stack([tw.sub(B, F), tw.add(B, F)], axis=2)
    r2 = tw.mul2(jnp.stack([XY, pm[:, :, 1], E, B], axis=2), jnp.stack([pm[:, :, 0], pm[:, :, 1], E, H], axis=2))
    lb = tw.mul_base(jnp.stack([H, XX], axis=2), jnp.stack([y_neg, x3], axis=1))
    d1 = tw.add(jnp.stack([r2[:, :, 0], r2[:, :, 3], r2[:, :, 2]], axis=2),
                jnp.stack([r2[:, :, 0], r2[:, :, 3], r2[:, :, 2]], axis=2))  # 2XY(B-F), 2BH, 2E^2
    d2 = tw.add(d1[:, :, 1:], d1[:, :, 1:])  # 4BH, 4E^2
    e12 = tw.add(tw.add(d2[:, :, 1], d2[:, :, 1]), d2[:, :, 1])
    T2 = jnp.stack([d1[:, :, 0], tw.sub(r2[:, :, 1], e12), d2[:, :, 0]], axis=2)
    return T2, _line(params, lb[:, :, 0], lb[:, :, 1], tw.sub(E, B))


def add_step(params: PairingParams, T, xQ, yQ, P):
    """T + Q for affine Q = (xQ, yQ) Fq2 arrays; returns (T + Q, chord line as dense Fq12)."""
    tw = params.tower
    X, Y, Z = T[:, :, 0], T[:, :, 1], T[:, :, 2]
    _, _, y, x_neg = P
    r1 = tw.mul2(jnp.stack([yQ, xQ], axis=2), jnp.expand_dims(Z, 2))
    tl = tw.sub(jnp.stack([Y, X], axis=2), r1)
    th, la = tl[:, :, 0], tl[:, :, 1]
    r2 = tw.mul2(jnp.stack([th, la, th, la], axis=2), jnp.stack([th, la, xQ, yQ], axis=2))
    C, D = r2[:, :, 0], r2[:, :, 1]
    lb = tw.mul_base(jnp.stack([la, th], axis=2), jnp.stack([y, x_neg], axis=1))
    r3 = tw.mul2(jnp.stack([la, Z, X], axis=2), jnp.stack([D, C, D], axis=2))
    E, F, G = r3[:, :, 0], r3[:, :, 1], r3[:, :, 2]
    H = tw.sub(tw.add(E, F), tw.add(G, G))
    r4 = tw.mul2(jnp.stack([la, th, Y, Z], axis=2), jnp.stack([H, tw.sub(G, H), E, E], axis=2))
    T2 = jnp.stack([r4[:, :, 0], tw.sub(r4[:, :, 1], r4[:, :, 2]), r4[:, :, 3]], axis=2)
    return T2, _line(params, lb[:, :, 0], lb[:, :, 1], tw.sub(r2[:, :, 2], r2[:, :, 3]))


def _group_product(params: PairingParams, lines, mask):
    """Masked lines (L, 2, 2, 3, K, G) -> their product per group (L, 2, 2, 3, G) by a tree over K."""
    tw = params.tower
    x = jnp.where(mask, lines, tw.one(lines.shape[4:]))
    while x.shape[4] > 1:
        h = x.shape[4] // 2
        x = tw.mul12(x[:, :, :, :, :h], x[:, :, :, :, h:])
    return x[:, :, :, :, 0]


def miller_loop(params: PairingParams, xP, yP, xQ, yQ, mask):
    """f per group: prod over its pairs of the Miller function f_{s,Q}(P) (times the BN254 lines).

    xP, yP: (L, K, G) base-field limbs of the affine G1 points; xQ, yQ: (L, 2, K, G) Fq2 limbs of
    the affine twist points; mask: (K, G) bool, False for pairs that contribute 1. Inputs at masked
    positions must still be valid field elements (any value). Returns (L, 2, 2, 3, G) uint32.

    One `lax.fori_loop` runs every step, so the step's code is compiled once: step k doubles T
    (and squares f) unless it is one of BN254's two final steps, then adds the point chosen by
    `_step_ops(params)[k]`: none, -Q, Q, pi(Q) or -pi^2(Q).
    """
    tw = params.tower
    neg = lambda a: lax.optimization_barrier(mont.sub(tw.spec, jnp.zeros_like(a), a))  # noqa: E731
    y_neg, x_neg = neg(yP), neg(xP)
    x3 = tw.add(tw.add(xP, xP), xP)
    P = (y_neg, x3, yP, x_neg)
    xs, ys = [xQ, xQ], [neg(yQ), yQ]
    if params.frobenius_q is not None:  # BN254: pi(Q) and -pi^2(Q) on the twist
        c = params.frobenius_q
        q1 = tw.mul2(jnp.stack([tw.conj2(xQ), tw.conj2(yQ)], axis=2), jnp.stack([_bcast(c[0], xQ), _bcast(c[1], xQ)], axis=2))
        q2 = tw.mul2(jnp.stack([xQ, yQ], axis=2), jnp.stack([_bcast(c[2], xQ), _bcast(c[3], xQ)], axis=2))
        xs += [q1[:, :, 0], q2[:, :, 0]]
        ys += [q1[:, :, 1], neg(q2[:, :, 1])]
    xs, ys = jnp.stack(xs), jnp.stack(ys)
    one2 = _bcast(tw.fq2_constant((1, 0)), xQ)
    T = jnp.stack([xQ, yQ, jnp.broadcast_to(one2, xQ.shape)], axis=2)
    mask12 = mask[None, None, None, None]
    ops = jnp.asarray(_step_ops(params), jnp.int32)
    no_line = tw.one(xQ.shape[2:])
    groups = xP.shape[-1]

    def step(k, carry):
        f, T = carry
        op = ops[k]
        doubles = op <= 1
        T, line = lax.cond(doubles, lambda T: double_step(params, T, P), lambda T: (T, no_line), T)

        def with_add(T, line):
            which = jnp.where(op < 0, 0, jnp.where(op == 1, 1, op))
            T, chord = add_step(params, T, xs[which], ys[which], P)
            return T, tw.mul12(line, chord)

        T, line = lax.cond(op != 0, with_add, lambda T, line: (T, line), T, line)
        f = jnp.where(doubles, tw.square12(f), f)
        return tw.mul12(f, _group_product(params, line, mask12)), T

    f, _ = lax.fori_loop(0, ops.shape[0], step, (tw.one((groups,)), T))
    return f


def _step_ops(params: PairingParams) -> np.ndarray:
    """Per loop step: the signed digit (-1, 0, 1: double, then add -Q / nothing / Q), and for BN254
    two more steps without doubling: 2 adds pi(Q), 3 adds -pi^2(Q)."""
    tail = [2, 3] if params.frobenius_q is not None else []
    return np.concatenate([params.loop_digits.astype(np.int32), np.asarray(tail, np.int32)])
