"""Every use of pynetdicom's internals, in one room.

pynetdicom 3.0 has no public way to do several things a test tool must do.
Each is listed here with its reason; ``tests/association/test_internals.py`` fails loudly
when a pinned internal moves (pynetdicom is pinned to ``>=3.0.4,<3.1``). All
of them are applied to dcmreport's own associations, one at a time, when the
listener or the requestor sets them up: importing dcmreport changes nothing
in pynetdicom for other code in the same process.

1. ``Association._serve_request`` (per association, :func:`serve_requests`):
   pynetdicom picks the service for a request from its Affected SOP Class UID,
   so an N-EVENT-REPORT about a storage class gets a C-STORE-RSP and one about
   an unknown class aborts the association. We take every request before
   that lookup (the listener serves N-EVENT-REPORT, storage commitment's
   N-ACTION and refuses the rest) and leave C-ECHO to pynetdicom.
2. ``DULServiceProvider.send_pdu`` (per association, :class:`DeliveryTracker`): to
   learn whether an answer reached the socket we count the P-DATA primitives
   queued for the peer, and ``EVT_DATA_SENT`` (public) counts those written.
3. ``DIMSEServiceProvider.send_msg`` and the ``N_EVENT_REPORT`` primitive
   (:func:`send_response`): we build and send the response ourselves, so the
   status is exactly the one decided (pynetdicom rewrites unknown ones).
4. ``AssociationSocket.socket`` (:func:`no_delay`): the raw socket, to turn
   Nagle's algorithm off. A command and its data set are separate writes, so
   with Nagle each round trip waits for a delayed ACK (about 48 ms on
   loopback, 4.5 ms without).
5. ``ACSE.send_reject`` and ``Association.kill`` (:func:`reject`): pynetdicom
   rejects only for its own reasons; ``--reject`` needs any result, source and
   reason, sent from ``EVT_REQUESTED`` as pynetdicom itself does.
6. pynetdicom's log text (:class:`Diagnostics`): why a connection failed or
   which timeout expired is only logged ("TCP Initialisation Error", "ACSE
   timeout", "DIMSE timeout", "No accepted presentation contexts").
7. ``Association.send_n_event_report`` reads ``EventReply`` off whatever
   response arrives, and ``send_n_action`` ``ActionReply``; a C-ECHO-RSP
   instead raises AttributeError (:func:`send_report_request` and
   :func:`send_action_request` turn that into "no status").
8. ``DULServiceProvider._read_pdu_data``, ``_decode_pdu``, ``_recv_pdu``,
   ``event_queue``, ``to_user_queue`` and ``_kill_thread``
   (:class:`BoundedReader`): pynetdicom reads whatever length a PDU header
   claims, blocking without a deadline; ours refuses an oversized PDU from its
   header, gives a whole PDU one deadline and counts data set bytes as they
   arrive. A connection that closes before its A-ASSOCIATE-RQ, seen by our
   reader or closed by pynetdicom itself (``EVT_CONN_CLOSE``: after an A-ABORT
   for a PDU out of turn), ends the acceptor's wait for one at once
   (``to_user_queue.put(None)`` is what an ACSE timeout looks like to it), so
   it frees its slot. An A-ASSOCIATE-RQ or A-ABORT whose primitive pynetdicom
   cannot make (``to_primitive``, which it calls in its own thread and dies
   of) is answered with an A-ABORT (2, 6) here instead. Also
   ``DIMSEServiceProvider.receive_primitive`` and ``StateMachine.do_action``:
   a command pynetdicom cannot decode, or an event its state table does not
   allow, kills the reader's thread without an A-ABORT; we send one.
9. ``negotiate_as_acceptor`` indexes the first transfer syntax of every
   proposed context it rejects, and fails in its thread, answering nothing,
   on a context that proposes none (:func:`placeholder_transfer_syntax`).
10. The TLS handshake (:func:`tls_handshake`, DICOM over TLS): pynetdicom
   runs a listener's handshake in ``AssociationServer.get_request``, its
   accept loop, where a peer that connects and stays silent holds up every
   other connection and a failed handshake is dropped without a word
   (socketserver swallows the OSError); and a requestor's inside
   ``AssociationSocket.connect``, where it reads as "cannot connect". Our
   contexts wrap sockets without the handshake (``dcmreport.association.tls``); we run
   it from ``EVT_CONN_OPEN`` on ``AssociationSocket.socket`` (item 4), which
   pynetdicom triggers before the association reads or writes a byte.
   pynetdicom logs a TLS error that ends an association later (a TLS 1.3
   peer refusing our certificate after the handshake) with its exception,
   which :class:`Diagnostics` keeps (item 6).
11. ``Association.kill`` and ``StateMachine.transition`` (:func:`prompt_close`):
   ``kill`` (every release and abort ends in it) polls every 10 ms until the
   DUL's state machine is idle (Sta1). A release wakes it as soon as the
   A-RELEASE-RP is queued, microseconds before the same action closes the
   connection and moves to Sta1, so most releases slept 10 ms for nothing.
   The transition to Sta1 wakes us instead, then pynetdicom's ``kill`` runs
   and finds Sta1 at once.
12. The DUL reactor's polling (:class:`Reactor`): ``DULServiceProvider.run_reactor``
   sleeps ``_run_loop_delay`` (1 ms) whenever a pass finds nothing to do, so
   every PDU waits up to a millisecond to be read and every message we queue
   up to a millisecond to be written: two or more such waits per round trip
   on each side, most of a loopback report's time. We set the delay to 0
   and make ``_is_transport_event`` wait in ``select`` on the socket and a
   wake-up pipe that ``send_pdu``, ``kill_dul`` and ``stop_dul`` write to:
   the thread sleeps until there is something to do (lower latency, and less
   CPU for an idle association than polling). The pipe is closed from the
   reactor's own thread once the connection has closed (``EVT_CONN_CLOSE``);
   after that the reactor polls as pynetdicom does until it stops.
13. ``DIMSEMessage.primitive_to_message`` and ``encode_msg``, the tables
   ``_RQ_TO_MESSAGE``/``_RSP_TO_MESSAGE`` (:func:`send_message`): pynetdicom's
   ``send_msg`` queues each fragment as its own P-DATA-TF PDU, so a command
   and its data set are two PDUs, two writes and two wake-ups of the
   reactor. We pack the same fragments (PDVs) into as few PDUs as the peer's
   maximum length allows (PS3.8 9.3.5: a P-DATA-TF carries one or more
   PDVs): a report or an answer of ordinary size is one PDU, one write
   (:func:`send_encoded`). N-EVENT-REPORT answers and a batch's requests
   skip pynetdicom's message classes altogether: their command sets are
   encoded by :mod:`~dcmreport.association.command`, and a batch encodes a
   repeated data set once.
14. ``DIMSEServiceProvider.msg_queue`` (:class:`Responses`): the requestor's
   association reactor takes messages off ``msg_queue`` with
   ``get_msg(block=False)`` while ``send_n_event_report`` waits on the same
   queue; its pause between two requests is racy, so back to back it
   sometimes takes the next response itself and the sender waits out its
   timeout (pynetdicom 3.0.4). A batch's messages never reach that queue:
   item 17's ``receive_primitive`` hands each one's command set and data
   set to the batch, in the reader's thread, without building pynetdicom's
   primitive (which the batch would not read: a sixth of its CPU).
15. ``pynetdicom._handlers.standard_dimse_recv_handler`` and its three
   siblings (:func:`no_debug_handlers`): every association binds them to
   describe each PDU and message in pynetdicom's debug log, and they build
   that text (decoding the command set again) whether or not anything logs
   it: about a seventh of a batch's CPU time. dcmreport shows pynetdicom's
   log only with ``-d``; otherwise we unbind them from our associations.
16. ``Association._run_reactor``'s polling (:class:`AssociationWake`): besides
   the DUL's reactor (item 12), each association runs a loop of its own that
   sleeps 1 ms, then looks for a message (``dimse.get_msg(block=False)``), a
   release or abort (``dul.to_user_queue``), a dead DUL or an expired idle
   timer: on two shared cores every idle association's loop costs CPU, and a
   request it serves waits for its next pass. Our ``get_msg`` waits for an
   event instead, up to :data:`_IDLE_WAIT` (the idle timer's granularity):
   a put on ``msg_queue`` or ``to_user_queue``, the connection's close, a
   ``kill`` (it sets ``_kill`` first) or a pause (``release`` and the
   ``send_*`` methods clear ``_reactor_checkpoint`` and poll ``_is_paused``,
   which the loop sets only after ``get_msg`` returns).
17. ``DIMSEServiceProvider.receive_primitive`` and ``message``
   (:func:`receive_messages`): pynetdicom starts a thread per N-EVENT-REPORT
   request (so a requestor can be told of events while it waits for its own
   answer), and queues every other message for the association's loop. A
   listener's thread start per report is a good part of its CPU, and answers
   to reports of one association may leave in any order. Ours decodes the
   message and triggers ``EVT_DIMSE_RECV`` as pynetdicom does, then hands it
   on: the listener (:func:`serve_in_order`) queues every request for the
   association's own loop (item 16 wakes it), which serves them one at a
   time, in order (item 1), and keeps a C-CANCEL as pynetdicom does; a
   message that does not make a primitive raises into item 8's guard (an
   A-ABORT, as pynetdicom's own Evt19); an N-EVENT-REPORT-RQ's primitive is
   made from its hand-read command set (``_context_id`` set as
   ``message_to_primitive`` does). A batch gets its messages whole
   (item 14). Installed before :func:`bound_reading`, whose guard wraps it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
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
from pynetdicom._handlers import (
    standard_dimse_recv_handler,
    standard_dimse_sent_handler,
    standard_pdu_recv_handler,
    standard_pdu_sent_handler,
)
from pynetdicom.association import Association
from pynetdicom.dimse import _RQ_TO_MESSAGE, _RSP_TO_MESSAGE
from pynetdicom.dimse_messages import N_EVENT_REPORT_RQ, DIMSEMessage
from pynetdicom.dimse_primitives import C_CANCEL, N_EVENT_REPORT
from pynetdicom.dsutils import encode
from pynetdicom.fsm import InvalidEventError
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT, P_DATA
from pynetdicom.presentation import PresentationContext

from dcmreport.association import command, tls
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


def serve_requests(
    assoc: Association,
    serve_report: ReportServer,
    serve_other: Callable[[Association, Any, PresentationContext], bool] | None = None,
) -> None:
    """Route this association's N-EVENT-REPORT requests to ``serve_report`` (item 1).

    Other requests go to ``serve_other`` when given (it returns False for
    those pynetdicom should serve, C-ECHO); else to pynetdicom. Both run in
    the association's own thread, as pynetdicom's services do.
    """
    original = assoc._serve_request

    def route(msg: Any, context_id: int) -> None:
        context = assoc._accepted_cx.get(context_id)
        if context is None:
            original(msg, context_id)  # an unknown context: pynetdicom aborts, as PS3.8 says
            return
        assoc._is_paused = True  # as pynetdicom does while a service runs
        try:
            if isinstance(msg, N_EVENT_REPORT):
                serve_report(assoc, msg, context)
            elif serve_other is None or not serve_other(assoc, msg, context):
                assoc._is_paused = False
                original(msg, context_id)
        finally:
            assoc._is_paused = False

    assoc._serve_request = route  # type: ignore[method-assign]


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


def send_message(assoc: Association, primitive: Any, context_id: int) -> None:
    """``dimse.send_msg``, the message in as few P-DATA PDUs as fit (item 13)."""
    table = _RQ_TO_MESSAGE if primitive.MessageIDBeingRespondedTo is None else _RSP_TO_MESSAGE
    message = table[type(primitive)]()
    message.primitive_to_message(primitive)
    message.context_id = context_id
    evt.trigger(assoc, evt.EVT_DIMSE_SENT, {"message": message})
    data = message.data_set.getvalue() if message.data_set is not None else None
    command = encode(message.command_set, True, True)  # the command set: Implicit VR LE
    send_encoded(assoc, context_id, cast(bytes, command), data)


def send_report_response(assoc: Association, rsp: command.ReportResponse, context_id: int) -> None:
    """An N-EVENT-REPORT-RSP, its command set encoded by hand: the listener's hot path."""
    data = rsp.EventReply
    send_encoded(assoc, context_id, command.report_response(rsp, data is not None), data)


