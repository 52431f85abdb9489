"""What happened on the wire, as plain data: the shared vocabulary of the layers.

The association layer fills these records; the rendering layer shows them and
turns them into JSON. Neither needs the other, and nothing here imports
pynetdicom. Datasets stay pydicom ``Dataset`` objects until rendered.

Records are :func:`~dcmreport.frozen.frozen` dataclasses: immutable to the
type checker, without ``__eq__``, ``__hash__`` or ``__repr__`` (nothing
compares or prints them; the renderers show them, and a ``repr`` would quote
patient data), and cheap to create at every start.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from dcmreport.dicom.status import SUCCESS, WARNING, category
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    from pydicom import Dataset

    from dcmreport.errors import DcmreportError


class MessageKind(str, Enum):
    """What a received request is: a report, or an N-ACTION the listener serves."""

    N_EVENT_REPORT = "n-event-report"
    N_ACTION = "n-action"


class Role(str, Enum):
    """SCP/SCU role selection proposed for a context (PS3.7 D.3.3.4); NONE proposes none."""

    SCP = "scp"
    SCU = "scu"
    BOTH = "both"
    NONE = "none"

    @property
    def scu(self) -> bool:
        return self in (Role.SCU, Role.BOTH)

    @property
    def scp(self) -> bool:
        return self in (Role.SCP, Role.BOTH)


class CommitmentOn(str, Enum):
    """Where ``listen --commitment`` sends a result (PS3.4 J.3.3)."""

    AUTO = "auto"  # on the request's association while the requester holds it, else a new one
    SAME = "same"
    NEW = "new"


@frozen
class ContextInfo:
    """One presentation context: what was proposed and what came of it."""

    id: int
    abstract_syntax: str
    proposed_transfer_syntaxes: tuple[str, ...]
    transfer_syntax: str | None  # the accepted one, None if rejected
    proposed_roles: tuple[bool, bool] | None  # (SCU, SCP) from a role selection item, if any
    requestor_is_scu: bool = True
    requestor_is_scp: bool = False
    refusal: str | None = None  # why a refused context was refused (PS3.8 9.3.3.2)

    @property
    def accepted(self) -> bool:
        return self.transfer_syntax is not None


@frozen
class AssociationInfo:
    """The negotiated association, as the requestor proposed it and the acceptor answered."""

    calling_aet: str
    called_aet: str
    peer_address: str
    max_pdu: int  # the requestor's maximum PDU length (0: unlimited)
    implementation_class_uid: str
    implementation_version: str | None
    contexts: tuple[ContextInfo, ...] = ()
    acceptor_max_pdu: int | None = None
    acceptor_implementation_class_uid: str | None = None
    acceptor_implementation_version: str | None = None
    # Asynchronous Operations Window (PS3.7 D.3.3.3), (invoked, performed): the requestor's
    # proposal and the acceptor's answer; None when there was none (one at a time, (1, 1)).
    window_proposed: tuple[int, int] | None = None
    window_granted: tuple[int, int] | None = None


@frozen
class ResponseStatus:
    """A DIMSE response's status and the optional error fields that travel with it."""

    code: int
    error_comment: str | None = None
    error_id: int | None = None


@frozen
class Answer:
    """What the listener answers to one report."""

    status: ResponseStatus
    event_reply: Dataset | None = None
    abort: bool = False  # abort the association instead of answering (fault injection)


@frozen
class ReceivedReport:
    """An N-EVENT-REPORT-RQ as the listener received it, or an N-ACTION-RQ it serves
    (``kind``; storage commitment's request, with its Action Type and Action Information)."""

    association: AssociationInfo
    context_id: int
    transfer_syntax: str
    message_id: int | None  # None: the peer left it out
    sop_class_uid: str
    sop_instance_uid: str
    event_type_id: int | None
    dataset: Dataset | None
    received_at: datetime = field(default_factory=lambda: datetime.now().astimezone())
    problem: str | None = None  # e.g. the Event Information could not be decoded
    problem_status: int = 0x0110  # the answer to a problem: 0x0213 for a limit, else 0x0110
    context_class_uid: str = ""  # the abstract syntax of the context it came on
    kind: MessageKind = MessageKind.N_EVENT_REPORT
    # An N-ACTION's Action Type ID (its event_type_id is then None: an action is no event).
    action_type_id: int | None = None
    # The data set's bytes as received (inflated if deflated), when it decoded: what
    # --output-dir keeps, never encoded again.
    encoded: bytes | None = field(default=None, repr=False)


