"""``send-report`` against peers that misbehave: every failure is exit 3 with what happened.

The peer is plain pynetdicom in its own process (tests/peers/pynetdicom_peer.py),
made to stall mid-PDU, to answer with the wrong message, or to announce a
maximum PDU length that can carry nothing.
"""

from __future__ import annotations

import json
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
