"""``send-report`` against peers that misbehave: every failure is exit 3 with what happened,
and every answer that breaks PS3.7 10.1.1 is a finding and exit 7.

The peer is plain pynetdicom in its own process (tests/peers/pynetdicom_peer.py),
made to stall mid-PDU, to answer with the wrong message, to announce a
maximum PDU length that can carry nothing, or to answer with a response that
names another instance, class or event, carries a status N-EVENT-REPORT does
not define, or an Event Reply where the standard allows none.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from typing import Any

import pytest
from helpers import dcmreport, stop_pynetdicom_server

REPORT = ("--event", "1", "--instance", "1.2.3", "--format", "json")


def test_a_peer_that_stalls_mid_pdu_is_bounded_by_the_dimse_timeout(
    pynetdicom_server: Any,
) -> None:
    """The stall is noticed by the timeout, and said so (dcmreport() fails on a hang)."""
    peer, port = pynetdicom_server("--route-reports", "--stall")
    run = dcmreport("send-report", f"ServerTest@127.0.0.1:{port}", *REPORT, "--dimse-timeout", "2")
    assert run.returncode == 3, run.stderr
    assert "within 2 s (--dimse-timeout)" in run.stderr
    peer.proc.kill()


def test_a_c_echo_rsp_to_a_report_is_exit_3_naming_it(pynetdicom_server: Any) -> None:
    """Plain pynetdicom answers a report on Verification with a C-ECHO-RSP."""
    peer, port = pynetdicom_server()
    run = dcmreport(
        "send-report", f"ServerTest@127.0.0.1:{port}", *REPORT, "--class", "1.2.840.10008.1.1"
    )
    assert run.returncode == 3, run.stderr
    assert "answered with C-ECHO-RSP instead of N-EVENT-REPORT-RSP" in run.stderr
    assert "Traceback" not in run.stderr and "UnboundLocalError" not in run.stderr
    stop_pynetdicom_server(peer)


@pytest.mark.parametrize("max_pdu", [1, 6])
def test_an_unusable_peer_max_pdu_is_the_peers_fault(pynetdicom_server: Any, max_pdu: int) -> None:
    peer, port = pynetdicom_server("--max-pdu", str(max_pdu))
    run = dcmreport("send-report", f"ServerTest@127.0.0.1:{port}", *REPORT)
    assert run.returncode == 3, run.stderr
    assert f"maximum PDU length of {max_pdu} bytes" in run.stderr
    stop_pynetdicom_server(peer)


def _batch_summary(stdout: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert lines and lines[-1]["kind"] == "summary", stdout
    return lines[-1]


def test_a_batch_to_a_peer_that_stalls_is_bounded_and_claims_nothing(
    pynetdicom_server: Any,
) -> None:
    """``--repeat``: the stalled report is neither succeeded nor resent for ever."""
    peer, port = pynetdicom_server("--route-reports", "--stall")
    run = dcmreport(
        "send-report", f"ServerTest@127.0.0.1:{port}", *REPORT, "--repeat", "5",
        "--dimse-timeout", "2",
    )  # fmt: skip
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr
    assert "within 2 s (--dimse-timeout)" in run.stderr
    summary = _batch_summary(run.stdout)
    assert summary["succeeded"] == 0 and summary["unanswered"] >= 1, summary
    peer.proc.kill()


def test_a_batch_answered_with_the_wrong_message_is_exit_3_naming_it(
    pynetdicom_server: Any,
) -> None:
    peer, port = pynetdicom_server()
    run = dcmreport(
        "send-report", f"ServerTest@127.0.0.1:{port}", *REPORT, "--repeat", "3",
        "--class", "1.2.840.10008.1.1",
    )  # fmt: skip
    assert run.returncode == 3, run.stderr
    assert "C-ECHO-RSP" in run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert _batch_summary(run.stdout)["succeeded"] == 0
    stop_pynetdicom_server(peer)


# --- a faulty SCP: each departure of its N-EVENT-REPORT-RSP a finding, and exit 7 ----------

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
# The peer's options, the finding's kind and path, and the exit code by the status alone.
FAULTS = [
    pytest.param(
        ("--rsp-instance", "9.9.9"), "response-differs", "AffectedSOPInstanceUID", 0,
        id="other-instance",
    ),
    pytest.param(
        ("--rsp-class", CT_IMAGE_STORAGE), "response-differs", "AffectedSOPClassUID", 0,
        id="other-class",
    ),
    pytest.param(("--rsp-event", "2"), "response-differs", "EventTypeID", 0, id="other-event"),
    pytest.param(
        ("--rsp-status", "0x0110"), "reply-without-success", "EventReply", 4,
        id="reply-with-failure",
    ),
    pytest.param(("--status", "0x0001"), "undefined-status", "Status", 0, id="status-0001"),
    pytest.param(("--status", "0xB000"), "undefined-status", "Status", 0, id="status-b000"),
    pytest.param(
        ("--rsp-no-event",), "reply-without-event-type", "EventTypeID", 0,
        id="reply-without-event-type",
    ),
]  # fmt: skip
WITH_REPLY = (*REPORT, "PatientID=ID")  # the peer echoes it as the Event Reply


def _only_finding(response: dict[str, Any], kind: str, path: str) -> str:
    """The response's one finding, of ``kind`` at ``path``; its message."""
    [finding] = response["findings"]
    assert (finding["kind"], finding["path"]) == (kind, path), finding
    return str(finding["message"])


