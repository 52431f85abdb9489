"""What ``watch`` does with each UPS event report: what ``listen`` does, then its stop condition.

The reports are decided, kept, answered, recorded and shown by the same
:class:`~dcmreport.listen.handler.ListenHandler` as ``listen``'s (same
records, ``--output-dir``, ``--exec`` and JSON lines; each judged against the
catalog's Annex CC content). :class:`Watching` sits in front of it and counts
what was answered: ``--count`` reports, the ``--until-state`` of the watched
instance (a UPS State Report whose Procedure Step State is that state), and
whether one broke the standard (findings: exit 7).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from dcmreport.dicom import ups
from dcmreport.dicom.records import ReceivedReport, ReportRecord
from dcmreport.listen.handler import ListenHandler


@dataclass(frozen=True)
class StopWhen:
    """``watch``'s stop conditions; None: not asked."""

    count: int | None = None
    state: str | None = None  # the Procedure Step State of ``instance`` that ends the watch
    instance: str | None = None


class Watching:
    """The listener's handler for ``watch``: ``listen``'s, and the stop condition."""

    def __init__(self, handler: ListenHandler, stop: StopWhen) -> None:
        self._handler = handler
        self._stop = stop
        self._answered = 0
        self._broken = 0
        self._state: str | None = None
        self._changed = threading.Condition()

    def decide(self, report: ReceivedReport) -> ReportRecord:
        return self._handler.decide(report)

    def finish(self, record: ReportRecord) -> None:
        """Recorded and shown as by ``listen``; then counted, if its answer went out."""
        self._handler.finish(record)
        report = record.report
        with self._changed:
            if record.delivery is None or record.delivery.sent:
                self._answered += 1
            self._broken += bool(record.findings)
            if (
                report.sop_class_uid == ups.UPS_PUSH
                and report.event_type_id == ups.STATE_REPORT
                and report.sop_instance_uid == self._stop.instance
                and report.dataset is not None
            ):
                self._state = str(report.dataset.get("ProcedureStepState", "") or "")
            self._changed.notify_all()

    def done(self) -> bool:
        """Whether ``--count`` reports were answered, or the instance reached ``--until-state``."""
        with self._changed:
            stop = self._stop
            if stop.count is not None and self._answered >= stop.count:
                return True
            return stop.state is not None and self._state == stop.state

    @property
    def broken(self) -> int:
        """Reports that broke the standard (their findings were shown)."""
        with self._changed:
            return self._broken

    @property
    def answered(self) -> int:
        with self._changed:
            return self._answered

    @property
    def state(self) -> str | None:
        """The watched instance's last reported Procedure Step State."""
        with self._changed:
            return self._state
