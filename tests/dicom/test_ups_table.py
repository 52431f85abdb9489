"""The UPS subscription table (PS3.4 Table CC.2.3-2) and its statuses (Table CC.2.3-3)."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydicom import Dataset

from dcmreport.dicom import ups
from dcmreport.dicom.records import AssociationInfo, MessageKind, ReceivedReport

UID_A, UID_B = "1.2.3.1", "1.2.3.2"


def action(
    action_type: int, instance: str, ae: str = "W", lock: str | None = None
) -> ReceivedReport:
    ds = Dataset()
    ds.ReceivingAE = ae
    if lock is not None:
        ds.DeletionLock = lock
    return ReceivedReport(
        association=AssociationInfo("W", "SCP", "127.0.0.1:1", 16382, "", "", ()),
        context_id=1,
        transfer_syntax="1.2.840.10008.1.2.1",
        message_id=1,
        sop_class_uid=ups.UPS_PUSH,
        sop_instance_uid=instance,
        event_type_id=None,
        dataset=ds,
        received_at=datetime.now().astimezone(),
        context_class_uid=ups.UPS_WATCH,
        kind=MessageKind.N_ACTION,
        action_type_id=action_type,
    )


def state(value: str) -> Dataset:
    ds = Dataset()
    ds.ProcedureStepState = value
    ds.InputReadinessState = "READY"
    return ds


def worklist(grant_lock: bool = True) -> ups.Worklist:
    made = ups.Worklist(["W"], grant_lock)
    made.event(UID_A, ups.STATE_REPORT, state("IN PROGRESS"))
    return made


def test_a_specific_subscription_sends_the_current_state() -> None:
    table = worklist()
    outcome = table.apply(action(ups.SUBSCRIBE, UID_A, lock="FALSE"))
    assert outcome.status.code == 0 and outcome.initial == (UID_A,)
    [initial] = table.initial_reports(outcome)
    assert initial.dataset.ProcedureStepState == "IN PROGRESS"


def test_global_with_lock_sends_initial_reports_without_lock_none() -> None:
    assert worklist().apply(action(ups.SUBSCRIBE, ups.GLOBAL_INSTANCE, lock="TRUE")).initial == (
        UID_A,
    )
    assert worklist().apply(action(ups.SUBSCRIBE, ups.GLOBAL_INSTANCE, lock="FALSE")).initial == ()


def test_a_new_ups_goes_to_global_subscribers_state_report_first() -> None:
    table = worklist()
    table.apply(action(ups.SUBSCRIBE, ups.GLOBAL_INSTANCE, lock="FALSE"))
    progress = Dataset()
    sent = table.event(UID_B, 3, progress)
    assert [(d.receiving_ae, d.event_type_id) for d in sent] == [("W", 1), ("W", 3)]
    assert sent[0].dataset.ProcedureStepState == "SCHEDULED"  # CC.2.3.2 Note 1


def test_unsubscribing_globally_ends_specific_ones_suspending_does_not() -> None:
    table = worklist()
    table.apply(action(ups.SUBSCRIBE, UID_A, lock="FALSE"))
    table.apply(action(ups.SUBSCRIBE, ups.GLOBAL_INSTANCE, lock="FALSE"))
    assert table.apply(action(ups.SUSPEND_GLOBAL, ups.GLOBAL_INSTANCE)).status.code == 0
    assert table.table()["W"] == {"global": None, "instances": {UID_A: {"deletion_lock": False}}}
    table.apply(action(ups.UNSUBSCRIBE, ups.GLOBAL_INSTANCE))
    assert table.table() == {}


def test_refusals() -> None:
    table = worklist(grant_lock=False)
    assert table.apply(action(ups.SUBSCRIBE, UID_A, lock="TRUE")).status.code == 0xB301
    assert table.apply(action(ups.SUBSCRIBE, UID_B, lock="FALSE")).status.code == 0xC307
    assert table.apply(action(ups.SUBSCRIBE, UID_A, "X", lock="FALSE")).status.code == 0xC308
    assert table.apply(action(ups.SUSPEND_GLOBAL, UID_A)).status.code == 0xC314
    assert table.apply(action(9, UID_A)).status.code == 0x0123
    assert table.table() == {"W": {"global": None, "instances": {UID_A: {"deletion_lock": False}}}}


def test_status_change_goes_about_each_subscription_and_the_global_instance() -> None:
    table = worklist()
    table.apply(action(ups.SUBSCRIBE, ups.GLOBAL_INSTANCE, lock="TRUE"))
    sent = table.status_change(Dataset())
    assert [(d.receiving_ae, d.instance, d.event_type_id) for d in sent] == [
        ("W", UID_A, 4),
        ("W", ups.GLOBAL_INSTANCE, 4),
    ]


def test_restore_takes_back_the_table_and_instances_but_not_unknown_aes() -> None:
    table = worklist()
    table.apply(action(ups.SUBSCRIBE, ups.GLOBAL_INSTANCE, lock="TRUE"))
    kept = {**table.table(), "GONE": {"global": None, "instances": {UID_A: {"deletion_lock": 0}}}}
    again = ups.Worklist(["W"])
    again.restore(kept, table.instances())
    assert again.table() == table.table() and again.instances() == table.instances()
    with pytest.raises(ValueError, match="not as dcmreport wrote it"):
        again.restore({"W": {"instances": {}}}, {})
