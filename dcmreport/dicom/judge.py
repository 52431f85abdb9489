"""Every answer judged: where what a peer answered ``send-report`` or ``commit`` breaks the
standard.

A test tool does not trust its peer on either side. ``listen`` judges what it
receives (:mod:`dcmreport.dicom.validate`); here the requester's side judges
what comes back: an N-EVENT-REPORT-RSP against its request (PS3.7 10.1.1),
and a storage commitment result against the request it answers (PS3.4
J.3.3). Each departure is a :class:`~dcmreport.dicom.records.Finding`: its
``kind`` names the rule, its ``path`` the attribute or instance, its message
what the standard says. An answer with findings exits with its own code
(``ExitCode.BROKEN_ANSWER``) unless ``--accept-findings``. Pure functions on
what was sent and what came back; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pydicom import Dataset

from dcmreport.dicom.catalog import (
    FAILURE_REASONS,
    STORAGE_COMMITMENT,
    STORAGE_COMMITMENT_INSTANCE,
    describe_class,
)
from dcmreport.dicom.records import (
    CommitRequest,
    ContextInfo,
    Finding,
    ReceivedReport,
    ReferencedInstance,
    ReportRequest,
)
from dcmreport.dicom.status import REPORT_STATUSES, SUCCESS, Status, category
from dcmreport.frozen import frozen

# --- the N-EVENT-REPORT-RSP (PS3.7 10.1.1) --------------------------------------------------
#
# What is judged, and why no more: the Message ID Being Responded To is not a finding but a
# protocol failure (requestor.check_response: a response to another message is no answer to
# this one, and the request is still unanswered); the Affected SOP Class and Instance UIDs and
# the Event Type ID are U(=) and C(=): absent is fine, present must equal the request's
# (10.1.1.1.3-5); the status is one 10.1.1.1.8 lists (no Warning among them, and no service
# class adds its own); the Event Reply only with Success (10.1.1.1.7), and with the Event Type
# ID (10.1.1.1.5). Its content is not judged: PS3.4 defines no Event Reply for any class that
# reports (its text has Action Replies only), so the catalog holds none, and whatever a peer
# replies (the LEADTOOLS reference echoes the Event Information) is application-specific.
# An Event Type ID in a failure response is no finding either: 10.1.1.1.5 says it "may be
# included in the success response", not "only", as 10.1.1.1.7 says of the Event Reply, and
# pynetdicom's own SCP sends it with every status.

_NO_DATA_SET = 0x0101  # Command Data Set Type: no data set follows (PS3.7 E.1)


def response_findings(
    command: dict[str, object], request: ReportRequest, reply_undecodable: bool
) -> tuple[Finding, ...]:
    """Every way the response's command set departs from PS3.7 10.1.1 for its request, and an
    Event Reply that does not decode; () for an answer a script may take at its word."""
    status = int(str(command["Status"]))
    has_reply = int(str(command.get("CommandDataSetType", _NO_DATA_SET))) != _NO_DATA_SET
    found = [*_differing(command, request), *_status_findings(status)]
    found += _reply_findings(status, has_reply, command.get("EventTypeID") is not None)
    if reply_undecodable:
        found.append(
            Finding(
                "undecodable-reply",
                "EventReply",
                "the peer's Event Reply could not be decoded (run with -d for details)",
            )
        )
    return tuple(found)


def _differing(command: dict[str, object], request: ReportRequest) -> list[Finding]:
    """The U(=) and C(=) fields present with another value than the request's (10.1.1.1.3-5):
    a response that names another instance, class or event answers something else."""
    found = []
    for keyword, name, sent, section in (
        ("AffectedSOPClassUID", "Affected SOP Class UID", request.sop_class_uid, "10.1.1.1.3"),
        (
            "AffectedSOPInstanceUID",
            "Affected SOP Instance UID",
            request.sop_instance_uid,
            "10.1.1.1.4",
        ),
        ("EventTypeID", "Event Type ID", request.event_type_id, "10.1.1.1.5"),
    ):
        got = command.get(keyword)
        if got is not None and str(got) != str(sent):
            found.append(
                Finding(
                    "response-differs",
                    keyword,
                    f"the response's {name} {got} differs from the request's {sent}: "
                    f"if present it equals the request's (PS3.7 {section})",
                )
            )
    return found


def _status_findings(status: int) -> list[Finding]:
    """A status PS3.7 10.1.1.1.8 does not list for N-EVENT-REPORT: no Warning is among them,
    so 0001H or a Bxxx "Warning" is as undefined here as any other code."""
    if status in REPORT_STATUSES:
        return []
    return [
        Finding(
            "undefined-status",
            "Status",
            f"status {Status(status)} is not a status of an N-EVENT-REPORT-RSP "
            "(PS3.7 10.1.1.1.8 defines Success 0000H and Failures only)",
        )
    ]


def _reply_findings(status: int, has_reply: bool, has_event_type: bool) -> list[Finding]:
    """An Event Reply outside a Success response (10.1.1.1.7), or without the Event Type ID
    that must come with it (10.1.1.1.5)."""
    found = []
    if has_reply and category(status) != SUCCESS:
        found.append(
            Finding(
                "reply-without-success",
                "EventReply",
                f"an Event Reply came with status {Status(status)}: it may only be included "
                "in the success response (PS3.7 10.1.1.1.7)",
            )
        )
    if has_reply and not has_event_type:
        found.append(
            Finding(
                "reply-without-event-type",
                "EventTypeID",
                "an Event Reply came without the Event Type ID: it shall be included if the "
                "Event Reply is (PS3.7 10.1.1.1.5)",
            )
        )
    return found


# --- the storage commitment result (PS3.4 J.3.3) --------------------------------------------
#
# The modality's side of PS3.4 J.3: the N-ACTION-RSP to its request (PS3.7 10.1.4.1), then
# the N-EVENT-REPORT that answers it. A finding about one instance has the SOP Instance UID
# as its ``path`` (an item without one: the item, ``FailedSOPSequence[2]``), so a script can
# collect them; a finding about the whole answer names the attribute or the association.
# What the result soundly commits is worked out here too: an instance counts as committed
# only when it was requested, is reported in Referenced SOP Sequence under the class it was
# requested with, and not in Failed SOP Sequence as well (a modality that deletes what was
# committed must never delete on a contradiction or on an instance it never asked about).

# PS3.7 10.1.4.1.10: the statuses of an N-ACTION-RSP; PS3.4 J.3.2.1.4 adds none for
# storage commitment, so no Warning and no service-class-specific Failure either.
ACTION_STATUSES = frozenset(
    {
        *(0x0000, 0x0110, 0x0112, 0x0114, 0x0115, 0x0117, 0x0118, 0x0119),
        *(0x0123, 0x0124, 0x0210, 0x0211, 0x0212, 0x0213),
    }
)
SUCCESS_EVENT, FAILURES_EVENT = 1, 2
_EVENTS = {
    SUCCESS_EVENT: "Storage Commitment Request Successful",
    FAILURES_EVENT: "Storage Commitment Request Complete - Failures Exist",
}
_REFERENCED, _FAILED = "ReferencedSOPSequence", "FailedSOPSequence"


# The N-ACTION-RSP statuses of UPS Watch's subscription actions (PS3.4 Table CC.2.3-3),
# besides PS3.7's: B301 Deletion Lock not granted, C307, C308, C314, C315.
UPS_SUBSCRIPTION_STATUSES = frozenset({0xB301, 0xC307, 0xC308, 0xC314, 0xC315})
_STORAGE_COMMITMENT_CLASS = (
    STORAGE_COMMITMENT,
    STORAGE_COMMITMENT_INSTANCE,
    frozenset[int](),
    "PS3.4 J.3.2.1.4 defines none of its own for storage commitment",
)


def action_response_findings(
    command: Mapping[str, object],
    action_type_id: int,
    request: tuple[str, str, frozenset[int], str] = _STORAGE_COMMITMENT_CLASS,
) -> tuple[Finding, ...]:
    """Where the N-ACTION-RSP departs from PS3.7 10.1.4.1: a status it does not define, an
    Affected SOP Class or Instance UID other than the request's (10.1.4.1.7, 10.1.4.1.8),
    an Action Type ID other than the request's.

    ``request`` is (Requested SOP Class UID, Instance UID, the class's own statuses, where
    the standard lists them): storage commitment's by default.
    """
    sop_class, sop_instance, own, where_own = request
    found = []
    code = int(str(command.get("Status", 0)))
    if code not in ACTION_STATUSES and code not in own:
        found.append(
            Finding(
                "undefined-status",
                "Status",
                f"N-ACTION-RSP status {Status(code)} is not one PS3.7 10.1.4.1.10 defines for "
                f"N-ACTION, and {where_own}",
            )
        )
    for keyword, sent, where in (
        ("AffectedSOPClassUID", sop_class, "10.1.4.1.7"),
        ("AffectedSOPInstanceUID", sop_instance, "10.1.4.1.8"),
    ):
        got = command.get(keyword)
        if got is not None and str(got) != sent:
            found.append(
                Finding(
                    "response-differs",
                    keyword,
                    f"N-ACTION-RSP {keyword} {got} differs from the request's {sent}: "
                    f"PS3.7 {where} has it equal when present",
                )
            )
    found += _action_type(command.get("ActionTypeID"), action_type_id)
    return tuple(found)


def _action_type(got: object, sent: int) -> list[Finding]:
    """An Action Type ID, where present, equals the request's (PS3.7 10.1.4.1.5: C(=)).

    Its presence with a failure status is no finding, as the Event Type ID's is not
    in an N-EVENT-REPORT-RSP: 10.1.4.1.5 says it "may be included in the success
    response", not only there, and Annex C's related fields say what a failure may
    carry (the Action Type ID with 0x0114 and 0x0123), not what it must not;
    pynetdicom includes it with every status.
    """
    if got is None or int(str(got)) == sent:
        return []
    return [
        Finding(
            "response-differs",
            "ActionTypeID",
            f"N-ACTION-RSP Action Type ID {got} differs from the request's {sent} "
            "(PS3.7 10.1.4.1.5: C(=))",
        )
    ]


@frozen
class Judged:
    """A storage commitment result read against its request (PS3.4 J.3.3)."""

    committed: tuple[ReferencedInstance, ...]  # what it soundly commits (see above)
    failed: tuple[ReferencedInstance, ...]  # Failed SOP Sequence as reported
    findings: tuple[Finding, ...]


@frozen
class _Item:
    """An item of Referenced or Failed SOP Sequence, as reported."""

    where: str  # FailedSOPSequence[2]
    sop_class_uid: str
    sop_instance_uid: str
    reason: object = None  # Failure Reason's value, None when absent


def result_findings(
    request: CommitRequest,
    report: ReceivedReport,
    same_association: bool,
    our_titles: tuple[str, ...] = (),
) -> Judged:
    """Judge a result against the request it answers: where it came, its command, its event
    and every instance (PS3.4 J.3.3.1.1, J.3.3.1.2). ``our_titles``: the AE titles a new
    association may call us by (the one the request came from, and --result-aet)."""
    ds = report.dataset if report.dataset is not None else Dataset()
    referenced, failed = _items(ds, _REFERENCED), _items(ds, _FAILED)
    asked = {i.sop_instance_uid: i.sop_class_uid for i in request.instances}
    in_failed = {item.sop_instance_uid for item in failed}
    findings = [
        *_delivery(report, same_association),
        *_called(report, same_association, our_titles),
        *_command(report),
        *_event(report.event_type_id, failed),
        *_instances(referenced, asked),
        *_instances(failed, asked),
        *_reasons(failed),
        *_in_both(referenced, in_failed),
        *_not_reported(request, {i.sop_instance_uid for i in referenced} | in_failed),
    ]
    return Judged(_sound(referenced, asked, in_failed), _as_failed(failed), tuple(findings))


def _items(ds: Dataset, keyword: str) -> list[_Item]:
    return [
        _Item(
            f"{keyword}[{index}]",
            str(item.get("ReferencedSOPClassUID") or ""),
            str(item.get("ReferencedSOPInstanceUID") or ""),
            item.get("FailureReason"),
        )
        for index, item in enumerate(ds.get(keyword) or [])
    ]


def _delivery(report: ReceivedReport, same_association: bool) -> list[Finding]:
    """The result's presentation context, and on a new association the role the PACS took:
    as association requestor it is the SCU by default (PS3.7 D.3.3.4), and an SCU does not
    invoke the N-EVENT-REPORT (PS3.4 J.3.3); J.3.3.1.2 note 1 has it negotiate the SCP role
    with SCP/SCU Role Selection, which J.2.1 makes mandatory to support."""
    context = next((c for c in report.association.contexts if c.id == report.context_id), None)
    if context is None:
        return []
    if context.abstract_syntax != STORAGE_COMMITMENT:
        return [
            Finding(
                "context-mismatch",
                "association",
                f"the result came on presentation context {context.id}, negotiated for "
                f"{context.abstract_syntax}, not for Storage Commitment Push Model "
                f"({STORAGE_COMMITMENT}): PS3.7 10.1.1, PS3.8 7.1.1.13",
            )
        ]
    if same_association or _scp_role_granted(context):
        return []
    who = report.association.calling_aet
    asked = context.proposed_roles is not None and context.proposed_roles[1]
    how = "was not granted the SCP role it proposed" if asked else "proposed no SCP role"
    return [
        Finding(
            "no-scp-role",
            "association",
            f"the result came on a new association on which {who} {how} for Storage "
            "Commitment Push Model: as association requestor it is the SCU (PS3.7 D.3.3.4); "
            "PS3.4 J.3.3.1.2 has the SCP negotiate the SCP role with SCP/SCU Role Selection",
        )
    ]


def _called(
    report: ReceivedReport, same_association: bool, our_titles: tuple[str, ...]
) -> list[Finding]:
    """On a new association, the PACS calls the AE title that asked (PS3.4 J.3.3: it reports
    to the requesting AE); a modality that checks its called AE title would reject another
    (1/1/7), so the result would be lost there."""
    called = report.association.called_aet
    if same_association or not our_titles or called in our_titles:
        return []
    return [
        Finding(
            "wrong-called-aet",
            "association",
            f"the result came on a new association calling AE title {called!r}, not "
            f"{' or '.join(our_titles)}, which the request came from: PS3.4 J.3.3 reports to "
            "the requesting AE, and a modality that checks its called AE title rejects "
            "another (A-ASSOCIATE-RJ 1/1/7)",
        )
    ]


def _scp_role_granted(context: ContextInfo) -> bool:
    proposed = context.proposed_roles
    return proposed is not None and proposed[1] and context.requestor_is_scp


def _command(report: ReceivedReport) -> list[Finding]:
    """The report is about the well-known SOP instance of the class (PS3.4 J.3.5)."""
    if report.sop_instance_uid == STORAGE_COMMITMENT_INSTANCE:
        return []
    return [
        Finding(
            "wrong-instance",
            "AffectedSOPInstanceUID",
            f"the result's Affected SOP Instance UID {report.sop_instance_uid!r} is not the "
            f"well-known Storage Commitment Push Model instance {STORAGE_COMMITMENT_INSTANCE} "
            "(PS3.4 J.3.5)",
        )
    ]


def _event(event_type_id: int | None, failed: list[_Item]) -> list[Finding]:
    """Event 1 when every instance was committed, event 2 when any failed (PS3.4 J.3.3.1.2)."""
    if event_type_id not in _EVENTS:
        known = "; ".join(f"{k} {v}" for k, v in _EVENTS.items())
        return [
            Finding(
                "unknown-event",
                "EventTypeID",
                f"Event Type ID {event_type_id} is not one PS3.4 Table J.3-2 defines ({known})",
            )
        ]
    if event_type_id == SUCCESS_EVENT and failed:
        return [
            Finding(
                "event-mismatch",
                "EventTypeID",
                f"event 1 ({_EVENTS[SUCCESS_EVENT]}) with {len(failed)} item(s) in Failed SOP "
                "Sequence: PS3.4 J.3.3.1.2 gives event 1 only when storage commitment succeeded "
                "for all the SOP Instances, event 2 when it failed for one or more",
            )
        ]
    if event_type_id == FAILURES_EVENT and not failed:
        return [
            Finding(
                "event-mismatch",
                "EventTypeID",
                f"event 2 ({_EVENTS[FAILURES_EVENT]}) without a failed instance: PS3.4 "
                "J.3.3.1.2 gives event 2 with references to the failed SOP Instances (Failed "
                "SOP Sequence, -/1 in Table J.3-2), event 1 when all succeeded",
            )
        ]
    return []


def _instances(items: list[_Item], asked: dict[str, str]) -> Iterator[Finding]:
    """Each item names a requested instance, once in its sequence, with the class requested."""
    seen: set[str] = set()
    for item in items:
        uid = item.sop_instance_uid
        if not uid or not item.sop_class_uid:
            missing = "Referenced SOP Instance UID" if not uid else "Referenced SOP Class UID"
            yield Finding(
                "incomplete-item",
                uid or item.where,
                f"{item.where} has no {missing}: PS3.4 Table J.3-2 requires both (-/1)",
            )
            if not uid:
                continue
        if uid not in asked:
            yield Finding(
                "not-requested",
                uid,
                f"{item.where} names {uid}, which the request did not ask to commit: the "
                "result reports the SOP Instances of the initiating N-ACTION (PS3.4 J.3.3.1.2)",
            )
        elif item.sop_class_uid and item.sop_class_uid != asked[uid]:
            yield Finding(
                "class-differs",
                uid,
                f"{item.where} gives {uid} the class {_class(item.sop_class_uid)}; it was "
                f"requested as {_class(asked[uid])} (PS3.4 J.3.3.1.2: the instances the "
                "N-ACTION referenced)",
            )
        if uid in seen:
            yield Finding(
                "reported-twice",
                uid,
                f"{item.where} names {uid} again: each instance of the N-ACTION is reported once "
                "(PS3.4 J.3.2.1.1.3, J.3.3.1.2)",
            )
        seen.add(uid)


def _class(uid: str) -> str:
    name = describe_class(uid)
    return f"{name} ({uid})" if name else uid


def _reasons(failed: list[_Item]) -> Iterator[Finding]:
    """Every failed instance with a Failure Reason the standard defines (PS3.4 J.3.3.1.2,
    PS3.3 C.14.1.1: 0110, 0112, 0119, 0122, 0131, 0213)."""
    defined = ", ".join(f"0x{code:04X}" for code in sorted(FAILURE_REASONS))
    for item in failed:
        where = item.sop_instance_uid or item.where
        if item.reason is None:
            yield Finding(
                "no-failure-reason",
                where,
                f"{item.where} has no Failure Reason: PS3.4 J.3.3.1.2 describes the reason for "
                "each failed SOP Instance (Table J.3-2: -/1)",
            )
        elif not isinstance(item.reason, int) or item.reason not in FAILURE_REASONS:
            shown = f"0x{item.reason:04X}" if isinstance(item.reason, int) else repr(item.reason)
            yield Finding(
                "undefined-failure-reason",
                where,
                f"{item.where}.FailureReason {shown} is not a Failure Reason the standard "
                f"defines ({defined}; PS3.4 J.3.3.1.2, PS3.3 C.14.1.1)",
            )


def _in_both(referenced: list[_Item], in_failed: set[str]) -> Iterator[Finding]:
    """An instance is committed or failed, never both: the result contradicts itself."""
    told: set[str] = set()
    for item in referenced:
        uid = item.sop_instance_uid
        if uid and uid in in_failed and uid not in told:
            told.add(uid)
            yield Finding(
                "in-both",
                uid,
                f"{uid} is in both Referenced SOP Sequence and Failed SOP Sequence: PS3.4 "
                "J.3.3.1.2 reports each instance as committed or as failed; not counted as "
                "committed",
            )


def _not_reported(request: CommitRequest, reported: set[str]) -> Iterator[Finding]:
    """PS3.4 J.3.3.1.2: every instance of the N-ACTION in one of the two sequences."""
    for instance in request.instances:
        uid = instance.sop_instance_uid
        if uid not in reported:
            yield Finding(
                "not-reported",
                uid,
                f"{uid} was requested and is in neither Referenced SOP Sequence nor Failed SOP "
                "Sequence: PS3.4 J.3.3.1.2 has the complete set of the N-ACTION in one of them; "
                "not counted as committed",
            )


def _sound(
    referenced: list[_Item], asked: dict[str, str], in_failed: set[str]
) -> tuple[ReferencedInstance, ...]:
    """What the result commits and a modality may act on (see the section's head)."""
    sound: dict[str, ReferencedInstance] = {}
    for item in referenced:
        uid = item.sop_instance_uid
        if asked.get(uid) == item.sop_class_uid and uid not in in_failed:
            sound.setdefault(uid, ReferencedInstance(item.sop_class_uid, uid))
    return tuple(sound.values())


def _as_failed(failed: list[_Item]) -> tuple[ReferencedInstance, ...]:
    """Failed SOP Sequence as reported; a Failure Reason that is no number is left out."""
    return tuple(
        ReferencedInstance(
            item.sop_class_uid,
            item.sop_instance_uid,
            item.reason if isinstance(item.reason, int) else None,
        )
        for item in failed
    )
