"""UPS subscriptions (PS3.4 CC.2.3): the worklist manager's table, and what each status means.

The subscriber sends an N-ACTION on a UPS Watch presentation context whose
Requested SOP Class UID is UPS Push (CC.2.3.2, CC.3.1): Action Type 3
Subscribe, 4 Unsubscribe, 5 Suspend Global Subscription, each carrying the
Receiving AE (0074,1234) and, for a Subscribe, Deletion Lock (0074,1230).
The Requested SOP Instance is one UPS instance, the Global Subscription
instance or the Filtered Global Subscription instance (whose Action
Information then carries matching keys).

:class:`Worklist` is ``listen --ups``'s state: the UPS instances it manages
(known from the events it was given), the Global Subscription State and UPS
Subscription State of each AE, moved as Table CC.2.3-2 says, and which
initial UPS State Reports a change asks for:

* subscribing to a specific UPS (with or without lock) sends one for it;
* subscribing globally *with* lock sends one for every instance that was Not
  Subscribed; *without* lock it sends none (Table CC.2.3-2, and CC.2.3.2
  Note 1: "When subscribing globally with the Deletion Lock set to TRUE, the
  SCU can expect to receive initial N-EVENT-REPORTs for every instance");
  a Filtered Global Subscription does the same for the matching instances;
* a UPS created while an AE is globally subscribed subscribes it and sends an
  initial event (the first rows of the table), which Note 1 says appears as a
  transition to SCHEDULED.

The statuses are Table CC.2.3-3's: 0000, B301 Deletion Lock not granted
(warning: subscribed without lock), C307 no such UPS instance (also an SCP
without Filtered Global Subscription, CC.2.3.3), C308 Receiving AE unknown,
C314 action not appropriate for the instance, C315 no event reports; and
0x0123 No such action (PS3.7 10.1.4.1.10) for an Action Type UPS Watch does
not define. Here an instance is "managed" once a ``--ups-events`` line named
it: a subscription to any other UID is C307. No I/O; the table is guarded by
a lock, as several associations change it at once.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydicom import Dataset

from dcmreport.dicom.records import Finding, ReceivedReport, ResponseStatus

UPS_PUSH = "1.2.840.10008.5.1.4.34.6.1"
UPS_WATCH = "1.2.840.10008.5.1.4.34.6.2"
UPS_PULL = "1.2.840.10008.5.1.4.34.6.3"
UPS_EVENT = "1.2.840.10008.5.1.4.34.6.4"
GLOBAL_INSTANCE = "1.2.840.10008.5.1.4.34.5"
FILTERED_INSTANCE = "1.2.840.10008.5.1.4.34.5.1"

SUBSCRIBE, UNSUBSCRIBE, SUSPEND_GLOBAL = 3, 4, 5
ACTION_NAMES = {
    SUBSCRIBE: "Subscribe to Receive UPS Event Reports",
    UNSUBSCRIBE: "Unsubscribe from Receiving UPS Event Reports",
    SUSPEND_GLOBAL: "Suspend Global Subscription",
}
STATE_REPORT, SCP_STATUS_CHANGE = 1, 4
STATES = ("SCHEDULED", "IN PROGRESS", "CANCELED", "COMPLETED")

SUCCESS = ResponseStatus(0x0000)
LOCK_NOT_GRANTED = ResponseStatus(0xB301, "Deletion Lock not granted")
NO_SUCH_UPS = ResponseStatus(0xC307, "no such UPS instance managed by this SCP")
UNKNOWN_RECEIVER = ResponseStatus(0xC308, "Receiving AE-TITLE is unknown to this SCP")
NOT_APPROPRIATE = ResponseStatus(0xC314, "action not appropriate for the instance")
NO_SUCH_ACTION = ResponseStatus(0x0123, "UPS Watch has Action Types 3, 4 and 5")
INVALID_ARGUMENT = ResponseStatus(0x0115, "no Receiving AE, or Deletion Lock not TRUE/FALSE")


def is_subscription(report: ReceivedReport) -> bool:
    """An N-ACTION that ``listen --ups`` serves: on UPS Watch, or naming UPS Push/Watch."""
    return report.context_class_uid == UPS_WATCH or report.sop_class_uid in (UPS_PUSH, UPS_WATCH)


def request_findings(report: ReceivedReport) -> list[Finding]:
    """Where a subscription N-ACTION departs from CC.2.3 without deciding its answer:
    a Requested SOP Class other than UPS Push (CC.2.3.2 says it "shall be" UPS Push)."""
    if report.sop_class_uid == UPS_PUSH:
        return []
    return [
        Finding(
            "ups-requested-class",
            "RequestedSOPClassUID",
            f"Requested SOP Class UID {report.sop_class_uid!r} should be UPS Push "
            f"({UPS_PUSH}), whatever the context (PS3.4 CC.2.3.2, CC.3.1)",
        )
    ]


@dataclass
class Instance:
    """A UPS instance the worklist manager knows: its state and what its events said."""

    uid: str
    state: str = "SCHEDULED"
    readiness: str = "READY"
    attributes: dict[str, str] = field(default_factory=dict)  # keyword -> text, for filters

    def state_report(self) -> Dataset:
        """The Event Information of a UPS State Report of its current state (CC.2.4)."""
        ds = Dataset()
        ds.ProcedureStepState = self.state
        ds.InputReadinessState = self.readiness
        return ds


@dataclass(frozen=True)
class GlobalSubscription:
    lock: bool
    keys: tuple[tuple[str, str], ...] | None = None  # None: all instances (not filtered)


@dataclass(frozen=True)
class Outcome:
    """A subscription action's answer and the instances to send an initial State Report of."""

    status: ResponseStatus
    receiving_ae: str = ""
    initial: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """One event for one subscriber: to whom, about which instance, which event."""

    receiving_ae: str
    instance: str
    event_type_id: int
    dataset: Dataset


