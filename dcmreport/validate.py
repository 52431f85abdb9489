"""Findings: where a report's Event Information departs from the standard.

The catalog says what each event of each SOP class must and may carry; this
module compares a dataset with it and says, in one line per finding, what is
missing, what belongs to another event of the class, which values are not
among those the standard defines, and which values are invalid for their VR.
``send-report`` warns with these (``--strict`` refuses to send) and ``listen``
shows them for every report it receives. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydicom import Dataset
from pydicom.dataelem import DataElement

from dcmreport import catalog
from dcmreport.dataset import value_problem
from dcmreport.records import Finding

_NOT_CHECKED_VRS = {"SQ", "OB", "OD", "OF", "OL", "OV", "OW", "UN"}


def findings(
    sop_class_uid: str, event_type_id: int | None, dataset: Dataset | None
) -> list[Finding]:
    """Everything about this report's Event Information the standard disagrees with.

    Values are checked against their VR for any class; the content of the
    Event Information only for classes and events the catalog describes.
    """
    ds = dataset if dataset is not None else Dataset()
    return [*_content(sop_class_uid, event_type_id, ds), *_invalid_values(ds, "")]


def finding_texts(
    sop_class_uid: str, event_type_id: int | None, dataset: Dataset | None
) -> tuple[str, ...]:
    """The findings as lines: what a received report's record keeps."""
    return tuple(str(f) for f in findings(sop_class_uid, event_type_id, dataset))


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
        elem = ds.data_element(attr.keyword) if attr.keyword in ds else None
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


def _values(elem: DataElement) -> list[object]:
    if elem.value is None or elem.value == "":
        return []
    return list(elem.value) if elem.VM > 1 else [elem.value]


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
        path = f"{prefix}{elem.keyword or str(elem.tag)}"
        if elem.VR == "SQ":
            for index, item in enumerate(elem.value or ()):
                yield from _invalid_values(item, f"{path}[{index}].")
            continue
        if elem.VR in _NOT_CHECKED_VRS:
            continue
        for value in _values(elem):
            shown = str(value) if elem.VR in ("DS", "IS", "PN") else value
            problem = value_problem(elem.VR, shown)
            if problem:
                yield Finding(
                    "invalid-value",
                    path,
                    f"{path} {shown!r} is not a valid {elem.VR} value ({problem})",
                )
