"""The catalog of SOP classes that use N-EVENT-REPORT, and their events.

Data, not code paths: each :class:`SopClass` names its UID, a short CLI name,
its Event Type IDs with their standard names and what each event's Event
Information must and may carry, the well-known SOP instance (where the
standard defines one) and the abstract syntaxes the report travels under when
that differs from the class (Print Management meta SOP classes, the UPS Event
SOP class). Requirements are the SCP's, because the SCP of these classes is
the one that sends the report.

Sources, checked against the standard's text: PS3.4 J.3.3 (storage
commitment), F.9.2 (MPPS notification), H.4.5.2.1 and H.4.6.2.1 (Print Job,
Printer), CC.2.4 (UPS, 2020 edition; event 5 also lists the Scheduled Human
Performers Sequence its behavior text names), DD.3.2.5 (RT machine
verification), KK.2.3 (Inventory Creation, 2024e) and PS3.3 C.14.1.1 (Failure
Reason). The retired classes are listed with their UIDs (pydicom's dictionary,
DVTk's definition files) but without event names: the retired text that
defined those is not at hand to check them against, so reports of those
classes are sent and shown by number.
"""

from __future__ import annotations

import re

from dcmreport.dicom.status import close_names, did_you_mean, parse_code
from dcmreport.frozen import frozen

UID_PATTERN = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")

VERIFICATION = "1.2.840.10008.1.1"
SECONDARY_CAPTURE_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"  # its well-known instance (J.3)


@frozen
class Attribute:
    """An attribute an event's Event Information carries, as its sender (the SCP) must."""

    keyword: str
    required: bool = False  # Type 1 (or M) for the SCP
    condition: str = ""  # for Type 1C: when it is required (shown, not checked)
    items: tuple[Attribute, ...] = ()  # a sequence's item attributes
    values: tuple[str | int, ...] = ()  # the only values the standard allows, if it fixes them


@frozen
class Event:
    """One Event Type ID of a SOP class and what its Event Information holds."""

    id: int
    name: str  # CLI name, e.g. "failures"
    title: str  # standard wording
    attributes: tuple[Attribute, ...] = ()  # () means the standard defines none
    one_of: tuple[tuple[str, ...], ...] = ()  # groups of which at least one must be present


@frozen
class SopClass:
    """A SOP class that sends N-EVENT-REPORT, as the standard describes it."""

    uid: str
    name: str  # CLI name, e.g. "storage-commitment"
    title: str  # standard name
    events: tuple[Event, ...] = ()
    instance: str | None = None  # well-known SOP instance, the default --instance
    contexts: tuple[str, ...] = ()  # abstract syntaxes to carry it, when not the class itself
    retired: bool = False
    aliases: tuple[str, ...] = ()

    def event(self, event_id: int) -> Event | None:
        return next((e for e in self.events if e.id == event_id), None)


def _req(keyword: str, *items: Attribute, values: tuple[str | int, ...] = ()) -> Attribute:
    return Attribute(keyword, True, items=items, values=values)


def _opt(keyword: str, *items: Attribute, values: tuple[str | int, ...] = ()) -> Attribute:
    return Attribute(keyword, False, items=items, values=values)


def _cond(keyword: str, condition: str, *items: Attribute) -> Attribute:
    return Attribute(keyword, False, condition, items)


# Failure Reason (0008,1197), PS3.3 C.14.1.1: code -> (CLI name, standard meaning).
FAILURE_REASONS: dict[int, tuple[str, str]] = {
    0x0110: ("processing-failure", "Processing failure"),
    0x0112: ("no-such-object-instance", "No such object instance"),
    0x0213: ("resource-limitation", "Resource limitation"),
    0x0122: ("referenced-sop-class-not-supported", "Referenced SOP Class not supported"),
    0x0119: ("class-instance-conflict", "Class / Instance conflict"),
    0x0131: ("duplicate-transaction-uid", "Duplicate transaction UID"),
}

