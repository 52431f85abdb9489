"""``listen`` for real work: every acknowledged report on disk, hooks, faults, access control.

Real processes on 127.0.0.1: ``dcmreport listen`` and plain pynetdicom
senders (tests/peers/flood.py) that report what each response said, so that
"acknowledged with Success" is the sender's view, not the listener's.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import PEERS, Background, dcmreport, eventually

STGCMT_REPORT = ["--class", "storage-commitment", "--event", "1", "TransactionUID=1.2.3"]


def flood(port: int, count: int, *args: str) -> Background:
    return Background([sys.executable, str(PEERS / "flood.py"), str(port), str(count), *args])


def responses(sender: Background) -> list[dict[str, Any]]:
    return [r for r in sender.json_lines() if "status" in r]


def records_on_disk(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def assert_every_success_on_disk(acknowledged: list[dict[str, Any]], directory: Path) -> None:
    """Each report answered Success is on disk exactly once, with its Part 10 file."""
    kept = [r for r in records_on_disk(directory) if r["status"] == 0]
    kept_instances = [r["sop_instance_uid"] for r in kept]
    for response in acknowledged:
        if response["status"] == 0:
            assert kept_instances.count(response["instance"]) == 1, response
    for path in directory.glob("*.json"):
        assert path.with_suffix(".dcm").exists(), path
        files = [Path(f).name for f in json.loads(path.read_text())["files"]]
        assert files == [path.with_suffix(".dcm").name, path.name]  # a record names its files
    assert not list(directory.glob(".*.tmp")), "temporary files left behind"


def test_flood_from_concurrent_senders_is_kept_exactly_once(listen: Any, tmp_path: Path) -> None:
    senders, each = 4, 100
    listener = listen("--output-dir", str(tmp_path), "--count", str(senders * each))
    floods = [
        flood(listener.port, each, "--prefix", f"1.2.826.0.1.3680043.9.9999.{s}", "--nodelay")
        for s in range(1, senders + 1)
    ]
    for sender in floods:
        assert sender.finish(sig=None, timeout=120) == 0, "".join(sender.stderr)
    assert listener.finish(sig=None) == 0, "".join(listener.stderr)
    acknowledged = [r for s in floods for r in responses(s)]
    assert len(acknowledged) == senders * each
    assert {r["status"] for r in acknowledged} == {0}
    assert_every_success_on_disk(acknowledged, tmp_path)
    assert len(records_on_disk(tmp_path)) == senders * each
    assert len(listener.json_lines()) == senders * each  # one whole line per report


def test_sigterm_in_the_middle_of_a_flood(listen: Any, tmp_path: Path) -> None:
    listener = listen("--output-dir", str(tmp_path))
    floods = [
        flood(listener.port, 1000, "--prefix", f"1.2.826.0.1.3680043.9.9998.{s}", "--nodelay")
        for s in range(1, 5)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("*.json"))) < 60 and time.monotonic() < deadline:
        time.sleep(0.01)
    listener.proc.send_signal(signal.SIGTERM)
    assert listener.finish(sig=None, timeout=60) == 0, "".join(listener.stderr)
    for sender in floods:
        sender.finish(sig=None, timeout=60)
    acknowledged = [r for s in floods for r in responses(s)]
    assert 60 <= len(acknowledged) < 4000, "the stop came in the middle"
    assert_every_success_on_disk(acknowledged, tmp_path)


def test_directory_gone_mid_run_turns_answers_into_processing_failure(
    listen: Any, tmp_path: Path
) -> None:
    directory = tmp_path / "reports"
    directory.mkdir()
    listener = listen("--output-dir", str(directory))
    before = flood(listener.port, 5, "--prefix", "1.2.826.0.1.3680043.9.9997.1")
    assert before.finish(sig=None) == 0
    directory.rename(tmp_path / "moved")  # as a full or unmounted disk would: writes fail
    after = flood(listener.port, 5, "--prefix", "1.2.826.0.1.3680043.9.9997.2")
    assert after.finish(sig=None) == 0
    assert {r["status"] for r in responses(before)} == {0}
    assert {r["status"] for r in responses(after)} == {0x0110}
    assert_every_success_on_disk(responses(before), tmp_path / "moved")
    assert listener.finish() == 0
    assert "cannot keep the report" in "".join(listener.stderr)


@pytest.mark.parametrize(
    ("instance", "calling_aet"),
    [("../../../../tmp/dcmreport-escape", "../.."), ("a/b*c?", "AE/../X"), ("1.2.3", "..")],
)
def test_hostile_uids_and_ae_titles_stay_in_the_directory(
    listen: Any, tmp_path: Path, instance: str, calling_aet: str
) -> None:
    directory = tmp_path / "reports"
    directory.mkdir()
    listener = listen("--output-dir", str(directory))
    sender = flood(listener.port, 3, "--instance", instance, "--calling-aet", calling_aet)
    assert sender.finish(sig=None) == 0, "".join(sender.stderr)
    assert listener.finish() == 0
    assert [p.parent for p in tmp_path.rglob("*") if p.is_file()] == [directory] * 6
    kept = records_on_disk(directory)
    assert len(kept) == 3  # the same instance three times: three records, none overwritten
    assert {r["sop_instance_uid"] for r in kept} == {instance}
    assert {r["calling_aet"] for r in kept} == {calling_aet}
    expected = "1.2.3" if instance == "1.2.3" else "invalid-uid"
    assert all(p.name.endswith(f"-e1-{expected}.json") for p in directory.glob("*.json"))


def test_reports_between_other_messages_and_an_immediate_release(listen: Any) -> None:
    listener = listen("--count", "3", "-v")
    sender = flood(listener.port, 3, "--echo-between")
    assert sender.finish(sig=None) == 0, "".join(sender.stderr)
    assert [r["status"] for r in responses(sender)] == [0, 0, 0]
    assert listener.finish(sig=None) == 0
    assert [r["message_id"] for r in listener.json_lines()] == [1, 2, 3]
    summary = "released: 3 report(s) received, 0 unanswered"  # -v: one line per association
    assert any(
        "association from FLOOD (127.0.0.1:" in line and summary in line for line in listener.stderr
    ), listener.stderr


# --- --exec ------------------------------------------------------------------------------

HOOK = """
import json, os, sys, time
mode = sys.argv[1]
if mode == "log":
    with open(sys.argv[2], "a") as log:
        record = json.load(open(os.environ["DCMREPORT_RECORD"]))
        log.write(json.dumps({k: v for k, v in os.environ.items() if k.startswith("DCMREPORT_")}
                             | {"record_status": record["status"]}) + "\\n")
