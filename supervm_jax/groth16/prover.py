"""The Groth16 prover for snarkjs proving keys, on device.

    from supervm_jax.groth16 import Groth16Prover
    prover = Groth16Prover("circuit_final.zkey", r1cs="circuit.r1cs")   # loads the key onto the devices
    proof, public = prover.prove("witness.wtns")                         # snarkjs proof.json / public.json objects
    proofs = prover.prove_batch(["w0.wtns", "w1.wtns"])                  # [(proof, public), ...]

What happens per proof (snarkjs 0.7.6 `groth16_prove.js`, same arithmetic, same output):
  * the quotient scalars H (`qap.py`): two sparse matrix-vector products, three inverse and three
    coset NTTs, all batched over the witnesses of a `prove_batch` call;
  * five MSMs over the key's bases, A, B1, C, H on G1 and B2 on G2, each a `FixedBaseMSM`: the
    bases are validated, stripped of points at infinity and placed on the devices once, when the
    prover is created; each MSM is sharded over every device of `mesh` (default: all visible
    devices). With `precompute=True` the window tables 2^(c w) B_i are built too: about 15% faster
    MSMs (with the native CPU prefix kernel; 25% without) for a start-up of roughly a minute per
    2^17 G1 bases on a 2-core CPU, so it pays only for long-running provers; the default
    (`precompute=False`) starts in seconds;
  * the blinding tail, batched over the proofs of a `prove_batch` call:
        pi_a = A + alpha_1 + r delta_1          pi_b = B2 + beta_2 + s delta_2
        pi_c = C + H + s pi_a + r (B1 + beta_1 + s delta_1) - r s delta_1
    the multiples of delta, pi_a and B1 + beta_1 + s delta_1 in two rounds of `Group.scalar_mul`
    on device (constant-time kernels), the additions on the host (py_ecc), with r, s drawn from the
    OS CSPRNG (`secrets`). Passing `blinding=(r, s)` fixes them: that is a
    deterministic mode for tests only (a proof with known r, s reveals the witness).

Validation: the key is checked when the prover is created: structure by `read_zkey`, then every point
on device (`validate_key_points`): the header points, IC and the A, B1, B2, C, H bases on their
curve, the G2 points (and on BLS12-381 the G1 points too) in the order-r subgroup; errors name the
file, the section, the point and its byte offset. The subgroup checks are an endomorphism test per
point (`curve/subgroup.py`; a 64-bit scalar multiplication in C++ on a CPU backend);
`trusted_key=True` skips them for a key from a source you trust (the cheap on-curve checks stay).
A witness must have the key's prime and length, canonical values and wire 0 = 1. With `r1cs` given
the witness must also satisfy every constraint (`UnsatisfiedWitnessError` names the first that
fails): snarkjs does not check this and emits a proof that does not verify.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from supervm_jax.curve.weierstrass import ShortWeierstrass
from supervm_jax.field import montgomery as mont
from supervm_jax.field.limbs import ints_from_limbs
from supervm_jax.groth16 import qap
from supervm_jax.groth16.binfile import SnarkjsFileError
from supervm_jax.groth16.proof_json import proof_json
from supervm_jax.groth16.pyecc import host_groups
from supervm_jax.groth16.r1cs import R1CS, read_r1cs
from supervm_jax.groth16.wtns import Witness, load_witness
from supervm_jax.groth16.zkey import HEADER_POINTS, ZKey, load_zkey
from supervm_jax.msm import FixedBaseMSM
from supervm_jax.msm.api import fixed_base_window, n_windows, window_bits
from supervm_jax.pmap.compat import x64_scope

# G1 tables up to this many entries per device share one padded size (see `_load_bases`).
SHARED_PROGRAM_ROWS = 1 << 16

# Points per device call of the key validation (bounded memory; large keys reuse one compiled size).
VALIDATION_CHUNK = 1 << 16


class UnsatisfiedWitnessError(ValueError):
    """The witness does not satisfy the circuit's constraints."""