def matching_keys(ds: Dataset) -> tuple[tuple[str, str], ...]:
    """The Filtered Global Subscription's keys: every element but the two of Table CC.2.3-1."""
    return tuple(
        (elem.keyword, "" if elem.value is None else str(elem.value))
        for elem in ds
        if elem.keyword and elem.keyword not in ("ReceivingAE", "DeletionLock")
    )


def _matches(instance: Instance, keys: tuple[tuple[str, str], ...]) -> bool:
    """C-FIND matching on what is known of the instance (CC.2.3.3.1): an empty value
    matches anything, ``*`` and ``?`` are wildcards, else the values must be equal."""
    for keyword, wanted in keys:
        if not wanted:
            continue
        have = instance.attributes.get(keyword)
        if have is None or not fnmatch.fnmatchcase(have, wanted):
            return False
    return True


class Worklist:
    """``listen --ups``: the instances, and each AE's subscriptions (Table CC.2.3-2)."""

    def __init__(self, known_aes: Iterable[str], grant_lock: bool = True) -> None:
        self._known = set(known_aes)
        self._grant_lock = grant_lock
        self._instances: dict[str, Instance] = {}
        self._global: dict[str, GlobalSubscription] = {}
        self._subscribed: dict[tuple[str, str], bool] = {}  # (AE, instance) -> with lock
        self._outcomes: dict[int, tuple[ReceivedReport, Outcome]] = {}  # until answered
        self._lock = threading.Lock()

    # --- the subscription actions -----------------------------------------------------

    def apply(self, report: ReceivedReport) -> Outcome:
        """Change the table as the N-ACTION asks (Table CC.2.3-2), or refuse it unchanged;
        the outcome is kept for :meth:`outcome`, once the answer has gone out."""
        outcome = self._apply(report)
        with self._lock:
            self._outcomes[id(report)] = (report, outcome)
        return outcome

    def outcome(self, report: ReceivedReport) -> Outcome | None:
        """The outcome :meth:`apply` gave ``report`` (taken: asked once, after the answer)."""
        with self._lock:
            kept = self._outcomes.pop(id(report), None)
        return kept[1] if kept is not None else None

    def _apply(self, report: ReceivedReport) -> Outcome:
        action, uid = report.action_type_id, report.sop_instance_uid
        if action not in ACTION_NAMES:
            return Outcome(NO_SUCH_ACTION)
        ds = report.dataset if report.dataset is not None else Dataset()
        ae = str(ds.get("ReceivingAE", "") or "").strip()
        if not ae:
            return Outcome(INVALID_ARGUMENT)
        if ae not in self._known:
            return Outcome(UNKNOWN_RECEIVER, ae)
        with self._lock:
            if action == SUSPEND_GLOBAL:
                if uid != GLOBAL_INSTANCE:
                    return Outcome(NOT_APPROPRIATE, ae)
                self._global.pop(ae, None)
                return Outcome(SUCCESS, ae)
            if action == UNSUBSCRIBE:
                return self._unsubscribe(ae, uid)
            lock_text = str(ds.get("DeletionLock", "FALSE") or "FALSE").strip().upper()
            if lock_text not in ("TRUE", "FALSE"):
                return Outcome(INVALID_ARGUMENT, ae)
            asked = lock_text == "TRUE"
            lock = asked and self._grant_lock
            status = LOCK_NOT_GRANTED if asked and not lock else SUCCESS
            if uid in (GLOBAL_INSTANCE, FILTERED_INSTANCE):
                keys = matching_keys(ds) if uid == FILTERED_INSTANCE else None
                return Outcome(status, ae, self._subscribe_globally(ae, lock, keys))
            if uid not in self._instances:
                return Outcome(NO_SUCH_UPS, ae)
            self._subscribed[(ae, uid)] = lock
            return Outcome(status, ae, (uid,))

    def _unsubscribe(self, ae: str, uid: str) -> Outcome:
        if uid == GLOBAL_INSTANCE:  # removes every subscription, global and specific
            self._global.pop(ae, None)
            for key in [k for k in self._subscribed if k[0] == ae]:
                del self._subscribed[key]
            return Outcome(SUCCESS, ae)
        if uid == FILTERED_INSTANCE:
            return Outcome(NOT_APPROPRIATE, ae)
        if uid not in self._instances:
            return Outcome(NO_SUCH_UPS, ae)
        self._subscribed.pop((ae, uid), None)
        return Outcome(SUCCESS, ae)

    def _subscribe_globally(
        self, ae: str, lock: bool, keys: tuple[tuple[str, str], ...] | None
    ) -> tuple[str, ...]:
        """The Global Subscription State, and each Not Subscribed instance (that matches)
        subscribed; an initial event for each only with lock (Table CC.2.3-2)."""
        self._global[ae] = GlobalSubscription(lock, keys)
        initial = []
        for uid, instance in self._instances.items():
            if (ae, uid) in self._subscribed or (keys is not None and not _matches(instance, keys)):
                continue
            self._subscribed[(ae, uid)] = lock
            if lock:
                initial.append(uid)
        return tuple(initial)

    # --- events -----------------------------------------------------------------------

    def initial_reports(self, outcome: Outcome) -> list[Delivery]:
        """The UPS State Reports of the instances a successful subscription names."""
        with self._lock:
            return [
                Delivery(
                    outcome.receiving_ae, uid, STATE_REPORT, self._instances[uid].state_report()
                )
                for uid in outcome.initial
                if uid in self._instances
            ]

    def event(self, uid: str, event_type_id: int, ds: Dataset) -> list[Delivery]:
        """An event of the instance (created now if new): what goes to whom, in order.

        A new instance subscribes each globally subscribed AE whose filter it
        matches, which first gets an initial State Report (Table CC.2.3-2) unless
        the event is itself a State Report. SCP Status Change goes to every
        subscriber: use :meth:`status_change`.
        """
        with self._lock:
            created = uid not in self._instances
            instance = self._instances.setdefault(uid, Instance(uid))
            self._learn(instance, event_type_id, ds)
            before = {ae for (ae, i) in self._subscribed if i == uid}
            newly = self._subscribe_to_new(instance) if created else self._filters_now(instance)
            out = [
                Delivery(ae, uid, STATE_REPORT, instance.state_report())
                for ae in newly
                if event_type_id != STATE_REPORT
            ]
            receivers = sorted(before | set(newly))
            return out + [Delivery(ae, uid, event_type_id, ds) for ae in receivers]

    def _learn(self, instance: Instance, event_type_id: int, ds: Dataset) -> None:
        if event_type_id == STATE_REPORT:
            instance.state = str(ds.get("ProcedureStepState", instance.state) or instance.state)
            instance.readiness = str(
                ds.get("InputReadinessState", instance.readiness) or instance.readiness
            )
        for elem in ds:
            if elem.keyword and elem.VR != "SQ":
                instance.attributes[elem.keyword] = "" if elem.value is None else str(elem.value)
        instance.attributes["ProcedureStepState"] = instance.state

    def _subscribe_to_new(self, instance: Instance) -> list[str]:
        """A UPS created while AEs are globally subscribed: each one (that matches) is."""
        newly = []
        for ae, subscription in sorted(self._global.items()):
            if subscription.keys is None or _matches(instance, subscription.keys):
                self._subscribed[(ae, instance.uid)] = subscription.lock
                newly.append(ae)
        return newly

    def _filters_now(self, instance: Instance) -> list[str]:
        """An instance that has come to match a Filtered Global Subscription is subscribed."""
        newly = []
        for ae, subscription in sorted(self._global.items()):
            if subscription.keys is None or (ae, instance.uid) in self._subscribed:
                continue
            if _matches(instance, subscription.keys):
                self._subscribed[(ae, instance.uid)] = subscription.lock
                newly.append(ae)
        return newly

    def status_change(self, ds: Dataset) -> list[Delivery]:
        """SCP Status Change (event 4) to every subscriber: about each UPS it is subscribed
        to, and about the Global (or Filtered Global) Subscription instance if it holds
        one, as dcm4chee-arc sends it (PS3.4 CC.2.4.3 names no instance)."""
        with self._lock:
            out = [
                Delivery(ae, uid, SCP_STATUS_CHANGE, ds) for (ae, uid) in sorted(self._subscribed)
            ]
            for ae, subscription in sorted(self._global.items()):
                uid = GLOBAL_INSTANCE if subscription.keys is None else FILTERED_INSTANCE
                out.append(Delivery(ae, uid, SCP_STATUS_CHANGE, ds))
            return out

    def instances(self) -> dict[str, object]:
        """The UPS instances as JSON: what a restart needs to go on where this one stopped."""
        with self._lock:
            return {
                uid: {
                    "state": i.state,
                    "readiness": i.readiness,
                    "attributes": dict(sorted(i.attributes.items())),
                }
                for uid, i in sorted(self._instances.items())
            }

    def restore(self, table: object, instances: object) -> None:
        """Take back what :meth:`table` and :meth:`instances` gave (a warm start); a
        Receiving AE no --peer names any more is dropped. ValueError: not their form."""
        try:
            self._restore(table, instances)
        except (AttributeError, KeyError, TypeError) as exc:
            raise ValueError(f"not as dcmreport wrote it ({type(exc).__name__}: {exc})") from None

    def _restore(self, table: Any, instances: Any) -> None:
        with self._lock:
            for uid, kept in dict(instances).items():
                self._instances[str(uid)] = Instance(
                    str(uid),
                    str(kept["state"]),
                    str(kept["readiness"]),
                    {str(k): str(v) for k, v in dict(kept["attributes"]).items()},
                )
            for ae, entry in dict(table).items():
                if ae not in self._known:
                    continue
                kept_global = entry["global"]
                if kept_global is not None:
                    keys = kept_global["filter"]
                    self._global[ae] = GlobalSubscription(
                        bool(kept_global["deletion_lock"]),
                        None if keys is None else tuple((str(k), str(v)) for k, v in keys.items()),
                    )
                for uid, subscription in dict(entry["instances"]).items():
                    self._instances.setdefault(str(uid), Instance(str(uid)))
                    self._subscribed[(ae, str(uid))] = bool(subscription["deletion_lock"])

    def subscribers(self) -> list[str]:
        """Every AE subscribed to something, globally or to an instance."""
        with self._lock:
            return sorted(set(self._global) | {ae for ae, _ in self._subscribed})

    def table(self) -> dict[str, object]:
        """The table as JSON: each AE's global state and instance subscriptions."""
        with self._lock:
            aes = sorted(set(self._global) | {ae for ae, _ in self._subscribed})
            return {ae: self._entry(ae) for ae in aes}

    def _entry(self, ae: str) -> dict[str, object]:
        subscription = self._global.get(ae)
        keys = subscription.keys if subscription is not None else None
        return {
            "global": None
            if subscription is None
            else {
                "deletion_lock": subscription.lock,
                "filter": dict(keys) if keys is not None else None,
            },
            "instances": {
                uid: {"deletion_lock": lock}
                for (who, uid), lock in sorted(self._subscribed.items())
                if who == ae
            },
        }


