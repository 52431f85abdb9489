"""The listening side: accept associations, answer C-ECHO, serve N-EVENT-REPORT of any class.

Each report flows one way: received (decoded, never trusted) → decided by the
handler (which keeps it first when asked) → answered → the handler learns
whether the answer was written before the association ended, all in the
thread that serves it (the association's own on the fast path, one of
pynetdicom's per report on the plain path); then recorded and shown, in the
order answered, by a recorder of that association (:class:`InOrder`), so
that the association goes on (reads the next request, or the peer's
A-RELEASE-RQ) while a large report's record is built. ``--count`` counts answers that went out, not
answers that were merely decided.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from io import BytesIO
from typing import Any, Protocol, cast

from pydicom import Dataset
from pynetdicom import build_context, evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_CANCEL, C_ECHO, N_ACTION, N_EVENT_REPORT
from pynetdicom.dsutils import encode
from pynetdicom.pdu_primitives import A_ASSOCIATE, AsynchronousOperationsWindowNegotiation
from pynetdicom.presentation import PresentationContext

from dcmreport.association import budget, internals, tls
from dcmreport.association.admission import Admission, SlotLimits
from dcmreport.association.budget import InFlight, MemoryBudget
from dcmreport.association.common import (
    Settings,
    association_info,
    decode_data_set,
    log_negotiation,
    make_ae,
    word_order,
)
from dcmreport.association.internals import guards
from dcmreport.dicom import catalog
from dcmreport.dicom.catalog import (
    EXPLICIT_VR_BE,
    IMPLICIT_VR_LE,
    VERIFICATION,
)
from dcmreport.dicom.limits import DatasetLimits, LimitExceeded
from dcmreport.dicom.records import (
    Answer,
    AssociationInfo,
    Delivery,
    MessageKind,
    ReceivedReport,
    ReportRecord,
    ResponseStatus,
)
from dcmreport.dicom.status import PROCESSING_FAILURE, SUCCESS, WARNING, Status, category
from dcmreport.errors import InputError

LOG = logging.getLogger("dcmreport")
RESOURCE_LIMITATION = 0x0213


class ReportHandler(Protocol):
    """What the listener needs from whoever decides, keeps and shows reports."""

    def decide(self, report: ReceivedReport) -> ReportRecord:
        """The record with its answer decided (and kept on disk first, when asked)."""

    def finish(self, record: ReportRecord) -> None:
        """The record with its delivery known: complete what was kept, show it."""


class ActionService(Protocol):
    """An N-ACTION the listener serves besides its reports (storage commitment's request).

    Its request is received, decided by the :class:`ReportHandler`, answered
    and recorded as a report is; then :meth:`answered` may start more work
    (a result to deliver) with ``background``, which the listener counts as
    in flight until it ends, so that a stop waits for it.
    """

    def serves(self, req: N_ACTION, context: PresentationContext) -> bool:
        """Whether this N-ACTION, on this presentation context, is one this service serves."""

    def answered(self, assoc: Association, record: ReportRecord, background: Background) -> None:
        """The request was answered and recorded (``record.delivery`` says whether the
        answer went out); runs in the association's recorder."""


# Runs ``work`` in a thread of its own, counted as in flight; False when too many run already.
Background = Callable[[str, Callable[[], None]], bool]
MAX_BACKGROUND_WORK = 64  # e.g. storage commitment results waiting for their delay, at once


@dataclass(frozen=True)
class ListenOptions:
    """How the listener accepts associations, and whom it refuses."""

    port: int = 11112
    bind: str = "0.0.0.0"
    require_called_aet: bool = False  # else 1/1/7 called AE title not recognized
    allowed_calling_aets: tuple[str, ...] = ()  # if any: others get 1/1/3
    accept_classes: tuple[str, ...] = ()  # if any: other abstract syntaxes are not accepted
    own_transfer_syntax_order: bool = False  # prefer ours over the requestor's order
    slots: SlotLimits = field(default_factory=SlotLimits)  # connections held, and how long
    reject: tuple[int, int, int] | None = None  # reject every association with this
    dataset_limits: DatasetLimits = field(default_factory=DatasetLimits)
    pdu_timeout: float = 10.0  # a whole PDU must arrive within this, however it trickles
    memory_budget: int = 256 * 1024 * 1024  # data sets in flight, all associations (budget.py)
    async_ops: int = 1  # operations performed at once granted to a window proposal (1: none)


def _supported_contexts(
    proposed: list[PresentationContext],
    transfer_syntaxes: tuple[str, ...],
    options: ListenOptions,
) -> list[PresentationContext]:
    """An acceptor context for every proposed abstract syntax we accept, answering role selection.

    pynetdicom accepts the first transfer syntax of the acceptor's list that
    was proposed; by default the list is put in the requestor's order (the
    reference server takes the first proposed), with ``-x`` in ours. An
    abstract syntax proposed in several contexts gets one acceptor context
    with every transfer syntax we support of all of them (pynetdicom keys its
    acceptor contexts by abstract syntax), so each proposal is judged on its own.
    """
    accepted = (*options.accept_classes, VERIFICATION)  # C-ECHO is always answered
    offered: dict[str, list[str]] = {}
    for cx in proposed:
        if options.accept_classes and cx.abstract_syntax not in accepted:
            continue  # rejected: abstract syntax not supported
        syntaxes = offered.setdefault(str(cx.abstract_syntax), [])
        syntaxes += [ts for ts in cx.transfer_syntax if ts not in syntaxes]
    contexts = []
    for abstract_syntax, syntaxes in offered.items():
        if options.own_transfer_syntax_order:
            ours = [ts for ts in transfer_syntaxes if ts in syntaxes]
        else:
            ours = [ts for ts in syntaxes if ts in transfer_syntaxes]
        try:
            supported = build_context(abstract_syntax, ours or [IMPLICIT_VR_LE])
        except ValueError:
            continue  # not a valid UID: the context is rejected
        supported.scu_role = True
        supported.scp_role = True
        if not ours:
            supported.transfer_syntax = []  # rejected: transfer syntaxes not supported
        contexts.append(supported)
    return contexts


# Each association's facts, built once at its first report: negotiation is over by then, so
# they do not change.
_INFO: weakref.WeakKeyDictionary[Association, AssociationInfo] = weakref.WeakKeyDictionary()


def _established_info(assoc: Association) -> AssociationInfo:
    info = _INFO.get(assoc)
    if info is None:
        info = _INFO[assoc] = association_info(assoc)
    return info


def _data_set(req: N_EVENT_REPORT | N_ACTION) -> BytesIO | None:
    """A request's data set as received: Action or Event Information."""
    return req.ActionInformation if isinstance(req, N_ACTION) else req.EventInformation


def _buffer(req: N_EVENT_REPORT | N_ACTION) -> InFlight | None:
    """A request's data set buffer, if it was paid for from the memory budget."""
    raw = _data_set(req)
    return raw if isinstance(raw, InFlight) else None


def received_report(
    assoc: Association, req: Any, context: PresentationContext, limits: DatasetLimits
) -> ReceivedReport:
    """What the peer sent (an N-EVENT-REPORT-RQ, or an N-ACTION-RQ of storage commitment);
    a data set that does not decode becomes a ``problem``, not an error."""
    action = isinstance(req, N_ACTION)
    what = "Action Information" if action else "Event Information"
    decoded, problem, problem_status = None, None, PROCESSING_FAILURE
    try:
        raw = _data_set(req)
        if isinstance(raw, InFlight) and raw.refused:
            raise LimitExceeded(
                "the data sets in flight would pass the memory budget (--memory-budget)"
            )
        decoded = decode_data_set(raw, context, limits)
    except LimitExceeded as exc:  # PS3.7: not performed due to resource limitation
        problem, problem_status = f"refused the {what}: {exc}", RESOURCE_LIMITATION
    except Exception as exc:  # a peer may send anything; answer rather than abort
        problem = f"cannot decode the {what}: {type(exc).__name__}"
    kind_id = req.ActionTypeID if action else req.EventTypeID  # an action is no event
    type_id = int(kind_id) if kind_id is not None else None
    return ReceivedReport(
        association=_established_info(assoc),
        context_id=int(context.context_id or 0),
        transfer_syntax=str(context.transfer_syntax[0]),
        message_id=int(req.MessageID) if req.MessageID is not None else None,
        sop_class_uid=str((req.RequestedSOPClassUID if action else req.AffectedSOPClassUID) or ""),
        sop_instance_uid=str(
            (req.RequestedSOPInstanceUID if action else req.AffectedSOPInstanceUID) or ""
        ),
        event_type_id=None if action else type_id,
        dataset=decoded[0] if decoded else None,
        problem=problem,
        problem_status=problem_status,
        context_class_uid=str(context.abstract_syntax),
        kind=MessageKind.N_ACTION if action else MessageKind.N_EVENT_REPORT,
        action_type_id=type_id if action else None,
        encoded=decoded[1] if decoded else None,
    )


# How long an association's recorder waits for its next record before its thread ends:
# reports back to back reuse one thread, an association gone idle holds none for long.
_RECORDER_LINGER = 1.0
# Records of one association waiting to be written and shown, at most: beyond, a report
# waits for room before it is answered, so a peer sending faster than its reports can be
# recorded is held back instead of filling memory (on either path: the plain path serves
# each report in a thread of pynetdicom's, which holding back the next read would not stop).
MAX_WAITING_RECORDS = 4


class _Place:
    """A task's place in line, taken before the task is known."""

    __slots__ = ("task",)

    def __init__(self) -> None:
        self.task: Callable[[], None] | None = None


def _nothing() -> None:
    """The task of a place whose report was given up."""


class InOrder:
    """Runs tasks one at a time, in the order their places were taken, in a thread of its own.

    A place is taken (:meth:`reserve`) before a report is answered and filled
    with its task after, so records keep the order of the answers even when
    each report is served in a thread of its own (pynetdicom's, on the plain
    path), whichever thread gets there first. The thread starts with the
    first task and ends once no task came for :data:`_RECORDER_LINGER`
    seconds and no place is waiting for one; the next task starts another. A
    reserve waits while :data:`MAX_WAITING_RECORDS` places are waiting
    already. A task that raises is one log line, and the tasks after it still
    run.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks: deque[_Place] = deque()
        self._changed = threading.Condition()
        self._running = False

    def reserve(self) -> _Place:
        """A place in line; every place must be filled (:meth:`fill`), or the line stops."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._tasks) < MAX_WAITING_RECORDS)
            place = _Place()
            self._tasks.append(place)
            return place

    def fill(self, place: _Place, task: Callable[[], None]) -> None:
        with self._changed:
            place.task = task
            self._changed.notify_all()
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._run, name=self._name, daemon=True).start()

    def submit(self, task: Callable[[], None]) -> None:
        self.fill(self.reserve(), task)

    def _head_ready(self) -> bool:
        return bool(self._tasks) and self._tasks[0].task is not None

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._changed.wait_for(self._head_ready, _RECORDER_LINGER):
                    if self._tasks:
                        continue  # a place is taken: its task is on its way
                    self._running = False
                    return
                task = self._tasks.popleft().task
                self._changed.notify_all()  # room for a waiting reserve
            if task is None:  # pragma: no cover - _head_ready said it is there
                continue
            try:
                task()
            except Exception as exc:  # a thread of ours: say it, never a traceback
                LOG.error("%s: %s", self._name, type(exc).__name__)
                LOG.debug("details", exc_info=True)
            # Let the record go now, not when the next task comes (up to _RECORDER_LINGER
            # later): its data set's share of the memory budget was given back as it landed.
            task = None


