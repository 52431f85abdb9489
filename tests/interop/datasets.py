"""Event Information used by the interop tests, in the DICOM JSON model (PS3.18 F.2)."""

from __future__ import annotations

import base64
from typing import Any

IMPLICIT, EXPLICIT, BIG = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"
TS_OPTION = {IMPLICIT: "implicit", EXPLICIT: "explicit", BIG: "big"}
SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"  # the well-known instance (PS3.4 J.3.5)
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
PRIVATE_CLASS = "1.2.826.0.1.3680043.9.9999.1"
ROOT = "1.2.826.0.1.3680043.9.9999"


def el(vr: str, *values: Any) -> dict[str, Any]:
    return {"vr": vr, "Value": list(values)} if values else {"vr": vr}


def pn(name: str) -> dict[str, Any]:
    return el("PN", {"Alphabetic": name})


def sop_ref(cls: str, uid: str, reason: int | None = None) -> dict[str, Any]:
    item = {"00081150": el("UI", cls), "00081155": el("UI", uid)}
    if reason is not None:
        item["00081197"] = el("US", reason)
    return item


PATIENT = {"00100010": pn("TEST"), "00100020": el("LO", "ID"), "00100040": el("CS", "M")}

STGCMT_EVENT_1 = {  # Storage Commitment Request Successful (PS3.4 J.3.3)
    "00080054": el("AE", "ARCHIVE"),  # Retrieve AE Title
    "00081195": el("UI", f"{ROOT}.10.1"),  # Transaction UID
    "00081199": el(  # Referenced SOP Sequence
        "SQ", sop_ref(CT_IMAGE_STORAGE, f"{ROOT}.11.1"), sop_ref(CT_IMAGE_STORAGE, f"{ROOT}.11.2")
    ),
}
STGCMT_EVENT_2 = {  # Storage Commitment Request Complete - Failures Exist
    "00081195": el("UI", f"{ROOT}.10.2"),
    "00081198": el(  # Failed SOP Sequence, each item with its Failure Reason
        "SQ",
        sop_ref(CT_IMAGE_STORAGE, f"{ROOT}.12.2", 0x0112),  # No such object instance
        sop_ref(SC_IMAGE_STORAGE, f"{ROOT}.12.3", 0x0122),  # Referenced SOP Class not supported
    ),
    "00081199": el("SQ", sop_ref(CT_IMAGE_STORAGE, f"{ROOT}.12.1")),
}
# One element of most VRs, multi-byte numbers chosen so that a wrong byte order shows.
TYPED = {
    "00080020": el("DA", "20240131"),
    "00080030": el("TM", "101500"),
    "00080054": el("AE", "ARCHIVE"),
    "00081195": el("UI", f"{ROOT}.13.1"),
    "00100010": pn("DOE^JOHN"),
    "00100020": el("LO", "ID-0102"),
    "00100040": el("CS", "O"),
    "00181050": el("DS", 0.5),
    "00186020": el("SL", -66051),
    "0018605A": el("FL", 1.5, -0.25),
    "00189089": el("FD", 0.125, -2.5, 1024.0625),
    "00200013": el("IS", 258),
    "00209165": el("AT", "00100020"),
    "00280010": el("US", 258),
    "00281041": el("SS", -2),
    "00289001": el("UL", 16909060),
    # OW: in Explicit VR BE its 16-bit words are byte-swapped on the wire (PS3.5 7.3), as
    # dcmreport and DCMTK do; dcmjs-dimse sends them unswapped (see TYPED_OW_SWAPPED).
    "00281201": {"vr": "OW", "InlineBinary": "AQIDBAUGBwg="},  # 01 02 ... 08
    "00420011": {"vr": "OB", "InlineBinary": "AAECAwQFBgc="},  # 00 01 ... 07
    "00081199": el("SQ", sop_ref(CT_IMAGE_STORAGE, f"{ROOT}.13.2")),
}
# TYPED with its OW words byte-swapped: what dcmreport decodes of dcmjs's OW in Explicit VR BE
# and dcmjs of dcmreport's (dcmjs does not swap; PS3.5 7.3 says to).
TYPED_OW_SWAPPED = {**TYPED, "00281201": {"vr": "OW", "InlineBinary": "AgEEAwYFCAc="}}
PRIVATE = {
    "00090010": el("LO", "DCMREPORT INTEROP"),  # private creator of block 10
    "00091001": el("LO", "private value"),
    "00100020": el("LO", "ID"),
}

# (0009,1001) has no VR on the wire in Implicit VR and no dictionary entry: both receivers
# decode it as UN with its bytes, padding included (PS3.5 6.2.2); the private creator
# (0009,0010) is known to be LO (PS3.5 7.8.1).
PRIVATE_AS_IMPLICIT = {
    **PRIVATE,
    "00091001": {"vr": "UN", "InlineBinary": "cHJpdmF0ZSB2YWx1ZSA="},  # b"private value "
}
# 200 KB of Event Information: many P-DATA-TF PDUs whatever the maximum PDU length.
LARGE = {
    "00100020": el("LO", "ID"),
    "00420011": {"vr": "OB", "InlineBinary": base64.b64encode(bytes(range(256)) * 800).decode()},
}