def validate_key_points(key: ZKey, bases: dict[str, jax.Array], *, trusted_key: bool = False) -> None:
    """Checks every point of a proving key on device, one flat batch per group (in device calls of
    VALIDATION_CHUNK points): on G1 the header's alpha_1, beta_1, delta_1, IC and the A, B1, C, H
    bases; on G2 the header's beta_2, gamma_2, delta_2 and the B2 bases. Each point must be on its
    curve and in the order-r subgroup (`Group.in_subgroup`; on BN254 G1, whose cofactor is 1, that
    is the curve equation alone); with trusted_key=True only on its curve.

    bases: the five sections in the curve code's projective layout, {"a", "b1", "b2", "c", "h"} ->
    (3, *elem_shape, n) uint32 (`projective_limbs`). Raises SnarkjsFileError naming the file, the
    section, the point ("gamma_2", "IC point 1", "B2 point 3") and its byte offset."""
    curve = key.curve
    for group in (curve.g1, curve.g2):
        is_g2 = group is curve.g2
        # (section, label, header index or None, points (3, *elem_shape, n))
        segments = [(2, name, i, group.affine_limbs([getattr(key, name)]))
                    for i, (name, g2) in enumerate(HEADER_POINTS) if g2 == is_g2]
        if is_g2:
            segments.append((7, "B2 point", None, bases["b2"]))
        else:
            segments.append((3, "IC point", None, group.affine_limbs(key.ic)))
            segments += [(sid, f"{name} point", None, bases[field])
                         for sid, name, field in ((5, "A", "a"), (6, "B1", "b1"), (8, "C", "c"), (9, "H", "h"))]
        points = jnp.concatenate([jnp.asarray(seg[3]) for seg in segments], axis=-1)
        check = group.is_on_curve if trusted_key else group.in_subgroup
        ok = np.concatenate([check(points[..., s : s + VALIDATION_CHUNK])
                             for s in range(0, points.shape[-1], VALIDATION_CHUNK)])
        if ok.all():
            continue
        bad = int(np.argmin(ok))
        on_curve = bool(group.is_on_curve(points[..., bad : bad + 1])[0])
        for sid, label, header_index, pts in segments:
            if bad < pts.shape[-1]:
                break
            bad -= pts.shape[-1]
        what, index = (label, header_index) if header_index is not None else (f"{label} {bad}", bad)
        problem = "is not in the order-r subgroup of" if on_curve else "is not on"
        raise SnarkjsFileError(f"{key.name}: section {sid}, byte {key.point_offset(sid, index)}: {what} {problem} "
                               f"{group.name}")


def projective_limbs(group: ShortWeierstrass, raw: np.ndarray) -> np.ndarray:
    """Raw zkey points, G1 (n, 2, L) or G2 (n, 2, 2, L) Montgomery limbs with (0, 0) at infinity ->
    the curve code's projective layout (3, *elem_shape, n) uint32."""
    n = raw.shape[0]
    if group.coords.degree == 1:
        x, y = raw[:, 0].T, raw[:, 1].T  # (L, n)
    else:
        x, y = raw[:, 0].transpose(2, 1, 0), raw[:, 1].transpose(2, 1, 0)  # (L, 2, n)
    inf = ~raw.reshape(n, -1).any(axis=1)
    one = group.coords.constant(1).reshape(group.coords.elem_shape + (1,))
    z = np.where(inf, 0, one).astype(np.uint32)
    y = np.where(inf, one, y).astype(np.uint32)
    return np.ascontiguousarray(np.stack([x, y, z]))


def witness_for_key(source: Any, key: ZKey, index: int = 0) -> Witness:
    """Loads witness `index` (a `Witness`, a `.wtns` path or bytes, or a sequence of ints) and checks
    it fits `key`: the key's scalar field, its signal count and element size, wire 0 = 1. Host work
    only, so a caller can check its witnesses before the slow key validation (`jobs.prove`).
    Raises SnarkjsFileError (UnsatisfiedWitnessError for wire 0) naming the witness."""
    w = load_witness(source, key.curve.r)
    label = f"witness {index} ({w.name})"
    if w.prime != key.curve.r:
        raise SnarkjsFileError(f"{label}: its prime is not the scalar field of {key.name} ({key.curve.name})")
    if len(w) != key.n_vars:
        raise SnarkjsFileError(f"{label}: {len(w)} values, {key.name} expects {key.n_vars}")
    if w.limbs.shape[1] != key.curve.n8r // 4:
        raise SnarkjsFileError(f"{label}: elements of {4 * w.limbs.shape[1]} bytes, expected {key.curve.n8r}")
    if w.limbs[0, 0] != 1 or w.limbs[0, 1:].any():
        raise UnsatisfiedWitnessError(f"{label}: wire 0 must be the constant 1")
    return w


