"""``listen`` records only what happened, checks at start what it can, and says why it refuses.

Real processes on 127.0.0.1: ``dcmreport listen`` and raw senders
(tests/peers/raw_sender.py) that abort at the worst moment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pynetdicom
import pytest
from helpers import PEERS, cli_env, dcmreport, listen_argv
from pydicom import Dataset
from pynetdicom import AE

from dcmreport.association.common import Settings
from dcmreport.association.listener import Listener, ListenOptions
from dcmreport.dicom.records import ReportRecord
from dcmreport.listen.handler import ListenHandler, Reaction

PRIVATE_CLASS = "1.2.826.0.1.3680043.9.9999.77"


def raw_send(port: int, *args: str) -> dict[str, Any]:
    sender = subprocess.run(
        [sys.executable, str(PEERS / "raw_sender.py"), str(port), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sender.returncode == 0, sender.stderr
    answer: dict[str, Any] = json.loads(sender.stdout)
    return answer


def test_an_answer_that_never_went_out_is_recorded_as_not_sent(listen: Any, tmp_path: Path) -> None:
    """The sender aborts while its answer is still being decided (an --exec program that
    waits for the test): the record says it was not sent, --count ignores it."""
    kept, go = tmp_path / "kept", tmp_path / "go"
    program = tmp_path / "hold.py"
    program.write_text(
        f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.05)\n"
    )
    listener = listen(
        "--exec", f"{sys.executable} {program}", "--exec-timeout", "600",
        "--count", "1", "--timeout", "10", "--output-dir", str(kept),
    )  # fmt: skip
    try:
        assert raw_send(listener.port, "--abort", "0.3") == {"aborted": True}
    finally:
        go.touch()  # the program ends; the answer finds the association gone
    assert listener.finish(sig=None) == 5  # --timeout passed: 0 of 1 answered
    [shown, failure] = listener.json_lines()
    assert (failure["status"], failure["exit_code"]) == (None, 5)
    [record_kept] = [json.loads(p.read_text()) for p in kept.glob("*.json")]
    for record in shown, record_kept:
        assert record["answer_sent"] is False
        assert "before the answer was sent" in record["answer_not_sent_reason"]
    assert any("was not sent" in line for line in listener.stderr)
    assert "0 of 1 report(s) answered" in "".join(listener.stderr)


def test_a_delivered_answer_is_recorded_as_sent(listen: Any, tmp_path: Path) -> None:
    listener = listen("--count", "1", "--output-dir", str(tmp_path))
    assert raw_send(listener.port)["status"] == 0
    assert listener.finish(sig=None) == 0
    [shown] = listener.json_lines()
    [kept] = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert shown["answer_sent"] is True and kept["answer_sent"] is True
    assert not list(tmp_path.glob(".*.tmp"))


def test_missing_exec_program_is_refused_at_start(tmp_path: Path) -> None:
    run = dcmreport("listen", "--port", "0", "--exec", str(tmp_path / "no-such-program"))
    assert run.returncode == 2
    assert "no such executable program" in run.stderr
    assert "Traceback" not in run.stderr


def test_unwritable_output_dir_is_refused_at_start(tmp_path: Path) -> None:
    """Root writes past permission bits, so as root a read-only file system stands in."""
    directory = Path("/sys") if os.geteuid() == 0 else tmp_path
    tmp_path.chmod(0o500)
    run = dcmreport("listen", "--port", "0", "--output-dir", str(directory))
    assert run.returncode == 2 and "cannot write there" in run.stderr


def test_kept_files_and_a_new_output_dir_are_owner_only(listen: Any, tmp_path: Path) -> None:
    """They hold patient data: 0700 for the directory the listener creates, 0600 for files."""
    directory = tmp_path / "new" / "reports"
    listener = listen("--count", "1", "--output-dir", str(directory))
    assert raw_send(listener.port)["status"] == 0
    assert listener.finish(sig=None) == 0
    assert directory.stat().st_mode & 0o777 == 0o700
    kept = list(directory.iterdir())
    assert len(kept) == 2  # the Part 10 file and the record
    assert {path.stat().st_mode & 0o777 for path in kept} == {0o600}


def test_exec_without_output_dir_leaves_nothing_in_the_temporary_directory(
    tmp_path: Path,
) -> None:
    """The hook gets its files in a private directory, removed as soon as it has run."""
    temporary, seen = tmp_path / "tmp", tmp_path / "seen"
    temporary.mkdir()
    hook = tmp_path / "hook.sh"
    hook.write_text(
        f'#!/bin/sh\ncp "$DCMREPORT_RECORD" "$DCMREPORT_DATASET" {tmp_path}/\ntouch {seen}\n'
    )
    hook.chmod(0o755)
    env = {**cli_env(), "TMPDIR": str(temporary)}
    listener = subprocess.Popen(
        listen_argv("--count", "1", "--exec", str(hook)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert listener.stderr is not None
    line = listener.stderr.readline()
    port = int(line.rsplit(":", 1)[1].split()[0])
    assert raw_send(port)["status"] == 0
    out, err = listener.communicate(timeout=30)
    assert listener.returncode == 0, err
    assert seen.exists(), "the hook did not run"
    assert list(temporary.iterdir()) == []
    assert json.loads(out)["files"] == []  # nothing kept: the record names no files


@pytest.mark.parametrize(
    ("peer", "env", "expected"),
    [
        ("X@nosuchhost.invalid:104", {}, "check the host name"),
        (None, {"DCMREPORT_PEER": "PACS"}, "'PACS' looks like an AE title"),
    ],
)
def test_unresolvable_host_is_exit_3_with_a_hint(
    peer: str | None, env: dict[str, str], expected: str
) -> None:
    run = dcmreport("echo", *([peer] if peer else []), env=env)
    assert run.returncode == 3, run.stderr
    assert "cannot resolve host" in run.stderr and expected in run.stderr
    assert "Traceback" not in run.stderr and "gaierror" not in run.stderr


def test_a_rejected_association_is_one_line_without_v(listen: Any) -> None:
    listener = listen("--allow-calling-aet", "MODALITY")
    run = dcmreport("echo", f"ANY@127.0.0.1:{listener.port}", "--calling-aet", "INTRUDER")
    assert run.returncode == 3
    listener.finish()
    [line] = [line for line in listener.stderr if "rejected" in line]
    assert "from INTRUDER (127.0.0.1:" in line
    assert "calling AE title not recognized (result 1, source 1, reason 3)" in line


def test_refused_contexts_are_logged_with_their_reason_with_v(listen: Any) -> None:
    listener = listen("-v", "--accept-class", "storage-commitment")
    run = dcmreport(
        "send-report", f"ANY@127.0.0.1:{listener.port}", "--event", "1", "--instance", "1.2.3"
    )
    assert run.returncode == 3  # the report's class is not accepted
    listener.finish()
    assert any("refused: abstract syntax not supported" in line for line in listener.stderr)


def test_importing_dcmreport_leaves_pynetdicom_routing_untouched() -> None:
    """A plain pynetdicom AE in the same process, beside a running dcmreport listener,
    still routes requests as pynetdicom does: a report on an unknown class is aborted."""
    records: list[ReportRecord] = []
    ours = Listener(
        Settings(ae_title="OURS"),
        ListenOptions(port=0, bind="127.0.0.1"),
        ListenHandler(Reaction(), lambda r, _: records.append(r)),
    )
    ours.start()
    plain = AE(ae_title="PLAIN")
    plain.add_supported_context(PRIVATE_CLASS)
    server = plain.start_server(("127.0.0.1", 0), block=False)
    try:
        assert pynetdicom.association.uid_to_service_class is (
            pynetdicom.sop_class.uid_to_service_class
        )
        statuses = {}
        information = Dataset()
        information.TransactionUID = "1.2.3.4"
        for name, port in (("ours", ours.port), ("plain", server.server_address[1])):
            requestor = AE()
            requestor.add_requested_context(PRIVATE_CLASS)
            assoc = requestor.associate("127.0.0.1", port)
            status, _ = assoc.send_n_event_report(information, 1, PRIVATE_CLASS, "1.2.3")
            statuses[name] = status.get("Status")
            assoc.release()
        assert statuses == {"ours": 0x0000, "plain": None}  # pynetdicom aborts: no status
        assert len(records) == 1
    finally:
        server.shutdown()
        ours.stop(grace=1)


VERIFICATION = "1.2.840.10008.1.1"


@pytest.mark.parametrize(
    ("args", "status"),
    [
        ((), 0x0000),
        (("--event", "9"), 0x0113),  # no such event type for storage commitment
        (("--instance", "1.2.3"), 0x0112),  # not the well-known instance
        (("--instance", "1.2.abc"), 0x0117),  # not a UID
        (("--context", PRIVATE_CLASS), 0x0212),  # the class is not the context's
        (("--class", VERIFICATION, "--instance", "1.2.3"), 0x0211),  # no reports on Verification
        (("--class", "1.2.840.10008.3.1.2.3.5", "--instance", "1.2.3", "--event", "9"), 0x0113),
    ],
)
def test_default_answers_are_the_standards(listen: Any, args: tuple[str, ...], status: int) -> None:
    """Each rule's status goes out, with Event Type ID only in a success response (PS3.7 10.1.1)."""
    listener = listen("--count", "1")
    answer = raw_send(listener.port, *args)
    assert answer["status"] == status
    assert (answer["event_type_id"] is not None) is (status == 0)
    assert listener.finish(sig=None) == 0
    [record] = listener.json_lines()
    assert record["status"] == status
    if status:
        assert answer["error_comment"], "a refusal says why"
        assert any(f["kind"] != "invalid-value" for f in record["findings"])
