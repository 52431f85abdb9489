"""Storage commitment, the modality side (``commit``): request, then wait for the result.

Built on both sides of the association layer: the requestor sends the
N-ACTION (Action Type 1) and keeps its association open; the result may come
on it, or on a new association that the PACS opens to a listener started
here first (PS3.4 J.3.3: the PACS reports on the N-ACTION's association if
that is still open, else it opens a new one to the AE title it was called
by, proposing the SCP role; the modality must accept both). Both ways end in
one :class:`ResultInbox`: it answers every report Success (the receiver of a
report has nothing else to say about it), keeps the first report of each
Transaction UID it expects with the time it came, and tells the waiter. A
report of another transaction is answered, shown and ignored. The N-ACTION-RSP
and the result are then judged against the request (:mod:`dcmreport.dicom.judge`);
when no result comes, :func:`no_result` says what did come and what the PACS
must know.

On a new association the inbox is an ordinary :class:`Listener` handler,
which accepts role selection proposals already; on the request's own
association :func:`serve_reports` routes the peer's N-EVENT-REPORT-RQs to
it through the guards' :func:`~dcmreport.association.internals.guards.serve_requests`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from pydicom import Dataset
from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.presentation import PresentationContext

from dcmreport.association.common import (
    Fields,
    Settings,
    association_info,
    dataset_fields,
    word_order,
)
from dcmreport.association.internals import guards
from dcmreport.association.listener import Listener, ListenOptions, received_report
from dcmreport.association.requestor import (
    Opened,
    associate,
    check_response,
    context_for,
    lost_response,
    response_status,
)
from dcmreport.dicom import judge
from dcmreport.dicom.address import Peer
from dcmreport.dicom.catalog import (
    EXPLICIT_VR_BE,
    STORAGE_COMMITMENT,
    STORAGE_COMMITMENT_INSTANCE,
)
from dcmreport.dicom.limits import DatasetLimits
from dcmreport.dicom.records import (
    Answer,
    AssociationInfo,
    CommitRequest,
    CommitResult,
    Finding,
    ReceivedReport,
    ReportRecord,
    ResponseStatus,
    Role,
)
from dcmreport.dicom.status import SUCCESS, WARNING, category
from dcmreport.errors import AssociationError, InputError
from dcmreport.frozen import frozen

LOG = logging.getLogger("dcmreport")

N_ACTION_RSP = 0x8130
REQUEST_STORAGE_COMMITMENT = 1  # the Action Type ID (PS3.4 J.3.2.1)


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

    def __init__(self, ignored: Callable[[str], None], result_aet: str | None = None) -> None:
        """``result_aet``: the AE title results on a new association are accepted as."""
        self._ignored = ignored
        self.result_aet = result_aet
        self._expected: set[str] = set()
        self._arrived: dict[str, Arrival] = {}
        self._reports = {True: 0, False: 0}  # reports answered, by same_association
        self._changed = threading.Condition()
        self.own_host: str | None = None  # our address on the request's association

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
            self._reports[same_association] += 1
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

    def reports(self, same_association: bool) -> int:
        """Reports answered on the request's association (True) or on new ones, any kind."""
        with self._changed:
            return self._reports[same_association]


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
    tracker = guards.DeliveryTracker(assoc)
    limits = DatasetLimits()

    def serve(assoc: Association, req: N_EVENT_REPORT, context: PresentationContext) -> None:
        record = inbox.decide(received_report(assoc, req, context, limits))
        assert record.answer is not None
        rsp = guards.report_response(req, record.answer.status.code, None, True)
        with sending:
            delivery = guards.send_response(assoc, tracker, rsp, int(context.context_id or 0))
        inbox.finish(replace(record, delivery=delivery), same_association=True)

    guards.serve_requests(assoc, serve)


@dataclass(frozen=True)
class NewAssociations:
    """Where the PACS may open a new association to report: our AE title, address and port."""

    settings: Settings
    options: ListenOptions


@dataclass(frozen=True)
class Accepting:
    """The listener of :func:`accepting` while it runs: the port it bound and who came."""

    port: int
    listener: Listener

    def arrivals(self) -> tuple[int, str | None]:
        return self.listener.arrivals


