"""snarkjs Groth16 proving keys (`.zkey`, protocol id 1).

Sections (all little-endian; snarkjs 0.7.6 `zkey_utils.js` / `zkey_new.js`):

  1  u32 protocol id (1 = Groth16)
  2  u32 n8q, q, u32 n8r, r, u32 nVars, u32 nPublic, u32 domainSize, then the points
     alpha_1, beta_1 (G1), beta_2, gamma_2 (G2), delta_1 (G1), delta_2 (G2)
  3  IC: nPublic + 1 G1 points
  4  u32 nCoefs, then (u32 matrix 0 = A / 1 = B, u32 constraint, u32 signal, n8r-byte value) with the
     value stored as v R^2 mod r (R = 2^(8 n8r)); see `coef_value`
  5  A: nVars G1      6  B1: nVars G1      7  B2: nVars G2
  8  C: nVars - nPublic - 1 G1 (private signals only)
  9  H: domainSize G1, the odd-index Lagrange basis of the 2n domain divided by delta (not
     tau^i Z(tau) / delta), so the prover evaluates A*B - C on the coset shifted by the 2n-th root
  10 MPC contributions (not needed to prove; written empty by `encode_zkey`)

Points are affine, coordinates in Montgomery form (the library's own limb layout), G2 coordinates as
(c0, c1), and the point at infinity as (0, 0). Point arrays are kept raw: G1 (n, 2, Lq) and G2
(n, 2, 2, Lq) uint32 ([x, y], then [c0, c1], then limbs). The reader checks structure, sizes, index
ranges and that every coordinate is < q; curve and subgroup membership are checked on device by the
prover (`Groth16Prover`), with errors that name this file, the section, the point and the offset.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from supervm_jax.groth16.binfile import BinFile, SnarkjsFileError, SectionReader, encode_binfile, read_binfile, write_atomic
from supervm_jax.field.limbs import first_not_below, ints_from_limbs, limbs_from_ints
from supervm_jax.groth16.curves import PairingCurve, curve_from_primes

GROTH16_PROTOCOL_ID = 1
_PROTOCOLS = {1: "groth16", 2: "plonk", 10: "fflonk"}
SECTION_NAMES = {1: "header", 2: "groth16 header", 3: "IC", 4: "coefficients", 5: "A points", 6: "B1 points",
                 7: "B2 points", 8: "C points", 9: "H points", 10: "contributions"}
# The points of section 2, in file order: (name, is a G2 point).
HEADER_POINTS = (("alpha_1", False), ("beta_1", False), ("beta_2", True), ("gamma_2", True), ("delta_1", False),
                 ("delta_2", True))


@dataclasses.dataclass(frozen=True, eq=False)
class ZKey:
    """A Groth16 proving key (see the module docstring for the layout of every field).

    Affine points (`alpha_1` ... `delta_2`, `ic`) are Python ints ((c0, c1) pairs on G2, None at
    infinity). Bulk points are raw Montgomery limbs. Coefficients are parallel arrays.
    """

    curve: PairingCurve
    n_vars: int
    n_public: int
    domain_size: int
    alpha_1: Any
    beta_1: Any
    beta_2: Any
    gamma_2: Any
    delta_1: Any
    delta_2: Any
    ic: list
    coef_matrix: np.ndarray  # (nnz,) uint32, 0 = A, 1 = B
    coef_row: np.ndarray  # (nnz,) uint32 constraint index < domain_size
    coef_col: np.ndarray  # (nnz,) uint32 signal index < n_vars
    coef_value: np.ndarray  # (nnz, Lr) uint32: v R^2 mod r, i.e. the Montgomery form of v R
    a: np.ndarray  # (n_vars, 2, Lq)
    b1: np.ndarray  # (n_vars, 2, Lq)
    b2: np.ndarray  # (n_vars, 2, 2, Lq)
    c: np.ndarray  # (n_vars - n_public - 1, 2, Lq)
    h: np.ndarray  # (domain_size, 2, Lq)
    name: str = "<zkey>"
    section_offsets: dict = dataclasses.field(default_factory=dict)

    @property
    def power(self) -> int:
        return self.domain_size.bit_length() - 1

    def point_offset(self, section: int, index: int) -> int:
        """File offset (bytes) of point `index` of a point section 3, 5-9, or of section 2's header
        point `HEADER_POINTS[index]` (for error messages)."""
        n8q = self.curve.n8q
        if section == 2:
            start = 4 + n8q + 4 + self.curve.n8r + 12  # n8q, q, n8r, r, nVars, nPublic, domainSize
            return self.section_offsets.get(2, 0) + start + sum((4 if g2 else 2) * n8q for _, g2 in HEADER_POINTS[:index])
        size = 4 * n8q if section == 7 else 2 * n8q
        return self.section_offsets.get(section, 0) + index * size

    def verification_key(self) -> dict:
        """The snarkjs verification key object, as `zkey export verificationkey` writes it (same keys,
        same order, same values), `vk_alphabeta_12` = e(alpha_1, beta_2) included: one
        `supervm_jax.pairing.pairing` call on device (its first use in a process compiles)."""
        from supervm_jax.groth16.proof_json import g1_json, g2_json
        from supervm_jax.pairing import pairing  # imported here: supervm_jax.pairing imports groth16.curves

        return {
            "protocol": "groth16",
            "curve": self.curve.name,
            "nPublic": self.n_public,
            "vk_alpha_1": g1_json(self.alpha_1),
            "vk_beta_2": g2_json(self.beta_2),
            "vk_gamma_2": g2_json(self.gamma_2),
            "vk_delta_2": g2_json(self.delta_2),
            "vk_alphabeta_12": pairing(self.alpha_1, self.beta_2, curve=self.curve).to_snarkjs(),
            "IC": [g1_json(p) for p in self.ic],
        }


# -- Montgomery <-> affine ints ---------------------------------------------------------------------

def _mont_to_int(curve: PairingCurve, limbs: np.ndarray) -> list[int]:
    r_inv = pow(1 << (8 * curve.n8q), -1, curve.q)
    return [v * r_inv % curve.q for v in ints_from_limbs(limbs)]


def g1_from_raw(curve: PairingCurve, raw: np.ndarray) -> list:
    """(n, 2, Lq) raw Montgomery limbs -> affine (x, y) int tuples, None for (0, 0)."""
    raw = raw.reshape(-1, 2, raw.shape[-1])
    xs, ys = _mont_to_int(curve, raw[:, 0]), _mont_to_int(curve, raw[:, 1])
    return [None if x == 0 and y == 0 else (x, y) for x, y in zip(xs, ys)]


def g2_from_raw(curve: PairingCurve, raw: np.ndarray) -> list:
    """(n, 2, 2, Lq) raw Montgomery limbs -> affine ((x0, x1), (y0, y1)), None for all zeros."""
    raw = raw.reshape(-1, 2, 2, raw.shape[-1])
    c = [_mont_to_int(curve, raw[:, i, j]) for i in range(2) for j in range(2)]
    out = []
    for x0, x1, y0, y1 in zip(*c):
        out.append(None if not (x0 or x1 or y0 or y1) else ((x0, x1), (y0, y1)))
    return out


def g1_to_raw(curve: PairingCurve, points) -> np.ndarray:
    """Affine G1 points (None = infinity) -> (n, 2, Lq) raw Montgomery limbs."""
    R, q = 1 << (8 * curve.n8q), curve.q
    flat = []
    for p in points:
        flat += [0, 0] if p is None else [p[0] * R % q, p[1] * R % q]
    return limbs_from_ints(flat, curve.n8q).reshape(-1, 2, curve.n8q // 4)


def g2_to_raw(curve: PairingCurve, points) -> np.ndarray:
    """Affine G2 points (None = infinity) -> (n, 2, 2, Lq) raw Montgomery limbs."""
    R, q = 1 << (8 * curve.n8q), curve.q
    flat = []
    for p in points:
        flat += [0] * 4 if p is None else [p[0][0] * R % q, p[0][1] * R % q, p[1][0] * R % q, p[1][1] * R % q]
    return limbs_from_ints(flat, curve.n8q).reshape(-1, 2, 2, curve.n8q // 4)


# -- reading ------------------------------------------------------------------------------------------

def _points(f: BinFile, rd: SectionReader, curve: PairingCurve, count: int, g2: bool, what: str) -> np.ndarray:
    words = curve.n8q // 4
    per_point = (4 if g2 else 2) * words
    start = rd.offset
    limbs = rd.array("<u4", count * per_point, what).astype(np.uint32)
    shape = (count, 2, 2, words) if g2 else (count, 2, words)
    bad = first_not_below(limbs.reshape(-1, words), curve.q)
    if bad is not None:
        point = bad // (per_point // words)
        raise f.error(rd.section.id, start + point * per_point * 4, f"{what} {point}: coordinate >= q (non-canonical)")
    return limbs.reshape(shape)


def read_zkey(source: str | os.PathLike | bytes, name: str | None = None) -> ZKey:
    """Parses a Groth16 `.zkey` (path or bytes). SnarkjsFileError names the file, the section and
    the byte offset of every structural problem (wrong protocol, unknown curve, truncated or
    oversized section, index out of range, non-canonical value)."""
    f = read_binfile(source, b"zkey", 2, name)
    rd = f.reader(1, SECTION_NAMES[1])
    protocol = rd.u32("protocol id")
    if protocol != GROTH16_PROTOCOL_ID:
        raise f.error(1, rd.section.offset, f"not a Groth16 key (protocol id {protocol} = {_PROTOCOLS.get(protocol, 'unknown')})")

    rd = f.reader(2, SECTION_NAMES[2])
    n8q = rd.u32("n8q")
    q = rd.integer(n8q, "q")
    n8r = rd.u32("n8r")
    r = rd.integer(n8r, "r")
    try:
        curve = curve_from_primes(q, r)
    except ValueError as err:
        raise f.error(2, rd.section.offset, str(err)) from None
    if n8q != curve.n8q or n8r != curve.n8r:
        raise f.error(2, rd.section.offset, f"element sizes n8q = {n8q}, n8r = {n8r}; {curve.name} uses {curve.n8q}, {curve.n8r}")
    n_vars, n_public, domain_size = rd.u32("nVars"), rd.u32("nPublic"), rd.u32("domainSize")
    if n_public + 1 > n_vars:
        raise f.error(2, rd.offset - 8, f"nPublic = {n_public} does not fit in nVars = {n_vars}")
    if domain_size < 1 or domain_size & (domain_size - 1):
        raise f.error(2, rd.offset - 4, f"domainSize = {domain_size} is not a power of two")
    try:
        curve.snarkjs_root_of_unity(domain_size)
    except ValueError as err:
        raise f.error(2, rd.offset - 4, str(err)) from None
    head = {}
    for key, g2 in HEADER_POINTS:
        raw = _points(f, rd, curve, 1, g2, key)
        head[key] = (g2_from_raw if g2 else g1_from_raw)(curve, raw)[0]
    rd.expect_end()

    rd = f.reader(3, SECTION_NAMES[3])
    ic = g1_from_raw(curve, _points(f, rd, curve, n_public + 1, False, "IC point"))
    rd.expect_end()

    rd = f.reader(4, SECTION_NAMES[4])
    n_coefs = rd.u32("nCoefs")
    start = rd.offset
    words = n8r // 4
    rec = rd.array(np.dtype([("m", "<u4"), ("c", "<u4"), ("s", "<u4"), ("v", "<u4", (words,))]), n_coefs, "coefficients")
    rd.expect_end()
    matrix, row, col = (np.asarray(rec[k], np.uint32) for k in ("m", "c", "s"))
    value = np.asarray(rec["v"], np.uint32).reshape(n_coefs, words)
    rec_size = 12 + n8r
    for bad, problem in ((matrix > 1, "matrix id is not 0 (A) or 1 (B)"), (row >= domain_size, "constraint >= domainSize"),
                         (col >= n_vars, "signal >= nVars")):
        idx = np.flatnonzero(bad)
        if idx.size:
            raise f.error(4, start + int(idx[0]) * rec_size, f"coefficient {int(idx[0])}: {problem}")
    bad_value = first_not_below(value, r)
    if bad_value is not None:
        raise f.error(4, start + bad_value * rec_size + 12, f"coefficient {bad_value}: value >= r (non-canonical)")

    bulk = {}
    for sid, key, count, g2 in ((5, "a", n_vars, False), (6, "b1", n_vars, False), (7, "b2", n_vars, True),
                                (8, "c", n_vars - n_public - 1, False), (9, "h", domain_size, False)):
        rd = f.reader(sid, SECTION_NAMES[sid])
        expected = count * (4 if g2 else 2) * n8q
        if len(rd.section) != expected:
            raise f.error(sid, rd.section.offset, f"{SECTION_NAMES[sid]}: {len(rd.section)} bytes, expected {expected} "
                                                  f"({count} points)")
        bulk[key] = _points(f, rd, curve, count, g2, f"{SECTION_NAMES[sid][:-1]}")
    offsets = {sid: s.offset for sid, s in f.sections.items()}
    return ZKey(curve, n_vars, n_public, domain_size, ic=ic, coef_matrix=matrix, coef_row=row, coef_col=col,
                coef_value=value, name=f.name, section_offsets=offsets, **head, **bulk)


# -- writing ------------------------------------------------------------------------------------------

def encode_zkey(zkey: ZKey) -> bytes:
    """The `.zkey` bytes (version 1, sections 1-10, section 10 with no contributions)."""
    cv = zkey.curve
    head = b"".join([
        cv.n8q.to_bytes(4, "little"), cv.q.to_bytes(cv.n8q, "little"), cv.n8r.to_bytes(4, "little"), cv.r.to_bytes(cv.n8r, "little"),
        zkey.n_vars.to_bytes(4, "little"), zkey.n_public.to_bytes(4, "little"), zkey.domain_size.to_bytes(4, "little"),
        g1_to_raw(cv, [zkey.alpha_1, zkey.beta_1]).tobytes(), g2_to_raw(cv, [zkey.beta_2, zkey.gamma_2]).tobytes(),
        g1_to_raw(cv, [zkey.delta_1]).tobytes(), g2_to_raw(cv, [zkey.delta_2]).tobytes(),
    ])
    words = cv.n8r // 4
    rec = np.zeros(len(zkey.coef_row), np.dtype([("m", "<u4"), ("c", "<u4"), ("s", "<u4"), ("v", "<u4", (words,))]))
    rec["m"], rec["c"], rec["s"], rec["v"] = zkey.coef_matrix, zkey.coef_row, zkey.coef_col, zkey.coef_value
    coefs = len(rec).to_bytes(4, "little") + rec.tobytes()
    raw = lambda a: np.ascontiguousarray(a, "<u4").tobytes()  # noqa: E731
    sections = [(1, GROTH16_PROTOCOL_ID.to_bytes(4, "little")), (2, head), (3, g1_to_raw(cv, zkey.ic).tobytes()), (4, coefs),
                (5, raw(zkey.a)), (6, raw(zkey.b1)), (7, raw(zkey.b2)), (8, raw(zkey.c)), (9, raw(zkey.h)),
                (10, bytes(64) + bytes(4))]
    return encode_binfile(b"zkey", 1, sections)


def write_zkey(path: str | os.PathLike, zkey: ZKey) -> None:
    """Writes a `.zkey` file atomically."""
    write_atomic(path, encode_zkey(zkey))


def load_zkey(source) -> ZKey:
    """A ZKey from a ZKey, a path or bytes."""
    return source if isinstance(source, ZKey) else read_zkey(source)


__all__ = ["HEADER_POINTS", "SnarkjsFileError", "ZKey", "encode_zkey", "g1_from_raw", "g1_to_raw", "g2_from_raw",
           "g2_to_raw", "load_zkey", "read_zkey", "write_zkey"]