# --- what the subscriber is told ------------------------------------------------------------


def explain(code: int, receiving_ae: str, scp: str, instance: str) -> str | None:
    """One sentence on a Warning or Failure status of a subscription (Table CC.2.3-3)."""
    sentences = {
        0xB301: "subscribed, but the SCP did not grant the Deletion Lock: it may delete the "
        "UPS once COMPLETED or CANCELED, before its final state is read",
        0xC307: f"the SCP manages no UPS instance {instance} (or does not support the Filtered "
        "Global Subscription): check the UID",
        0xC308: f"the SCP does not know AE {receiving_ae} as a receiver: configure "
        f"{receiving_ae} at HOST:PORT on the SCP ({scp}), the address and --port of this watch",
        0xC314: f"the SCP says this action is not appropriate for instance {instance}",
        0xC315: "the SCP does not send UPS event reports at all",
        0x0123: "the SCP does not support this Action Type on UPS Watch",
        0x0124: "the SCP refused: not authorized",
    }
    return sentences.get(code)


# --- what watch and listen --ups did, as plain data (shown by dcmreport.output) ---------


@dataclass(frozen=True)
class SubscriptionAction:
    """One N-ACTION on UPS Watch: its Action Type, instance and Action Information."""

    action_type_id: int  # SUBSCRIBE, UNSUBSCRIBE or SUSPEND_GLOBAL
    instance: str  # a UPS, GLOBAL_INSTANCE or FILTERED_INSTANCE
    receiving_ae: str
    deletion_lock: bool = False  # Subscribe only
    keys: Dataset | None = None  # the Filtered Global Subscription's matching keys

    def action_information(self) -> Dataset:
        """Table CC.2.3-1: Receiving AE always; Deletion Lock and matching keys to subscribe."""
        ds = Dataset()
        if self.keys is not None and self.action_type_id == SUBSCRIBE:
            ds.update(self.keys)
        ds.ReceivingAE = self.receiving_ae
        if self.action_type_id == SUBSCRIBE:
            ds.DeletionLock = "TRUE" if self.deletion_lock else "FALSE"
        return ds

    @property
    def name(self) -> str:
        return ACTION_NAMES[self.action_type_id]


@dataclass(frozen=True)
class ActionResponse:
    """The N-ACTION-RSP: its status, how long it took, where it breaks the standard."""

    action: SubscriptionAction
    status: ResponseStatus
    round_trip_ms: float
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class EventDelivery:
    """What became of one event for one subscriber."""

    receiving_ae: str
    instance: str
    event_type_id: int
    delivered: bool
    attempts: int
    status: int | None = None  # the subscriber's answer, when one came
    reason: str = ""  # why it was not delivered
