"""``send-report --batch FILE|-``: the reports of a batch file, one JSON object per line.

A line has ``class``, ``instance``, ``event``, ``message_id`` and ``data`` (in
either JSON form); whatever it leaves out comes from the command line. Every
line is read and checked before anything is sent, so a bad line is exit 2
naming its number, with nothing sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydicom import Dataset

from dcmreport.dicom.dataset import from_json_object
from dcmreport.dicom.records import MAX_MESSAGE_ID
from dcmreport.errors import InputError

_KEYS = ("class", "instance", "event", "message_id", "data")


@dataclass(frozen=True)
class Line:
    """One report of a ``--batch`` file as written; None where the line leaves it out."""

    number: int
    sop_class: str | None = None
    instance: str | None = None
    event: str | None = None
    message_id: int | None = None
    data: Dataset | None = None


def read_lines(text: str, source: str) -> list[Line]:
    """Every report of a ``--batch`` input; blank lines are skipped. Raises on the first bad one."""
    lines = [
        line
        for number, raw in enumerate(text.splitlines(), 1)
        if (line := parse_line(raw, number, f"{source} line {number}")) is not None
    ]
    if not lines:
        raise InputError(f"{source}: no reports in it", "one JSON object per line")
    return lines


def parse_line(raw: str, number: int, where: str) -> Line | None:
    """One line (``where`` names it in errors); None for a blank one. ``listen
    --ups-events`` reads its lines with it too."""
    if not raw.strip():
        return None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    unknown = sorted(set(doc) - set(_KEYS))
    if unknown:
        raise InputError(
            f"{where}: unknown key {unknown[0]!r}", f"a line may have {', '.join(_KEYS)}"
        )
    data = doc.get("data")
    if data is not None and not isinstance(data, dict):
        raise InputError(f"{where}: data must be a JSON object (DICOM JSON model or keywords)")
    return Line(
        number,
        _text(doc, "class", where),
        _text(doc, "instance", where),
        _text(doc, "event", where, numbers=True),
        _message_id(doc.get("message_id"), where),
        from_json_object(data, where) if data is not None else None,
    )


def _text(doc: dict[str, Any], key: str, where: str, numbers: bool = False) -> str | None:
    value = doc.get(key)
    if value is None or isinstance(value, str):
        return value
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InputError(f"{where}: {key} must be a string, not {json.dumps(value)}")


def _message_id(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MESSAGE_ID:
        raise InputError(f"{where}: message_id must be an integer from 1 to {MAX_MESSAGE_ID}")
    return value
