"""circom/snarkjs witness files (`.wtns`, version 2).

Section 1: u32 n8, the prime r (n8 bytes), u32 witness count. Section 2: the values, n8 bytes each,
little-endian, standard (not Montgomery) form. Wire 0 is the constant 1; wires 1..nPublic are the
public signals (outputs, then public inputs).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from supervm_jax.groth16.binfile import SnarkjsFileError, encode_binfile, field_n8, read_binfile, write_atomic
from supervm_jax.field.limbs import first_not_below, ints_from_limbs, limbs_from_ints, limbs_from_le_bytes


@dataclasses.dataclass(frozen=True)
class Witness:
    """A full circuit assignment: `prime` r and `limbs`, (n, n8 / 4) uint32, standard form, each < r."""

    prime: int
    limbs: np.ndarray
    name: str = "<witness>"

    def __len__(self) -> int:
        return self.limbs.shape[0]

    def values(self) -> list[int]:
        """The assignment as Python ints."""
        return ints_from_limbs(self.limbs)

    @classmethod
    def from_ints(cls, values: Sequence[int], prime: int, name: str = "<witness>") -> "Witness":
        """A witness from Python ints; ValueError naming the first value not in [0, prime)."""
        values = list(values)
        for i, v in enumerate(values):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 0 <= v < prime:
                raise ValueError(f"{name}: witness value {i} = {v!r} is not an int in [0, r)")
        return cls(prime, limbs_from_ints(values, field_n8(prime)), name)


def read_wtns(source: str | os.PathLike | bytes, name: str | None = None) -> Witness:
    """Parses a `.wtns` file (path or bytes). SnarkjsFileError names the file, section and offset of
    a malformed header, a count that does not match the data, or a value >= r."""
    f = read_binfile(source, b"wtns", 2, name)
    head = f.reader(1, "header")
    n8, prime = head.field_prime()
    count = head.u32("witness count")
    head.expect_end()
    data = f.section(2, "witness values")
    if len(data) != count * n8:
        raise f.error(2, data.offset, f"holds {len(data)} bytes, the header declares {count} values of {n8} bytes")
    limbs = limbs_from_le_bytes(data.data, count, n8)
    bad = first_not_below(limbs, prime)
    if bad is not None:
        raise f.error(2, data.offset + bad * n8, f"witness value {bad} is >= the prime (non-canonical)")
    return Witness(prime, limbs, f.name)


def encode_wtns(witness: Witness) -> bytes:
    """The `.wtns` (version 2) bytes of a witness."""
    n8 = 4 * witness.limbs.shape[1]
    head = n8.to_bytes(4, "little") + witness.prime.to_bytes(n8, "little") + len(witness).to_bytes(4, "little")
    return encode_binfile(b"wtns", 2, [(1, head), (2, np.ascontiguousarray(witness.limbs, "<u4").tobytes())])


def write_wtns(path: str | os.PathLike, witness: Witness) -> None:
    """Writes a `.wtns` file atomically."""
    write_atomic(path, encode_wtns(witness))


def load_witness(source, prime: int | None = None) -> Witness:
    """A Witness from a Witness, a `.wtns` path or bytes, or a sequence of ints (then `prime` is needed)."""
    if isinstance(source, Witness):
        return source
    if isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
        return read_wtns(source)
    if prime is None:
        raise TypeError("a witness given as ints needs the field prime")
    return Witness.from_ints(source, prime)


__all__ = ["SnarkjsFileError", "Witness", "encode_wtns", "load_witness", "read_wtns", "write_wtns"]
