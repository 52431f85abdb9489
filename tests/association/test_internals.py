"""Every pynetdicom internal dcmreport relies on is still there, in the shape we use.

dcmreport/association/internals.py lists them; pynetdicom is pinned to
``>=3.0.4,<3.1``. When an upgrade moves one, this file fails first and names
it, instead of the listener misbehaving at a customer site.
"""

from __future__ import annotations

import inspect
import threading
import time
from pathlib import Path

import pynetdicom
import pytest
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.dul import DULServiceProvider
from pynetdicom.transport import AssociationSocket

from dcmreport.association import internals
from dcmreport.dicom.catalog import VERIFICATION

SOURCE = Path(pynetdicom.__file__).parent


def parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_request_routing_hook() -> None:
    """Item 1: the reactor serves each request through ``self._serve_request(msg, context_id)``."""
    assert parameters(Association._serve_request) == ["self", "msg", "context_id"]
    reactor = inspect.getsource(Association._run_reactor)
    assert "self._serve_request(msg" in reactor
    serve = inspect.getsource(Association._serve_request)
    assert "self._accepted_cx[context_id]" in serve and "self._is_paused = True" in serve


def test_delivery_hooks() -> None:
    """Item 2: P-DATA is queued through ``dul.send_pdu`` and written by ``AssociationSocket.send``,
    which triggers EVT_DATA_SENT only after the whole PDU is out."""
    assert parameters(DULServiceProvider.send_pdu) == ["self", "primitive"]
    send = inspect.getsource(AssociationSocket.send)
    assert send.index("self.socket.send(") < send.index("evt.EVT_DATA_SENT")


def test_response_sending() -> None:
    """Item 3: ``dimse.send_msg(primitive, context_id)`` and the N-EVENT-REPORT fields we set."""
    assert parameters(DIMSEServiceProvider.send_msg) == ["self", "primitive", "context_id"]
    rsp = N_EVENT_REPORT()
    for field in ("MessageIDBeingRespondedTo", "Status", "ErrorComment", "ErrorID", "EventReply"):
        assert hasattr(rsp, field), field


def test_raw_socket_and_reject() -> None:
    """Items 4 and 5: ``AssociationSocket.socket``, ``acse.send_reject`` and ``kill``."""
    assert "self.socket" in inspect.getsource(AssociationSocket.__init__)
    assert parameters(pynetdicom.acse.ACSE.send_reject) == [
        "self",
        "result",
        "source",
        "diagnostic",
    ]
    assert callable(Association.kill)


@pytest.mark.parametrize(
    "text",
    [
        internals.CONNECT_FAILED,
        internals.ACSE_TIMEOUT,
        internals.DIMSE_TIMEOUT,
        internals.NO_CONTEXTS,
    ],
)
def test_log_text_we_read(text: str) -> None:
    """Item 6: pynetdicom still logs the text the requestor reads its diagnostics from."""
    sources = "".join(path.read_text() for path in SOURCE.glob("*.py"))
    assert text.strip(": ") in sources


def test_event_reply_read_off_any_response() -> None:
    """Item 7: ``send_n_event_report`` reads ``EventReply`` off whatever response arrives."""
    assert "rsp.EventReply" in inspect.getsource(Association.send_n_event_report)


def test_action_reply_read_off_any_response() -> None:
    """Item 7: ``send_n_action`` reads ``ActionReply`` off whatever response arrives, after
    taking the next message as the response while the reactor is paused (so a report sent
    before the N-ACTION-RSP is what it returns)."""
    source = inspect.getsource(Association.send_n_action)
    assert "rsp.ActionReply" in source
    assert source.index("self._reactor_checkpoint.clear()") < source.index(
        "self.dimse.get_msg(block=True)"
    )


def test_pdu_reading_hooks() -> None:
    """Item 8: the DUL reads each PDU through ``self._read_pdu_data()``, decodes it with
    ``_decode_pdu`` into ``(pdu, event)``, and hands it on through ``event_queue`` and
    ``_recv_pdu``; the acceptor waits for its A-ASSOCIATE-RQ on ``to_user_queue``, where
    None means "no request"."""
    assert "self._read_pdu_data()" in inspect.getsource(DULServiceProvider._is_transport_event)
    read = inspect.getsource(DULServiceProvider._read_pdu_data)
    assert "self._decode_pdu(bytestream)" in read and "self._recv_pdu.put(pdu)" in read
    assert "self._kill_thread" in inspect.getsource(DULServiceProvider.kill_dul)
    reactor = inspect.getsource(Association.run_reactor)
    assert "primitive = self.dul.receive_pdu(wait=True, timeout=self.acse_timeout)" in reactor
    assert "if primitive is None:" in reactor


