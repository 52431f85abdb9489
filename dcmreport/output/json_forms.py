"""The JSON form of every record: what ``--format json`` prints and ``--output-dir`` keeps.

A module of its own, importing neither rich nor pynetdicom, so that the JSON
path (a script parsing ``listen``'s output, the record written before each
answer) never pays for the text renderer. Data sets are complete here, in the
DICOM JSON model: JSON is for programs, which need every value; only the text
view summarises. A large binary value a listener received is the exception
(:func:`received_json_model`): it is referred to in the Part 10 file kept, or
its length said, unless ``listen --inline-binary``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dcmreport.dicom import catalog, ups
from dcmreport.dicom.records import (
    Answer,
    AssociationInfo,
    CommitmentResultRecord,
    CommitResult,
    Delivery,
    EchoResponse,
    Finding,
    MessageKind,
    PeerCheck,
    ReceivedReport,
    ReferencedInstance,
    ReportRecord,
    ReportResponse,
    ResponseStatus,
)
from dcmreport.dicom.status import Status
from dcmreport.dicom.ups import ActionResponse, EventDelivery

if TYPE_CHECKING:
    from pydicom import Dataset

    from dcmreport.dicom.records import Result, Summary


def to_json_model(ds: Dataset | None) -> dict[str, Any] | None:
    """:func:`dcmreport.dicom.dataset.to_json_model`, imported with the first data set shown:
    ``echo`` shows none and does not import it (lean start)."""
    from dcmreport.dicom.dataset import to_json_model as convert

    return convert(ds)


def received_json_model(record: ReportRecord) -> dict[str, Any] | None:
    """A received data set's JSON model: a large binary value referred to in the kept Part
    10 file, or omitted without one (:class:`dcmreport.dicom.dataset.BulkData`), unless
    ``--inline-binary``. A peer can send 64 MiB; base64 in a record would hold it a third
    larger, several times over while the record is built and written."""
    from dcmreport.dicom.dataset import BulkData
    from dcmreport.dicom.dataset import to_json_model as convert

    report = record.report
    if record.inline_binary or report.dataset is None:
        return convert(report.dataset)
    kept = record.files[0] if record.files and record.dataset_offset is not None else None
    bulk = BulkData(report.encoded or b"", kept, record.dataset_offset or 0)
    return convert(report.dataset, bulk)


_STATUS_KEYS = (
    "status",
    "status_hex",
    "status_meaning",
    "status_category",
    "error_comment",
    "error_id",
)


def status_json(status: ResponseStatus) -> dict[str, Any]:
    described = Status(status.code)
    return {
        "status": status.code,
        "status_hex": f"0x{status.code:04X}",
        "status_meaning": described.meaning,
        "status_category": described.category,
        "error_comment": status.error_comment,
        "error_id": status.error_id,
    }


def _answer_json(answer: Answer | None) -> dict[str, Any]:
    """The answer's keys; all null while it is being decided (a record an --exec program reads)."""
    if answer is None or answer.abort:
        return {
            **dict.fromkeys(_STATUS_KEYS),
            "event_reply": None,
            "aborted": answer is not None,
        }
    return {
        **status_json(answer.status),
        "event_reply": to_json_model(answer.event_reply),
        "aborted": False,
    }


def _delivery_json(delivery: Delivery | None) -> dict[str, Any]:
    """Null while the answer has not been tried (the record kept on disk before it is sent)."""
    return {
        "answer_sent": None if delivery is None else delivery.sent,
        "answer_not_sent_reason": None if delivery is None or delivery.sent else delivery.reason,
    }


def finding_json(finding: Finding) -> dict[str, str]:
    """A finding as an object, so a script can select by ``kind`` without parsing prose."""
    return {"kind": finding.kind, "path": finding.path, "message": finding.message}


def association_json(info: AssociationInfo) -> dict[str, Any]:
    return {
        "calling_aet": info.calling_aet,
        "called_aet": info.called_aet,
        "peer_address": info.peer_address,
        "max_pdu": info.max_pdu,
        "implementation_class_uid": info.implementation_class_uid,
        "implementation_version": info.implementation_version,
        "contexts": [
            {
                "id": cx.id,
                "abstract_syntax": cx.abstract_syntax,
                "proposed_transfer_syntaxes": list(cx.proposed_transfer_syntaxes),
                "transfer_syntax": cx.transfer_syntax,
                "accepted": cx.accepted,
                "proposed_roles": None
                if cx.proposed_roles is None
                else {"scu": cx.proposed_roles[0], "scp": cx.proposed_roles[1]},
                "requestor_roles": {"scu": cx.requestor_is_scu, "scp": cx.requestor_is_scp}
                if cx.accepted
                else None,
            }
            for cx in info.contexts
        ],
        "window_proposed": _window_json(info.window_proposed),
        "window_granted": _window_json(info.window_granted),
    }