elif mode == "ok-reply":
    print(json.dumps({"PatientID": "FROM-HOOK"}))
elif mode == "fail":
    print("0x0112 no such instance here")
    sys.exit(1)
elif mode == "garbage":
    print("not a status")
    sys.exit(3)
elif mode == "hang":
    time.sleep(60)
"""


@pytest.fixture
def hook(tmp_path: Path) -> str:
    path = tmp_path / "hook.py"
    path.write_text(HOOK)
    return f"{sys.executable} {path}"


def test_exec_runs_with_the_record_on_disk(listen: Any, tmp_path: Path, hook: str) -> None:
    log = tmp_path / "hook.log"
    out = tmp_path / "out"
    out.mkdir()
    listener = listen("--output-dir", str(out), "--exec", f"{hook} log {log}", "--count", "1")
    run = dcmreport(
        "send-report",
        f"X@127.0.0.1:{listener.port}",
        *STGCMT_REPORT,
        "PatientID=Y; rm -rf /",
        "-aet",
        "$(reboot)",
    )
    assert run.returncode == 0, run.stderr
    assert listener.finish(sig=None) == 0
    [env] = [json.loads(line) for line in log.read_text().splitlines()]
    assert env["record_status"] == 0
    assert env["DCMREPORT_SOP_INSTANCE_UID"] == "1.2.840.10008.1.20.1.1"
    assert env["DCMREPORT_CALLING_AET"] == "$(reboot)"  # passed as data, never run
    assert env["DCMREPORT_EVENT_TYPE_ID"] == "1"
    assert Path(env["DCMREPORT_DATASET"]).exists()
    assert Path(env["DCMREPORT_RECORD"]).parent == out


@pytest.mark.parametrize(
    ("mode", "exit_code", "status", "comment", "reply"),
    [
        ("ok-reply", 0, 0, None, {"00100020": {"vr": "LO", "Value": ["FROM-HOOK"]}}),
        ("fail", 4, 0x0112, "no such instance here", None),
        ("garbage", 4, 0x0110, "the --exec program exited 3", None),
    ],
)
def test_exec_decides(
    listen: Any,
    hook: str,
    mode: str,
    exit_code: int,
    status: int,
    comment: str | None,
    reply: Any,
    tmp_path: Path,
) -> None:
    listener = listen(
        "--exec", f"{hook} {mode}", "--exec-decides", "--output-dir", str(tmp_path), "--count", "1"
    )
    run = dcmreport(
        "send-report", f"X@127.0.0.1:{listener.port}", *STGCMT_REPORT, "--format", "json"
    )
    assert run.returncode == exit_code, run.stderr
    response = json.loads(run.stdout)
    assert (response["status"], response["error_comment"], response["event_reply"]) == (
        status,
        comment,
        reply,
    )
    assert listener.finish(sig=None) == 0
    [kept] = records_on_disk(tmp_path)
    assert kept["status"] == status  # the record holds the answer that was sent


def test_hanging_hook_is_killed_and_answered_processing_failure(listen: Any, hook: str) -> None:
    listener = listen("--exec", f"{hook} hang", "--exec-decides", "--exec-timeout", "1")
    run = dcmreport(
        "send-report", f"X@127.0.0.1:{listener.port}", *STGCMT_REPORT, "--format", "json"
    )
    assert run.returncode == 4
    assert json.loads(run.stdout)["status"] == 0x0110
    assert listener.finish() == 0
    assert "--exec program killed after" in "".join(listener.stderr)


# --- fault injection and access control ------------------------------------------------------


def test_abort_after(listen: Any) -> None:
    listener = listen("--abort-after", "1")
    sender = flood(listener.port, 3)
    assert sender.finish(sig=None) == 3
    assert responses(sender) == [
        {"message_id": 1, "instance": responses(sender)[0]["instance"], "status": 0}
    ]
    assert sender.json_lines()[-1] == {"ended": "aborted"}
    listener.finish()


def test_delay_past_the_senders_dimse_timeout(listen: Any) -> None:
    listener = listen("--delay", "3")
    run = dcmreport(
        "send-report", f"X@127.0.0.1:{listener.port}", *STGCMT_REPORT, "--dimse-timeout", "1"
    )
    assert run.returncode == 3
    assert "no N-EVENT-REPORT response" in run.stderr


@pytest.mark.parametrize(
    ("listen_args", "send_args", "expected"),
    [
        (
            ["--allow-calling-aet", "GOOD"],
            ["-aet", "BAD"],
            "rejected the association permanently: calling AE title not recognized "
            "(result 1, source 1",
        ),
        (["--allow-calling-aet", "GOOD"], ["-aet", "GOOD"], None),
        (
            ["--require-called-aet", "--aet", "ME"],
            ["-aec", "YOU"],
            "called AE title not recognized",
        ),
        (
            ["--reject", "congestion"],
            [],
            "rejected the association transiently: temporary congestion (result 2, source 3",
        ),
        (["--reject", "1/1/1"], [], "rejected the association permanently: no reason given"),
        (
            ["--accept-class", "mpps-notification"],
            [],
            "the peer did not accept a presentation context for Storage Commitment Push Model "
            "SOP Class [1.2.840.10008.1.20.1]: abstract syntax not supported",
        ),
    ],
)
def test_access_control(
    listen: Any, listen_args: list[str], send_args: list[str], expected: str | None
) -> None:
    listener = listen(*listen_args)
    run = dcmreport("send-report", f"ANY@127.0.0.1:{listener.port}", *STGCMT_REPORT, *send_args)
    if expected is None:
        assert run.returncode == 0, run.stderr
    else:
        assert run.returncode == 3, run.stderr
        assert expected in run.stderr


def test_allow_calling_aet_from_a_file(listen: Any, tmp_path: Path) -> None:
    allowed = tmp_path / "aets.txt"
    allowed.write_text("# modalities\nCT1\nMR2  # the new one\n")
    listener = listen("--allow-calling-aet", f"@{allowed}")
    for aet, code in (("MR2", 0), ("CT1", 0), ("US3", 3)):
        assert (
            dcmreport(
                "send-report", f"A@127.0.0.1:{listener.port}", *STGCMT_REPORT, "-aet", aet
            ).returncode
            == code
        )


def _hold_association(port: int) -> subprocess.Popen[str]:
    """A plain pynetdicom association to ``port``, held open until its stdin closes; it
    prints whether it was established, then, at the end, whether it was aborted."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import sys
