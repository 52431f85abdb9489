"""``send-report --batch``/``--repeat`` on the wire: many reports over one association.

Every response is read by the batch itself, never by pynetdicom's association
loop, which loses responses sent back to back and cannot wait for several
at once (internals item 14, a guard); up to ``window`` requests are
outstanding when the peer negotiated asynchronous operations (PS3.7
D.3.3.3), else one. Each data set is encoded once (a repeated report shares
its data set). On the plain path each request is pynetdicom's primitive,
sent by its ``send_msg`` (a command and its data set as two PDUs), and each
response's command set is read as pydicom decoded it; on the fast path a
request is one write of a command set encoded by hand, and a response's
command set is read from its bytes (items 13 and 14).

When the peer releases or aborts mid-batch, the reports it had not answered
are sent again on a new association, and their results say so (attempt 2,
``resent``); with ``stop_on_failure`` the batch stops there instead, and at
the first Failure status or answer with findings (unless they are accepted).
It also stops when two associations in a row end without answering anything:
a peer that aborts every association. Each answer is judged as a single
report's is (:mod:`dcmreport.dicom.judge`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Protocol

from pydicom import Dataset
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.dsutils import encode
from pynetdicom.pdu_primitives import AsynchronousOperationsWindowNegotiation
from pynetdicom.presentation import PresentationContext

from dcmreport.association import internals
from dcmreport.association.common import Settings, association_info, word_order
from dcmreport.association.internals import guards
from dcmreport.association.requestor import (
    N_EVENT_REPORT_RSP,
    Opened,
    associate,
    check_response,
    context_for,
    decode_reply,
    to_report_response,
)
from dcmreport.dicom.address import Peer
from dcmreport.dicom.catalog import EXPLICIT_VR_BE, VERIFICATION
from dcmreport.dicom.records import (
    AssociationInfo,
    Item,
    ReportRequest,
    Result,
    Role,
    Summary,
    repeated,
    succeeded,
    window_words,
)
from dcmreport.errors import AssociationError, InputError

LOG = logging.getLogger("dcmreport")

_SLICE = 0.05  # seconds between checks that the association still stands, while waiting


@dataclass(frozen=True)
class BatchOptions:
    """--window and --stop-on-failure; no defaults here: the options' are the only ones."""

    window: int  # requests outstanding at once, if the peer allows as many
    stop_on_failure: bool  # stop at the first Failure status, findings or lost association
    accept_findings: bool  # an answer's findings do not stop it (--accept-findings)


@dataclass(frozen=True)
class _Sent:
    item: Item
    attempt: int
    at: float  # time.perf_counter() when it went out


class _Lost(Exception):
    """The peer released or aborted the association before answering everything sent."""


class Requests(Protocol):
    """How a batch puts one N-EVENT-REPORT-RQ on the association."""

    def send(
        self,
        assoc: Association,
        context_id: int,
        message_id: int,
        kind: tuple[str, str, int],
        data: bytes | None,
    ) -> None:
        """``kind``: the SOP class UID, the SOP instance UID and the event type ID; ``data``: the
        Event Information encoded in the context's transfer syntax, or None."""


class PrimitiveRequests:
    """The plain path's requests: pynetdicom's N_EVENT_REPORT primitive, sent by its own
    ``send_msg`` (through the guards), which encodes the command set with pydicom."""

    def send(
        self,
        assoc: Association,
        context_id: int,
        message_id: int,
        kind: tuple[str, str, int],
        data: bytes | None,
    ) -> None:
        request = N_EVENT_REPORT()
        request.MessageID = message_id
        request.AffectedSOPClassUID, request.AffectedSOPInstanceUID, request.EventTypeID = kind
        # Empty Event Information goes as none: pynetdicom would announce a data set and send
        # no fragment of it, and the peer would wait for one.
        request.EventInformation = BytesIO(data) if data else None
        guards.send_message(assoc, request, context_id)


def _wire() -> tuple[Requests, guards.Responses]:
    """The requests' sender and the responses' reader, of the fast path with the switch on."""
    if not internals.fast_path_on():
        return PrimitiveRequests(), guards.Responses()
    from dcmreport.association.internals import fast_path  # only with the switch on

    return fast_path.ReportRequests(), guards.Responses(fast_path.read_fields)


