"""The rich text view: what a person reads on a terminal.

Imported only when text output is chosen (see :mod:`dcmreport.output.render`), since
rich is the slowest import on the JSON path. A report can be huge (a storage
commitment of 100,000 instances, a 10 MB OB value): a terminal can show none of
that usefully, and building it whole costs seconds and memory. So the view is a
summary unless ``full``: a long sequence shows its first and last items and how
many it left out, a long multi-valued element its first values and its count.
A long single value (bytes or text) is always summarised to its start and its
size, ``full`` or not; the JSON form has every value whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence, Sized
from typing import TYPE_CHECKING, Any

from pydicom.multival import MultiValue
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from dcmreport.dicom import catalog, ups
from dcmreport.dicom.records import (
    Answer,
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
    window_words,
)
from dcmreport.dicom.status import FAILURE, SUCCESS, WARNING, Status
from dcmreport.output.view import ReportView

if TYPE_CHECKING:
    from pydicom import Dataset
    from pydicom.dataelem import DataElement
    from rich.progress import Progress, TaskID

    from dcmreport.dicom.records import AssociationInfo, Result, Summary
    from dcmreport.dicom.ups import ActionResponse, EventDelivery

_STYLE = {SUCCESS: "bold green", WARNING: "bold yellow", FAILURE: "bold red"}
_LINE_STYLE = {SUCCESS: "green", WARNING: "yellow", FAILURE: "red"}

# A summary keeps the first HEAD and last TAIL of anything longer than MAX.
MAX_ITEMS, HEAD_ITEMS, TAIL_ITEMS = 6, 3, 2  # sequence items
MAX_VALUES, HEAD_VALUES = 16, 8  # values of a multi-valued element
MAX_FINDINGS, HEAD_FINDINGS = 20, 10  # a bad item in 100,000 is 100,000 findings
MAX_CHARS = 64  # a longer text value shows its first MAX_CHARS characters
HEAD_BYTES = 16  # a longer binary value shows its first HEAD_BYTES bytes, in hex
FAILURE_REASON = 0x00081197  # (0008,1197) Failure Reason, US: shown by name
# A report whose data set came in this many bytes or more has its panel built as it is queued
# for the view, not when it is drawn (see _panel).
EAGER_PANEL_BYTES = 1024 * 1024


# --- values -------------------------------------------------------------------------------


def _bytes_text(value: bytes | bytearray) -> str:
    if len(value) <= HEAD_BYTES:
        return repr(bytes(value))
    return f"{value[:HEAD_BYTES].hex(' ')} … ({len(value):,} bytes)"


def _scalar_text(value: object) -> str:
    """pydicom's quoted form (control characters escaped), cut after MAX_CHARS characters."""
    if isinstance(value, bytes | bytearray):
        return _bytes_text(value)
    text = str(value)  # the same object for a str: no copy of a long value
    if len(text) > MAX_CHARS:
        return f"{text[:MAX_CHARS]!r} … ({len(text):,} characters)"
    return repr(value)


def _uid_text(value: object) -> str:
    """A UID stays unquoted, named when the catalog knows it; anything odd is quoted."""
    uid = str(value)
    if len(uid) > MAX_CHARS or not uid.isprintable():
        return _scalar_text(value)
    name = catalog.describe_class(uid)
    return f"{uid} ({name})" if name else uid


def _failure_reason_text(code: int) -> str:
    """A Failure Reason as ``commit`` and ``listen`` show it: ``0x0112 No such object instance``."""
    meaning = catalog.FAILURE_REASONS.get(code, ("", "unknown Failure Reason"))[1]
    return f"0x{code:04X} {meaning}"


def _value_text(elem: DataElement, full: bool) -> str:
    """The element's value on one line; '' for an empty one. A Failure Reason is named."""
    value = elem.value
    if value is None or (isinstance(value, Sized) and len(value) == 0):
        return ""
    if elem.tag == FAILURE_REASON and isinstance(value, int):
        return _failure_reason_text(value)
    one = _uid_text if elem.VR == "UI" else _scalar_text
    if not isinstance(value, list | MultiValue):
        return one(value)
    shown = value if full or len(value) <= MAX_VALUES else value[:HEAD_VALUES]
    joined = ("\\" if elem.VR == "UI" else ", ").join(one(v) for v in shown)
    if elem.VR != "UI":
        joined = f"[{joined}]"
    return joined if len(shown) == len(value) else f"{joined} … ({len(value):,} values)"