from pynetdicom import AE
ae = AE(); ae.add_requested_context("1.2.840.10008.1.1")
a = ae.associate("127.0.0.1", {port}); print(a.is_established, flush=True)
sys.stdin.read(); print(a.is_aborted, flush=True)
if a.is_established: a.release()""",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
    return holder


def _let_go(holder: subprocess.Popen[str]) -> str:
    """Close the holder's stdin; what it printed last (True if the listener aborted it)."""
    out, _ = holder.communicate("", timeout=30)
    return out.strip()


def test_max_associations_rejects_with_local_limit_exceeded(listen: Any) -> None:
    listener = listen("--max-associations", "1")
    holder = _hold_association(listener.port)
    run = dcmreport("send-report", f"A@127.0.0.1:{listener.port}", *STGCMT_REPORT)
    assert _let_go(holder) == "False"
    assert run.returncode == 3
    assert "rejected the association transiently: local limit exceeded" in run.stderr


def test_listener_shows_validation_findings(listen: Any) -> None:
    """The same findings send-report warns about are in each received report's record."""
    listener = listen("--count", "1")
    run = dcmreport(
        "send-report",
        f"A@127.0.0.1:{listener.port}",
        "--class",
        "storage-commitment",
        "--event",
        "2",
        "TransactionUID=1.2.3",
    )
    assert run.returncode == 0, run.stderr
    finding = "FailedSOPSequence is required for event 2 (failures) but absent"
    assert finding in run.stderr
    assert listener.finish(sig=None) == 0
    [record] = listener.json_lines()
    assert record["findings"] == [
        {"kind": "missing", "path": "FailedSOPSequence", "message": finding}
    ]


