"""Rendering: each format builds only its own form; large reports stay readable as text."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import tracemalloc
from typing import Any

import pytest
from pydicom import Dataset
from rich.console import Console

from dcmreport.dicom.records import (
    Answer,
    AssociationInfo,
    Delivery,
    Finding,
    MessageKind,
    ReceivedReport,
    ReportRecord,
    ResponseStatus,
)
from dcmreport.output.json_forms import record_json
from dcmreport.output.render import JsonRenderer, make_renderer
from dcmreport.output.text import TextRenderer, dataset_tree, record_text

STGCMT = "1.2.840.10008.1.20.1"
SC = "1.2.840.10008.5.1.4.1.1.7"
ABORTED = "the peer aborted the association"
SUCCESS = Answer(ResponseStatus(0x0000))
MISSING = Finding("missing", "FailedSOPSequence", "FailedSOPSequence is required but absent")


def commitment(items: int) -> Dataset:
    """A storage commitment Event Information with ``items`` Referenced SOP Sequence items."""
    ds = Dataset()
    ds.TransactionUID = "1.2.3"
    refs = []
    for n in range(items):
        item = Dataset()
        item.ReferencedSOPClassUID = SC
        item.ReferencedSOPInstanceUID = f"1.2.3.{n}"
        refs.append(item)
    ds.ReferencedSOPSequence = refs
    return ds


def record(
    ds: Dataset | None = None,
    answer: Answer | None = SUCCESS,
    delivery: Delivery | None = None,
    findings: tuple[Finding, ...] = (),
) -> ReportRecord:
    info = AssociationInfo("SENDER", "DCMREPORT", "127.0.0.1:40000", 16382, "1.2.3", None)
    report = ReceivedReport(info, 1, "1.2.840.10008.1.2.1", 7, STGCMT, f"{STGCMT}.1", 1, ds)
    return ReportRecord(report, answer, (), findings, delivery)


def action(action_type_id: int | None) -> ReportRecord:
    """A storage commitment request (N-ACTION) as the listener records it."""
    info = AssociationInfo("MODALITY", "PACS", "127.0.0.1:40000", 16382, "1.2.3", None)
    report = ReceivedReport(
        info,
        1,
        "1.2.840.10008.1.2.1",
        7,
        STGCMT,
        f"{STGCMT}.1",
        None,
        commitment(1),
        kind=MessageKind.N_ACTION,
        action_type_id=action_type_id,
    )
    return ReportRecord(report, SUCCESS)


def text(rec: ReportRecord, full: bool = False) -> str:
    out = io.StringIO()
    renderer = TextRenderer(Console(file=out, width=100), Console(file=io.StringIO()), full=full)
    renderer.report_received(rec)
    renderer.close()  # the view draws in a thread of its own
    return out.getvalue()


# --- the JSON path ------------------------------------------------------------------------

_IMPORTED = """
import sys
from pydicom import Dataset
from dcmreport.dicom.records import (
    Answer, AssociationInfo, ReceivedReport, ReportRecord, ResponseStatus
)
import dcmreport.output.json_forms
from dcmreport.output.render import make_renderer
ds = Dataset(); ds.PatientID = "ID"
info = AssociationInfo("A", "B", "127.0.0.1:1", 0, "1.2", None)
report = ReceivedReport(info, 1, "1.2.840.10008.1.2", 1, "1.2.3", "1.2.3.4", 1, ds)
renderer = make_renderer(sys.argv[1], quiet=False, full=False)
renderer.report_received(ReportRecord(report, Answer(ResponseStatus(0))))
renderer.warn("w")
print(sorted({m.split(".")[0] for m in sys.modules} & {"rich", "pynetdicom"}), file=sys.stderr)
"""


@pytest.mark.parametrize(("fmt", "imported"), [("json", []), ("text", ["rich"])])
def test_only_the_text_path_imports_rich(fmt: str, imported: list[str]) -> None:
    """Scripts parsing JSON do not pay for rich; neither path needs pynetdicom to render."""
    run = subprocess.run(
        [sys.executable, "-c", _IMPORTED, fmt], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines()[-1] == repr(imported)


@pytest.mark.parametrize(
    ("delivery", "sent", "reason"),
    [(None, None, None), (Delivery(True), True, None), (Delivery(False, ABORTED), False, ABORTED)],
)
def test_json_says_whether_the_answer_went_out(
    delivery: Delivery | None, sent: bool | None, reason: str | None
) -> None:
    form = record_json(record(delivery=delivery))
    assert (form["answer_sent"], form["answer_not_sent_reason"]) == (sent, reason)
    assert form["status"] == 0  # the answer decided, sent or not


def test_json_findings_are_objects() -> None:
    form = record_json(record(findings=(MISSING,)))
    assert form["findings"] == [
        {
            "kind": "missing",
            "path": "FailedSOPSequence",
            "message": "FailedSOPSequence is required but absent",
        }
    ]


@pytest.mark.parametrize(
    ("action_type_id", "name"), [(1, "Request Storage Commitment"), (2, None), (None, None)]
)
def test_json_names_an_action_as_an_action(action_type_id: int | None, name: str | None) -> None:
    """Never storage commitment's event 2, "Failures Exist", for its undefined Action Type 2."""
    form = record_json(action(action_type_id))
    assert (form["kind"], form["action_type_id"], form["action_name"]) == (
        "n-action",
        action_type_id,
        name,
    )
    assert "event_type_id" not in form and "event_name" not in form