def _window_json(window: tuple[int, int] | None) -> dict[str, int] | None:
    """An Asynchronous Operations Window item (0: unlimited), or None when there was none."""
    return None if window is None else {"invoked": window[0], "performed": window[1]}


def _type_json(report: ReceivedReport) -> dict[str, Any]:
    """A report's event, or an N-ACTION's action: never an event's name for an action
    (storage commitment's Action Type 1 is no event 1); null for an undefined one."""
    if report.kind is MessageKind.N_ACTION:
        return {
            "action_type_id": report.action_type_id,
            "action_name": catalog.describe_action(report.sop_class_uid, report.action_type_id),
        }
    return {
        "event_type_id": report.event_type_id,
        "event_name": catalog.describe_event(report.sop_class_uid, report.event_type_id),
    }


def record_json(record: ReportRecord) -> dict[str, Any]:
    """One received report (or N-ACTION) and its answer: a line of ``listen --format json``."""
    report = record.report
    return {
        "kind": report.kind.value,
        "received_at": report.received_at.isoformat(),
        "message_id": report.message_id,
        "sop_class_uid": report.sop_class_uid,
        "sop_class_name": catalog.describe_class(report.sop_class_uid),
        "sop_instance_uid": report.sop_instance_uid,
        **_type_json(report),
        "calling_aet": report.association.calling_aet,
        "called_aet": report.association.called_aet,
        "peer_address": report.association.peer_address,
        "context_id": report.context_id,
        "transfer_syntax": report.transfer_syntax,
        "dataset": received_json_model(record),
        "problem": report.problem,
        "findings": [finding_json(f) for f in record.findings],
        **_answer_json(record.answer),
        **_delivery_json(record.delivery),
        "files": list(record.files),
        "association": association_json(report.association),
    }


def response_json(rsp: ReportResponse) -> dict[str, Any]:
    """The result of ``send-report --format json``."""
    return {
        **status_json(rsp.status),
        "message_id": rsp.request.message_id,
        "message_id_being_responded_to": rsp.message_id_being_responded_to,
        "sop_class_uid": rsp.sop_class_uid,
        "sop_instance_uid": rsp.sop_instance_uid,
        "event_type_id": rsp.event_type_id,
        "event_name": catalog.describe_event(rsp.request.sop_class_uid, rsp.event_type_id),
        "event_reply": to_json_model(rsp.event_reply),
        "round_trip_ms": round(rsp.round_trip_ms, 3),
        "findings": [finding_json(f) for f in rsp.findings],
        "association": association_json(rsp.association),
    }


def _instance_json(instance: ReferencedInstance) -> dict[str, Any]:
    form: dict[str, Any] = {
        "sop_class_uid": instance.sop_class_uid,
        "sop_instance_uid": instance.sop_instance_uid,
    }
    if instance.failure_reason is not None:
        code = instance.failure_reason
        form["failure_reason"] = code
        form["failure_reason_hex"] = f"0x{code:04X}"
        form["failure_reason_meaning"] = catalog.FAILURE_REASONS.get(code, ("", ""))[1] or None
    return form


def commit_json(result: CommitResult) -> dict[str, Any]:
    """One transaction of ``commit --format json``: the N-ACTION's status and its result."""
    report = result.report
    return {
        "transaction_uid": result.request.transaction_uid,
        "action_status": status_json(result.action_status),
        "requested": [_instance_json(i) for i in result.request.instances],
        "event_type_id": report.event_type_id if report else None,
        "event_name": catalog.describe_event(catalog.STORAGE_COMMITMENT, report.event_type_id)
        if report
        else None,
        "committed": [_instance_json(i) for i in result.committed],
        "failed": [_instance_json(i) for i in result.failed],
        "elapsed_ms": None if result.elapsed_ms is None else round(result.elapsed_ms, 3),
        "same_association": result.same_association if report else None,
        "findings": [finding_json(f) for f in result.findings],
        "dataset": to_json_model(report.dataset) if report else None,
        "association": {
            "request": association_json(result.association),
            "report": association_json(report.association) if report else None,
        },
    }


def commitment_result_json(result: CommitmentResultRecord) -> dict[str, Any]:
    """A result ``listen --commitment`` sent, or could not: a line of ``listen --format json``
    and the ``-result.json`` kept next to its request; ``delivered`` null while it is tried."""
    request, delivery = result.request, result.delivery
    return {
        "kind": "commitment-result",
        "decided_at": result.decided_at.isoformat(),
        "transaction_uid": result.transaction_uid,
        "event_type_id": result.event_type_id,
        "event_name": catalog.describe_event(catalog.STORAGE_COMMITMENT, result.event_type_id),
        "policy": result.policy,
        "fallback": result.fallback,
        "committed": [_instance_json(i) for i in result.committed],
        "failed": [_instance_json(i) for i in result.failed],
        "requester": request.association.calling_aet,
        "request_message_id": request.message_id,
        "delivered": None if delivery is None else delivery.delivered,
        "delivered_on": None if delivery is None else delivery.association,
        "attempts": 0 if delivery is None else delivery.attempts,
        "not_delivered_reason": None if delivery is None else delivery.reason,
        "response": status_json(delivery.status) if delivery and delivery.status else None,
        "dataset": to_json_model(result.dataset),
        "files": list(result.files),
    }


