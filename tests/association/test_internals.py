"""The guards: every pynetdicom internal that correctness relies on is still there, in the
shape we use, and each guard does its work. Always run, in both modes.

dcmreport/association/internals/__init__.py lists every internal with its reason;
pynetdicom is pinned to ``>=3.0.4,<3.1``. When an upgrade moves one, this file
fails first and names it, instead of the listener misbehaving at a customer
site. The fast path's internals are pinned in test_fast_path.py.
"""

from __future__ import annotations

import inspect
import threading
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import pynetdicom
import pytest
from pydicom import Dataset
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import N_EVENT_REPORT_RSP, DIMSEMessage
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.dsutils import encode
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu_primitives import P_DATA
from pynetdicom.presentation import build_context
from pynetdicom.transport import AssociationSocket

from dcmreport.association.common import dataset_fields
from dcmreport.association.internals import guards
from dcmreport.dicom.catalog import STORAGE_COMMITMENT

SOURCE = Path(pynetdicom.__file__).parent


def parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


# --- the internals the guards read ---------------------------------------------------------


def test_request_routing_hook() -> None:
    """Item 1: the loop serves each request through ``self._serve_request(msg, context_id)``,
    and so does the thread pynetdicom starts per N-EVENT-REPORT (the plain path's), looking the
    method up when the report arrives; pynetdicom drops a message that is not a valid request."""
    assert parameters(Association._serve_request) == ["self", "msg", "context_id"]
    reactor = inspect.getsource(Association._run_reactor)
    assert "self._serve_request(msg" in reactor
    serve = inspect.getsource(Association._serve_request)
    assert "self._accepted_cx[context_id]" in serve and "self._is_paused = True" in serve
    assert "if not msg.is_valid_request:" in serve
    receive = inspect.getsource(DIMSEServiceProvider.receive_primitive)
    assert "target=make_target(self.assoc._serve_request)" in receive


def test_delivery_hooks() -> None:
    """Item 2: P-DATA is queued through ``dul.send_pdu`` and written by ``AssociationSocket.send``,
    which triggers EVT_DATA_SENT only after the whole PDU is out."""
    assert parameters(DULServiceProvider.send_pdu) == ["self", "primitive"]
    send = inspect.getsource(AssociationSocket.send)
    assert send.index("self.socket.send(") < send.index("evt.EVT_DATA_SENT")


def test_response_sending() -> None:
    """Item 3: ``dimse.send_msg(primitive, context_id)`` and the N-EVENT-REPORT fields we set; a
    field left None is left out of the command set."""
    from pynetdicom import dimse_messages

    assert parameters(DIMSEServiceProvider.send_msg) == ["self", "primitive", "context_id"]
    rsp = N_EVENT_REPORT()
    for field in ("MessageIDBeingRespondedTo", "Status", "ErrorComment", "ErrorID", "EventReply"):
        assert hasattr(rsp, field), field
    to_message = inspect.getsource(dimse_messages.DIMSEMessage.primitive_to_message)
    assert "del self.command_set[elem.tag]" in to_message


def test_reject_hooks() -> None:
    """Item 5: ``acse.send_reject(result, source, diagnostic)`` and ``kill``."""
    assert parameters(pynetdicom.acse.ACSE.send_reject) == [
        "self",
        "result",
        "source",
        "diagnostic",
    ]
    assert callable(Association.kill)


