"""Send one N-EVENT-REPORT-RQ (or N-ACTION-RQ) exactly as given, bypassing pynetdicom's checks.

    python raw_sender.py PORT [HEX] [--class UID] [--context UID] [--instance UID]
                         [--event N | --action N|none] [--abort SECONDS]

The Event Information is HEX (Explicit VR Little Endian bytes), by default
elements whose values are invalid for their VRs. Prints the response as JSON
(``{"status": ..., "event_type_id": ...}``), or, with ``--abort``, aborts the
association that many seconds after sending, without reading the response (a
sender whose DIMSE timeout passed, or that was interrupted). ``--action`` sends
an N-ACTION-RQ instead, HEX its Action Information, with that Action Type ID
(``none``: without one) on the Requested SOP Class and Instance.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from io import BytesIO

from pynetdicom import AE
from pynetdicom.dimse_primitives import N_ACTION, N_EVENT_REPORT

EXPLICIT = "1.2.840.10008.1.2.1"
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"


def element(tag: int, vr: bytes, value: bytes) -> bytes:
    value += b" " * (len(value) % 2)
    return struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr + struct.pack("<H", len(value)) + value


def main(args: argparse.Namespace) -> int:
    ae = AE()
    ae.add_requested_context(args.context or args.sop_class, EXPLICIT)
    assoc = ae.associate("127.0.0.1", args.port)
    if not assoc.is_established:
        print(json.dumps({"error": "no association"}))
        return 1
    req = request(args)
    assoc._reactor_checkpoint.clear()  # keep the reactor off the response queue, as send_*() do
    while not assoc._is_paused:
        pass
    assoc.dimse.send_msg(req, assoc.accepted_contexts[0].context_id)
    if args.abort is not None:
        time.sleep(args.abort)
        assoc.abort()
        print(json.dumps({"aborted": True}))
        return 0
    _, rsp = assoc.dimse.get_msg(block=True)
    assoc._reactor_checkpoint.set()
    assoc.release()
    answer = {"status": None if rsp is None else rsp.Status}
    if rsp is not None:
        answer["event_type_id"] = getattr(rsp, "EventTypeID", None)
        answer["error_comment"] = rsp.ErrorComment
    print(json.dumps(answer))
    return 0


def request(args: argparse.Namespace) -> N_EVENT_REPORT | N_ACTION:
    """The request as given: a report, or with ``--action`` an N-ACTION."""
    if args.action is None:
        report = N_EVENT_REPORT()
        report.MessageID = 1
        report.AffectedSOPClassUID = args.sop_class
        report.AffectedSOPInstanceUID = args.instance
        report.EventTypeID = args.event
        report.EventInformation = BytesIO(args.hex)
        return report
    action = N_ACTION()
    action.MessageID = 1
    action.RequestedSOPClassUID = args.sop_class
    action.RequestedSOPInstanceUID = args.instance
    if args.action != "none":
        action.ActionTypeID = int(args.action)
    action.ActionInformation = BytesIO(args.hex)
    return action


def arguments() -> argparse.Namespace:
    invalid = element(0x00081155, b"UI", b"1.2.SECRET") + element(0x00201041, b"DS", b"SECRETDS")
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("hex", nargs="?", type=bytes.fromhex, default=invalid)
    parser.add_argument("--class", dest="sop_class", default=STORAGE_COMMITMENT)
    parser.add_argument("--context", default=None, help="abstract syntax (default: the class)")
    parser.add_argument("--instance", default="1.2.840.10008.1.20.1.1")
    parser.add_argument("--event", type=int, default=1)
    parser.add_argument("--action", default=None, help="an N-ACTION of this Action Type, or none")
    parser.add_argument("--abort", type=float, default=None, metavar="SECONDS")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main(arguments()))
