"""Send one storage commitment report whose data set pydicom would not write.

    python raw_sender.py PORT [HEX]

The Event Information is HEX (Explicit VR Little Endian bytes), by default
elements whose values are invalid for their VRs; prints the response status.
"""

from __future__ import annotations

import struct
import sys
from io import BytesIO

from pynetdicom import AE
from pynetdicom.dimse_primitives import N_EVENT_REPORT

EXPLICIT = "1.2.840.10008.1.2.1"


def element(tag: int, vr: bytes, value: bytes) -> bytes:
    value += b" " * (len(value) % 2)
    return struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr + struct.pack("<H", len(value)) + value


def main(port: int, event_information: bytes) -> int:
    ae = AE()
    ae.add_requested_context("1.2.840.10008.1.20.1", EXPLICIT)
    assoc = ae.associate("127.0.0.1", port)
    req = N_EVENT_REPORT()
    req.MessageID = 1
    req.AffectedSOPClassUID = "1.2.840.10008.1.20.1"
    req.AffectedSOPInstanceUID = "1.2.840.10008.1.20.1.1"
    req.EventTypeID = 1
    req.EventInformation = BytesIO(event_information)
    assoc._reactor_checkpoint.clear()  # keep the reactor off the response queue, as send_*() do
    while not assoc._is_paused:
        pass
    assoc.dimse.send_msg(req, assoc.accepted_contexts[0].context_id)
    _, rsp = assoc.dimse.get_msg(block=True)
    assoc._reactor_checkpoint.set()
    assoc.release()
    print(rsp.Status if rsp is not None else "none")
    return 0


if __name__ == "__main__":
    invalid = element(0x00081155, b"UI", b"1.2.SECRET") + element(0x00201041, b"DS", b"SECRETDS")
    sys.exit(main(int(sys.argv[1]), bytes.fromhex(sys.argv[2]) if sys.argv[2:] else invalid))
