"""The listener's routing and negotiation, in process, against a pynetdicom requestor.

pynetdicom chooses the service for a request from its Affected SOP Class UID:
a storage class would get a C-STORE-RSP, Verification a C-ECHO-RSP, an
unknown UID an A-ABORT. dcmreport's listener must hand every N-EVENT-REPORT
to its own handler instead; one test per case keeps that true across
pynetdicom upgrades.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import PEERS, Background
from pydicom import Dataset
from pynetdicom import AE, build_role, evt

from dcmreport.association.common import Settings
from dcmreport.association.listener import Listener, ListenOptions
from dcmreport.dicom.catalog import TRANSFER_SYNTAXES
from dcmreport.dicom.records import ReportRecord
from dcmreport.listen.handler import ListenHandler, Reaction

ALL_TS = tuple(uid for uid, _ in TRANSFER_SYNTAXES.values())
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"


@pytest.fixture
def listener() -> Iterator[tuple[Listener, list[ReportRecord]]]:
    records: list[ReportRecord] = []

    server = Listener(
        Settings(ae_title="LISTENER", transfer_syntaxes=ALL_TS),
        ListenOptions(port=0, bind="127.0.0.1"),
        # Routing, not the standard's answers (tests/listen/test_answers.py): answer every report.
        ListenHandler(
            Reaction(echo_reply=True, answer_findings=False), lambda r, _: records.append(r)
        ),
    )
    server.start()
    yield server, records
    server.stop(grace=1)


def recorded(server: Listener, records: list[ReportRecord]) -> list[ReportRecord]:
    """The records once every report is answered and recorded: a peer may release as soon as
    its answer arrives, before the listener's thread has recorded it."""
    server.wait(lambda: bool(records) and server.in_flight() == 0, 5.0)
    return records


def associate(
    port: int,
    contexts: list[tuple[str, list[str]]],
    roles: list[Any] | None = None,
    handlers: list[Any] | None = None,
) -> Any:
    ae = AE(ae_title="REQUESTOR")
    for abstract_syntax, transfer_syntaxes in contexts:
        ae.add_requested_context(abstract_syntax, transfer_syntaxes)
    assoc = ae.associate(
        "127.0.0.1", port, ae_title="LISTENER", ext_neg=roles, evt_handlers=handlers
    )
    assert assoc.is_established
    return assoc


def commands_received(assoc_handlers: list[Dataset]) -> list[Any]:
    return [(evt.EVT_DIMSE_RECV, lambda e: assoc_handlers.append(e.message.command_set))]


@pytest.mark.parametrize(
    "sop_class",
    [
        "1.2.840.10008.5.1.4.1.1.7",  # a storage class: pynetdicom would answer C-STORE-RSP
        "1.2.840.10008.1.1",  # Verification: pynetdicom would answer C-ECHO-RSP
        "1.2.3.4.5.6.7",  # private or unknown: pynetdicom would abort
        "1.2.840.10008.1.20.1",  # storage commitment: pynetdicom's own N-EVENT-REPORT route
    ],
)
def test_every_class_reaches_the_handler(listener: Any, sop_class: str) -> None:
    server, records = listener
    commands: list[Dataset] = []
    assoc = associate(
        server.port, [(sop_class, ["1.2.840.10008.1.2"])], handlers=commands_received(commands)
    )
    ds = Dataset()
    ds.PatientID = "X"
    status, reply = assoc.send_n_event_report(ds, 7, sop_class, "1.2.3.99", msg_id=42)
    assoc.release()
    assert status.Status == 0
    assert commands[-1].CommandField == 0x8100
    assert commands[-1].MessageIDBeingRespondedTo == 42
    assert reply.PatientID == "X"
    [record] = recorded(server, records)
    assert record.report.sop_class_uid == sop_class
    assert record.report.event_type_id == 7
    assert record.report.dataset is not None and record.report.dataset.PatientID == "X"


