"""The fast path: every pynetdicom internal a speed trick relies on is still there, in the shape
we use, and each trick does its work.

Each test here tests a speed trick (``dcmreport/association/internals/fast_path.py``,
``association-fast-path`` in dcmreport/speedups.py): marked ``speedups``, not run in
plain mode (``DCMREPORT_SPEEDUPS=off``, ``-m "not speedups"``). When an upgrade of
pynetdicom moves a pinned internal, this file fails and names it; the trick
also turns itself off outside the versions it was verified with. The guards'
internals are pinned in test_internals.py.
"""

from __future__ import annotations

import inspect
import socket
import subprocess
import sys
import threading
import time
from typing import Any, cast

import pynetdicom
import pytest
from helpers import SPEEDUPS, cli_env, reactor_caught_up
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.dul import DULServiceProvider
from pynetdicom.transport import AssociationSocket

from dcmreport.association.internals import fast_path, guards
from dcmreport.dicom.catalog import VERIFICATION

pytestmark = pytest.mark.speedups


def parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_raw_socket() -> None:
    """Item 4: the connected socket is ``AssociationSocket.socket``, where Nagle is turned off."""
    assert "self.socket" in inspect.getsource(AssociationSocket.__init__)
    assert "self.socket.connect(" in inspect.getsource(AssociationSocket.connect)


def test_install_applies_each_trick_to_one_association() -> None:
    """``install``: no Nagle, both loops woken instead of polling, no debug handlers, the packed
    sender; a listener's requests served in order. Another association keeps pynetdicom's."""
    from pynetdicom import AE, evt

    server, port = _verification_server()
    ae = AE(ae_title="DCMREPORT")
    ae.add_requested_context(VERIFICATION)
    try:
        fast = ae.associate(
            "127.0.0.1",
            port,
            ae_title="PEER",
            evt_handlers=[(evt.EVT_CONN_OPEN, lambda e: fast_path.install(e.assoc, "requestor"))],
        )
        plain = ae.associate("127.0.0.1", port, ae_title="PEER")
        assert fast.is_established and plain.is_established
        sock = fast.dul.socket.socket
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert fast.dul._run_loop_delay == 0 and plain.dul._run_loop_delay == 0.001
        assert "_is_transport_event" in vars(fast.dul)
        assert "_is_transport_event" not in vars(plain.dul)
        assert guards._SENDERS.get(fast) is fast_path.send_response
        assert plain not in guards._SENDERS
        handlers = {h for h, _ in fast.get_handlers(evt.EVT_DIMSE_RECV)}
        assert pynetdicom._handlers.standard_dimse_recv_handler not in handlers
        assert fast.send_c_echo().Status == 0 and plain.send_c_echo().Status == 0
        fast.release()
        plain.release()
    finally:
        server.shutdown()  # type: ignore[attr-defined]


def test_the_plain_and_the_hand_encoded_response_are_the_same_bytes() -> None:
    """Item 13 against item 3: the listener's response, encoded by hand on the fast path, is
    byte for byte the command set pynetdicom encodes from the plain path's primitive."""
    from pynetdicom.dimse_messages import N_EVENT_REPORT_RSP
    from pynetdicom.dsutils import encode

    from dcmreport.association import command

    req = N_EVENT_REPORT()
    req.MessageID = 9
    req.AffectedSOPClassUID = "1.2.840.10008.1.20.1"
    req.AffectedSOPInstanceUID = "1.2.840.10008.1.20.1.1"
    req.EventTypeID = 1
    for status, reply, comment, error_id in (
        (0, b"\x10\x00\x20\x00\x02\x00\x00\x00ID", None, None),
        (0xB000, None, None, None),
        (0x0110, None, "why", 3),
    ):
        rsp = guards.report_response(req, status, reply, status != 0x0110, comment, error_id)
        message = N_EVENT_REPORT_RSP()
        message.primitive_to_message(guards.response_primitive(rsp))
        assert command.report_response(rsp, reply is not None) == encode(
            message.command_set, True, True
        )


