"""``dcmreport commit`` against a plain pynetdicom PACS (tests/peers/stgcmt_pacs.py).

The PACS runs as its own process and reports the result on the request's
association or on a new one to the port ``commit`` listens on; every exit
code of ``commit`` is reached through what the PACS does. The PACS also
misbehaves on request, one way PS3.4 J.3.3 or PS3.7 10.1.4.1 forbids at a
time: each gets its finding and exit 7, and ``--accept-findings`` the exit
code of its status and event. Then the AE title: the one the N-ACTION comes
from is the one the PACS calls back, against ``dcmreport listen --commitment``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import PEERS, Background, dcmreport, started_processes, unused_port
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from dcmreport.cli.app import _commit_exit_code
from dcmreport.cli.bundles.judging import Judging
from dcmreport.dicom.records import (
    AssociationInfo,
    CommitRequest,
    CommitResult,
    Finding,
    ReceivedReport,
    ResponseStatus,
)

CT = "1.2.840.10008.5.1.4.1.1.2"
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
ROOT = "1.2.826.0.1.3680043.8.498.77"


class Pacs(Background):
    """The PACS process; ``port`` is where it listens, ``seen()`` what it saw once stopped."""

    def __init__(self, *args: str) -> None:
        super().__init__(
            [sys.executable, str(PEERS / "stgcmt_pacs.py"), *args], stdin=subprocess.PIPE
        )
        self.port = int(self.wait_for(re.compile(r'"port": (\d+)'), "stdout")[1])

    def seen(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.finish(sig=None) == 0, "".join(self.stderr)
        return dict(json.loads(self.stdout[-1]))


@pytest.fixture
def pacs() -> Iterator[Any]:
    yield from started_processes(Pacs)


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """Three CT files with a patient name that must never reach a log."""
    folder = tmp_path / "study"
    folder.mkdir()
    for i in range(3):
        ds = Dataset()
        ds.SOPClassUID = CT
        ds.SOPInstanceUID = f"{ROOT}.{i}"
        ds.PatientName = "SECRET^PATIENT"
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.save_as(folder / f"{i}.dcm", enforce_file_format=True)
    return folder


def commit(pacs: Pacs, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return dcmreport(
        "commit", f"PACS@127.0.0.1:{pacs.port}", "--format", "json", *args, timeout=timeout
    )


def results(run: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run.stdout.splitlines()]


def uids(instances: list[dict[str, Any]]) -> list[str]:
    return [i["sop_instance_uid"] for i in instances]


def test_result_on_the_same_association(pacs: Any, study: Path) -> None:
    peer = pacs("--report", "same")
    run = commit(peer, str(study), "-v", "--timeout", "20")
    assert run.returncode == 0, run.stderr
    (result,) = results(run)
    assert result["action_status"]["status"] == 0
    assert result["event_type_id"] == 1
    assert result["same_association"] is True
    assert uids(result["committed"]) == [f"{ROOT}.{i}" for i in range(3)]
    assert result["failed"] == []
    assert result["elapsed_ms"] > 0
    assert result["findings"] == []
    assert result["association"]["report"]["called_aet"] == "PACS"
    (action,) = peer.seen()["actions"]
    assert (action["action_type_id"], action["sop_class_uid"], action["sop_instance_uid"]) == (
        1,
        STORAGE_COMMITMENT,
        f"{STORAGE_COMMITMENT}.1",
    )
    assert action["dataset"]["00081195"]["Value"] == [result["transaction_uid"]]
    assert len(action["dataset"]["00081199"]["Value"]) == 3
    assert "SECRET" not in run.stderr  # only the UIDs of the files are read, even with -v


def test_result_on_a_new_association_with_failures(pacs: Any, study: Path) -> None:
    port = unused_port()
    peer = pacs("--report", "new", "--to-port", str(port), "--to-aet", "MODALITY", "--fail", "1")
    run = commit(peer, str(study), "--port", str(port), "--aet", "MODALITY", "--timeout", "20")
    assert run.returncode == 6, run.stderr
    (result,) = results(run)
    assert result["findings"] == []
    assert result["event_type_id"] == 2
    assert result["same_association"] is False
    assert uids(result["committed"]) == [f"{ROOT}.0", f"{ROOT}.1"]
    (failed,) = result["failed"]
    assert failed["sop_instance_uid"] == f"{ROOT}.2"
    assert (failed["failure_reason"], failed["failure_reason_meaning"]) == (
        0x0112,
        "No such object instance",
    )
    report_side = result["association"]["report"]
    assert (report_side["calling_aet"], report_side["called_aet"]) == ("PACS", "MODALITY")
    (context,) = report_side["contexts"]
    assert context["proposed_roles"] == {"scu": False, "scp": True}
    assert context["requestor_roles"] == {"scu": False, "scp": True}
    seen = peer.seen()
    assert seen["reports_sent"] == [{"event_type_id": 2, "status": 0}]
    assert [a["calling_aet"] for a in seen["actions"]] == ["MODALITY"]  # --aet calls, too


def test_a_report_of_another_transaction_is_answered_and_ignored(pacs: Any, study: Path) -> None:
    peer = pacs("--report", "same", "--other-first")
    run = commit(peer, str(study / "0.dcm"), "--timeout", "20")
    assert run.returncode == 0, run.stderr
    (result,) = results(run)
    assert result["event_type_id"] == 1 and uids(result["committed"]) == [f"{ROOT}.0"]
    assert re.search(r"warning: answered and ignored a report from PACS .*not one of", run.stderr)
    assert [r["status"] for r in peer.seen()["reports_sent"]] == [0, 0]


def test_a_refused_request_exits_4_without_waiting(pacs: Any, study: Path) -> None:
    peer = pacs("--status", "0x0123")
    run = commit(peer, str(study), "--timeout", "60", timeout=30)
    assert run.returncode == 4, run.stderr
    (result,) = results(run)
    assert result["action_status"]["status_hex"] == "0x0123"
    assert result["event_type_id"] is None
    assert result["findings"] == []  # Action Type ID may come with 0x0123 (PS3.7 C.5.24)


def test_no_result_within_the_timeout_exits_5(pacs: Any, study: Path) -> None:
    peer = pacs("--report", "none")
    run = commit(peer, str(study), "--timeout", "1")
    assert run.returncode == 5, run.stderr
    (result,) = results(run)
    assert result["action_status"]["status"] == 0 and result["committed"] == []
    assert "no storage commitment result within 1 s" in run.stderr
    assert "give that port with --port" in run.stderr
    assert "the PACS has DCMREPORT at 127.0.0.1:PORT" in run.stderr


def test_split_makes_one_transaction_per_n_instances(pacs: Any) -> None:
    """Three N-ACTIONs back to back, each result on the same association. pynetdicom's PACS
    takes whatever arrives while it waits for its report's answer as that answer (an
    N-ACTION-RQ too, then aborts): its reports wait until all three requests have come."""
    peer = pacs("--report", "same", "--report-after", "3")
    refs = [arg for i in range(5) for arg in ("--ref", f"CTImageStorage:{ROOT}.{i}")]
    run = commit(peer, *refs, "--split", "2", "--timeout", "20")
    assert run.returncode == 0, run.stderr
    found = results(run)
    assert [len(r["committed"]) for r in found] == [2, 2, 1]
    assert len({r["transaction_uid"] for r in found}) == 3
    actions = peer.seen()["actions"]
    assert [a["message_id"] for a in actions] == [1, 2, 3]
    assert [a["dataset"]["00081195"]["Value"][0] for a in actions] == [
        r["transaction_uid"] for r in found
    ]


def test_request_from_key_value_with_a_given_transaction_uid(pacs: Any) -> None:
    peer = pacs("--report", "same")
    run = commit(
        peer,
        f"ReferencedSOPSequence[0].ReferencedSOPClassUID={CT}",
        f"ReferencedSOPSequence[0].ReferencedSOPInstanceUID={ROOT}.9",
        "--transaction-uid",
        f"{ROOT}.100",
        "--timeout",
        "20",
    )
    assert run.returncode == 0, run.stderr
    (result,) = results(run)
    assert result["transaction_uid"] == f"{ROOT}.100"
    assert uids(result["committed"]) == [f"{ROOT}.9"]


def test_text_output_names_the_failure_reason(pacs: Any, study: Path) -> None:
    peer = pacs("--report", "same", "--fail", "2")
    run = dcmreport(
        "commit", f"PACS@127.0.0.1:{peer.port}", str(study), "--format", "text", "--timeout", "20"
    )
    assert run.returncode == 6, run.stderr
    assert "2 Storage Commitment Request Complete - Failures Exist" in run.stdout
    assert f"{ROOT}.2  CT Image Storage  0x0112 No such object instance" in run.stdout
    assert "on the same association" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "nothing to commit"),
        (("--ref", "1.2.3"), "give CLASS_UID:INSTANCE_UID"),
        (("--ref", "CTImageStorage:1.02"), "is not a UID"),
        (
            (
                "--ref",
                f"{CT}:1.2.3",
                "--ref",
                f"{CT}:1.2.4",
                "--split",
                "1",
                "--transaction-uid",
                "1.2.3.4",
            ),
            "a Transaction UID names one transaction; --split 1 makes 2",
        ),
        (("no-such-file.dcm",), "no such file or directory"),
    ],
)
def test_bad_requests_are_usage_errors(args: tuple[str, ...], message: str) -> None:
    run = dcmreport("commit", f"PACS@127.0.0.1:{unused_port()}", *args)
    assert run.returncode == 2, run.stderr
    assert message in run.stderr


def test_a_port_in_use_is_a_usage_error(listen: Any, study: Path) -> None:
    busy = listen()
    run = dcmreport(
        "commit",
        f"PACS@127.0.0.1:{unused_port()}",
        str(study),
        "--port",
        str(busy.port),
        "--bind",
        "127.0.0.1",
    )
    assert run.returncode == 2, run.stderr
    assert f"cannot listen on 127.0.0.1:{busy.port}" in run.stderr


def test_no_pacs_is_exit_3(study: Path) -> None:
    run = dcmreport("commit", f"PACS@127.0.0.1:{unused_port()}", str(study))
    assert run.returncode == 3
    assert "cannot connect" in run.stderr


# --- a PACS that breaks the standard: each fault its finding, exit 7 -----------------------

ALL = [f"{ROOT}.{i}" for i in range(3)]
FAULTS = {
    "omits an instance": (("--omit", "1"), {("not-reported", f"{ROOT}.2")}, ALL[:2]),
    "adds one never requested": (
        ("--add", f"{ROOT}.9"),
        {("not-requested", f"{ROOT}.9")},
        ALL,
    ),
    "puts one in both sequences": (
        ("--both",),
        {("in-both", f"{ROOT}.0"), ("event-mismatch", "EventTypeID")},
        ALL[1:],
    ),
    "sends event 2 without failures": (
        ("--event", "2"),
        {("event-mismatch", "EventTypeID")},
        ALL,
    ),
    "sends event 1 with failures": (
        ("--fail", "1", "--event", "1"),
        {("event-mismatch", "EventTypeID")},
        ALL[:2],
    ),
    "gives an undefined Failure Reason": (
        ("--fail", "1", "--reason", "0x0999"),
        {("undefined-failure-reason", f"{ROOT}.2")},
        ALL[:2],
    ),
    "reports another class": (("--wrong-class",), {("class-differs", f"{ROOT}.0")}, ALL[1:]),
}


def kinds_and_paths(result: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["kind"], f["path"]) for f in result["findings"]}


@pytest.mark.parametrize(("faults", "found", "committed"), FAULTS.values(), ids=FAULTS.keys())
def test_a_result_that_breaks_the_standard_exits_7(
    pacs: Any,
    study: Path,
    faults: tuple[str, ...],
    found: set[tuple[str, str]],
    committed: list[str],
) -> None:
    peer = pacs("--report", "same", *faults)
    run = commit(peer, str(study), "--timeout", "20")
    assert run.returncode == 7, run.stderr
    (result,) = results(run)
    assert kinds_and_paths(result) == found
    assert uids(result["committed"]) == committed  # nothing unsound counts as committed
    assert all("PS3.4 J.3" in f["message"] for f in result["findings"])
    assert "the PACS's answer breaks the standard" in run.stderr
    assert "--accept-findings" in run.stderr


def test_a_result_on_a_new_association_without_the_scp_role_exits_7(pacs: Any, study: Path) -> None:
    """PS3.4 J.3.3.1.2: on a new association the PACS, as association requestor, negotiates the
    SCP role; without a role selection item it is the SCU (PS3.7 D.3.3.4)."""
    port = unused_port()
    peer = pacs("--report", "new", "--to-port", str(port), "--no-role")
    run = commit(peer, str(study), "--port", str(port), "--aet", "MODALITY", "--timeout", "20")
    assert run.returncode == 7, run.stderr
    (result,) = results(run)
    assert kinds_and_paths(result) == {("no-scp-role", "association")}
    assert "proposed no SCP role" in result["findings"][0]["message"]
    assert uids(result["committed"]) == ALL
    (context,) = result["association"]["report"]["contexts"]
    assert context["proposed_roles"] is None


def test_a_result_calling_another_ae_title_exits_7(pacs: Any, study: Path) -> None:
    """PS3.4 J.3.3: the result goes to the AE that asked; --result-aet names one more title
    a PACS may be configured to call."""
    port = unused_port()
    peer = pacs("--report", "new", "--to-port", str(port), "--to-aet", "ELSEWHERE")
    run = commit(peer, str(study), "--port", str(port), "--aet", "MODALITY", "--timeout", "20")
    assert run.returncode == 7, run.stderr
    (result,) = results(run)
    assert kinds_and_paths(result) == {("wrong-called-aet", "association")}
    assert "calling AE title 'ELSEWHERE', not MODALITY" in result["findings"][0]["message"]
    assert uids(result["committed"]) == ALL
    port = unused_port()
    peer = pacs("--report", "new", "--to-port", str(port), "--to-aet", "ELSEWHERE")
    run = commit(
        peer,
        str(study),
        "--port",
        str(port),
        "--aet",
        "MODALITY",
        "--result-aet",
        "ELSEWHERE",
        "--timeout",
        "20",
    )
    assert run.returncode == 0, run.stderr
    (result,) = results(run)
    assert result["findings"] == []


def test_an_n_action_rsp_that_breaks_the_standard_exits_7(pacs: Any, study: Path) -> None:
    """A status PS3.7 10.1.4.1.10 does not define for N-ACTION (pynetdicom also copies the
    Action Type ID into it: no finding, dicom/judge.py says why)."""
    peer = pacs("--status", "0xC001")
    run = commit(peer, str(study), "--timeout", "20")
    assert run.returncode == 7, run.stderr
    (result,) = results(run)
    assert kinds_and_paths(result) == {("undefined-status", "Status")}
    assert "10.1.4.1.10" in result["findings"][0]["message"]


@pytest.mark.parametrize(
    ("faults", "code"),
    [
        (("--report", "same", "--omit", "1"), 0),  # event 1: by the event alone
        (("--report", "same", "--fail", "1", "--reason", "0x0999"), 6),
        (("--report", "same", "--both"), 0),
        (("--status", "0xC001"), 4),
    ],
)
def test_accept_findings_exits_by_the_status_and_event(
    pacs: Any, study: Path, faults: tuple[str, ...], code: int
) -> None:
    peer = pacs(*faults)
    run = commit(peer, str(study), "--timeout", "20", "--accept-findings")
    assert run.returncode == code, run.stderr
    (result,) = results(run)
    assert result["findings"]  # still shown
    assert "breaks the standard" not in run.stderr


def test_findings_are_shown_as_text(pacs: Any, study: Path) -> None:
    peer = pacs("--report", "same", "--omit", "1")
    run = dcmreport(
        "commit", f"PACS@127.0.0.1:{peer.port}", str(study), "--format", "text", "--timeout", "20"
    )
    assert run.returncode == 7, run.stderr
    assert "Committed    2" in run.stdout
    assert re.search(r"Findings\s+not-reported: " + re.escape(f"{ROOT}.2"), run.stdout)


def test_split_reports_each_transactions_findings(pacs: Any) -> None:
    peer = pacs("--report", "same", "--report-after", "3", "--omit", "1")
    refs = [arg for i in range(6) for arg in ("--ref", f"CTImageStorage:{ROOT}.{i}")]
    run = commit(peer, *refs, "--split", "2", "--timeout", "20")
    assert run.returncode == 7, run.stderr
    found = results(run)
    assert [kinds_and_paths(r) for r in found] == [
        {("not-reported", f"{ROOT}.{i}")} for i in (1, 3, 5)
    ]
    assert "3 finding(s) in 3 transaction(s)" in run.stderr


def transaction(status: int = 0, event: int | None = 1, findings: int = 0) -> CommitResult:
    """A transaction as it ended, without a network: the exit code is decided from these."""
    request = CommitRequest("1.2.3", Dataset(), ())
    info = AssociationInfo("A", "B", "127.0.0.1:104", 0, "1.2", None)
    report = None
    if event is not None:
        report = ReceivedReport(
            info, 1, "1.2.840.10008.1.2", 1, STORAGE_COMMITMENT, "", event, None
        )
    found = tuple(Finding("not-reported", "1.2.3.4", "...") for _ in range(findings))
    return CommitResult(request, info, ResponseStatus(status), report, findings=found)


ORDER = [  # the first code that applies to any transaction: 7, 4, 5, 6, then 0
    ([transaction(), transaction(0x0110, None), transaction(findings=1)], 7, 4),
    ([transaction(event=2), transaction(0x0110, None), transaction(0, None)], 4, 4),
    ([transaction(event=2), transaction(0, None), transaction()], 5, 5),
    ([transaction(), transaction(event=2), transaction(event=3)], 6, 6),
    ([transaction(), transaction(findings=2)], 7, 0),
    ([transaction(), transaction()], 0, 0),
]


@pytest.mark.parametrize(("done", "code", "accepting"), ORDER)
def test_the_order_of_exit_codes_over_transactions(
    done: list[CommitResult], code: int, accepting: int
) -> None:
    assert _commit_exit_code(done, Judging()) == code
    assert _commit_exit_code(done, Judging(accept_findings=True)) == accepting


# --- one AE title: the PACS calls back the one the N-ACTION came from ------------------------


def test_no_result_with_a_port_names_the_ae_title_host_and_port(pacs: Any, study: Path) -> None:
    port = unused_port()
    peer = pacs("--report", "none")
    run = commit(peer, str(study), "--port", str(port), "--aet", "MODALITY", "--timeout", "1")
    assert run.returncode == 5, run.stderr
    assert f"no association came to port {port}" in run.stderr
    assert f"it must know MODALITY at 127.0.0.1:{port}" in run.stderr


def test_no_result_does_not_blame_the_port_when_an_association_came(pacs: Any, study: Path) -> None:
    """The PACS calls back, but with a result for another transaction."""
    port = unused_port()
    peer = pacs("--report", "new", "--to-port", str(port), "--other-only")
    run = commit(peer, str(study), "--port", str(port), "--aet", "MODALITY", "--timeout", "3")
    assert run.returncode == 5, run.stderr
    assert re.search(
        rf"1 association\(s\) came to port {port} \(the last from PACS \(127\.0\.0\.1:\d+\) "
        r"calling MODALITY\) with 1 report\(s\), none of them its result",
        run.stderr,
    ), run.stderr
    assert "must know" not in run.stderr and "--port" not in run.stderr.split("error:")[1]


def test_the_newcomers_aet_is_the_one_the_pacs_calls_back(listen: Any, study: Path) -> None:
    """``commit PACS@host study/ --aet MODALITY --port N``: the N-ACTION comes from MODALITY,
    so a PACS that knows MODALITY at that port reports there."""
    back = unused_port()
    pacs = listen(
        *("--aet", "PACS", "--commitment", "all", "--commitment-on", "new"),
        *("--peer", f"MODALITY=127.0.0.1:{back}"),
    )
    for aet_option in ("--aet", "-aet", "--calling-aet"):
        run = dcmreport(
            *("commit", f"PACS@127.0.0.1:{pacs.port}", str(study), aet_option, "MODALITY"),
            *("--port", str(back), "--format", "json", "--timeout", "20"),
        )
        assert run.returncode == 0, run.stderr
        (result,) = results(run)
        assert result["same_association"] is False and result["findings"] == []
        assert result["association"]["request"]["calling_aet"] == "MODALITY"
        assert result["association"]["report"]["called_aet"] == "MODALITY"
        assert "warning" not in run.stderr


def test_a_differing_result_aet_warns_and_the_hint_names_both(listen: Any, study: Path) -> None:
    """--result-aet MODALITY with the N-ACTION still from DCMREPORT: the PACS looks up
    DCMREPORT, which it does not know; commit warns at once and says so at the end."""
    back = unused_port()
    pacs = listen(
        *("--aet", "PACS", "--commitment", "all", "--commitment-on", "new"),
        *("--peer", f"MODALITY=127.0.0.1:{back}", "--commitment-retries", "0"),
    )
    run = dcmreport(
        *("commit", f"PACS@127.0.0.1:{pacs.port}", str(study), "--result-aet", "MODALITY"),
        *("--port", str(back), "--format", "json", "--timeout", "3"),
    )
    assert run.returncode == 5, run.stderr
    assert "warning: --result-aet MODALITY differs from our AE title DCMREPORT" in run.stderr
    assert (
        f"it must know DCMREPORT (or MODALITY, if it reports to --result-aet) at "
        f"127.0.0.1:{back}" in run.stderr
    )


def test_a_result_aet_without_a_port_warns(pacs: Any, study: Path) -> None:
    peer = pacs("--report", "same")
    run = commit(peer, str(study), "--result-aet", "MODALITY", "--timeout", "20")
    assert run.returncode == 0, run.stderr
    assert "--result-aet has no effect without --port" in run.stderr


def test_settings_keys_are_the_field_names(pacs: Any, study: Path, tmp_path: Path) -> None:
    """``calling_aet`` is --aet/-aet/--calling-aet, ``result_aet`` is --result-aet."""
    port = unused_port()
    peer = pacs("--report", "new", "--to-port", str(port), "--to-aet", "RESULTS")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[defaults]\nresult_aet = "RESULTS"\n\n[peers.pacs]\n'
        f'address = "PACS@127.0.0.1:{peer.port}"\ncalling_aet = "MODALITY"\n'
    )
    run = dcmreport(
        *("commit", "pacs", str(study), "--port", str(port), "--format", "json"),
        *("--timeout", "20", "--config", str(config)),
    )
    assert run.returncode == 0, run.stderr
    (result,) = results(run)
    assert result["association"]["request"]["calling_aet"] == "MODALITY"
    assert result["association"]["report"]["called_aet"] == "RESULTS"
    assert "warning: --result-aet RESULTS differs" in run.stderr
