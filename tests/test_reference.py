"""The LEADTOOLS ``DicomNet.SendNReportRequest`` sample, end to end across processes.

The reference (``shared/seed/``) has a client ``ClientTest`` calling a server
``ServerTest`` with implementation class UID 1.2.840.114257.1, version name
"1", max PDU 0x100000 and two contexts (1: Verification, 3: Secondary Capture
Image Storage, both Implicit VR LE). The client sends message ID 1, event 1,
instance 1.1.1.1.9999.2 with PatientName TEST, PatientID ID, PatientSex M; the
server echoes the dataset back as the Event Reply. Each side asserts what it
received; those assertions are ``assert_server_saw`` and ``assert_client_saw``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from helpers import (
    IMPLICIT,
    PEERS,
    SC_IMAGE_STORAGE,
    VERIFICATION,
    dcmreport,
    stop_pynetdicom_server,
)

INSTANCE = "1.1.1.1.9999.2"
PATIENT = {
    "00100010": {"vr": "PN", "Value": [{"Alphabetic": "TEST"}]},
    "00100020": {"vr": "LO", "Value": ["ID"]},
    "00100040": {"vr": "CS", "Value": ["M"]},
}
REFERENCE_SENDER = [
    "-aet",
    "ClientTest",
    "--implementation-class-uid",
    "1.2.840.114257.1",
    "--implementation-version",
    "1",
    "--max-pdu",
    str(0x100000),
    "-x",
    "implicit",
    "--role",
    "none",
    "--message-id",
    "1",
    "--event",
    "1",
    "--instance",
    INSTANCE,
    "PatientName=TEST",
    "PatientID=ID",
    "PatientSex=M",
    "--format",
    "json",
]


def assert_server_saw(record: dict[str, Any]) -> None:
    """Everything ServerConnection.OnReceiveAssociateRequest/OnReceiveNReportRequest asserts."""
    assoc = record["association"]
    assert record["called_aet"] == "ServerTest"
    assert record["calling_aet"] == "ClientTest"
    assert assoc["implementation_class_uid"] == "1.2.840.114257.1"
    assert assoc["implementation_version"] == "1"
    assert assoc["max_pdu"] == 0x100000
    contexts = {cx["id"]: cx for cx in assoc["contexts"]}
    assert contexts[1]["abstract_syntax"] == VERIFICATION
    assert contexts[1]["proposed_transfer_syntaxes"][0] == IMPLICIT
    # ... and the server accepts every context with its first transfer syntax
    assert [(cx["id"], cx["transfer_syntax"]) for cx in assoc["contexts"]] == [
        (1, IMPLICIT),
        (3, IMPLICIT),
    ]
    assert record["message_id"] == 1
    assert record["sop_class_uid"] == SC_IMAGE_STORAGE
    assert record["event_type_id"] == 1
    assert record["dataset"] is not None
    assert record["sop_instance_uid"] == INSTANCE
    assert record["dataset"] == PATIENT
    assert record["status"] == 0
    assert record["event_reply"] == PATIENT


def assert_client_saw(response: dict[str, Any]) -> None:
    """Everything Client.OnReceiveNReportResponse asserts."""
    assert response["message_id_being_responded_to"] == 1
    assert response["sop_class_uid"] == SC_IMAGE_STORAGE
    assert response["event_type_id"] == 1
    assert response["event_reply"] is not None
    assert response["sop_instance_uid"] == INSTANCE
    assert response["event_reply"] == PATIENT
    assert response["status"] == 0
    # dcmreport judges the answer: the echoed Event Reply breaks nothing (the pynetdicom
    # client's output has no findings to show)
    assert response.get("findings", []) == []


def test_dcmreport_to_dcmreport(listen: Any) -> None:
    listener = listen("--aet", "ServerTest", "--reply", "echo", "--count", "1")
    sent = dcmreport("send-report", f"ServerTest@127.0.0.1:{listener.port}", *REFERENCE_SENDER)
    assert sent.returncode == 0, sent.stderr
    assert_client_saw(json.loads(sent.stdout))
    assert listener.finish(sig=None) == 0, "".join(listener.stderr)
    [record] = listener.json_lines()
    assert_server_saw(record)
    assoc = record["association"]
    assert [
        (cx["id"], cx["abstract_syntax"], cx["proposed_roles"]) for cx in assoc["contexts"]
    ] == [(1, VERIFICATION, None), (3, SC_IMAGE_STORAGE, None)]


def test_pynetdicom_client_to_dcmreport_listen(listen: Any) -> None:
    listener = listen("--aet", "ServerTest", "--reply", "echo", "--count", "1")
    client = subprocess.run(
        [sys.executable, str(PEERS / "pynetdicom_peer.py"), "client", str(listener.port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert client.returncode == 0, client.stderr
    response = json.loads(client.stdout)
    assert response["command_field"] == 0x8100
    assert_client_saw(response)
    assert listener.finish(sig=None) == 0
    [record] = listener.json_lines()
    assert_server_saw(record)


def test_dcmreport_send_report_to_pynetdicom_server(pynetdicom_server: Any) -> None:
    server, port = pynetdicom_server("--route-reports")
    sent = dcmreport("send-report", f"ServerTest@127.0.0.1:{port}", *REFERENCE_SENDER)
    assert sent.returncode == 0, sent.stderr
    assert_client_saw(json.loads(sent.stdout))
    seen = stop_pynetdicom_server(server)
    assert seen["calling_aet"] == "ClientTest"
    assert seen["called_aet"] == "ServerTest"
    assert seen["message_id"] == 1
    assert seen["sop_class_uid"] == SC_IMAGE_STORAGE
    assert seen["sop_instance_uid"] == INSTANCE
    assert seen["event_type_id"] == 1
    assert seen["dataset"] == PATIENT


def test_plain_pynetdicom_answers_c_store_rsp_and_dcmreport_says_so(pynetdicom_server: Any) -> None:
    """Unpatched pynetdicom routes a Secondary Capture report to its storage service."""
    server, port = pynetdicom_server()
    sent = dcmreport("send-report", f"ServerTest@127.0.0.1:{port}", *REFERENCE_SENDER)
    assert sent.returncode == 3, sent.stderr
    assert "answered with C-STORE-RSP instead of N-EVENT-REPORT-RSP" in sent.stderr
    assert "Traceback" not in sent.stderr
    stop_pynetdicom_server(server)