# PS3.8 E.2, the message control header of a PDV: bit 0 command, bit 1 last fragment
_COMMAND, _DATA = 0x01, 0x00
_LAST = 0x02


def _fragments(context_id: int, kind: int, value: bytes, step: int) -> list[tuple[int, bytes]]:
    """PDVs of at most ``step`` bytes of ``value``, the last one marked last."""
    starts = range(0, len(value), step) if value else range(1)
    return [
        (
            context_id,
            bytes([kind | (_LAST if start + step >= len(value) else 0)])
            + value[start : start + step],
        )
        for start in starts
    ]


def send_encoded(assoc: Association, context_id: int, command: bytes, data: bytes | None) -> None:
    """An encoded command set and data set, in as few P-DATA PDUs as the peer takes (item 13).

    Each PDU is one write; a command with a data set of ordinary size is one PDU.
    """
    max_pdu = assoc.dimse.maximum_pdu_size or 0
    step = max_pdu - 6 if max_pdu else max(len(command), len(data or b""), 1)
    items = _fragments(context_id, _COMMAND, command, step)
    if data is not None:
        items += _fragments(context_id, _DATA, data, step)
    packed = P_DATA()
    size = 0
    for item in items:
        item_size = 4 + len(item[1])  # the PDV item's length field and its value
        if packed.presentation_data_value_list and max_pdu and size + item_size > max_pdu:
            assoc.dul.send_pdu(packed)
            packed, size = P_DATA(), 0
        packed.presentation_data_value_list.append(item)
        size += item_size
    assoc.dul.send_pdu(packed)