def contexts(items: list[Item]) -> list[tuple[str, Role]]:
    """Verification, then each abstract syntax the reports go on with its role, once each."""
    wanted: list[tuple[str, Role]] = [(VERIFICATION, Role.NONE)]
    for item in items:
        request = item.request
        context = (request.context_class_uid or request.sop_class_uid, request.role)
        if context not in wanted:
            wanted.append(context)
    return wanted


def send_batch(
    peer: Peer,
    settings: Settings,
    items: list[Item],
    times: int,
    options: BatchOptions,
    summary: Summary,
    show: Callable[[Result], None],
    opened: Callable[[int, AssociationInfo], None],
) -> None:
    """Send ``items`` ``times`` over, showing each answer; ``summary`` adds everything up.

    Raises AssociationError when the first association cannot be opened;
    anything that ends the batch later is ``summary.error``.
    """
    todo = repeated(items, times)
    summary.window_asked = options.window
    resend: deque[_Sent] = deque()
    fruitless = 0  # associations in a row that ended without an answer
    proposed = contexts(items)
    try:
        while True:
            answered = summary.answered
            try:
                _one_association(
                    peer, settings, proposed, options, summary, todo, resend, show, opened
                )
                return
            except _Lost as lost:
                fruitless = fruitless + 1 if summary.answered == answered else 0
                if options.stop_on_failure or fruitless >= 2:
                    summary.error = f"{lost} (--stop-on-failure)" if fruitless < 2 else str(lost)
                    return
                LOG.warning("%s; sending the rest on a new association", lost)
            except AssociationError as exc:
                if summary.associations <= 1 and summary.sent == 0:
                    raise
                summary.error = str(exc)
                return
    finally:
        summary.finish()


def _one_association(
    peer: Peer,
    settings: Settings,
    proposed: list[tuple[str, Role]],
    options: BatchOptions,
    summary: Summary,
    todo: Iterator[Item],
    resend: deque[_Sent],
    show: Callable[[Result], None],
    opened: Callable[[int, AssociationInfo], None],
) -> None:
    requests, responses = _wire()
    negotiation = []
    if options.window > 1:
        window_item = AsynchronousOperationsWindowNegotiation()
        window_item.maximum_number_operations_invoked = options.window
        window_item.maximum_number_operations_performed = 1
        negotiation.append(window_item)
    with associate(peer, settings, proposed, responses.handlers(), negotiation) as done:
        summary.associations += 1
        sender = _Sender(done, summary.associations, options, (requests, responses), settings)
        summary.window = max(summary.window, sender.window)
        granted = summary.window_granted
        summary.window_granted = sender.window if granted is None else min(granted, sender.window)
        if sender.window < options.window:
            LOG.info("window: %s", window_words(options.window, sender.window))
        opened(summary.associations, sender.info)
        sender.run(summary, todo, resend, show)


def _window(done: Opened, wanted: int) -> int:
    """What the acceptor allows of ``wanted``: its Maximum Number Operations Performed (0: any)."""
    if wanted == 1:
        return 1
    _, performed = done.assoc.acceptor.asynchronous_operations
    return wanted if performed == 0 else max(1, min(wanted, performed))