def echo_json(rsp: EchoResponse) -> dict[str, Any]:
    return {
        **status_json(rsp.status),
        "round_trip_ms": round(rsp.round_trip_ms, 3),
        "association": association_json(rsp.association),
    }


def failure_json(message: str, hint: str | None, exit_code: int) -> dict[str, Any]:
    """What a command prints on stdout when it fails and JSON was asked for.

    A script parsing stdout gets an object either way; ``status`` is null, as
    no response came. ``association`` is null: the errors do not carry the
    negotiation yet, even when it got that far.
    """
    return {
        "status": None,
        "error": message,
        "hint": hint,
        "exit_code": exit_code,
        "association": None,
    }


def peer_check_json(check: PeerCheck) -> dict[str, Any]:
    """A line of ``dcmreport peers``: the peer; with --check, its round trip or its error."""
    return {
        "name": check.name,
        "address": check.address,
        "round_trip_ms": round(check.echo.round_trip_ms, 3) if check.echo else None,
        "status": check.echo.status.code if check.echo else None,
        "error": str(check.error) if check.error else None,
        "exit_code": int(check.error.exit_code) if check.error else 0 if check.echo else None,
    }


# --- a batch ---------------------------------------------------------------------------


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def summary_json(summary: Summary) -> dict[str, Any]:
    """The last line of a batch's JSON output."""
    return {
        "kind": "summary",
        "sent": summary.sent,
        "succeeded": summary.succeeded,
        "failed": {f"0x{code:04X}": count for code, count in sorted(summary.failed.items())},
        "with_findings": summary.with_findings,  # answers that break the standard, any status
        "elapsed_s": round(summary.elapsed_s, 6),
        "reports_per_s": round(summary.reports_per_s, 3),
        "latency_ms": {
            "p50": _ms(summary.percentile(0.50)),
            "p90": _ms(summary.percentile(0.90)),
            "p99": _ms(summary.percentile(0.99)),
        },
        "answered": summary.answered,
        "resent": summary.resent,
        "unanswered": summary.unanswered,
        "associations": summary.associations,
        "window": summary.window,
        "window_asked": summary.window_asked,
        "window_granted": summary.window_granted,
        "error": summary.error,
    }


def result_json(result: Result) -> dict[str, Any]:
    """One answer of a batch: send-report's response fields, and where it went (the
    association's number: its details are on its own ``kind: association`` line)."""
    return {
        "kind": "response",
        "index": result.item.index,
        "line": result.item.line,
        **response_json(result.response),
        "association": result.association,
        "attempt": result.attempt,
        "resent": result.attempt > 1,
    }


def subscription_response_json(rsp: ActionResponse, explanation: str | None) -> dict[str, Any]:
    """``watch``: a UPS subscription's N-ACTION-RSP, and what a Warning or Failure means."""
    action = rsp.action
    subscribing = action.action_type_id == ups.SUBSCRIBE
    return {
        "kind": "n-action-rsp",
        "action_type_id": action.action_type_id,
        "action_name": action.name,
        "instance": action.instance,
        "receiving_ae": action.receiving_ae,
        "deletion_lock": action.deletion_lock if subscribing else None,
        "status": {
            "code": rsp.status.code,
            "hex": f"0x{rsp.status.code:04X}",
            "category": Status(rsp.status.code).category,
            "meaning": Status(rsp.status.code).meaning,
            "error_comment": rsp.status.error_comment,
        },
        "explanation": explanation,
        "round_trip_ms": round(rsp.round_trip_ms, 3),
        "findings": [str(f) for f in rsp.findings],
    }


def event_delivery_json(delivery: EventDelivery) -> dict[str, Any]:
    """``listen --ups``: what became of one event for one subscriber."""
    return {
        "kind": "ups-event-delivery",
        "receiving_ae": delivery.receiving_ae,
        "instance": delivery.instance,
        "event_type_id": delivery.event_type_id,
        "event_name": catalog.describe_event(ups.UPS_PUSH, delivery.event_type_id),
        "delivered": delivery.delivered,
        "attempts": delivery.attempts,
        "status": None if delivery.status is None else f"0x{delivery.status:04X}",
        "reason": delivery.reason or None,
    }
