"""N-EVENT-REPORT command sets encoded and read by hand: the fast path's only (internals item 13).

Imported by :mod:`~dcmreport.association.internals.fast_path` alone, so
``DCMREPORT_SPEEDUPS=off`` never loads it: the plain path lets pynetdicom
build, encode and decode every command set.

A command set is a handful of group 0000 elements in Implicit VR Little Endian
(PS3.7 6.3.1, E.1), preceded by its group length. pynetdicom builds a pydicom
Dataset per message and encodes it twice (once to measure the group length),
which is much of what a report costs the listener and a batch. Here a
request's bytes are built once per kind of report, only the Message ID
changing, and a response's straight from its fields.

A response (and a listener's N-EVENT-REPORT-RQ) is read as
:data:`~dcmreport.association.common.Fields`, its elements' values by
keyword, decoded from the bytes here (:func:`read_fields`): reading each
value off pynetdicom's pydicom Dataset converts it element by element.
"""

from __future__ import annotations

import struct
from typing import Any

from dcmreport.association.common import Fields

N_EVENT_REPORT_RQ = 0x0100
N_EVENT_REPORT_RSP = 0x8100
_DATA_SET, _NO_DATA_SET = 0x0001, 0x0101  # Command Data Set Type


def _element(number: int, value: bytes) -> bytes:
    return struct.pack("<HHI", 0x0000, number, len(value)) + value


def _uid(uid: str) -> bytes:
    value = str(uid).encode("ascii")  # a checked UID: digits and dots
    return value + b"\0" * (len(value) % 2)


def _us(value: int) -> bytes:
    return struct.pack("<H", value)


def _text(value: str) -> bytes:
    encoded = value.encode("ascii", "replace")  # the default character repertoire
    return encoded + b" " * (len(encoded) % 2)


def _command_set(elements: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(_element(number, value) for number, value in sorted(elements))
    return _element(0x0000, struct.pack("<I", len(body))) + body


class ReportRequest:
    """An N-EVENT-REPORT-RQ command set (PS3.7 10.3.1), encoded once for every Message ID."""

    def __init__(self, class_uid: str, instance_uid: str, event_type_id: int, data: bool) -> None:
        encoded = _command_set(
            [
                (0x0002, _uid(class_uid)),
                (0x0100, _us(N_EVENT_REPORT_RQ)),
                (0x0110, _us(0)),  # the Message ID, filled in per message
                (0x0800, _us(_DATA_SET if data else _NO_DATA_SET)),
                (0x1000, _uid(instance_uid)),
                (0x1002, _us(event_type_id)),
            ]
        )
        at = encoded.index(struct.pack("<HHI", 0x0000, 0x0110, 2)) + 8
        self._head, self._tail = encoded[:at], encoded[at + 2 :]

    def encoded(self, message_id: int) -> bytes:
        return self._head + _us(message_id) + self._tail


def report_response(rsp: Any, data: bool) -> bytes:
    """An N-EVENT-REPORT-RSP command set (PS3.7 10.3.1) from the guards'
    :class:`~dcmreport.association.internals.guards.ReportResponse` or pynetdicom's
    primitive (the same field names)."""
    elements = [
        (0x0100, _us(N_EVENT_REPORT_RSP)),
        (0x0120, _us(int(rsp.MessageIDBeingRespondedTo))),
        (0x0800, _us(_DATA_SET if data else _NO_DATA_SET)),
        (0x0900, _us(int(rsp.Status))),
    ]
    for number, value, encode in (
        (0x0002, rsp.AffectedSOPClassUID, _uid),
        (0x1000, rsp.AffectedSOPInstanceUID, _uid),
        (0x0902, rsp.ErrorComment, _text),
        (0x0903, rsp.ErrorID, _us),
        (0x1002, rsp.EventTypeID, _us),
    ):
        if value is not None and value != "":
            elements.append((number, encode(value)))
    return _command_set(elements)


_US, _TEXT = 0, 1
# The elements of a message that dcmreport reads (PS3.7 E.1), by element number of group 0000
_READ = {
    0x0002: ("AffectedSOPClassUID", _TEXT),
    0x0100: ("CommandField", _US),
    0x0110: ("MessageID", _US),
    0x0120: ("MessageIDBeingRespondedTo", _US),
    0x0800: ("CommandDataSetType", _US),
    0x0900: ("Status", _US),
    0x0902: ("ErrorComment", _TEXT),
    0x0903: ("ErrorID", _US),
    0x1000: ("AffectedSOPInstanceUID", _TEXT),
    0x1002: ("EventTypeID", _US),
}


def read_fields(encoded: bytes) -> Fields | None:
    """The values dcmreport reads, from an Implicit VR LE command set; None when
    anything is out of the ordinary (then
    :func:`~dcmreport.association.common.dataset_fields` gives pydicom's reading)."""
    fields: Fields = {}
    at = 0
    while at < len(encoded):
        if at + 8 > len(encoded):
            return None
        group, number, length = struct.unpack_from("<HHI", encoded, at)
        value = encoded[at + 8 : at + 8 + length]
        at += 8 + length
        if group != 0 or len(value) != length:
            return None
        known = _READ.get(number)
        if known is None:
            continue
        keyword, kind = known
        if kind == _US and length not in (0, 2):
            return None  # several values: as pydicom reads them
        try:
            fields[keyword] = (
                (struct.unpack("<H", value)[0] if value else None)
                if kind == _US
                else value.decode("ascii").rstrip("\0 ")
            )
        except UnicodeDecodeError:
            return None
    return fields