@pytest.mark.parametrize(
    "text",
    [guards.CONNECT_FAILED, guards.ACSE_TIMEOUT, guards.DIMSE_TIMEOUT, guards.NO_CONTEXTS],
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


def test_the_state_machine_hands_p_data_to_dimse_receive_primitive() -> None:
    """Item 8: P-DATA reaches ``dimse.receive_primitive`` from the state machine, in the DUL's
    thread, where an exception kills the thread (so we guard that call)."""
    from pynetdicom import fsm

    assert "dul.assoc.dimse.receive_primitive(" in inspect.getsource(fsm.DT_2)


def test_contexts_without_transfer_syntax_still_break_negotiation() -> None:
    """Item 9: pynetdicom indexes the first proposed transfer syntax of a refused context."""
    from pynetdicom.presentation import negotiate_as_acceptor

    assert "rq_context.transfer_syntax[0]" in inspect.getsource(negotiate_as_acceptor)


def test_tls_handshake_hooks() -> None:
    """Item 10: pynetdicom wraps a listener's socket in ``get_request`` and a requestor's in
    ``connect`` through the context's ``wrap_socket`` (which ours makes defer the handshake),
    keeps the raw socket as ``AssociationSocket.socket``, and triggers EVT_CONN_OPEN before
    the association starts reading or writing."""
    from pynetdicom.transport import AssociationServer, RequestHandler

    assert "self.socket" in inspect.getsource(AssociationSocket.__init__)
    accept = inspect.getsource(AssociationServer.get_request)
    assert "self.ssl_context.wrap_socket(" in accept and "server_side=True" in accept
    connect = inspect.getsource(AssociationSocket.connect)
    assert "context.wrap_socket(" in connect
    assert connect.index("self.socket.connect(") < connect.index("evt.EVT_CONN_OPEN")
    handle = inspect.getsource(RequestHandler.handle)
    assert handle.index("evt.EVT_CONN_OPEN") < handle.index("assoc.start()")
    read = inspect.getsource(DULServiceProvider._read_pdu_data)
    assert "LOGGER.exception(exc)" in read  # a TLS alert after the handshake keeps its exception


def test_closing_before_the_request_hooks() -> None:
    """Item 18: the raw socket is ``AssociationSocket.socket`` (``dul.socket.socket``), and an
    A-ABORT request before an A-ASSOCIATE-RQ (Sta2 + Evt15) is no transition of pynetdicom's
    state table, so closing the socket is the way to end a connection that has not associated;
    our reader's close then ends the acceptor's wait (item 8)."""
    from pynetdicom.fsm import TRANSITION_TABLE

    assert "self.socket" in inspect.getsource(AssociationSocket.__init__)
    assert ("Evt15", "Sta2") not in TRANSITION_TABLE
    assert ("Evt17", "Sta2") in TRANSITION_TABLE


def test_a_closed_waiting_connection_ends_its_acceptor() -> None:
    """Item 18 at work: a listener's connection that sent nothing, closed by
    ``close_unassociated``, ends its acceptor thread well before the ACSE timeout."""
    import socket as sockets

    from dcmreport.association.internals.guards import PduLimits, bound_reading

    ae = AE()
    ae.acse_timeout = 600
    ae.add_supported_context("1.2.840.10008.1.1")
    waiting: list[Association] = []

    def connected(event: evt.Event) -> None:
        bound_reading(event.assoc, PduLimits(16382, 1 << 20, 10.0, 30.0), lambda *_: None)
        waiting.append(event.assoc)

    server = ae.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_CONN_OPEN, connected)]
    )
    try:
        with sockets.create_connection(server.server_address) as peer:
            deadline = time.monotonic() + 30
            while not waiting or not waiting[0].is_alive():
                assert time.monotonic() < deadline
                time.sleep(0.01)
            guards.close_unassociated(waiting[0])
            waiting[0].join(30)
            assert not waiting[0].is_alive()
            peer.settimeout(30)
            assert peer.recv(1) == b""
    finally:
        server.shutdown()


def test_response_queue_hooks() -> None:
    """Item 14: the loop takes messages with ``self.dimse.get_msg(block=False)``, senders wait
    with ``get_msg(block=True)``, both on ``msg_queue``, which receive_primitive fills after
    triggering EVT_DIMSE_RECV; the pause between two requests is ``_reactor_checkpoint`` and
    ``_is_paused``, which the loop sets before it waits."""
    loop = inspect.getsource(Association._run_reactor)
    assert "self.dimse.get_msg(block=False)" in loop
    assert loop.index("self._is_paused = True") < loop.index("self._reactor_checkpoint.wait()")
    assert "self.dimse.get_msg(block=True)" in inspect.getsource(Association.send_n_event_report)
    assert "self.msg_queue.get(" in inspect.getsource(DIMSEServiceProvider.get_msg)
    receive = inspect.getsource(DIMSEServiceProvider.receive_primitive)
    assert receive.index("evt.EVT_DIMSE_RECV") < receive.index("self.msg_queue.put(")


def test_receive_primitive_builds_messages_as_the_batch_does() -> None:
    """Item 14: receive_primitive builds ``self.message`` with ``decode_msg(primitive,
    self.assoc)`` and triggers EVT_DIMSE_RECV with it, as ``guards.receive_messages`` does."""
    receive = inspect.getsource(DIMSEServiceProvider.receive_primitive)
    assert "self.message = DIMSEMessage()" in receive
    assert "if self.message.decode_msg(primitive, self.assoc):" in receive
    assert 'evt.trigger(self.assoc, evt.EVT_DIMSE_RECV, {"message": self.message})' in receive
    assert parameters(DIMSEServiceProvider.receive_primitive) == ["self", "primitive"]


