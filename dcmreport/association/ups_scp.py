"""UPS events, the worklist manager's side (``listen --ups``): subscriptions served, events pushed.

Built on both sides of the association layer, as storage commitment's PACS
side is (:mod:`dcmreport.association.commit_scp`). The :class:`Listener`
serves a subscription N-ACTION (UPS Watch, PS3.4 CC.2.3) as it serves a
report: received, decided by its handler (which changes the
:class:`~dcmreport.dicom.ups.Worklist` and answers by Table CC.2.3-3),
answered, recorded. A subscription answered Success or Warning then has its
initial UPS State Reports sent (:class:`UpsService`); the events of
``--ups-events`` are sent as they come (:class:`EventPusher`).

Each event goes to its subscriber on a new association to the Receiving AE
(``--peer AET=HOST:PORT``), on a UPS Event presentation context (CC.3.1)
proposing the SCP role (the UPS Event SCP sends the reports; role selection
as for a storage commitment result), with UPS Push as the Affected SOP Class
(CC.3.1). Events for one subscriber go out in order, one at a time, each
retried ``--commitment-retries`` times a second apart; each delivery is
logged and handed to ``delivered``, delivered or not and why.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_ACTION
from pynetdicom.presentation import PresentationContext

from dcmreport.association.common import Settings
from dcmreport.association.listener import ActionService, Background, InOrder
from dcmreport.association.requestor import send_report
from dcmreport.dicom import catalog, ups
from dcmreport.dicom.address import Peer
from dcmreport.dicom.catalog import EXPLICIT_VR_LE, IMPLICIT_VR_LE
from dcmreport.dicom.records import ReportRecord, ReportRequest, Role
from dcmreport.dicom.status import SUCCESS, WARNING, Status, category
from dcmreport.dicom.ups import EventDelivery
from dcmreport.errors import DcmreportError

LOG = logging.getLogger("dcmreport")


@dataclass(frozen=True)
class UpsOptions:
    """``listen --ups``: where subscribers listen, and how hard to try. No defaults here:
    listen's options, the only builder, have them."""

    peers: dict[str, Peer]  # Receiving AE -> where to send its events
    retries: int  # more attempts after a failed delivery, a second apart
    tls: ssl.SSLContext | None  # for the new associations; None: plain DICOM


class EventPusher:
    """Sends events to subscribers: in order per subscriber, retried, each one recorded."""

    def __init__(
        self,
        settings: Settings,
        options: UpsOptions,
        delivered: Callable[[EventDelivery], None],
    ) -> None:
        """``settings`` are the listener's: the new associations call with its AE title."""
        self._settings = replace(
            settings,
            transfer_syntaxes=(EXPLICIT_VR_LE, IMPLICIT_VR_LE),
            connect_timeout=10.0,
            tls=options.tls,
        )
        self._options = options
        self._delivered = delivered
        self._lines: dict[str, InOrder] = {}
        self._pending = 0
        self._changed = threading.Condition()

    def push(self, deliveries: list[ups.Delivery]) -> None:
        """Queue each one behind the earlier events of its subscriber."""
        for delivery in deliveries:
            with self._changed:
                line = self._lines.setdefault(
                    delivery.receiving_ae, InOrder(f"ups-{delivery.receiving_ae}")
                )
                self._pending += 1
            line.submit(lambda d=delivery: self._deliver(d))  # type: ignore[misc]

    def wait(self, timeout: float | None = None) -> bool:
        """Until every queued event was delivered or given up (False: ``timeout`` passed)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout)

    def _deliver(self, delivery: ups.Delivery) -> None:
        try:
            self._delivered(self._try(delivery))
        finally:
            with self._changed:
                self._pending -= 1
                self._changed.notify_all()

    def _try(self, delivery: ups.Delivery) -> EventDelivery:
        """On a new association to the Receiving AE, retrying; one line each way."""
        ae, event = delivery.receiving_ae, delivery.event_type_id
        what = (
            f"UPS event {event} {catalog.describe_event(ups.UPS_PUSH, event)} of "
            f"{delivery.instance} to {ae}"
        )
        peer = self._options.peers.get(ae)
        if peer is None:
            reason = f"no --peer {ae}=HOST:PORT says where {ae} listens"
            LOG.error("cannot deliver the %s: %s", what, reason)
            return EventDelivery(ae, delivery.instance, event, False, 0, reason=reason)
        request = ReportRequest(
            ups.UPS_PUSH,
            delivery.instance,
            event,
            1,
            delivery.dataset,
            context_class_uid=ups.UPS_EVENT,
            role=Role.SCP,
        )
        attempts, reason = self._options.retries + 1, ""
        for attempt in range(attempts):
            try:
                status = send_report(peer, self._settings, request).status.code
            except DcmreportError as exc:
                reason = str(exc)
                LOG.warning("cannot deliver the %s (attempt %d): %s", what, attempt + 1, reason)
                if attempt + 1 < attempts:
                    time.sleep(1.0)
                continue
            ok = category(status) in (SUCCESS, WARNING)
            LOG.log(
                logging.INFO if ok else logging.WARNING,
                "delivered the %s: %s",
                what,
                Status(status),
            )
            return EventDelivery(ae, delivery.instance, event, True, attempt + 1, status)
        LOG.error("gave up delivering the %s after %d attempts", what, attempts)
        return EventDelivery(ae, delivery.instance, event, False, attempts, reason=reason)


class UpsService:
    """The listener's UPS Watch service (its :class:`ActionService`): after a subscription
    was answered Success or Warning, its initial UPS State Reports (Table CC.2.3-2)."""

    def __init__(self, worklist: ups.Worklist, pusher: EventPusher) -> None:
        self._worklist = worklist
        self._pusher = pusher

    def serves(self, req: N_ACTION, context: PresentationContext) -> bool:
        """On a UPS Watch context, or a subscription action naming UPS Push or Watch."""
        if str(context.abstract_syntax) == ups.UPS_WATCH:
            return True
        return (
            str(req.RequestedSOPClassUID) in (ups.UPS_PUSH, ups.UPS_WATCH)
            and req.ActionTypeID in ups.ACTION_NAMES
        )

    def answered(self, assoc: Association, record: ReportRecord, background: Background) -> None:
        outcome = self._worklist.outcome(record.report)  # taken, answered or not
        answer, delivery = record.answer, record.delivery
        if outcome is None or answer is None or delivery is None or not delivery.sent:
            return
        if category(answer.status.code) not in (SUCCESS, WARNING):
            return
        initial = self._worklist.initial_reports(outcome)
        if initial and not background(
            f"ups-initial-{outcome.receiving_ae}", lambda: self._send_initial(initial)
        ):
            LOG.warning("not sending initial UPS State Reports: too much work is pending")

    def _send_initial(self, initial: list[ups.Delivery]) -> None:
        self._pusher.push(initial)
        self._pusher.wait()


class AnyOf:
    """Several action services as one (``listen --commitment ... --ups``): a request is
    served if one of them serves it; each is told of every answered request and acts
    only on its own."""

    def __init__(self, *services: ActionService | None) -> None:
        self._services = [s for s in services if s is not None]

    def serves(self, req: N_ACTION, context: PresentationContext) -> bool:
        return any(s.serves(req, context) for s in self._services)

    def answered(self, assoc: Association, record: ReportRecord, background: Background) -> None:
        for service in self._services:
            service.answered(assoc, record, background)
