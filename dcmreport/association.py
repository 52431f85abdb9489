"""The one association layer: the only module that builds pynetdicom AEs and associations.

``echo``, ``send_report`` and ``Listener`` share one way of negotiating:
AE titles, maximum PDU, implementation class UID and version name,
presentation contexts and transfer syntaxes, SCP/SCU role selection,
timeouts, release versus abort, TCP_NODELAY on every association socket, and
the translation of pynetdicom's outcomes into :mod:`dcmreport.errors`.

Two pynetdicom behaviours are corrected here, in one place each:

* pynetdicom chooses the service for an incoming request from its Affected SOP
  Class UID, so an N-EVENT-REPORT about a storage class gets a C-STORE-RSP and
  one about an unknown class aborts the association. :func:`_route_reports`
  sends every N-EVENT-REPORT to the ``EVT_N_EVENT_REPORT`` handler whatever its
  class (tests: ``tests/test_listen.py``).
* pynetdicom leaves Nagle's algorithm on; a DIMSE message's command and data
  set are separate writes, so each round trip waits for a delayed ACK (about
  48 ms on loopback, 4.5 ms without). :func:`_no_delay` turns it off.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence
from pydicom.uid import UID
from pynetdicom import AE, build_context, build_role, evt
from pynetdicom import association as _pynetdicom_association
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.pdu_primitives import A_ASSOCIATE
from pynetdicom.presentation import PresentationContext
from pynetdicom.service_class import ServiceClass
from pynetdicom.sop_class import uid_to_service_class

from dcmreport import __version__, catalog
from dcmreport.catalog import EXPLICIT_VR_BE, EXPLICIT_VR_LE, IMPLICIT_VR_LE, VERIFICATION
from dcmreport.errors import AssociationError, InputError
from dcmreport.peer import Peer
from dcmreport.records import (
    Answer,
    AssociationInfo,
    ContextInfo,
    EchoResponse,
    ReceivedReport,
    ReportRequest,
    ReportResponse,
    ResponseStatus,
)
from dcmreport.status import PROCESSING_FAILURE, SUCCESS, WARNING, category

LOG = logging.getLogger("dcmreport")

N_EVENT_REPORT_RSP = 0x8100
DEFAULT_VERSION_NAME = f"DCMREPORT_{__version__}"[:16]
_COMMAND_NAMES = {
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


@dataclass(frozen=True)
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


def _make_ae(settings: Settings) -> AE:
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


def _no_delay(event: evt.Event) -> None:
    """Turn Nagle's algorithm off on the association's socket (see the module docstring)."""
    sock = event.assoc.dul.socket.socket if event.assoc.dul.socket else None
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# --- incoming requests of any SOP class --------------------------------------------------


class _ReportRouter(ServiceClass):
    """Serve N-EVENT-REPORT requests whatever their class; leave the rest to pynetdicom.

    The base ServiceClass implements the N-EVENT-REPORT service with the
    general DIMSE-N statuses, which is what every class that sends reports uses.
    """

    def __init__(self, assoc: Association, fallback: type[ServiceClass]) -> None:
        super().__init__(assoc)
        self._fallback = fallback

    def SCP(self, req: Any, context: PresentationContext) -> None:
        if isinstance(req, N_EVENT_REPORT):
            self._n_event_report_scp(req, context)
        else:
            self._fallback(self.assoc).SCP(req, context)


def _route_reports(uid: str) -> Callable[[Association], ServiceClass]:
    return partial(_ReportRouter, fallback=uid_to_service_class(uid))


# pynetdicom's Association looks the service up through this module-level name.
_pynetdicom_association.uid_to_service_class = _route_reports  # type: ignore[attr-defined,assignment]


# --- negotiation details ------------------------------------------------------------------


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
    )


def _log_negotiation(info: AssociationInfo) -> None:
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
            else "rejected"
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


# --- Explicit VR Big Endian ------------------------------------------------------------

_WORD_SIZES = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def _word_order(ds: Dataset | None, big_endian: bool) -> Dataset | None:
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


# --- the requestor side -------------------------------------------------------------------


class _Diagnostics(logging.Handler):
    """Collect what pynetdicom only logs: why a connect failed, which timeout expired."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []
        self.connected = False

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def said(self, text: str) -> bool:
        return any(text in message for message in self.messages)

    def on_connect(self, event: evt.Event) -> None:
        self.connected = True
        _no_delay(event)

    @contextmanager
    def installed(self) -> Iterator[None]:
        log = logging.getLogger("pynetdicom")
        level = log.level
        log.setLevel(min(log.getEffectiveLevel(), logging.ERROR))
        log.addHandler(self)
        try:
            yield
        finally:
            log.removeHandler(self)
            log.setLevel(level)