def _grant_window(assoc: Association, most: int) -> None:
    """``--async-ops N``: answer an Asynchronous Operations Window proposal (PS3.7 D.3.3.3)
    with up to N operations performed at once, never more than the requestor invokes (0:
    any). The requests are still served one after another, in order (on the fast path by
    the association's thread; on the plain path pynetdicom's); what the window saves is the
    sender's wait for each answer before its next request. Without the option, or without a
    proposal, no item is answered: one at a time, as PS3.7 says then."""
    invoked, _ = assoc.requestor.asynchronous_operations
    if most <= 1 or invoked == 1:
        return
    item = AsynchronousOperationsWindowNegotiation()
    item.maximum_number_operations_invoked = 1  # the listener invokes nothing asynchronously
    item.maximum_number_operations_performed = most if invoked == 0 else min(most, invoked)
    assoc.acceptor.add_negotiation_item(item)


def _succeeded(answer: Answer | None) -> bool:
    return answer is not None and category(answer.status.code) in (SUCCESS, WARNING)


# What a request the listener does not serve is answered (never an abort, never 0x0110):
# DIMSE-C services are refused for their SOP Class (0x0122, PS3.7 C.5), DIMSE-N operations
# as not agreed between the users (0x0211, PS3.7 C.5.10).
SOP_CLASS_NOT_SUPPORTED = 0x0122
UNRECOGNIZED_OPERATION = 0x0211


