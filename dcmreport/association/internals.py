"""Every use of pynetdicom's internals, in one room.

pynetdicom 3.0 has no public way to do several things a test tool must do.
Each is listed here with its reason; ``tests/test_internals.py`` fails loudly
when a pinned internal moves (pynetdicom is pinned to ``>=3.0.4,<3.1``). All
of them are applied to dcmreport's own associations, one at a time, when the
listener or the requestor sets them up: importing dcmreport changes nothing
in pynetdicom for other code in the same process.

1. ``Association._serve_request`` (per association, :func:`serve_requests`):
   pynetdicom picks the service for a request from its Affected SOP Class UID,
   so an N-EVENT-REPORT about a storage class gets a C-STORE-RSP and one about
   an unknown class aborts the association. We take N-EVENT-REPORT requests
   before that lookup and leave every other request to pynetdicom.
2. ``DULServiceProvider.send_pdu`` (per association, :class:`Delivery`): to
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
   response arrives; a C-ECHO-RSP instead raises AttributeError
   (:func:`send_report_request` turns that into "no status").
8. The TLS handshake (:func:`tls_handshake`, DICOM over TLS): pynetdicom
   runs a listener's handshake in ``AssociationServer.get_request``, its
   accept loop, where a peer that connects and stays silent holds up every
   other connection and a failed handshake is dropped without a word
   (socketserver swallows the OSError); and a requestor's inside
   ``AssociationSocket.connect``, where it reads as "cannot connect". Our
   contexts wrap sockets without the handshake (``dcmreport.tls``); we run
   it from ``EVT_CONN_OPEN`` on ``AssociationSocket.socket`` (item 4), which
   pynetdicom triggers before the association reads or writes a byte.
   pynetdicom logs a TLS error that ends an association later (a TLS 1.3
   peer refusing our certificate after the handshake) with its exception,
   which :class:`Diagnostics` keeps (item 6).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any

from pydicom import Dataset
from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.pdu_primitives import P_DATA
from pynetdicom.presentation import PresentationContext

from dcmreport import tls
from dcmreport.records import Delivery

LOG = logging.getLogger("dcmreport")

# What pynetdicom logs, and what we read from it (item 6).
CONNECT_FAILED = "TCP Initialisation Error: "
ACSE_TIMEOUT = "ACSE timeout"
DIMSE_TIMEOUT = "DIMSE timeout"
NO_CONTEXTS = "No accepted presentation contexts"

ReportServer = Callable[[Association, N_EVENT_REPORT, PresentationContext], None]


def serve_requests(assoc: Association, serve_report: ReportServer) -> None:
    """Route this association's N-EVENT-REPORT requests to ``serve_report`` (item 1).

    ``serve_report`` runs in the association's own thread, as pynetdicom's
    services do; other requests (C-ECHO) keep pynetdicom's routing.
    """
    original = assoc._serve_request

    def route(msg: Any, context_id: int) -> None:
        context = assoc._accepted_cx.get(context_id)
        if not isinstance(msg, N_EVENT_REPORT) or context is None:
            original(msg, context_id)  # an unknown context: pynetdicom aborts, as PS3.8 says
            return
        assoc._is_paused = True  # as pynetdicom does while a service runs
        try:
            serve_report(assoc, msg, context)
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


def send_response(
    assoc: Association, tracker: DeliveryTracker, rsp: N_EVENT_REPORT, context_id: int
) -> Delivery:
    """Send a response and learn whether it was written before the association ended (item 3)."""
    if not assoc.is_established:
        return Delivery(False, "the association ended before the answer was sent")
    assoc.dimse.send_msg(rsp, context_id)
    # Everything queued so far, ours last: the DUL writes in order.
    return tracker.wait_written(tracker.queued(), assoc.dimse_timeout or 30.0)


def report_response(
    req: N_EVENT_REPORT, status: Dataset, reply: bytes | None, with_event_type: bool
) -> N_EVENT_REPORT:
    """An N-EVENT-REPORT-RSP primitive for ``req`` (PS3.7 10.1.1: Event Type ID is conditional)."""
    rsp = N_EVENT_REPORT()
    rsp.MessageIDBeingRespondedTo = req.MessageID
    rsp.AffectedSOPClassUID = req.AffectedSOPClassUID
    rsp.AffectedSOPInstanceUID = req.AffectedSOPInstanceUID
    if with_event_type:
        rsp.EventTypeID = req.EventTypeID
    rsp.Status = int(status.Status)
    for keyword in ("ErrorComment", "ErrorID"):
        if keyword in status:
            setattr(rsp, keyword, status[keyword].value)
    if reply is not None:
        rsp.EventReply = BytesIO(reply)
    return rsp


def no_delay(assoc: Association) -> None:
    """Turn Nagle's algorithm off on the association's socket (item 4)."""
    sock = assoc.dul.socket.socket if assoc.dul.socket else None
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


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
            self.tls_error = record.exc_info[1]  # item 8: a TLS alert after the handshake

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


def tls_handshake(assoc: Association, timeout: float | None) -> tls.Handshake | None:
    """Run the deferred TLS handshake on the association's socket; None for plain DICOM (item 8).

    Called from ``EVT_CONN_OPEN``, before the association reads or writes.
    """
    sock = assoc.dul.socket.socket if assoc.dul.socket else None
    return tls.handshake(sock, timeout) if sock is not None else None
