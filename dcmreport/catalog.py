"""The catalog of SOP classes that use N-EVENT-REPORT, and their events.

Data, not code paths: each :class:`SopClass` names its UID, a short CLI name,
its Event Type IDs with their standard names, the well-known SOP instance
(where the standard defines one) and the abstract syntaxes the report may
travel under when that differs from the class (Print Management meta SOP
classes, the UPS Event SOP class). Sources: PS3.4 Annexes F, H, J, CC, DD,
KK and ``shared/reference/n-event-report.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

UID_PATTERN = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")

VERIFICATION = "1.2.840.10008.1.1"
SECONDARY_CAPTURE_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"


@dataclass(frozen=True)
class Event:
    """One Event Type ID of a SOP class."""

    id: int
    name: str  # CLI name, e.g. "failures"
    title: str  # standard wording


@dataclass(frozen=True)
class SopClass:
    """A SOP class that sends N-EVENT-REPORT, as the standard describes it."""

    uid: str
    name: str  # CLI name, e.g. "storage-commitment"
    title: str  # standard name
    events: tuple[Event, ...] = ()
    instance: str | None = None  # well-known SOP instance, the default --instance
    contexts: tuple[str, ...] = ()  # abstract syntaxes to carry it, when not the class itself
    retired: bool = False
    aliases: tuple[str, ...] = field(default=())

    def event(self, event_id: int) -> Event | None:
        return next((e for e in self.events if e.id == event_id), None)


def _events(*items: tuple[int, str, str]) -> tuple[Event, ...]:
    return tuple(Event(*item) for item in items)


_PRINT_META = ("1.2.840.10008.5.1.1.9", "1.2.840.10008.5.1.1.18")

CATALOG: tuple[SopClass, ...] = (
    SopClass(
        "1.2.840.10008.1.20.1",
        "storage-commitment",
        "Storage Commitment Push Model SOP Class",
        _events(
            (1, "success", "Storage Commitment Request Successful"),
            (2, "failures", "Storage Commitment Request Complete - Failures Exist"),
        ),
        instance="1.2.840.10008.1.20.1.1",
        aliases=("stgcmt",),
    ),
    SopClass(
        "1.2.840.10008.1.20.2",
        "storage-commitment-pull",
        "Storage Commitment Pull Model SOP Class (Retired)",
        _events(
            (1, "success", "Storage Commitment Request Successful"),
            (2, "failures", "Storage Commitment Request Complete - Failures Exist"),
        ),
        instance="1.2.840.10008.1.20.2.1",
        retired=True,
    ),
    SopClass(
        "1.2.840.10008.3.1.2.3.5",
        "mpps-notification",
        "Modality Performed Procedure Step Notification SOP Class",
        _events(
            (1, "in-progress", "Performed Procedure Step In Progress"),
            (2, "completed", "Performed Procedure Step Completed"),
            (3, "discontinued", "Performed Procedure Step Discontinued"),
            (4, "updated", "Performed Procedure Step Updated"),
            (5, "deleted", "Performed Procedure Step Deleted"),
        ),
        aliases=("mpps",),
    ),
    SopClass(
        "1.2.840.10008.5.1.1.16",
        "printer",
        "Printer SOP Class",
        _events((1, "normal", "Normal"), (2, "warning", "Warning"), (3, "failure", "Failure")),
        instance="1.2.840.10008.5.1.1.17",
        contexts=_PRINT_META,
    ),
    SopClass(
        "1.2.840.10008.5.1.1.14",
        "print-job",
        "Print Job SOP Class",
        _events(
            (1, "pending", "Pending"),
            (2, "printing", "Printing"),
            (3, "done", "Done"),
            (4, "failure", "Failure"),
        ),
        contexts=_PRINT_META,
    ),
    SopClass(
        "1.2.840.10008.5.1.4.34.6.1",
        "ups-push",
        "Unified Procedure Step - Push SOP Class",
        _events(
            (1, "state-report", "UPS State Report"),
            (2, "cancel-requested", "UPS Cancel Requested"),
            (3, "progress-report", "UPS Progress Report"),
            (4, "scp-status-change", "SCP Status Change"),
            (5, "assigned", "UPS Assigned"),
        ),
        contexts=("1.2.840.10008.5.1.4.34.6.4",),
        aliases=("ups", "ups-event"),
    ),
    SopClass(
        "1.2.840.10008.5.1.4.34.8",
        "rt-machine-verification",
        "RT Conventional Machine Verification SOP Class",
        _events((1, "pending", "Pending"), (2, "done", "Done")),
    ),
    SopClass(
        "1.2.840.10008.5.1.4.34.9",
        "rt-ion-machine-verification",
        "RT Ion Machine Verification SOP Class",
        _events((1, "pending", "Pending"), (2, "done", "Done")),
    ),
    SopClass(
        "1.2.840.10008.5.1.4.1.1.201.5",
        "inventory-creation",
        "Inventory Creation SOP Class",
        _events(
            (11, "terminated-with-instances", "Inventory Terminated with Instances"),
            (12, "status", "Inventory Status"),
            (13, "terminated-without-instances", "Inventory Terminated without Instances"),
        ),
        instance="1.2.840.10008.5.1.4.1.1.201.1.1",
    ),
    SopClass(
        "1.2.840.10008.3.1.2.1.1",
        "detached-patient",
        "Detached Patient Management SOP Class (Retired)",
        _events(
            (1, "created", "Patient Created"),
            (2, "deleted", "Patient Deleted"),
            (3, "updated", "Patient Updated"),
        ),
        retired=True,
    ),
    SopClass(
        "1.2.840.10008.3.1.2.2.1",
        "detached-visit",
        "Detached Visit Management SOP Class (Retired)",
        _events(
            (1, "created", "Visit Created"),
            (2, "scheduled", "Visit Scheduled"),
            (3, "admitted", "Patient Admitted"),
            (4, "transferred", "Patient Transferred"),
            (5, "discharged", "Patient Discharged"),
            (6, "deleted", "Visit Deleted"),
            (7, "updated", "Visit Updated"),
        ),
        retired=True,
    ),
    SopClass(
        "1.2.840.10008.3.1.2.3.1",
        "detached-study",
        "Detached Study Management SOP Class (Retired)",
        _events(
            (1, "created", "Study Created"),
            (2, "scheduled", "Study Scheduled"),
            (3, "arrived", "Patient Arrived"),
            (4, "started", "Study Started"),
            (5, "completed", "Study Completed"),
            (6, "verified", "Study Verified"),
            (7, "read", "Study Read"),
            (8, "deleted", "Study Deleted"),
            (9, "updated", "Study Updated"),
        ),
        retired=True,
    ),
    SopClass(
        "1.2.840.10008.3.1.2.5.1",
        "detached-results",
        "Detached Results Management SOP Class (Retired)",
        _events(
            (1, "created", "Results Created"),
            (2, "deleted", "Results Deleted"),
            (3, "updated", "Results Updated"),
        ),
        retired=True,
    ),
    SopClass(
        "1.2.840.10008.3.1.2.6.1",
        "detached-interpretation",
        "Detached Interpretation Management SOP Class (Retired)",
        _events(
            (1, "created", "Interpretation Created"),
            (2, "recorded", "Interpretation Recorded"),
            (3, "transcribed", "Interpretation Transcribed"),
            (4, "approved", "Interpretation Approved"),
            (5, "deleted", "Interpretation Deleted"),
            (6, "updated", "Interpretation Updated"),
        ),
        retired=True,
    ),
    SopClass(
        "1.2.840.10008.5.1.1.26",
        "print-queue",
        "Print Queue Management SOP Class (Retired)",
        retired=True,
    ),
)

_BY_UID = {c.uid: c for c in CATALOG}
_BY_NAME = {n: c for c in CATALOG for n in (c.name, *c.aliases)}


def by_uid(uid: str) -> SopClass | None:
    """Return the catalog entry of a SOP class UID, or None if it sends no reports we know of."""
    return _BY_UID.get(uid)


def class_names() -> list[str]:
    """The CLI names of every cataloged class (for completion and help)."""
    return [c.name for c in CATALOG]


def check_uid(value: str, what: str = "UID") -> str:
    """Return ``value`` if it is a valid UID (PS3.5 9.1), else raise ValueError."""
    if len(value) > 64:
        raise ValueError(f"{what} {value!r} is longer than 64 characters")
    if not UID_PATTERN.match(value):
        raise ValueError(
            f"{what} {value!r} is not a UID: digits separated by dots, no leading zeros "
            "(e.g. 1.2.840.10008.1.20.1.1)"
        )
    return value


def resolve_class(text: str) -> str:
    """Resolve a CLI name, a dotted UID or a pydicom SOP class keyword to a UID.

    ``storage-commitment``, ``1.2.840.10008.1.20.1`` and
    ``StorageCommitmentPushModel`` all give ``1.2.840.10008.1.20.1``.
    """
    key = text.strip()
    if key.lower() in _BY_NAME:
        return _BY_NAME[key.lower()].uid
    if key[:1].isdigit():
        return check_uid(key, "SOP class UID")
    from pydicom._uid_dict import UID_dictionary
    from pydicom.uid import UID

    for uid, (name, kind, _info, _retired, keyword) in UID_dictionary.items():
        if key in (keyword, name) and "SOP Class" in kind:
            return str(UID(uid))
    names = ", ".join(class_names())
    raise ValueError(
        f"unknown SOP class {text!r}: give a UID, a pydicom keyword, or one of {names}"
    )


def resolve_event(class_uid: str, text: str) -> int:
    """Resolve an Event Type ID given as a number or as an event name of the class."""
    key = text.strip().lower()
    if key.isdigit():
        value = int(key)
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"event type {text!r} is out of range 0-65535")
        return value
    entry = by_uid(class_uid)
    event = next((e for e in entry.events if e.name == key), None) if entry else None
    if event is None:
        known = ", ".join(f"{e.id}={e.name}" for e in entry.events) if entry else "none known"
        raise ValueError(f"unknown event {text!r} for this SOP class ({known}); give a number")
    return event.id


def describe_class(uid: str) -> str:
    """A display name of a SOP class UID: the catalog's, else pydicom's, else ''."""
    entry = by_uid(uid)
    if entry:
        return entry.title
    from pydicom.uid import UID

    name = UID(uid).name
    return "" if name == uid else name


def describe_event(class_uid: str, event_id: int | None) -> str:
    """The standard name of an event of a class, or '' if unknown."""
    entry = by_uid(class_uid)
    event = entry.event(event_id) if entry and event_id is not None else None
    return event.title if event else ""


# Transfer syntaxes pynetdicom encodes and decodes without a codec; the names are -x values.
IMPLICIT_VR_LE = "1.2.840.10008.1.2"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
DEFLATED_EXPLICIT_VR_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BE = "1.2.840.10008.1.2.2"
TRANSFER_SYNTAXES: dict[str, tuple[str, str]] = {
    "implicit": (IMPLICIT_VR_LE, "Implicit VR Little Endian"),
    "explicit": (EXPLICIT_VR_LE, "Explicit VR Little Endian"),
    "deflated": (DEFLATED_EXPLICIT_VR_LE, "Deflated Explicit VR Little Endian"),
    "big": (EXPLICIT_VR_BE, "Explicit VR Big Endian"),
}
_TS_NAMES = dict(TRANSFER_SYNTAXES.values())


def resolve_transfer_syntax(text: str) -> str:
    """``implicit``, ``explicit``, ``deflated``, ``big`` or one of their UIDs."""
    key = text.strip().lower()
    if key in TRANSFER_SYNTAXES:
        return TRANSFER_SYNTAXES[key][0]
    if key in _TS_NAMES:
        return key
    names = ", ".join(TRANSFER_SYNTAXES)
    raise ValueError(f"unsupported transfer syntax {text!r}: use one of {names} or their UIDs")


def transfer_syntax_name(uid: str) -> str:
    return _TS_NAMES.get(uid, uid)


# A-ASSOCIATE-RJ (result, source, reason), PS3.8 9.3.4: names for listen --reject.
REJECTIONS: dict[str, tuple[int, int, int]] = {
    "no-reason": (1, 1, 1),
    "calling-aet": (1, 1, 3),
    "called-aet": (1, 1, 7),
    "congestion": (2, 3, 1),
    "limit": (2, 3, 2),
}


def resolve_rejection(text: str) -> tuple[int, int, int]:
    """A rejection name, or ``RESULT/SOURCE/REASON`` such as ``1/1/3``."""
    key = text.strip().lower()
    if key in REJECTIONS:
        return REJECTIONS[key]
    parts = key.split("/")
    valid = {(1, 1): (1, 2, 3, 7), (2, 1): (1, 2, 3, 7), (1, 2): (1, 2), (2, 2): (1, 2),
             (1, 3): (1, 2), (2, 3): (1, 2)}
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        result, source, reason = (int(p) for p in parts)
        if reason in valid.get((result, source), ()):
            return result, source, reason
    names = ", ".join(REJECTIONS)
    raise ValueError(f"unknown rejection {text!r}: use one of {names} or RESULT/SOURCE/REASON "
                     "(PS3.8 9.3.4), e.g. 1/1/3")
