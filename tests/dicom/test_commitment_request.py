"""A storage commitment request judged: each rule's finding and the N-ACTION-RSP status it gets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from pydicom import Dataset

from dcmreport.dicom import catalog, commitment_request
from dcmreport.dicom.records import AssociationInfo, Finding, MessageKind, ReceivedReport

STGCMT = catalog.STORAGE_COMMITMENT
INSTANCE = catalog.STORAGE_COMMITMENT_INSTANCE
CT = "1.2.840.10008.5.1.4.1.1.2"
Built = Callable[[], ReceivedReport]  # built as the test runs: invalid UIDs warn
INFO = AssociationInfo("MODALITY", "PACS", "127.0.0.1:40000", 16382, "1.2.3", None)


def item(class_uid: str | None = CT, instance_uid: str | None = "1.2.3.1") -> Dataset:
    ds = Dataset()
    if class_uid is not None:
        ds.ReferencedSOPClassUID = class_uid
    if instance_uid is not None:
        ds.ReferencedSOPInstanceUID = instance_uid
    return ds


def information(uid: str | None = "1.2.3.99", items: list[Dataset] | None = None) -> Dataset:
    ds = Dataset()
    if uid is not None:
        ds.TransactionUID = uid
    ds.ReferencedSOPSequence = [item()] if items is None else items
    return ds


def request(
    ds: Dataset | None = None,
    action: int | None = 1,
    instance: str = INSTANCE,
    message_id: int | None = 1,
    context: str = STGCMT,
) -> ReceivedReport:
    return ReceivedReport(
        INFO,
        1,
        "1.2.840.10008.1.2.1",
        message_id,
        STGCMT,
        instance,
        None,
        information() if ds is None else ds,
        context_class_uid=context,
        kind=MessageKind.N_ACTION,
        action_type_id=action,
    )


def kinds(found: list[Finding]) -> list[str]:
    return [f.kind for f in found]


def test_a_well_formed_request_has_no_findings() -> None:
    assert commitment_request.request_findings(request()) == []
    assert commitment_request.standard_status([]) is None
    assert commitment_request.permissive_status(request()) is None


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI:UserWarning")  # as a peer may send
@pytest.mark.parametrize(
    ("received", "kind", "path", "status"),
    [
        (lambda: request(message_id=None), "missing-message-id", "MessageID", 0x0110),
        (lambda: request(action=None), "missing-action-type", "ActionTypeID", 0x0123),
        (lambda: request(context=CT), "context-mismatch", "RequestedSOPClassUID", 0x0212),
        (lambda: request(instance="1.2.abc"), "invalid-uid", "RequestedSOPInstanceUID", 0x0117),
        (lambda: request(instance="1.2.3"), "wrong-instance", "RequestedSOPInstanceUID", 0x0112),
        (lambda: request(action=2), "unknown-action", "ActionTypeID", 0x0123),
        (lambda: request(information(None)), "missing-transaction-uid", "TransactionUID", 0x0115),
        (lambda: request(information("")), "missing-transaction-uid", "TransactionUID", 0x0115),
        (
            lambda: request(information("1.02.3")),
            "invalid-transaction-uid",
            "TransactionUID",
            0x0115,
        ),
        (lambda: request(Dataset()), "missing-references", "ReferencedSOPSequence", 0x0115),
        (
            lambda: request(information(items=[])),
            "missing-references",
            "ReferencedSOPSequence",
            0x0115,
        ),
        (
            lambda: request(information(items=[item(class_uid=None)])),
            "invalid-reference",
            "ReferencedSOPSequence[0].ReferencedSOPClassUID",
            0x0115,
        ),
        (
            lambda: request(information(items=[item(), item(instance_uid="1.2.x")])),
            "invalid-reference",
            "ReferencedSOPSequence[1].ReferencedSOPInstanceUID",
            0x0115,
        ),
        (
            lambda: request(information(items=[item(), item(instance_uid="")])),
            "invalid-reference",
            "ReferencedSOPSequence[1].ReferencedSOPInstanceUID",
            0x0115,
        ),
        (
            lambda: request(information(items=[item(), item("1.2.840.10008.5.1.4.1.1.4")])),
            "duplicate-reference",
            "ReferencedSOPSequence[1].ReferencedSOPInstanceUID",
            0x0115,
        ),
    ],
)
def test_each_rule_has_its_finding_and_status(
    received: Built, kind: str, path: str, status: int
) -> None:
    found = commitment_request.request_findings(received())
    assert (kind, path) in [(f.kind, f.path) for f in found], found
    answer = commitment_request.standard_status(found)
    assert answer is not None and answer.code == status
    assert answer.error_comment and len(answer.error_comment) <= 64  # LO


def test_the_command_decides_before_the_action_information() -> None:
    """Another instance with an empty sequence is 0x0112: which instance comes first."""
    found = commitment_request.request_findings(request(information(items=[]), instance="1.2.3"))
    assert kinds(found) == ["wrong-instance", "missing-references"]
    answer = commitment_request.standard_status(found)
    assert answer is not None and answer.code == 0x0112


def test_another_action_type_is_not_judged_as_a_storage_commitment_request() -> None:
    assert kinds(commitment_request.request_findings(request(Dataset(), action=2))) == [
        "unknown-action"
    ]
    assert commitment_request.transaction_uid(request(action=2)) is None


def test_a_duplicate_transaction_decides_no_status() -> None:
    """It fails the result with 0x0131 instead (PS3.3 C.14.1.1)."""
    finding = commitment_request.duplicate_transaction("1.2.3.99")
    assert finding.kind == commitment_request.DUPLICATE_TRANSACTION_UID
    assert "0x0131" in finding.message
    assert commitment_request.standard_status([finding]) is None


@pytest.mark.parametrize(
    ("received", "uid"),
    [
        (lambda: request(), "1.2.3.99"),
        (lambda: request(information(items=[])), "1.2.3.99"),  # refused, but used: J.3.2.1.2
        (lambda: request(information("")), None),
        (lambda: request(information("1.2.x")), None),
    ],
)
@pytest.mark.filterwarnings("ignore:Invalid value for VR UI:UserWarning")
def test_the_transaction_uid_a_request_uses(received: Built, uid: str | None) -> None:
    assert commitment_request.transaction_uid(received()) == uid


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI:UserWarning")
def test_other_invalid_values_are_shown_and_decide_nothing() -> None:
    ds = information()
    ds.StorageMediaFileSetUID = "1.2.x"
    found = commitment_request.request_findings(request(ds))
    assert [(f.kind, f.path) for f in found] == [("invalid-value", "StorageMediaFileSetUID")]
    assert commitment_request.standard_status(found) is None


@pytest.mark.parametrize(
    ("received", "status"),
    [
        (lambda: request(action=2), 0x0123),
        (lambda: request(instance="1.2.3"), 0x0112),
        (lambda: request(information(None)), 0x0115),
        (lambda: request(information(items=[])), 0x0115),
        (lambda: request(information(items=[item(), item()])), None),  # served: permissive
        (lambda: request(information("1.2.x")), None),
    ],
)
@pytest.mark.filterwarnings("ignore:Invalid value for VR UI:UserWarning")
def test_answer_findings_no_refuses_only_what_cannot_be_served(
    received: Built, status: int | None
) -> None:
    answer = commitment_request.permissive_status(received())
    assert (answer.code if answer else None) == status


def test_actions_are_named_as_actions() -> None:
    assert catalog.describe_action(STGCMT, 1) == "Request Storage Commitment"
    assert catalog.describe_action(STGCMT, 2) is None
    assert catalog.describe_action(STGCMT, None) is None


def test_an_action_information_that_did_not_decode_is_not_judged_absent() -> None:
    received = replace(request(Dataset()), problem="cannot decode the Action Information")
    assert commitment_request.request_findings(received) == []