def test_json_of_a_report_keeps_its_event() -> None:
    form = record_json(record())
    assert (form["event_type_id"], form["event_name"]) == (
        1,
        "Storage Commitment Request Successful",
    )
    assert "action_type_id" not in form and "action_name" not in form


def test_json_keeps_large_data_sets_whole() -> None:
    """Only the text view summarises: programs get every item and every byte."""
    ds = commitment(10)
    ds.add_new(0x00091010, "OB", b"\x01" * 100_000)
    answer = Answer(ResponseStatus(0), event_reply=ds)
    form = record_json(record(ds, answer))
    for model in (form["dataset"], form["event_reply"]):
        assert len(model["00081199"]["Value"]) == 10
        assert len(model["00091010"]["InlineBinary"]) > 100_000


def test_json_renderer_writes_one_line_per_record_and_plain_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = JsonRenderer(out, err)
    renderer.report_received(record(commitment(2)))
    renderer.note("listening")
    renderer.warn("x" * 300)
    [line] = out.getvalue().splitlines()
    assert json.loads(line)["dataset"]["00081195"] == {"vr": "UI", "Value": ["1.2.3"]}
    assert err.getvalue() == f"listening\nwarning: {'x' * 300}\n"
    JsonRenderer(out, err := io.StringIO(), quiet=True).warn("hidden")
    assert err.getvalue() == ""


# --- the text view ------------------------------------------------------------------------


def test_text_shows_an_answer_that_was_not_sent() -> None:
    shown = text(record(delivery=Delivery(False, ABORTED)))
    assert f"0x0000 Success  (not sent: {ABORTED})" in shown
    assert "not sent" not in text(record(delivery=Delivery(True)))
    assert "not sent" not in text(record())  # pending: not tried yet


@pytest.mark.parametrize(
    ("action_type_id", "shown"),
    [
        (1, "Action Type 1 Request Storage Commitment"),
        (2, "Action Type 2 (not defined for the class)"),
        (None, "Action Type (absent)"),
    ],
)
def test_text_names_an_action_as_an_action(action_type_id: int | None, shown: str) -> None:
    out = " ".join(text(action(action_type_id)).split())
    assert shown in out and "N-ACTION" in out
    assert "Event Type" not in out and "Failures Exist" not in out
    assert "Action Information" in out


def test_text_names_a_failure_reason_in_a_received_data_set() -> None:
    """listen's panel shows (0008,1197) as commit does, not as a bare 274."""
    item = Dataset()
    item.ReferencedSOPInstanceUID = "1.2.3.4"
    item.FailureReason = 0x0112
    ds = Dataset()
    ds.FailedSOPSequence = [item]
    console = Console(file=io.StringIO(), width=200)
    console.print(dataset_tree("Event Information", ds))
    assert "FailureReason  0x0112 No such object instance" in console.file.getvalue()  # type: ignore[attr-defined]


def test_text_lists_findings_with_their_kind() -> None:
    assert "missing: FailedSOPSequence is required but absent" in text(record(findings=(MISSING,)))