def test_contexts_without_transfer_syntax_still_break_negotiation() -> None:
    """Item 9: pynetdicom indexes the first proposed transfer syntax of a refused context."""
    from pynetdicom.presentation import negotiate_as_acceptor

    assert "rq_context.transfer_syntax[0]" in inspect.getsource(negotiate_as_acceptor)


def test_tls_handshake_hooks() -> None:
    """Item 10: pynetdicom wraps a listener's socket in ``get_request`` and a requestor's in
    ``connect`` through the context's ``wrap_socket`` (which ours makes defer the handshake),
    and triggers EVT_CONN_OPEN before the association starts reading or writing."""
    from pynetdicom.transport import AssociationServer, RequestHandler

    accept = inspect.getsource(AssociationServer.get_request)
    assert "self.ssl_context.wrap_socket(" in accept and "server_side=True" in accept
    connect = inspect.getsource(AssociationSocket.connect)
    assert "context.wrap_socket(" in connect
    assert connect.index("self.socket.connect(") < connect.index("evt.EVT_CONN_OPEN")
    handle = inspect.getsource(RequestHandler.handle)
    assert handle.index("evt.EVT_CONN_OPEN") < handle.index("assoc.start()")
    read = inspect.getsource(DULServiceProvider._read_pdu_data)
    assert "LOGGER.exception(exc)" in read  # a TLS alert after the handshake keeps its exception


def test_the_state_machine_hands_p_data_to_dimse_receive_primitive() -> None:
    """Item 8: P-DATA reaches ``dimse.receive_primitive`` from the state machine, in the DUL's
    thread, where an exception kills the thread (so we guard that call)."""
    from pynetdicom import fsm

    assert "dul.assoc.dimse.receive_primitive(" in inspect.getsource(fsm.DT_2)


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
                handlers.append((evt.EVT_CONN_OPEN, lambda e: internals.prompt_close(e.assoc)))
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


def test_response_queue_hooks() -> None:
    """Item 14: the reactor takes messages with ``self.dimse.get_msg(block=False)``, senders
    wait with ``get_msg(block=True)``, both on ``msg_queue``, which receive_primitive fills
    after triggering EVT_DIMSE_RECV (N-EVENT-REPORT requests go to a thread instead)."""
    assert "self.dimse.get_msg(block=False)" in inspect.getsource(Association._run_reactor)
    assert "self.dimse.get_msg(block=True)" in inspect.getsource(Association.send_n_event_report)
    assert "self.msg_queue.get(" in inspect.getsource(DIMSEServiceProvider.get_msg)
    receive = inspect.getsource(DIMSEServiceProvider.receive_primitive)
    assert receive.index("evt.EVT_DIMSE_RECV") < receive.index("self.msg_queue.put(")


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
            handlers.insert(0, (evt.EVT_CONN_OPEN, lambda e: internals.AssociationWake(e.assoc)))
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
            rsp = internals.report_response(req, 0, None, True)
            internals.send_report_response(assoc, rsp, int(context.context_id))  # type: ignore[attr-defined]

        server_ae = AE(ae_title="PEER")
        server_ae.add_supported_context(STORAGE_COMMITMENT, scu_role=True, scp_role=True)
        handlers = [(evt.EVT_REQUESTED, lambda e: internals.serve_requests(e.assoc, serve))]
        if in_order:
            handlers += [
                (evt.EVT_CONN_OPEN, lambda e: internals.AssociationWake(e.assoc)),
                (evt.EVT_CONN_OPEN, lambda e: internals.serve_in_order(e.assoc)),
            ]
        server = server_ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
        ae = AE(ae_title="DCMREPORT")
        ae.add_requested_context(STORAGE_COMMITMENT)
        try:
            assoc = ae.associate("127.0.0.1", server.socket.getsockname()[1], ae_title="PEER")
            assert assoc.is_established
            for message_id in range(1, 6):
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
    ours, theirs = internals._report_request(received), received.message_to_primitive()
    assert isinstance(ours, N_EVENT_REPORT) and isinstance(theirs, N_EVENT_REPORT)
    for field in ("MessageID", "AffectedSOPClassUID", "AffectedSOPInstanceUID", "EventTypeID"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours._context_id == theirs._context_id == 3
    assert ours.EventInformation.getvalue() == theirs.EventInformation.getvalue()
    assert encode(sent.command_set, True, True) == received.encoded_command_set.getvalue()