def test_with_the_switch_on_the_round_trip_takes_the_fast_path() -> None:
    """The other half of test_plain_path's proof: with the switch on, the same round trip loads
    the fast path and its associations stop polling (so that proof can fail)."""
    from test_plain_path import ROUND_TRIP

    run = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP],
        capture_output=True,
        text=True,
        timeout=120,
        env={**cli_env(), SPEEDUPS: "on"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["loaded", "0", "0"], run.stdout


def test_kill_polls_for_an_idle_state_machine() -> None:
    """Item 11: ``kill`` polls ``stop_dul`` every 10 ms, which stops only in Sta1; the state
    machine moves there by ``self.transition(next_state)`` after the action, and a release's
    action (AR-3) queues the A-RELEASE-RP before it closes the connection."""
    from pynetdicom import fsm

    kill = inspect.getsource(Association.kill)
    assert "while self.dul.is_alive() and not self.dul.stop_dul():" in kill
    assert "time.sleep(0.01)" in kill
    assert 'self.state_machine.current_state == "Sta1"' in inspect.getsource(
        DULServiceProvider.stop_dul
    )
    assert "self.transition(next_state)" in inspect.getsource(fsm.StateMachine.do_action)
    assert "self.current_state = state" in inspect.getsource(fsm.StateMachine.transition)
    release = inspect.getsource(fsm.AR_3)
    assert release.index("dul.to_user_queue.put(") < release.index("sock.close()")


class _KillPolls:
    """pynetdicom.association's ``time``, counting the 10 ms polls of ``kill`` in this thread
    (where ``release`` runs it; the peer's threads poll too)."""

    def __init__(self) -> None:
        self.count = 0
        self._thread = threading.get_ident()

    def sleep(self, seconds: float) -> None:
        if seconds == 0.01 and threading.get_ident() == self._thread:
            self.count += 1
        time.sleep(seconds)

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


def test_prompt_close_releases_without_kill_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 11 at work, on loopback: the connection closes 3 ms after the A-RELEASE-RP is
    queued (an EVT_CONN_CLOSE handler holds AR-3), so pynetdicom's kill polls; with
    prompt_close the move to Sta1 wakes it instead."""
    from pynetdicom import AE, evt

    polls = _KillPolls()
    monkeypatch.setattr(pynetdicom.association, "time", polls)
    server_ae = AE(ae_title="PEER")
    server_ae.add_supported_context(VERIFICATION)
    server = server_ae.start_server(("127.0.0.1", 0), block=False)
    port = server.socket.getsockname()[1]
    ae = AE(ae_title="DCMREPORT")
    ae.add_requested_context(VERIFICATION)

    def releases_that_polled(prompt: bool) -> int:
        polled = 0
        for _ in range(5):
            handlers = [(evt.EVT_CONN_CLOSE, lambda event: time.sleep(0.003))]
            if prompt:
                handlers.append((evt.EVT_CONN_OPEN, lambda e: fast_path.prompt_close(e.assoc)))
            assoc = ae.associate("127.0.0.1", port, ae_title="PEER", evt_handlers=handlers)
            assert assoc.is_established
            before = polls.count
            assoc.release()
            assert assoc.is_released and not assoc.dul.is_alive()
            polled += polls.count > before
        return polled

    try:
        assert releases_that_polled(prompt=False) >= 3  # the setup makes kill poll
        assert releases_that_polled(prompt=True) <= 1
    finally:
        server.shutdown()


def test_reactor_polling_hooks() -> None:
    """Item 12: the DUL reactor sleeps ``self._run_loop_delay`` when a pass found nothing, asks
    ``self._is_transport_event()`` for incoming data, and stops on ``_kill_thread``; stop_dul
    sets it in Sta1 and waits for the thread; incoming data is read by ``_read_pdu_data``."""
    reactor = inspect.getsource(DULServiceProvider.run_reactor)
    assert "time.sleep(self._run_loop_delay)" in reactor
    assert "elif self._is_transport_event():" in reactor
    assert reactor.index("if self._kill_thread:") < reactor.index("self._process_recv_primitive()")
    assert "self.event_queue.get(block=False)" in reactor
    assert "self._kill_thread = True" in inspect.getsource(DULServiceProvider.stop_dul)
    assert "self.to_provider_queue.put(primitive)" in inspect.getsource(DULServiceProvider.send_pdu)
    assert parameters(DULServiceProvider._is_transport_event) == ["self"]
    assert "self._run_loop_delay" in inspect.getsource(DULServiceProvider.__init__)
    # EVT_CONN_CLOSE comes from the state machine's actions, which only the reactor runs
    from pynetdicom import fsm

    assert "evt.trigger(dul.assoc, evt.EVT_CONN_CLOSE" in inspect.getsource(fsm)
    assert "self.state_machine.do_action(event)" in reactor


def test_message_encoding_hooks() -> None:
    """Item 13: a message is built from its primitive by the ``_RQ_TO_MESSAGE`` /
    ``_RSP_TO_MESSAGE`` tables, ``primitive_to_message`` and ``encode_msg(context_id,
    max_pdu)``, which yields P-DATA primitives of ``[context_id, PDV value]`` items; an
    encoded data set may be given as a BytesIO."""
    from pynetdicom import dimse, dimse_messages

    send = inspect.getsource(DIMSEServiceProvider.send_msg)
    assert "_RQ_TO_MESSAGE[primitive.__class__]()" in send
    assert "_RSP_TO_MESSAGE[primitive.__class__]()" in send
    assert "dimse_msg.primitive_to_message(primitive)" in send
    assert "dimse_msg.encode_msg(context_id, self.maximum_pdu_size)" in send
    assert N_EVENT_REPORT in dimse._RQ_TO_MESSAGE and N_EVENT_REPORT in dimse._RSP_TO_MESSAGE
    encode = inspect.getsource(dimse_messages.DIMSEMessage.encode_msg)
    assert "pdata.presentation_data_value_list.append(" in encode
    assert "self.data_set = getattr(primitive, dataset_keyword)" in inspect.getsource(
        dimse_messages.DIMSEMessage.primitive_to_message
    )


def test_debug_handlers_are_bound_per_association() -> None:
    """Item 15: each association binds the four standard debug handlers, and ``unbind`` takes
    an event and a handler."""
    defaults = inspect.getsource(Association._bind_defaults)
    assert "self.bind(evt.EVT_DIMSE_RECV, standard_dimse_recv_handler)" in defaults
    assert "self.bind(evt.EVT_DIMSE_SENT, standard_dimse_sent_handler)" in defaults
    assert "self.bind(evt.EVT_PDU_RECV, standard_pdu_recv_handler)" in defaults
    assert "self.bind(evt.EVT_PDU_SENT, standard_pdu_sent_handler)" in defaults
    assert "self._bind_defaults()" in inspect.getsource(Association.__init__)
    assert parameters(Association.unbind) == ["self", "event", "handler"]


def test_association_loop_hooks() -> None:
    """Item 16: the association's loop sleeps 1 ms a pass, then asks
    ``self.dimse.get_msg(block=False)`` and reads releases and aborts off ``to_user_queue``;
    ``release`` and the ``send_*`` methods clear ``_reactor_checkpoint`` and poll
    ``_is_paused``; ``kill`` sets ``_kill``; the DUL hands primitives up with
    ``to_user_queue.put``."""
    from pynetdicom import acse, fsm

    loop = inspect.getsource(Association._run_reactor)
    assert "time.sleep(0.001)" in loop and "while not self._kill:" in loop
    assert loop.index("self._reactor_checkpoint.wait()") < loop.index(
        "self.dimse.get_msg(block=False)"
    )
    assert "self._is_paused = False" in loop
    for method in (Association.release, Association.send_n_event_report):
        source = inspect.getsource(method)
        assert "self._reactor_checkpoint.clear()" in source
        assert "while not self._is_paused:" in source
    assert "self._kill = True" in inspect.getsource(Association.kill)
    assert "self.dul.peek_next_pdu()" in inspect.getsource(acse.ACSE.is_release_requested)
    assert "self.to_user_queue.queue[0]" in inspect.getsource(DULServiceProvider.peek_next_pdu)
    assert "dul.to_user_queue.put(" in inspect.getsource(fsm)
    assert "= queue.Queue()" in inspect.getsource(DIMSEServiceProvider.__init__)


def _verification_server() -> tuple[object, int]:
    from pynetdicom import AE

    server_ae = AE(ae_title="PEER")
    server_ae.add_supported_context(VERIFICATION)
    server = server_ae.start_server(("127.0.0.1", 0), block=False)
    return server, server.socket.getsockname()[1]


def test_association_wake_ends_polling() -> None:
    """Item 16 at work, on loopback: an idle association's loop makes a pass per
    millisecond; with AssociationWake a few in the same time, and a release is still prompt."""
    from pynetdicom import AE, evt

    server, port = _verification_server()
    ae = AE(ae_title="DCMREPORT")
    ae.add_requested_context(VERIFICATION)

    def passes_while_idle(wake: bool) -> int:
        counted = [0]

        def count(event: evt.Event) -> None:
            get_msg = event.assoc.dimse.get_msg

            def counting(block: bool = False) -> object:
                counted[0] += 1
                return get_msg(block)

            event.assoc.dimse.get_msg = counting

        handlers = [(evt.EVT_CONN_OPEN, count)]
        if wake:
            handlers.insert(0, (evt.EVT_CONN_OPEN, lambda e: fast_path.AssociationWake(e.assoc)))
        assoc = ae.associate("127.0.0.1", port, ae_title="PEER", evt_handlers=handlers)
        assert assoc.is_established
        time.sleep(0.05)
        before = counted[0]
        time.sleep(0.5)
        passes = counted[0] - before
        began = time.monotonic()
        assoc.release()
        assert assoc.is_released and time.monotonic() - began < 0.5
        return passes

    try:
        assert passes_while_idle(wake=False) >= 100  # 1 ms polls, however loaded the machine
        assert passes_while_idle(wake=True) <= 20  # about one per _IDLE_WAIT (50 ms)
    finally:
        server.shutdown()  # type: ignore[attr-defined]


def test_receive_primitive_hooks() -> None:
    """Item 17: receive_primitive builds ``self.message`` with ``decode_msg(primitive,
    self.assoc)``, triggers EVT_DIMSE_RECV, makes the primitive with
    ``message_to_primitive()``, keeps a C-CANCEL in ``cancel_req`` and starts a thread per
    N-EVENT-REPORT request."""
    receive = inspect.getsource(DIMSEServiceProvider.receive_primitive)
    assert "self.message = DIMSEMessage()" in receive
    assert "if self.message.decode_msg(primitive, self.assoc):" in receive
    assert receive.index("evt.EVT_DIMSE_RECV") < receive.index("message_to_primitive()")
    assert "self.cancel_req[msg_id] = d_primitive" in receive
    assert "threading.Thread(" in receive and "isinstance(d_primitive, N_EVENT_REPORT)" in receive
    assert "self.msg_queue.put((context_id" in receive


def test_serve_in_order_serves_on_the_association_thread() -> None:
    """Item 17 at work, on loopback: pynetdicom serves each N-EVENT-REPORT in a thread of its
    own; with serve_in_order (and AssociationWake) all on the association's thread, in order."""
    from pynetdicom import AE, evt

    from dcmreport.dicom.catalog import STORAGE_COMMITMENT

    def serving_threads(in_order: bool) -> tuple[list[bool], list[int]]:
        on_own_thread: list[bool] = []
        served: list[int] = []

        def serve(assoc: Association, req: N_EVENT_REPORT, context: object) -> None:
            on_own_thread.append(threading.current_thread() is assoc)
            served.append(int(req.MessageID or 0))
            rsp = guards.report_response(req, 0, None, True)
            fast_path.send_report_response(assoc, rsp, int(context.context_id))  # type: ignore[attr-defined]

        server_ae = AE(ae_title="PEER")
        server_ae.add_supported_context(STORAGE_COMMITMENT, scu_role=True, scp_role=True)
        handlers = [(evt.EVT_REQUESTED, lambda e: guards.serve_requests(e.assoc, serve))]
        if in_order:
            handlers += [
                (evt.EVT_CONN_OPEN, lambda e: fast_path.AssociationWake(e.assoc)),
                (evt.EVT_CONN_OPEN, lambda e: fast_path.serve_in_order(e.assoc)),
            ]
        server = server_ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
        ae = AE(ae_title="DCMREPORT")
        ae.add_requested_context(STORAGE_COMMITMENT)
        try:
            assoc = ae.associate("127.0.0.1", server.socket.getsockname()[1], ae_title="PEER")
            assert assoc.is_established
            for message_id in range(1, 6):
                reactor_caught_up(assoc)
                status, _ = assoc.send_n_event_report(
                    None, 1, STORAGE_COMMITMENT, "1.2.3.4", msg_id=message_id
                )
                assert status.Status == 0
            assoc.release()
        finally:
            server.shutdown()
        return on_own_thread, served

    assert serving_threads(in_order=False)[0] == [False] * 5
    assert serving_threads(in_order=True) == ([True] * 5, [1, 2, 3, 4, 5])


def test_hand_read_report_requests_are_pynetdicoms() -> None:
    """Item 17: an N-EVENT-REPORT-RQ's primitive from its hand-read command set has every
    field ``message_to_primitive`` gives it, which sets ``_context_id`` itself."""
    from io import BytesIO

    from pynetdicom.dimse_messages import N_EVENT_REPORT_RQ, DIMSEMessage
    from pynetdicom.dsutils import encode
    from pynetdicom.pdu_primitives import P_DATA

    assert "primitive._context_id = self.context_id" in inspect.getsource(
        DIMSEMessage.message_to_primitive
    )
    rq = N_EVENT_REPORT()
    rq.MessageID = 7
    rq.AffectedSOPClassUID = "1.2.840.10008.1.20.1"
    rq.AffectedSOPInstanceUID = "1.2.840.10008.1.20.1.1"
    rq.EventTypeID = 2
    rq.EventInformation = BytesIO(b"\x08\x00\x16\x00\x02\x00\x00\x00ab")
    sent = N_EVENT_REPORT_RQ()
    sent.primitive_to_message(rq)
    received = DIMSEMessage()
    for pdata in sent.encode_msg(3, 16384):
        assert isinstance(pdata, P_DATA)
        received.decode_msg(pdata)
    assert isinstance(received, N_EVENT_REPORT_RQ)
    ours, theirs = fast_path._report_request(received), received.message_to_primitive()
    assert isinstance(ours, N_EVENT_REPORT) and isinstance(theirs, N_EVENT_REPORT)
    for field in ("MessageID", "AffectedSOPClassUID", "AffectedSOPInstanceUID", "EventTypeID"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours._context_id == theirs._context_id == 3
    assert ours.EventInformation.getvalue() == theirs.EventInformation.getvalue()
    assert encode(sent.command_set, True, True) == received.encoded_command_set.getvalue()


@pytest.mark.parametrize(
    "fields",
    [
        {"Status": 0, "EventTypeID": 1, "reply": b"\x10\x00\x20\x00\x02\x00\x00\x00ID"},
        {"Status": 0x0110, "ErrorComment": "odd", "ErrorID": 7},
        {"Status": 0x0110, "ErrorComment": "even"},
        {"Status": 0xB000},
    ],
)
def test_hand_encoded_command_sets_are_pynetdicoms(fields: dict[str, Any]) -> None:
    """The lean path's command sets, byte for byte what pynetdicom encodes."""
    from io import BytesIO

    from pynetdicom.dimse_messages import N_EVENT_REPORT_RQ, N_EVENT_REPORT_RSP
    from pynetdicom.dimse_primitives import N_EVENT_REPORT
    from pynetdicom.dsutils import encode

    from dcmreport.association import command
    from dcmreport.association.common import dataset_fields

    fields = dict(fields)
    reply = fields.pop("reply", None)
    for message_id, data in ((1, False), (65535, True)):
        rq = N_EVENT_REPORT()
        rq.MessageID = message_id
        rq.AffectedSOPClassUID = "1.2.840.10008.1.20.1"
        rq.AffectedSOPInstanceUID = "1.2.840.10008.1.20.1.1"
        rq.EventTypeID = 2
        if data:
            rq.EventInformation = BytesIO(b"\x08\x00\x16\x00\x02\x00\x00\x00ab")
        message = N_EVENT_REPORT_RQ()
        message.primitive_to_message(rq)
        ours = command.ReportRequest("1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1", 2, data)
        assert ours.encoded(message_id) == encode(message.command_set, True, True)
    rsp = N_EVENT_REPORT()
    rsp.MessageIDBeingRespondedTo = 300
    rsp.AffectedSOPClassUID = "1.2.3"
    rsp.AffectedSOPInstanceUID = "1.2.34"
    for keyword, value in fields.items():
        setattr(rsp, keyword, value)
    if reply is not None:
        rsp.EventReply = BytesIO(reply)
    message = N_EVENT_REPORT_RSP()
    message.primitive_to_message(rsp)
    assert command.report_response(rsp, reply is not None) == encode(
        message.command_set, True, True
    )
    encoded = cast(bytes, encode(message.command_set, True, True))
    read = command.read_fields(encoded)
    assert read is not None
    assert read == {k: v for k, v in dataset_fields(message.command_set).items() if k in read}
    assert set(read) >= {"CommandField", "MessageIDBeingRespondedTo", "Status"} | set(fields) - {
        "reply"
    }


def test_unusual_response_command_sets_are_left_to_pydicom() -> None:
    """A command set the hand decoder does not read plainly (a US with two values, another
    group, a cut element, text that is not ASCII) goes to pydicom instead."""
    import struct

    from dcmreport.association import command

    def element(number: int, value: bytes, group: int = 0) -> bytes:
        return struct.pack("<HHI", group, number, len(value)) + value

    plain = element(0x0100, b"\x00\x81") + element(0x0900, b"\x00\x00")
    assert command.read_fields(plain) == {"CommandField": 0x8100, "Status": 0}
    for odd in (
        element(0x0900, b"\x00\x00\x01\x00"),
        element(0x0010, b"ab", group=8),
        plain[:-1],
        element(0x0902, "é".encode("latin-1") + b" "),
    ):
        assert command.read_fields(plain + odd) is None, odd
