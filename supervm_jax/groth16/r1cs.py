"""circom constraint systems (`.r1cs`, version 1).

Section 1 (header): u32 n8, prime r (n8 bytes), u32 nWires, u32 nPubOut, u32 nPubIn, u32 nPrvIn,
u64 nLabels, u32 nConstraints. Section 2: per constraint three linear combinations A, B, C, each a
u32 term count then (u32 wire, n8-byte coefficient) terms, standard form, little-endian. Section 3:
nWires u64 label ids. Other sections (custom gates) are ignored.

The constraint i reads <A_i, w> * <B_i, w> = <C_i, w> over F_r. Each matrix is kept in coordinate
form (`SparseMatrix`): parallel arrays of constraint index, wire index and coefficient limbs.
"""

from __future__ import annotations

import dataclasses
import os
import struct

import numpy as np

from supervm_jax.groth16.binfile import SnarkjsFileError, encode_binfile, field_n8, read_binfile, write_atomic
from supervm_jax.field.limbs import first_not_below, limbs_from_ints


@dataclasses.dataclass(frozen=True)
class SparseMatrix:
    """Coordinate form: `row` (nnz,) uint32 constraint ids, `col` (nnz,) uint32 wire ids, `value`
    (nnz, n8 / 4) uint32 coefficient limbs (standard form, < r)."""

    row: np.ndarray
    col: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return self.row.shape[0]


@dataclasses.dataclass(frozen=True)
class R1CS:
    """A rank-1 constraint system as circom writes it (see the module docstring)."""

    prime: int
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    n_labels: int
    n_constraints: int
    a: SparseMatrix
    b: SparseMatrix
    c: SparseMatrix
    name: str = "<r1cs>"

    @property
    def n_public(self) -> int:
        """Public signals: outputs then public inputs (wires 1..n_public)."""
        return self.n_pub_out + self.n_pub_in


def read_r1cs(source: str | os.PathLike | bytes, name: str | None = None) -> R1CS:
    """Parses a `.r1cs` file (path or bytes). SnarkjsFileError names the file, section and offset of
    any truncation, wire index out of range or non-canonical coefficient."""
    f = read_binfile(source, b"r1cs", 1, name)
    head = f.reader(1, "header")
    n8, prime = head.field_prime()
    n_wires, n_pub_out, n_pub_in, n_prv_in = (head.u32(w) for w in ("nWires", "nPubOut", "nPubIn", "nPrvIn"))
    n_labels = head.u64("nLabels")
    n_constraints = head.u32("nConstraints")
    head.expect_end()
    if 1 + n_pub_out + n_pub_in + n_prv_in > n_wires:
        raise f.error(1, head.section.offset, f"{n_wires} wires cannot hold 1 + {n_pub_out} + {n_pub_in} + {n_prv_in} signals")

    body = f.section(2, "constraints")
    data = body.data
    term = 4 + n8
    starts, counts, rows, mats = [], [], [], []
    pos = 0
    unpack = struct.Struct("<I").unpack_from
    for i in range(n_constraints):
        for m in range(3):
            if pos + 4 > len(data):
                raise f.error(2, body.offset + pos, f"truncated in constraint {i}")
            (k,) = unpack(data, pos)
            pos += 4
            if pos + k * term > len(data):
                raise f.error(2, body.offset + pos, f"truncated in constraint {i}: {k} terms do not fit")
            starts.append(pos), counts.append(k), rows.append(i), mats.append(m)
            pos += k * term
    if pos != len(data):
        raise f.error(2, body.offset + pos, f"{len(data) - pos} trailing bytes after {n_constraints} constraints")

    counts_a = np.asarray(counts, np.int64)
    offsets = np.repeat(np.asarray(starts, np.int64), counts_a)
    within = np.arange(offsets.size, dtype=np.int64) - np.repeat(np.cumsum(counts_a) - counts_a, counts_a)
    offsets += within * term
    raw = np.frombuffer(data, np.uint8)[offsets[:, None] + np.arange(term)]
    wires = raw[:, :4].copy().view("<u4")[:, 0].astype(np.uint32)
    values = np.ascontiguousarray(raw[:, 4:]).view("<u4").astype(np.uint32)
    row_of_term = np.repeat(np.asarray(rows, np.uint32), counts_a)
    mat_of_term = np.repeat(np.asarray(mats, np.uint8), counts_a)

    bad = np.flatnonzero(wires >= n_wires)
    if bad.size:
        j = int(bad[0])
        raise f.error(2, body.offset + int(offsets[j]), f"constraint {int(row_of_term[j])} uses wire {int(wires[j])} >= nWires {n_wires}")
    bad_value = first_not_below(values, prime)
    if bad_value is not None:
        raise f.error(2, body.offset + int(offsets[bad_value]) + 4,
                      f"coefficient in constraint {int(row_of_term[bad_value])} is >= the prime (non-canonical)")
    mats_out = [SparseMatrix(row_of_term[mat_of_term == m], wires[mat_of_term == m], values[mat_of_term == m]) for m in range(3)]
    return R1CS(prime, n_wires, n_pub_out, n_pub_in, n_prv_in, n_labels, n_constraints, *mats_out, name=f.name)


def encode_r1cs(r1cs: R1CS) -> bytes:
    """The `.r1cs` (version 1) bytes of a constraint system (label ids = wire ids)."""
    n8 = 4 * r1cs.a.value.shape[1] if len(r1cs.a) else field_n8(r1cs.prime)
    head = (struct.pack("<I", n8) + r1cs.prime.to_bytes(n8, "little")
            + struct.pack("<IIIIQI", r1cs.n_wires, r1cs.n_pub_out, r1cs.n_pub_in, r1cs.n_prv_in, r1cs.n_labels, r1cs.n_constraints))
    per_row = []
    for mat in (r1cs.a, r1cs.b, r1cs.c):
        order = np.argsort(mat.row, kind="stable")
        rows = mat.row[order]
        terms = np.zeros(len(mat), np.dtype([("wire", "<u4"), ("value", "<u4", (n8 // 4,))]))
        terms["wire"], terms["value"] = mat.col[order], mat.value[order]
        bounds = np.searchsorted(rows, np.arange(r1cs.n_constraints + 1))
        per_row.append((terms.tobytes(), bounds, terms.itemsize))
    parts = []
    for i in range(r1cs.n_constraints):
        for raw, bounds, size in per_row:
            lo, hi = int(bounds[i]), int(bounds[i + 1])
            parts.append(struct.pack("<I", hi - lo) + raw[lo * size : hi * size])
    labels = np.arange(r1cs.n_wires, dtype="<u8").tobytes()
    return encode_binfile(b"r1cs", 1, [(1, head), (2, b"".join(parts)), (3, labels)])


def write_r1cs(path: str | os.PathLike, r1cs: R1CS) -> None:
    """Writes a `.r1cs` file atomically."""
    write_atomic(path, encode_r1cs(r1cs))


def sparse_from_terms(terms, n8: int) -> SparseMatrix:
    """[(constraint, wire, value int), ...] -> SparseMatrix (values must already be reduced)."""
    terms = list(terms)
    row = np.asarray([t[0] for t in terms], np.uint32)
    col = np.asarray([t[1] for t in terms], np.uint32)
    value = limbs_from_ints([t[2] for t in terms], n8) if terms else np.zeros((0, n8 // 4), np.uint32)
    return SparseMatrix(row, col, value)


__all__ = ["R1CS", "SnarkjsFileError", "SparseMatrix", "encode_r1cs", "read_r1cs", "sparse_from_terms", "write_r1cs"]