def test_second_signal_aborts_open_associations_and_exits_130(listen: Any, tmp_path: Path) -> None:
    """The first signal starts the graceful stop, which waits for the report being handled
    (its --exec program runs until this test lets it go); the second, sent once the
    listener says it is stopping, aborts the association: exit 130."""
    started, go = tmp_path / "started", tmp_path / "go"
    program = tmp_path / "hold.py"
    program.write_text(
        "import os, pathlib, time\n"
        f"pathlib.Path({str(started)!r}).touch()\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.05)\n"
    )
    listener = listen("--exec", f"{sys.executable} {program}", "--exec-timeout", "600")
    sender = Background(
        [sys.executable, "-m", "dcmreport", "send-report", f"A@127.0.0.1:{listener.port}",
         *STGCMT_REPORT]
    )  # fmt: skip
    try:
        assert eventually(started.exists)
        listener.proc.send_signal(signal.SIGINT)
        listener.wait_for(re.compile(r"stopping: answering what was received"))
        listener.proc.send_signal(signal.SIGINT)
        assert listener.finish(sig=None, timeout=30) == 130
        assert "interrupted" in "".join(listener.stderr)
        assert sender.finish(sig=None) == 3  # its association was aborted, unanswered
    finally:
        go.touch()


def test_invalid_values_from_a_peer_are_kept_shown_and_not_logged(
    listen: Any, tmp_path: Path
) -> None:
    """A peer may send values invalid for their VR: the report is answered, kept as sent,
    flagged in its findings; pydicom's warnings quoting them appear only with -d."""
    for flags, leaks in (((), False), (("-d",), True)):
        kept = tmp_path / str(leaks)
        kept.mkdir()
        listener = listen("--count", "1", "--output-dir", str(kept), *flags)
        sender = subprocess.run(
            [sys.executable, str(PEERS / "raw_sender.py"), str(listener.port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert json.loads(sender.stdout)["status"] == 0, sender.stderr
        assert listener.finish(sig=None) == 0
        [record] = listener.json_lines()
        assert record["status"] == 0
        assert record["dataset"]["00201041"] == {"vr": "DS", "Value": ["SECRETDS"]}
        assert record["dataset"]["00081155"] == {"vr": "UI", "Value": ["1.2.SECRET"]}
        assert any("SliceLocation" in finding["path"] for finding in record["findings"])
        assert ("SECRET" in "".join(listener.stderr)) is leaks
        assert b"SECRETDS" in next(kept.glob("*.dcm")).read_bytes()  # kept as sent