def _element_label(elem: DataElement, full: bool) -> Text:
    tag = f"({elem.tag.group:04X},{elem.tag.element:04X})"
    label = Text.assemble(
        (tag, "cyan"), " ", (elem.VR, "magenta"), " ", (elem.keyword or elem.name, "bold")
    )
    if elem.VR == "SQ":
        count = len(elem.value)
        label.append(f"  {count:,} item{'' if count == 1 else 's'}", style="dim")
        return label
    value = _value_text(elem, full)
    label.append(f"  {value}" if value else "  (empty)", style="default" if value else "dim")
    return label


# --- data sets ----------------------------------------------------------------------------


def shown_indexes(count: int, full: bool) -> tuple[range, range]:
    """Which items of ``count`` a view shows: (the first ones, the last ones)."""
    if full or count <= MAX_ITEMS:
        return range(count), range(count, count)
    return range(HEAD_ITEMS), range(count - TAIL_ITEMS, count)


def _add_items(branch: Tree, items: Sequence[Dataset], full: bool) -> None:
    head, tail = shown_indexes(len(items), full)
    for index in head:
        _add_dataset(branch.add(Text(f"Item {index}", style="dim")), items[index], full)
    if not tail:
        return
    left_out = len(items) - len(head) - len(tail)
    branch.add(
        Text(f"… {left_out:,} more items of {len(items):,} (--full shows all) …", style="dim")
    )
    for index in tail:
        _add_dataset(branch.add(Text(f"Item {index}", style="dim")), items[index], full)


def _add_dataset(tree: Tree, ds: Dataset, full: bool) -> None:
    for elem in ds:
        branch = tree.add(_element_label(elem, full))
        if elem.VR == "SQ":
            _add_items(branch, elem.value, full)


def dataset_tree(title: str, ds: Dataset | None, full: bool = False) -> Tree:
    """``ds`` as a tree, summarised unless ``full`` (see the module docstring)."""
    tree = Tree(Text(title, style="bold"))
    if ds is None:
        tree.add(Text("(none)", style="dim"))
    elif len(ds) == 0:
        tree.add(Text("(empty data set)", style="dim"))
    else:
        _add_dataset(tree, ds, full)
    return tree


# --- records ------------------------------------------------------------------------------


def status_text(status: ResponseStatus) -> Text:
    described = Status(status.code)
    text = Text(str(described), style=_STYLE.get(described.category, "bold"))
    if status.error_comment:
        text.append(f"  Error Comment: {status.error_comment}", style="default")
    if status.error_id is not None:
        text.append(f"  Error ID: {status.error_id}", style="default")
    return text


def _class_text(uid: str | None) -> Text:
    if uid is None:
        return Text("(absent)", style="dim")
    name = catalog.describe_class(uid)
    return Text.assemble((name + " ", "bold") if name else "", (f"[{uid}]", "cyan"))


def _event_text(class_uid: str | None, event_id: int | None) -> Text:
    if event_id is None:
        return Text("(absent)", style="dim")
    name = catalog.describe_event(class_uid, event_id) if class_uid else ""
    return Text.assemble((str(event_id), "bold"), f" {name}" if name else "")


def _action_text(class_uid: str, action_id: int | None) -> Text:
    """An N-ACTION's Action Type and its name; never an event's (the ids overlap)."""
    if action_id is None:
        return Text("(absent)", style="dim")
    name = catalog.describe_action(class_uid, action_id)
    return Text.assemble(
        (str(action_id), "bold"), f" {name}" if name else (" (not defined for the class)", "dim")
    )