def _refusal_status(req: Any) -> int:
    return SOP_CLASS_NOT_SUPPORTED if req.msg_type.startswith("C-") else UNRECOGNIZED_OPERATION


def _refusal(req: Any, status: int) -> Any:
    """The response of the request's own type, with its IDs and the refusal."""
    rsp = type(req)()
    rsp.MessageIDBeingRespondedTo = req.MessageID if req.MessageID is not None else 0
    sop_class = getattr(req, "AffectedSOPClassUID", None) or getattr(
        req, "RequestedSOPClassUID", None
    )
    if sop_class:
        rsp.AffectedSOPClassUID = sop_class
    rsp.Status = status
    return rsp


def _log_refused_action(assoc: Association, record: ReportRecord) -> None:
    """One line per N-ACTION refused with a status, as for every request refused (see
    ``_serve_other``): who, the status and why (the problem, else the Error Comment)."""
    answer, report = record.answer, record.report
    if answer is None or answer.abort or _succeeded(answer):
        return
    LOG.warning(
        "refused N-ACTION from %s (%s, Action Type %s): 0x%04X %s: %s",
        _who(assoc),
        report.sop_class_uid,
        "absent" if report.action_type_id is None else report.action_type_id,
        answer.status.code,
        Status(answer.status.code).meaning,
        report.problem or answer.status.error_comment or "",
    )


