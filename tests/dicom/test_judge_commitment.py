"""dicom/judge.py, the storage commitment half: each rule on a result and an N-ACTION-RSP.

Pure functions on records, no network: the rules that the faulty PACS of
tests/association/test_commit_scu.py does not reach, and the edges of those
it does.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydicom import Dataset
from pydicom.sequence import Sequence

from dcmreport.dicom.catalog import STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE
from dcmreport.dicom.judge import action_response_findings, result_findings
from dcmreport.dicom.records import (
    AssociationInfo,
    CommitRequest,
    ContextInfo,
    ReceivedReport,
    ReferencedInstance,
)

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
ROOT = "1.2.826.0.1.3680043.9.9999.31"
A, B = f"{ROOT}.1", f"{ROOT}.2"
REQUEST = CommitRequest(
    f"{ROOT}.100", Dataset(), (ReferencedInstance(CT, A), ReferencedInstance(CT, B))
)


def item(instance: str | None, sop_class: str | None = CT, reason: Any = None) -> Dataset:
    ds = Dataset()
    if sop_class is not None:
        ds.ReferencedSOPClassUID = sop_class
    if instance is not None:
        ds.ReferencedSOPInstanceUID = instance
    if reason is not None:
        ds.FailureReason = reason
    return ds


def report(
    committed: list[Dataset],
    failed: list[Dataset] = (),  # type: ignore[assignment]
    event: int | None = 1,
    instance: str = STORAGE_COMMITMENT_INSTANCE,
    roles: tuple[bool, bool] | None = None,
    granted: bool = False,
    abstract_syntax: str = STORAGE_COMMITMENT,
) -> ReceivedReport:
    ds = Dataset()
    ds.TransactionUID = REQUEST.transaction_uid
    if committed:
        ds.ReferencedSOPSequence = Sequence(committed)
    if failed:
        ds.FailedSOPSequence = Sequence(failed)
    context = ContextInfo(1, abstract_syntax, (), "1.2.840.10008.1.2", roles, False, granted)
    info = AssociationInfo("PACS", "MODALITY", "127.0.0.1:104", 0, "1.2", None, (context,))
    return ReceivedReport(info, 1, "1.2.840.10008.1.2", 1, STORAGE_COMMITMENT, instance, event, ds)


def kinds(found: Any) -> list[tuple[str, str]]:
    return [(f.kind, f.path) for f in found]


def test_an_honest_result_has_no_findings() -> None:
    judged = result_findings(REQUEST, report([item(A)], [item(B, reason=0x0112)], 2), True)
    assert judged.findings == ()
    assert [i.sop_instance_uid for i in judged.committed] == [A]
    assert [(i.sop_instance_uid, i.failure_reason) for i in judged.failed] == [(B, 0x0112)]


def test_an_item_without_its_uids() -> None:
    judged = result_findings(REQUEST, report([item(A), item(B, None), item(None)]), True)
    assert kinds(judged.findings) == [
        ("incomplete-item", B),
        ("incomplete-item", "ReferencedSOPSequence[2]"),
    ]
    assert [i.sop_instance_uid for i in judged.committed] == [A]  # B without its class


def test_failed_items_without_their_uids_are_shown_as_reported() -> None:
    """A report is read, never trusted: what it lacks is left empty, not made up."""
    judged = result_findings(
        REQUEST, report([item(A)], [item(B, None, 0x0112), item(None, None)], 2), True
    )
    assert kinds(judged.findings) == [
        ("incomplete-item", B),
        ("incomplete-item", "FailedSOPSequence[1]"),
        ("no-failure-reason", "FailedSOPSequence[1]"),
    ]
    assert [(i.sop_class_uid, i.sop_instance_uid, i.failure_reason) for i in judged.failed] == [
        ("", B, 0x0112),
        ("", "", None),
    ]


def test_a_failed_item_without_a_reason_an_empty_one_and_two() -> None:
    empty = item(B)
    empty.add_new("FailureReason", "US", None)
    two = item(f"{ROOT}.3", reason=[0x0110, 0x0112])
    judged = result_findings(REQUEST, report([], [item(A), empty, two], 2), True)
    assert kinds(judged.findings) == [
        ("not-requested", f"{ROOT}.3"),
        ("no-failure-reason", A),
        ("no-failure-reason", B),
        ("undefined-failure-reason", f"{ROOT}.3"),
    ]
    assert [i.failure_reason for i in judged.failed] == [None, None, None]  # never made up


def test_an_instance_reported_twice_counts_once() -> None:
    judged = result_findings(REQUEST, report([item(A), item(B), item(A)]), True)
    assert kinds(judged.findings) == [("reported-twice", A)]
    assert [i.sop_instance_uid for i in judged.committed] == [A, B]


def test_another_instance_and_an_undefined_event() -> None:
    judged = result_findings(REQUEST, report([item(A), item(B)], event=3, instance="1.2.3"), True)
    assert kinds(judged.findings) == [
        ("wrong-instance", "AffectedSOPInstanceUID"),
        ("unknown-event", "EventTypeID"),
    ]


def test_a_missing_event_type() -> None:
    judged = result_findings(REQUEST, report([item(A), item(B)], event=None), True)
    assert kinds(judged.findings) == [("unknown-event", "EventTypeID")]


@pytest.mark.parametrize(
    ("roles", "granted", "found"),
    [
        (None, False, [("no-scp-role", "association")]),
        ((True, False), False, [("no-scp-role", "association")]),
        ((False, True), False, [("no-scp-role", "association")]),
        ((False, True), True, []),
        ((True, True), True, []),
    ],
)
def test_the_scp_role_on_a_new_association(
    roles: tuple[bool, bool] | None, granted: bool, found: list[tuple[str, str]]
) -> None:
    on_new = report([item(A), item(B)], roles=roles, granted=granted)
    assert kinds(result_findings(REQUEST, on_new, False).findings) == found
    assert result_findings(REQUEST, on_new, True).findings == ()  # the request's own: no role


def test_a_result_on_another_context() -> None:
    judged = result_findings(REQUEST, report([item(A), item(B)], abstract_syntax=CT), True)
    assert kinds(judged.findings) == [("context-mismatch", "association")]


def test_a_class_that_differs_in_failed_sop_sequence_too() -> None:
    judged = result_findings(REQUEST, report([item(A)], [item(B, MR, 0x0119)], 2), True)
    assert kinds(judged.findings) == [("class-differs", B)]
    assert "MR Image Storage" in judged.findings[0].message


ACTION = 1


@pytest.mark.parametrize(
    ("command", "found"),
    [
        ({"Status": 0}, []),
        (
            {
                "Status": 0,
                "AffectedSOPClassUID": STORAGE_COMMITMENT,
                "AffectedSOPInstanceUID": STORAGE_COMMITMENT_INSTANCE,
                "ActionTypeID": 1,
            },
            [],
        ),
        ({"Status": 0x0123, "ActionTypeID": 1}, []),  # PS3.7 C.5.24
        ({"Status": 0x0114, "ActionTypeID": 1}, []),  # PS3.7 C.5.16
        ({"Status": 0x0124}, []),
        ({"Status": 0x0110, "ActionTypeID": 1}, []),  # may, not only, in a success (10.1.4.1.5)
        ({"Status": 0, "ActionTypeID": 2}, [("response-differs", "ActionTypeID")]),
        ({"Status": 0, "AffectedSOPClassUID": CT}, [("response-differs", "AffectedSOPClassUID")]),
        (
            {"Status": 0, "AffectedSOPInstanceUID": "1.2.3"},
            [("response-differs", "AffectedSOPInstanceUID")],
        ),
        ({"Status": 0x0001}, [("undefined-status", "Status")]),  # no Warning for N-ACTION
        ({"Status": 0xB000}, [("undefined-status", "Status")]),
        ({"Status": 0x0113}, [("undefined-status", "Status")]),  # an N-EVENT-REPORT status
    ],
)
def test_the_n_action_rsp(command: dict[str, object], found: list[tuple[str, str]]) -> None:
    assert kinds(action_response_findings(command, ACTION)) == found