def _why_not_established(
    assoc: Association, peer: Peer, diagnostics: _Diagnostics, settings: Settings
) -> AssociationError:
    if not diagnostics.connected:
        prefix = "TCP Initialisation Error: "
        reasons = [m.removeprefix(prefix) for m in diagnostics.messages if m.startswith(prefix)]
        return AssociationError(
            f"cannot connect to {peer.host}:{peer.port}: {reasons[-1] if reasons else 'failed'}",
            "is a DICOM listener running there? (dcmreport listen starts one)",
        )
    if assoc.is_rejected:
        rj = cast(A_ASSOCIATE, assoc.acceptor.primitive)
        result, source, reason = (
            int(rj.result or 0),
            int(rj.result_source or 0),
            int(rj.diagnostic or 0),
        )
        kind = "permanently" if result == 1 else "transiently"
        text = catalog.REJECT_REASONS.get((source, reason), f"reason {reason}")
        return AssociationError(
            f"{peer} rejected the association {kind}: {text} "
            f"(result {result}, source {source} {catalog.REJECT_SOURCES.get(source, '')}, "
            f"reason {reason})",
            "check the AE titles: the peer must know the calling AE title (-aet) and answer "
            "to the called one"
            if (source, reason) in ((1, 3), (1, 7))
            else None,
        )
    if diagnostics.said("ACSE timeout"):
        return AssociationError(
            f"no answer to the association request from {peer} within "
            f"{settings.acse_timeout:g} s (--acse-timeout)"
        )
    if diagnostics.said("No accepted presentation contexts"):
        return AssociationError(
            f"{peer} accepted none of the proposed presentation contexts",
            "run with -v to see them; try other transfer syntaxes (-x) or --role",
        )
    return AssociationError(f"{peer} aborted the association during negotiation")


@dataclass
class _Open:
    """An established association and what pynetdicom logged about it."""

    assoc: Association
    diagnostics: _Diagnostics


@contextmanager
def _associate(
    peer: Peer,
    settings: Settings,
    contexts: list[tuple[str, str]],
    handlers: list[Any] | None = None,
) -> Iterator[_Open]:
    """Open an association proposing ``(abstract syntax, role)`` contexts; release it after.

    Role is ``scp``, ``scu``, ``both`` or ``none`` (no role selection item).
    Raises AssociationError with the reason when it is not established.
    """
    ae = _make_ae(settings)
    roles: list[Any] = []
    for abstract_syntax, role in contexts:
        ae.add_requested_context(abstract_syntax, list(settings.transfer_syntaxes))
        if role != "none":
            roles.append(
                build_role(
                    abstract_syntax,
                    scu_role=role in ("scu", "both"),
                    scp_role=role in ("scp", "both"),
                )
            )
    diagnostics = _Diagnostics()
    with diagnostics.installed():
        assoc = ae.associate(
            peer.host,
            peer.port,
            ae_title=peer.ae_title,
            max_pdu=settings.max_pdu,
            ext_neg=roles or None,
            evt_handlers=[(evt.EVT_CONN_OPEN, diagnostics.on_connect), *(handlers or [])],
        )
        if not assoc.is_established:
            raise _why_not_established(assoc, peer, diagnostics, settings)
        _log_negotiation(association_info(assoc))
        try:
            yield _Open(assoc, diagnostics)
        except BaseException:
            if assoc.is_established:
                assoc.abort()
            raise
        if assoc.is_established:
            assoc.release()
            LOG.info("Association released")


