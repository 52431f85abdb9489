"""A received data set, decoded in one pass over its bytes, as pydicom's reader decodes it.

The speed trick ``one-pass-decoder`` (:mod:`dcmreport.speedups`; the caller,
``association.common.decode_data_set``, asks whether it is on). pydicom reads
a data set lazily, then converts each element on first access through its
hooks, and each sequence by reading its bytes again: for a storage
commitment report with many items that is where the listener spends its
time before it can answer (the listener converts everything at once, so that
a malformed data set is answered 0x0110 rather than found while showing it).
This module reads the bytes once: it counts elements and depth against the
limits (:class:`dcmreport.dicom.limits.Budget`) as it goes, builds each sequence
and item itself, converts the plain text VRs (UI, CS, AE, AS, DA, DT, TM)
with pydicom's own converters, and leaves every other element to pydicom as
the raw element pydicom's reader makes, converted at once by the Dataset
(so pydicom's rules, types and errors stay pydicom's).

It decodes only what it can decode exactly as pydicom does: Little Endian,
non-private elements of known VRs in tag order, lengths within their item and
sequence, items and delimiters where they belong, no Specific Character Set,
no ambiguous VR. Anything else raises :class:`Irregular` at once, before it
is built, and the caller decodes with pydicom's reader as before, so that an
irregular or malformed data set gets the same answer it always got.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, cast

from pydicom import Dataset, config
from pydicom.charset import default_encoding
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement, empty_value_for_VR
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import UID
from pydicom.valuerep import VR
from pydicom.values import converters, multi_string

from dcmreport import speedups
from dcmreport.dicom.dataset import is_valid_uid
from dcmreport.dicom.limits import (
    ITEM,
    ITEM_END,
    LONG_VRS,
    SEQUENCE_END,
    UNDEFINED,
    Budget,
    DatasetLimits,
    LimitExceeded,
)

_HEADER = struct.Struct("<HHL")  # tag and a 4-byte length (Implicit VR, items, delimiters)
_SHORT = struct.Struct("<H")  # the 2-byte length of most Explicit VR elements
_LONG = struct.Struct("<L")
_VRS = {vr.value.encode() for vr in VR}
_SPECIFIC_CHARACTER_SET = 0x00080005
Convert = Callable[[bytes, bool], Any]
# Text VRs whose values pydicom decodes without the character set: its converters, called
# as its reader would call them.
_PYDICOM_TEXT: dict[str, Convert] = {
    vr: cast(Convert, converters[VR(vr)]) for vr in ("AE", "AS", "CS", "DA", "DT", "TM", "UI")
}


def _ui(value: bytes, little: bool) -> Any:
    """pydicom's ``convert_UI``, its check of each UID made by :func:`is_valid_uid` (the
    trick ``uid-check``): pydicom checks, and warns, only about an invalid one."""
    return multi_string(value.decode(default_encoding).rstrip("\0 "), _uid)


def _uid(text: str) -> UID:
    return UID(text, validation_mode=config.IGNORE) if is_valid_uid(text) else UID(text)


_WITH_UID_CHECK: dict[str, Convert] = {**_PYDICOM_TEXT, "UI": _ui}


class Irregular(Exception):
    """Not decodable here exactly as pydicom would: pydicom's reader must judge it."""


def decode(data: bytes, implicit: bool, little: bool, limits: DatasetLimits) -> Dataset:
    """Every element of ``data`` decoded; LimitExceeded past the limits, Irregular (before
    anything large is built) for what only pydicom's reader may decide."""
    if len(data) > limits.max_size:
        raise LimitExceeded(f"the data set has {len(data):,} bytes, over {limits.max_size:,}")
    if not little:
        raise Irregular("big endian")
    text = _WITH_UID_CHECK if speedups.enabled("uid-check") else _PYDICOM_TEXT
    reader = _Reader(data, implicit, Budget(limits), text)
    if implicit and len(data) >= 6 and 0x40 < data[4] < 0x5B and 0x40 < data[5] < 0x5B:
        raise Irregular("looks like Explicit VR")  # pydicom's reader would switch to it
    ds, _ = reader.dataset(0, len(data), 0, delimited=False)
    return ds