def send_response(
    assoc: Association, tracker: DeliveryTracker, rsp: Any, context_id: int
) -> Delivery:
    """Send a response and learn whether it was written before the association ended (item 3)."""
    if not assoc.is_established:
        return Delivery(False, "the association ended before the answer was sent")
    if isinstance(rsp, command.ReportResponse):
        send_report_response(assoc, rsp, context_id)
    else:
        send_message(assoc, rsp, context_id)
    # Everything queued so far, ours last: the DUL writes in order.
    return tracker.wait_written(tracker.queued(), assoc.dimse_timeout or 30.0)


def report_response(
    req: N_EVENT_REPORT,
    status: int,
    reply: bytes | None,
    with_event_type: bool,
    error_comment: str | None = None,
    error_id: int | None = None,
) -> command.ReportResponse:
    """The N-EVENT-REPORT-RSP for ``req`` (PS3.7 10.1.1: Event Type ID is conditional)."""
    return command.ReportResponse(
        MessageIDBeingRespondedTo=req.MessageID if req.MessageID is not None else 0,
        AffectedSOPClassUID=str(req.AffectedSOPClassUID or ""),
        AffectedSOPInstanceUID=str(req.AffectedSOPInstanceUID or ""),
        Status=status,
        EventTypeID=req.EventTypeID if with_event_type else None,
        ErrorComment=error_comment or None,
        ErrorID=error_id,
        EventReply=reply,
    )


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