def _fields(rows: list[tuple[str, Text | str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    for name, value in rows:
        table.add_row(name, value)
    return table


def _answered_text(answer: Answer | None, delivery: Delivery | None) -> Text:
    """The answer decided and, when it never reached the peer, why: the peer was not told."""
    if answer is None:
        return Text("(not yet)", style="dim")
    if answer.abort:
        text = Text("aborted the association instead (--abort-after)", style="bold red")
    else:
        text = status_text(answer.status)
    if delivery is not None and not delivery.sent:
        reason = f": {delivery.reason}" if delivery.reason else ""
        text.append(f"  (not sent{reason})", style="red")
    return text


def _findings_text(findings: tuple[Finding, ...], full: bool) -> Text:
    shown = findings if full or len(findings) <= MAX_FINDINGS else findings[:HEAD_FINDINGS]
    text = Text("\n").join(
        Text.assemble((f"{f.kind}: ", "bold yellow"), (f.message, "yellow")) for f in shown
    )
    if len(shown) < len(findings):
        text.append(f"\n… {len(findings) - len(shown):,} more findings", style="dim")
    return text


def record_text(record: ReportRecord, full: bool = False) -> Panel:
    """One received report: who sent it, what it says, what was answered and whether it went out."""
    report, answer = record.report, record.answer
    info = report.association
    action = report.kind is MessageKind.N_ACTION  # a storage commitment request
    event = (
        _action_text(report.sop_class_uid, report.action_type_id)
        if action
        else _event_text(report.sop_class_uid, report.event_type_id)
    )
    rows: list[tuple[str, Text | str]] = [
        ("From", f"{info.calling_aet} -> {info.called_aet}  ({info.peer_address})"),
        ("Message ID", str(report.message_id)),
        ("SOP Class", _class_text(report.sop_class_uid)),
        ("SOP Instance", report.sop_instance_uid),
        ("Action Type" if action else "Event Type", event),
        ("Context", f"{report.context_id}, {catalog.transfer_syntax_name(report.transfer_syntax)}"),
        ("Answered", _answered_text(answer, record.delivery)),
    ]
    if report.problem:
        rows.append(("Problem", Text(report.problem, style="red")))
    if record.findings:
        rows.append(("Findings", _findings_text(record.findings, full)))
    if record.files:
        rows.append(("Kept", "\n".join(record.files)))
    parts: list[RenderableType] = [
        _fields(rows),
        dataset_tree("Action Information" if action else "Event Information", report.dataset, full),
    ]
    if answer is not None and answer.event_reply is not None:
        parts.append(dataset_tree("Event Reply sent", answer.event_reply, full))
    stamp = report.received_at.strftime("%H:%M:%S")
    title = "N-ACTION" if action else "N-EVENT-REPORT"
    return Panel(Group(*parts), title=f"{title} {stamp}", title_align="left")


def response_text(rsp: ReportResponse, full: bool = False) -> Group:
    rows: list[tuple[str, Text | str]] = [
        ("Status", status_text(rsp.status)),
        ("Responding to", f"message ID {rsp.message_id_being_responded_to}"),
        ("SOP Class", _class_text(rsp.sop_class_uid)),
        ("SOP Instance", rsp.sop_instance_uid or Text("(absent)", style="dim")),
        ("Event Type", _event_text(rsp.request.sop_class_uid, rsp.event_type_id)),
        ("Round trip", f"{rsp.round_trip_ms:.1f} ms"),
    ]
    if rsp.findings:
        rows.append(("Findings", _findings_text(rsp.findings, full)))
    return Group(_fields(rows), dataset_tree("Event Reply", rsp.event_reply, full))


def _instances_text(instances: tuple[ReferencedInstance, ...], full: bool) -> Text:
    """One line per instance (class, UID, and the reason it failed), summarised unless full."""
    head, tail = shown_indexes(len(instances), full)
    lines = [_instance_line(instances[i]) for i in head]
    if tail:
        left_out = len(instances) - len(head) - len(tail)
        lines.append(Text(f"… {left_out:,} more (--full shows all) …", style="dim"))
        lines += [_instance_line(instances[i]) for i in tail]
    return Text("\n").join(lines)


def _instance_line(instance: ReferencedInstance) -> Text:
    name = catalog.describe_class(instance.sop_class_uid) or instance.sop_class_uid
    line = Text.assemble(instance.sop_instance_uid, "  ", (name, "dim"))
    if instance.failure_reason is not None:
        line.append(f"  {_failure_reason_text(instance.failure_reason)}", style="red")
    return line


def commit_text(result: CommitResult, full: bool = False) -> Table:
    """One transaction: the N-ACTION's status, then what the result says and where it came."""
    report = result.report
    rows: list[tuple[str, Text | str]] = [
        ("Transaction", result.request.transaction_uid),
        ("Requested", f"{len(result.request.instances):,} instance(s)"),
        ("N-ACTION", status_text(result.action_status)),
    ]
    if report is None:
        refused = Status(result.action_status.code).category not in (SUCCESS, WARNING)
        why = "not waited for: the request was refused" if refused else "none came"
        rows.append(("Result", Text(f"({why})", style="bold red")))
        if result.findings:
            rows.append(("Findings", _findings_text(result.findings, full)))
        return _fields(rows)
    info = report.association
    who = info.called_aet if result.same_association else info.calling_aet
    where = "the same association" if result.same_association else "a new association"
    rows += [
        ("Result", _event_text(catalog.STORAGE_COMMITMENT, report.event_type_id)),
        ("From", f"{who} ({info.peer_address}), on {where}"),
        ("Time", f"{result.elapsed_ms or 0:.1f} ms from request to result"),
    ]
    rows += _committed_and_failed_rows(result.committed, result.failed, full)
    if result.findings:
        rows.append(("Findings", _findings_text(result.findings, full)))
    return _fields(rows)


def _committed_and_failed_rows(
    committed: tuple[ReferencedInstance, ...], failed: tuple[ReferencedInstance, ...], full: bool
) -> list[tuple[str, Text | str]]:
    """Counts of committed and failed instances, each followed by its (summarised) list."""
    rows: list[tuple[str, Text | str]] = [("Committed", f"{len(committed):,}")]
    if committed:
        rows.append(("", _instances_text(committed, full)))
    rows.append(("Failed", Text(f"{len(failed):,}", style="bold red" if failed else "")))
    if failed:
        rows.append(("", _instances_text(failed, full)))
    return rows


def _result_delivery_text(result: CommitmentResultRecord) -> Text:
    """Whether the requester got the result, on which association, and what it answered."""
    delivery, to = result.delivery, result.request.association.calling_aet
    if delivery is None:
        return Text(f"to {to}: (not yet)", style="dim")
    tries = f"after {delivery.attempts} attempt(s)"
    if not delivery.delivered:
        return Text(f"to {to}: NOT delivered {tries}: {delivery.reason}", style="bold red")
    text = Text(f"to {to} on {'the same' if delivery.association == 'same' else 'a new'} ")
    text.append(f"association {tries}: ")
    return text.append_text(status_text(delivery.status or ResponseStatus(0)))


def commitment_result_text(result: CommitmentResultRecord, full: bool = False) -> Panel:
    """A result ``listen --commitment`` sent: what it says, and whether it was delivered."""
    rows: list[tuple[str, Text | str]] = [
        ("Result", _event_text(catalog.STORAGE_COMMITMENT, result.event_type_id)),
        ("Transaction", result.transaction_uid),
        ("Sent", _result_delivery_text(result)),
    ]
    rows += _committed_and_failed_rows(result.committed, result.failed, full)
    if result.fallback:
        rows.append(("Fallback", Text(result.fallback, style="red")))  # it says whose
    if result.files:
        rows.append(("Kept", "\n".join(result.files)))
    stamp = result.decided_at.strftime("%H:%M:%S")
    return Panel(_fields(rows), title=f"Storage commitment result {stamp}", title_align="left")


def report_line(record: ReportRecord) -> Text:
    """One report on one line: when, message ID, who, class, event (or action), answer."""
    report, answer = record.report, record.answer
    action = report.kind is MessageKind.N_ACTION
    type_id = report.action_type_id if action else report.event_type_id
    if action:
        type_name = catalog.describe_action(report.sop_class_uid, type_id) if type_id else ""
    else:
        type_name = catalog.describe_event(report.sop_class_uid, type_id) if type_id else ""
    line = Text.assemble(
        (report.received_at.strftime("%H:%M:%S.%f")[:-3], "dim"),
        f"  #{report.message_id}  {report.association.calling_aet}  ",
        (catalog.describe_class(report.sop_class_uid) or report.sop_class_uid, "bold"),
        f"  {'action' if action else 'event'} {type_id}",
        f" {type_name}" if type_name else "",
        "  -> ",
    )
    if answer is None:
        line.append("not answered", style="red")
    elif answer.abort:
        line.append("aborted instead (--abort-after)", style="red")
    else:
        status = Status(answer.status.code)
        line.append(str(status), style=_LINE_STYLE.get(status.category, "bold"))
    if record.findings:
        line.append(f"  {len(record.findings)} finding(s)", style="yellow")
    if record.delivery is not None and not record.delivery.sent:
        line.append(f"  (not sent: {record.delivery.reason or 'the association ended'})", "red")
    return line


def result_line(result: CommitmentResultRecord) -> Text:
    """A storage commitment result on one line: transaction, counts, delivered or not."""
    delivery = result.delivery
    delivered = delivery is not None and delivery.delivered
    return Text.assemble(
        (result.decided_at.strftime("%H:%M:%S.%f")[:-3], "dim"),
        f"  result for {result.request.association.calling_aet}: transaction "
        f"{result.transaction_uid}, event {result.event_type_id}, "
        f"{len(result.committed):,} committed, {len(result.failed):,} failed  ",
        ("delivered", "green") if delivered else ("NOT delivered", "red"),
    )


def echo_text(rsp: EchoResponse) -> Text:
    return Text.assemble(
        "C-ECHO ",
        status_text(rsp.status),
        f"  {rsp.round_trip_ms:.1f} ms  ({rsp.association.called_aet}"
        f"@{rsp.association.peer_address})",
    )


# --- the renderer -------------------------------------------------------------------------


def peers_table(checks: list[PeerCheck]) -> Table:
    """Name, address and, once checked, the round trip or the reason it failed."""
    checked = any(c.echo or c.error for c in checks)
    table = Table(box=None, pad_edge=False)
    table.add_column("name", style="bold")
    table.add_column("address")
    if checked:
        table.add_column("C-ECHO")
    for check in checks:
        row = [Text(check.name), Text(check.address)]  # Text: a name is no markup
        if check.echo:
            row.append(
                Text(f"{check.echo.round_trip_ms:.1f} ms  ").append_text(
                    status_text(check.echo.status)
                )
            )
        elif check.error:
            row.append(
                Text.assemble(
                    ("failed", "red"), f" (exit {int(check.error.exit_code)}): {check.error}"
                )
            )
        table.add_row(*row)
    return table


def summary_text(summary: Summary) -> Table:
    """A batch's end on a terminal: counts, failures by status, speed and round trips."""
    failed = sum(summary.failed.values())
    rows: list[tuple[str, Text | str]] = [
        ("Sent", f"{summary.sent:,}" + (f" ({summary.resent:,} resent)" if summary.resent else "")),
        ("Succeeded", Text(f"{summary.succeeded:,}", style=_STYLE[SUCCESS])),
        ("Failed", Text(f"{failed:,}", style=_STYLE[FAILURE] if failed else "")),
    ]
    for code, count in sorted(summary.failed.items()):
        rows.append(("", Text(f"{count:,} x ").append_text(status_text(ResponseStatus(code)))))
    broken = summary.with_findings  # answers that break the standard, whatever their status
    rows.append(("With findings", Text(f"{broken:,}", style=_STYLE[FAILURE] if broken else "")))
    if summary.unanswered:
        rows.append(("Unanswered", Text(f"{summary.unanswered:,}", style=_STYLE[FAILURE])))
    rows.append(
        (
            "Speed",
            f"{summary.reports_per_s:,.1f} reports/s in {summary.elapsed_s:.3f} s, "
            f"{summary.associations} association(s), window {summary.window}",
        )
    )
    granted = summary.window_granted
    if granted is not None and granted < summary.window_asked:
        rows.append(("Window", window_words(summary.window_asked, granted)))
    p50, p90, p99 = (summary.percentile(share) for share in (0.5, 0.9, 0.99))
    if p50 is not None and p90 is not None and p99 is not None:
        rows.append(("Round trip", f"p50 {p50:.3f} ms, p90 {p90:.3f} ms, p99 {p99:.3f} ms"))
    if summary.error:
        rows.append(("Stopped", Text(summary.error, style=_STYLE[FAILURE])))
    return _fields(rows)


def _panel(
    received: ReceivedReport, build: Callable[[], RenderableType]
) -> Callable[[], RenderableType]:
    """How the view builds the panel of what came with ``received``: when it is drawn, or,
    for a large data set, now. A panel holds summaries, not the data set: the view, which
    may wait on a paused terminal, then holds none of it once the memory budget has given
    its share back."""
    if len(received.encoded or b"") < EAGER_PANEL_BYTES:
        return build
    panel = build()
    return lambda: panel


class TextRenderer:
    """Rich text on ``out``, styled lines on ``err``; see :class:`~.render.Renderer`."""

    def __init__(self, out: Console, err: Console, quiet: bool = False, full: bool = False) -> None:
        self._out = out
        self._err = err
        self._quiet = quiet
        self._full = full
        # one lock per stream: a warning never waits for a terminal slow to take a report
        self._locks = {id(out): threading.Lock(), id(err): threading.Lock()}
        self._view: ReportView | None = None  # listen's reports, drawn by a thread of its own
        self._progress: Progress | None = None  # a batch's, while it runs
        self._task: TaskID | None = None
        self._total = 0

    def _write(self, console: Console, renderable: RenderableType, **options: Any) -> None:
        """Render outside the lock, then one write and one flush under it."""
        with console.capture() as captured:
            console.print(renderable, **options)
        self._write_text(console, captured.get())

    def _write_text(self, console: Console, text: str) -> None:
        with self._locks[id(console)]:
            console.file.write(text)
            console.file.flush()

    def _report_view(self) -> ReportView:
        if self._view is None:
            self._view = ReportView(self._out, lambda text: self._write_text(self._out, text))
        return self._view

    def echo(self, rsp: EchoResponse) -> None:
        self._write(self._out, echo_text(rsp))

    def report_response(self, rsp: ReportResponse) -> None:
        for finding in rsp.findings:
            self.warn(str(finding))
        self._write(self._out, response_text(rsp, self._full))

    def report_received(self, record: ReportRecord, form: dict[str, Any] | None = None) -> None:
        """Queued for the view (:mod:`~.view`): a panel, or a line when reports come fast."""
        answer = record.answer
        how = "not answered" if answer is None else Status(answer.status.code).category
        self._report_view().add(
            "aborted" if answer is not None and answer.abort else how,
            report_line(record),
            _panel(record.report, lambda: record_text(record, self._full)),
        )

    def commit_result(self, result: CommitResult) -> None:
        self._write(self._out, commit_text(result, self._full))

    def batch_started(self, total: int) -> None:
        self._total = total

    def batch_association(self, number: int, info: AssociationInfo) -> None:
        """The progress bar starts with the first association (an error before it has none)."""
        if number > 1:
            self.note(f"association {number} with {info.called_aet} ({info.peer_address})")
            return
        from rich.progress import Progress

        self._progress = Progress(console=self._out, transient=True)
        self._task = self._progress.add_task("Sending reports", total=self._total)
        self._progress.start()

    def batch_result(self, result: Result) -> None:
        for finding in result.response.findings:
            self.warn(f"message ID {result.response.request.message_id}: {finding}")
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)

    def batch_summary(self, summary: Summary) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._write(self._out, summary_text(summary))

    def commitment_result(self, result: CommitmentResultRecord) -> None:
        """Queued for the view, after the request's report (drawn in order)."""
        self._report_view().add(
            "commitment results",
            result_line(result),
            _panel(result.request, lambda: commitment_result_text(result, self._full)),
        )

    def close(self) -> None:
        """What the view still has to draw is drawn (a few seconds at most)."""
        if self._view is not None:
            self._view.close()

    def peers(self, checks: list[PeerCheck]) -> None:
        self._write(self._out, peers_table(checks))

    def subscription_response(self, rsp: ActionResponse, explanation: str | None) -> None:
        action = rsp.action
        line = (
            f"{action.name} ({action.instance}, Receiving AE {action.receiving_ae}): "
            f"{Status(rsp.status.code)}"
        )
        self._write(self._out, Text(line), soft_wrap=True)

    def event_delivery(self, delivery: EventDelivery) -> None:
        event = catalog.describe_event(ups.UPS_PUSH, delivery.event_type_id)
        outcome = (
            f"delivered: {Status(delivery.status or 0)}"
            if delivery.delivered
            else f"not delivered after {delivery.attempts} attempt(s): {delivery.reason}"
        )
        line = (
            f"UPS event {delivery.event_type_id} {event} of {delivery.instance} to "
            f"{delivery.receiving_ae}: {outcome}"
        )
        self._write(self._out, Text(line), soft_wrap=True)

    def note(self, message: str) -> None:
        if not self._quiet:
            self._write(self._err, Text(message, style="dim"), soft_wrap=True)

    def warn(self, message: str) -> None:
        if not self._quiet:
            self._write(self._err, Text(f"warning: {message}", style="yellow"), soft_wrap=True)

    @property
    def full(self) -> bool:
        return self._full