@contextmanager
def accepting(where: NewAssociations | None, inbox: ResultInbox) -> Iterator[Accepting | None]:
    """Accept results on new associations while inside (None: not asked).

    Started before the request goes out, so a PACS that reports at once finds it.
    """
    if where is None:
        yield None
        return
    listener = Listener(where.settings, where.options, inbox)
    listener.start()
    try:
        yield Accepting(listener.port, listener)
    finally:
        listener.stop(grace=2.0)


_ANY_ADDRESS = ("", "0.0.0.0", "::", "::0")


def no_result(
    missing: list[str],
    timeout: float,
    inbox: ResultInbox,
    where: NewAssociations | None,
    result_port: Accepting | None,
    our_aet: str,
) -> tuple[str, str | None]:
    """Why no result came for ``missing``, as far as this side can tell, and what to check.

    The PACS reports on a new association to the AE title that called it, at the
    address its own configuration gives that title (PS3.4 J.3.3.1.2, note 2): so
    the hint names our AE title, the host the PACS saw us call from, and the port.
    When something did arrive (a report of another transaction, an association on
    the port) it says so instead, and does not blame the port.
    """
    message = (
        f"no storage commitment result within {timeout:g} s (--timeout) for Transaction UID "
        f"{', '.join(missing)}"
    )
    came = _what_came(inbox, result_port)
    if came:
        message += "; " + "; ".join(came)
    if result_port is not None and result_port.arrivals()[0]:
        return message, "run with -v to see each association and report"
    if result_port is None and inbox.reports(same_association=True):
        return message, None
    bind = where.options.bind if where is not None else ""
    host = bind if bind not in _ANY_ADDRESS else inbox.own_host or "this host"
    if result_port is None:
        return message, (
            f"a PACS that reports on a new association calls back {our_aet} (the AE title the "
            f"N-ACTION came from) at the host and port it has for {our_aet}: give that port "
            f"with --port, and check that the PACS has {our_aet} at {host}:PORT"
        )
    result_aet = where.settings.ae_title if where is not None else our_aet
    also = f" (or {result_aet}, if it reports to --result-aet)" if result_aet != our_aet else ""
    return message, (
        f"the PACS reports to the AE title that called it: it must know {our_aet}{also} at "
        f"{host}:{result_port.port} (PS3.4 J.3.3)"
    )


def _what_came(inbox: ResultInbox, result_port: Accepting | None) -> list[str]:
    came = []
    same = inbox.reports(same_association=True)
    if same:
        came.append(f"{same} report(s) came on the request's association, none of them its result")
    if result_port is not None:
        count, last = result_port.arrivals()
        if not count:
            came.append(f"no association came to port {result_port.port}")
        else:
            new = inbox.reports(same_association=False)
            came.append(
                f"{count} association(s) came to port {result_port.port} (the last from "
                f"{last}) with {new} report(s), none of them its result"
            )
    return came


# --- the request and its result --------------------------------------------------------------


class Received:
    """Every command set received on the association, in order (pynetdicom hides them).

    The response to a request is the first response after it went out: the
    sender holds the association meanwhile, so that is what pynetdicom took as
    its response (the guards serve a request it takes instead). A report of
    the PACS may come in between, and is a request, not the answer.
    """

    def __init__(self) -> None:
        self._commands: list[Dataset] = []
        self._lock = threading.Lock()

    def __call__(self, event: evt.Event) -> None:
        with self._lock:
            self._commands.append(event.message.command_set)

    def count(self) -> int:
        with self._lock:
            return len(self._commands)

    def response_after(self, index: int) -> Dataset | None:
        """The first response (Command Field with bit 15 set, PS3.7 E.1) from ``index`` on."""
        with self._lock:
            for command in self._commands[index:]:
                if int(command.get("CommandField", 0)) & 0x8000:
                    return command
            return None


@frozen
class _Sent:
    """A request that went out: its N-ACTION-RSP status and when it was sent (monotonic)."""

    request: CommitRequest
    status: ResponseStatus
    at: float
    findings: tuple[Finding, ...]  # where its N-ACTION-RSP breaks PS3.7 10.1.4.1