def no_delay(assoc: Association) -> None:
    """Turn Nagle's algorithm off on the association's socket (item 4)."""
    sock = assoc.dul.socket.socket if assoc.dul.socket else None
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# How long prompt_close waits for Sta1 before leaving it to kill's own polling: one poll.
_KILL_POLL = 0.01


def prompt_close(assoc: Association) -> None:
    """Let ``assoc.kill`` start the moment the DUL is idle, not at its next 10 ms poll (item 11).

    Bounded by one of pynetdicom's polls, so a DUL that never gets there (or
    a kill from its own thread) is left to ``kill`` exactly as before.
    """
    machine, dul, kill = assoc.dul.state_machine, assoc.dul, assoc.kill
    changed = threading.Condition()
    transition = machine.transition

    def signalled(state: str) -> None:
        transition(state)
        if state == "Sta1":
            with changed:
                changed.notify_all()

    def prompt_kill() -> None:
        with changed:
            changed.wait_for(
                lambda: machine.current_state == "Sta1" or not dul.is_alive(), _KILL_POLL
            )
        kill()

    machine.transition = signalled  # type: ignore[method-assign]
    assoc.kill = prompt_kill  # type: ignore[method-assign]


def reject(assoc: Association, result: int, source: int, reason: int) -> None:
    """Send an A-ASSOCIATE-RJ from ``EVT_REQUESTED`` and end the association (item 5)."""
    assoc.acse.send_reject(result, source, reason)
    assoc.kill()  # as pynetdicom does: waits until the A-ASSOCIATE-RJ is out


