"""Host side of the pairing: validation, lane layout, sharded device calls, GT values.

A call to `pairing_check` with products of pairs runs sharded device programs:
  1. the multi-Miller loop over groups of GROUP_SIZE pairs (`miller.py`), one accumulator per
     group, groups split over the mesh's devices;
  2. per product: the product of its groups' accumulators (one loop with one Fq12 multiply), then
     the final exponentiation program (`final_exp.py`), products split over the devices.
Lane counts are padded to a power-of-two share per device (`pmap.run_sharded`), so a handful of
compiled programs serve every batch. On a CPU mesh the three steps run in C++ through the XLA FFI
(`native/pairing.cc`, `uses_native`), about 8x faster than XLA's code for them; elsewhere (GPUs)
the JAX kernels run, whose first call per curve and size compiles for a while (tens of seconds on
CPU, where the tests run them too), and a line on stderr says so.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh

from supervm_jax import native
from supervm_jax.groth16.curves import BLS12381, BN128, PairingCurve
from supervm_jax.pairing import final_exp, miller
from supervm_jax.pairing.params import PairingParams, pairing_params
from supervm_jax.pmap.sharding import announce_compile, device_mesh, mesh_platform, run_sharded

_NAMES = {"bn254": "bn254", "bn128": "bn254", "bls12_381": "bls12_381", "bls12381": "bls12_381", "bls12-381": "bls12_381"}
_SNARKJS = {"bn254": BN128, "bls12_381": BLS12381}
_BN_U = 4965661367192848881
# snarkjs's GT value = py_ecc's ^ this (GTElement.to_snarkjs)
SNARKJS_EXPONENT = {"bn254": 2 * _BN_U * (6 * _BN_U**2 + 3 * _BN_U + 1), "bls12_381": -3}
PROGRAM_ROWS = 768  # every final-exponentiation program is padded to this many rows (one executable)
MIN_SHARE = 8  # smallest per-device lane count of a pairing program (few compiled sizes)
MILLER_CHUNK = 1 << 12  # groups per Miller program call (bounded memory)


def resolve_curve(curve) -> str:
    """A curve name ("bn254"/"bn128", "bls12_381"/"bls12381"/"bls12-381") or a groth16
    `PairingCurve` -> the canonical name "bn254" | "bls12_381"."""
    if isinstance(curve, PairingCurve):
        return "bn254" if curve is BN128 else "bls12_381"
    try:
        return _NAMES[str(curve).lower()]
    except KeyError:
        raise ValueError(f"unknown pairing curve {curve!r}; one of {sorted(_NAMES)}") from None


class GTElement:
    """An element of GT, the order-r subgroup of Fq12*, as tower coefficients.

    `coeffs[j][i] = (c0, c1)`: the element is sum c_ji v^i w^j with c = c0 + c1 u (the tower of
    `tower.py`, which is also snarkjs's). Equality compares values.
    """

    def __init__(self, curve: str, coeffs):
        self.curve = curve
        self.coeffs = tuple(tuple(tuple(int(c) for c in x) for x in row) for row in coeffs)

    def to_py_ecc(self):
        """py_ecc's value: an FQ12 of the curve's optimized py_ecc module (`optimized_bn128` /
        `optimized_bls12_381`), over w^0..w^11."""
        import importlib

        module = importlib.import_module(_SNARKJS[self.curve].py_ecc_module)
        return module.FQ12(pairing_params(self.curve).tower.py_ecc_coeffs(self.coeffs))

    def to_snarkjs(self) -> list:
        """This pairing value as snarkjs writes it in `vk_alphabeta_12`: nested decimal strings
        [[[c0, c1] x 3] x 2] in the same tower. snarkjs's (ffjavascript's) pairing is not py_ecc's
        value but a fixed power of it, SNARKJS_EXPONENT (its final exponentiation stops at the
        Fuentes-Castaneda multiple on BN254, and conjugates on BLS12-381); checked against
        snarkjs-written keys by the tests. Host arithmetic (py_ecc), a fraction of a second."""
        params = pairing_params(self.curve)
        value = self.to_py_ecc() ** (SNARKJS_EXPONENT[self.curve] % params.r)
        return [[[str(c) for c in x] for x in row] for row in params.tower.from_py_ecc_coeffs(value.coeffs)]

    def is_one(self) -> bool:
        return self.coeffs == ((((1, 0),) + ((0, 0),) * 2), ((0, 0),) * 3)

    def __eq__(self, other) -> bool:
        return isinstance(other, GTElement) and other.curve == self.curve and other.coeffs == self.coeffs

    def __hash__(self):
        return hash((self.curve, self.coeffs))

    def __repr__(self) -> str:
        return f"GTElement({self.curve}, {self.coeffs!r})"


# -- device programs ------------------------------------------------------------------------------


def uses_native(curve: str, mesh: Mesh) -> bool:
    """Whether the pairing runs on the C++ kernels (`native/pairing.cc`) on this mesh: its devices
    are CPUs and the native library is built (SUPERVM_NATIVE=0 or `native.ENABLED = False` turn it
    off). GPUs, and CPUs without a compiler, run the JAX kernels, which the tests compare with."""
    return native.pairing_available(curve, mesh_platform(mesh))


@functools.lru_cache(maxsize=None)
def _miller_kernel(curve: str, use_native: bool):
    params = pairing_params(curve)
    run = native.pairing_miller if use_native else miller.miller_loop
    return lambda xP, yP, xQ, yQ, mask: run(params, xP, yP, xQ, yQ, mask)


@functools.lru_cache(maxsize=None)
def _fold_kernel(curve: str, use_native: bool):
    """(L, 2, 2, 3, M, P) -> (L, 2, 2, 3, P): the product over M (JAX: one Fq12 multiply call site)."""
    params = pairing_params(curve)
    if use_native:
        return lambda f: native.pairing_fold(params, f)
    tw = params.tower

    def fold(f):
        return lax.fori_loop(1, f.shape[4], lambda m, acc: tw.mul12(acc, f[:, :, :, :, m]), f[:, :, :, :, 0])

    return fold


@functools.lru_cache(maxsize=None)
def _final_kernel(curve: str, use_native: bool):
    params = pairing_params(curve)
    run = native.pairing_final if use_native else final_exp.run_program
    return lambda rows, n_rows, f: run(params, rows, n_rows, f)


@functools.lru_cache(maxsize=None)
def _program(curve: str, which: str) -> tuple[np.ndarray, np.ndarray]:
    rows = final_exp.programs(curve)[which]
    return final_exp.padded(rows, PROGRAM_ROWS), np.asarray(len(rows), np.int32)


# -- host layout ----------------------------------------------------------------------------------


def _validate(params: PairingParams, products: Sequence[Sequence], what: str, check_groups: bool = True):
    """The (product, pair) index of every finite pair, and their affine limbs (G1 (3, L, n),
    G2 (3, L, 2, n); rows x, y, z).

    Raises ValueError naming the product and pair of the first point that is malformed, or (with
    check_groups) off the curve or outside the order-r subgroup (on device, one call per group)."""
    flat, where = [], []
    for i, product in enumerate(products):
        if not isinstance(product, (list, tuple)):
            raise ValueError(f"{what}: product {i} is not a sequence of (P, Q) pairs")
        for j, pair in enumerate(product):
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
                raise ValueError(f"{what}: product {i} pair {j} is not a (P, Q) pair")
            if pair[0] is None or pair[1] is None:
                continue  # e(O, Q) = e(P, O) = 1
            flat.append(pair)
            where.append((i, j))
    if not flat:
        return where, None, None
    limbs = []
    for group, k in ((params.g1, 0), (params.g2, 1)):
        try:
            P = group.affine_limbs([pair[k] for pair in flat])
        except (TypeError, ValueError) as e:
            idx = _point_index(str(e))
            at = f"product {where[idx][0]} pair {where[idx][1]}" if idx is not None else "a pair"
            raise ValueError(f"{what}: {at}: {'P' if k == 0 else 'Q'} is malformed ({e})") from None
        if not check_groups:
            limbs.append(P)
            continue
        dev = jnp.asarray(P)
        ok = group.is_on_curve(dev)
        problem = "is not on the curve"
        if ok.all() and not group.cofactor_is_one:
            ok = group.in_subgroup(dev)
            problem = "is not in the order-r subgroup"
        if not ok.all():
            i, j = where[int(np.argmin(ok))]
            raise ValueError(f"{what}: product {i} pair {j}: {'P' if k == 0 else 'Q'} ({group.name}) {problem}")
        limbs.append(P)
    return where, limbs[0], limbs[1]


def _point_index(message: str) -> int | None:
    import re

    m = re.search(r"point (\d+)", message)
    return int(m.group(1)) if m else None


def _miller_lanes(params: PairingParams, products: list, what: str, check_groups: bool = True):
    """The Miller loop's input layout: the finite pairs of each product in groups of K =
    GROUP_SIZE lanes. Returns ((xP, yP (L, K, G), xQ, yQ (L, 2, K, G), mask (K, G) bool), groups),
    groups[i] the group indices of product i; None for the arrays when no pair is finite. Validation
    (and its errors) as in `_validate`."""
    where, P, Q = _validate(params, products, what, check_groups)
    K = miller.GROUP_SIZE
    groups_of_product: list[list[int]] = [[] for _ in products]
    slots: list[tuple[int, int]] = []  # (group, lane) of each finite pair
    fill: list[int] = []  # pairs in each group so far
    for i, _ in where:
        groups = groups_of_product[i]
        if not groups or fill[groups[-1]] == K:
            groups.append(len(fill))
            fill.append(0)
        slots.append((groups[-1], fill[groups[-1]]))
        fill[groups[-1]] += 1
    if not fill:
        return None, groups_of_product
    L, G = params.tower.L, len(fill)
    xP = np.zeros((L, K, G), np.uint32)
    yP = np.zeros_like(xP)
    xQ = np.zeros((L, 2, K, G), np.uint32)
    yQ = np.zeros_like(xQ)
    mask = np.zeros((K, G), bool)
    g_idx = np.array([g for g, _ in slots])
    lane = np.array([k for _, k in slots])
    xP[:, lane, g_idx], yP[:, lane, g_idx] = P[0], P[1]
    xQ[:, :, lane, g_idx], yQ[:, :, lane, g_idx] = Q[0], Q[1]
    mask[lane, g_idx] = True
    return (xP, yP, xQ, yQ, mask), groups_of_product


def _miller(name: str, use_native: bool, lanes: tuple, mesh: Mesh) -> np.ndarray:
    """`_miller_lanes` arrays -> (L, 2, 2, 3, G) Miller accumulators, one per group (sharded)."""
    if not use_native:
        announce_compile(("pairing miller", name, mesh), f"the {name} Miller loop")
    return run_sharded(_miller_kernel(name, use_native), (), lanes, mesh=mesh, out_ndim=5, chunk=MILLER_CHUNK,
                       min_share=MIN_SHARE)


def _final(name: str, use_native: bool, which: str | tuple[np.ndarray, np.ndarray], f: np.ndarray,
           mesh: Mesh) -> np.ndarray:
    """(L, 2, 2, 3, n) Fq12 limbs -> the same after the final-exponentiation program `which`:
    "exact" or "check", or any program as (rows (PROGRAM_ROWS, 4) int32 padded, n_rows)."""
    rows, n_rows = _program(name, which) if isinstance(which, str) else which
    if not use_native:
        announce_compile(("pairing final", name, mesh), f"the {name} final exponentiation")
    return run_sharded(_final_kernel(name, use_native), (jnp.asarray(rows), jnp.asarray(n_rows)), (f,), mesh=mesh,
                       out_ndim=5, min_share=MIN_SHARE)


def _gt_values(products: Sequence[Sequence], curve, which: str, mesh: Mesh | None, what: str,
               check_groups: bool = True) -> np.ndarray:
    """(L, 2, 2, 3, n_products) limbs of the final-exponentiated products."""
    name = resolve_curve(curve)
    params = pairing_params(name)
    tw = params.tower
    mesh = mesh or device_mesh()
    products = list(products)
    lanes, groups_of_product = _miller_lanes(params, products, what, check_groups)
    n_prod = len(products)
    if lanes is None:
        return np.asarray(tw.one((n_prod,)))
    nat = uses_native(name, mesh)
    f = _miller(name, nat, lanes, mesh)
    n_groups = f.shape[-1]
    # Per product: its groups' accumulators, padded with 1 to M = the most groups of a product.
    M = max(len(g) for g in groups_of_product)
    table = np.concatenate([f, np.asarray(tw.one((1,)))], axis=-1)  # index n_groups = 1
    index = np.full((M, n_prod), n_groups)
    for i, groups in enumerate(groups_of_product):
        index[: len(groups), i] = groups
    gathered = table[..., index]  # (L, 2, 2, 3, M, n_prod)
    if M > 1:
        if not nat:
            announce_compile(("pairing fold", name, mesh, M), f"the {name} product of {M} Miller accumulators")
        acc = run_sharded(_fold_kernel(name, nat), (), (gathered,), mesh=mesh, out_ndim=5, min_share=MIN_SHARE)
    else:
        acc = gathered[:, :, :, :, 0]
    return _final(name, nat, which, acc, mesh)


# -- public API -----------------------------------------------------------------------------------


def pairing(P, Q, curve="bn254", *, mesh: Mesh | None = None) -> GTElement:
    """e(P, Q): the optimal ate pairing of P in G1 and Q in G2, exactly py_ecc's value.

    P: (x, y) ints or None; Q: ((x0, x1), (y0, y1)) ints or None (None = infinity, giving 1).
    Raises ValueError for a point that is malformed, off the curve or outside the subgroup."""
    name = resolve_curve(curve)
    limbs = _gt_values([[(P, Q)]], name, "exact", mesh, "pairing")
    return GTElement(name, pairing_params(name).tower.ints_from_limbs(limbs)[0])


def pairing_check(pairs_batch: Sequence[Sequence], curve="bn254", *, mesh: Mesh | None = None,
                  assume_valid: bool = False) -> np.ndarray:
    """For each product [(P_1, Q_1), ...] of `pairs_batch`: is prod_i e(P_i, Q_i) == 1?

    Returns a numpy bool array, one entry per product (an empty product is True). All products run
    in one batched device computation (sharded over `mesh`, default all devices). Raises ValueError
    naming the product and pair of the first point that is malformed, off the curve or outside the
    subgroup. assume_valid=True skips the curve and subgroup checks (coordinates are still range
    checked) for callers that have just made them, such as `groth16.verify_batch`: the G2 subgroup
    check costs more than the pairing itself. On points outside G1 x G2 the answer is meaningless."""
    name = resolve_curve(curve)
    products = list(pairs_batch)
    if not products:
        return np.zeros(0, bool)
    limbs = _gt_values(products, name, "check", mesh, "pairing_check", check_groups=not assume_valid)
    return np.asarray(pairing_params(name).tower.is_one_host(limbs))