def _context_for(assoc: Association, abstract_syntax: str) -> PresentationContext:
    for cx in assoc.accepted_contexts:
        if cx.abstract_syntax == abstract_syntax:
            return cx
    rejected = next(
        (cx for cx in assoc.rejected_contexts if cx.abstract_syntax == abstract_syntax), None
    )
    result = rejected.result if rejected and rejected.result is not None else -1
    reason = catalog.CONTEXT_RESULTS.get(result, "unknown")
    raise AssociationError(
        f"the peer did not accept a presentation context for {UID(abstract_syntax).name} "
        f"[{abstract_syntax}]: {reason}",
        "try other transfer syntaxes (-x) or, for a strict receiver, --role scp",
    )


def _response_status(status: Dataset) -> ResponseStatus:
    return ResponseStatus(
        code=int(status.Status),
        error_comment=str(status.ErrorComment) if "ErrorComment" in status else None,
        error_id=int(status.ErrorID) if "ErrorID" in status else None,
    )


def _lost_response(opened: _Open, peer: Peer, what: str, settings: Settings) -> AssociationError:
    if not opened.diagnostics.said("DIMSE timeout"):
        return AssociationError(f"{peer} aborted the association instead of answering the {what}")
    return AssociationError(
        f"no {what} response from {peer} within {settings.dimse_timeout:g} s (--dimse-timeout); "
        "aborted the association"
    )


def echo(peer: Peer, settings: Settings) -> EchoResponse:
    """Send one C-ECHO and time its round trip."""
    with _associate(peer, settings, [(VERIFICATION, "none")]) as opened:
        assoc = opened.assoc
        info = association_info(assoc)
        _context_for(assoc, VERIFICATION)
        start = time.perf_counter()
        status = assoc.send_c_echo()
        elapsed = (time.perf_counter() - start) * 1000
        if "Status" not in status:
            raise _lost_response(opened, peer, "C-ECHO", settings)
        return EchoResponse(info, _response_status(status), elapsed)


class _LastResponse:
    """Keep the command set of the last DIMSE message received (pynetdicom hides it)."""

    def __init__(self) -> None:
        self.command: Dataset | None = None

    def __call__(self, event: evt.Event) -> None:
        self.command = event.message.command_set


def _check_response(command: Dataset, request: ReportRequest) -> str | None:
    """Why the response is not an N-EVENT-REPORT-RSP to ``request``, or None if it is."""
    field_ = int(command.CommandField)
    if field_ != N_EVENT_REPORT_RSP:
        name = _COMMAND_NAMES.get(field_, f"command 0x{field_:04X}")
        return f"the peer answered with {name} instead of N-EVENT-REPORT-RSP"
    responded_to = command.get("MessageIDBeingRespondedTo")
    if responded_to != request.message_id:
        return (
            f"the response answers message ID {responded_to}, "
            f"not the request's {request.message_id}"
        )
    return None


def _response_warnings(command: Dataset, request: ReportRequest) -> tuple[str, ...]:
    """Deviations a tolerant receiver accepts but a user should know about (PS3.7 10.1.1)."""
    warnings = []
    for keyword, sent in (
        ("AffectedSOPClassUID", request.sop_class_uid),
        ("AffectedSOPInstanceUID", request.sop_instance_uid),
    ):
        got = command.get(keyword)
        if got is not None and str(got) != sent:
            warnings.append(f"response {keyword} {got} differs from the request's {sent}")
    got_event = command.get("EventTypeID")
    if got_event is not None and int(got_event) != request.event_type_id:
        warnings.append(
            f"response Event Type ID {got_event} differs from the request's {request.event_type_id}"
        )
    return tuple(warnings)