def test_c_echo_is_answered(listener: Any) -> None:
    server, _ = listener
    assoc = associate(server.port, [("1.2.840.10008.1.1", ["1.2.840.10008.1.2"])])
    assert assoc.send_c_echo().Status == 0
    assoc.release()


def test_first_proposed_supported_transfer_syntax_is_accepted(listener: Any) -> None:
    server, _ = listener
    proposals = [
        ("1.2.840.10008.1.20.1", [JPEG_BASELINE, "1.2.840.10008.1.2.2", "1.2.840.10008.1.2"]),
        ("1.2.840.10008.5.1.4.1.1.7", [JPEG_BASELINE]),
    ]
    assoc = associate(server.port, proposals)
    accepted = {cx.abstract_syntax: cx.transfer_syntax[0] for cx in assoc.accepted_contexts}
    rejected = {cx.abstract_syntax: cx.result for cx in assoc.rejected_contexts}
    assoc.release()
    assert accepted == {"1.2.840.10008.1.20.1": "1.2.840.10008.1.2.2"}
    assert rejected == {"1.2.840.10008.5.1.4.1.1.7": 4}  # transfer syntaxes not supported


@pytest.mark.parametrize(("scu", "scp"), [(False, True), (True, True), (True, False)])
def test_role_selection_is_answered(listener: Any, scu: bool, scp: bool) -> None:
    server, _ = listener
    sop_class = "1.2.840.10008.1.20.1"
    assoc = associate(
        server.port,
        [(sop_class, ["1.2.840.10008.1.2"])],
        roles=[build_role(sop_class, scu_role=scu, scp_role=scp)],
    )
    [cx] = assoc.accepted_contexts
    assoc.release()
    assert (bool(cx.as_scu), bool(cx.as_scp)) == (scu, scp)


@pytest.mark.speedups
def test_nagle_is_off_on_accepted_sockets(listener: Any) -> None:
    """The fast path's item 4 (tests a speed trick: not run in plain mode)."""
    server, _ = listener
    assoc = associate(server.port, [("1.2.840.10008.1.1", ["1.2.840.10008.1.2"])])
    [acceptor] = server._ae.active_associations
    sock = acceptor.dul.socket.socket
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    assoc.release()