def test_data_set_fragments_are_written_to_the_messages_buffer() -> None:
    """Item 8, the memory budget: ``decode_msg`` writes each data set fragment, without its
    control header, into ``self.data_set`` (a BytesIO made per message, empty until the first
    data fragment), which becomes the request's Event or Action Information; and a P_DATA's
    presentation data value list is set as ``[[context ID, bytes]]``."""
    decode = inspect.getsource(DIMSEMessage.decode_msg)
    assert "cast(BytesIO, self.data_set).write(data[1:])" in decode
    assert "self.data_set: BytesIO | None = BytesIO()" in inspect.getsource(DIMSEMessage.__init__)
    convert = inspect.getsource(DIMSEMessage.message_to_primitive)
    assert "setattr(primitive, dataset_keyword, self.data_set)" in convert
    primitive = P_DATA()
    primitive.presentation_data_value_list = [[1, b"\x02"]]  # type: ignore[list-item]
    with pytest.raises(TypeError):
        primitive.presentation_data_value_list = [(1, b"\x02")]


# --- the guards at work --------------------------------------------------------------------


def _request() -> N_EVENT_REPORT:
    req = N_EVENT_REPORT()
    req.MessageID = 300
    req.AffectedSOPClassUID = "1.2.840.10008.1.20.1"
    req.AffectedSOPInstanceUID = "1.2.840.10008.1.20.1.1"
    req.EventTypeID = 2
    return req


@pytest.mark.parametrize(
    ("status", "with_event_type", "comment", "error_id", "reply"),
    [
        (0x0000, True, None, None, b"\x10\x00\x20\x00\x02\x00\x00\x00ID"),
        (0xB000, True, None, None, None),
        (0x0110, False, "odd", 7, None),
        (0xC0FE, False, "a status pynetdicom does not know", None, None),
        (0x0000, True, None, None, b""),  # an empty reply goes as none, announced as none
    ],
)
def test_a_plain_response_carries_exactly_the_decided_status(
    status: int, with_event_type: bool, comment: str | None, error_id: int | None, reply: Any
) -> None:
    """Item 3 on the plain path: the decided response as pynetdicom's primitive, encoded by
    pynetdicom itself, says what was decided and leaves out what was not."""
    rsp = guards.report_response(_request(), status, reply, with_event_type, comment, error_id)
    message = N_EVENT_REPORT_RSP()
    message.primitive_to_message(guards.response_primitive(rsp))
    fields = dataset_fields(message.command_set)
    assert fields["Status"] == status
    assert fields["MessageIDBeingRespondedTo"] == 300
    assert fields["AffectedSOPInstanceUID"] == "1.2.840.10008.1.20.1.1"
    assert ("EventTypeID" in fields) is with_event_type
    assert fields.get("ErrorComment") == comment and fields.get("ErrorID") == error_id
    assert fields["CommandDataSetType"] == (0x0001 if reply else 0x0101)
    assert (message.data_set.getvalue() if message.data_set else None) == (reply or None)


def _unconnected() -> Association:
    """A requestor's association that never connects, with one accepted context (ID 1)."""
    ae = AE(ae_title="DCMREPORT")
    assoc = Association(ae, "requestor")
    context = build_context(STORAGE_COMMITMENT, ["1.2.840.10008.1.2"])
    context.context_id = 1
    assoc._accepted_cx = {1: context}
    return assoc


def _response() -> N_EVENT_REPORT:
    rsp = N_EVENT_REPORT()
    rsp.MessageIDBeingRespondedTo = 1
    rsp.Status = 0
    return rsp


def test_a_response_the_loop_takes_goes_back_to_the_waiting_sender() -> None:
    """Item 1 (with 14's race): a response reaching the association's loop while our sender
    waits goes back on msg_queue for it; with nobody waiting it is pynetdicom's to drop."""
    assoc = _unconnected()
    served: list[Any] = []
    guards.serve_requests(assoc, lambda a, req, cx: served.append(req))
    with guards._awaiting(assoc):
        assoc._serve_request(_response(), 1)
    assert assoc.dimse.msg_queue.get_nowait()[0] == 1
    assoc._serve_request(_response(), 1)  # nobody waits: "unexpected", dropped
    assert assoc.dimse.msg_queue.empty() and served == []
    assert guards._is_response(_response()) and not guards._is_response(_request())


def test_a_report_served_off_the_association_thread_leaves_its_pause_alone() -> None:
    """Item 1 on the plain path: pynetdicom serves each N-EVENT-REPORT in a thread of its own;
    the loop's pause flag, which a sender polls, is the loop's alone."""
    assoc = _unconnected()
    seen: list[bool] = []
    guards.serve_requests(assoc, lambda a, req, cx: seen.append(a._is_paused))
    for paused in (True, False):
        assoc._is_paused = paused
        assoc._serve_request(_request(), 1)  # this thread is not the association's
        assert assoc._is_paused is paused
    assert seen == [True, False]