def test_text_summarises_a_100000_item_sequence_small() -> None:
    """First and last items and the count; building it holds no per-item memory."""
    rec = record(commitment(100_000))
    tracemalloc.start()
    record_text(rec)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1_000_000  # with full: about 250 MB
    shown = text(rec)
    assert "ReferencedSOPSequence  100,000 items" in shown
    assert "… 99,995 more items of 100,000" in shown
    listed = [n for n in (0, 1, 2, 3, 99_997, 99_998, 99_999) if f"Item {n} " in shown]
    assert listed == [0, 1, 2, 99_998, 99_999]
    for n in listed:
        assert f"ReferencedSOPInstanceUID  1.2.3.{n} " in shown


@pytest.mark.parametrize(("items", "full", "hidden"), [(6, False, 0), (7, False, 2), (7, True, 0)])
def test_full_shows_every_item(items: int, full: bool, hidden: int) -> None:
    shown = text(record(commitment(items)), full=full)
    instances = [n for n in range(items) if f"ReferencedSOPInstanceUID  1.2.3.{n} " in shown]
    assert len(instances) == items - hidden
    assert (f"… {hidden:,} more items of {items}" in shown) is bool(hidden)


@pytest.mark.filterwarnings("ignore:The value length:UserWarning")  # pydicom: too long for LT
def test_long_values_are_summarised_to_their_start_and_size() -> None:
    ds = Dataset()
    ds.add_new(0x00091001, "OB", bytes(range(16)) * 655_360)  # 10 MiB
    ds.add_new(0x00091002, "LT", "report text " * 1_000_000)
    ds.add_new(0x00091003, "US", list(range(1000)))
    for full in (False, True):
        shown = text(record(ds), full=full)
        assert len(shown) < 10_000  # of 22 MB
        assert "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f …" in shown
        assert "(10,485,760 bytes)" in shown
        assert "'report text report text" in shown and "(12,000,000 characters)" in shown
    assert "[0, 1, 2, 3, 4, 5, 6, 7] … (1,000 values)" in text(record(ds))
    assert "998, 999]" in text(record(ds), full=True)


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI:UserWarning")  # as a peer may send
def test_control_characters_from_a_peer_are_escaped() -> None:
    """A value is the peer's: it must not drive the terminal (colours, cursor, title)."""
    ds = Dataset()
    ds.PatientID = "ID\x1b[2J"
    ds.add_new(0x00081155, "UI", "1.2\x1b]0;title\x07")
    shown = text(record(ds))  # a StringIO console has no colours: any ESC is the peer's
    assert "\x1b" not in shown and "\x07" not in shown
    assert r"'ID\x1b[2J'" in shown


def test_records_from_threads_are_whole_writes() -> None:
    """Listener threads: every record is shown, as its panel or (when they come together) as
    its line, in whole flushed writes by the view's one thread, never interleaved."""

    class Writes(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.writes: list[str] = []
            self.events = ""  # w: a write, f: a flush

        def write(self, s: str) -> int:
            if s:  # rich writes '' when a capture ends
                self.writes.append(s)
                self.events += "w"
            return len(s)

        def flush(self) -> None:
            self.events += "f"

    out = Writes()
    renderer = TextRenderer(Console(file=out, width=100), Console(file=io.StringIO()))
    threads = [
        threading.Thread(target=renderer.report_received, args=(record(commitment(n)),))
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    renderer.close()
    shown = "".join(out.writes)
    assert shown.count("╭") + shown.count(" -> 0x0000 Success") == 8
    assert "ww" not in out.events and out.events.endswith("f")  # each write flushed
    assert all(w.endswith("\n") for w in out.writes)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_notes_and_warnings_are_whole_lines_on_stderr(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    renderer = make_renderer(fmt, quiet=False, full=False)
    note, warning = " ".join(["n"] * 150), " ".join(["w"] * 150)  # wider than a terminal
    renderer.note(note)
    renderer.warn(warning)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [note, f"warning: {warning}"]


def test_quiet_silences_notes_and_warnings_not_results(capsys: pytest.CaptureFixture[str]) -> None:
    renderer: Any = make_renderer("text", quiet=True)
    renderer.note("n")
    renderer.warn("w")
    renderer.report_received(record())
    renderer.close()
    captured = capsys.readouterr()
    assert captured.err == "" and "N-EVENT-REPORT" in captured.out
