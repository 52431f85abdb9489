"""A plain pynetdicom peer playing the LEADTOOLS reference client or server.

It never imports dcmreport, so dcmreport's changes to pynetdicom's request
routing do not apply here: run as a separate process, it is pynetdicom as an
integrator would use it. Prints one JSON object on stdout with what it saw.

    python pynetdicom_peer.py client PORT      # the reference SCU, sends the report
    python pynetdicom_peer.py server [--route-reports] [--delay S] [--status N] [--abort]
                                     [--stall] [--max-pdu N] [--rsp-class UID]
                                     [--rsp-instance UID] [--rsp-event N] [--rsp-no-event]
                                     [--rsp-status N] [--rsp-message-id N]

``--stall`` answers a report with the first bytes of a PDU and then nothing;
``--max-pdu N`` announces N as this peer's maximum PDU length (even 1 to 6,
which can carry no message at all).

The ``--rsp-*`` options make a faulty SCP: the N-EVENT-REPORT-RSP pynetdicom
built is changed just before it is sent. ``--rsp-class``, ``--rsp-instance``
and ``--rsp-event`` name another Affected SOP Class, Instance or Event Type
than the request's, ``--rsp-message-id`` another Message ID Being Responded
To; ``--rsp-no-event`` leaves the Event Type ID out;
``--rsp-status N`` puts status N on a response that already carries its Event
Reply (pynetdicom attaches one only to a Success or Warning: so an Event Reply
goes with a Failure status). ``--status N`` is the handler's own status: one
pynetdicom does not know (0x0001 and 0xB000 for N-EVENT-REPORT) goes out
as it is, without an Event Reply.

The reference server receives its report on Secondary Capture Image Storage,
a storage class that plain pynetdicom answers with a C-STORE-RSP;
``--route-reports`` makes this peer serve N-EVENT-REPORT for every class (one
line, below) so that it can play the reference server at all.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from pydicom import Dataset
from pynetdicom import AE, evt
from pynetdicom.sop_class import SecondaryCaptureImageStorage, Verification

IMPLICIT = "1.2.840.10008.1.2"
INSTANCE = "1.1.1.1.9999.2"


def reference_dataset() -> Dataset:
    ds = Dataset()
    ds.PatientName = "TEST"
    ds.PatientID = "ID"
    ds.PatientSex = "M"
    return ds


def client(port: int) -> int:
    """The reference client: exactly the association and report of the LEADTOOLS sample."""
    ae = AE(ae_title="ClientTest")
    ae.implementation_class_uid = "1.2.840.114257.1"
    ae.implementation_version_name = "1"
    ae.add_requested_context(Verification, IMPLICIT)
    ae.add_requested_context(SecondaryCaptureImageStorage, IMPLICIT)
    commands: list[Dataset] = []
    assoc = ae.associate(
        "127.0.0.1",
        port,
        ae_title="ServerTest",
        max_pdu=0x100000,
        evt_handlers=[(evt.EVT_DIMSE_RECV, lambda e: commands.append(e.message.command_set))],
    )
    if not assoc.is_established:
        print(json.dumps({"error": "association failed"}))
        return 3
    status, reply = assoc.send_n_event_report(
        reference_dataset(), 1, SecondaryCaptureImageStorage, INSTANCE, msg_id=1
    )
    assoc.release()
    rsp = commands[-1]
    print(
        json.dumps(
            {
                "command_field": int(rsp.CommandField),
                "status": int(status.Status),
                "message_id_being_responded_to": int(rsp.MessageIDBeingRespondedTo),
                "sop_class_uid": str(rsp.get("AffectedSOPClassUID", "")),
                "sop_instance_uid": str(rsp.get("AffectedSOPInstanceUID", "")),
                "event_type_id": rsp.get("EventTypeID"),
                "event_reply": reply.to_json_dict() if reply is not None else None,
            }
        )
    )
    return 0


def tampered(send: Callable[..., None], changes: dict[str, Any]) -> Callable[..., None]:
    """pynetdicom's ``send_msg``, the response's parameters changed on the way out."""

    def send_msg(primitive: Any, context_id: int) -> None:
        for name, value in changes.items():
            setattr(primitive, name, value)
        send(primitive, context_id)

    return send_msg


def server(
    route_reports: bool,
    delay: float,
    status: int,
    abort: bool,
    stall: bool,
    max_pdu: int | None,
    changes: dict[str, Any],
) -> int:
    """The reference server: accept everything proposed, echo the report back."""
    if route_reports:
        from pynetdicom import association
        from pynetdicom.service_class_n import StorageCommitmentServiceClass

        association.uid_to_service_class = lambda uid: StorageCommitmentServiceClass

    seen: dict[str, object] = {}

    def on_requested(event: evt.Event) -> None:
        rq = event.assoc.requestor.primitive
        seen["calling_aet"] = rq.calling_ae_title
        seen["called_aet"] = rq.called_ae_title

    def on_report(event: evt.Event) -> tuple[int, Dataset | None]:
        req = event.request
        seen.update(
            message_id=req.MessageID,
            sop_class_uid=str(req.AffectedSOPClassUID),
            sop_instance_uid=str(req.AffectedSOPInstanceUID),
            event_type_id=req.EventTypeID,
            dataset=event.event_information.to_json_dict(),
        )
        time.sleep(delay)
        dimse = event.assoc.dimse
        if changes and not getattr(dimse, "tampered", False):
            dimse.send_msg = tampered(dimse.send_msg, changes)
            dimse.tampered = True
        if abort:
            event.assoc.abort()
        if stall:  # a P-DATA-TF header claiming 64 bytes, 2 of them, then silence
            event.assoc.dul.socket.socket.sendall(b"\x04\x00\x00\x00\x00\x40\x00\x00")
            time.sleep(120)
        return status, event.event_information

    ae = AE(ae_title="ServerTest")
    if max_pdu is not None:
        ae.maximum_pdu_size = max_pdu
    for cx in (Verification, SecondaryCaptureImageStorage, "1.2.840.10008.1.20.1"):
        ae.add_supported_context(cx, [IMPLICIT, "1.2.840.10008.1.2.1"])
    server = ae.start_server(
        ("127.0.0.1", 0),
        block=False,
        evt_handlers=[(evt.EVT_REQUESTED, on_requested), (evt.EVT_N_EVENT_REPORT, on_report)],
    )
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    sys.stdin.read()  # the test closes stdin to stop us
    server.shutdown()
    print(json.dumps(seen, default=str), flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "client":
        return client(int(argv[1]))
    delay = float(argv[argv.index("--delay") + 1]) if "--delay" in argv else 0.0
    status = int(argv[argv.index("--status") + 1], 0) if "--status" in argv else 0
    max_pdu = int(argv[argv.index("--max-pdu") + 1]) if "--max-pdu" in argv else None
    return server(
        "--route-reports" in argv,
        delay,
        status,
        "--abort" in argv,
        "--stall" in argv,
        max_pdu,
        response_changes(argv),
    )


def response_changes(argv: list[str]) -> dict[str, Any]:
    """The ``--rsp-*`` options as the response parameters they change."""
    changes: dict[str, Any] = {}
    for option, name, kind in (
        ("--rsp-class", "AffectedSOPClassUID", str),
        ("--rsp-instance", "AffectedSOPInstanceUID", str),
        ("--rsp-event", "EventTypeID", int),
        ("--rsp-status", "Status", lambda text: int(text, 0)),
        ("--rsp-message-id", "MessageIDBeingRespondedTo", int),
    ):
        if option in argv:
            changes[name] = kind(argv[argv.index(option) + 1])
    if "--rsp-no-event" in argv:
        changes["EventTypeID"] = None
    return changes


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