class Diagnostics(logging.Handler):
    """Collect what pynetdicom only logs: why a connect failed, which timeout expired (item 6)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []
        self.connected = False
        self.tls_error: ssl.SSLError | None = None

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
        no_delay(event.assoc)

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


def send_report_request(assoc: Association, *args: Any, **kwargs: Any) -> tuple[Dataset, Any]:
    """``send_n_event_report``; a response of the wrong type gives an empty status (item 7)."""
    try:
        status, reply = assoc.send_n_event_report(*args, **kwargs)
    except AttributeError:  # pynetdicom reads EventReply off a response of the wrong type
        return Dataset(), None
    return status, reply


def send_action_request(assoc: Association, *args: Any, **kwargs: Any) -> Dataset:
    """``send_n_action``'s status; a response of the wrong type gives an empty one (item 7)."""
    try:
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
            self._invalid()  # unrecognised PDU: the state machine aborts
            return
        try:
            decoded, event = self._dul._decode_pdu(bytearray(pdu))
        except Exception:  # a malformed PDU: pynetdicom's own answer, an A-ABORT
            self._invalid()
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
        """One log line, an A-ABORT, the connection closed, the association ended."""
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

    def _invalid(self) -> None:
        """An unrecognised or malformed PDU: pynetdicom's A-ABORT, then the connection closed.

        Evt19 sends the A-ABORT and waits in Sta13 for the peer to close, up to
        the ARTIM timeout (30 s), holding the slot; the Evt17 queued after it
        ends that wait as soon as the A-ABORT is out.
        """
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
    assoc: Association, limits: PduLimits, log: Callable[[Association, str], None]
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
    """
    reader = BoundedReader(assoc, limits, log)
    assoc.dul._read_pdu_data = reader  # type: ignore[method-assign]
    receive = assoc.dimse.receive_primitive

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


def tls_handshake(assoc: Association, timeout: float | None) -> tls.Handshake | None:
    """Run the deferred TLS handshake on the association's socket; None for plain DICOM (item 10).

    Called from ``EVT_CONN_OPEN``, before the association reads or writes.
    """
    sock = assoc.dul.socket.socket if assoc.dul.socket else None
    return tls.handshake(sock, timeout) if sock is not None else None


# --- the DUL reactor without polling sleeps (item 12) --------------------------------------

# How long the reactor sleeps when nothing happens: its timers (ARTIM) and a kill that
# did not wake it are noticed within this. Anything to read or send wakes it at once.
_IDLE_WAIT = 0.05
_POLL_DELAY = 0.001  # pynetdicom's own, for the reactor's last passes after the connection closed


class Reactor:
    """Wake the DUL reactor when there is work instead of polling it every millisecond (item 12).

    Installed from ``EVT_CONN_OPEN`` (the socket is connected), before the
    association reads or writes.
    """

    def __init__(self, assoc: Association) -> None:
        self._dul = assoc.dul
        self._lock = threading.Lock()  # a wake-up never writes to a pipe being closed
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._open = True
        # A kill that never reaches a closed connection: the pipe goes with the object.
        self._finalizer = weakref.finalize(self, _close_pipe, self._wake_read, self._wake_write)
        self._original = self._dul._is_transport_event
        dul = self._dul
        send_pdu, kill_dul, stop_dul = dul.send_pdu, dul.kill_dul, dul.stop_dul

        def send_and_wake(primitive: Any) -> None:
            send_pdu(primitive)
            self.wake()

        def kill_and_wake() -> None:
            kill_dul()
            self.wake()

        def stop_and_wake() -> bool:
            if dul.state_machine.current_state == "Sta1":
                dul._kill_thread = True  # what stop_dul does first: let the woken reactor see it
                self.wake()
            return stop_dul()

        dul.send_pdu = send_and_wake  # type: ignore[method-assign]
        dul.kill_dul = kill_and_wake  # type: ignore[method-assign]
        dul.stop_dul = stop_and_wake  # type: ignore[method-assign]
        dul._is_transport_event = self._transport_event  # type: ignore[method-assign]
        dul._run_loop_delay = 0.0
        assoc.bind(evt.EVT_CONN_CLOSE, self._on_closed)

    def wake(self) -> None:
        with self._lock:
            if self._open:
                with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
                    os.write(self._wake_write, b"\0")

    def _transport_event(self) -> bool:
        """pynetdicom's check for incoming data, waiting for it (or a wake-up) when idle."""
        dul = self._dul
        sock = dul.socket.socket if dul.socket is not None else None
        if not self._open or sock is None or dul.state_machine.current_state == "Sta13":
            return bool(self._original())
        busy = not dul.event_queue.empty() or not dul.to_provider_queue.empty()
        buffered = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        wait = 0 if busy or buffered or dul._kill_thread else _IDLE_WAIT
        try:
            ready, _, _ = select.select([sock.fileno(), self._wake_read], [], [], wait)
        except (OSError, ValueError):  # the socket is gone: as AssociationSocket.ready says it
            dul.event_queue.put("Evt17")
            return False
        if self._wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_read, 4096)
        if buffered or sock.fileno() in ready:
            dul._read_pdu_data()
            return True
        return False

    def _on_closed(self, event: evt.Event) -> None:
        """In the reactor's thread, after the socket closed: back to pynetdicom's polling."""
        with self._lock:
            self._open = False
        self._dul._run_loop_delay = _POLL_DELAY
        self._finalizer()


