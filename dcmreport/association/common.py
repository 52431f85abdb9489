"""What both sides of an association share: settings, the AE, and describing a negotiation.

``Settings`` holds the association parameters every command takes (AE
titles, maximum PDU, implementation class UID and version name, transfer
syntaxes, timeouts); :func:`make_ae` turns them into a pynetdicom AE;
:func:`association_info` describes a negotiated association as plain data for
``-v`` and for the listener's records; :func:`dataset_fields` reads a
received command set as plain values.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from io import BytesIO
from typing import Any, cast

from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence
from pydicom.uid import UID
from pynetdicom import AE
from pynetdicom.association import Association, ServiceUser
from pynetdicom.dsutils import decode
from pynetdicom.presentation import PresentationContext

from dcmreport import __version__, speedups
from dcmreport.dicom import catalog
from dcmreport.dicom.catalog import EXPLICIT_VR_BE, EXPLICIT_VR_LE, IMPLICIT_VR_LE
from dcmreport.dicom.limits import DatasetLimits, check, inflate
from dcmreport.dicom.records import AssociationInfo, ContextInfo
from dcmreport.frozen import frozen

LOG = logging.getLogger("dcmreport")

Fields = dict[str, Any]  # a command set's values by keyword, as pydicom gives them

DEFAULT_VERSION_NAME = f"DCMREPORT_{__version__}"[:16]
COMMAND_NAMES = {
    0x0001: "C-STORE-RQ",
    0x8001: "C-STORE-RSP",
    0x0030: "C-ECHO-RQ",
    0x8030: "C-ECHO-RSP",
    0x0100: "N-EVENT-REPORT-RQ",
    0x8100: "N-EVENT-REPORT-RSP",
    0x0010: "N-GET-RQ",
    0x8010: "N-GET-RSP",
    0x0120: "N-SET-RQ",
    0x8120: "N-SET-RSP",
    0x0130: "N-ACTION-RQ",
    0x8130: "N-ACTION-RSP",
    0x0140: "N-CREATE-RQ",
    0x8140: "N-CREATE-RSP",
}


@frozen
class Settings:
    """Association parameters common to every command."""

    ae_title: str = "DCMREPORT"  # calling AE title, or the listener's own
    max_pdu: int = 16382
    implementation_class_uid: str | None = None  # None: pynetdicom's
    implementation_version: str | None = None  # None: DCMREPORT_<version>
    transfer_syntaxes: tuple[str, ...] = (EXPLICIT_VR_LE, IMPLICIT_VR_LE)
    connect_timeout: float | None = 10.0
    acse_timeout: float = 30.0
    dimse_timeout: float = 30.0
    network_timeout: float = 60.0
    tls: ssl.SSLContext | None = None  # DICOM over TLS (association/tls.py); None: plain DICOM


def make_ae(settings: Settings) -> AE:
    ae = AE(ae_title=settings.ae_title)
    ae.maximum_pdu_size = settings.max_pdu
    if settings.implementation_class_uid:
        ae.implementation_class_uid = UID(settings.implementation_class_uid)
    ae.implementation_version_name = settings.implementation_version or DEFAULT_VERSION_NAME
    ae.connection_timeout = settings.connect_timeout
    ae.acse_timeout = settings.acse_timeout
    ae.dimse_timeout = settings.dimse_timeout
    ae.network_timeout = settings.network_timeout
    return ae


def dataset_fields(command_set: Dataset) -> Fields:
    """A command set pydicom decoded (pynetdicom's ``message.command_set``), as :data:`Fields`:
    the requestor, storage commitment and a batch read a response's values by keyword."""
    return {element.keyword: element.value for element in command_set}


def _proposed_roles(assoc: Association) -> dict[str, tuple[bool, bool]]:
    return {
        str(uid): (bool(item.scu_role), bool(item.scp_role))
        for uid, item in assoc.requestor.role_selection.items()
    }


def _requestor_roles(assoc: Association, accepted: PresentationContext | None) -> tuple[bool, bool]:
    """(SCU, SCP) of the requestor on an accepted context; pynetdicom gives our own side's."""
    if accepted is None:
        return True, False  # the default roles
    ours = (bool(accepted.as_scu), bool(accepted.as_scp))
    return ours if assoc.is_requestor else (ours[1], ours[0])


def association_info(assoc: Association) -> AssociationInfo:
    """Describe an association from either side, for -v output and the listener's records."""
    rq = assoc.requestor
    primitive = rq.primitive
    roles = _proposed_roles(assoc) if primitive is not None else {}
    accepted = {cx.context_id: cx for cx in assoc.accepted_contexts}
    refused = {cx.context_id: cx.result for cx in assoc.rejected_contexts}
    proposed = primitive.presentation_context_definition_list if primitive is not None else []
    contexts = []
    for cx in proposed:
        ok = accepted.get(cx.context_id)
        requestor_is_scu, requestor_is_scp = _requestor_roles(assoc, ok)
        contexts.append(
            ContextInfo(
                id=int(cx.context_id or 0),
                abstract_syntax=str(cx.abstract_syntax),
                proposed_transfer_syntaxes=tuple(str(ts) for ts in cx.transfer_syntax),
                refusal=catalog.CONTEXT_RESULTS.get(refused.get(cx.context_id) or -1),
                transfer_syntax=str(ok.transfer_syntax[0]) if ok else None,
                proposed_roles=roles.get(str(cx.abstract_syntax)),
                requestor_is_scu=requestor_is_scu,
                requestor_is_scp=requestor_is_scp,
            )
        )
    acceptor = assoc.acceptor
    return AssociationInfo(
        calling_aet=str(primitive.calling_ae_title if primitive else rq.ae_title).strip(),
        called_aet=str(primitive.called_ae_title if primitive else acceptor.ae_title).strip(),
        peer_address=f"{(acceptor if assoc.is_requestor else rq).address}:"
        f"{(acceptor if assoc.is_requestor else rq).port}",
        max_pdu=int(rq.maximum_length or 0),
        implementation_class_uid=str(rq.implementation_class_uid),
        implementation_version=rq.implementation_version_name,
        contexts=tuple(contexts),
        acceptor_max_pdu=acceptor.maximum_length,
        acceptor_implementation_class_uid=str(acceptor.implementation_class_uid or "") or None,
        acceptor_implementation_version=acceptor.implementation_version_name,
        window_proposed=_window(rq),
        window_granted=_window(acceptor),
    )


def _window(user: ServiceUser) -> tuple[int, int] | None:
    """The user's Asynchronous Operations Window item, None when it sent none (or (1, 1))."""
    window = user.asynchronous_operations
    return None if window == (1, 1) else window


def log_negotiation(info: AssociationInfo) -> None:
    """-v: everything that was negotiated, so a failed link can be diagnosed from the log."""
    LOG.info(
        "Association %s -> %s (%s): max PDU %s / %s, implementation %s %s / %s %s",
        info.calling_aet,
        info.called_aet,
        info.peer_address,
        info.max_pdu or "unlimited",
        info.acceptor_max_pdu or "unlimited",
        info.implementation_class_uid,
        info.implementation_version or "-",
        info.acceptor_implementation_class_uid or "-",
        info.acceptor_implementation_version or "-",
    )
    for cx in info.contexts:
        roles = (
            f" roles proposed SCU={int(cx.proposed_roles[0])}/SCP={int(cx.proposed_roles[1])}"
            if cx.proposed_roles
            else ""
        )
        outcome = (
            f"accepted {UID(cx.transfer_syntax).name}, requestor is "
            + "/".join(
                r for r, on in (("SCU", cx.requestor_is_scu), ("SCP", cx.requestor_is_scp)) if on
            )
            if cx.transfer_syntax
            else f"refused: {cx.refusal or 'no answer'}"
        )
        LOG.info(
            "  Context %d: %s [%s] proposed %s%s: %s",
            cx.id,
            UID(cx.abstract_syntax).name,
            cx.abstract_syntax,
            ", ".join(UID(ts).name for ts in cx.proposed_transfer_syntaxes),
            roles,
            outcome,
        )
    if info.window_proposed is not None:
        LOG.info("  Asynchronous operations window: %s", _window_text(info))


def _window_text(info: AssociationInfo) -> str:
    """The proposal and the answer, (invoked, performed) each; 0 means unlimited."""
    invoked, performed = cast(tuple[int, int], info.window_proposed)
    proposed = f"proposed {invoked} invoked / {performed} performed"
    if info.window_granted is None:
        return f"{proposed}, not answered (one at a time)"
    granted_invoked, granted_performed = info.window_granted
    return f"{proposed}, granted {granted_invoked} invoked / {granted_performed} performed"


# --- Explicit VR Big Endian ------------------------------------------------------------

_WORD_SIZES = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def word_order(ds: Dataset | None, big_endian: bool) -> Dataset | None:
    """A copy of ``ds`` with OW/OF/OL/OD/OV words byte-swapped, for Explicit VR Big Endian.

    pydicom keeps these values as little-endian bytes and writes and reads them
    unchanged whatever the transfer syntax, but PS3.5 7.3 orders their words by
    the transfer syntax: DCMTK reads an unswapped OW sent in big endian wrongly.
    Swapping is its own inverse, so the same call serves sending and receiving.
    """
    return _swapped(ds) if ds is not None and big_endian else ds


def _swapped(ds: Dataset) -> Dataset:
    copy = Dataset()
    for elem in ds:
        if elem.VR == "SQ":
            copy.add(DataElement(elem.tag, "SQ", Sequence([_swapped(i) for i in elem.value])))
        elif elem.VR in _WORD_SIZES and isinstance(elem.value, bytes):
            size, value = _WORD_SIZES[elem.VR], elem.value
            swapped = b"".join(value[i : i + size][::-1] for i in range(0, len(value), size))
            copy.add(DataElement(elem.tag, elem.VR, swapped))
        else:
            copy.add(elem)
    return copy


def decode_data_set(
    raw: BytesIO | None, context: PresentationContext, limits: DatasetLimits
) -> tuple[Dataset, bytes] | None:
    """The decoded data set and its (inflated) bytes, or None without one; raises whatever
    a malformed one raises.

    With the speed trick ``one-pass-decoder`` on, decoded in one pass over its
    bytes, checked against ``limits`` as it goes (:mod:`dcmreport.dicom.decoding`);
    what that pass leaves to pydicom's reader, and everything with the trick off,
    is checked against them first (:mod:`dcmreport.dicom.limits`), then decoded by
    pydicom. A deflated data set is inflated here, with a bound.
    """
    data = raw.getvalue() if raw is not None else b""
    if not data:
        return None
    ts = context.transfer_syntax[0]
    if ts.is_deflated:
        data = inflate(data, limits.max_size)
    ds = None
    if speedups.enabled("one-pass-decoder"):
        from dcmreport.dicom import decoding  # here: echo decodes no data set; the trick only

        with contextlib.suppress(decoding.Irregular):
            ds = decoding.decode(data, ts.is_implicit_VR, ts.is_little_endian, limits)
    if ds is None:
        check(data, ts.is_implicit_VR, ts.is_little_endian, limits)
        ds = decode(BytesIO(data), ts.is_implicit_VR, ts.is_little_endian, False)
        for _ in ds.iterall():
            pass  # pydicom decodes lazily: find a malformed data set now, not while showing it
    return cast(Dataset, word_order(ds, ts == EXPLICIT_VR_BE)), data
