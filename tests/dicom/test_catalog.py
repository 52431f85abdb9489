"""The catalog: each entry against pydicom's UID and tag dictionaries; names, defaults, contexts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import cli_env, dcmreport
from pydicom._uid_dict import UID_dictionary
from pydicom.datadict import dictionary_VR, tag_for_keyword

from dcmreport.dicom import catalog

CLASSES = {c.name: c for c in catalog.CATALOG}


def _attributes(attrs: tuple[catalog.Attribute, ...]) -> Iterator[catalog.Attribute]:
    for attr in attrs:
        yield attr
        yield from _attributes(attr.items)


@pytest.mark.parametrize("entry", catalog.CATALOG, ids=lambda c: c.name)
def test_class_uid_and_title_match_pydicom(entry: catalog.SopClass) -> None:
    name, kind, _info, retired, _keyword = UID_dictionary[entry.uid]
    assert kind == "SOP Class"
    assert entry.retired == (retired == "Retired")
    title = entry.title.removesuffix(" (Retired)")
    assert title.removesuffix(" SOP Class") == name.removesuffix(" SOP Class")


@pytest.mark.parametrize("entry", [c for c in catalog.CATALOG if c.instance], ids=lambda c: c.name)
def test_well_known_instance_is_in_pydicom(entry: catalog.SopClass) -> None:
    assert entry.instance is not None
    assert UID_dictionary[entry.instance][1] == "Well-known SOP Instance"
    assert catalog.default_instance(entry.uid) == entry.instance


@pytest.mark.parametrize(
    ("name", "contexts"),
    [
        ("ups-push", ["Unified Procedure Step - Event SOP Class"]),
        (
            "printer",
            [
                "Basic Grayscale Print Management Meta SOP Class",
                "Basic Color Print Management Meta SOP Class",
            ],
        ),
        (
            "print-job",
            [
                "Basic Grayscale Print Management Meta SOP Class",
                "Basic Color Print Management Meta SOP Class",
            ],
        ),
    ],
)
def test_contexts(name: str, contexts: list[str]) -> None:
    entry = CLASSES[name]
    assert [UID_dictionary[uid][0] for uid in entry.contexts] == contexts
    assert catalog.default_context(entry.uid) == entry.contexts[0]


def test_other_classes_travel_on_their_own_context() -> None:
    others = [c for c in catalog.CATALOG if c.name not in ("ups-push", "printer", "print-job")]
    assert all(catalog.default_context(c.uid) is None for c in others)


@pytest.mark.parametrize("entry", catalog.CATALOG, ids=lambda c: c.name)
def test_events_are_unique_and_attributes_are_dictionary_keywords(entry: catalog.SopClass) -> None:
    assert len({e.id for e in entry.events}) == len(entry.events)
    assert len({e.name for e in entry.events}) == len(entry.events)
    for event in entry.events:
        for attr in _attributes(event.attributes):
            tag = tag_for_keyword(attr.keyword)
            assert tag is not None, attr.keyword
            vr = dictionary_VR(tag)
            assert bool(attr.items) <= (vr == "SQ"), attr.keyword
            expected = int if vr in ("US", "UL", "SS", "SL") else str
            assert all(isinstance(v, expected) for v in attr.values), attr.keyword
        for group in event.one_of:
            assert set(group) <= {a.keyword for a in event.attributes}


# What PS3.4 says each event must carry (the SCP's Type 1 / M attributes, top level).
REQUIRED = [
    ("storage-commitment", 1, ["TransactionUID", "ReferencedSOPSequence"]),
    ("storage-commitment", 2, ["TransactionUID", "FailedSOPSequence"]),
    ("mpps-notification", 1, []),
    ("mpps-notification", 5, []),
    ("printer", 1, []),
    ("printer", 3, ["PrinterStatusInfo"]),
    ("print-job", 4, ["ExecutionStatusInfo"]),
    ("ups-push", 1, ["ProcedureStepState", "InputReadinessState"]),
    ("ups-push", 2, ["RequestingAE"]),
    ("ups-push", 3, ["ProcedureStepProgressInformationSequence"]),
    ("ups-push", 4, ["SCPStatus", "SubscriptionListStatus", "UnifiedProcedureStepListStatus"]),
    ("ups-push", 5, []),
    ("rt-machine-verification", 2, ["TreatmentVerificationStatus"]),
    ("rt-ion-machine-verification", 1, []),
    (
        "inventory-creation",
        11,
        [
            "TransactionUID",
            "TransactionStatus",
            "ReferencedSOPClassUID",
            "ReferencedSOPInstanceUID",
            "TotalNumberOfStudyRecords",
        ],
    ),
    (
        "inventory-creation",
        12,
        ["TransactionUID", "TransactionStatus", "TotalNumberOfStudyRecords"],
    ),
    ("inventory-creation", 13, ["TransactionUID", "TransactionStatus"]),
]


@pytest.mark.parametrize(("name", "event_id", "required"), REQUIRED)
def test_required_attributes(name: str, event_id: int, required: list[str]) -> None:
    event = CLASSES[name].event(event_id)
    assert event is not None
    assert [a.keyword for a in event.attributes if a.required] == required


def test_failure_reasons_are_the_defined_codes() -> None:
    assert sorted(catalog.FAILURE_REASONS) == [0x0110, 0x0112, 0x0119, 0x0122, 0x0131, 0x0213]
    event = CLASSES["storage-commitment"].event(2)
    assert event is not None
    failed = next(a for a in event.attributes if a.keyword == "FailedSOPSequence")
    reason = next(a for a in failed.items if a.keyword == "FailureReason")
    assert sorted(reason.values) == sorted(catalog.FAILURE_REASONS)


@pytest.mark.parametrize(
    ("text", "uid"),
    [
        ("storage-commitment", "1.2.840.10008.1.20.1"),
        ("STGCMT", "1.2.840.10008.1.20.1"),
        ("StorageCommitmentPushModel", "1.2.840.10008.1.20.1"),
        ("1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1"),
        ("mpps", "1.2.840.10008.3.1.2.3.5"),
        ("ups", "1.2.840.10008.5.1.4.34.6.1"),
        ("SecondaryCaptureImageStorage", "1.2.840.10008.5.1.4.1.1.7"),
        ("1.2.3.4.5", "1.2.3.4.5"),
    ],
)
def test_resolve_class(text: str, uid: str) -> None:
    assert catalog.resolve_class(text) == uid


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nonsense", "unknown SOP class 'nonsense': give a UID"),
        ("1.2.03", "is not a UID"),
        ("storage-comit", "^unknown SOP class 'storage-comit'; did you mean storage-commitment,"),
        ("MPPS-notify", "did you mean mpps-notification?"),
        ("SecondaryCaptureImageStorag", "did you mean SecondaryCaptureImageStorage,"),
    ],
)
def test_resolve_class_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        catalog.resolve_class(text)


@pytest.mark.parametrize(
    ("name", "text", "event_id"),
    [
        ("storage-commitment", "failures", 2),
        ("storage-commitment", "1", 1),
        ("ups-push", "state-report", 1),
        ("ups-push", "ASSIGNED", 5),
        ("inventory-creation", "status", 12),
        ("detached-study", "3", 3),
    ],
)
def test_resolve_event(name: str, text: str, event_id: int) -> None:
    assert catalog.resolve_event(CLASSES[name].uid, text) == event_id


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("storage-commitment", "done", r"unknown event 'done' .*\(1=success, 2=failures\)"),
        (
            "storage-commitment",
            "failure",
            r"^unknown event 'failure' for this SOP class; did you mean failures\? \(1=success",
        ),
        ("ups-push", "asigned", "did you mean assigned?"),
        ("detached-study", "created", "no event names known"),
        ("printer", "70000", "out of range"),
    ],
)
def test_resolve_event_errors(name: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        catalog.resolve_event(CLASSES[name].uid, text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0x0112", 0x0112),
        ("274", 0x0112),
        ("no-such-object-instance", 0x0112),
        ("Resource-Limitation", 0x0213),
        ("0xA700", 0xA700),
    ],
)
def test_resolve_failure_reason(text: str, code: int) -> None:
    assert catalog.resolve_failure_reason(text) == code


@pytest.mark.parametrize(
    ("text", "message"), [("nope", "unknown failure reason"), ("0x10000", "out of range")]
)
def test_resolve_failure_reason_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        catalog.resolve_failure_reason(text)


def test_event_names_for_completion() -> None:
    assert catalog.event_names("storage-commitment") == ["success", "failures"]
    assert catalog.event_names("1.2.840.10008.1.20.1") == ["success", "failures"]
    assert catalog.event_names("detached-patient") == []
    assert catalog.event_names("SecondaryCaptureImageStorage") == []


def _complete(line: str) -> list[str]:
    words = line.split(" ")
    env = {
        **cli_env(),
        "_DCMREPORT_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1),
    }
    return dcmreport(env=env).stdout.split()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "dcmreport send-report --class ups-push --event ",
            [
                "state-report",
                "cancel-requested",
                "progress-report",
                "scp-status-change",
                "assigned",
            ],
        ),
        ("dcmreport send-report --class storage-commitment --event f", ["failures"]),
        ("dcmreport send-report --commit a.dcm --event s", ["success"]),
        ("dcmreport send-report --class st", ["storage-commitment", "storage-commitment-pull"]),
    ],
)
def test_shell_completion(line: str, expected: list[str]) -> None:
    assert _complete(line) == expected


def test_ups_report_travels_on_the_ups_event_context(listen: Any) -> None:
    """UPS Push as Affected SOP Class, negotiated under UPS Event (PS3.4 CC.3.1)."""
    listener = listen("--count", "1")
    run = dcmreport(
        "send-report",
        f"127.0.0.1:{listener.port}",
        "--class",
        "ups-push",
        "--event",
        "state-report",
        "--instance",
        "1.2.3.4",
        "ProcedureStepState=COMPLETED",
        "InputReadinessState=READY",
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stderr
    assert listener.finish(sig=None) == 0
    (record,) = listener.json_lines()
    assert record["sop_class_uid"] == "1.2.840.10008.5.1.4.34.6.1"
    assert record["event_name"] == "UPS State Report"
    context = next(c for c in record["association"]["contexts"] if c["id"] == record["context_id"])
    assert context["abstract_syntax"] == "1.2.840.10008.5.1.4.34.6.4"


def test_context_class_overrides(listen: Any) -> None:
    listener = listen("--count", "1")
    run = dcmreport(
        "send-report",
        f"127.0.0.1:{listener.port}",
        "--class",
        "printer",
        "--event",
        "normal",
        "--context-class",
        "BasicColorPrintManagementMeta",
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stderr
    assert listener.finish(sig=None) == 0
    (record,) = listener.json_lines()
    assert record["sop_instance_uid"] == "1.2.840.10008.5.1.1.17"  # the default --instance
    context = next(c for c in record["association"]["contexts"] if c["id"] == record["context_id"])
    assert context["abstract_syntax"] == "1.2.840.10008.5.1.1.18"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calling-aet", (1, 1, 3)),
        ("limit", (2, 3, 2)),
        ("1/1/7", (1, 1, 7)),
        ("2/2/2", (2, 2, 2)),
        ("1/3/7", None),
        ("3/1/1", None),
        ("1/1", None),
        ("nope", None),
    ],
)
def test_resolve_rejection(text: str, expected: tuple[int, int, int] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="RESULT/SOURCE/REASON"):
            catalog.resolve_rejection(text)
    else:
        assert catalog.resolve_rejection(text) == expected


def test_without_pydicoms_uid_table_a_keyword_is_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As if a pydicom release moved ``pydicom._uid_dict``: names and UIDs still resolve."""
    monkeypatch.setitem(sys.modules, "pydicom._uid_dict", None)  # its import fails
    assert catalog.resolve_class("storage-commitment") == "1.2.840.10008.1.20.1"
    assert catalog.resolve_class("1.2.840.10008.1.20.1") == "1.2.840.10008.1.20.1"
    for keyword in ("StorageCommitmentPushModel", "CTImageStorage"):  # near a name, or not
        with pytest.raises(ValueError, match="keeps its UID dictionary elsewhere"):
            catalog.resolve_class(keyword)