def _close_pipe(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


# --- a batch's responses (item 14) ---------------------------------------------------------


class Responses:
    """Every message the peer sends on a requestor's association, for the batch alone (item 14).

    Its :meth:`handlers` go first to ``associate``: from the connection on,
    each message's command set and data set come here (item 17), none to the
    association's reactor.
    """

    def __init__(self) -> None:
        self._messages: queue.SimpleQueue[tuple[command.Fields, BytesIO | None]] = (
            queue.SimpleQueue()
        )

    def handlers(self) -> list[tuple[Any, Callable[[evt.Event], None]]]:
        return [(evt.EVT_CONN_OPEN, lambda event: receive_messages(event.assoc, self._put))]

    def _put(self, message: DIMSEMessage) -> None:
        fields = command.read_fields(message.encoded_command_set.getvalue())
        if fields is None:
            fields = command.dataset_fields(message.command_set)
        self._messages.put((fields, message.data_set))

    def next(self, timeout: float) -> tuple[command.Fields, BytesIO | None] | None:
        """The next message's command set and data set, or None within ``timeout``."""
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            return None


# --- pynetdicom's debug descriptions (item 15) ---------------------------------------------

_DEBUG_HANDLERS = (
    (evt.EVT_DIMSE_RECV, standard_dimse_recv_handler),
    (evt.EVT_DIMSE_SENT, standard_dimse_sent_handler),
    (evt.EVT_PDU_RECV, standard_pdu_recv_handler),
    (evt.EVT_PDU_SENT, standard_pdu_sent_handler),
)


def no_debug_handlers(assoc: Association) -> None:
    """Unbind pynetdicom's debug log handlers unless its debug log is shown (-d) (item 15)."""
    if logging.getLogger("pynetdicom").isEnabledFor(logging.DEBUG):
        return
    for event, handler in _DEBUG_HANDLERS:
        assoc.unbind(event, handler)


# --- the association's loop without polling sleeps (item 16) -------------------------------


class AssociationWake:
    """Wake the association's own loop when it has work instead of every millisecond (item 16).

    Installed from ``EVT_CONN_OPEN``, with :class:`Reactor`. ``get_msg`` with
    ``block=True`` (a ``send_*`` waiting for its answer) is pynetdicom's own.
    """

    def __init__(self, assoc: Association) -> None:
        self._assoc = assoc
        self._work = threading.Event()
        for waiting in (assoc.dimse.msg_queue, assoc.dul.to_user_queue):
            waiting.put = self._waking(waiting.put)  # type: ignore[method-assign]
        checkpoint = assoc._reactor_checkpoint
        checkpoint.clear = self._waking(checkpoint.clear)  # type: ignore[method-assign]
        kill, get_msg = assoc.kill, assoc.dimse.get_msg

        def kill_and_wake() -> None:
            assoc._kill = True  # what kill does first: the woken loop sees it and ends
            self._work.set()
            kill()

        def get_msg_or_wait(block: bool = False) -> tuple[Any, Any]:
            if block:
                return cast(tuple[Any, Any], get_msg(block=True))
            found = get_msg(block=False)
            if found[1] is None and not assoc._kill:
                self._work.wait(_IDLE_WAIT)
                self._work.clear()  # a put after this finds its item taken or sets it again
                found = get_msg(block=False)
            return cast(tuple[Any, Any], found)

        assoc.kill = kill_and_wake  # type: ignore[method-assign]
        assoc.dimse.get_msg = get_msg_or_wait  # type: ignore[method-assign]
        assoc.bind(evt.EVT_CONN_CLOSE, lambda event: self._work.set())

    def _waking(self, action: Callable[..., Any]) -> Callable[..., Any]:
        def act_and_wake(*args: Any, **kwargs: Any) -> Any:
            result = action(*args, **kwargs)
            self._work.set()
            return result

        return act_and_wake


# --- complete messages handed on from the reader's thread (item 17) -----------------------


def receive_messages(assoc: Association, deliver: Callable[[DIMSEMessage], None]) -> None:
    """Hand each complete message to ``deliver``, in the reader's thread, in order (item 17)."""
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


def serve_in_order(assoc: Association) -> None:
    """Queue every complete request for the association's loop, no thread per report (item 17)."""
    dimse = assoc.dimse

    def queue_request(message: DIMSEMessage) -> None:
        request = _report_request(message) or message.message_to_primitive()
        if isinstance(request, C_CANCEL) and len(dimse.cancel_req) < 10:
            dimse.cancel_req[int(request.MessageIDBeingRespondedTo or 0)] = request
            return
        dimse.msg_queue.put((cast(int, message.context_id), cast(Any, request)))

    receive_messages(assoc, queue_request)


_REPORT_FIELDS = ("MessageID", "AffectedSOPClassUID", "AffectedSOPInstanceUID", "EventTypeID")


def _report_request(message: DIMSEMessage) -> N_EVENT_REPORT | None:
    """``message_to_primitive`` for an N-EVENT-REPORT-RQ from its hand-read command set
    (item 17): the same primitive, each field through its checking setter; None for any other
    message or an unusual command set, which pynetdicom converts."""
    if not isinstance(message, N_EVENT_REPORT_RQ):
        return None
    fields = command.read_fields(message.encoded_command_set.getvalue())
    if fields is None:
        return None
    request = N_EVENT_REPORT()
    for keyword in _REPORT_FIELDS:
        if fields.get(keyword) is not None:  # pynetdicom sets an empty US as None, the default
            setattr(request, keyword, fields[keyword])
    request.EventInformation = message.data_set
    request._context_id = message.context_id
    return request
