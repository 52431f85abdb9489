"""Validation findings: each kind, a clean report of every cataloged event, and the CLI's use."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import dcmreport, unused_port
from pydicom import Dataset
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence

from dcmreport import catalog, dataset, validate

SC = "1.2.840.10008.1.20.1"
MPPS = "1.2.840.10008.3.1.2.3.5"
UPS = "1.2.840.10008.5.1.4.34.6.1"
INVENTORY = "1.2.840.10008.5.1.4.1.1.201.5"
PRINTER = "1.2.840.10008.5.1.1.16"
REF = ["ReferencedSOPClassUID=1.2.840.10008.5.1.4.1.1.7", "ReferencedSOPInstanceUID=1.2.3.4"]


def ds_of(*assignments: str) -> Dataset:
    return dataset.apply_assignments(Dataset(), assignments)


def seq(name: str, index: int, assignments: list[str]) -> list[str]:
    return [f"{name}[{index}].{a}" for a in assignments]


FINDINGS = [
    # storage commitment event 2 without Failed SOP Sequence (the example)
    (
        SC,
        2,
        ["TransactionUID=1.2.3", *seq("ReferencedSOPSequence", 0, REF)],
        [("missing", "FailedSOPSequence is required for event 2 (failures) but absent")],
    ),
    # a Failure Reason that is not a defined code
    (
        SC,
        2,
        ["TransactionUID=1.2.3", *seq("FailedSOPSequence", 0, [*REF, "FailureReason=0x0120"])],
        [
            (
                "undefined-value",
                "FailedSOPSequence[0].FailureReason 0x0120 is not a value the "
                "standard defines (0x0110, 0x0112, 0x0213, 0x0122, 0x0119, 0x0131)",
            )
        ],
    ),
    # attributes of another event
    (
        SC,
        1,
        [
            "TransactionUID=1.2.3",
            *seq("ReferencedSOPSequence", 0, REF),
            *seq("FailedSOPSequence", 0, [*REF, "FailureReason=0x0110"]),
        ],
        [
            (
                "other-event",
                "FailedSOPSequence belongs to event 2 (failures), not to event 1 (success)",
            )
        ],
    ),
    # missing nested attribute, required but empty
    (
        SC,
        1,
        ["TransactionUID=", "ReferencedSOPSequence[0].ReferencedSOPClassUID=1.2"],
        [
            ("empty", "TransactionUID is required for event 1 (success) but empty"),
            (
                "missing",
                "ReferencedSOPSequence[0].ReferencedSOPInstanceUID is required for event 1 "
                "(success) but absent",
            ),
        ],
    ),
    (
        SC,
        1,
        ["TransactionUID=1.2.3", "ReferencedSOPSequence="],
        [("empty", "ReferencedSOPSequence is required for event 1 (success) but empty")],
    ),
    (
        SC,
        7,
        [],
        [
            (
                "unknown-event",
                "event type 7 is not defined for the Storage Commitment Push "
                "Model SOP Class (1 success, 2 failures)",
            )
        ],
    ),
    (
        MPPS,
        2,
        ["PatientID=1"],
        [
            (
                "unexpected",
                "the standard defines no Event Information for event 2 (completed); "
                "it carries PatientID",
            )
        ],
    ),
    (
        UPS,
        1,
        ["ProcedureStepState=STARTED"],
        [
            (
                "undefined-value",
                "ProcedureStepState 'STARTED' is not a value the standard defines "
                "('SCHEDULED', 'IN PROGRESS', 'CANCELED', 'COMPLETED')",
            ),
            ("missing", "InputReadinessState is required for event 1 (state-report) but absent"),
        ],
    ),
    (
        UPS,
        2,
        ["RequestingAE=SCU", "ProcedureStepState=COMPLETED"],
        [
            (
                "other-event",
                "ProcedureStepState belongs to event 1 (state-report), not to event 2 "
                "(cancel-requested)",
            )
        ],
    ),
    (
        INVENTORY,
        11,
        ["TransactionUID=1.2", "TransactionStatus=COMPLETE", "TotalNumberOfStudyRecords=3", *REF],
        [
            (
                "missing",
                "event 11 (terminated-with-instances) needs at least one of RetrieveAETitle "
                "or RetrieveURL, has neither",
            )
        ],
    ),
    (
        PRINTER,
        3,
        [],
        [("missing", "PrinterStatusInfo is required for event 3 (failure) but absent")],
    ),
    # clean reports
    (
        SC,
        2,
        ["TransactionUID=1.2.3", *seq("FailedSOPSequence", 0, [*REF, "FailureReason=274"])],
        [],
    ),
    (MPPS, 1, [], []),
    # classes the catalog knows no content of: values are still checked
    ("1.2.840.10008.5.1.4.1.1.7", 1, ["PatientID=ID"], []),
]


@pytest.mark.parametrize(("class_uid", "event_id", "assignments", "expected"), FINDINGS)
def test_findings(
    class_uid: str, event_id: int, assignments: list[str], expected: list[tuple[str, str]]
) -> None:
    found = validate.findings(class_uid, event_id, ds_of(*assignments))
    assert [(f.kind, f.message) for f in found] == expected


@pytest.mark.filterwarnings("ignore:Invalid value for VR")
def test_invalid_values_in_received_data_at_any_depth() -> None:
    """Received datasets are not checked on the way in: validation reports bad values."""
    item = Dataset()
    item.add(DataElement(0x00081150, "UI", "1.2.03"))
    item.add(DataElement(0x00081155, "UI", "1.2.3"))
    item.add(DataElement(0x00081197, "US", 0x0110))
    ds = Dataset()
    ds.add(DataElement(0x00081195, "UI", "1.2.3"))
    ds.add(DataElement(0x00080020, "DA", "2024-01-01"))
    ds.add(DataElement(0x00081198, "SQ", Sequence([item])))
    assert validate.finding_texts(SC, 2, ds) == (
        "StudyDate '2024-01-01' is not a valid DA value (a date YYYYMMDD)",
        "FailedSOPSequence[0].ReferencedSOPClassUID '1.2.03' is not a valid UI value (a UID: "
        "digits and dots, no leading zeros, at most 64 characters)",
    )


def test_no_dataset_and_no_event() -> None:
    assert validate.findings(SC, None, None) == []
    assert [f.kind for f in validate.findings(SC, 1, None)] == ["missing", "missing"]


_SAMPLE = {
    "UI": "1.2.3",
    "AE": "AE",
    "CS": "X",
    "UR": "http://x",
    "DS": "1",
    "US": "1",
    "UV": "1",
    "LO": "x",
    "LT": "x",
    "ST": "x",
    "SH": "x",
    "DT": "20240101",
    "OB": "",
}


def _minimal(attrs: tuple[catalog.Attribute, ...], prefix: str = "") -> list[str]:
    """KEY=VALUE arguments for the required attributes, with values the standard allows."""
    out: list[str] = []
    for attr in attrs:
        if not attr.required:
            continue
        tag = tag_for_keyword(attr.keyword)
        assert tag is not None
        if dictionary_VR(tag) == "SQ":
            out += _minimal(attr.items, f"{prefix}{attr.keyword}[0].") or [
                f"{prefix}{attr.keyword}[0].CodeValue=1"
            ]
        else:
            value = attr.values[0] if attr.values else _SAMPLE[dictionary_VR(tag)]
            out.append(f"{prefix}{attr.keyword}={value}")
    return out


EVENTS = [(c, e) for c in catalog.CATALOG for e in c.events]


@pytest.mark.parametrize(("entry", "event"), EVENTS, ids=lambda x: getattr(x, "name", ""))
def test_every_cataloged_event_has_a_clean_minimal_report(
    entry: catalog.SopClass, event: catalog.Event
) -> None:
    arguments = _minimal(event.attributes)
    arguments += [f"{group[0]}={_SAMPLE['AE']}" for group in event.one_of]
    assert validate.findings(entry.uid, event.id, ds_of(*arguments)) == []


# --- send-report: warnings on stderr, --strict refuses to send -----------------------------

STGCMT_2 = ["--class", "storage-commitment", "--event", "failures", "TransactionUID=1.2.3"]


def test_send_report_warns_and_sends_anyway() -> None:
    run = dcmreport("send-report", f"127.0.0.1:{unused_port()}", *STGCMT_2)
    assert "warning: FailedSOPSequence is required for event 2 (failures) but absent" in (
        " ".join(run.stderr.split())
    )
    assert run.returncode == 3  # it tried to send: nobody listens there


def test_strict_exits_2_before_sending() -> None:
    run = dcmreport("send-report", f"127.0.0.1:{unused_port()}", "--strict", *STGCMT_2)
    assert run.returncode == 2
    assert "--strict: nothing sent, the Event Information has 1 finding(s)" in run.stderr
    assert "cannot connect" not in run.stderr


def test_strict_passes_a_clean_report(listen: Any) -> None:
    listener = listen("--count", "1")
    run = dcmreport(
        "send-report",
        f"127.0.0.1:{listener.port}",
        "--strict",
        "--class",
        "mpps",
        "--event",
        "in-progress",
        "--instance",
        "1.2.3.4",
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stderr
    assert "warning" not in run.stderr
    assert listener.finish(sig=None) == 0
