"""Byte encodings of curve points (host side; Python ints for the few field operations needed).

Two conventions, chosen by `curve.encoding`:

* "zcash" (BLS12-381 G1/G2; the ZCash / IETF / Ethereum consensus format): coordinates big-endian,
  48 bytes per Fq, an Fq2 element as c1 || c0. The three top bits of the first byte are flags:
  0x80 compressed, 0x40 point at infinity, 0x20 (compressed only) y is the lexicographically
  larger root. Uncompressed = x || y (96 / 192 bytes), compressed = x with flags (48 / 96 bytes).
* "plain" (BN254, secp256k1; the EIP-196/197 precompile format): x || y big-endian, Fq2 as c1 || c0,
  the identity as all zero bytes. No compressed form.

`from_bytes` rejects, with a ValueError naming the index: wrong length or flags, a coordinate >= p,
an x with no square root (compressed), a point off the curve, and (default subgroup_check=True) a
point outside the prime-order subgroup.
"""

from __future__ import annotations

import jax
import numpy as np

from supervm_jax.curve.weierstrass import ShortWeierstrass


def point_size(curve: ShortWeierstrass, compressed: bool = False) -> int:
    """Bytes per encoded point."""
    fe = curve.coords.byte_length // curve.coords.degree * curve.coords.degree
    if compressed:
        if curve.encoding != "zcash":
            raise ValueError(f"{curve.name}: no compressed encoding (only BLS12-381 has one here)")
        return fe
    return 2 * fe


def _fe_to_bytes(curve: ShortWeierstrass, v) -> bytes:
    w = curve.coords.byte_length // curve.coords.degree
    if curve.coords.degree == 1:
        return v.to_bytes(w, "big")
    return v[1].to_bytes(w, "big") + v[0].to_bytes(w, "big")


def _fe_from_bytes(curve: ShortWeierstrass, data: bytes, index: int):
    w = curve.coords.byte_length // curve.coords.degree
    p = curve.coords.modulus
    parts = [int.from_bytes(data[k : k + w], "big") for k in range(0, len(data), w)]
    if any(c >= p for c in parts):
        raise ValueError(f"{curve.name}: point {index} has a coordinate >= p")
    return parts[0] if curve.coords.degree == 1 else (parts[1], parts[0])


def to_bytes(curve: ShortWeierstrass, P: jax.Array, compressed: bool = False) -> np.ndarray:
    """(3, *elem_shape, n) points -> (n, point_size) uint8 encodings."""
    size = point_size(curve, compressed)
    host = curve.coords.host_ops()
    rows = []
    for pt in curve.to_affine(P):
        if pt is None:
            raw = bytearray(size)
            if curve.encoding == "zcash":
                raw[0] = 0xC0 if compressed else 0x40
            rows.append(bytes(raw))
            continue
        x, y = pt
        if compressed:
            raw = bytearray(_fe_to_bytes(curve, x))
            raw[0] |= 0x80 | (0x20 if host.is_lex_largest(y) else 0)
            rows.append(bytes(raw))
        else:
            rows.append(_fe_to_bytes(curve, x) + _fe_to_bytes(curve, y))
    return np.frombuffer(b"".join(rows), np.uint8).reshape(len(rows), size).copy()


def from_bytes(curve: ShortWeierstrass, data, compressed: bool = False, subgroup_check: bool = True) -> jax.Array:
    """(n, point_size) uint8 (or a list of bytes) -> (3, *elem_shape, n) device points, validated."""
    size = point_size(curve, compressed)
    rows = [bytes(r) for r in (np.asarray(data, np.uint8) if not isinstance(data, list) else data)]
    host = curve.coords.host_ops()
    half = size if compressed else size // 2
    points = []
    for i, raw in enumerate(rows):
        if len(raw) != size:
            raise ValueError(f"{curve.name}: point {i} has {len(raw)} bytes, expected {size}")
        if curve.encoding == "zcash":
            flags = raw[0] & 0xE0
            body = bytes([raw[0] & 0x1F]) + raw[1:]
            if bool(flags & 0x80) != compressed:
                raise ValueError(f"{curve.name}: point {i} has compression flag {bool(flags & 0x80)}, expected {compressed}")
            if flags & 0x40:
                if flags & 0x20 or any(body):
                    raise ValueError(f"{curve.name}: point {i} is a malformed point at infinity")
                points.append(None)
                continue
            if flags & 0x20 and not compressed:
                raise ValueError(f"{curve.name}: point {i} has the sign flag set in uncompressed form")
        else:
            body = raw
            if not any(body):
                points.append(None)
                continue
        x = _fe_from_bytes(curve, body[:half], i)
        if compressed:
            rhs = host.add(host.mul(host.mul(x, x), x), curve.b)
            y = host.sqrt(rhs)
            if y is None:
                raise ValueError(f"{curve.name}: point {i}: x is not the abscissa of a curve point")
            if host.is_lex_largest(y) != bool(flags & 0x20):
                y = host.neg(y)
            points.append((x, y))
        else:
            points.append((x, _fe_from_bytes(curve, body[half:], i)))
    return curve.from_affine(points, subgroup_check=subgroup_check)
