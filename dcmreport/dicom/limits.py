"""Limits on a received data set, checked on its bytes before pydicom builds anything.

pydicom decodes whatever it is given: a 6 KB report of sequences nested 300
deep decodes into 300 nested Datasets, and writing it to disk then fails with
an exception re-formatted at every level (gigabytes). A deflated data set of
130 KB inflates to 128 MB. So the listener checks the encoded bytes first:
:func:`inflate` stops at a size bound, :func:`check` walks the element
headers (never the values) and refuses excessive nesting or element counts.
Pure functions on bytes: no pynetdicom, no pydicom decoding.
"""

from __future__ import annotations

import struct
import zlib

from pydicom.datadict import dictionary_VR

from dcmreport.frozen import frozen

# VRs whose length is 4 bytes after 2 reserved bytes in Explicit VR (PS3.5 7.1.2)
LONG_VRS = {
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"SQ",
    b"UC",
    b"UN",
    b"UR",
    b"UT",
    b"SV",
    b"UV",
}
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD


@frozen
class DatasetLimits:
    """How big and how deep a received data set may be."""

    max_size: int = 64 * 1024 * 1024  # bytes, encoded (and once inflated)
    max_depth: int = 32  # sequences within sequences
    max_elements: int = 400_000  # elements and items: a 100,000-instance result fits


class LimitExceeded(ValueError):
    """The data set breaks a limit; the message says which, and holds no value."""


def inflate(data: bytes, limit: int) -> bytes:
    """Deflated Explicit VR Little Endian, inflated, refusing more than ``limit`` bytes."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise LimitExceeded(f"the deflated data set does not inflate: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise LimitExceeded(f"the deflated data set inflates to more than {limit:,} bytes")
    return out


def check(data: bytes, implicit: bool, little: bool, limits: DatasetLimits) -> None:
    """Raise LimitExceeded when ``data`` is larger, deeper or has more elements than allowed.

    Truncated or malformed encodings are left to pydicom, which reports them.
    """
    if len(data) > limits.max_size:
        raise LimitExceeded(f"the data set has {len(data):,} bytes, over {limits.max_size:,}")
    _Walker(data, implicit, "<" if little else ">", limits).dataset(0, len(data), 0)


class Budget:
    """Counts elements and items as a walk meets them, at their depth; raises past the limits.

    An element of the data set is at depth 0, an item of one of its sequences
    and that item's elements at depth 1, and so on.
    """

    def __init__(self, limits: DatasetLimits) -> None:
        self.limits = limits
        self.elements = 0

    def count(self, depth: int) -> None:
        self.elements += 1
        if self.elements > self.limits.max_elements:
            raise LimitExceeded(f"the data set has over {self.limits.max_elements:,} elements")
        if depth > self.limits.max_depth:
            raise LimitExceeded(f"the data set nests sequences over {self.limits.max_depth} deep")


class _Walker:
    """Reads element headers and recurses into sequences; skips every value."""

    def __init__(self, data: bytes, implicit: bool, order: str, limits: DatasetLimits) -> None:
        self.data = data
        self.implicit = implicit
        self.order = order
        self._count = Budget(limits).count

    def _header(self, offset: int) -> tuple[int, bool, int, int] | None:
        """(tag, is a sequence, value length, value offset), or None past the end."""
        data, order = self.data, self.order
        if offset + 8 > len(data):
            return None
        group, element = struct.unpack_from(order + "HH", data, offset)
        tag = group << 16 | element
        if tag >> 16 == 0xFFFE or self.implicit:  # items and delimiters are always implicit
            (length,) = struct.unpack_from(order + "L", data, offset + 4)
            sequence = tag >> 16 != 0xFFFE and _implicit_sequence(tag, length)
            return tag, sequence, length, offset + 8
        vr = data[offset + 4 : offset + 6]
        if vr in LONG_VRS:
            if offset + 12 > len(data):
                return None
            (length,) = struct.unpack_from(order + "L", data, offset + 8)
            return tag, vr == b"SQ" or (vr == b"UN" and length == UNDEFINED), length, offset + 12
        (length,) = struct.unpack_from(order + "H", data, offset + 6)
        return tag, False, length, offset + 8

    def dataset(self, offset: int, end: int, depth: int) -> int:
        """Walk elements from ``offset`` to ``end`` (or an item delimiter); the offset after."""
        while offset < end:
            header = self._header(offset)
            if header is None:
                return end
            tag, sequence, length, value = header
            if tag == ITEM_END:
                return value
            self._count(depth)
            if sequence:
                offset = self.sequence(value, length, depth + 1)
            elif length == UNDEFINED:
                return end  # an undefined length that is not a sequence: pydicom's to judge
            else:
                offset = value + length
        return offset

    def sequence(self, offset: int, length: int, depth: int) -> int:
        end = len(self.data) if length == UNDEFINED else min(offset + length, len(self.data))
        while offset < end:
            header = self._header(offset)
            if header is None:
                return end
            tag, _, item_length, value = header
            if tag == SEQUENCE_END:
                return value
            if tag != ITEM:
                return end  # malformed: pydicom will say so
            self._count(depth)
            item_end = end if item_length == UNDEFINED else min(value + item_length, end)
            offset = self.dataset(value, item_end, depth)
            if item_length != UNDEFINED:
                offset = item_end
        return end if length != UNDEFINED else offset


def _implicit_sequence(tag: int, length: int) -> bool:
    """In Implicit VR only the dictionary says SQ; an undefined length is a sequence too."""
    if length == UNDEFINED:
        return True
    try:
        return bool(dictionary_VR(tag) == "SQ")
    except KeyError:
        return False
