"""Findings: where a report departs from the standard, and what the standard answers.

The catalog says what each event of each SOP class must and may carry; this
module compares a dataset with it and says, in one line per finding, what is
missing, what belongs to another event of the class, which values are not
among those the standard defines, and which values are invalid for their VR.
``send-report`` warns with these (``--strict`` refuses to send) and ``listen``
shows them for every report it receives.

A received report is also checked as a command (:func:`report_findings`): its
class, instance, event and the presentation context it came on. Those rules
decide ``listen``'s default answer (:func:`standard_status`), so that a peer
hears from dcmreport what a receiver following PS3.7 would tell it. Classes
the catalog does not know (private, storage, unknown UIDs) are accepted: only
the rules that need no catalog apply to them. Pure functions, no I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator

from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag

from dcmreport.dicom import catalog
from dcmreport.dicom.dataset import value_problem
from dcmreport.dicom.records import Finding, ReceivedReport, ResponseStatus

_NOT_CHECKED_VRS = {"SQ", "OB", "OD", "OF", "OL", "OV", "OW", "UN"}

# Classes that exist but have no N-EVENT-REPORT at all (PS3.4 A: Verification is C-ECHO only).
NOT_REPORT_CLASSES = {catalog.VERIFICATION: "Verification SOP Class"}

# The answer PS3.7 10.1.1.1.8 gives to each rule on the command, in priority order:
# the operation itself, then the class, the instance and the event, the order in
# which a receiver can tell them apart. Error Comments are fixed texts (LO, at most
# 64 characters) and never quote the report: they reach the peer and its logs.
#   not-a-report-class 0211 "the operation is not one of those agreed between the
#       DIMSE Service Users": no SOP class that could be agreed has this operation.
#   context-mismatch   0212 "one of the parameters supplied has not been agreed for
#       use on the Association": the Affected SOP Class UID was not negotiated on the
#       context. Not 0118 No such SOP Class ("the SOP Class was not recognized"): the
#       class may well be known, and a known class is no better on a context that
#       was agreed for another.
#   invalid-uid        0117 "the SOP Instance UID specified implied a violation of the
#       UID construction rules" (for a malformed Affected SOP Class UID as well).
#   wrong-instance     0112 "the SOP Instance was not recognized": the class has one
#       well-known instance and this is not it.
#   unknown-event      0113 "the event type specified was not recognized".
# Strictly, PS3.7 Annex C lists Error Comment among the optional fields of 0110
# only (for 0112 it lists the Affected SOP Instance UID, for 0113 the Affected SOP
# Class UID and Event Type ID). The comment is given all the same because it tells
# the person reading the peer's log why; a sender that must please a validator
# that strict can leave it out.
STANDARD_ANSWERS: dict[str, ResponseStatus] = {
    # A request without its mandatory Message ID or Event Type ID (PS3.7 10.3.1): no status
    # names that case; a failure answers it rather than leaving the peer to time out.
    "missing-message-id": ResponseStatus(0x0110, "the request has no Message ID"),
    "missing-event-type": ResponseStatus(0x0113, "the request has no Event Type ID"),
    "not-a-report-class": ResponseStatus(0x0211, "the SOP Class has no N-EVENT-REPORT"),
    "context-mismatch": ResponseStatus(0x0212, "SOP Class not agreed on this presentation context"),
    "invalid-uid": ResponseStatus(0x0117, "Affected SOP Instance/Class UID violates UID rules"),
    "wrong-instance": ResponseStatus(0x0112, "not the well-known SOP Instance of the class"),
    "unknown-event": ResponseStatus(0x0113, "Event Type ID not defined for the SOP Class"),
}


def report_findings(report: ReceivedReport) -> list[Finding]:
    """Everything about a received report the standard disagrees with.

    The rules on the command first (its class, the context it came on, its
    UIDs, the well-known instance), then the findings on its Event
    Information (:func:`findings`), which also hold ``unknown-event``.
    """
    return [
        *_missing_elements(report),
        *_not_a_report_class(report.sop_class_uid),
        *_context_mismatch(report),
        *_invalid_uids(report),
        *_wrong_instance(report),
        *findings(report.sop_class_uid, report.event_type_id, report.dataset),
    ]


def standard_status(found: Iterable[Finding]) -> ResponseStatus | None:
    """The status PS3.7 answers for the first decisive finding, None when none decides.

    Decisive are the rules of :data:`STANDARD_ANSWERS`, taken in its order.
    Findings on the Event Information alone (missing, empty, other-event,
    undefined or invalid values, unexpected) leave the answer alone: PS3.4
    puts those requirements on the report's sender, and a failure would not
    make it send a better one (no class obliges it to retry) but could make it
    drop a result the receiver can still use, such as which instances a
    storage commitment covers. They are shown to the user instead.
    """
    kinds = {finding.kind for finding in found}
    return next((answer for kind, answer in STANDARD_ANSWERS.items() if kind in kinds), None)


def _missing_elements(report: ReceivedReport) -> list[Finding]:
    """Mandatory command elements the request left out (an absent UID is ``invalid-uid``)."""
    missing = []
    if report.message_id is None:
        missing.append(Finding("missing-message-id", "MessageID", "the request has no Message ID"))
    if report.event_type_id is None:
        missing.append(
            Finding("missing-event-type", "EventTypeID", "the request has no Event Type ID")
        )
    return missing


def _not_a_report_class(class_uid: str) -> list[Finding]:
    title = NOT_REPORT_CLASSES.get(class_uid)
    if title is None:
        return []
    return [Finding("not-a-report-class", "", f"the {title} ({class_uid}) has no N-EVENT-REPORT")]


def _context_mismatch(report: ReceivedReport) -> list[Finding]:
    """The Affected SOP Class UID is neither the context's abstract syntax nor carried by it.

    The standard's exceptions are the catalog's ``contexts``: UPS Push on UPS
    Event (PS3.4 CC.3.1), Printer on the Print Management meta classes
    (H.3.2.2). Print Job is accepted there too, as ``send-report`` sends it,
    although H.3.3 makes it an optional class negotiated by itself next to
    them. An unknown context ('') is no mismatch.
    """
    context, class_uid = report.context_class_uid, report.sop_class_uid
    entry = catalog.by_uid(class_uid)
    allowed = (class_uid, *(entry.contexts if entry else ()))
    if not context or context in allowed:
        return []
    return [
        Finding(
            "context-mismatch",
            "AffectedSOPClassUID",
            f"Affected SOP Class UID {class_uid!r} came on presentation context "
            f"{report.context_id}, negotiated for {context!r}, which does not carry it",
        )
    ]


def _invalid_uids(report: ReceivedReport) -> Iterator[Finding]:
    """UIDs of the command that break PS3.5 9.1 (digits and dots, no leading zeros, <= 64)."""
    for keyword, what, uid in (
        ("AffectedSOPClassUID", "Affected SOP Class UID", report.sop_class_uid),
        ("AffectedSOPInstanceUID", "Affected SOP Instance UID", report.sop_instance_uid),
    ):
        try:
            catalog.check_uid(uid, what)
        except ValueError as error:
            yield Finding("invalid-uid", keyword, str(error))


def _wrong_instance(report: ReceivedReport) -> list[Finding]:
    """The class has one well-known SOP instance and the report names another."""
    expected = catalog.default_instance(report.sop_class_uid)
    if expected is None or report.sop_instance_uid == expected:
        return []
    return [
        Finding(
            "wrong-instance",
            "AffectedSOPInstanceUID",
            f"Affected SOP Instance UID {report.sop_instance_uid!r} is not the well-known "
            f"instance of the {catalog.describe_class(report.sop_class_uid)}, {expected}",
        )
    ]


def findings(
    sop_class_uid: str, event_type_id: int | None, dataset: Dataset | None
) -> list[Finding]:
    """Everything about this report's Event Information the standard disagrees with.

    Values are checked against their VR for any class; the content of the
    Event Information only for classes and events the catalog describes.
    """
    ds = dataset if dataset is not None else Dataset()
    return [*_content(sop_class_uid, event_type_id, ds), *_invalid_values(ds, "")]


def event_definition(sop_class_uid: str, event_type_id: int) -> tuple[str, frozenset[str]] | None:
    """An event the catalog defines: its label and the keywords of its Event Information's
    top level (none, for an event the standard gives none); None for any other event."""
    entry = catalog.by_uid(sop_class_uid)
    event = entry.event(event_type_id) if entry is not None else None
    if entry is None or event is None:
        return None
    label = f"{entry.name} event {event.id} ({event.name})"
    return label, frozenset(attr.keyword for attr in event.attributes)


def _content(sop_class_uid: str, event_type_id: int | None, ds: Dataset) -> list[Finding]:
    entry = catalog.by_uid(sop_class_uid)
    if entry is None or not entry.events or event_type_id is None:
        return []
    event = entry.event(event_type_id)
    if event is None:
        known = ", ".join(f"{e.id} {e.name}" for e in entry.events)
        return [
            Finding(
                "unknown-event",
                "",
                f"event type {event_type_id} is not defined for the {entry.title} ({known})",
            )
        ]
    label = f"event {event.id} ({event.name})"
    if not event.attributes:
        return _unexpected(ds, label)
    return [
        *_attributes(event.attributes, ds, "", label),
        *_one_of(event, ds, label),
        *_other_events(entry, event, ds, label),
    ]


def _unexpected(ds: Dataset, label: str) -> list[Finding]:
    """The standard defines no Event Information for this event, yet there is some."""
    if len(ds) == 0:
        return []
    names = ", ".join(elem.keyword or str(elem.tag) for elem in ds)
    return [
        Finding(
            "unexpected",
            "",
            f"the standard defines no Event Information for {label}; it carries {names}",
        )
    ]


def _is_empty(elem: DataElement) -> bool:
    return elem.value is None or elem.value == "" or (elem.VR == "SQ" and len(elem.value) == 0)


def _attributes(
    attributes: tuple[catalog.Attribute, ...], ds: Dataset, prefix: str, label: str
) -> Iterator[Finding]:
    """Required attributes present and not empty, defined values only, items recursively."""
    for attr in attributes:
        path = f"{prefix}{attr.keyword}"
        elem = ds.get(_tag(attr.keyword))
        if elem is None:
            if attr.required:
                yield Finding("missing", path, f"{path} is required for {label} but absent")
            continue
        if attr.required and _is_empty(elem):
            yield Finding("empty", path, f"{path} is required for {label} but empty")
        if attr.values:
            yield from _undefined_values(attr, elem, path)
        if attr.items and elem.VR == "SQ":
            for index, item in enumerate(elem.value):
                yield from _attributes(attr.items, item, f"{path}[{index}].", label)


def _shown(value: object) -> str:
    return f"0x{value:04X}" if isinstance(value, int) else repr(value)


def _undefined_values(attr: catalog.Attribute, elem: DataElement, path: str) -> Iterator[Finding]:
    allowed = ", ".join(_shown(v) for v in attr.values)
    for value in _values(elem):
        if value not in attr.values:
            yield Finding(
                "undefined-value",
                path,
                f"{path} {_shown(value)} is not a value the standard defines ({allowed})",
            )


@functools.cache
def _tag(keyword: str) -> BaseTag:
    """The tag of a keyword, looked up once: a keyword lookup per item of a 100,000-item
    sequence cost more than the rest of its checks."""
    return Tag(keyword)


def _values(elem: DataElement) -> list[object]:
    value = elem.value
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, MultiValue | list) else [value]


def _one_of(event: catalog.Event, ds: Dataset, label: str) -> Iterator[Finding]:
    for group in event.one_of:
        if not any(keyword in ds for keyword in group):
            yield Finding(
                "missing", "", f"{label} needs at least one of {' or '.join(group)}, has neither"
            )


def _other_events(
    entry: catalog.SopClass, event: catalog.Event, ds: Dataset, label: str
) -> Iterator[Finding]:
    """Top-level attributes that the standard gives to another event of the class only."""
    own = {attr.keyword for attr in event.attributes}
    for other in entry.events:
        if other.id == event.id:
            continue
        for attr in other.attributes:
            if attr.keyword in ds and attr.keyword not in own:
                own.add(attr.keyword)  # report each attribute once
                yield Finding(
                    "other-event",
                    attr.keyword,
                    f"{attr.keyword} belongs to event {other.id} ({other.name}), not to {label}",
                )


def _invalid_values(ds: Dataset, prefix: str) -> Iterator[Finding]:
    """Values that are not valid for their VR, at any depth."""
    for elem in ds:
        if elem.VR == "SQ":
            path = f"{prefix}{elem.keyword or str(elem.tag)}"
            for index, item in enumerate(elem.value or ()):
                yield from _invalid_values(item, f"{path}[{index}].")
            continue
        if elem.VR in _NOT_CHECKED_VRS:
            continue
        for value in _values(elem):
            shown = str(value) if elem.VR in ("DS", "IS", "PN") else value
            problem = value_problem(elem.VR, shown)
            if problem:
                path = f"{prefix}{elem.keyword or str(elem.tag)}"  # only when it is shown
                yield Finding(
                    "invalid-value",
                    path,
                    f"{path} {shown!r} is not a valid {elem.VR} value ({problem})",
                )