def send_report(peer: Peer, settings: Settings, request: ReportRequest) -> ReportResponse:
    """Send one N-EVENT-REPORT and return the peer's checked response.

    Verification is proposed as context 1 and the report's abstract syntax as
    context 3, as the LEADTOOLS reference does.
    """
    context_uid = request.context_class_uid or request.sop_class_uid
    last = _LastResponse()
    contexts = [(VERIFICATION, "none"), (context_uid, request.role)]
    with _associate(peer, settings, contexts, [(evt.EVT_DIMSE_RECV, last)]) as opened:
        assoc = opened.assoc
        info = association_info(assoc)
        context = _context_for(assoc, context_uid)
        if request.role in ("scp", "both") and not context.as_scp:
            LOG.warning(
                "the peer did not accept the SCP role for %s; sending the report anyway",
                UID(context_uid).name,
            )
        big_endian = context.transfer_syntax[0] == EXPLICIT_VR_BE
        start = time.perf_counter()
        try:
            status, reply = assoc.send_n_event_report(
                _word_order(request.dataset, big_endian),
                request.event_type_id,
                request.sop_class_uid,
                request.sop_instance_uid,
                msg_id=request.message_id,
                meta_uid=request.context_class_uid,
            )
        except ValueError as exc:  # the dataset cannot be encoded in the transfer syntax
            raise InputError(f"cannot encode the Event Information: {exc}") from None
        except AttributeError:  # pynetdicom reads EventReply off a response of the wrong type
            status = Dataset()
        elapsed = (time.perf_counter() - start) * 1000
        reply = _word_order(reply, big_endian)
        command = last.command
        problem = _check_response(command, request) if command is not None else None
        if problem:
            if assoc.is_established:
                assoc.abort()
            raise AssociationError(f"{peer}: {problem}; aborted the association")
        if command is None or "Status" not in status:
            raise _lost_response(opened, peer, "N-EVENT-REPORT", settings)
        return _report_response(request, info, command, reply, elapsed)


def _report_response(
    request: ReportRequest,
    info: AssociationInfo,
    command: Dataset,
    reply: Dataset | None,
    elapsed: float,
) -> ReportResponse:
    """The response as the peer sent it: status from its command set, not pynetdicom's view.

    pynetdicom turns an Event Reply it cannot decode into a local 0x0110 and
    an absent one into an empty dataset; neither is what the peer said.
    """
    warnings = list(_response_warnings(command, request))
    has_reply = int(command.get("CommandDataSetType", 0x0101)) != 0x0101
    if has_reply and reply is None and category(int(command.Status)) in (SUCCESS, WARNING):
        warnings.append("the peer's Event Reply could not be decoded (run with -d for details)")
    event_type = command.get("EventTypeID")
    return ReportResponse(
        request=request,
        association=info,
        status=_response_status(command),
        message_id_being_responded_to=int(command.MessageIDBeingRespondedTo),
        sop_class_uid=str(command["AffectedSOPClassUID"].value)
        if "AffectedSOPClassUID" in command
        else None,
        sop_instance_uid=str(command["AffectedSOPInstanceUID"].value)
        if "AffectedSOPInstanceUID" in command
        else None,
        event_type_id=int(event_type) if event_type is not None else None,
        event_reply=reply if has_reply else None,
        round_trip_ms=elapsed,
        warnings=tuple(warnings),
    )


# --- the acceptor side --------------------------------------------------------------------


@dataclass(frozen=True)
class ListenOptions:
    """How the listener accepts associations, and whom it refuses."""

    port: int = 11112
    bind: str = "0.0.0.0"
    require_called_aet: bool = False  # else 1/1/7 called AE title not recognized
    allowed_calling_aets: tuple[str, ...] = ()  # if any: others get 1/1/3
    accept_classes: tuple[str, ...] = ()  # if any: other abstract syntaxes are not accepted
    own_transfer_syntax_order: bool = False  # prefer ours over the requestor's order
    max_associations: int = 10  # beyond: 2/3/2 local limit exceeded
    reject: tuple[int, int, int] | None = None  # reject every association with this


def _proposed_contexts(event: evt.Event) -> list[PresentationContext]:
    return list(
        cast(A_ASSOCIATE, event.assoc.requestor.primitive).presentation_context_definition_list
    )