def request_commitment(
    peer: Peer,
    settings: Settings,
    requests: list[CommitRequest],
    inbox: ResultInbox,
    timeout: float,
) -> list[CommitResult]:
    """Send each request (N-ACTION), then wait up to ``timeout`` for each one's result.

    The association stays open while waiting, so a PACS that reports on it
    can (its N-EVENT-REPORTs are answered through ``inbox``); results that
    come on a new association reach ``inbox`` through its listener. A request
    answered with a Failure status is not waited for.
    """
    received = Received()
    sending = threading.Lock()
    contexts = [(STORAGE_COMMITMENT, Role.NONE)]
    with associate(peer, settings, contexts, [(evt.EVT_DIMSE_RECV, received)]) as opened:
        info = association_info(opened.assoc)
        inbox.own_host = str(opened.assoc.requestor.address)  # as the PACS sees us
        context = context_for(opened.assoc, STORAGE_COMMITMENT)
        serve_reports(opened.assoc, inbox, sending)
        sent = []
        for request in requests:
            inbox.expect(request.transaction_uid)
            with sending:
                sent.append(_send_action(opened, peer, settings, context, request, received))
        waited = [s.request.transaction_uid for s in sent if _accepted(s.status)]
        if waited:
            inbox.wait(waited, max(s.at for s in sent) + timeout)
    return [_result(s, info, inbox) for s in sent]


def action_response(
    opened: Opened, peer: Peer, settings: Settings, received: Received, after: int, message_id: int
) -> Fields:
    """The N-ACTION-RSP to ``message_id``: the first response received after command
    ``after``. Another message's response aborts the association; none is exit 3 too."""
    received_set = received.response_after(after)
    command = dataset_fields(received_set) if received_set is not None else None
    problem = check_response(command, N_ACTION_RSP, message_id) if command is not None else None
    if problem:
        if opened.assoc.is_established:
            opened.assoc.abort()
        raise AssociationError(f"{peer}: {problem}; aborted the association")
    if command is None or "Status" not in command:
        raise lost_response(opened, peer, "N-ACTION", settings)
    return command


def _accepted(status: ResponseStatus) -> bool:
    return category(status.code) in (SUCCESS, WARNING)


def _send_action(
    opened: Opened,
    peer: Peer,
    settings: Settings,
    context: PresentationContext,
    request: CommitRequest,
    received: Received,
) -> _Sent:
    """One N-ACTION-RQ, Action Type ID 1 on the well-known instance, and its checked status."""
    assoc = opened.assoc
    big_endian = context.transfer_syntax[0] == EXPLICIT_VR_BE
    before, start = received.count(), time.monotonic()
    try:
        guards.send_action_request(
            assoc,
            word_order(request.dataset, big_endian),
            REQUEST_STORAGE_COMMITMENT,
            STORAGE_COMMITMENT,
            STORAGE_COMMITMENT_INSTANCE,
            msg_id=request.message_id,
        )
    except ValueError as exc:  # the data set cannot be encoded in the transfer syntax
        raise InputError(f"cannot encode the Action Information: {exc}") from None
    command = action_response(opened, peer, settings, received, before, request.message_id)
    findings = judge.action_response_findings(command, REQUEST_STORAGE_COMMITMENT)
    return _Sent(request, response_status(command), start, findings)


def _result(sent: _Sent, info: AssociationInfo, inbox: ResultInbox) -> CommitResult:
    """The transaction as it ended: the result judged against its request (dicom/judge.py)."""
    arrival = inbox.arrival(sent.request.transaction_uid)
    if arrival is None:
        return CommitResult(sent.request, info, sent.status, findings=sent.findings)
    ours = tuple(dict.fromkeys(t for t in (info.calling_aet, inbox.result_aet) if t))
    judged = judge.result_findings(sent.request, arrival.report, arrival.same_association, ours)
    return CommitResult(
        sent.request,
        info,
        sent.status,
        report=arrival.report,
        same_association=arrival.same_association,
        committed=judged.committed,
        failed=judged.failed,
        elapsed_ms=(arrival.at - sent.at) * 1000,
        findings=sent.findings + judged.findings,
    )
