"""``send-report --batch`` and ``--repeat``: the reports to send, what came back, the summary.

A batch is many reports over one association. ``--batch FILE|-`` reads one
report per JSON line (``class``, ``instance``, ``event``, ``message_id``,
``data`` in either JSON form); whatever a line leaves out comes from the
command line. Every line is read and checked before anything is sent, so a
bad line is exit 2 naming its number, with nothing sent. ``--repeat N``
sends the same report (or the whole file) N times, for load tests.

The association layer (:mod:`dcmreport.association.batch`) sends the
:class:`Item` s and hands each answer back as a :class:`Result`;
:class:`Summary` adds them up. The JSON forms are here rather than in
:mod:`dcmreport.records_json` because only a batch prints them.
"""

from __future__ import annotations

import bisect
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from pydicom import Dataset

from dcmreport.dataset import from_json_object
from dcmreport.errors import InputError
from dcmreport.records import ReportRequest, ReportResponse
from dcmreport.records_json import response_json
from dcmreport.status import SUCCESS, WARNING, category

MAX_MESSAGE_ID = 65535
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
        _line(raw, number, f"{source} line {number}")
        for number, raw in enumerate(text.splitlines(), 1)
        if raw.strip()
    ]
    if not lines:
        raise InputError(f"{source}: no reports in it", "one JSON object per line")
    return lines


def _line(raw: str, number: int, where: str) -> Line:
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


def assigned_id(first: int, offset: int) -> int:
    """The message ID ``offset`` reports after ``first``, wrapping from 65535 to 1."""
    return (first - 1 + offset) % MAX_MESSAGE_ID + 1


@dataclass(frozen=True)
class Item:
    """A report to send: its place in the batch (1, 2, ...) and its ``--batch`` line, if any."""

    index: int
    request: ReportRequest
    line: int | None = None


def repeated(items: list[Item], times: int) -> Iterator[Item]:
    """``items`` ``times`` over, counted on; each pass moves the message IDs on by ``len(items)``.

    A copy shares its request's data set: a batch encodes a data set once,
    however often it is sent.
    """
    yield from items
    for done in range(1, times):
        for position, item in enumerate(items, 1):
            request = item.request
            message_id = assigned_id(request.message_id, done * len(items))
            yield Item(
                done * len(items) + position,
                replace(request, message_id=message_id),
                item.line,
            )


@dataclass(frozen=True)
class Result:
    """An answered report: on which association (1, 2, ...) and which attempt (2+: resent)."""

    item: Item
    response: ReportResponse
    association: int
    attempt: int


def succeeded(result: Result) -> bool:
    return category(result.response.status.code) in (SUCCESS, WARNING)


@dataclass
class Summary:
    """What a batch did, added up as the answers come."""

    total: int | None = None  # reports to send, when known in advance
    sent: int = 0  # requests written, resent ones included
    resent: int = 0
    succeeded: int = 0
    failed: Counter[int] = field(default_factory=Counter)  # status code -> count
    window: int = 1  # the largest window an association allowed
    associations: int = 0
    error: str | None = None  # why the batch stopped early
    _latencies: list[float] = field(default_factory=list)  # sorted, ms
    _started: float = field(default_factory=time.perf_counter)
    _elapsed: float | None = None

    def add(self, result: Result) -> None:
        if succeeded(result):
            self.succeeded += 1
        else:
            self.failed[result.response.status.code] += 1
        bisect.insort(self._latencies, result.response.round_trip_ms)

    @property
    def answered(self) -> int:
        return self.succeeded + sum(self.failed.values())

    @property
    def unanswered(self) -> int:
        """Sent and never answered (once the batch is over: it stopped before their answer)."""
        return self.sent - self.resent - self.answered

    def finish(self) -> None:
        self._elapsed = time.perf_counter() - self._started

    @property
    def elapsed_s(self) -> float:
        return self._elapsed if self._elapsed is not None else time.perf_counter() - self._started

    def percentile(self, share: float) -> float | None:
        """The nearest-rank percentile of the round trips, in ms; None without any."""
        if not self._latencies:
            return None
        rank = max(1, round(share * len(self._latencies) + 0.5))
        return self._latencies[min(rank, len(self._latencies)) - 1]

    @property
    def reports_per_s(self) -> float:
        return self.answered / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def summary_json(summary: Summary) -> dict[str, Any]:
    """The last line of a batch's JSON output."""
    return {
        "kind": "summary",
        "sent": summary.sent,
        "succeeded": summary.succeeded,
        "failed": {f"0x{code:04X}": count for code, count in sorted(summary.failed.items())},
        "elapsed_s": round(summary.elapsed_s, 6),
        "reports_per_s": round(summary.reports_per_s, 3),
        "latency_ms": {
            "p50": _ms(summary.percentile(0.50)),
            "p90": _ms(summary.percentile(0.90)),
            "p99": _ms(summary.percentile(0.99)),
        },
        "answered": summary.answered,
        "resent": summary.resent,
        "unanswered": summary.unanswered,
        "associations": summary.associations,
        "window": summary.window,
        "error": summary.error,
    }


def result_json(result: Result) -> dict[str, Any]:
    """One answer of a batch: send-report's response fields, and where it went (the
    association's number: its details are on its own ``kind: association`` line)."""
    return {
        "kind": "response",
        "index": result.item.index,
        "line": result.item.line,
        **response_json(result.response),
        "association": result.association,
        "attempt": result.attempt,
        "resent": result.attempt > 1,
    }
