"""Storage commitment, the PACS side (``listen --commitment``): deliver each result.

Built on both sides of the association layer. The :class:`Listener` serves
the N-ACTION (Action Type 1) as it serves a report: received, decided by its
handler, answered, recorded. A request answered Success is then this
module's: after ``--commitment-delay`` a :class:`ResultHandler` decides the
result (the policy), and :class:`CommitmentPerformer` sends it as an
N-EVENT-REPORT (PS3.4 J.3.3): on the request's association while the
requester holds it, else on a new association to the requester's AE title
(``--peer AET=HOST:PORT``), proposing the SCP role, retrying a second apart.
Then the handler records and shows what became of it.
"""

from __future__ import annotations

import logging
import ssl
import time
from dataclasses import dataclass, replace
from typing import Protocol

from pydicom import Dataset
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_ACTION
from pynetdicom.presentation import PresentationContext

from dcmreport.association.common import Settings
from dcmreport.association.internals import guards
from dcmreport.association.listener import Background
from dcmreport.association.requestor import send_report
from dcmreport.dicom.address import Peer
from dcmreport.dicom.catalog import (
    EXPLICIT_VR_LE,
    IMPLICIT_VR_LE,
    STORAGE_COMMITMENT,
    STORAGE_COMMITMENT_INSTANCE,
)
from dcmreport.dicom.records import (
    CommitmentOn,
    CommitmentResultRecord,
    ReportRecord,
    ReportRequest,
    ResponseStatus,
    ResultDelivery,
    Role,
)
from dcmreport.dicom.status import SUCCESS, WARNING, Status, category
from dcmreport.errors import AssociationError

LOG = logging.getLogger("dcmreport")


class ResultHandler(Protocol):
    """What ``--commitment`` needs from whoever decides, keeps and shows results."""

    def commitment_result(self, request: ReportRecord) -> CommitmentResultRecord:
        """The result of a request answered Success, decided (and kept, when asked)."""

    def result_finished(self, result: CommitmentResultRecord) -> None:
        """The result with its delivery known: complete what was kept, show it."""


@dataclass(frozen=True)
class CommitmentOptions:
    """``listen --commitment``: where and when results go (J.3.3).

    A new association to the requester uses TLS when the listener does:
    ``tls`` is then the client side of the listener's own TLS options. No
    defaults here: listen's options, its only builder, have the only ones.
    """

    delay: float  # seconds between the N-ACTION-RSP and the result
    on: CommitmentOn
    peers: dict[str, Peer]  # calling AE title -> where to report
    retries: int  # more attempts after a failed delivery, a second apart
    tls: ssl.SSLContext | None  # for the new association; None: plain DICOM


class CommitmentPerformer:
    """The listener's storage commitment service (its :class:`ActionService`)."""

    def __init__(
        self, settings: Settings, options: CommitmentOptions, results: ResultHandler
    ) -> None:
        """``settings`` are the listener's: a new association calls with its AE title."""
        self._settings = settings
        self._options = options
        self._results = results

    def serves(self, req: N_ACTION, context: PresentationContext) -> bool:
        return str(req.RequestedSOPClassUID) == STORAGE_COMMITMENT

    def answered(self, assoc: Association, record: ReportRecord, background: Background) -> None:
        """A request answered Success gets its result, from a thread of its own, so that the
        requester's association goes on being served (it may release meanwhile)."""
        answer, delivery = record.answer, record.delivery
        if record.report.sop_class_uid != STORAGE_COMMITMENT:
            return  # another service's (listen --ups)
        if answer is None or delivery is None or not delivery.sent:
            return
        if category(answer.status.code) not in (SUCCESS, WARNING):
            return
        ds = record.report.dataset if record.report.dataset is not None else Dataset()
        uid = str(ds.get("TransactionUID", ""))
        if not background(f"commitment-{uid[-8:]}", lambda: self._deliver(assoc, record)):
            LOG.warning(
                "not reporting transaction %s to %s: too many results are pending already",
                uid,
                record.report.association.calling_aet,
            )

    def _deliver(self, assoc: Association, request: ReportRecord) -> None:
        """After --commitment-delay: decided → delivered (or given up) → recorded and shown."""
        try:
            time.sleep(self._options.delay)
            result = self._results.commitment_result(request)
            delivery = self._try_delivering(assoc, result)
            self._results.result_finished(replace(result, delivery=delivery))
        except Exception as exc:  # a thread of ours: say it, never a traceback
            LOG.error(
                "cannot report the result of message ID %s: %s",
                request.report.message_id,
                type(exc).__name__,
            )
            LOG.debug("details", exc_info=True)

    def _try_delivering(self, assoc: Association, result: CommitmentResultRecord) -> ResultDelivery:
        """On the same association or a new one, retrying; one line each way."""
        what = (
            f"storage commitment result (event {result.event_type_id}, "
            f"{len(result.committed)} committed, {len(result.failed)} failed) "
            f"for transaction {result.transaction_uid} to {result.request.association.calling_aet}"
        )
        on = self._options.on
        attempts, reason = self._options.retries + 1, ""
        for attempt in range(attempts):
            same = on is CommitmentOn.SAME or (on is CommitmentOn.AUTO and assoc.is_established)
            try:
                status = self._send(assoc if same else None, result)
            except (AssociationError, RuntimeError, ValueError) as exc:
                reason = str(exc)
                LOG.warning("cannot deliver the %s (attempt %d): %s", what, attempt + 1, reason)
                if attempt + 1 < attempts:
                    time.sleep(1.0)
                continue
            level = logging.INFO if category(status) in (SUCCESS, WARNING) else logging.WARNING
            where = "same" if same else "new"
            LOG.log(
                level, "delivered the %s on the %s association: %s", what, where, Status(status)
            )
            return ResultDelivery(True, attempt + 1, where, ResponseStatus(status))
        LOG.error("gave up delivering the %s after %d attempts", what, attempts)
        return ResultDelivery(False, attempts, reason=reason)

    def _send(self, assoc: Association | None, result: CommitmentResultRecord) -> int:
        """The status the requester answered, on ``assoc`` or on a new association to it."""
        if assoc is not None:
            if not assoc.is_established:
                raise AssociationError("the requester's association has ended (--commitment-on)")
            status, _ = guards.send_report_request(
                assoc,
                result.dataset,
                result.event_type_id,
                STORAGE_COMMITMENT,
                STORAGE_COMMITMENT_INSTANCE,
                msg_id=1,
            )
            if "Status" not in status:
                raise AssociationError("no answer to the result on the requester's association")
            return int(status.Status)
        calling = result.request.association.calling_aet
        peer = self._options.peers.get(calling)
        if peer is None:
            raise AssociationError(f"no --peer {calling}=HOST:PORT says where {calling} listens")
        request = ReportRequest(
            STORAGE_COMMITMENT,
            STORAGE_COMMITMENT_INSTANCE,
            result.event_type_id,
            1,
            result.dataset,
            role=Role.SCP,
        )
        settings = replace(
            self._settings,
            transfer_syntaxes=(EXPLICIT_VR_LE, IMPLICIT_VR_LE),
            connect_timeout=10.0,
            tls=self._options.tls,
        )
        return send_report(peer, settings, request).status.code