def _action_response(req: N_ACTION, answer: Answer) -> N_ACTION:
    """The N-ACTION-RSP: Action Type ID only with Success or Warning (PS3.7 10.1.4.1)."""
    rsp = N_ACTION()
    rsp.MessageIDBeingRespondedTo = req.MessageID if req.MessageID is not None else 0
    rsp.AffectedSOPClassUID = req.RequestedSOPClassUID
    rsp.AffectedSOPInstanceUID = req.RequestedSOPInstanceUID
    if _succeeded(answer):
        rsp.ActionTypeID = req.ActionTypeID
    rsp.Status = answer.status.code
    if answer.status.error_comment:
        rsp.ErrorComment = answer.status.error_comment[:64]  # type: ignore[assignment]
    return rsp


def _response(
    req: N_EVENT_REPORT, context: PresentationContext, answer: Answer
) -> guards.ReportResponse:
    """The N-EVENT-REPORT-RSP: Event Type ID and Event Reply only with Success or Warning.

    PS3.7 10.1.1.1: the Event Reply travels only in a success response, and
    the Event Type ID "shall be included if the Event Reply is included".
    """
    status = answer.status
    succeeded = category(status.code) in (SUCCESS, WARNING)
    reply = None
    if succeeded and answer.event_reply is not None:
        ts = context.transfer_syntax[0]
        ds = cast(Dataset, word_order(answer.event_reply, ts == EXPLICIT_VR_BE))
        reply = encode(ds, ts.is_implicit_VR, ts.is_little_endian, ts.is_deflated)
        if reply is None:
            LOG.error("cannot encode the Event Reply; answering 0x0110 instead")
            status = ResponseStatus(PROCESSING_FAILURE, "the Event Reply could not be encoded")
            succeeded = False
    return guards.report_response(
        req,
        status.code,
        reply,
        succeeded,
        status.error_comment[:64] if status.error_comment else None,  # LO: 64 characters
        status.error_id,
    )


