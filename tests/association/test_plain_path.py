"""The plain path (``DCMREPORT_SPEEDUPS=off``): correct on its own, and really plain.

Whatever mode the suite runs in, these tests force the switch off for the
processes they start (``cli_env`` keeps ``DCMREPORT_SPEEDUPS``): the listener,
a batch with a window against a peer that grants one, and storage commitment
both ways, with pynetdicom doing its own work (a thread per N-EVENT-REPORT,
its command sets, a command and its data set as two PDUs). And the proof that
plain means plain: nothing of the fast path is imported, so nothing of it is
called, and pynetdicom's loops keep their own polling delay.
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
from helpers import PEERS, SPEEDUPS, Background, cli_env, dcmreport, started_processes
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

FAST_PATH_MODULES = {"dcmreport.association.internals.fast_path", "dcmreport.association.command"}
STGCMT = ["--class", "storage-commitment", "--event", "1", "TransactionUID=1.2.3.4"]
CT = "1.2.840.10008.5.1.4.1.1.2"
ROOT = "1.2.826.0.1.3680043.9.9999.31"


@pytest.fixture(autouse=True)
def plain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every process these tests start runs plain, whatever the suite's mode."""
    monkeypatch.setenv(SPEEDUPS, "off")


def peer(port: int, aet: str = "ANY-SCP") -> str:
    return f"{aet}@127.0.0.1:{port}"


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def batch_lines(text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A batch's response lines and its summary, the last line."""
    parsed = json_lines(text)
    assert parsed and parsed[-1]["kind"] == "summary", text[-2000:]
    return [line for line in parsed if line["kind"] == "response"], parsed[-1]


def imported(
    *args: str, stdin: str | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``python -X importtime -m dcmreport ARGS`` and the modules it imported."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dcmreport", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
    )
    return run, set(re.findall(r"^import time:.*\| +(\S+)$", run.stderr, re.M))


class ImportingListener(Background):
    """``dcmreport listen`` under ``-X importtime``: ``modules()`` once it has ended."""

    def __init__(self, *args: str) -> None:
        super().__init__(
            [sys.executable, "-X", "importtime", "-m", "dcmreport", "listen", "--port", "0",
             "--bind", "127.0.0.1", "--format", "json", *args]
        )  # fmt: skip
        self.port = int(self.wait_for(re.compile(r"listening on \S+:(\d+)"), timeout=60)[1])

    def modules(self) -> set[str]:
        return set(re.findall(r"^import time:.*\| +(\S+)$", "".join(self.stderr), re.M))


@pytest.fixture
def listen_plain() -> Iterator[Any]:
    yield from started_processes(ImportingListener)


class BatchPeer(Background):
    """tests/peers/batch_peer.py (plain pynetdicom); ``received()`` once stdin closes."""

    def __init__(self, *args: str) -> None:
        super().__init__(
            [sys.executable, str(PEERS / "batch_peer.py"), *args], stdin=subprocess.PIPE
        )
        self.port = int(self.wait_for(re.compile(r'"port": (\d+)'), "stdout")[1])

    def received(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.finish(sig=None) == 0, "".join(self.stderr)
        return dict(json.loads(self.stdout[-1]))


@pytest.fixture
def batch_peer() -> Iterator[Any]:
    yield from started_processes(BatchPeer)


def test_the_listener_serves_plain_requestors_in_order(listen_plain: Any) -> None:
    """listen, echo and send-report, all plain: C-ECHO, a single report, a batch of 30 back to
    back (each report served in pynetdicom's thread of its own) recorded in the order
    answered; no process loads the fast path."""
    listener = listen_plain("--count", "31", "--reply", "echo")
    echo, echoer = imported("echo", peer(listener.port), "--format", "json")
    assert echo.returncode == 0, echo.stderr
    run, sender = imported(
        "send-report", peer(listener.port), "--class", "1.2.3.4.5.6.7", "--event", "3",
        "--instance", "1.2.3", "PatientID=ONE", "--format", "json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    response = json.loads(run.stdout)
    assert (response["status"], response["event_type_id"]) == (0, 3)
    assert response["event_reply"]["00100020"]["Value"] == ["ONE"]
    batch, batcher = imported(
        "send-report", peer(listener.port), *STGCMT, "--repeat", "30", "--format", "json"
    )
    assert batch.returncode == 0, batch.stderr
    responses, summary = batch_lines(batch.stdout)
    assert (summary["sent"], summary["succeeded"], summary["unanswered"]) == (30, 30, 0)
    assert [r["message_id"] for r in responses] == list(range(1, 31))
    assert listener.finish(sig=None, timeout=60) == 0
    records = listener.json_lines()
    assert [r["message_id"] for r in records] == [1, *range(1, 31)]
    assert all(r["answer_sent"] for r in records)
    for modules in (sender, batcher, echoer, listener.modules()):
        assert "dcmreport.association.internals.guards" in modules
        assert not FAST_PATH_MODULES & modules


def test_a_plain_batch_keeps_a_window_of_outstanding_reports(batch_peer: Any) -> None:
    """--window 8 against a peer that performs 4 at once: up to 4 outstanding, every report
    answered once, the responses read by the batch itself (none lost to pynetdicom's loop)."""
    target = batch_peer("--window", "4", "--gather", "4")
    run, modules = imported(
        "send-report", peer(target.port), *STGCMT, "--repeat", "12", "--window", "8",
        "--format", "json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    responses, summary = batch_lines(run.stdout)
    assert (summary["window"], summary["succeeded"], summary["unanswered"]) == (4, 12, 0)
    assert sorted(r["message_id"] for r in responses) == list(range(1, 13))
    assert all(r["message_id_being_responded_to"] == r["message_id"] for r in responses)
    received = target.received()
    assert sorted(n for _, n in received["received"]) == list(range(1, 13))
    assert received["most_held"] == 4
    assert not FAST_PATH_MODULES & modules


def test_a_plain_batch_resends_after_an_abort(batch_peer: Any) -> None:
    """The 5th report's association is aborted before its answer: it goes again on a new
    association, marked resent, as on the fast path."""
    target = batch_peer("--abort-at", "5")
    run = dcmreport("send-report", peer(target.port), *STGCMT, "--repeat", "10", "--format", "json")
    assert run.returncode == 0, run.stderr
    responses, summary = batch_lines(run.stdout)
    assert (summary["sent"], summary["resent"], summary["succeeded"]) == (11, 1, 10)
    assert [(r["message_id"], r["attempt"]) for r in responses if r["resent"]] == [(5, 2)]
    target.received()


def write_study(folder: Path) -> Path:
    for n in range(3):
        ds = Dataset()
        ds.SOPClassUID, ds.SOPInstanceUID, ds.PatientID = CT, f"{ROOT}.{n}", "X"
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        folder.mkdir(parents=True, exist_ok=True)
        ds.save_as(folder / f"{n}.dcm", enforce_file_format=True)
    return folder


def test_plain_storage_commitment_on_the_same_association(
    listen_plain: Any, tmp_path: Path
) -> None:
    """commit and listen --commitment, both plain, --split 1: three N-ACTIONs back to back,
    each result reported on the request's association and answered there; neither process
    loads the fast path."""
    study = write_study(tmp_path / "study")
    pacs = listen_plain("--aet", "PACS", "--commitment", "all")
    run, modules = imported(
        "commit", peer(pacs.port, "PACS"), str(study), "--split", "1", "--timeout", "20",
        "--format", "json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    results = json_lines(run.stdout)
    assert len(results) == 3 and all(r["same_association"] for r in results)
    assert sorted(r["committed"][0]["sop_instance_uid"] for r in results) == [
        f"{ROOT}.{n}" for n in range(3)
    ]
    pacs.finish()
    shown = pacs.json_lines()
    sent = [line for line in shown if line["kind"] == "commitment-result"]
    assert len(sent) == 3 and all(s["delivered"] and s["delivered_on"] == "same" for s in sent)
    assert not FAST_PATH_MODULES & (modules | pacs.modules())


# A listener and a requestor in one process, plain or not as the environment says: prints
# whether the fast path was loaded, then each side's DUL polling delay while associated.
ROUND_TRIP = """
import sys
from pydicom import Dataset
from dcmreport.association import requestor
from dcmreport.association.common import Settings
from dcmreport.association.internals import guards
from dcmreport.association.listener import Listener, ListenOptions
from dcmreport.dicom.address import Peer
from dcmreport.dicom.catalog import STORAGE_COMMITMENT
from dcmreport.dicom.records import Role
from dcmreport.listen.handler import ListenHandler, Reaction

listener = Listener(Settings(ae_title="LISTENER"), ListenOptions(port=0, bind="127.0.0.1"),
                    ListenHandler(Reaction(), lambda record, _: None))
listener.start()
peer = Peer("LISTENER", "127.0.0.1", listener.port)
with requestor.associate(peer, Settings(), [(STORAGE_COMMITMENT, Role.NONE)]) as opened:
    ds = Dataset()
    ds.TransactionUID = "1.2.3"
    status, _ = guards.send_report_request(
        opened.assoc, ds, 1, STORAGE_COMMITMENT, "1.2.840.10008.1.20.1.1")
    assert status.Status == 0, status
    [served] = listener._ae.active_associations
    delays = (opened.assoc.dul._run_loop_delay, served.dul._run_loop_delay)
listener.stop(grace=2)
loaded = "dcmreport.association.internals.fast_path" in sys.modules
print("loaded" if loaded else "absent", *(f"{d:g}" for d in delays))
"""


def test_plain_mode_loads_nothing_of_the_fast_path() -> None:
    """The proof that plain is plain: a listener and a requestor in one process, with the
    switch off, exchange a report; the fast path was never imported (so none of its
    installers ran) and both DULs kept pynetdicom's own polling delay (item 12 untouched).
    test_fast_path.py runs the same with the switch on and sees the opposite."""
    run = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["absent", "0.001", "0.001"], run.stdout
