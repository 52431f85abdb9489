"""A received storage commitment request (N-ACTION) judged by the standard.

``listen --commitment`` plays the PACS (PS3.4 J.3.2): before it answers a
request, it checks it the way :mod:`dcmreport.dicom.validate` checks a
report: the command (Message ID, Action Type, the context, the well-known
instance), then the Action Information of Table J.3-1 (a valid Transaction
UID, a Referenced SOP Sequence with at least one item, each item a valid
SOP Class and Instance UID, each instance once). Each departure is a
:class:`~dcmreport.dicom.records.Finding`; :func:`standard_status` gives the
N-ACTION-RSP status the first decisive one gets. A request with a decisive
finding is refused, and nothing of it is committed: PS3.4 J.3.2.1.3, "a
failure status conveys that the SCP is not processing the request".

The statuses are those PS3.7 10.1.4.1.10 lists for an N-ACTION-RSP (PS3.2
Table N.7-44 repeats the list for storage commitment, and PS3.4 J.3.2.1
defines no status of the class's own). 0x0120 Missing Attribute and 0x0106
Invalid Attribute Value are not among them (they belong to N-CREATE and
N-SET), so every defect of the Action Information is 0x0115 Invalid argument
value, which PS3.7 C.5.10 gives to "the invalid argument values conveyed in
the N-ACTION-RQ". 0x0117 Invalid SOP Instance stays with the command's own
Requested SOP Instance UID, as for a report: a UID inside the Action
Information is an argument value, not the instance operated on.

A reused Transaction UID is not refused: the standard's answer to it is
Failure Reason 0x0131 Duplicate transaction UID (PS3.3 C.14.1.1, "the
Transaction UID of the Storage Commitment Request is already in use"), which
exists only in the result's Failed SOP Sequence (PS3.4 J.3.3.1). No
N-ACTION-RSP status says it (0x0210 Duplicate invocation is about the Message
ID), and PS3.4 J.3.2.1.3 Note 1 sends "failure of storage commitment" through
the N-EVENT-REPORT. So the request is acknowledged and its result fails every
instance with 0x0131 (``dcmreport.listen.handler``); here it is a finding,
:data:`DUPLICATE_TRANSACTION_UID`, that decides no status. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pydicom import Dataset

from dcmreport.dicom import catalog, validate
from dcmreport.dicom.records import Finding, ReceivedReport, ResponseStatus

REQUEST_STORAGE_COMMITMENT = 1  # its only Action Type (PS3.4 J.3.2, Table J.3-1)
DUPLICATE_TRANSACTION_UID = "duplicate-transaction-uid"  # failed in the result, not refused
DUPLICATE_TRANSACTION_REASON = 0x0131  # Failure Reason (PS3.3 C.14.1.1)

_INVALID_ARGUMENT = 0x0115

# The answer PS3.7 10.1.4.1.10 gives to each rule, in priority order: the command first
# (as validate.STANDARD_ANSWERS orders a report's), then the Action Information in the
# order of Table J.3-1. Error Comments are fixed texts (LO, 64 characters at most) that
# never quote the request: they reach the peer and its logs.
#   missing-message-id      0110  no status names a request without its Message ID
#                                 (PS3.7 10.1.4.1.1: mandatory); a failure answers it
#   missing-action-type     0123  "No such action": no Action Type is none defined
#   context-mismatch        0212  "Mistyped argument": the Requested SOP Class UID was
#                                 not agreed on the presentation context it came on
#   invalid-uid             0117  "Invalid SOP Instance": the Requested SOP Instance UID
#                                 breaks the UID rules (PS3.5 9.1)
#   wrong-instance          0112  "No such SOP Instance": not 1.2.840.10008.1.20.1.1 (J.3.5)
#   unknown-action          0123  "No such action": storage commitment has Action Type 1
#   missing-transaction-uid 0115  "Invalid argument value" (C.5.10): Transaction UID is
#                                 Type 1 in Table J.3-1, absent or empty here
#   invalid-transaction-uid 0115  its value is no UID (PS3.5 9.1)
#   missing-references      0115  Referenced SOP Sequence is Type 1, absent or empty
#   invalid-reference       0115  an item without a valid Referenced SOP Class or
#                                 Instance UID (both Type 1 in the SOP Instance Reference
#                                 Macro): nothing could be committed or failed by it
#   duplicate-reference     0115  the same SOP Instance twice: its result would have to
#                                 commit it and fail it, or name it twice (J.3.3.1)
STANDARD_ANSWERS: dict[str, ResponseStatus] = {
    "missing-message-id": ResponseStatus(0x0110, "the request has no Message ID"),
    "missing-action-type": ResponseStatus(0x0123, "the request has no Action Type ID"),
    "context-mismatch": ResponseStatus(0x0212, "SOP Class not agreed on this presentation context"),
    "invalid-uid": ResponseStatus(0x0117, "Requested SOP Instance UID violates UID rules"),
    "wrong-instance": ResponseStatus(0x0112, "not the well-known storage commitment instance"),
    "unknown-action": ResponseStatus(0x0123, "storage commitment has Action Type 1 only"),
    "missing-transaction-uid": ResponseStatus(_INVALID_ARGUMENT, "no Transaction UID"),
    "invalid-transaction-uid": ResponseStatus(
        _INVALID_ARGUMENT, "the Transaction UID violates the UID rules"
    ),
    "missing-references": ResponseStatus(
        _INVALID_ARGUMENT, "no Referenced SOP Sequence, or an empty one"
    ),
    "invalid-reference": ResponseStatus(
        _INVALID_ARGUMENT, "an item lacks a valid Referenced SOP Class or Instance UID"
    ),
    "duplicate-reference": ResponseStatus(
        _INVALID_ARGUMENT, "the same SOP Instance is referenced twice"
    ),
}

_REFERENCES = "ReferencedSOPSequence"


def request_findings(request: ReceivedReport) -> list[Finding]:
    """Everything about a received storage commitment request the standard disagrees with.

    The Action Information is judged only for Action Type 1 (another Action
    Type's information means nothing the standard defines), and only when it
    decoded: one that did not is the request's ``problem``, not an absence.
    """
    command = _command(request)
    if request.action_type_id != REQUEST_STORAGE_COMMITMENT or request.problem:
        return command
    ds = request.dataset if request.dataset is not None else Dataset()
    judged = [*_transaction(ds), *_references(ds)]
    return [*command, *judged, *_other_values(ds, {finding.path for finding in judged})]


def standard_status(found: Iterable[Finding]) -> ResponseStatus | None:
    """The N-ACTION-RSP status of the first decisive finding, None when none decides
    (:data:`DUPLICATE_TRANSACTION_UID` does not: it fails the result instead)."""
    kinds = {finding.kind for finding in found}
    return next((answer for kind, answer in STANDARD_ANSWERS.items() if kind in kinds), None)


def permissive_status(request: ReceivedReport) -> ResponseStatus | None:
    """``--answer-findings no``: refused only when it cannot be served at all (another
    action, another instance, nothing to name the result by or to commit), else None.

    What ``listen --commitment`` answered before it judged requests; the
    findings are shown and kept all the same.
    """
    if request.action_type_id != REQUEST_STORAGE_COMMITMENT:
        return STANDARD_ANSWERS["unknown-action"]
    if request.sop_instance_uid != catalog.STORAGE_COMMITMENT_INSTANCE:
        return STANDARD_ANSWERS["wrong-instance"]
    ds = request.dataset if request.dataset is not None else Dataset()
    if not ds.get("TransactionUID") or not ds.get(_REFERENCES):
        return ResponseStatus(_INVALID_ARGUMENT, "no Transaction UID or Referenced SOP Sequence")
    return None


def transaction_uid(request: ReceivedReport) -> str | None:
    """The Transaction UID a storage commitment request starts, None without a valid one.

    Any Action Type 1 request with a valid UID counts, refused or not: PS3.4
    J.3.2.1.2 forbids the SCU to reuse the UID of a request refused as well.
    """
    if request.action_type_id != REQUEST_STORAGE_COMMITMENT or request.dataset is None:
        return None
    uid = request.dataset.get("TransactionUID")
    return str(uid) if isinstance(uid, str) and _uid_problem(str(uid), "") is None else None


def duplicate_transaction(uid: str) -> Finding:
    """The finding of a Transaction UID that an earlier request of this listener used."""
    return Finding(
        DUPLICATE_TRANSACTION_UID,
        "TransactionUID",
        f"Transaction UID {uid} is already in use by an earlier request (PS3.4 J.3.2.1.2: "
        "unique per request); its result fails every instance with 0x0131 Duplicate "
        "transaction UID (PS3.3 C.14.1.1)",
    )


def _command(request: ReceivedReport) -> list[Finding]:
    """The rules on the N-ACTION-RQ's command elements (PS3.7 10.1.4.1)."""
    found = []
    if request.message_id is None:
        found.append(Finding("missing-message-id", "MessageID", "the request has no Message ID"))
    action = request.action_type_id
    if action is None:
        found.append(
            Finding("missing-action-type", "ActionTypeID", "the request has no Action Type ID")
        )
    context = request.context_class_uid
    if context and context != request.sop_class_uid:
        found.append(
            Finding(
                "context-mismatch",
                "RequestedSOPClassUID",
                f"Requested SOP Class UID {request.sop_class_uid!r} came on presentation "
                f"context {request.context_id}, negotiated for {context!r}",
            )
        )
    problem = _uid_problem(request.sop_instance_uid, "Requested SOP Instance UID")
    if problem:
        found.append(Finding("invalid-uid", "RequestedSOPInstanceUID", problem))
    if request.sop_instance_uid != catalog.STORAGE_COMMITMENT_INSTANCE:
        found.append(
            Finding(
                "wrong-instance",
                "RequestedSOPInstanceUID",
                f"Requested SOP Instance UID {request.sop_instance_uid!r} is not the well-known "
                f"storage commitment instance, {catalog.STORAGE_COMMITMENT_INSTANCE} (PS3.4 J.3.5)",
            )
        )
    if action is not None and action != REQUEST_STORAGE_COMMITMENT:
        found.append(
            Finding(
                "unknown-action",
                "ActionTypeID",
                f"Action Type {action} is not defined for the Storage Commitment Push Model "
                f"SOP Class (1 {catalog.describe_action(catalog.STORAGE_COMMITMENT, 1)})",
            )
        )
    return found


def _transaction(ds: Dataset) -> list[Finding]:
    """Transaction UID (0008,1195), Type 1 (Table J.3-1): present, not empty, a UID."""
    value = ds.get("TransactionUID")
    if value is None or value == "":
        where = "absent" if value is None else "empty"
        return [
            Finding(
                "missing-transaction-uid",
                "TransactionUID",
                f"TransactionUID is required (Type 1, PS3.4 Table J.3-1) but {where}",
            )
        ]
    problem = _uid_problem(str(value), "TransactionUID")
    if problem is None and isinstance(value, str):
        return []
    why = problem or "TransactionUID holds several values, not one UID"
    return [Finding("invalid-transaction-uid", "TransactionUID", why)]


def _references(ds: Dataset) -> Iterator[Finding]:
    """Referenced SOP Sequence (0008,1199), Type 1 with at least one item; in each item
    the SOP Instance Reference Macro's two UIDs, each instance named once."""
    items = ds.get(_REFERENCES)
    if not items:
        where = "absent" if items is None else "empty"
        yield Finding(
            "missing-references",
            _REFERENCES,
            f"{_REFERENCES} is required (Type 1, PS3.4 Table J.3-1) but {where}",
        )
        return
    first_at: dict[str, int] = {}
    for index, item in enumerate(items):
        path = f"{_REFERENCES}[{index}]"
        yield from _reference(item, path)
        uid = item.get("ReferencedSOPInstanceUID")
        if not isinstance(uid, str) or not uid:
            continue
        if uid in first_at:
            yield Finding(
                "duplicate-reference",
                f"{path}.ReferencedSOPInstanceUID",
                f"{path} names SOP Instance {uid!r} again, as {_REFERENCES}[{first_at[uid]}] did",
            )
        else:
            first_at[uid] = index


def _reference(item: Dataset, path: str) -> Iterator[Finding]:
    for keyword in ("ReferencedSOPClassUID", "ReferencedSOPInstanceUID"):
        value = item.get(keyword)
        where = f"{path}.{keyword}"
        if value is None or value == "":
            state = "absent" if value is None else "empty"
            yield Finding("invalid-reference", where, f"{where} is required (Type 1) but {state}")
            continue
        problem = (
            _uid_problem(str(value), where)
            if isinstance(value, str)
            else f"{where} holds several values, not one UID"
        )
        if problem:
            yield Finding("invalid-reference", where, problem)


def _other_values(ds: Dataset, judged: set[str]) -> list[Finding]:
    """Values invalid for their VR elsewhere (a Storage Media File-Set UID, say): shown,
    deciding nothing, as for a report; an element judged above is not reported twice."""
    return [
        f for f in validate.findings(catalog.STORAGE_COMMITMENT, None, ds) if f.path not in judged
    ]


def _uid_problem(value: str, what: str) -> str | None:
    """Why ``value`` is not a UID (PS3.5 9.1), None if it is."""
    try:
        catalog.check_uid(value, what)
    except ValueError as error:
        return str(error)
    return None
