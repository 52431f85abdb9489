"""The requesting side: open an association, send C-ECHO, one N-EVENT-REPORT or storage
commitment requests (N-ACTION), check the answers.

Every way an association can fail becomes an :class:`AssociationError` that
says what happened and, where we can tell, what to do: an unresolvable host,
a refused connection, a rejection with its reason, a timeout, a peer that
aborts or answers with the wrong message.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from typing import Any, cast

from pydicom import Dataset
from pydicom.uid import UID
from pynetdicom import build_role, evt
from pynetdicom.association import Association
from pynetdicom.pdu_primitives import A_ASSOCIATE
from pynetdicom.presentation import PresentationContext

from dcmreport.association import internals, tls
from dcmreport.association.common import (
    COMMAND_NAMES,
    Fields,
    Settings,
    association_info,
    dataset_fields,
    decode_data_set,
    log_negotiation,
    make_ae,
    word_order,
)
from dcmreport.association.internals import guards
from dcmreport.dicom import catalog, judge
from dcmreport.dicom.address import Peer
from dcmreport.dicom.catalog import EXPLICIT_VR_BE, VERIFICATION
from dcmreport.dicom.limits import DatasetLimits
from dcmreport.dicom.records import (
    AssociationInfo,
    EchoResponse,
    ReportRequest,
    ReportResponse,
    ResponseStatus,
    Role,
)
from dcmreport.dicom.status import SUCCESS, WARNING, category
from dcmreport.errors import AssociationError, InputError

LOG = logging.getLogger("dcmreport")

N_EVENT_REPORT_RSP = 0x8100
MAX_RESPONSE_DATASET = 64 * 1024 * 1024  # an Event Reply larger than this is refused


def _rejection(assoc: Association, diagnostics: guards.Diagnostics) -> tuple[int, int, int] | None:
    """The A-ASSOCIATE-RJ's result, source and reason, if the peer rejected the association:
    as pynetdicom took it, or as it came (it may take one that closed the connection first
    for a failed connection, guards.Diagnostics)."""
    if assoc.is_rejected:
        rj = cast(A_ASSOCIATE, assoc.acceptor.primitive)
        return int(rj.result or 0), int(rj.result_source or 0), int(rj.diagnostic or 0)
    return diagnostics.rejection


def _why_not_established(
    assoc: Association, peer: Peer, diagnostics: guards.Diagnostics, settings: Settings
) -> AssociationError:
    if not diagnostics.connected:
        reasons = diagnostics.connect_errors()
        return AssociationError(
            f"cannot connect to {peer.host}:{peer.port}: {reasons[-1] if reasons else 'failed'}",
            "is a DICOM listener running there? (dcmreport listen starts one)",
        )
    rejection = _rejection(assoc, diagnostics)
    if rejection is not None:
        result, source, reason = rejection
        kind = "permanently" if result == 1 else "transiently"
        text = catalog.REJECT_REASONS.get((source, reason), f"reason {reason}")
        return AssociationError(
            f"{peer} rejected the association {kind}: {text} "
            f"(result {result}, source {source} {catalog.REJECT_SOURCES.get(source, '')}, "
            f"reason {reason})",
            _ae_title_hint(peer, source, reason),
        )
    if diagnostics.said(guards.ACSE_TIMEOUT):
        return AssociationError(
            f"no answer to the association request from {peer} within "
            f"{settings.acse_timeout:g} s (--acse-timeout)"
        )
    if diagnostics.said(guards.NO_CONTEXTS):
        return AssociationError(
            f"{peer} accepted none of the proposed presentation contexts",
            "run with -v to see them; try other transfer syntaxes (-x) or --role",
        )
    return AssociationError(
        f"{peer} aborted the association during negotiation",
        None
        if settings.tls
        else f"if it expects DICOM over TLS (port {tls.DICOM_TLS_PORT} by convention), add --tls",
    )


def _ae_title_hint(peer: Peer, source: int, reason: int) -> str | None:
    """Which AE title to fix for a rejection that names one: ours (1/1/3) is -aet, the peer's
    (1/1/7) is the AE@ of its address or -aec; a newcomer who changes -aet for 1/1/7 changes
    nothing the peer objected to."""
    if (source, reason) == (1, 3):
        return "the peer does not know our AE title: set the one it expects with -aet AET"
    if (source, reason) == (1, 7):
        return (
            f"the peer is not called {peer.ae_title}: give its AE title as "
            f"AE@{peer.host}:{peer.port} or with -aec AE"
        )
    return None


def _check_resolves(peer: Peer) -> None:
    """A host name that does not resolve is an answer (exit 3), not pynetdicom's traceback."""
    try:
        socket.getaddrinfo(peer.host, peer.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        raise AssociationError(
            f"cannot resolve host '{peer.host}': {reason}",
            f"'{peer.host}' looks like an AE title: give the peer as AE@HOST:PORT, "
            f"e.g. {peer.host}@192.0.2.10:104"
            if _looks_like_ae_title(peer.host)
            else "check the host name, or give an IP address",
        ) from None


def _looks_like_ae_title(host: str) -> bool:
    """Upper case, no dot: what an AE title looks like and a host name rarely does."""
    return "." not in host and host.upper() == host and any(c.isalpha() for c in host)


# The smallest P-DATA-TF variable field that carries a byte of a PDV: its 4-byte length,
# context ID and message control header, and one byte (PS3.8 9.3.5).
_SMALLEST_USABLE_PDU = 7


def _guard(assoc: Association, settings: Settings) -> None:
    """The listener's PDU limits on our side too: a peer that starts a PDU and stalls, or
    claims a huge one, cannot hold ``send-report`` past its timeouts; and each message sent
    whole (``commit`` answers reports while its requests go out)."""
    limits = guards.PduLimits(
        max_pdu=settings.max_pdu,
        max_dataset=MAX_RESPONSE_DATASET,
        pdu_timeout=max(settings.acse_timeout, settings.dimse_timeout),
        message_timeout=max(settings.acse_timeout, settings.dimse_timeout),
    )
    guards.bound_reading(assoc, limits, lambda _, why: LOG.warning("aborted: %s", why))
    guards.whole_messages(assoc)


def _check_peer_max_pdu(assoc: Association, peer: Peer) -> None:
    """A maximum length too small to carry any data is the peer's fault, not the user's."""
    announced = int(assoc.acceptor.maximum_length or 0)
    if 0 < announced < _SMALLEST_USABLE_PDU:
        assoc.abort()
        raise AssociationError(
            f"{peer} announced a maximum PDU length of {announced} bytes, too small to carry "
            f"any message (PS3.8 D.1); aborted the association"
        )


def _install_fast_path(event: evt.Event) -> None:
    """EVT_CONN_OPEN, with the switch on: the speed tricks, before the TLS handshake and the
    guards' reader (no Nagle for the handshake either)."""
    from dcmreport.association.internals import fast_path  # only with the switch on

    fast_path.install(event.assoc, "requestor")


class _TlsHandshake:
    """EVT_CONN_OPEN: the TLS handshake, once the TCP connection is open; -v shows the peer."""

    def __init__(self, peer: Peer, timeout: float | None) -> None:
        self._peer = peer
        self._timeout = timeout
        self.error: OSError | None = None

    def __call__(self, event: evt.Event) -> None:
        done = guards.tls_handshake(event.assoc, self._timeout)
        if done is not None and done.error is None:
            LOG.info("TLS with %s:%s: %s", self._peer.host, self._peer.port, done.description)
        self.error = done.error if done is not None else None

    def failure(self, diagnostics: guards.Diagnostics) -> AssociationError | None:
        """The handshake's failure, or a TLS alert that ended the negotiation after it."""
        error = self.error or diagnostics.tls_error
        if error is None:
            return None
        message, hint = tls.explain(error, f"{self._peer.host}:{self._peer.port}")
        return AssociationError(message, hint)


@dataclass
class Opened:
    """An established association and what pynetdicom logged about it."""

    assoc: Association
    diagnostics: guards.Diagnostics


@contextmanager
def associate(
    peer: Peer,
    settings: Settings,
    contexts: list[tuple[str, Role]],
    handlers: list[Any] | None = None,
    negotiation: list[Any] | None = None,
) -> Iterator[Opened]:
    """Open an association proposing ``(abstract syntax, role)`` contexts; release it after.

    :class:`Role` NONE proposes no role selection item;
    ``negotiation`` holds other extended negotiation items to propose;
    ``handlers`` are bound before ours (internals item 14: a batch's reader, which the
    guards' reader then wraps). With the switch on, the fast path is installed too.
    Raises AssociationError with the reason when it is not established.
    """
    ae = make_ae(settings)
    extended: list[Any] = list(negotiation or [])
    for abstract_syntax, role in contexts:
        ae.add_requested_context(abstract_syntax, list(settings.transfer_syntaxes))
        if role is not Role.NONE:
            extended.append(build_role(abstract_syntax, scu_role=role.scu, scp_role=role.scp))
    _check_resolves(peer)
    diagnostics = guards.Diagnostics()
    handshake = _TlsHandshake(peer, settings.acse_timeout)
    ours: list[Any] = [
        (evt.EVT_CONN_OPEN, diagnostics.on_connect),
        (evt.EVT_PDU_RECV, diagnostics.on_pdu),
    ]
    if internals.fast_path_on():
        ours.append((evt.EVT_CONN_OPEN, _install_fast_path))
    ours += [
        (evt.EVT_CONN_OPEN, handshake),
        (evt.EVT_CONN_OPEN, lambda event: _guard(event.assoc, settings)),
    ]
    with diagnostics.installed():
        assoc = ae.associate(
            peer.host,
            peer.port,
            ae_title=peer.ae_title,
            max_pdu=settings.max_pdu,
            ext_neg=extended or None,
            tls_args=(settings.tls, peer.host) if settings.tls else None,
            evt_handlers=[*(handlers or []), *ours],  # first: a batch's reader goes under the guard
        )
        if not assoc.is_established:
            raise handshake.failure(diagnostics) or _why_not_established(
                assoc, peer, diagnostics, settings
            )
        log_negotiation(association_info(assoc))
        _check_peer_max_pdu(assoc, peer)
        try:
            yield Opened(assoc, diagnostics)
        except BaseException:
            if assoc.is_established:
                assoc.abort()
            raise
        if assoc.is_established:
            assoc.release()
            LOG.info("Association released")


def context_for(assoc: Association, abstract_syntax: str) -> PresentationContext:
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


def response_status(status: Fields) -> ResponseStatus:
    return ResponseStatus(
        code=int(status["Status"]),
        error_comment=str(status["ErrorComment"]) if "ErrorComment" in status else None,
        error_id=int(status["ErrorID"]) if "ErrorID" in status else None,
    )


def lost_response(opened: Opened, peer: Peer, what: str, settings: Settings) -> AssociationError:
    if not opened.diagnostics.said(guards.DIMSE_TIMEOUT):
        return AssociationError(f"{peer} aborted the association instead of answering the {what}")
    return AssociationError(
        f"no {what} response from {peer} within {settings.dimse_timeout:g} s (--dimse-timeout); "
        "aborted the association"
    )


def echo(peer: Peer, settings: Settings) -> EchoResponse:
    """Send one C-ECHO and time its round trip."""
    with associate(peer, settings, [(VERIFICATION, Role.NONE)]) as opened:
        assoc = opened.assoc
        info = association_info(assoc)
        context_for(assoc, VERIFICATION)
        start = time.perf_counter()
        status = assoc.send_c_echo()
        elapsed = (time.perf_counter() - start) * 1000
        if "Status" not in status:
            raise lost_response(opened, peer, "C-ECHO", settings)
        return EchoResponse(info, response_status(dataset_fields(status)), elapsed)


class _LastResponse:
    """Keep the command set and data set of the last DIMSE message received (pynetdicom hides
    the one and drops the other with a Failure status)."""

    def __init__(self) -> None:
        self.command: Dataset | None = None
        self.data: BytesIO | None = None

    def __call__(self, event: evt.Event) -> None:
        self.command = event.message.command_set
        self.data = event.message.data_set


def decode_reply(data: BytesIO | None, context: PresentationContext) -> Dataset | None:
    """The Event Reply, or None when there is none or it does not decode
    (:func:`to_report_response` says so)."""
    try:
        decoded = decode_data_set(data, context, DatasetLimits())
    except Exception:  # a broken peer's bytes: a finding, not a traceback
        return None
    return decoded[0] if decoded else None


def check_response(command: Fields, expected: int, message_id: int) -> str | None:
    """Why ``command`` is not the ``expected`` response to ``message_id``, or None if it is.

    Another message ID is a protocol failure (exit 3), not a finding: PS3.7 10.1.1.1.2 makes
    the Message ID Being Responded To name the request a response answers, so a response
    to another one answers nothing that was sent, and the request is still unanswered.
    """
    field_ = int(command.get("CommandField") or 0)
    if field_ != expected:
        name = COMMAND_NAMES.get(field_, f"command 0x{field_:04X}")
        return f"the peer answered with {name} instead of {COMMAND_NAMES[expected]}"
    responded_to = command.get("MessageIDBeingRespondedTo")
    if responded_to != message_id:
        return f"the response answers message ID {responded_to}, not the request's {message_id}"
    return None


def send_report(peer: Peer, settings: Settings, request: ReportRequest) -> ReportResponse:
    """Send one N-EVENT-REPORT and return the peer's response, judged (its findings).

    Verification is proposed as context 1 and the report's abstract syntax as
    context 3, as the LEADTOOLS reference does.
    """
    context_uid = request.context_class_uid or request.sop_class_uid
    last = _LastResponse()
    contexts = [(VERIFICATION, Role.NONE), (context_uid, request.role)]
    with associate(peer, settings, contexts, [(evt.EVT_DIMSE_RECV, last)]) as opened:
        assoc = opened.assoc
        info = association_info(assoc)
        context = context_for(assoc, context_uid)
        if request.role.scp and not context.as_scp:
            LOG.warning(
                "the peer did not accept the SCP role for %s; sending the report anyway",
                UID(context_uid).name,
            )
        big_endian = context.transfer_syntax[0] == EXPLICIT_VR_BE
        start = time.perf_counter()
        try:
            status, reply = guards.send_report_request(
                assoc,
                word_order(request.dataset, big_endian),
                request.event_type_id,
                request.sop_class_uid,
                request.sop_instance_uid,
                msg_id=request.message_id,
                meta_uid=request.context_class_uid,
            )
        except ValueError as exc:  # the dataset cannot be encoded in the transfer syntax
            raise InputError(f"cannot encode the Event Information: {exc}") from None
        elapsed = (time.perf_counter() - start) * 1000
        reply = word_order(reply, big_endian)
        if reply is None and "Status" in status and category(int(status.Status)) != SUCCESS:
            reply = decode_reply(last.data, context)  # one a Failure should not carry: shown
        command = dataset_fields(last.command) if last.command is not None else None
        problem = (
            check_response(command, N_EVENT_REPORT_RSP, request.message_id)
            if command is not None
            else None
        )
        if problem:
            if assoc.is_established:
                assoc.abort()
            raise AssociationError(f"{peer}: {problem}; aborted the association")
        if command is None or "Status" not in status:
            raise lost_response(opened, peer, "N-EVENT-REPORT", settings)
        return to_report_response(request, info, command, reply, elapsed)


def to_report_response(
    request: ReportRequest,
    info: AssociationInfo,
    command: Fields,
    reply: Dataset | None,
    elapsed: float,
) -> ReportResponse:
    """The response as the peer sent it: status from its command set, not pynetdicom's view.

    pynetdicom turns an Event Reply it cannot decode into a local 0x0110 and
    an absent one into an empty dataset; neither is what the peer said.
    """
    has_reply = int(command.get("CommandDataSetType", 0x0101)) != 0x0101
    undecodable = (
        has_reply
        and reply is None
        and category(int(command["Status"]))
        in (
            SUCCESS,
            WARNING,
        )
    )
    event_type = command.get("EventTypeID")
    return ReportResponse(
        request=request,
        association=info,
        status=response_status(command),
        message_id_being_responded_to=int(command["MessageIDBeingRespondedTo"]),
        sop_class_uid=str(command["AffectedSOPClassUID"])
        if "AffectedSOPClassUID" in command
        else None,
        sop_instance_uid=str(command["AffectedSOPInstanceUID"])
        if "AffectedSOPInstanceUID" in command
        else None,
        event_type_id=int(event_type) if event_type is not None else None,
        event_reply=reply if has_reply else None,
        round_trip_ms=elapsed,
        findings=judge.response_findings(command, request, undecodable),
    )