_PRINT_META = ("1.2.840.10008.5.1.1.9", "1.2.840.10008.5.1.1.18")
_UPS_EVENT = "1.2.840.10008.5.1.4.34.6.4"

_STORAGE = (_opt("RetrieveAETitle"), _opt("StorageMediaFileSetID"), _opt("StorageMediaFileSetUID"))
_REFERENCED_SOP = (_req("ReferencedSOPClassUID"), _req("ReferencedSOPInstanceUID"), *_STORAGE)
_FAILED_SOP = _req(
    "FailedSOPSequence",
    _req("ReferencedSOPClassUID"),
    _req("ReferencedSOPInstanceUID"),
    _req("FailureReason", values=tuple(FAILURE_REASONS)),
)
_PRINT_JOB = (_req("ExecutionStatusInfo"), _opt("FilmSessionLabel"), _opt("PrinterName"))
_PRINTER = (_req("PrinterStatusInfo"), _opt("FilmDestination"), _opt("PrinterName"))
_IF_IN_ACTION = "if provided in the triggering N-ACTION"
_IF_IN_UPS = "if populated in the UPS instance"
_INVENTORY = (_req("TransactionUID"), _req("TransactionStatus"), _opt("TransactionStatusComment"))
_IF_CONTAINER = "see PS3.4 KK.2.3.1.1"

