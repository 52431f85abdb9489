"""The guards: what correctness and safety need from pynetdicom's internals, always applied.

Each is numbered as in :mod:`dcmreport.association.internals`, whose
docstring gives its reason and the internal it reads; here each function
says why it is needed. None of them is a speed trick: ``DCMREPORT_SPEEDUPS=off``
turns none of them off. Applied to dcmreport's own associations only, one
at a time, when the listener or the requestor sets them up.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import ssl
import struct
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any, cast

from pydicom import Dataset
from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.dimse_messages import DIMSEMessage
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.fsm import InvalidEventError
from pynetdicom.pdu import A_ASSOCIATE_RJ
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT, P_DATA
from pynetdicom.presentation import PresentationContext

from dcmreport.association import tls
from dcmreport.association.budget import InFlight, MemoryBudget
from dcmreport.association.common import Fields, dataset_fields
from dcmreport.dicom.records import Delivery
from dcmreport.frozen import frozen

LOG = logging.getLogger("dcmreport")
_DUL_LOG = logging.getLogger("pynetdicom.dul")

# What pynetdicom logs, and what we read from it (item 6).
CONNECT_FAILED = "TCP Initialisation Error: "
ACSE_TIMEOUT = "ACSE timeout"
DIMSE_TIMEOUT = "DIMSE timeout"
NO_CONTEXTS = "No accepted presentation contexts"

ReportServer = Callable[[Association, N_EVENT_REPORT, PresentationContext], None]


# --- request routing (item 1) --------------------------------------------------------------


def serve_requests(
    assoc: Association,
    serve_report: ReportServer,
    serve_other: Callable[[Association, Any, PresentationContext], bool] | None = None,
) -> None:
    """Route this association's N-EVENT-REPORT requests to ``serve_report`` (item 1).

    pynetdicom would pick a service by the request's SOP class: a C-STORE-RSP
    for a report about a storage class, an abort for an unknown one. Other
    requests go to ``serve_other`` when given (it returns False for those
    pynetdicom should serve, C-ECHO); else to pynetdicom.

    A request is served in the thread pynetdicom hands it to: the
    association's own (its loop) or, on the plain path, the thread pynetdicom
    starts per N-EVENT-REPORT. Only on the association's own thread is it
    marked paused while serving, as pynetdicom does so that a service may
    send: from another thread, clearing the mark would tell a sender waiting
    for the loop to pause that it runs while it is in fact paused, and that
    sender would wait for ever.

    A response reaching the loop while one of our senders waits for it
    (:func:`send_report_request`, :func:`send_action_request`) went past the
    loop's racy pause (item 14): it goes back on ``msg_queue`` for the
    sender, instead of being dropped as unexpected. And the other way round
    (:func:`_serve_while_waiting`): a request that such a sender takes off
    the queue as its response is served instead.
    """
    original = assoc._serve_request
    _serve_while_waiting(assoc)

    def route(msg: Any, context_id: int) -> None:
        context = assoc._accepted_cx.get(context_id)
        if context is None:
            original(msg, context_id)  # an unknown context: pynetdicom aborts, as PS3.8 says
            return
        if _is_response(msg):
            if _awaited(assoc):
                assoc.dimse.msg_queue.put((context_id, msg))
            else:
                original(msg, context_id)  # unexpected: pynetdicom logs it and goes on
            return
        own = threading.current_thread() is assoc
        if own:
            assoc._is_paused = True  # as pynetdicom does while a service runs
        try:
            if isinstance(msg, N_EVENT_REPORT):
                serve_report(assoc, msg, context)
            elif serve_other is None or not serve_other(assoc, msg, context):
                if own:
                    assoc._is_paused = False
                original(msg, context_id)
        finally:
            if own:
                assoc._is_paused = False

    assoc._serve_request = route  # type: ignore[method-assign]


def _serve_while_waiting(assoc: Association) -> None:
    """A sender waiting for its response takes responses only; a request is served.

    pynetdicom's ``send_*`` methods take the next message off ``msg_queue``
    as their response, whatever it is. A peer may send a request meanwhile:
    the requester's next N-ACTION while the listener waits for the answer to
    a storage commitment result, or a result while ``commit`` waits for an
    N-ACTION-RSP (on the fast path a listener queues every request there).
    Taken as a response, the request would go unanswered and the response be
    lost. Here such a request is served in a thread of its own (as pynetdicom
    serves an N-EVENT-REPORT request), and the sender waits on for its
    response, up to the same DIMSE timeout in all.
    """
    dimse = assoc.dimse
    get_msg = dimse.get_msg

    def get_response(block: bool = False) -> tuple[Any, Any]:
        if not block:
            return cast(tuple[Any, Any], get_msg(block=False))
        timeout = dimse.dimse_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None, None
            try:
                context_id, msg = dimse.msg_queue.get(timeout=remaining)
            except queue.Empty:
                return None, None
            if msg is None or _is_response(msg):
                return context_id, msg
            threading.Thread(
                target=assoc._serve_request, args=(msg, context_id), name="request", daemon=True
            ).start()

    dimse.get_msg = get_response  # type: ignore[method-assign]


def _is_response(msg: Any) -> bool:
    """A response (confirmation), not a request: C-CANCEL, a request, has no Status."""
    return bool(msg.is_valid_response) and not bool(msg.is_valid_request)


# Per association: whether one of our senders waits for its response (see serve_requests),
# and the lock that lets one request at a time wait for one.
_AWAITING: weakref.WeakKeyDictionary[Association, bool] = weakref.WeakKeyDictionary()
_REQUESTS: weakref.WeakKeyDictionary[Association, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS = threading.Lock()  # guards the two tables and the message locks below


def _awaited(assoc: Association) -> bool:
    with _LOCKS:
        return _AWAITING.get(assoc, False)


@contextmanager
def _awaiting(assoc: Association) -> Iterator[None]:
    """One request at a time through pynetdicom's ``send_*``, marked as waiting for its response.

    pynetdicom's ``send_*`` methods send a request and take the next response
    as its own: two at once on one association (storage commitment results
    delivered from threads of their own) would each take either answer.
    """
    with _LOCKS:
        one_at_a_time = _REQUESTS.setdefault(assoc, threading.Lock())
    with one_at_a_time:
        with _LOCKS:
            _AWAITING[assoc] = True
        try:
            yield
        finally:
            with _LOCKS:
                _AWAITING[assoc] = False


# --- one message at a time (item 3) -----------------------------------------------------------

_MESSAGES: weakref.WeakKeyDictionary[Association, threading.RLock] = weakref.WeakKeyDictionary()


def message_lock(assoc: Association) -> threading.RLock:
    """Held while one message's P-DATA PDUs are queued on ``assoc``.

    PS3.8 9.3.5 and Annex E: no fragment of another message may be sent
    until every fragment of the current one has been. pynetdicom's
    ``send_msg`` queues a message PDU by PDU, and a listener on the plain
    path answers from pynetdicom's thread per report while another thread
    (a storage commitment result, an N-ACTION's answer) may send too.
    """
    with _LOCKS:
        return _MESSAGES.setdefault(assoc, threading.RLock())


def whole_messages(assoc: Association) -> None:
    """Make ``dimse.send_msg`` queue each message whole (:func:`message_lock`), whichever
    thread sends it: pynetdicom's ``send_*``, its C-ECHO service, or our responses."""
    send_msg = assoc.dimse.send_msg
    lock = message_lock(assoc)

    def send_whole(primitive: Any, context_id: int) -> None:
        with lock:
            send_msg(primitive, context_id)

    assoc.dimse.send_msg = send_whole  # type: ignore[method-assign]


# --- whether an answer was written (item 2) -----------------------------------------------


class DeliveryTracker:
    """Whether the P-DATA queued for one association has been written to its socket (item 2).

    pynetdicom queues a response and writes it from another thread; a peer
    that aborts or closes first never gets it. The listener records what
    really happened, so it waits for the write or for the end of the
    association.
    """

    def __init__(self, assoc: Association) -> None:
        self._assoc = assoc
        self._queued = 0
        self._written = 0
        self._closed = False
        self._changed = threading.Condition()
        original = assoc.dul.send_pdu

        def send_pdu(primitive: Any) -> None:
            if isinstance(primitive, P_DATA):
                with self._changed:
                    self._queued += 1
            original(primitive)

        assoc.dul.send_pdu = send_pdu  # type: ignore[method-assign]
        assoc.bind(evt.EVT_DATA_SENT, self._on_data_sent)
        assoc.bind(evt.EVT_CONN_CLOSE, self._on_closed)

    def _on_data_sent(self, event: evt.Event) -> None:
        if event.data[:1] == b"\x04":  # a P-DATA-TF PDU
            with self._changed:
                self._written += 1
                self._changed.notify_all()

    def _on_closed(self, event: evt.Event) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def queued(self) -> int:
        with self._changed:
            return self._queued

    def wait_written(self, target: int, timeout: float) -> Delivery:
        """Wait until ``target`` P-DATA PDUs are written, the association ends, or ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._written < target:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    break
                self._changed.wait(remaining)
            if self._written >= target:
                return Delivery(True)
            if self._closed or not self._assoc.is_established:
                how = "aborted" if self._assoc.is_aborted else "ended"
                return Delivery(False, f"the association {how} before the answer was sent")
        return Delivery(False, f"the peer did not take the answer within {timeout:g} s")


# --- a response with exactly the status decided (item 3) -----------------------------------


@frozen
class ReportResponse:
    """An N-EVENT-REPORT-RSP to send: the fields of pynetdicom's primitive, under its names.

    What the listener decided, held as plain values until it is sent: the
    plain path makes pynetdicom's primitive of it (:func:`response_primitive`),
    the fast path encodes its command set by hand without one (item 13).
    """

    MessageIDBeingRespondedTo: int  # pynetdicom's names: either path reads them the same way
    AffectedSOPClassUID: str
    AffectedSOPInstanceUID: str
    Status: int
    EventTypeID: int | None = None
    ErrorComment: str | None = None
    ErrorID: int | None = None
    EventReply: bytes | None = None


def report_response(
    req: N_EVENT_REPORT,
    status: int,
    reply: bytes | None,
    with_event_type: bool,
    error_comment: str | None = None,
    error_id: int | None = None,
) -> ReportResponse:
    """The N-EVENT-REPORT-RSP for ``req`` (PS3.7 10.1.1: Event Type ID is conditional)."""
    return ReportResponse(
        MessageIDBeingRespondedTo=req.MessageID if req.MessageID is not None else 0,
        AffectedSOPClassUID=str(req.AffectedSOPClassUID or ""),
        AffectedSOPInstanceUID=str(req.AffectedSOPInstanceUID or ""),
        Status=status,
        EventTypeID=req.EventTypeID if with_event_type else None,
        ErrorComment=error_comment or None,
        ErrorID=error_id,
        EventReply=reply,
    )


def response_primitive(rsp: ReportResponse) -> N_EVENT_REPORT:
    """pynetdicom's primitive for ``rsp``: a field left empty is left out of the command set,
    as the hand encoder leaves it out (``primitive_to_message`` deletes what is None)."""
    primitive = N_EVENT_REPORT()
    primitive.MessageIDBeingRespondedTo = rsp.MessageIDBeingRespondedTo
    primitive.AffectedSOPClassUID = rsp.AffectedSOPClassUID or None
    primitive.AffectedSOPInstanceUID = rsp.AffectedSOPInstanceUID or None
    primitive.Status = rsp.Status
    primitive.EventTypeID = rsp.EventTypeID
    primitive.ErrorComment = rsp.ErrorComment or None  # type: ignore[assignment]
    primitive.ErrorID = rsp.ErrorID  # type: ignore[assignment]
    # An empty reply goes as none: pynetdicom would announce a data set and send no fragment.
    primitive.EventReply = BytesIO(rsp.EventReply) if rsp.EventReply else None
    return primitive


def send_message(assoc: Association, primitive: Any, context_id: int) -> None:
    """A message through pynetdicom's own ``dimse.send_msg`` (item 3): the plain path's way to
    send a response, and a batch's request, built as a primitive.

    ``send_msg`` encodes the primitive as it is, whatever its status, and
    queues each fragment as a P-DATA-TF PDU of its own: a command with a data
    set is two PDUs.
    """
    if isinstance(primitive, ReportResponse):
        primitive = response_primitive(primitive)
    assoc.dimse.send_msg(primitive, context_id)


Send = Callable[[Association, Any, int], None]  # puts a response on the association
_SENDERS: weakref.WeakKeyDictionary[Association, Send] = weakref.WeakKeyDictionary()


def use_sender(assoc: Association, send: Send) -> None:
    """How :func:`send_response` puts responses on ``assoc`` from now on (the fast path's
    one write per message, item 13); :func:`send_message` unless this is called."""
    _SENDERS[assoc] = send


def send_response(
    assoc: Association, tracker: DeliveryTracker, rsp: Any, context_id: int
) -> Delivery:
    """Send a response and learn whether it was written before the association ended (item 3).

    We build and send the response ourselves, so its status is exactly the
    one decided: pynetdicom's service classes would rewrite a status they do
    not know.
    """
    if not assoc.is_established:
        return Delivery(False, "the association ended before the answer was sent")
    _SENDERS.get(assoc, send_message)(assoc, rsp, context_id)
    # Everything queued so far, ours last: the DUL writes in order.
    return tracker.wait_written(tracker.queued(), assoc.dimse_timeout or 30.0)


# --- rejecting with any result, source and reason (item 5) ------------------------------


def reject(assoc: Association, result: int, source: int, reason: int) -> None:
    """Send an A-ASSOCIATE-RJ from ``EVT_REQUESTED`` and end the association (item 5)."""
    assoc.acse.send_reject(result, source, reason)
    assoc.kill()  # as pynetdicom does: waits until the A-ASSOCIATE-RJ is out


# --- what pynetdicom only logs (item 6) ---------------------------------------------------


class Diagnostics(logging.Handler):
    """Collect what pynetdicom only logs: why a connect failed, which timeout expired (item 6).

    Also the A-ASSOCIATE-RJ a peer sent, seen as it is decoded (``EVT_PDU_RECV``,
    public): pynetdicom 3.0.4's requestor checks that the connection is still
    open only after it has sent its request, so a rejection that comes and
    closes the connection first is taken for a failed connection, and the
    association ends neither established nor rejected.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []
        self.connected = False
        self.tls_error: ssl.SSLError | None = None
        self.rejection: tuple[int, int, int] | None = None  # result, source, reason

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if record.exc_info and isinstance(record.exc_info[1], ssl.SSLError):
            self.tls_error = record.exc_info[1]  # item 10: a TLS alert after the handshake

    def said(self, text: str) -> bool:
        return any(text in message for message in self.messages)

    def connect_errors(self) -> list[str]:
        return [
            m.removeprefix(CONNECT_FAILED) for m in self.messages if m.startswith(CONNECT_FAILED)
        ]

    def on_connect(self, event: evt.Event) -> None:
        self.connected = True

    def on_pdu(self, event: evt.Event) -> None:
        """EVT_PDU_RECV: keep the A-ASSOCIATE-RJ's result, source and reason."""
        pdu = event.pdu
        if isinstance(pdu, A_ASSOCIATE_RJ):
            self.rejection = (pdu.result or 0, pdu.source or 0, pdu.reason_diagnostic or 0)

    @contextmanager
    def installed(self) -> Iterator[None]:
        log = logging.getLogger("pynetdicom")
        level = log.level
        log.setLevel(min(log.getEffectiveLevel(), logging.ERROR))
        log.addHandler(self)
        try:
            yield
        finally:
            log.removeHandler(self)
            log.setLevel(level)


# --- a response of the wrong type (item 7) -----------------------------------------------


def send_report_request(assoc: Association, *args: Any, **kwargs: Any) -> tuple[Dataset, Any]:
    """``send_n_event_report``; a response of the wrong type gives an empty status (item 7).

    pynetdicom reads ``EventReply`` off whatever message arrives first, and a
    C-ECHO-RSP has none: AttributeError, which means "no status" here. While
    it waits, a response the association's loop takes goes back to it
    (:func:`serve_requests`).
    """
    try:
        with _awaiting(assoc):
            status, reply = assoc.send_n_event_report(*args, **kwargs)
    except AttributeError:  # pynetdicom reads EventReply off a response of the wrong type
        return Dataset(), None
    return status, reply


def send_action_request(assoc: Association, *args: Any, **kwargs: Any) -> Dataset:
    """``send_n_action``'s status; a response of the wrong type gives an empty one (item 7),
    as :func:`send_report_request` does for ``ActionReply``."""
    try:
        with _awaiting(assoc):
            status, _ = assoc.send_n_action(*args, **kwargs)
    except AttributeError:  # pynetdicom reads ActionReply off a response of the wrong type
        return Dataset()
    return status


# --- limits on what a peer may make the listener hold (item 8) -----------------------------

ASSOCIATE_PDU_BOUND = 1 << 20  # an A-ASSOCIATE-RQ is a few KB; 1 MiB is generous
COMMAND_BOUND = 1 << 16  # a command set is a few hundred bytes; 64 KiB is generous
# (0000,0800) Command Data Set Type 0x0101, "no data set", in Implicit VR LE (PS3.7 E.1)
_NO_DATASET = b"\x00\x00\x00\x08\x02\x00\x00\x00\x01\x01"
_P_DATA_TF = 0x04
# State machine events that stand for a primitive of ours waiting in to_provider_queue
_LOCAL_EVENTS = {"Evt1", "Evt7", "Evt8", "Evt9", "Evt11", "Evt14", "Evt15"}
_ABORT_PDU = b"\x07\x00\x00\x00\x00\x04\x00\x00"  # + source, reason (PS3.8 9.3.8)


@frozen
class PduLimits:
    """What one association may send: checked on each PDU header, before memory is spent."""

    max_pdu: int  # the maximum length we announced (0: unlimited, then max_dataset bounds it)
    max_dataset: int  # bytes of one data set, counted while its fragments arrive
    pdu_timeout: float  # seconds for a whole PDU, however it trickles in
    message_timeout: float  # seconds for a whole DIMSE message, command and data set


class _Refused(Exception):
    """A peer broke a limit; the message is the log line, source/reason the A-ABORT's."""

    def __init__(self, message: str, source: int = 2, reason: int = 0) -> None:
        super().__init__(message)
        self.source = source
        self.reason = reason


class _Closed(Exception):
    """The peer closed the connection (or we are stopping) mid-PDU."""


# The PDUs whose fields pynetdicom checks only as it makes their primitive (BoundedReader._usable).
_TO_PRIMITIVE = {
    0x01: "an invalid A-ASSOCIATE-RQ: an even presentation context ID or one without a transfer"
    " syntax?",
    0x07: "an A-ABORT with an undefined source or reason",
}


class _Abandoned(Exception):
    """We are aborting: stop reading so the DUL can send the A-ABORT; the stream is lost."""


class BoundedReader:
    """pynetdicom's PDU reader with limits and a deadline (item 8: ``dul._read_pdu_data``).

    pynetdicom reads a PDU's 6-byte header, then blocks until as many bytes as
    the header claims have arrived, growing its buffer as they come: a header
    claiming 4 GB followed by silence holds a thread (and a
    ``--max-associations`` slot) forever, and one followed by 4 GB is buffered
    whole. This reader refuses a length above the limit from the header
    alone, gives the whole PDU one deadline however slowly it trickles, counts
    the data set bytes of P-DATA as they arrive, and on a breach sends an
    A-ABORT, closes the connection and says why in one line.
    """

    def __init__(
        self, assoc: Association, limits: PduLimits, log: Callable[[Association, str], None]
    ) -> None:
        self._assoc = assoc
        self._dul = assoc.dul
        self._limits = limits
        self._log = log
        self._dataset_bytes = 0
        self._command = bytearray()  # this message's command set, to see if a data set follows
        self._message_started: float | None = None
        self._desynchronised = False  # a PDU was abandoned half read
        self._ended = False  # the acceptor's wait for an A-ASSOCIATE-RQ was ended

    def __call__(self) -> None:
        deadline = time.monotonic() + self._limits.pdu_timeout
        try:
            if self._desynchronised or self._dul.state_machine.current_state == "Sta13":
                # After an A-ABORT (ours or pynetdicom's) nothing the peer sends matters:
                # close now rather than hold the slot while it keeps the connection open.
                raise _Closed
            header = self._read(6, deadline)
            pdu_type, _, length = struct.unpack(">BBL", header)
            self._check_length(pdu_type, length)
            pdu = header + self._read(length, deadline)
            if pdu_type == _P_DATA_TF:
                self._count_dataset(pdu)
        except _Closed:
            self._dul.event_queue.put("Evt17")  # transport closed, as pynetdicom says it
            self.end_negotiation()
            return
        except _Abandoned:
            self._desynchronised = True
            return
        except _Refused as refusal:
            self._refuse(refusal)
            return
        if pdu_type not in range(0x01, 0x08):
            self._invalid(f"an unrecognised PDU (type {pdu_type:#04x}, {length:,} bytes)")
            return
        try:
            decoded, event = self._dul._decode_pdu(bytearray(pdu))
        except Exception:  # a malformed PDU: pynetdicom's own answer, an A-ABORT
            self._invalid(f"a malformed PDU (type {pdu_type:#04x}, {length:,} bytes)")
            return
        if pdu_type in _TO_PRIMITIVE and not self._usable(pdu_type, decoded):
            return
        self._dul.event_queue.put(event)
        self._dul._recv_pdu.put(decoded)

    def _usable(self, pdu_type: int, pdu: Any) -> bool:
        """A PDU pynetdicom can turn into a primitive; else an A-ABORT (2, 6), one line.

        pynetdicom makes the primitive in its own thread, and fails there,
        answering nothing: for an A-ASSOCIATE-RQ with an even presentation
        context ID or a context without a transfer syntax (PS3.8 9.3.2.2
        requires odd IDs and one or more transfer syntaxes), and for an
        A-ABORT with a source or reason PS3.8 9.3.8 does not define.
        """
        try:
            pdu.to_primitive()
        except Exception as exc:
            self._refuse(_Refused(f"{_TO_PRIMITIVE[pdu_type]} ({type(exc).__name__})", 2, 6))
            return False
        return True

    def _bound(self, pdu_type: int) -> int:
        if pdu_type == _P_DATA_TF and self._limits.max_pdu:
            return self._limits.max_pdu + 6  # PS3.8 D.1: the PDV items' total is what is bounded
        if pdu_type == _P_DATA_TF:
            return self._limits.max_dataset + 1024
        return ASSOCIATE_PDU_BOUND

    def _check_length(self, pdu_type: int, length: int) -> None:
        bound = self._bound(pdu_type)
        if length > bound:
            raise _Refused(
                f"a PDU of type {pdu_type:#04x} claims {length:,} bytes, over {bound:,}", 2, 6
            )

    def _count_dataset(self, pdu: bytes) -> None:
        """Add up this message's fragments (PDV items) and time it; reset at its last one.

        A data set is bounded by ``max_dataset``, a command set by
        ``COMMAND_BOUND``, and the whole message by ``message_timeout``: a
        peer sending complete one-byte PDUs of a message that never ends
        would otherwise hold its slot for ever (each PDU restarts pynetdicom's
        idle timer).
        """
        offset = 6
        now = time.monotonic()
        while offset + 6 <= len(pdu):
            item_length, header = struct.unpack(">L", pdu[offset : offset + 4])[0], pdu[offset + 5]
            offset += 4 + item_length
            if self._message_started is None:
                self._message_started = now
            if now - self._message_started > self._limits.message_timeout:
                raise _Refused(
                    f"a message did not arrive whole within {self._limits.message_timeout:g} s"
                )
            if header & 0x01:  # a command fragment
                self._command += pdu[offset - item_length + 2 : offset]
                if len(self._command) > COMMAND_BOUND:
                    raise _Refused(f"a command set over {COMMAND_BOUND:,} bytes", 2, 6)
            else:
                self._dataset_bytes += max(item_length - 2, 0)
                if self._dataset_bytes > self._limits.max_dataset:
                    size = f"{self._limits.max_dataset:,} bytes"
                    raise _Refused(f"a data set over --max-dataset-size ({size})", 0, 0)
            last = header & 0x02
            if last and not (header & 0x01 and _NO_DATASET not in self._command):
                self._dataset_bytes = 0
                self._command = bytearray()
                self._message_started = None

    def _read(self, count: int, deadline: float) -> bytes:
        """``count`` bytes by ``deadline``, in slices short enough to notice a stop."""
        sock = self._dul.socket.socket if self._dul.socket else None
        if sock is None:
            raise _Closed
        data = bytearray()
        previous = sock.gettimeout()
        try:
            while len(data) < count:
                remaining = deadline - time.monotonic()
                if self._dul._kill_thread:
                    raise _Closed
                if self._aborting():
                    raise _Abandoned
                if remaining <= 0:
                    raise _Refused(
                        f"a PDU did not arrive whole within {self._limits.pdu_timeout:g} s "
                        f"({len(data):,} of {count:,} bytes)"
                    )
                sock.settimeout(min(remaining, 0.25))
                try:
                    chunk = sock.recv(min(count - len(data), 65536))
                except TimeoutError:
                    continue
                except OSError:
                    # As pynetdicom's own reader logs it: Diagnostics reads a TLS alert
                    # that arrives after the handshake from this record (item 10).
                    _DUL_LOG.error(
                        "Connection closed before the entire PDU was received", exc_info=True
                    )
                    raise _Closed from None
                if not chunk:
                    raise _Closed
                data += chunk
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(previous)
        return bytes(data)

    def _aborting(self) -> bool:
        """An A-ABORT waits to be sent (a DIMSE timeout, a stop): reading must give way."""
        waiting = list(self._dul.to_provider_queue.queue)
        return any(isinstance(primitive, A_ABORT | A_P_ABORT) for primitive in waiting)

    def refuse(self, why: str) -> None:
        """End the association for a fault found past the reader (an A-ABORT, source 0)."""
        self._refuse(_Refused(why, 0, 0))

    def _refuse(self, refusal: _Refused) -> None:
        """One log line, an A-ABORT, the connection closed, the association ended. Nothing
        read after it counts: the refused PDU's body was never read, so what follows is
        not a PDU."""
        self._desynchronised = True
        self._log(self._assoc, str(refusal))
        sock = self._dul.socket.socket if self._dul.socket else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.settimeout(1.0)
                sock.sendall(_ABORT_PDU + bytes([refusal.source, refusal.reason]))
                sock.shutdown(socket.SHUT_RDWR)
        self._assoc.is_aborted = True
        self._dul.event_queue.put("Evt17")
        self.end_negotiation()

    def _invalid(self, what: str) -> None:
        """An unrecognised or malformed PDU: one log line, pynetdicom's A-ABORT, then the
        connection closed.

        Evt19 sends the A-ABORT and waits in Sta13 for the peer to close, up to
        the ARTIM timeout (30 s), holding the slot; the Evt17 queued after it
        ends that wait as soon as the A-ABORT is out.
        """
        self._log(self._assoc, f"{what}: aborted")
        self._dul.event_queue.put("Evt19")
        self._dul.event_queue.put("Evt17")
        self.end_negotiation()

    def end_negotiation(self) -> None:
        """Before an A-ASSOCIATE-RQ, pynetdicom waits --acse-timeout for one: end that wait now
        (once, whichever of the reader and the close gets here first)."""
        if self._assoc.is_acceptor and self._assoc.requestor.primitive is None and not self._ended:
            self._ended = True
            self._dul.to_user_queue.put(None)


def bound_reading(
    assoc: Association,
    limits: PduLimits,
    log: Callable[[Association, str], None],
    budget: MemoryBudget | None = None,
) -> None:
    """Install :class:`BoundedReader` as this association's PDU reader (item 8).

    Also guard ``dimse.receive_primitive``, which pynetdicom's state machine
    calls in the reader's thread: a command it cannot decode (no Command
    Field, an unknown one) raises there and kills the thread, closing the
    connection without a word; the peer gets an A-ABORT instead. And guard
    ``state_machine.do_action``: an event its table does not allow raises
    InvalidEventError and kills the thread too, e.g. our A-ASSOCIATE-AC
    (Evt7) decided after a junk PDU made the DUL abort (Sta13), which left
    the association holding its slot until the network timeout.

    With a ``budget`` (an acceptor's), each data set fragment is paid for
    from it before pynetdicom buffers it (:func:`_within_budget`).
    """
    reader = BoundedReader(assoc, limits, log)
    assoc.dul._read_pdu_data = reader  # type: ignore[method-assign]
    receive: Callable[[P_DATA], None] = assoc.dimse.receive_primitive
    if budget is not None:
        receive = _within_budget(assoc, receive, budget)

    def receive_or_abort(primitive: Any) -> None:
        try:
            receive(primitive)
        except Exception as exc:
            reader.refuse(f"a DIMSE message pynetdicom cannot decode ({type(exc).__name__})")

    assoc.dimse.receive_primitive = receive_or_abort  # type: ignore[method-assign]
    act = assoc.dul.state_machine.do_action

    def act_or_abort(event: str) -> None:
        try:
            act(event)
        except InvalidEventError:
            if event in _LOCAL_EVENTS:  # our own primitive, which the action would have taken
                with contextlib.suppress(queue.Empty):
                    assoc.dul.to_provider_queue.get_nowait()
            if assoc.dul.state_machine.current_state != "Sta13":
                reader.refuse(f"a PDU the protocol does not allow now ({event})")
            # In Sta13 we have aborted already: our own late A-ASSOCIATE-AC (Evt7) is moot.

    assoc.dul.state_machine.do_action = act_or_abort  # type: ignore[method-assign]
    # However the connection closes before an A-ASSOCIATE-RQ: in Sta13 (after an A-ABORT for a
    # PDU out of turn, an A-RELEASE-RQ first) pynetdicom closes it itself, past our reader.
    assoc.bind(evt.EVT_CONN_CLOSE, lambda _: reader.end_negotiation())


def _within_budget(
    assoc: Association, receive: Callable[[P_DATA], None], budget: MemoryBudget
) -> Callable[[P_DATA], None]:
    """``receive`` with each data set fragment paid for first (item 8).

    pynetdicom writes a message's data set fragments into ``message.data_set``
    (a BytesIO it makes per message): that buffer becomes an
    :class:`~dcmreport.association.budget.InFlight`, which pays for each
    fragment before it is written. A fragment that does not fit empties it and
    marks it refused; from then on only each fragment's control header goes
    through, so the message still ends where the peer ends it, with an empty
    data set that the listener answers 0x0213. Called in the DUL's thread, in
    the order the fragments arrived, so the buffer is the message's own.
    """
    dimse = assoc.dimse
    # A message cut off by the end of the association gives its share back at once (pynetdicom's
    # objects are freed by the cycle collector, whenever it runs).
    assoc.bind(evt.EVT_CONN_CLOSE, lambda _: _release_unfinished(dimse.message))

    def admitted(data: bytes) -> bytes:
        if not data[:1] or data[0] & 0x01:
            return data  # a command fragment (or an empty PDV): nothing to pay for
        if dimse.message is None:  # data before any command: pynetdicom buffers it all the same
            dimse.message = DIMSEMessage()  # as its receive_primitive would, now paid for
        message = dimse.message
        buffer = message.data_set
        if not isinstance(buffer, InFlight):
            if buffer is None or buffer.tell():
                return data  # not pynetdicom's fresh buffer: nothing of ours to pay for
            buffer = message.data_set = InFlight(budget)
        return data if buffer.admit(len(data) - 1) else data[:1]

    def receive_within_budget(primitive: P_DATA) -> None:
        items = primitive.presentation_data_value_list
        if len(items) == 1:
            context_id, data = items[0]
            primitive.presentation_data_value_list = _one_pdv(context_id, admitted(data))
            receive(primitive)
            return
        for context_id, data in items:  # one at a time: the message may start mid-PDU
            part = P_DATA()
            part.presentation_data_value_list = _one_pdv(context_id, admitted(data))
            receive(part)

    return receive_within_budget


def _release_unfinished(message: DIMSEMessage | None) -> None:
    buffer = message.data_set if message is not None else None
    if isinstance(buffer, InFlight):
        buffer.release()


def _one_pdv(context_id: int, data: bytes) -> list[tuple[int, bytes]]:
    """A presentation data value list of one item, as P_DATA's setter wants it: [ID, data]."""
    return [[context_id, data]]  # type: ignore[list-item]


# --- closing a connection that has not associated (item 18) ---------------------------------


def close_unassociated(assoc: Association) -> None:
    """Close a connection still waiting for its A-ASSOCIATE-RQ (item 18): shut its socket down.

    Nothing is sent: before an A-ASSOCIATE-RQ there is no association to reject
    or abort. Our reader (item 8) then sees the close and ends the acceptor's
    wait at once, so the connection's threads end and it holds nothing; a TLS
    handshake still running fails at once.
    """
    sock = assoc.dul.socket.socket if assoc.dul.socket else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


# --- a context proposed without a transfer syntax (item 9) -------------------------------

# JPEG Baseline: never among the listener's transfer syntaxes (it decodes uncompressed only).
UNSUPPORTED_TRANSFER_SYNTAX = "1.2.840.10008.1.2.4.50"


def placeholder_transfer_syntax(proposed: list[PresentationContext]) -> None:
    """Give a context proposed without a transfer syntax one we never accept (item 9).

    It is then refused with result 4, transfer syntaxes not supported, which
    is what a context without any deserves; the A-ASSOCIATE-AC's transfer
    syntax for a refused context is not significant (PS3.8 9.3.3.2).
    """
    for cx in proposed:
        if not cx.transfer_syntax:
            cx.add_transfer_syntax(UNSUPPORTED_TRANSFER_SYNTAX)


# --- the TLS handshake in the association's thread (item 10) -----------------------------


def tls_handshake(assoc: Association, timeout: float | None) -> tls.Handshake | None:
    """Run the deferred TLS handshake on the association's socket; None for plain DICOM (item 10).

    Called from ``EVT_CONN_OPEN``, before the association reads or writes.
    """
    sock = assoc.dul.socket.socket if assoc.dul.socket else None
    return tls.handshake(sock, timeout) if sock is not None else None


# --- a batch's own reading of its responses (item 14) --------------------------------------


def receive_messages(assoc: Association, deliver: Callable[[DIMSEMessage], None]) -> None:
    """Hand each complete message to ``deliver``, in the reader's thread, in order.

    pynetdicom's ``receive_primitive`` decodes a message as we do here and
    triggers ``EVT_DIMSE_RECV``, then queues it on ``msg_queue`` (or starts a
    thread for an N-EVENT-REPORT request). Here it goes to ``deliver``
    instead. Installed before :func:`bound_reading`, whose guard wraps it: a
    message that does not decode, or that ``deliver`` cannot take, ends in an
    A-ABORT.
    """
    dimse = assoc.dimse

    def receive_primitive(primitive: P_DATA) -> None:
        if dimse.message is None:
            dimse.message = DIMSEMessage()
        message = dimse.message
        if not message.decode_msg(primitive, assoc):
            return
        dimse.message = None
        evt.trigger(assoc, evt.EVT_DIMSE_RECV, {"message": message})
        deliver(message)

    dimse.receive_primitive = receive_primitive  # type: ignore[method-assign]


def message_fields(message: DIMSEMessage) -> Fields:
    """A received message's command set as pydicom decoded it: the plain path's reading."""
    return dataset_fields(message.command_set)


class Responses:
    """Every message the peer sends on a batch's association, for the batch alone (item 14).

    Not a speed trick: pynetdicom 3.0.4's association loop takes messages off
    ``msg_queue`` while ``send_n_event_report`` waits on the same queue, and
    its pause between two requests is racy, so back to back it sometimes
    takes the next response itself, drops it as unexpected, and the sender
    waits out its timeout. A batch with a window of more than one request
    outstanding cannot use ``send_n_event_report`` at all (it waits for each
    answer before it returns). So a batch reads its responses itself: from
    the connection on, each message's command set (read by ``read``:
    :func:`message_fields`, or the fast path's hand reading) and data set come
    here (:func:`receive_messages`), none to pynetdicom's queue. Its
    :meth:`handlers` go first to ``associate``.
    """

    def __init__(self, read: Callable[[DIMSEMessage], Fields] = message_fields) -> None:
        self._read = read
        self._messages: queue.SimpleQueue[tuple[Fields, BytesIO | None]] = queue.SimpleQueue()

    def handlers(self) -> list[tuple[Any, Callable[[evt.Event], None]]]:
        return [(evt.EVT_CONN_OPEN, lambda event: receive_messages(event.assoc, self._put))]

    def _put(self, message: DIMSEMessage) -> None:
        self._messages.put((self._read(message), message.data_set))

    def next(self, timeout: float) -> tuple[Fields, BytesIO | None] | None:
        """The next message's command set and data set, or None within ``timeout``."""
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            return None
