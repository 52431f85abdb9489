"""The fast path: pynetdicom's internals bent for speed alone, applied only with the switch on.

Each item is numbered as in :mod:`dcmreport.association.internals`, whose
docstring gives its reason and the internal it reads. Nothing here is needed
for correctness: with ``DCMREPORT_SPEEDUPS=off`` (or pynetdicom outside the
range in :data:`dcmreport.speedups.TRICKS`) the listener and the requestor
never call into this module, and pynetdicom does the same work its own way.
They call :func:`install` from ``EVT_CONN_OPEN``, before the guards' reader
(:func:`~dcmreport.association.internals.guards.bound_reading`), whose guard
then wraps what item 17 installs; a batch also takes :class:`ReportRequests`
and :func:`read_fields`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import ssl
import threading
import weakref
from collections.abc import Callable
from typing import Any, Literal, cast

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
from pynetdicom.pdu_primitives import P_DATA

from dcmreport.association import command
from dcmreport.association.common import Fields, dataset_fields
from dcmreport.association.internals import guards

Side = Literal["requestor", "listener"]


def install(assoc: Association, side: Side) -> None:
    """Every speed trick for one association, from ``EVT_CONN_OPEN`` (the socket is connected,
    nothing read or written yet).

    Both sides: no Nagle (4), the DUL's reactor and the association's loop
    woken instead of polling (12, 16), no debug text unless shown (15), a
    prompt end (11), responses in one write (13). A listener also serves its
    requests in order on the association's own thread (17). Call it before
    :func:`~dcmreport.association.internals.guards.bound_reading`.
    """
    no_delay(assoc)
    Reactor(assoc)
    no_debug_handlers(assoc)
    prompt_close(assoc)
    AssociationWake(assoc)
    guards.use_sender(assoc, send_response)
    if side == "listener":
        serve_in_order(assoc)


# --- Nagle's algorithm off (item 4) --------------------------------------------------------


def no_delay(assoc: Association) -> None:
    """Turn Nagle's algorithm off on the association's socket (item 4)."""
    sock = assoc.dul.socket.socket if assoc.dul.socket else None
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# --- a prompt end (item 11) ---------------------------------------------------------------

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


# --- one write per message (item 13) -------------------------------------------------------


def send_response(assoc: Association, rsp: Any, context_id: int) -> None:
    """The guards' ``send_response`` on the fast path (item 13): an N-EVENT-REPORT-RSP's command
    set encoded by hand, any other response packed by :func:`send_message`."""
    if isinstance(rsp, guards.ReportResponse):
        send_report_response(assoc, rsp, context_id)
    else:
        send_message(assoc, rsp, context_id)


def send_message(assoc: Association, primitive: Any, context_id: int) -> None:
    """``dimse.send_msg``, the message in as few P-DATA PDUs as fit (item 13)."""
    table = _RQ_TO_MESSAGE if primitive.MessageIDBeingRespondedTo is None else _RSP_TO_MESSAGE
    message = table[type(primitive)]()
    message.primitive_to_message(primitive)
    message.context_id = context_id
    evt.trigger(assoc, evt.EVT_DIMSE_SENT, {"message": message})
    data = message.data_set.getvalue() if message.data_set is not None else None
    command_set = encode(message.command_set, True, True)  # the command set: Implicit VR LE
    send_encoded(assoc, context_id, cast(bytes, command_set), data)


def send_report_response(assoc: Association, rsp: guards.ReportResponse, context_id: int) -> None:
    """An N-EVENT-REPORT-RSP, its command set encoded by hand, without pynetdicom's primitive
    (whose setters check each UID again) or a Dataset for the status (item 13)."""
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


def send_encoded(
    assoc: Association, context_id: int, command_set: bytes, data: bytes | None
) -> None:
    """An encoded command set and data set, in as few P-DATA PDUs as the peer takes (item 13).

    Each PDU is one write; a command with a data set of ordinary size is one PDU.
    """
    max_pdu = assoc.dimse.maximum_pdu_size or 0
    step = max_pdu - 6 if max_pdu else max(len(command_set), len(data or b""), 1)
    items = _fragments(context_id, _COMMAND, command_set, step)
    if data is not None:
        items += _fragments(context_id, _DATA, data, step)
    pdus: list[P_DATA] = []
    packed, size = P_DATA(), 0
    for item in items:
        item_size = 4 + len(item[1])  # the PDV item's length field and its value
        if packed.presentation_data_value_list and max_pdu and size + item_size > max_pdu:
            pdus.append(packed)
            packed, size = P_DATA(), 0
        packed.presentation_data_value_list.append(item)
        size += item_size
    pdus.append(packed)
    with guards.message_lock(assoc):  # a message's PDUs never interleave with another's
        for pdu in pdus:
            assoc.dul.send_pdu(pdu)


class ReportRequests:
    """A batch's N-EVENT-REPORT-RQs on the fast path (item 13): each kind of report's command set
    encoded once, only its Message ID changing, and sent with its data set in one write."""

    def __init__(self) -> None:
        self._commands: dict[tuple[str, str, int, bool], command.ReportRequest] = {}

    def send(
        self,
        assoc: Association,
        context_id: int,
        message_id: int,
        kind: tuple[str, str, int],
        data: bytes | None,
    ) -> None:
        """``kind``: the SOP class UID, the SOP instance UID and the event type ID."""
        key = (*kind, data is not None)
        encoder = self._commands.get(key)
        if encoder is None:
            encoder = self._commands[key] = command.ReportRequest(*key)
        send_encoded(assoc, context_id, encoder.encoded(message_id), data)


def read_fields(message: DIMSEMessage) -> Fields:
    """A received message's command set read from its bytes by hand (items 14 and 17); pydicom's
    reading when it is out of the ordinary. A batch's :class:`guards.Responses` reads with it."""
    fields = command.read_fields(message.encoded_command_set.getvalue())
    return fields if fields is not None else dataset_fields(message.command_set)


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


# --- requests served in order, no thread each (item 17) --------------------------------


def serve_in_order(assoc: Association) -> None:
    """Queue every complete request for the association's loop, no thread per report (item 17)."""
    dimse = assoc.dimse

    def queue_request(message: DIMSEMessage) -> None:
        request = _report_request(message) or message.message_to_primitive()
        if isinstance(request, C_CANCEL) and len(dimse.cancel_req) < 10:
            dimse.cancel_req[int(request.MessageIDBeingRespondedTo or 0)] = request
            return
        dimse.msg_queue.put((cast(int, message.context_id), cast(Any, request)))

    guards.receive_messages(assoc, queue_request)


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
