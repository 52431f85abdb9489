"""Validation findings: each kind, a clean report of every cataloged event, and the CLI's use."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import dcmreport, unused_port
from pydicom import Dataset
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence

from dcmreport.dicom import catalog, dataset, status, validate
from dcmreport.dicom.records import AssociationInfo, ReceivedReport

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
    assert [str(f) for f in validate.findings(SC, 2, ds)] == [
        "StudyDate '2024-01-01' is not a valid DA value (a date YYYYMMDD)",
        "FailedSOPSequence[0].ReferencedSOPClassUID '1.2.03' is not a valid UI value (a UID: "
        "digits and dots, no leading zeros, at most 64 characters)",
    ]


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
    # received as send-report sends it: on its default context, to its default instance
    context = catalog.default_context(entry.uid) or entry.uid
    report = received(entry.uid, entry.instance or INSTANCE, event.id, arguments, context)
    assert validate.report_findings(report) == []


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


# --- a received report: the rules on the command, and the answer the standard gives -------

SC_INSTANCE = "1.2.840.10008.1.20.1.1"
PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"
PRINT_JOB = "1.2.840.10008.5.1.1.14"
GRAYSCALE_META = "1.2.840.10008.5.1.1.9"
COLOR_META = "1.2.840.10008.5.1.1.18"
UPS_EVENT = "1.2.840.10008.5.1.4.34.6.4"
VERIFICATION = "1.2.840.10008.1.1"
SC_IMAGE = "1.2.840.10008.5.1.4.1.1.7"
PRIVATE = "1.2.826.0.1.3680043.8.498.77"
INSTANCE = "1.2.826.0.1.3680043.8.498.1"
COMMITTED = ["TransactionUID=1.2.3", *seq("ReferencedSOPSequence", 0, REF)]
UPS_STATE = ["ProcedureStepState=COMPLETED", "InputReadinessState=READY"]
INVENTORY_DONE = ["TransactionUID=1.2.3", "TransactionStatus=DONE"]
_ASSOCIATION = AssociationInfo("SENDER", "LISTENER", "127.0.0.1:104", 16382, "1.2.3", None)


def received(
    class_uid: str,
    instance_uid: str,
    event_id: int,
    assignments: list[str] | None = None,
    context: str | None = None,
) -> ReceivedReport:
    """A report as the listener records it; ``context`` defaults to the class's own."""
    return ReceivedReport(
        association=_ASSOCIATION,
        context_id=1,
        transfer_syntax="1.2.840.10008.1.2",
        message_id=1,
        sop_class_uid=class_uid,
        sop_instance_uid=instance_uid,
        event_type_id=event_id,
        dataset=ds_of(*(assignments or [])),
        context_class_uid=class_uid if context is None else context,
    )


ACCEPTED = {
    "storage commitment, well-known instance": received(SC, SC_INSTANCE, 1, COMMITTED),
    "UPS Push on UPS Event": received(UPS, INSTANCE, 1, UPS_STATE, UPS_EVENT),
    "UPS Push on its own context": received(UPS, INSTANCE, 1, UPS_STATE),
    "Printer on grayscale meta": received(PRINTER, PRINTER_INSTANCE, 1, [], GRAYSCALE_META),
    "Printer on color meta": received(PRINTER, PRINTER_INSTANCE, 1, [], COLOR_META),
    "Printer on its own context": received(PRINTER, PRINTER_INSTANCE, 1),
    "Print Job on grayscale meta": received(
        PRINT_JOB, INSTANCE, 3, ["ExecutionStatusInfo=NORMAL"], GRAYSCALE_META
    ),
    "Print Job on color meta": received(
        PRINT_JOB, INSTANCE, 3, ["ExecutionStatusInfo=NORMAL"], COLOR_META
    ),
    "MPPS, any instance": received(MPPS, INSTANCE, 2),
    "private class on its own context": received(PRIVATE, INSTANCE, 42, ["PatientID=ID"]),
    "storage class the catalog does not know": received(
        SC_IMAGE, "1.1.1.1.9999.2", 1, ["PatientName=TEST", "PatientID=ID", "PatientSex=M"]
    ),
    "retired class, well-known instance, any event": received(
        "1.2.840.10008.1.20.2", "1.2.840.10008.1.20.2.1", 7
    ),
    "context not known": received(SC, SC_INSTANCE, 1, COMMITTED, context=""),
}