class _Reader:
    def __init__(
        self, data: bytes, implicit: bool, budget: Budget, text: dict[str, Convert]
    ) -> None:
        self.data = data
        self.implicit = implicit
        self.count = budget.count
        self.text = text  # the converters of the plain text VRs

    def dataset(self, offset: int, end: int, depth: int, delimited: bool) -> tuple[Dataset, int]:
        """The elements from ``offset`` to ``end`` (or to an item delimiter when
        ``delimited``); the dataset and the offset after it."""
        data, header, text_vrs = self.data, _HEADER, self.text
        elements: dict[BaseTag, Any] = {}
        raw: list[BaseTag] = []
        previous = -1
        while True:
            if offset == end and not delimited:
                break
            if offset + 8 > end:
                raise Irregular("an element header past the end")
            group, element, length = header.unpack_from(data, offset)
            tag = group << 16 | element
            if tag == ITEM_END and delimited:
                if length:
                    raise Irregular("an item delimiter with a length")
                offset += 8
                break
            if group == 0xFFFE or tag <= previous or tag == _SPECIFIC_CHARACTER_SET:
                raise Irregular("a delimiter, an element out of order or a character set")
            previous = tag
            self.count(depth)
            vr, length, offset = self._vr_and_length(tag, offset, length, end)
            key = BaseTag(tag)
            if vr == "SQ":
                sequence, after = self.sequence(offset, length, end, depth + 1)
                elements[key] = DataElement(
                    key, "SQ", sequence, offset, length == UNDEFINED, already_converted=True
                )
                offset = after
                continue
            if length == UNDEFINED or offset + length > end:
                raise Irregular("an undefined length, or a value past the end")
            value = data[offset : offset + length]
            text = None if group & 1 or vr is None else text_vrs.get(vr)  # private: pydicom's
            if text is not None and vr is not None:
                converted = text(value, True) if length else empty_value_for_VR(vr)
                elements[key] = DataElement(key, vr, converted, offset, already_converted=True)
            else:
                elements[key] = RawDataElement(
                    key, None if self.implicit else vr, length, value, offset, self.implicit, True
                )
                raw.append(key)
            offset += length
        ds = Dataset(elements)
        ds.set_original_encoding(self.implicit, True, default_encoding)  # as pydicom's reader
        for key in raw:
            ds[key]  # pydicom converts a raw element on access, by its own rules
        return ds, offset

    def _vr_and_length(
        self, tag: int, offset: int, length: int, end: int
    ) -> tuple[str | None, int, int]:
        """The element's VR (None: pydicom's to find), value length and value offset."""
        if self.implicit:
            return _implicit_vr(tag, length), length, offset + 8
        vr = self.data[offset + 4 : offset + 6]
        if vr not in _VRS:
            raise Irregular("not a VR")
        if vr in LONG_VRS:
            if offset + 12 > end:
                raise Irregular("an element header past the end")
            return vr.decode(), _LONG.unpack_from(self.data, offset + 8)[0], offset + 12
        return vr.decode(), _SHORT.unpack_from(self.data, offset + 6)[0], offset + 8

    def sequence(self, offset: int, length: int, end: int, depth: int) -> tuple[Sequence, int]:
        """The items of a sequence's value at ``offset``; the sequence and the offset after."""
        delimited = length == UNDEFINED
        if not delimited:
            if offset + length > end:
                raise Irregular("a sequence past the end")
            end = offset + length
        items = []
        while True:
            if offset == end and not delimited:
                break
            if offset + 8 > end:
                raise Irregular("an item header past the end")
            group, element, item_length = _HEADER.unpack_from(self.data, offset)
            tag = group << 16 | element
            if tag == SEQUENCE_END and delimited and not item_length:
                offset += 8
                break
            if tag != ITEM:
                raise Irregular("not an item")
            self.count(depth)
            offset += 8
            if item_length == UNDEFINED:
                item, offset = self.dataset(offset, end, depth, delimited=True)
            elif offset + item_length > end:
                raise Irregular("an item past the end")
            else:
                item, offset = self.dataset(offset, offset + item_length, depth, delimited=False)
            item.is_undefined_length_sequence_item = item_length == UNDEFINED
            items.append(item)
        sequence = Sequence(items)
        sequence.is_undefined_length = delimited
        return sequence, offset


def _implicit_vr(tag: int, length: int) -> str | None:
    """The dictionary's VR of an Implicit VR element; None (pydicom's to find) for a tag
    it does not know, whose length must then be defined."""
    try:
        vr: str = dictionary_VR(tag)
    except KeyError:
        if length == UNDEFINED:
            raise Irregular("an unknown element of undefined length") from None
        return None
    if " or " in vr:
        raise Irregular("an ambiguous VR")  # pydicom corrects it from its surroundings
    if length == UNDEFINED and vr != "SQ":
        raise Irregular("an undefined length that is not a sequence")
    return vr