class _Sender:
    """One association's share of the batch: send up to the window, read every answer."""

    def __init__(
        self,
        done: Opened,
        number: int,
        options: BatchOptions,
        wire: tuple[Requests, guards.Responses],
        settings: Settings,
    ) -> None:
        self._done = done
        self._assoc = done.assoc
        self._number = number
        self._options = options
        self._requests, self._responses = wire
        self._timeout = settings.dimse_timeout
        self.info = association_info(done.assoc)
        self.window = _window(done, options.window)
        self._outstanding: dict[int, _Sent] = {}
        self._contexts: dict[str, PresentationContext] = {}
        self._encoded: dict[tuple[int, str], bytes | None] = {}
        self._stopping = False

    def run(
        self,
        summary: Summary,
        todo: Iterator[Item],
        resend: deque[_Sent],
        show: Callable[[Result], None],
    ) -> None:
        while True:
            self._fill(summary, todo, resend)
            if not self._outstanding:
                if resend and not self._stopping:  # the association ended before they went
                    raise _Lost(self._ended())
                return
            result = self._receive(resend)
            summary.add(result)
            show(result)
            if self._options.stop_on_failure and self._fails(result):
                self._stopping = True

    def _fails(self, result: Result) -> bool:
        """A Failure status, or findings that are not accepted: what exits the batch 4 or 7."""
        broken = bool(result.response.findings) and not self._options.accept_findings
        return broken or not succeeded(result)

    def _fill(self, summary: Summary, todo: Iterator[Item], resend: deque[_Sent]) -> None:
        """Send until the window is full: reports to resend first, then the next ones."""
        while len(self._outstanding) < self.window and not self._stopping:
            waiting = resend.popleft() if resend else None
            item = waiting.item if waiting else next(todo, None)
            if item is None:
                return
            waiting = waiting or _Sent(item, 0, 0.0)  # attempts so far
            if item.request.message_id in self._outstanding or not self._assoc.is_established:
                resend.appendleft(waiting)  # after the answer to its message ID, or elsewhere
                return
            self._send(item, waiting.attempt + 1)
            summary.sent += 1
            summary.resent += waiting.attempt > 0

    def _context(self, request: ReportRequest) -> PresentationContext:
        uid = request.context_class_uid or request.sop_class_uid
        if uid not in self._contexts:
            self._contexts[uid] = context_for(self._assoc, uid)
        return self._contexts[uid]

    def _dataset(self, ds: Dataset, context: PresentationContext) -> bytes:
        """The data set encoded in the context's transfer syntax, once per data set."""
        ts = context.transfer_syntax[0]
        key = (id(ds), str(ts))
        if key not in self._encoded:
            swapped = word_order(ds, ts == EXPLICIT_VR_BE) or ds
            self._encoded[key] = encode(
                swapped, ts.is_implicit_VR, ts.is_little_endian, ts.is_deflated
            )
        encoded = self._encoded[key]
        if encoded is None:
            raise InputError("cannot encode the Event Information in the transfer syntax")
        return encoded

    def _send(self, item: Item, attempt: int) -> None:
        request = item.request
        context = self._context(request)
        data = self._dataset(request.dataset, context) if request.dataset is not None else None
        kind = (request.sop_class_uid, request.sop_instance_uid, request.event_type_id)
        self._outstanding[request.message_id] = _Sent(item, attempt, time.perf_counter())
        self._requests.send(
            self._assoc, int(context.context_id or 0), request.message_id, kind, data
        )

    def _peer(self) -> str:
        return f"{self.info.called_aet}@{self.info.peer_address}"

    def _ended(self) -> str:
        """How the peer ended the association, whether or not a report was on its way."""
        how = "aborted" if self._assoc.is_aborted else "released"
        unanswered = len(self._outstanding)
        waiting = f" with {unanswered} report(s) unanswered" if unanswered else ""
        return f"{self._peer()} {how} the association{waiting}"

    def _receive(self, resend: deque[_Sent]) -> Result:
        """The next answer, checked; raises _Lost (with the unanswered put back) or
        AssociationError (a wrong message, a timeout: the association is aborted)."""
        while True:
            message = self._responses.next(_SLICE)
            if message is not None:
                break
            if not self._assoc.is_established:
                resend.extendleft(reversed(self._outstanding.values()))
                raise _Lost(self._ended())
            oldest = min(sent.at for sent in self._outstanding.values())
            if time.perf_counter() - oldest > self._timeout:
                self._assoc.abort()
                raise AssociationError(
                    f"no N-EVENT-REPORT response from {self._peer()} within "
                    f"{self._timeout:g} s (--dimse-timeout); aborted the association"
                )
        arrived = time.perf_counter()
        command, data = message
        responded_to = command.get("MessageIDBeingRespondedTo")
        sent = self._outstanding.pop(responded_to, None) if responded_to is not None else None
        expected = sent.item.request.message_id if sent else next(iter(self._outstanding))
        problem = check_response(command, N_EVENT_REPORT_RSP, expected)
        if problem or sent is None:
            self._assoc.abort()
            raise AssociationError(f"{self._peer()}: {problem}; aborted the association")
        request = sent.item.request
        reply = decode_reply(data, self._context(request))
        elapsed = (arrived - sent.at) * 1000
        response = to_report_response(request, self.info, command, reply, elapsed)
        return Result(sent.item, response, self._number, sent.attempt)
