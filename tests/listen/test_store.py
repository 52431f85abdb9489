"""``listen --output-dir``: what is kept, when, and what a killed listener leaves behind.

Real processes on 127.0.0.1: ``dcmreport listen`` and ``dcmreport send-report``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from helpers import Background, dcmreport, listen_argv, listening_port
from interop.support import missing_peer
from pydicom import dcmread

from dcmreport.listen.store import DirectorySync

STGCMT = ["--class", "storage-commitment", "--event", "1"]
IMPLICIT_VR_LE = "1.2.840.10008.1.2"


def send(port: int, *args: str) -> Background:
    return Background(
        [sys.executable, "-m", "dcmreport", "send-report", f"X@127.0.0.1:{port}", *args]
    )


def test_a_report_is_kept_as_received_and_recorded_once_answered(
    listen: Any, tmp_path: Path
) -> None:
    """The Part 10 file holds the bytes as sent (implicit VR here: not re-encoded), the record
    is one JSON line written after the answer, naming both files."""
    listener = listen("--count", "1", "--output-dir", str(tmp_path))
    run = dcmreport(
        "send-report", f"X@127.0.0.1:{listener.port}", *STGCMT, "-x", "implicit",
        "TransactionUID=1.2.3", "PatientID=KEPT",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert listener.finish(sig=None) == 0
    [part10] = tmp_path.glob("*.dcm")
    [record_path] = tmp_path.glob("*.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == [part10.name, record_path.name]
    kept = dcmread(part10)
    assert kept.file_meta.TransferSyntaxUID == IMPLICIT_VR_LE
    assert kept.file_meta.MediaStorageSOPInstanceUID == "1.2.840.10008.1.20.1.1"
    assert (kept.TransactionUID, kept.PatientID) == ("1.2.3", "KEPT")
    [line] = record_path.read_text().splitlines()
    record = json.loads(line)
    assert record["answer_sent"] is True and record["status"] == 0
    assert record["files"] == [str(part10), str(record_path)]
    assert listener.json_lines() == [record]  # the same object on stdout


def test_a_listener_killed_before_answering_leaves_no_claim_of_an_answer(
    listen: Any, tmp_path: Path
) -> None:
    """SIGKILL while the --exec program runs, after keeping and before answering: the Part 10
    file is whole, the record says ``answer_sent: null``, and the sender got no Success."""
    out, marker = tmp_path / "out", tmp_path / "hook.pid"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\necho $$ > {marker}.tmp\nmv {marker}.tmp {marker}\nexec sleep 60\n")
    hook.chmod(0o755)
    listener = listen("--output-dir", str(out), "--exec", str(hook))
    sender = send(listener.port, *STGCMT, "TransactionUID=1.2.3", "--format", "json")
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), "the hook did not run"
    listener.proc.send_signal(signal.SIGKILL)
    os.kill(int(marker.read_text()), signal.SIGKILL)  # the hook's sleep: its own session
    assert listener.finish(sig=None) == -signal.SIGKILL
    assert sender.finish(sig=None) != 0
    assert json.loads("".join(sender.stdout))["status"] is None  # no answer came
    [part10] = out.glob("*.dcm")
    [record_path] = out.glob("*.json")
    assert dcmread(part10).TransactionUID == "1.2.3"
    record = json.loads(record_path.read_text())
    assert record["answer_sent"] is None
    assert record["files"] == [str(part10), str(record_path)]
    assert not list(out.glob(".*.tmp"))


def test_a_100000_item_report_is_answered_kept_and_shown_whole(listen: Any, tmp_path: Path) -> None:
    """A storage commitment result naming 100,000 instances, sent from a JSON file: answered
    Success, complete on stdout and on disk. How fast is the benchmark's business
    (``tests/benchmarks/run.py --only large``), not this test's: the timeouts are generous
    so a loaded machine cannot fail it."""
    count = 100_000
    items = [
        {
            "00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
            "00081155": {"vr": "UI", "Value": [f"1.2.826.0.1.3680043.9.9999.5.{i}"]},
        }
        for i in range(count)
    ]
    data = tmp_path / "result.json"
    data.write_text(
        json.dumps(
            {
                "00081195": {"vr": "UI", "Value": ["1.2.826.0.1.3680043.9.9999.4.1"]},
                "00081199": {"vr": "SQ", "Value": items},
            }
        )
    )
    out = tmp_path / "out"
    listener = listen(
        "--count", "1", "--format", "json", "--output-dir", str(out), "--dimse-timeout", "600"
    )  # fmt: skip
    run = dcmreport(
        "send-report", f"X@127.0.0.1:{listener.port}", *STGCMT, "--data", str(data),
        "--format", "json", "--dimse-timeout", "600", timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == 0
    assert listener.finish(sig=None, timeout=300) == 0, "".join(listener.stderr)
    [shown] = listener.json_lines()
    [record_path] = out.glob("*.json")
    kept = json.loads(record_path.read_text())
    for record in shown, kept:
        referenced = record["dataset"]["00081199"]["Value"]
        assert len(referenced) == count
        assert referenced[-1]["00081155"]["Value"] == [f"1.2.826.0.1.3680043.9.9999.5.{count - 1}"]
        assert record["answer_sent"] is True
    [part10] = out.glob("*.dcm")
    assert len(dcmread(part10).ReferencedSOPSequence) == count


def test_concurrent_associations_have_every_report_kept_once(listen: Any, tmp_path: Path) -> None:
    """Six senders at once, 15 reports each: 90 Part 10 files and 90 records, one pair per
    report (each association's message IDs 1 to 15 once), owner-only, nothing temporary."""
    senders, each = 6, 15
    out = tmp_path / "out"
    listener = listen("--count", str(senders * each), "--output-dir", str(out))
    running = [
        send(listener.port, *STGCMT, "TransactionUID=1.2.3", "--repeat", str(each),
             "--format", "json")
        for _ in range(senders)
    ]  # fmt: skip
    for sender in running:
        assert sender.finish(sig=None, timeout=120) == 0, "".join(sender.stderr)
    assert listener.finish(sig=None, timeout=60) == 0, "".join(listener.stderr)
    records = [json.loads(path.read_text()) for path in out.glob("*.json")]
    assert len(records) == senders * each
    assert len(list(out.glob("*.dcm"))) == senders * each
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    by_association: dict[str, list[int]] = {}
    for record in records:
        assert record["answer_sent"] is True and record["status"] == 0
        part10, record_path = map(Path, record["files"])
        assert dcmread(part10).TransactionUID == "1.2.3"
        for path in part10, record_path:
            assert path.stat().st_mode & 0o777 == 0o600
        by_association.setdefault(record["peer_address"], []).append(record["message_id"])
    assert len(by_association) == senders
    assert all(sorted(ids) == list(range(1, each + 1)) for ids in by_association.values())


_CALL = re.compile(r"^(\d+) +([\d.]+) (?:<\.\.\. (\w+) resumed>|(\w+)\()(.*?)(?:<([\d.]+)>)?$")


def _calls(trace: str) -> list[tuple[str, float, float, str]]:
    """(name, start, end, arguments) of each traced system call, from ``strace -f -ttt -T``
    (a call another thread interrupted is two lines: its start, then its end)."""
    started: dict[tuple[str, str], tuple[float, str]] = {}
    calls = []
    for line in trace.splitlines():
        match = _CALL.match(line)
        if match is None:
            continue
        pid, at, resumed, name, rest, took = match.groups()
        if rest.endswith("<unfinished ...>"):
            started[pid, name] = (float(at), rest)
        elif resumed:
            start, arguments = started.pop((pid, resumed))
            calls.append((resumed, start, start + float(took or 0), arguments))
        elif took is not None:
            calls.append((name, float(at), float(at) + float(took), rest))
    return calls


def test_no_answer_goes_out_before_its_directory_entry_is_fsynced(tmp_path: Path) -> None:
    """Watched by strace, four concurrent senders: when the listener writes its n-th answer,
    at least n Part 10 files were linked before a directory fsync that had then finished
    (one fsync may cover several reports, never one linked after it started)."""
    if shutil.which("strace") is None:  # .ci/run installs it: in CI this fails, never skips
        missing_peer("strace not found", "apt-get install strace")
    out, trace = tmp_path / "out", tmp_path / "trace"
    senders, each = 4, 10
    strace = ["strace", "-f", "-ttt", "-T", "-y", "-e", "trace=link,fsync,sendto", "-o", str(trace)]
    listener = Background(
        [*strace, *listen_argv("--count", str(senders * each), "--output-dir", str(out))]
    )
    port = listening_port(listener)
    running = [
        send(port, *STGCMT, "TransactionUID=1.2.3", "--repeat", str(each)) for _ in range(senders)
    ]
    for sender in running:
        assert sender.finish(sig=None, timeout=180) == 0, "".join(sender.stderr)
    assert listener.finish(sig=None, timeout=60) == 0, "".join(listener.stderr)
    calls = _calls(trace.read_text())
    linked = sorted(end for name, _, end, args in calls if name == "link" and ".dcm" in args)
    synced = [
        (start, end) for name, start, end, args in calls if name == "fsync" and f"<{out}>" in args
    ]
    answers = sorted(start for name, start, _, args in calls if name == "sendto" and '"\\4' in args)
    assert len(linked) == len(answers) == senders * each
    assert synced, "no directory fsync seen"
    for n, answered in enumerate(answers, 1):
        covered = max(
            (sum(1 for t in linked if t < start) for start, end in synced if end <= answered),
            default=0,
        )
        assert covered >= n, f"answer {n} went out when only {covered} reports were on disk"
    assert len(synced) <= len(linked)


def test_a_failed_directory_fsync_fails_every_report_waiting_for_it(tmp_path: Path) -> None:
    """Twenty threads waiting on one directory's fsync at once: each gets the error (so each
    report is answered 0x0110, never Success); once the directory is there, each succeeds."""
    directory = tmp_path / "gone"
    sync = DirectorySync(directory)
    outcomes: list[str] = []

    def wait() -> None:
        try:
            sync.wait()
            outcomes.append("synced")
        except OSError as exc:
            outcomes.append(exc.strerror or "")

    def all_at_once() -> None:
        threads = [threading.Thread(target=wait) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    all_at_once()
    assert outcomes == ["No such file or directory"] * 20
    directory.mkdir()
    outcomes.clear()
    all_at_once()
    assert outcomes == ["synced"] * 20