@pytest.mark.parametrize(("fault", "kind", "path", "by_status"), FAULTS)
def test_a_faulty_answer_is_a_finding_and_exit_7_unless_accepted(
    pynetdicom_server: Any, fault: tuple[str, ...], kind: str, path: str, by_status: int
) -> None:
    peer, port = pynetdicom_server("--route-reports", *fault)
    for accept, code in (((), 7), (("--accept-findings",), by_status)):
        run = dcmreport("send-report", f"ServerTest@127.0.0.1:{port}", *WITH_REPLY, *accept)
        assert run.returncode == code, run.stderr
        message = _only_finding(json.loads(run.stdout), kind, path)
        assert f"warning: {message}" in run.stderr.splitlines()  # shown, accepted or not
    stop_pynetdicom_server(peer)


@pytest.mark.parametrize(("fault", "kind", "path", "by_status"), FAULTS)
def test_a_batch_of_faulty_answers_counts_them_and_exits_7_unless_accepted(
    pynetdicom_server: Any, fault: tuple[str, ...], kind: str, path: str, by_status: int
) -> None:
    peer, port = pynetdicom_server("--route-reports", *fault)
    for accept, code in (((), 7), (("--accept-findings",), by_status)):
        run = dcmreport(
            "send-report", f"ServerTest@127.0.0.1:{port}", *WITH_REPLY, "--repeat", "3", *accept
        )
        assert run.returncode == code, run.stderr
        lines = [json.loads(line) for line in run.stdout.splitlines()]
        responses = [line for line in lines if line["kind"] == "response"]
        assert [r["message_id"] for r in responses] == [1, 2, 3]
        message = _only_finding(responses[0], kind, path)
        assert all(_only_finding(r, kind, path) == message for r in responses)
        assert f"warning: message ID 3: {message}" in run.stderr.splitlines()
        summary = lines[-1]
        assert (summary["kind"], summary["answered"], summary["with_findings"]) == ("summary", 3, 3)
    stop_pynetdicom_server(peer)


def test_a_text_response_and_summary_show_the_findings(pynetdicom_server: Any) -> None:
    peer, port = pynetdicom_server("--route-reports", "--status", "0xB000")
    text = ("--event", "1", "--instance", "1.2.3", "--format", "text")
    run = dcmreport("send-report", f"ServerTest@127.0.0.1:{port}", *text)
    assert run.returncode == 7, run.stderr
    assert "Findings" in run.stdout and "undefined-status" in run.stdout
    run = dcmreport("send-report", f"ServerTest@127.0.0.1:{port}", *text, "--repeat", "2")
    assert run.returncode == 7, run.stderr
    assert re.search(r"^With findings +2 *$", run.stdout, re.M), run.stdout
    stop_pynetdicom_server(peer)