@pytest.mark.parametrize("report", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_report_the_standard_accepts(report: ReceivedReport) -> None:
    assert validate.report_findings(report) == []


CARRIED = [(c, context) for c in catalog.CATALOG for context in c.contexts]


@pytest.mark.parametrize(("entry", "context"), CARRIED, ids=lambda x: getattr(x, "name", x))
def test_every_context_the_catalog_declares_carries_its_class(
    entry: catalog.SopClass, context: str
) -> None:
    report = received(entry.uid, entry.instance or INSTANCE, 1, None, context)
    assert "context-mismatch" not in {f.kind for f in validate.report_findings(report)}


REFUSED = {
    "storage commitment, another instance": (
        received(SC, INSTANCE, 1, COMMITTED),
        [("wrong-instance", "AffectedSOPInstanceUID")],
        0x0112,
    ),
    "printer, another instance": (
        received(PRINTER, INSTANCE, 1, [], GRAYSCALE_META),
        [("wrong-instance", "AffectedSOPInstanceUID")],
        0x0112,
    ),
    "inventory creation, another instance": (
        received(INVENTORY, INSTANCE, 13, INVENTORY_DONE),
        [("wrong-instance", "AffectedSOPInstanceUID")],
        0x0112,
    ),
    "storage commitment event 9": (
        received(SC, SC_INSTANCE, 9),
        [("unknown-event", "")],
        0x0113,
    ),
    "MPPS event 9": (received(MPPS, INSTANCE, 9), [("unknown-event", "")], 0x0113),
    "letters in the instance UID": (
        received(MPPS, "1.2.abc", 1),
        [("invalid-uid", "AffectedSOPInstanceUID")],
        0x0117,
    ),
    "leading zero": (
        received(MPPS, "1.02.3", 1),
        [("invalid-uid", "AffectedSOPInstanceUID")],
        0x0117,
    ),
    "65 characters": (
        received(MPPS, "1." + "2" * 63, 1),
        [("invalid-uid", "AffectedSOPInstanceUID")],
        0x0117,
    ),
    "empty instance UID": (
        received(MPPS, "", 1),
        [("invalid-uid", "AffectedSOPInstanceUID")],
        0x0117,
    ),
    "invalid class UID": (
        received("1.2.abc", INSTANCE, 1),
        [("invalid-uid", "AffectedSOPClassUID")],
        0x0117,
    ),
    "storage commitment on the MPPS context": (
        received(SC, SC_INSTANCE, 1, COMMITTED, MPPS),
        [("context-mismatch", "AffectedSOPClassUID")],
        0x0212,
    ),
    "UPS Push on a print meta class": (
        received(UPS, INSTANCE, 1, UPS_STATE, GRAYSCALE_META),
        [("context-mismatch", "AffectedSOPClassUID")],
        0x0212,
    ),
    "Printer on UPS Event": (
        received(PRINTER, PRINTER_INSTANCE, 1, [], UPS_EVENT),
        [("context-mismatch", "AffectedSOPClassUID")],
        0x0212,
    ),
    "MPPS on a print meta class": (
        received(MPPS, INSTANCE, 1, [], COLOR_META),
        [("context-mismatch", "AffectedSOPClassUID")],
        0x0212,
    ),
    "private class on a storage context": (
        received(PRIVATE, INSTANCE, 1, [], SC_IMAGE),
        [("context-mismatch", "AffectedSOPClassUID")],
        0x0212,
    ),
    "Verification": (received(VERIFICATION, INSTANCE, 1), [("not-a-report-class", "")], 0x0211),
    # several rules at once: the fixed priority decides
    "Verification on the storage commitment context": (
        received(VERIFICATION, INSTANCE, 1, [], SC),
        [("not-a-report-class", ""), ("context-mismatch", "AffectedSOPClassUID")],
        0x0211,
    ),
    "unknown event on the wrong context": (
        received(SC, SC_INSTANCE, 9, [], MPPS),
        [("context-mismatch", "AffectedSOPClassUID"), ("unknown-event", "")],
        0x0212,
    ),
    "invalid instance UID on the wrong context": (
        received(MPPS, "1.2.abc", 1, [], SC),
        [("context-mismatch", "AffectedSOPClassUID"), ("invalid-uid", "AffectedSOPInstanceUID")],
        0x0212,
    ),
    "invalid UID where a well-known instance is due": (
        received(SC, "1.2.abc", 1, COMMITTED),
        [("invalid-uid", "AffectedSOPInstanceUID"), ("wrong-instance", "AffectedSOPInstanceUID")],
        0x0117,
    ),
    "another instance and an unknown event": (
        received(PRINTER, INSTANCE, 9),
        [("wrong-instance", "AffectedSOPInstanceUID"), ("unknown-event", "")],
        0x0112,
    ),
}


@pytest.mark.parametrize(("report", "expected", "code"), REFUSED.values(), ids=list(REFUSED.keys()))
def test_report_the_standard_refuses(
    report: ReceivedReport, expected: list[tuple[str, str]], code: int
) -> None:
    found = validate.report_findings(report)
    assert [(f.kind, f.path) for f in found] == expected
    answer = validate.standard_status(found)
    assert answer is not None
    assert answer.code == code
    assert answer.error_comment


def test_messages_say_what_and_where() -> None:
    report = received(SC, "1.2.3.4", 1, COMMITTED, MPPS)
    assert [str(f) for f in validate.report_findings(report)] == [
        "Affected SOP Class UID '1.2.840.10008.1.20.1' came on presentation context 1, "
        "negotiated for '1.2.840.10008.3.1.2.3.5', which does not carry it",
        "Affected SOP Instance UID '1.2.3.4' is not the well-known instance of the Storage "
        "Commitment Push Model SOP Class, 1.2.840.10008.1.20.1.1",
    ]
    (invalid,) = validate.report_findings(received(MPPS, "1.2.abc", 1))
    assert str(invalid).startswith("Affected SOP Instance UID '1.2.abc' is not a UID")


def test_content_findings_alone_leave_the_answer_alone() -> None:
    found = validate.report_findings(received(SC, SC_INSTANCE, 2, ["TransactionUID=1.2.3"]))
    assert [f.kind for f in found] == ["missing"]
    assert validate.standard_status(found) is None


def test_error_comments_fit_lo_and_quote_nothing_of_the_report() -> None:
    secret = ["PatientName=SECRET^NAME", "PatientID=SECRET-ID"]
    reports = [
        received(VERIFICATION, "1.2.99.7", 1, secret),
        received(SC, "1.2.99.7", 1, secret, MPPS),
        received(MPPS, "1.2.99.x", 1, secret),
        received(SC, "1.2.99.7", 1, secret),
        received(MPPS, "1.2.99.7", 99, secret),
    ]
    answers = [validate.standard_status(validate.report_findings(r)) for r in reports]
    assert {a.code for a in answers if a} == {0x0211, 0x0212, 0x0117, 0x0112, 0x0113}
    for answer in answers:
        assert answer is not None and answer.error_comment is not None
        comment = answer.error_comment
        assert len(comment) <= 64 and comment.isascii() and comment.isprintable()
        assert "\\" not in comment  # LO: no backslash
        assert "SECRET" not in comment and "99" not in comment


def test_every_standard_answer_is_valid_in_an_n_event_report_rsp() -> None:
    for answer in validate.STANDARD_ANSWERS.values():
        status.check_report_status(answer.code)