def _who(assoc: Association) -> str:
    """``CALLING (address:port)`` of the peer, ``?`` before it has said its AE title."""
    rq = assoc.requestor
    calling = str(rq.primitive.calling_ae_title).strip() if rq.primitive else ""
    return f"{calling or '?'} ({rq.address}:{rq.port})"


_UNLIMITED = 1 << 30  # pynetdicom's maximum_associations: never reached


def _describe_rejection(assoc: Association) -> str:
    rj = cast(A_ASSOCIATE, assoc.acceptor.primitive)
    result, source, reason = (
        int(rj.result or 0),
        int(rj.result_source or 0),
        int(rj.diagnostic or 0),
    )
    text = catalog.REJECT_REASONS.get((source, reason), f"reason {reason}")
    return f"{text} (result {result}, source {source}, reason {reason})"


class Listener:
    """An N-EVENT-REPORT SCP of every SOP class, also answering C-ECHO.

    The handler decides each report's answer (keeping it on disk first when
    asked), the listener sends it and learns whether it was written, then the
    handler records and shows what happened. Several associations run at once,
    each in its own thread.
    """

    def __init__(
        self,
        settings: Settings,
        options: ListenOptions,
        handler: ReportHandler,
        actions: ActionService | None = None,
    ) -> None:
        self._settings = settings
        self._options = options
        self._handler = handler
        self._actions = actions
        self._answered = 0
        self._in_flight = 0  # reports received and not yet answered, results not yet sent
        self._background = 0  # work started by an ActionService, running in its threads
        self._counts: dict[int, list[int]] = {}  # id(association) -> [received, answered]
        self._lock = threading.Condition()
        self._budget = MemoryBudget(options.memory_budget)
        budget.return_large_blocks()  # so that what the budget gives back leaves the process
        self._ae = make_ae(settings)
        self._ae.require_called_aet = options.require_called_aet
        self._ae.require_calling_aet = list(options.allowed_calling_aets)
        # The listener counts associations itself (Admission); pynetdicom's count, which holds
        # connections that have not associated too, must never refuse first.
        self._ae.maximum_associations = _UNLIMITED
        self._admission = Admission(options.slots, guards.close_unassociated)
        self._ae.add_supported_context(VERIFICATION, list(settings.transfer_syntaxes))
        self._server: Any = None
        self._fast_path = False  # decided at start(): the switch, for every association
        self._arrivals = 0  # associations requested, refused ones too
        self._last_arrival: str | None = None  # ``CALLING (address:port) calling CALLED``

    @property
    def arrivals(self) -> tuple[int, str | None]:
        """How many associations were requested and who asked last: ``commit`` says so when
        no result came, rather than blame the port or the AE title."""
        with self._lock:
            return self._arrivals, self._last_arrival

    @property
    def answered(self) -> int:
        """Answers written to a peer's socket."""
        with self._lock:
            return self._answered

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind and start serving in background threads."""
        self._fast_path = internals.fast_path_on()
        handlers: list[Any] = [
            (evt.EVT_CONN_OPEN, self._on_connected),
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_ACCEPTED, lambda e: log_negotiation(association_info(e.assoc))),
            (evt.EVT_REJECTED, lambda e: self._log_rejected(e.assoc, "")),
            (evt.EVT_CONN_CLOSE, self._on_closed),
        ]
        if self._settings.tls is not None:
            handlers.insert(1, (evt.EVT_CONN_OPEN, self._tls_handshake))
        try:
            self._server = self._ae.start_server(
                (self._options.bind, self._options.port),
                block=False,
                evt_handlers=handlers,
                ae_title=self._settings.ae_title,
                ssl_context=self._settings.tls,
            )
        except OSError as exc:
            raise InputError(
                f"cannot listen on {self._options.bind}:{self._options.port}: "
                f"{exc.strerror or exc}",
                "another port with --port N, or --port 0 for any free one"
                if exc.errno == errno.EADDRINUSE
                else None,
            ) from None
        # socketserver listens with a backlog of 5: beyond 5 connections not yet accepted, the
        # kernel drops a new one's SYN and the peer retries a second later. A burst of idle
        # connections would make a legitimate peer wait that second; --max-waiting bounds
        # what is held once accepted, so the kernel may queue as many as it allows.
        self._server.socket.listen(socket.SOMAXCONN)

    def _on_connected(self, event: evt.Event) -> None:
        """A new connection: with the switch on, the fast path (no Nagle, no polling, no debug
        text unless shown, a prompt end, requests served in order on the association's
        thread); always, limits on what it may send from its first byte, and each message
        sent whole whichever thread sends it."""
        if self._fast_path:
            from dcmreport.association.internals import fast_path  # only with the switch on

            fast_path.install(event.assoc, "listener")
        limits = guards.PduLimits(
            max_pdu=self._settings.max_pdu,
            max_dataset=self._options.dataset_limits.max_size,
            pdu_timeout=self._options.pdu_timeout,
            message_timeout=self._settings.dimse_timeout,
        )
        guards.bound_reading(event.assoc, limits, self._log_refused, self._budget)
        guards.whole_messages(event.assoc)
        self._admission.connected(event.assoc)  # last: it may close this connection at once

    def _log_refused(self, assoc: Association, why: str) -> None:
        """One line per peer cut off for breaking a limit."""
        LOG.warning("aborted the association from %s: %s", _who(assoc), why)

    def _tls_handshake(self, event: evt.Event) -> None:
        """EVT_CONN_OPEN: the handshake, in the association's thread; a failure is one line."""
        rq = event.assoc.requestor
        done = guards.tls_handshake(event.assoc, self._settings.acse_timeout)
        if done is None:
            return
        if done.error is None:
            LOG.info("TLS with %s:%s: %s", rq.address, rq.port, done.description)
            return
        if self._admission.closed_by_us(event.assoc):
            return  # idle too long, or made room for another: said once per address already
        message, _ = tls.explain(done.error, f"{rq.address}:{rq.port}", server_side=True)
        LOG.warning("%s; connection closed", message)

    def _on_requested(self, event: evt.Event) -> None:
        """EVT_REQUESTED: refuse (``--reject``), or decide what to accept and how to serve it."""
        assoc = event.assoc
        primitive = cast(A_ASSOCIATE, assoc.requestor.primitive)
        with self._lock:
            self._arrivals += 1
            self._last_arrival = f"{_who(assoc)} calling {str(primitive.called_ae_title).strip()}"
        full = self._admission.requested(assoc)
        if full is not None:
            guards.reject(assoc, 2, 3, 2)  # transient, local limit exceeded
            self._log_rejected(assoc, f" ({full})")
            return
        if self._options.reject:
            guards.reject(assoc, *self._options.reject)
            self._log_rejected(assoc, " (--reject)")
            return
        proposed = cast(A_ASSOCIATE, assoc.requestor.primitive).presentation_context_definition_list
        guards.placeholder_transfer_syntax(proposed)
        assoc.acceptor.supported_contexts = _supported_contexts(
            list(proposed), self._settings.transfer_syntaxes, self._options
        )
        _grant_window(assoc, self._options.async_ops)
        tracker = guards.DeliveryTracker(assoc)
        recorder = InOrder(f"record-{assoc.requestor.port}")
        guards.serve_requests(
            assoc,
            lambda a, req, cx: self._serve(a, tracker, recorder, req, cx),
            lambda a, req, cx: self._serve_other(a, tracker, recorder, req, cx),
        )

    def _serve_other(
        self,
        assoc: Association,
        tracker: guards.DeliveryTracker,
        recorder: InOrder,
        req: Any,
        context: PresentationContext,
    ) -> bool:
        """A request other than N-EVENT-REPORT: C-ECHO is pynetdicom's (False), storage
        commitment is served with ``--commitment``, anything else refused with a status."""
        if isinstance(req, C_ECHO | C_CANCEL):
            return isinstance(req, C_CANCEL)  # C-CANCEL of nothing we run: no answer is due
        if (
            isinstance(req, N_ACTION)
            and self._actions is not None
            and self._actions.serves(req, context)
        ):
            self._serve(assoc, tracker, recorder, req, context)
            return True
        status = _refusal_status(req)
        LOG.warning(
            "refused %s from %s (%s): 0x%04X %s",
            req.msg_type,
            _who(assoc),
            getattr(req, "AffectedSOPClassUID", None) or getattr(req, "RequestedSOPClassUID", ""),
            status,
            Status(status).meaning,
        )
        guards.send_response(assoc, tracker, _refusal(req, status), int(context.context_id or 0))
        return True

    def _log_rejected(self, assoc: Association, why: str) -> None:
        """One line per refused association, without -v: who, and the reason."""
        LOG.warning(
            "rejected the association from %s: %s%s", _who(assoc), _describe_rejection(assoc), why
        )

    def _serve(
        self,
        assoc: Association,
        tracker: guards.DeliveryTracker,
        recorder: InOrder,
        req: N_EVENT_REPORT | N_ACTION,
        context: PresentationContext,
    ) -> None:
        """One report: received → decided → answered → delivery known, then handed to the
        association's recorder: recorded and shown (it counts as in flight until then)."""
        with self._lock:
            self._in_flight += 1
            counts = self._counts.setdefault(id(assoc), [0, 0])
            counts[0] += 1
        handed_on, place = False, None
        try:
            report = received_report(assoc, req, context, self._options.dataset_limits)
            action = report.kind is MessageKind.N_ACTION
            if report.problem and not action:  # an N-ACTION's is its refusal's line
                LOG.warning(
                    "report from %s (message ID %s): %s",
                    _who(assoc),
                    report.message_id,
                    report.problem,
                )
            record = self._decide(report)
            if action:
                _log_refused_action(assoc, record)
            place = recorder.reserve()  # before the answer: records in the order of the answers
            delivery = self._answer(assoc, tracker, req, context, record.answer)
            record = replace(record, delivery=delivery)
            with self._lock:
                self._answered += delivery.sent
                counts[1] += delivery.sent
            if not delivery.sent:
                LOG.warning(
                    "the answer to message ID %s was not sent: %s",
                    record.report.message_id,
                    delivery.reason,
                )
            recorder.fill(place, lambda: self._record(assoc, record, req))
            handed_on = True
        finally:
            if not handed_on:
                if place is not None:
                    recorder.fill(place, _nothing)
                self._landed(_buffer(req))

    def _record(
        self, assoc: Association, record: ReportRecord, req: N_EVENT_REPORT | N_ACTION
    ) -> None:
        """In the association's recorder: recorded and shown, then an N-ACTION's service.

        Work that the service starts from the request (a storage commitment
        result waiting for ``--commitment-delay``, then delivered) holds its
        data set until it ends: the data set's share of the memory budget is
        given back then, not as the request lands.
        """
        held = _buffer(req)

        def background(name: str, work: Callable[[], None]) -> bool:
            nonlocal held
            if not self._run_in_background(name, work, held):
                return False
            held = None  # given back by that work
            return True

        try:
            self._finish(record)
            if record.report.kind is MessageKind.N_ACTION and self._actions is not None:
                self._actions.answered(assoc, record, background)
        finally:
            self._landed(held)

    def _run_in_background(
        self, name: str, work: Callable[[], None], held: InFlight | None
    ) -> bool:
        """Run ``work`` in a thread of its own, in flight until it ends (see ActionService);
        then ``held``, the data set it works from, gives its share of the budget back."""
        with self._lock:
            if self._background >= MAX_BACKGROUND_WORK:  # a peer flooding N-ACTIONs
                return False
            self._background += 1
            self._in_flight += 1

        def run() -> None:
            try:
                work()
            except Exception as exc:  # a thread of ours: say it, never a traceback
                LOG.error("%s: %s", name, type(exc).__name__)
                LOG.debug("details", exc_info=True)
            finally:
                if held is not None:
                    held.release()
                with self._lock:
                    self._background -= 1
                    self._in_flight -= 1
                    self._lock.notify_all()

        threading.Thread(target=run, name=name, daemon=True).start()
        return True

    def _landed(self, held: InFlight | None) -> None:
        """A report is no longer in flight: answered, recorded and shown (or given up); its
        data set's share of the memory budget is given back (``held``, unless work started
        from it holds it still)."""
        if held is not None:
            held.release()
        with self._lock:
            self._in_flight -= 1
            self._lock.notify_all()

    def _decide(self, report: ReceivedReport) -> ReportRecord:
        try:
            return self._handler.decide(report)
        except Exception as exc:  # never tell a peer Success for a report we could not keep
            LOG.error(
                "cannot handle the report (message ID %s): %s",
                report.message_id,
                type(exc).__name__,
            )
            LOG.debug("details", exc_info=True)  # -d only: the message may quote the data set
            failed = ResponseStatus(PROCESSING_FAILURE, "the receiver could not process the report")
            return ReportRecord(report, Answer(failed))

    def _answer(
        self,
        assoc: Association,
        tracker: guards.DeliveryTracker,
        req: N_EVENT_REPORT | N_ACTION,
        context: PresentationContext,
        answer: Answer | None,
    ) -> Delivery:
        if answer is None or answer.abort:
            LOG.info("aborting the association instead of answering message ID %s", req.MessageID)
            # Not blocking: in the association's own thread, a blocking abort stops the
            # connection before the A-ABORT PDU is written (pynetdicom's handlers do the same).
            assoc.abort(block=False)
            return Delivery(False, "the listener aborted the association instead (--abort-after)")
        rsp = (
            _action_response(req, answer)
            if isinstance(req, N_ACTION)
            else _response(req, context, answer)
        )
        return guards.send_response(assoc, tracker, rsp, int(context.context_id or 0))

    def _finish(self, record: ReportRecord) -> None:
        try:
            self._handler.finish(record)
        except Exception as exc:  # the answer is out; say that its record is incomplete
            LOG.error(
                "cannot record the report (message ID %s): %s",
                record.report.message_id,
                type(exc).__name__,
            )
            LOG.debug("details", exc_info=True)

    def _on_closed(self, event: evt.Event) -> None:
        """-v: a summary per association; whatever slot it held is free."""
        assoc = event.assoc
        self._admission.closed(assoc)
        with self._lock:
            received, answered = self._counts.pop(id(assoc), (0, 0))
        how = (
            "aborted"
            if assoc.is_aborted
            else "rejected"
            if assoc.is_rejected
            else "released"
            if assoc.is_released
            else "closed"
        )
        LOG.info(
            "association from %s %s: %d report(s) received, %d unanswered",
            _who(assoc),
            how,
            received,
            received - answered,
        )

    def in_flight(self) -> int:
        """Reports received and not answered yet, over all associations."""
        with self._lock:
            return self._in_flight

    def wait(self, until: Callable[[], bool], timeout: float | None) -> bool:
        """Wait until ``until()`` is true (checked at least every 50 ms) or ``timeout`` passes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not until():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            with self._lock:
                self._lock.wait(0.05 if remaining is None else min(0.05, remaining))
        return True

    def stop(self, grace: float = 5.0) -> None:
        """Stop gracefully: refuse new associations, let peers finish, then abort the rest.

        Reports already received are answered first; associations still open
        after ``grace`` seconds are aborted, without waiting on peers that do
        not answer (the PDU reader gives way to an A-ABORT within a quarter
        of a second). A report already received is still recorded and shown
        before this returns, unless ``grace`` is 0. Safe to call again (e.g.
        with ``grace=0`` when a second Ctrl-C interrupts the first stop).
        """
        deadline = time.monotonic() + grace
        if self._server is not None:
            self._server.shutdown()  # stops accepting; open associations carry on
            self._server = None
        for_aborts = min(0.5, grace / 4)  # the last part of the grace: the aborts going out
        self.wait(
            lambda: not self._ae.active_associations and self.in_flight() == 0, grace - for_aborts
        )
        for assoc in self._ae.active_associations:
            LOG.warning("aborting the association from %s still open at shutdown", _who(assoc))
            assoc.abort(block=False)
        self.wait(lambda: not self._ae.active_associations, max(deadline - time.monotonic(), 0.1))
        if grace > 0:  # a report being recorded or shown is not cut off by the process's exit:
            # it runs on its association's (daemon) thread, bounded by the limits and timeouts
            self.wait(lambda: self.in_flight() == 0, None)
