"""The iden3 binary container that every snarkjs / circom file uses (`.zkey`, `.wtns`, `.r1cs`).

Layout (all little-endian): 4-byte magic (b"zkey", b"wtns", b"r1cs"), u32 version, u32 section
count, then that many sections, each a u32 id, a u64 byte size and the bytes. Section ids may repeat
and appear in any order; readers here take the first of each id and reject a file whose declared
sizes overrun its end.

`SnarkjsFileError` is raised for every malformed file and names the file, the section and the byte
offset of the problem. Writers build the whole file in memory and replace the destination
atomically, so a failed write leaves nothing half-written.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def field_n8(prime: int) -> int:
    """n8, the bytes per element of the field modulo `prime` in every snarkjs/circom file (`.r1cs`,
    `.wtns`, `.zkey`): the prime's size rounded up to whole 64-bit words, times 8 (32 for BN254's
    Fr and Fq and BLS12-381's Fr, 48 for BLS12-381's Fq)."""
    return ((prime.bit_length() - 1) // 64 + 1) * 8


class SnarkjsFileError(ValueError):
    """A snarkjs/circom file is malformed, truncated or does not match what it is used with."""


@dataclasses.dataclass(frozen=True)
class Section:
    """One section's bytes and where they start in the file (for error messages)."""

    id: int
    offset: int
    data: memoryview

    def __len__(self) -> int:
        return len(self.data)


@dataclasses.dataclass
class BinFile:
    """A parsed container: `name` (for messages), `magic`, `version`, sections by id."""

    name: str
    magic: bytes
    version: int
    sections: dict[int, Section]

    def error(self, section: int | None, offset: int, problem: str) -> SnarkjsFileError:
        """An error naming this file, the section and the absolute byte offset."""
        where = f"section {section}, " if section is not None else ""
        return SnarkjsFileError(f"{self.name}: {where}byte {offset}: {problem}")

    def section(self, sid: int, what: str) -> Section:
        """The section `sid`; SnarkjsFileError naming `what` it should hold if it is absent."""
        if sid not in self.sections:
            raise SnarkjsFileError(f"{self.name}: missing section {sid} ({what})")
        return self.sections[sid]

    def reader(self, sid: int, what: str) -> "SectionReader":
        return SectionReader(self, self.section(sid, what))


class SectionReader:
    """Sequential little-endian reads inside one section, with bounds checks that name the offset."""

    def __init__(self, file: BinFile, section: Section):
        self.file, self.section, self.pos = file, section, 0

    def _take(self, size: int, what: str) -> memoryview:
        if size < 0 or self.pos + size > len(self.section):
            raise self.file.error(self.section.id, self.section.offset + self.pos,
                                  f"truncated: {what} needs {size} bytes, {len(self.section) - self.pos} left")
        out = self.section.data[self.pos : self.pos + size]
        self.pos += size
        return out

    def u32(self, what: str) -> int:
        return struct.unpack("<I", self._take(4, what))[0]

    def u64(self, what: str) -> int:
        return struct.unpack("<Q", self._take(8, what))[0]

    def integer(self, n_bytes: int, what: str) -> int:
        return int.from_bytes(self._take(n_bytes, what), "little")

    def field_prime(self) -> tuple[int, int]:
        """(n8, prime): a u32 element size in bytes (a positive multiple of 8), then the prime."""
        start = self.offset
        n8 = self.u32("n8")
        if n8 == 0 or n8 % 8:
            raise self.file.error(self.section.id, start, f"field element size n8 = {n8} is not a positive multiple of 8")
        return n8, self.integer(n8, "prime")

    def array(self, dtype: str | np.dtype, count: int, what: str) -> np.ndarray:
        """`count` items of a numpy dtype (a read-only view of the file's bytes)."""
        dt = np.dtype(dtype)
        return np.frombuffer(self._take(dt.itemsize * count, what), dtype=dt, count=count)

    @property
    def offset(self) -> int:
        """Absolute file offset of the next byte."""
        return self.section.offset + self.pos

    def expect_end(self) -> None:
        if self.pos != len(self.section):
            raise self.file.error(self.section.id, self.offset,
                                  f"{len(self.section) - self.pos} unexpected trailing bytes")


def read_binfile(source: str | os.PathLike | bytes, magic: bytes, max_version: int, name: str | None = None) -> BinFile:
    """Parses a container from a path or from bytes; checks magic, version and section bounds."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = memoryview(bytes(source)), name or f"<{magic.decode()} bytes>"
    else:
        path = Path(source)
        name = name or str(path)
        try:
            data = memoryview(path.read_bytes())
        except OSError as err:
            raise SnarkjsFileError(f"{name}: cannot read: {err.strerror}") from None
    if len(data) < 12:
        raise SnarkjsFileError(f"{name}: byte 0: truncated header ({len(data)} bytes, a {magic.decode()} file needs 12)")
    if bytes(data[:4]) != magic:
        raise SnarkjsFileError(f"{name}: byte 0: not a {magic.decode()} file (magic {bytes(data[:4])!r})")
    version, n_sections = struct.unpack("<II", data[4:12])
    if not 1 <= version <= max_version:
        raise SnarkjsFileError(f"{name}: byte 4: unsupported {magic.decode()} version {version} (supported: 1..{max_version})")
    sections: dict[int, Section] = {}
    pos = 12
    for k in range(n_sections):
        if pos + 12 > len(data):
            raise SnarkjsFileError(f"{name}: byte {pos}: truncated header of section #{k} (file ends at {len(data)})")
        sid, size = struct.unpack("<IQ", data[pos : pos + 12])
        start = pos + 12
        if start + size > len(data):
            raise SnarkjsFileError(f"{name}: section {sid}, byte {start}: truncated: declares {size} bytes, "
                                   f"{len(data) - start} left in the file")
        sections.setdefault(sid, Section(sid, start, data[start : start + size]))
        pos = start + size
    if pos != len(data):
        raise SnarkjsFileError(f"{name}: byte {pos}: {len(data) - pos} trailing bytes after {n_sections} sections")
    return BinFile(name, magic, version, sections)


def encode_binfile(magic: bytes, version: int, sections: Sequence[tuple[int, bytes]]) -> bytes:
    """The bytes of a container holding `sections` [(id, payload), ...] in the given order."""
    parts = [magic, struct.pack("<II", version, len(sections))]
    for sid, payload in sections:
        parts += [struct.pack("<IQ", sid, len(payload)), bytes(payload)]
    return b"".join(parts)


def write_atomic(path: str | os.PathLike, data: bytes | str) -> None:
    """Writes `data` to `path` through a temporary file in the same directory and an atomic rename:
    readers see the old file or the whole new one, never a partial write."""
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def le_bytes(values: Sequence[int], width: int) -> bytes:
    """Python ints -> concatenated little-endian fixed-width encodings."""
    return b"".join(int(v).to_bytes(width, "little") for v in values)
