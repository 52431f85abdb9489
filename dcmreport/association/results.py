"""Where a storage commitment result arrives: on the request's association, or a new one.

PS3.4 J.3.3: the PACS sends its N-EVENT-REPORT on the association of the
N-ACTION if that is still open, else it opens a new one to the AE title it
was called by, proposing the SCP role; the modality must accept both. Both
ways end in one :class:`ResultInbox`: it answers every report Success (the
receiver of a report has nothing else to say about it), keeps the first
report of each Transaction UID it expects with the time it came, and tells
the waiter. A report of another transaction is answered, shown and ignored.

On a new association the inbox is an ordinary :class:`Listener` handler,
which accepts role selection proposals already; on the request's own
association :func:`serve_reports` routes the peer's N-EVENT-REPORT-RQs to
it through :func:`internals.serve_requests`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.presentation import PresentationContext

from dcmreport.association import internals
from dcmreport.association.common import Settings
from dcmreport.association.listener import Listener, ListenOptions, received_report
from dcmreport.catalog import STORAGE_COMMITMENT
from dcmreport.limits import DatasetLimits
from dcmreport.records import Answer, ReceivedReport, ReportRecord, ResponseStatus

LOG = logging.getLogger("dcmreport")


@dataclass(frozen=True)
class Arrival:
    """A report of an expected transaction and when it came (``time.monotonic``)."""

    report: ReceivedReport
    at: float
    same_association: bool  # on the request's association, not a new one


class ResultInbox:
    """Answers reports Success and keeps the first one of each expected Transaction UID.

    ``ignored`` is told, in a line, of every other report: another
    transaction's, another class's, a second one for the same transaction.
    """

    def __init__(self, ignored: Callable[[str], None]) -> None:
        self._ignored = ignored
        self._expected: set[str] = set()
        self._arrived: dict[str, Arrival] = {}
        self._changed = threading.Condition()

    def expect(self, transaction_uid: str) -> None:
        """Before its request goes out: a fast PACS may report before the N-ACTION-RSP."""
        with self._changed:
            self._expected.add(transaction_uid)

    def decide(self, report: ReceivedReport) -> ReportRecord:
        return ReportRecord(report, Answer(ResponseStatus(0x0000)))  # Success

    def finish(self, record: ReportRecord, same_association: bool = False) -> None:
        """Keep the report if it is an expected result; the answer has gone out (or not)."""
        report, now = record.report, time.monotonic()
        uid = _transaction_uid(report)
        if record.delivery is not None and not record.delivery.sent:
            LOG.warning("the answer to the report was not sent: %s", record.delivery.reason)
        with self._changed:
            why = self._why_ignored(report, uid)
            if why is None and uid is not None:
                self._arrived[uid] = Arrival(report, now, same_association)
                self._changed.notify_all()
        if why is not None:
            self._ignored(
                f"answered and ignored a report from {sender(report, same_association)}, "
                f"event {report.event_type_id}: {why}"
            )

    def _why_ignored(self, report: ReceivedReport, uid: str | None) -> str | None:
        if report.sop_class_uid != STORAGE_COMMITMENT:
            return f"not a storage commitment result (SOP Class {report.sop_class_uid})"
        if report.problem:
            return report.problem
        if uid is None:
            return "no Transaction UID"
        if uid not in self._expected:
            return f"Transaction UID {uid} is not one of this request's"
        if uid in self._arrived:
            return f"a second result for Transaction UID {uid}"
        return None

    def wait(self, transaction_uids: list[str], deadline: float) -> None:
        """Until each of them has its report, or ``deadline`` (``time.monotonic``) passes."""
        with self._changed:
            while not all(uid in self._arrived for uid in transaction_uids):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._changed.wait(remaining)

    def arrival(self, transaction_uid: str) -> Arrival | None:
        with self._changed:
            return self._arrived.get(transaction_uid)


def sender(report: ReceivedReport, same_association: bool) -> str:
    """``AET (address:port)`` of the peer that sent the report: on our own association, the
    one we called."""
    info = report.association
    return f"{info.called_aet if same_association else info.calling_aet} ({info.peer_address})"


def _transaction_uid(report: ReceivedReport) -> str | None:
    value = report.dataset.get("TransactionUID") if report.dataset is not None else None
    return str(value) if value else None


def serve_reports(assoc: Association, inbox: ResultInbox, sending: threading.Lock) -> None:
    """Answer the peer's N-EVENT-REPORTs on our own (requesting) association through ``inbox``.

    ``sending`` is held by whoever puts a message on the association, so that
    a response never interleaves with a request going out from another thread.
    """
    tracker = internals.DeliveryTracker(assoc)
    limits = DatasetLimits()

    def serve(assoc: Association, req: N_EVENT_REPORT, context: PresentationContext) -> None:
        record = inbox.decide(received_report(assoc, req, context, limits))
        assert record.answer is not None
        rsp = internals.report_response(req, record.answer.status.code, None, True)
        with sending:
            delivery = internals.send_response(assoc, tracker, rsp, int(context.context_id or 0))
        inbox.finish(replace(record, delivery=delivery), same_association=True)

    internals.serve_requests(assoc, serve)


@dataclass(frozen=True)
class NewAssociations:
    """Where the PACS may open a new association to report: our AE title, address and port."""

    settings: Settings
    options: ListenOptions


@contextmanager
def accepting(where: NewAssociations | None, inbox: ResultInbox) -> Iterator[int | None]:
    """Accept results on new associations while inside, giving the port bound (None: not asked).

    Started before the request goes out, so a PACS that reports at once finds it.
    """
    if where is None:
        yield None
        return
    listener = Listener(where.settings, where.options, inbox)
    listener.start()
    try:
        yield listener.port
    finally:
        listener.stop(grace=2.0)
