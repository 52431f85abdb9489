"""``dcmreport commit`` against a plain pynetdicom PACS (tests/peers/stgcmt_pacs.py).

The PACS runs as its own process and reports the result on the request's
association or on a new one to the port ``commit`` listens on; every exit
code of ``commit`` is reached through what the PACS does.
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
    assert peer.seen()["reports_sent"] == [{"event_type_id": 2, "status": 0}]


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


def test_no_result_within_the_timeout_exits_5(pacs: Any, study: Path) -> None:
    peer = pacs("--report", "none")
    run = commit(peer, str(study), "--timeout", "1")
    assert run.returncode == 5, run.stderr
    (result,) = results(run)
    assert result["action_status"]["status"] == 0 and result["committed"] == []
    assert "no storage commitment result within 1 s" in run.stderr
    assert "needs --port" in run.stderr


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