def _commitment_scp(delay: threading.Event | None = None) -> tuple[Any, int]:
    """A plain pynetdicom SCP answering storage commitment reports Success, each in a thread."""

    def answer(event: evt.Event) -> tuple[int, Dataset]:
        if delay is not None:
            delay.wait(5)
        reply = Dataset()
        reply.PatientID = "R"
        return 0, reply

    server_ae = AE(ae_title="PEER")
    server_ae.add_supported_context(STORAGE_COMMITMENT)
    server = server_ae.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_N_EVENT_REPORT, answer)]
    )
    return server, server.socket.getsockname()[1]


def test_a_batch_reads_every_response_itself_with_several_outstanding() -> None:
    """Item 14 on the plain path: requests as pynetdicom's primitives through its send_msg,
    four outstanding at once; every response reaches Responses (none pynetdicom's queue),
    its command set read as pydicom decoded it."""
    release = threading.Event()
    server, port = _commitment_scp(release)
    responses = guards.Responses()
    ae = AE(ae_title="DCMREPORT")
    ae.add_requested_context(STORAGE_COMMITMENT)
    assoc = ae.associate("127.0.0.1", port, ae_title="PEER", evt_handlers=responses.handlers())
    try:
        assert assoc.is_established
        [context] = assoc.accepted_contexts
        for message_id in range(1, 5):
            request = _request()
            request.MessageID = message_id
            information = Dataset()
            information.PatientID = "X"
            request.EventInformation = BytesIO(encode(information, True, True))
            guards.send_message(assoc, request, int(context.context_id))
        release.set()  # the peer answers once all four are out
        answers = [responses.next(10) for _ in range(4)]
        assert all(answer is not None for answer in answers)
        fields = [answer[0] for answer in answers if answer is not None]
        assert sorted(f["MessageIDBeingRespondedTo"] for f in fields) == [1, 2, 3, 4]
        assert {f["Status"] for f in fields} == {0} and {f["CommandField"] for f in fields} == {
            0x8100
        }
        assert assoc.dimse.msg_queue.empty()
        assoc.release()
    finally:
        if assoc.is_established:
            assoc.abort()
        server.shutdown()


def test_get_msg_waits_on_msg_queue() -> None:
    """Item 1: a sender's ``get_msg(block=True)`` is ``msg_queue.get`` with the DIMSE timeout,
    which the guard's own wait replaces with the same."""
    assert "self.msg_queue.get(block=block, timeout=self.dimse_timeout)" in inspect.getsource(
        DIMSEServiceProvider.get_msg
    )
    assert "self.dimse.get_msg(block=True)" in inspect.getsource(Association.send_n_action)


def test_a_request_a_waiting_sender_takes_is_served_and_it_gets_its_response() -> None:
    """Item 1: a request queued before the response a sender waits for is served (in a thread
    of its own), not returned to the sender as its response."""
    assoc = _unconnected()
    served = threading.Event()
    guards.serve_requests(assoc, lambda a, req, cx: served.set())
    assoc.dimse.msg_queue.put((1, _request()))
    assoc.dimse.msg_queue.put((1, _response()))
    context_id, msg = assoc.dimse.get_msg(block=True)
    assert context_id == 1 and guards._is_response(msg)
    assert served.wait(5)


def test_one_request_at_a_time_through_pynetdicoms_send() -> None:
    """Item 7: a second sender on the same association waits until the first has its response."""
    assoc = _unconnected()
    order: list[str] = []
    first_in = threading.Event()

    def second() -> None:
        first_in.wait(5)
        with guards._awaiting(assoc):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    with guards._awaiting(assoc):
        first_in.set()
        thread.join(0.2)  # the second sender cannot get in meanwhile
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]


def test_each_message_is_queued_whole_whichever_thread_sends_it() -> None:
    """Item 3: pynetdicom's send_msg queues a message PDU by PDU; with several threads sending
    on one association, each message's PDUs stay together (PS3.8 9.3.5)."""
    assoc = _unconnected()
    guards.whole_messages(assoc)
    queued: list[tuple[int, int]] = []  # (sender, message control header)

    def send_pdu(primitive: Any) -> None:
        for _, value in primitive.presentation_data_value_list:
            queued.append((threading.get_ident(), value[0]))
        time.sleep(0.001)  # a switch to the other sender here would interleave

    assoc.dul.send_pdu = send_pdu  # type: ignore[method-assign]

    reply = b"\x10\x00\x20\x00\x02\x00\x00\x00ID"

    def send(count: int) -> None:
        for _ in range(count):
            guards.send_message(assoc, guards.report_response(_request(), 0, reply, True), 1)

    senders = [threading.Thread(target=send, args=(10,)) for _ in range(3)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(10)
    assert len(queued) == 3 * 10 * 2  # a command and a data set each, a PDU each
    for at in range(0, len(queued), 2):
        (one, command), (other, data) = queued[at], queued[at + 1]
        assert (command, data) == (0x03, 0x02) and one == other