def test_undecodable_event_information_is_answered_0110(listener: Any) -> None:
    """A peer may send anything: the listener answers Processing failure and keeps going."""
    server, records = listener
    # Explicit VR LE: a Referenced SOP Sequence whose item is cut short
    truncated = b"\x08\x00\x99\x11SQ\x00\x00\xff\xff\xff\xff\xfe\xff\x00\xe0\x10\x00\x00\x00abc"
    sender = subprocess.run(
        [sys.executable, str(PEERS / "raw_sender.py"), str(server.port), truncated.hex()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(sender.stdout)["status"] == 0x0110, sender.stderr
    [record] = recorded(server, records)
    assert record.report.problem and "cannot decode" in record.report.problem
    assert "abc" not in record.report.problem  # no data in messages


def test_response_without_event_type_id_is_tolerated() -> None:
    """Event Type ID is conditional in the response (PS3.7 10.1.1; fo-dicom #323 crashed on it)."""
    from dcmreport.association.common import dataset_fields
    from dcmreport.association.requestor import to_report_response
    from dcmreport.dicom.records import AssociationInfo, ReportRequest

    command = Dataset()
    command.CommandField = 0x8100
    command.MessageIDBeingRespondedTo = 1
    command.CommandDataSetType = 0x0101
    command.Status = 0
    request = ReportRequest("1.2.840.10008.1.20.1", "1.2.3", 2)
    info = AssociationInfo("A", "B", "127.0.0.1:1", 0, "1.2", None)
    rsp = to_report_response(request, info, dataset_fields(command), None, 1.0)
    assert rsp.event_type_id is None and rsp.sop_class_uid is None and rsp.event_reply is None
    assert rsp.status.code == 0


def test_accepted_roles_are_in_both_sides_json(listener: Any) -> None:
    """send-report and listen both say which roles the requestor ended up with."""
    server, records = listener
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dcmreport",
            "send-report",
            f"LISTENER@127.0.0.1:{server.port}",
            "--class",
            "1.2.840.10008.1.20.1",
            "--event",
            "1",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    contexts = json.loads(run.stdout)["association"]["contexts"]
    assert [cx["requestor_roles"] for cx in contexts] == [
        {"scu": True, "scp": False},  # Verification: default roles
        {"scu": False, "scp": True},  # storage commitment: the SCP role, as proposed
    ]
    [record] = recorded(server, records)
    seen = [(cx.requestor_is_scu, cx.requestor_is_scp) for cx in record.report.association.contexts]
    assert seen == [(True, False), (False, True)]


def _showing_slowly(show: Callable[[ReportRecord, Any], None]) -> Listener:
    """A started listener whose reports are shown by ``show`` (which takes its time)."""
    server = Listener(
        Settings(ae_title="LISTENER"),
        ListenOptions(port=0, bind="127.0.0.1"),
        ListenHandler(Reaction(answer_findings=False), show),
    )
    server.start()
    return server


def _send_reports(port: int, count: int) -> Background:
    """``dcmreport send-report --repeat COUNT`` on one association: it reads its own responses
    (a plain pynetdicom requestor sending back to back may lose one to its own loop)."""
    return Background(
        [sys.executable, "-m", "dcmreport", "send-report", f"LISTENER@127.0.0.1:{port}",
         "--class", "1.2.3.4.5.6.7", "--event", "1", "--instance", "1.2.3", "--repeat",
         str(count), "--format", "json", "PatientID=X"]
    )  # fmt: skip


class _Gate:
    """A show that holds every record until opened, and says when the first one arrived."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.first = threading.Event()
        self.shown: list[int] = []

    def __call__(self, record: ReportRecord, _: Any) -> None:
        self.first.set()
        assert self.opened.wait(60), "the test never opened the gate"
        self.shown.append(int(record.report.message_id or 0))


def test_a_slow_record_does_not_hold_the_peers_release_and_is_kept_in_order() -> None:
    """Recording and showing run after the answer, off the association's thread: the peer's
    A-RELEASE-RQ is answered while records wait; the records of one association keep their
    order and a stop still waits for them."""
    gate = _Gate()
    server = _showing_slowly(gate)
    try:
        sender = _send_reports(server.port, 3)
        assert sender.finish(sig=None, timeout=60) == 0, "".join(sender.stderr)  # released
        assert gate.shown == [] and server.in_flight() == 3  # still to be recorded
    finally:
        gate.opened.set()
        server.stop(grace=5)
    assert gate.shown == [1, 2, 3]  # all of them, in the order received, before stop returned


def test_an_association_waits_when_its_records_fall_behind() -> None:
    """Records waiting to be shown are bounded: once MAX_WAITING_RECORDS wait behind the one
    being shown, the next report is not answered, nor a further request read, until there
    is room."""
    from dcmreport.association.listener import MAX_WAITING_RECORDS

    gate = _Gate()
    server = _showing_slowly(gate)
    last = MAX_WAITING_RECORDS + 6
    sender = _send_reports(server.port, last)
    try:
        # Report 1's record is shown (held by the gate), reports 2 .. MAX + 1 wait as records;
        # report MAX + 2 waits for a place among them before it is answered (places are taken
        # in the order of the answers), and the association reads nothing more.
        held = MAX_WAITING_RECORDS + 1
        assert server.wait(lambda: server.answered == held, 60), server.answered
        assert not server.wait(lambda: server.answered > held, 0.5), server.answered
        gate.opened.set()
        assert sender.finish(sig=None, timeout=60) == 0, "".join(sender.stderr)
        assert server.wait(lambda: server.answered == last, 30), server.answered  # counted
    finally:
        gate.opened.set()
        server.stop(grace=10)
    assert gate.shown == list(range(1, last + 1))