def _supported_contexts(
    proposed: list[PresentationContext],
    transfer_syntaxes: tuple[str, ...],
    options: ListenOptions,
) -> list[PresentationContext]:
    """An acceptor context for every proposed abstract syntax we accept, answering role selection.

    pynetdicom accepts the first transfer syntax of the acceptor's list that
    was proposed; by default the list is put in the requestor's order (the
    reference server takes the first proposed), with ``-x`` in ours.
    """
    accepted = (*options.accept_classes, VERIFICATION)  # C-ECHO is always answered
    contexts = []
    for cx in proposed:
        if options.accept_classes and cx.abstract_syntax not in accepted:
            continue  # rejected: abstract syntax not supported
        if options.own_transfer_syntax_order:
            ours = [ts for ts in transfer_syntaxes if ts in cx.transfer_syntax]
        else:
            ours = [ts for ts in cx.transfer_syntax if ts in transfer_syntaxes]
        try:
            supported = build_context(str(cx.abstract_syntax), ours or [IMPLICIT_VR_LE])
        except ValueError:
            continue  # not a valid UID: the context is rejected
        supported.scu_role = True
        supported.scp_role = True
        if not ours:
            supported.transfer_syntax = []  # rejected: transfer syntaxes not supported
        contexts.append(supported)
    return contexts


def _received_report(event: evt.Event) -> ReceivedReport:
    """What the peer sent; a data set that does not decode becomes a ``problem``, not an error."""
    req = cast(N_EVENT_REPORT, event.request)
    dataset, problem = None, None
    try:
        raw = req.EventInformation
        dataset = event.event_information if raw is not None and raw.getvalue() else None
        for _ in dataset.iterall() if dataset is not None else ():
            pass  # pydicom decodes lazily: find a malformed data set now, not while showing it
        dataset = _word_order(dataset, event.context.transfer_syntax == EXPLICIT_VR_BE)
    except Exception as exc:  # a peer may send anything; answer rather than abort
        dataset, problem = None, f"cannot decode the Event Information: {type(exc).__name__}"
    sop_class_uid = str(req.AffectedSOPClassUID)
    event_type_id = int(req.EventTypeID) if req.EventTypeID is not None else None
    return ReceivedReport(
        association=association_info(event.assoc),
        context_id=event.context.context_id,
        transfer_syntax=str(event.context.transfer_syntax),
        message_id=int(req.MessageID or 0),
        sop_class_uid=sop_class_uid,
        sop_instance_uid=str(req.AffectedSOPInstanceUID),
        event_type_id=event_type_id,
        dataset=dataset,
        problem=problem,
        context_class_uid=str(event.context.abstract_syntax),
    )


def _status_dataset(status: ResponseStatus) -> Dataset:
    ds = Dataset()
    ds.Status = status.code
    if status.error_comment:
        ds.ErrorComment = status.error_comment[:64]  # LO: 64 characters at most
    if status.error_id is not None:
        ds.ErrorID = status.error_id
    return ds