CATALOG: tuple[SopClass, ...] = (
    SopClass(
        STORAGE_COMMITMENT,
        "storage-commitment",
        "Storage Commitment Push Model SOP Class",
        (
            Event(
                1,
                "success",
                "Storage Commitment Request Successful",
                (
                    _req("TransactionUID"),
                    *_STORAGE,
                    _req("ReferencedSOPSequence", *_REFERENCED_SOP),
                ),
            ),
            Event(
                2,
                "failures",
                "Storage Commitment Request Complete - Failures Exist",
                (
                    _req("TransactionUID"),
                    *_STORAGE,
                    _cond(
                        "ReferencedSOPSequence",
                        "if any instance was committed",
                        *_REFERENCED_SOP,
                    ),
                    _FAILED_SOP,
                ),
            ),
        ),
        instance="1.2.840.10008.1.20.1.1",
        aliases=("stgcmt",),
    ),
    SopClass(
        "1.2.840.10008.1.20.2",
        "storage-commitment-pull",
        "Storage Commitment Pull Model SOP Class (Retired)",
        instance="1.2.840.10008.1.20.2.1",
        retired=True,
    ),
    SopClass(
        "1.2.840.10008.3.1.2.3.5",
        "mpps-notification",
        "Modality Performed Procedure Step Notification SOP Class",
        # "The Notification Event Information contains no Attributes" (F.9.2).
        (
            Event(1, "in-progress", "Performed Procedure Step In Progress"),
            Event(2, "completed", "Performed Procedure Step Completed"),
            Event(3, "discontinued", "Performed Procedure Step Discontinued"),
            Event(4, "updated", "Performed Procedure Step Updated"),
            Event(5, "deleted", "Performed Procedure Step Deleted"),
        ),
        aliases=("mpps",),
    ),
    SopClass(
        "1.2.840.10008.5.1.1.16",
        "printer",
        "Printer SOP Class",
        (
            Event(1, "normal", "Normal"),
            Event(2, "warning", "Warning", _PRINTER),
            Event(3, "failure", "Failure", _PRINTER),
        ),
        instance="1.2.840.10008.5.1.1.17",
        contexts=_PRINT_META,  # H.3.2.2: a member of both meta classes
    ),
    SopClass(
        "1.2.840.10008.5.1.1.14",
        "print-job",
        "Print Job SOP Class",
        (
            Event(1, "pending", "Pending", _PRINT_JOB),
            Event(2, "printing", "Printing", _PRINT_JOB),
            Event(3, "done", "Done", _PRINT_JOB),
            Event(4, "failure", "Failure", _PRINT_JOB),
        ),
        # H.3.3: an optional class used with the meta classes, negotiated by itself;
        # reports are still sent on (and accepted from) the meta contexts by default.
        contexts=_PRINT_META,
    ),
    SopClass(
        "1.2.840.10008.5.1.4.34.6.1",
        "ups-push",
        "Unified Procedure Step - Push SOP Class",
        (
            Event(
                1,
                "state-report",
                "UPS State Report",
                (
                    _req(
                        "ProcedureStepState",
                        values=("SCHEDULED", "IN PROGRESS", "CANCELED", "COMPLETED"),
                    ),
                    _req("InputReadinessState", values=("READY", "UNAVAILABLE", "INCOMPLETE")),
                    _opt("ReasonForCancellation"),
                    _opt("ProcedureStepDiscontinuationReasonCodeSequence"),
                ),
            ),
            Event(
                2,
                "cancel-requested",
                "UPS Cancel Requested",
                (
                    _req("RequestingAE"),
                    _cond("ReasonForCancellation", _IF_IN_ACTION),
                    _cond("ProcedureStepDiscontinuationReasonCodeSequence", _IF_IN_ACTION),
                    _cond("ContactURI", _IF_IN_ACTION),
                    _cond("ContactDisplayName", _IF_IN_ACTION),
                ),
            ),
            Event(
                3,
                "progress-report",
                "UPS Progress Report",
                (
                    _req(
                        "ProcedureStepProgressInformationSequence",
                        _opt("ProcedureStepProgress"),
                        _opt("ProcedureStepProgressDescription"),
                        _opt("ProcedureStepProgressParametersSequence"),
                        _opt(
                            "ProcedureStepCommunicationsURISequence",
                            _req("ContactURI"),
                            _opt("ContactDisplayName"),
                        ),
                    ),
                ),
            ),
            Event(
                4,
                "scp-status-change",
                "SCP Status Change",
                (
                    _req("SCPStatus", values=("RESTARTED", "GOING DOWN")),
                    _req("SubscriptionListStatus", values=("WARM START", "COLD STARTED")),
                    _req("UnifiedProcedureStepListStatus", values=("WARM START", "COLD START")),
                ),
            ),
            Event(
                5,
                "assigned",
                "UPS Assigned",
                (
                    _cond("ScheduledStationNameCodeSequence", _IF_IN_UPS),
                    _cond("ScheduledHumanPerformersSequence", _IF_IN_UPS),
                    _cond("HumanPerformerCodeSequence", _IF_IN_UPS),
                    _cond("HumanPerformerOrganization", _IF_IN_UPS),
                ),
            ),
        ),
        # CC.3.1: negotiated as UPS Event, sent with UPS Push as the Affected SOP Class.
        contexts=(_UPS_EVENT,),
        aliases=("ups", "ups-event"),
    ),
    SopClass(
        "1.2.840.10008.5.1.4.34.8",
        "rt-machine-verification",
        "RT Conventional Machine Verification SOP Class",
        (
            Event(1, "pending", "Pending"),
            Event(2, "done", "Done", (_req("TreatmentVerificationStatus"),)),
        ),
    ),
    SopClass(
        "1.2.840.10008.5.1.4.34.9",
        "rt-ion-machine-verification",
        "RT Ion Machine Verification SOP Class",
        (
            Event(1, "pending", "Pending"),
            Event(2, "done", "Done", (_req("TreatmentVerificationStatus"),)),
        ),
    ),
    SopClass(
        "1.2.840.10008.5.1.4.1.1.201.5",
        "inventory-creation",
        "Inventory Creation SOP Class",
        (
            Event(
                11,
                "terminated-with-instances",
                "Inventory Terminated with Instances",
                (
                    *_INVENTORY,
                    _req("ReferencedSOPClassUID"),
                    _req("ReferencedSOPInstanceUID"),
                    _cond("RetrieveAETitle", "or Retrieve URL"),
                    _cond("RetrieveURL", "or Retrieve AE Title"),
                    _opt("FileAccessURI"),
                    _cond("StoredInstanceBaseURI", _IF_CONTAINER),
                    _cond("ContainerFileType", _IF_CONTAINER),
                    _cond("FilenameInContainer", _IF_CONTAINER),
                    _cond("FileOffsetInContainer", _IF_CONTAINER),
                    _cond("FileLengthInContainer", _IF_CONTAINER),
                    _cond("StoredInstanceTransferSyntaxUID", _IF_CONTAINER),
                    _opt("MACAlgorithm"),
                    _opt("MAC"),
                    _opt("ExpirationDateTime"),
                    _req("TotalNumberOfStudyRecords"),
                ),
                one_of=(("RetrieveAETitle", "RetrieveURL"),),
            ),
            Event(
                12,
                "status",
                "Inventory Status",
                (*_INVENTORY, _req("TotalNumberOfStudyRecords")),
            ),
            Event(
                13,
                "terminated-without-instances",
                "Inventory Terminated without Instances",
                _INVENTORY,
            ),
        ),
        # KK.2.3.2: the well-known Storage Management SOP Instance (KK.1.3.2).
        instance="1.2.840.10008.5.1.4.1.1.201.1.1",
    ),
    SopClass(
        "1.2.840.10008.3.1.2.1.1",
        "detached-patient",
        "Detached Patient Management SOP Class (Retired)",
        retired=True,
    ),
    SopClass(
        "1.2.840.10008.3.1.2.2.1",
        "detached-visit",
        "Detached Visit Management SOP Class (Retired)",
        retired=True,
    ),
    SopClass(
        "1.2.840.10008.3.1.2.3.1",
        "detached-study",
        "Detached Study Management SOP Class (Retired)",
        retired=True,
    ),
    SopClass(
        "1.2.840.10008.3.1.2.5.1",
        "detached-results",
        "Detached Results Management SOP Class (Retired)",
        retired=True,
    ),
    SopClass(
        "1.2.840.10008.3.1.2.6.1",
        "detached-interpretation",
        "Detached Interpretation Management SOP Class (Retired)",
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
    ``StorageCommitmentPushModel`` all give ``1.2.840.10008.1.20.1``. An
    unknown name raises ValueError with the closest names and keywords.
    """
    key = text.strip()
    if key.lower() in _BY_NAME:
        return _BY_NAME[key.lower()].uid
    if key[:1].isdigit():
        return check_uid(key, "SOP class UID")
    table = _pydicom_sop_classes()
    keywords = []
    for uid, (name, kind, _info, _retired, keyword) in (table or {}).items():
        if "SOP Class" in kind:
            if key in (keyword, name):
                return uid
            keywords.append(keyword)
    unknown = (
        ""
        if table is not None
        else " (this pydicom keeps its UID dictionary elsewhere than pydicom 3.0 did, so "
        "its SOP class keywords are unknown)"
    )
    close = close_names(key, [*_BY_NAME, *keywords])
    if close:
        raise ValueError(f"unknown SOP class {text!r}{did_you_mean(close)}{unknown}")
    names = ", ".join(class_names())
    if table is None:
        raise ValueError(f"unknown SOP class {text!r}: give a UID or one of {names}{unknown}")
    raise ValueError(
        f"unknown SOP class {text!r}: give a UID, a pydicom keyword, or one of {names}"
    )


def _pydicom_sop_classes() -> dict[str, tuple[str, str, str, str, str]] | None:
    """pydicom's table of PS3.6 UIDs (UID -> name, type, info, retired, keyword), or None.

    pydicom has no public way to find a UID by its keyword; its own ``UID.keyword``
    and ``UID.name`` read this generated table, ``pydicom._uid_dict``, unchanged in
    place since pydicom 1.0. pydicom is not pinned for it: should a later release
    move it, a SOP class is still given by UID or by the catalog's names, and a
    keyword is refused with the reason, rather than every command failing.
    """
    try:
        from pydicom._uid_dict import UID_dictionary
    except ImportError:
        return None
    return UID_dictionary


def resolve_event(class_uid: str, text: str) -> int:
    """Resolve an Event Type ID given as a number or as an event name of the class."""
    key = text.strip().lower()
    if key.isdigit():
        value = int(key)
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"event type {text!r} is out of range 0-65535")
        return value
    events = entry.events if (entry := by_uid(class_uid)) else ()
    event = next((e for e in events if e.name == key), None)
    if event is None:
        known = ", ".join(f"{e.id}={e.name}" for e in events) or "no event names known"
        hint = did_you_mean(close_names(key, [e.name for e in events]))
        raise ValueError(
            f"unknown event {text!r} for this SOP class{hint} ({known}); give a number"
        )
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


# The N-ACTION Action Types of the classes listen serves, (class UID, id) -> standard name:
# storage commitment has one (PS3.4 J.3.2, Table J.3-1); UPS Watch's subscription actions
# name UPS Push as their Requested SOP Class (PS3.4 CC.2.3.1, CC.3.1).
ACTIONS: dict[tuple[str, int], str] = {
    (STORAGE_COMMITMENT, 1): "Request Storage Commitment",
    ("1.2.840.10008.5.1.4.34.6.1", 3): "Subscribe to Receive UPS Event Reports",
    ("1.2.840.10008.5.1.4.34.6.1", 4): "Unsubscribe from Receiving UPS Event Reports",
    ("1.2.840.10008.5.1.4.34.6.1", 5): "Suspend Global Subscription",
}


def describe_action(class_uid: str, action_type_id: int | None) -> str | None:
    """The standard name of an Action Type of a class, None if the standard defines none:
    an action is never given an event's name (the ids overlap, the meanings do not)."""
    if action_type_id is None:
        return None
    return ACTIONS.get((class_uid, action_type_id))


def event_names(class_text: str) -> list[str]:
    """Event names of a class given by CLI name or UID, for shell completion.

    Resolves without pydicom (completion runs on every key press); a class
    given by pydicom keyword completes no event names.
    """
    key = class_text.strip()
    entry = _BY_NAME.get(key.lower()) or by_uid(key)
    return [e.name for e in entry.events] if entry else []


def default_instance(class_uid: str) -> str | None:
    """The well-known SOP instance of a class, the default ``--instance``."""
    entry = by_uid(class_uid)
    return entry.instance if entry else None


def default_context(class_uid: str) -> str | None:
    """The abstract syntax a report of this class travels under, None for the class itself."""
    entry = by_uid(class_uid)
    return entry.contexts[0] if entry and entry.contexts else None


def resolve_failure_reason(text: str) -> int:
    """A Failure Reason as hex (``0x0112``), decimal (``274``) or a name of FAILURE_REASONS.

    Codes the standard does not define are accepted (a test may want one);
    validation warns about them.
    """
    by_name = {name: code for code, (name, _) in FAILURE_REASONS.items()}
    return parse_code(text, by_name, "failure reason")


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


# The result of a presentation context an acceptor did not accept, PS3.8 9.3.3.2.
CONTEXT_RESULTS = {
    1: "user rejection",
    2: "no reason",
    3: "abstract syntax not supported",
    4: "transfer syntaxes not supported",
}

# What (source, reason) of an A-ASSOCIATE-RJ means, PS3.8 9.3.4.
REJECT_REASONS = {
    (1, 1): "no reason given",
    (1, 2): "application context name not supported",
    (1, 3): "calling AE title not recognized",
    (1, 7): "called AE title not recognized",
    (2, 1): "no reason given",
    (2, 2): "protocol version not supported",
    (3, 1): "temporary congestion",
    (3, 2): "local limit exceeded",
}
REJECT_SOURCES = {
    1: "service user",
    2: "service provider (ACSE)",
    3: "service provider (presentation)",
}

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
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        result, source, reason = (int(p) for p in parts)
        if result in (1, 2) and (source, reason) in REJECT_REASONS:
            return result, source, reason
    names = ", ".join(REJECTIONS)
    raise ValueError(
        f"unknown rejection {text!r}: use one of {names} or RESULT/SOURCE/REASON "
        "(PS3.8 9.3.4), e.g. 1/1/3"
    )