@frozen
class Finding:
    """One departure from the standard; ``str()`` is the line shown to the user.

    ``kind`` names the rule: missing, empty, other-event, undefined-value,
    invalid-value, unexpected, unknown-event, and the rules about the command
    itself that decide ``listen``'s answer by default (see ``dcmreport.dicom.validate``);
    for a storage commitment request ``listen --commitment`` receives, the rules of
    ``dcmreport.dicom.commitment_request``; for what a peer answers ``send-report`` or
    ``commit``, the rules of ``dcmreport.dicom.judge``.
    """

    kind: str
    path: str  # the attribute, e.g. FailedSOPSequence[0].FailureReason; '' for the whole report
    message: str

    def __str__(self) -> str:
        return self.message


@frozen
class Delivery:
    """Whether an answer reached the network: written to the peer's socket, or why not."""

    sent: bool
    reason: str | None = None  # why it was not sent (the peer aborted, the connection closed ...)


@frozen
class ReportRecord:
    """A received report, its findings, the answer decided and whether that answer went out.

    ``answer`` is None while it is being decided and ``delivery`` None until
    the association layer has tried to send it: the record kept on disk before
    the answer has both None, the completed one has both.
    """

    report: ReceivedReport
    answer: Answer | None
    files: tuple[str, ...] = ()  # where --output-dir keeps it
    findings: tuple[Finding, ...] = ()
    delivery: Delivery | None = None
    # Where the data set starts in the kept Part 10 file (files[0]): its JSON form refers
    # to a large binary value there rather than copying it. None: no Part 10 file.
    dataset_offset: int | None = None
    inline_binary: bool = False  # listen --inline-binary: every value whole in the JSON form


@frozen
class ReportRequest:
    """An N-EVENT-REPORT the user wants to send."""

    sop_class_uid: str
    sop_instance_uid: str
    event_type_id: int
    message_id: int = 1
    dataset: Dataset | None = None
    context_class_uid: str | None = None  # abstract syntax to send it on, if not the class
    role: Role = Role.SCP  # role selection proposed for the report's context


@frozen
class ReportResponse:
    """The N-EVENT-REPORT-RSP the peer sent back."""

    request: ReportRequest
    association: AssociationInfo
    status: ResponseStatus
    message_id_being_responded_to: int | None
    sop_class_uid: str | None
    sop_instance_uid: str | None
    event_type_id: int | None
    event_reply: Dataset | None
    round_trip_ms: float
    findings: tuple[Finding, ...] = ()  # where the response breaks the standard (dicom/judge.py)


@frozen
class ReferencedInstance:
    """A SOP instance of a storage commitment, with its Failure Reason when it failed."""

    sop_class_uid: str
    sop_instance_uid: str
    failure_reason: int | None = None


@frozen
class CommitRequest:
    """A storage commitment request (N-ACTION, Action Type ID 1) the user wants to send."""

    transaction_uid: str
    dataset: Dataset  # the Action Information
    instances: tuple[ReferencedInstance, ...]
    message_id: int = 1
    transaction_uid_generated: bool = False


@frozen
class CommitResult:
    """One transaction: the N-ACTION-RSP and, if it came, the report with its result.

    ``report`` is None when the N-ACTION failed (nothing is waited for) or
    no report came within the timeout; ``elapsed_ms`` runs from the request
    to the report.
    """

    request: CommitRequest
    association: AssociationInfo  # the association the N-ACTION went on
    action_status: ResponseStatus
    report: ReceivedReport | None = None
    same_association: bool = False  # whether the report came on the N-ACTION's association
    committed: tuple[ReferencedInstance, ...] = ()
    failed: tuple[ReferencedInstance, ...] = ()
    elapsed_ms: float | None = None
    findings: tuple[Finding, ...] = ()  # where the N-ACTION-RSP or the result breaks the standard


@frozen
class ResultDelivery:
    """Whether ``listen --commitment`` delivered a result, where, and what the requester said."""

    delivered: bool
    attempts: int
    association: str | None = None  # "same" or "new": where the last attempt went
    status: ResponseStatus | None = None  # the requester's N-EVENT-REPORT-RSP
    reason: str | None = None  # why it was not delivered