def test_stop_on_failure_stops_at_the_first_answer_with_findings_unless_accepted(
    pynetdicom_server: Any,
) -> None:
    peer, port = pynetdicom_server("--route-reports", "--rsp-instance", "9.9.9")
    for accept, answered in (((), 1), (("--accept-findings",), 3)):
        run = dcmreport(
            "send-report", f"ServerTest@127.0.0.1:{port}", *REPORT, "--repeat", "3",
            "--stop-on-failure", *accept,
        )  # fmt: skip
        assert run.returncode == (0 if accept else 7), run.stderr
        assert _batch_summary(run.stdout)["answered"] == answered
    stop_pynetdicom_server(peer)


def test_a_failure_status_with_findings_is_7_and_without_them_4(pynetdicom_server: Any) -> None:
    """Findings decide first, whatever the status: an honest Failure is still 4."""
    honest, port = pynetdicom_server("--route-reports", "--status", "0x0110")
    run = dcmreport("send-report", f"ServerTest@127.0.0.1:{port}", *WITH_REPLY, "--repeat", "2")
    assert run.returncode == 4, run.stderr
    summary = _batch_summary(run.stdout)
    assert (summary["failed"], summary["with_findings"]) == ({"0x0110": 2}, 0)
    stop_pynetdicom_server(honest)


def test_a_response_to_another_message_id_is_no_answer_exit_3(pynetdicom_server: Any) -> None:
    """Not a finding: it names another request (PS3.7 10.1.1.1.2), so this one is unanswered;
    the association is aborted, alone or in a batch."""
    peer, port = pynetdicom_server("--route-reports", "--rsp-message-id", "9")
    for batch in ((), ("--repeat", "3")):
        run = dcmreport("send-report", f"ServerTest@127.0.0.1:{port}", *REPORT, *batch)
        assert run.returncode == 3, run.stderr
        assert "the response answers message ID 9, not the request's 1" in run.stderr
        assert "aborted the association" in run.stderr
    stop_pynetdicom_server(peer)


# An A-ASSOCIATE-RJ (PS3.8 9.3.4): permanent (1), by the service user (1), called AE title
# not recognized (7).
REJECT_CALLED = bytes([0x03, 0, 0, 0, 0, 4, 0, 1, 1, 7])


def _rejecting_at_once(rejections: int) -> tuple[socket.socket, threading.Thread]:
    """A peer that answers each association request with REJECT_CALLED and closes at once."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for _ in range(rejections):
            connection, _ = server.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(REJECT_CALLED)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_a_rejection_that_closes_the_connection_at_once_is_a_rejection() -> None:
    """pynetdicom's requestor may find the connection closed before it reads the rejection
    and take it for a failed connection; whoever wins, the user reads the rejection."""
    runs = 5
    server, thread = _rejecting_at_once(runs)
    with server:
        port = server.getsockname()[1]
        for _ in range(runs):
            run = dcmreport("echo", f"NOBODY@127.0.0.1:{port}")
            assert run.returncode == 3, run.stderr
            assert "rejected the association permanently: called AE title not recognized" in (
                run.stderr
            )
        thread.join(30)


def test_a_rejection_seen_on_the_wire_is_reported_when_pynetdicom_missed_it() -> None:
    """The other interleaving, made certain: the association ended neither established nor
    rejected (pynetdicom saw the connection closed first), but the A-ASSOCIATE-RJ came."""
    from pynetdicom import AE
    from pynetdicom.association import Association

    from dcmreport.association.common import Settings
    from dcmreport.association.internals.guards import Diagnostics
    from dcmreport.association.requestor import _why_not_established
    from dcmreport.dicom.address import Peer

    assoc = Association(AE(), "requestor")
    diagnostics = Diagnostics()
    diagnostics.connected, diagnostics.rejection = True, (1, 1, 7)
    error = _why_not_established(assoc, Peer("NOBODY", "127.0.0.1", 104), diagnostics, Settings())
    assert "rejected the association permanently: called AE title not recognized" in str(error)
