"""Rendering: rich text for people, JSON for programs.

Every result record has one JSON form (``*_json``) and one text form; the
:class:`Renderer` writes whichever the user chose to the consoles it is given
and never looks at the terminal itself (the CLI decides ``--format auto``).
Output lines are written under a lock: listener threads never interleave.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from pydicom.multival import MultiValue
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from dcmreport import catalog
from dcmreport.dataset import to_json_model
from dcmreport.records import (
    Answer,
    AssociationInfo,
    EchoResponse,
    ReportRecord,
    ReportResponse,
    ResponseStatus,
)
from dcmreport.status import FAILURE, SUCCESS, WARNING, Status

if TYPE_CHECKING:
    from pydicom import Dataset
    from pydicom.dataelem import DataElement

_STYLE = {SUCCESS: "bold green", WARNING: "bold yellow", FAILURE: "bold red"}


# --- JSON forms ---------------------------------------------------------------------------


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
    if answer is None:
        keys = (
            "status",
            "status_hex",
            "status_meaning",
            "status_category",
            "error_comment",
            "error_id",
            "event_reply",
        )
        return {**dict.fromkeys(keys), "aborted": False}
    if answer.abort:
        return {**_answer_json(None), "aborted": True}
    return {
        **status_json(answer.status),
        "event_reply": to_json_model(answer.event_reply),
        "aborted": False,
    }


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
    }


def record_json(record: ReportRecord) -> dict[str, Any]:
    """One received report and its answer: a line of ``listen --format json``."""
    report, answer = record.report, record.answer
    return {
        "received_at": report.received_at.isoformat(),
        "message_id": report.message_id,
        "sop_class_uid": report.sop_class_uid,
        "sop_class_name": catalog.describe_class(report.sop_class_uid),
        "sop_instance_uid": report.sop_instance_uid,
        "event_type_id": report.event_type_id,
        "event_name": catalog.describe_event(report.sop_class_uid, report.event_type_id),
        "calling_aet": report.association.calling_aet,
        "called_aet": report.association.called_aet,
        "peer_address": report.association.peer_address,
        "context_id": report.context_id,
        "transfer_syntax": report.transfer_syntax,
        "dataset": to_json_model(report.dataset),
        "problem": report.problem,
        "findings": [str(f) for f in record.findings],
        **_answer_json(answer),
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
        "warnings": list(rsp.warnings),
        "association": association_json(rsp.association),
    }


def echo_json(rsp: EchoResponse) -> dict[str, Any]:
    return {
        **status_json(rsp.status),
        "round_trip_ms": round(rsp.round_trip_ms, 3),
        "association": association_json(rsp.association),
    }


# --- text forms ---------------------------------------------------------------------------


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


def _element_label(elem: DataElement) -> Text:
    tag = f"({elem.tag.group:04X},{elem.tag.element:04X})"
    label = Text.assemble(
        (tag, "cyan"), " ", (elem.VR, "magenta"), " ", (elem.keyword or elem.name, "bold")
    )
    if elem.VR != "SQ":
        value = "" if elem.value is None or elem.value == "" else _value_text(elem)
        label.append(f"  {value}" if value else "  (empty)", style="default" if value else "dim")
    return label


def _value_text(elem: DataElement) -> str:
    """pydicom's short form, but a UID stays a UID, named when pydicom knows it."""
    if elem.VR != "UI":
        return str(elem.repval)
    uids = elem.value if isinstance(elem.value, list | MultiValue) else [elem.value]
    named = (
        f"{uid} ({catalog.describe_class(str(uid))})"
        if catalog.describe_class(str(uid))
        else str(uid)
        for uid in uids
    )
    return "\\".join(named)


def _add_dataset(tree: Tree, ds: Dataset) -> None:
    for elem in ds:
        branch = tree.add(_element_label(elem))
        if elem.VR == "SQ":
            for index, item in enumerate(elem.value):
                _add_dataset(branch.add(Text(f"Item {index}", style="dim")), item)


def dataset_tree(title: str, ds: Dataset | None) -> Tree:
    tree = Tree(Text(title, style="bold"))
    if ds is None:
        tree.add(Text("(none)", style="dim"))
    elif len(ds) == 0:
        tree.add(Text("(empty data set)", style="dim"))
    else:
        _add_dataset(tree, ds)
    return tree