@frozen
class CommitmentResultRecord:
    """A storage commitment result that ``listen --commitment`` decided and sends (J.3.3).

    ``delivery`` is None while it is being delivered: the record kept on disk
    before the first attempt says so, the completed one says what happened.
    """

    request: ReceivedReport  # the N-ACTION it answers
    transaction_uid: str
    event_type_id: int
    dataset: Dataset  # the Event Information
    committed: tuple[ReferencedInstance, ...]
    failed: tuple[ReferencedInstance, ...]
    policy: str  # the --commitment policy that decided it
    # Why the policy did not decide: the exec program's result was replaced (all failed
    # 0x0110), or the Transaction UID was reused (all failed 0x0131).
    fallback: str | None = None
    decided_at: datetime = field(default_factory=lambda: datetime.now().astimezone())
    files: tuple[str, ...] = ()  # where --output-dir keeps it
    delivery: ResultDelivery | None = None


@frozen
class EchoResponse:
    """The C-ECHO-RSP the peer sent back."""

    association: AssociationInfo
    status: ResponseStatus
    round_trip_ms: float


@frozen
class PeerCheck:
    """A named peer of the settings file and, once checked, its C-ECHO or why it failed."""

    name: str
    address: str
    echo: EchoResponse | None = None
    error: DcmreportError | None = None


# --- a batch: send-report --batch / --repeat ------------------------------------------

MAX_MESSAGE_ID = 65535


def assigned_id(first: int, offset: int) -> int:
    """The message ID ``offset`` reports after ``first``, wrapping from 65535 to 1."""
    return (first - 1 + offset) % MAX_MESSAGE_ID + 1


@frozen
class Item:
    """A report to send: its place in the batch (1, 2, ...) and its ``--batch`` line, if any."""

    index: int
    request: ReportRequest
    line: int | None = None


def repeated(items: list[Item], times: int) -> Iterator[Item]:
    """``items`` ``times`` over, counted on; each pass moves the message IDs on by ``len(items)``.

    A copy shares its request's data set: a batch encodes a data set once,
    however often it is sent.
    """
    yield from items
    for done in range(1, times):
        for position, item in enumerate(items, 1):
            request = item.request
            message_id = assigned_id(request.message_id, done * len(items))
            yield Item(
                done * len(items) + position,
                replace(request, message_id=message_id),
                item.line,
            )


@frozen
class Result:
    """An answered report: on which association (1, 2, ...) and which attempt (2+: resent)."""

    item: Item
    response: ReportResponse
    association: int
    attempt: int


def succeeded(result: Result) -> bool:
    return category(result.response.status.code) in (SUCCESS, WARNING)


def window_words(asked: int, granted: int) -> str:
    """What a peer made of --window, said by -v and by the summary when it granted less."""
    return f"asked {asked}, the peer granted {granted} (send-report runs at {granted})"


@dataclass(eq=False, repr=False)
class Summary:
    """What a batch did, added up as the answers come."""

    total: int | None = None  # reports to send, when known in advance
    sent: int = 0  # requests written, resent ones included
    resent: int = 0
    succeeded: int = 0
    failed: Counter[int] = field(default_factory=Counter)  # status code -> count
    with_findings: int = 0  # answers that break the standard (dicom/judge.py), any status
    window: int = 1  # the largest window an association allowed
    window_asked: int = 1  # --window: requests outstanding at once, if the peer allows as many
    window_granted: int | None = None  # the smallest window a peer allowed (None: no association)
    associations: int = 0
    error: str | None = None  # why the batch stopped early
    _latencies: list[float] = field(default_factory=list)  # sorted, ms
    _started: float = field(default_factory=time.perf_counter)
    _elapsed: float | None = None

    def add(self, result: Result) -> None:
        if succeeded(result):
            self.succeeded += 1
        else:
            self.failed[result.response.status.code] += 1
        self.with_findings += bool(result.response.findings)
        bisect.insort(self._latencies, result.response.round_trip_ms)

    @property
    def answered(self) -> int:
        return self.succeeded + sum(self.failed.values())

    @property
    def unanswered(self) -> int:
        """Sent and never answered (once the batch is over: it stopped before their answer)."""
        return self.sent - self.resent - self.answered

    def finish(self) -> None:
        self._elapsed = time.perf_counter() - self._started

    @property
    def elapsed_s(self) -> float:
        return self._elapsed if self._elapsed is not None else time.perf_counter() - self._started

    def percentile(self, share: float) -> float | None:
        """The nearest-rank percentile of the round trips, in ms; None without any."""
        if not self._latencies:
            return None
        rank = max(1, round(share * len(self._latencies) + 0.5))
        return self._latencies[min(rank, len(self._latencies)) - 1]

    @property
    def reports_per_s(self) -> float:
        return self.answered / self.elapsed_s if self.elapsed_s > 0 else 0.0