class Groth16Prover:
    """A proving key loaded onto the devices, proving any number of witnesses of its circuit.

    zkey: a `ZKey`, or a `.zkey` path or bytes. r1cs: optional `R1CS` or `.r1cs` path; when given,
    every witness is checked against the constraints before proving. mesh: devices for the MSMs
    (default all). precompute: build the fixed-base window tables (see the module docstring).
    trusted_key: skip the subgroup checks of the key's points (only for a key you trust; the
    on-curve checks stay). Creating the prover validates the key's points and places the bases on
    device; proofs then reuse them.
    """

    def __init__(self, zkey: Any, *, r1cs: Any = None, mesh: Mesh | None = None, precompute: bool = False,
                 trusted_key: bool = False):
        self.precompute = precompute
        self.zkey: ZKey = load_zkey(zkey)
        key = self.zkey
        self.curve = key.curve
        self.r1cs: R1CS | None = None if r1cs is None else (r1cs if isinstance(r1cs, R1CS) else read_r1cs(r1cs))
        if self.r1cs is not None:
            self._check_r1cs_matches()
        spec = self.curve.fr.spec
        # QAP coefficients: rows of B are offset by the domain size so one segment-sum fills both.
        self._coef = jnp.asarray(np.ascontiguousarray(key.coef_value.T))
        self._col = jnp.asarray(key.coef_col.astype(np.int32))
        self._row = jnp.asarray((key.coef_row + key.coef_matrix * key.domain_size).astype(np.int32))
        self._matvec = qap.matvec_kernel(spec, 2 * key.domain_size)
        self._msm = self._load_bases(mesh, trusted_key)
        if self.r1cs is not None:
            self._r1cs_device = [(qap.coefficient_encoding(spec, m.value), jnp.asarray(m.col.astype(np.int32)),
                                  jnp.asarray(m.row.astype(np.int32))) for m in (self.r1cs.a, self.r1cs.b, self.r1cs.c)]

    def _load_bases(self, mesh: Mesh | None, trusted_key: bool) -> dict[str, FixedBaseMSM]:
        """Validates the key's points on device (`validate_key_points`) and builds the fixed-base MSM
        tables of the five base sets.

        The four G1 sets use one window size; when their tables are small (compile time dominates:
        at most SHARED_PROGRAM_ROWS entries per device) they are also padded to one size so a
        single compiled MSM program serves all four."""
        key = self.zkey
        sets = (("a", self.curve.g1), ("b1", self.curve.g1), ("b2", self.curve.g2), ("c", self.curve.g1),
                ("h", self.curve.g1))
        devices = mesh.size if mesh is not None else jax.device_count()
        points = {name: jnp.asarray(projective_limbs(group, getattr(key, name))) for name, group in sets}
        validate_key_points(key, points, trusted_key=trusted_key)
        g1 = self.curve.g1
        largest = max(-(-points[k].shape[-1] // devices) for k in ("a", "b1", "c", "h"))
        window = (fixed_base_window if self.precompute else window_bits)(largest, g1.scalar_bits)
        rows = n_windows(window, g1.scalar_bits) * largest if self.precompute else largest
        min_rows = rows if rows <= SHARED_PROGRAM_ROWS else 0
        return {name: FixedBaseMSM(group, points[name], mesh=mesh, precompute=self.precompute,
                                   **({} if group is not g1 else {"window": window, "min_rows": min_rows}))
                for name, group in sets}

    def _check_r1cs_matches(self) -> None:
        key, cs = self.zkey, self.r1cs
        problems = []
        if cs.prime != self.curve.r:
            problems.append("its prime is not the key's scalar field")
        if cs.n_wires != key.n_vars:
            problems.append(f"{cs.n_wires} wires, the key has {key.n_vars} signals")
        if cs.n_public != key.n_public:
            problems.append(f"{cs.n_public} public signals, the key has {key.n_public}")
        if cs.n_constraints + cs.n_public + 1 > key.domain_size:
            problems.append(f"{cs.n_constraints} constraints do not fit the key's domain of {key.domain_size}")
        if problems:
            raise SnarkjsFileError(f"{cs.name} does not match {key.name}: " + "; ".join(problems))

    # -- witnesses ----------------------------------------------------------------------------------

    def _witness(self, source: Any, index: int) -> Witness:
        return witness_for_key(source, self.zkey, index)

    def check_witnesses(self, witnesses: Sequence[Witness], device_witness: jnp.ndarray | None = None) -> None:
        """Raises UnsatisfiedWitnessError naming the first witness and constraint with A w * B w != C w
        (requires the prover to have been given the r1cs)."""
        if self.r1cs is None:
            raise ValueError("check_witnesses needs the circuit's r1cs")
        if device_witness is None:
            device_witness = self._stack(witnesses)
        spec = self.curve.fr.spec
        kernel = qap.matvec_kernel(spec, max(self.r1cs.n_constraints, 1))
        with x64_scope():
            a, b, c = (kernel(coef, col, row, device_witness) for coef, col, row in self._r1cs_device)
            ok = np.asarray(_product_equals(spec)(a, b, c))  # (B, n_constraints)
        if self.r1cs.n_constraints and not ok.all():
            b_idx, i = np.unravel_index(int(np.argmin(ok)), ok.shape)
            raise UnsatisfiedWitnessError(f"witness {b_idx} ({witnesses[b_idx].name}) does not satisfy constraint {i} "
                                          f"of {self.r1cs.name}")

    @staticmethod
    def _stack(witnesses: Sequence[Witness]) -> jnp.ndarray:
        """(L, B, n_vars) uint32 standard-form limbs."""
        return jnp.asarray(np.ascontiguousarray(np.stack([w.limbs for w in witnesses]).transpose(2, 0, 1)))

    # -- proving ------------------------------------------------------------------------------------

    def prove(self, witness: Any, *, blinding: tuple[int, int] | None = None) -> tuple[dict, list[str]]:
        """One proof: (snarkjs proof object, public signals as decimal strings).

        witness: a `Witness`, a `.wtns` path or bytes, or a sequence of ints. blinding: (r, s) for
        deterministic proofs in tests only; default fresh from `secrets`."""
        return self.prove_batch([witness], blinding=None if blinding is None else [blinding])[0]

    def prove_batch(self, witnesses: Sequence[Any], *, blinding: Sequence[tuple[int, int]] | None = None
                    ) -> list[tuple[dict, list[str]]]:
        """Proofs for several witnesses of this circuit: the QAP work, the five MSMs (each once over all
        proofs, sharded over the mesh) and the blinding tail run batched on device. Returns
        [(proof, public), ...]."""
        ws = [self._witness(w, i) for i, w in enumerate(witnesses)]
        if blinding is not None:
            if len(blinding) != len(ws):
                raise ValueError(f"{len(blinding)} blinding pairs for {len(ws)} witnesses")
            for pair in blinding:  # checked before any device work
                for name, v in zip(("r", "s"), pair):
                    if not isinstance(v, int) or not 0 <= v < self.curve.r:
                        raise ValueError(f"blinding {name} must be an int in [0, r)")
        if not ws:
            return []
        key = self.zkey
        device_w = self._stack(ws)
        if self.r1cs is not None:
            self.check_witnesses(ws, device_w)
        with x64_scope():
            ab = self._matvec(self._coef, self._col, self._row, device_w)  # (L, B, 2n)
        ab = ab.reshape(ab.shape[:2] + (2, key.domain_size))
        h = qap.quotient_scalars(self.curve, ab)  # (L, B, n) standard form, stays on the device
        r = self.curve.r
        blind = list(blinding) if blinding is not None else [(secrets.randbelow(r), secrets.randbelow(r)) for _ in ws]
        sums = self._msm_sums(ws, h)
        return self._assemble(ws, sums, blind)

    def _msm_sums(self, ws: Sequence[Witness], h: jax.Array) -> list[tuple]:
        """The five MSMs of every proof, affine, one (A, B1, B2, C, H) per proof: sum w_j A_j,
        sum w_j B1_j, sum w_j B2_j, sum over private j of w_j C_j, sum h_k H_k. Each of the five runs
        once over the whole batch (`FixedBaseMSM.batch`: B instances over one key's bases); h, the
        (L, B, n) quotient, is recoded where it was computed (`FixedBaseMSM.batch_limbs`)."""
        private = self.zkey.n_public + 1
        limbs = [w.limbs for w in ws]
        columns = (self._msm["h"].batch_limbs(h), self._msm["a"].batch(limbs), self._msm["b1"].batch(limbs),
                   self._msm["b2"].batch(limbs), self._msm["c"].batch([w[private:] for w in limbs]))
        return [(a, b1, b2, c, hh) for hh, a, b1, b2, c in zip(*columns)]

    def _assemble(self, ws: Sequence[Witness], sums: Sequence[tuple], blind: Sequence[tuple[int, int]]
                  ) -> list[tuple[dict, list[str]]]:
        """pi_A = A + alpha_1 + r delta_1, pi_B = B2 + beta_2 + s delta_2,
        pi_C = C + H + s pi_A + r (B1 + beta_1 + s delta_1) - r s delta_1, for every proof of the batch.
        The blinding multiples run on device, batched over the proofs in two rounds of
        `Group.scalar_mul` (constant-time kernels: no secret-dependent branches); the few additions
        run on the host (py_ecc)."""
        key, host, curve = self.zkey, host_groups(self.curve), self.curve
        g1, g2, r_order = curve.g1, curve.g2, curve.r
        n = len(ws)
        rs = [r for r, _ in blind]
        ss = [s for _, s in blind]
        round1 = _scalar_mul_affine(g1, [key.delta_1] * (3 * n), rs + ss + [(-r * s) % r_order for r, s in blind])
        s_delta_2 = _scalar_mul_affine(g2, [key.delta_2] * n, ss)
        alpha_1, beta_1, beta_2 = host.g1(key.alpha_1), host.g1(key.beta_1), host.g2(key.beta_2)
        pi_a, pib1, pi_b = [], [], []
        for b, (a, b1, b2, _, _) in enumerate(sums):
            pi_a.append(host.add(host.add(host.g1(a), alpha_1), host.g1(round1[b])))
            pib1.append(host.add(host.add(host.g1(b1), beta_1), host.g1(round1[n + b])))
            pi_b.append(host.add(host.add(host.g2(b2), beta_2), host.g2(s_delta_2[b])))
        pi_a_aff = [host.affine(p) for p in pi_a]
        round2 = _scalar_mul_affine(g1, pi_a_aff + [host.affine(p) for p in pib1], ss + rs)
        out = []
        for b, w in enumerate(ws):
            c, hh = sums[b][3], sums[b][4]
            pi_c = host.add(host.g1(c), host.g1(hh))
            for term in (round2[b], round2[n + b], round1[2 * n + b]):
                pi_c = host.add(pi_c, host.g1(term))
            proof = proof_json(self.curve, pi_a_aff[b], host.affine(pi_b[b]), host.affine(pi_c))
            out.append((proof, [str(v) for v in ints_from_limbs(w.limbs[1 : key.n_public + 1])]))
        return out


@functools.lru_cache(maxsize=None)
def _product_equals(spec):
    """jit: (a, b, c) Montgomery limbs -> a b == c elementwise (compiled once per field and shape)."""
    return jax.jit(lambda a, b, c: mont.eq(mont.mont_mul(spec, a, b), c))


def _scalar_mul_affine(group, points: Sequence[Any], scalars: Sequence[int]) -> list:
    """[k_i P_i] as affine tuples (None = infinity) for affine points P_i (None allowed), one device
    call (`Group.scalar_mul`: the C++ fixed-window kernel on CPU, the JAX ladder elsewhere)."""
    if not points:
        return []
    return group.to_affine(group.scalar_mul(jnp.asarray(group.affine_limbs(list(points))), list(scalars)))


def prove(zkey: Any, witness: Any, *, r1cs: Any = None, blinding: tuple[int, int] | None = None,
          mesh: Mesh | None = None) -> tuple[dict, list[str]]:
    """One proof: (proof, public_signals) as snarkjs writes them. Builds a one-off `Groth16Prover`
    (no window tables); keep a prover yourself to prove more witnesses of the same circuit."""
    return Groth16Prover(zkey, r1cs=r1cs, mesh=mesh, precompute=False).prove(witness, blinding=blinding)


def prove_batch(zkey: Any, witnesses: Sequence[Any], *, r1cs: Any = None, mesh: Mesh | None = None,
                precompute: bool = False) -> list[tuple[dict, list[str]]]:
    """Proofs for many witnesses of one circuit: [(proof, public_signals), ...]."""
    return Groth16Prover(zkey, r1cs=r1cs, mesh=mesh, precompute=precompute).prove_batch(witnesses)