def _fields(rows: list[tuple[str, Text | str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    for name, value in rows:
        table.add_row(name, value)
    return table


def _answered_text(answer: Answer | None) -> Text:
    if answer is None:
        return Text("(not yet)", style="dim")
    if answer.abort:
        return Text("aborted the association instead (--abort-after)", style="bold red")
    return status_text(answer.status)


def record_text(record: ReportRecord) -> Panel:
    report, answer = record.report, record.answer
    info = report.association
    rows: list[tuple[str, Text | str]] = [
        ("From", f"{info.calling_aet} -> {info.called_aet}  ({info.peer_address})"),
        ("Message ID", str(report.message_id)),
        ("SOP Class", _class_text(report.sop_class_uid)),
        ("SOP Instance", report.sop_instance_uid),
        ("Event Type", _event_text(report.sop_class_uid, report.event_type_id)),
        ("Context", f"{report.context_id}, {catalog.transfer_syntax_name(report.transfer_syntax)}"),
        ("Answered", _answered_text(answer)),
    ]
    if report.problem:
        rows.append(("Problem", Text(report.problem, style="red")))
    if record.findings:
        rows.append(("Findings", Text("\n".join(map(str, record.findings)), style="yellow")))
    if record.files:
        rows.append(("Kept", "\n".join(record.files)))
    parts: list[Any] = [_fields(rows), dataset_tree("Event Information", report.dataset)]
    if answer is not None and answer.event_reply is not None:
        parts.append(dataset_tree("Event Reply sent", answer.event_reply))
    stamp = report.received_at.strftime("%H:%M:%S")
    return Panel(Group(*parts), title=f"N-EVENT-REPORT {stamp}", title_align="left")


def response_text(rsp: ReportResponse) -> Group:
    rows: list[tuple[str, Text | str]] = [
        ("Status", status_text(rsp.status)),
        ("Responding to", f"message ID {rsp.message_id_being_responded_to}"),
        ("SOP Class", _class_text(rsp.sop_class_uid)),
        ("SOP Instance", rsp.sop_instance_uid or Text("(absent)", style="dim")),
        ("Event Type", _event_text(rsp.request.sop_class_uid, rsp.event_type_id)),
        ("Round trip", f"{rsp.round_trip_ms:.1f} ms"),
    ]
    return Group(_fields(rows), dataset_tree("Event Reply", rsp.event_reply))


def echo_text(rsp: EchoResponse) -> Text:
    return Text.assemble(
        "C-ECHO ",
        status_text(rsp.status),
        f"  {rsp.round_trip_ms:.1f} ms  ({rsp.association.called_aet}"
        f"@{rsp.association.peer_address})",
    )


class Renderer:
    """Writes results to stdout, in text or JSON, one record at a time."""

    def __init__(self, fmt: str, out: Console, err: Console, quiet: bool = False) -> None:
        self.json = fmt == "json"
        self.quiet = quiet
        self.out = out
        self.err = err
        self._lock = threading.Lock()

    def _emit(self, text_form: Any, json_form: dict[str, Any]) -> None:
        with self._lock:
            if self.json:
                self.out.file.write(json.dumps(json_form, default=str) + "\n")
                self.out.file.flush()
            else:
                self.out.print(text_form)

    def echo(self, rsp: EchoResponse) -> None:
        self._emit(echo_text(rsp), echo_json(rsp))

    def report_response(self, rsp: ReportResponse) -> None:
        for warning in rsp.warnings:
            self.warn(warning)
        self._emit(response_text(rsp), response_json(rsp))

    def report_received(self, record: ReportRecord) -> None:
        self._emit(record_text(record), record_json(record))

    def note(self, message: str) -> None:
        """A progress line on stderr (e.g. where the listener listens); none with -q."""
        if self.quiet:
            return
        with self._lock:
            self.err.print(Text(message, style="dim"), soft_wrap=True)

    def warn(self, message: str) -> None:
        if self.quiet:
            return
        with self._lock:
            self.err.print(Text(f"warning: {message}", style="yellow"), soft_wrap=True)