class Listener:
    """An N-EVENT-REPORT SCP of every SOP class, also answering C-ECHO.

    ``handle`` is called with each report (in the association's thread, several
    at once) and returns the answer; it keeps and shows the report before
    returning, so an answer is never sent for a report that was not kept.
    Reports count as answered once their response has been handed to the
    network layer.
    """

    def __init__(
        self, settings: Settings, options: ListenOptions, handle: Callable[[ReceivedReport], Answer]
    ) -> None:
        self._settings = settings
        self._options = options
        self._handle = handle
        self._answered = 0
        self._pending: dict[int, int] = {}  # id(association) -> reports not answered yet
        self._reports: dict[int, int] = {}  # id(association) -> reports received
        self._lock = threading.Condition()
        self._ae = _make_ae(settings)
        self._ae.require_called_aet = options.require_called_aet
        self._ae.require_calling_aet = list(options.allowed_calling_aets)
        self._ae.maximum_associations = options.max_associations
        self._ae.add_supported_context(VERIFICATION, list(settings.transfer_syntaxes))
        self._server: Any = None

    @property
    def answered(self) -> int:
        with self._lock:
            return self._answered

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind and start serving in background threads."""
        handlers: list[Any] = [
            (evt.EVT_CONN_OPEN, _no_delay),
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_ACCEPTED, lambda e: _log_negotiation(association_info(e.assoc))),
            (evt.EVT_N_EVENT_REPORT, self._on_report),
            (evt.EVT_DIMSE_SENT, self._on_sent),
            (evt.EVT_CONN_CLOSE, self._on_closed),
        ]
        try:
            self._server = self._ae.start_server(
                (self._options.bind, self._options.port),
                block=False,
                evt_handlers=handlers,
                ae_title=self._settings.ae_title,
            )
        except OSError as exc:
            raise InputError(
                f"cannot listen on {self._options.bind}:{self._options.port}: {exc.strerror or exc}"
            ) from None

    def _on_requested(self, event: evt.Event) -> None:
        """EVT_REQUESTED: refuse (``--reject``) or decide what to accept."""
        if self._options.reject:
            LOG.info("rejecting the association from %s (--reject)", event.assoc.requestor.address)
            event.assoc.acse.send_reject(*self._options.reject)
            event.assoc.kill()  # as pynetdicom does: waits until the A-ASSOCIATE-RJ is out
            return
        event.assoc.acceptor.supported_contexts = _supported_contexts(
            _proposed_contexts(event), self._settings.transfer_syntaxes, self._options
        )

    def _on_report(self, event: evt.Event) -> tuple[Dataset, Dataset | None]:
        """EVT_N_EVENT_REPORT: hand the report over, then return the status and Event Reply."""
        key = id(event.assoc)
        with self._lock:
            self._pending[key] = self._pending.get(key, 0) + 1
            self._reports[key] = self._reports.get(key, 0) + 1
        report = _received_report(event)
        try:
            answer = self._handle(report)
        except Exception as exc:  # never tell a peer Success for a report we could not keep
            LOG.error(
                "cannot handle the report (message ID %s): %s",
                report.message_id,
                type(exc).__name__,
            )
            LOG.debug("details", exc_info=True)  # -d only: the message may quote the data set
            answer = Answer(
                ResponseStatus(PROCESSING_FAILURE, "the receiver could not process the report")
            )
        if answer.abort:
            LOG.info(
                "aborting the association instead of answering message ID %s", report.message_id
            )
            event.assoc.abort()
        big_endian = event.context.transfer_syntax == EXPLICIT_VR_BE
        return _status_dataset(answer.status), _word_order(answer.event_reply, big_endian)

    def _on_sent(self, event: evt.Event) -> None:
        if int(event.message.command_set.CommandField) == N_EVENT_REPORT_RSP:
            with self._lock:
                self._answered += 1
                self._pending[id(event.assoc)] -= 1
                self._lock.notify_all()

    def _on_closed(self, event: evt.Event) -> None:
        """-v: a summary per association; its unanswered reports are in flight no more."""
        with self._lock:
            unanswered = self._pending.pop(id(event.assoc), 0)
            received = self._reports.pop(id(event.assoc), 0)
            self._lock.notify_all()
        assoc = event.assoc
        how = "aborted" if assoc.is_aborted else "rejected" if assoc.is_rejected else "released"
        LOG.info(
            "association from %s (%s:%s) %s: %d report(s) received, %d unanswered",
            str(assoc.requestor.ae_title).strip() or "?",
            assoc.requestor.address,
            assoc.requestor.port,
            how,
            received,
            unanswered,
        )

    def in_flight(self) -> int:
        """Reports received and not answered yet, over all associations."""
        with self._lock:
            return sum(self._pending.values())

    def wait(self, until: Callable[[], bool], timeout: float | None) -> bool:
        """Wait until ``until()`` is true (checked at least every 50 ms) or ``timeout`` passes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not until():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            with self._lock:
                self._lock.wait(0.05 if remaining is None else min(0.05, remaining))
        return True

    def stop(self, grace: float = 5.0) -> None:
        """Stop gracefully: refuse new associations, let peers finish, then abort the rest.

        Reports already received are answered first; associations still open
        after ``grace`` seconds are aborted. Safe to call again (e.g. with
        ``grace=0`` when a second Ctrl-C interrupts the first stop).
        """
        if self._server is not None:
            self._server.shutdown()  # stops accepting; open associations carry on
            self._server = None
        self.wait(lambda: not self._ae.active_associations, grace)
        self.wait(lambda: self.in_flight() == 0, grace)
        for assoc in self._ae.active_associations:
            LOG.warning(
                "aborting the association with %s:%s still open at shutdown",
                assoc.requestor.address,
                assoc.requestor.port,
            )
            assoc.abort()
