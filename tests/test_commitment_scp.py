"""``listen --commitment``: the PACS side of storage commitment, and what listen refuses.

``dcmreport commit`` (the modality side) against ``dcmreport listen
--commitment`` as two processes on 127.0.0.1: each policy, the result on the
same and on a new association; then requests the listener does not serve,
sent by plain pynetdicom, each with the status the standard gives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import dcmreport, unused_port
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
STGCMT = "1.2.840.10008.1.20.1"
STGCMT_INSTANCE = "1.2.840.10008.1.20.1.1"
ROOT = "1.2.826.0.1.3680043.9.9999.30"


def write_instance(directory: Path, name: str, sop_class: str, instance: str) -> Path:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID, ds.PatientID = sop_class, instance, "X"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = instance
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """Three CT instances, as a modality would have sent them."""
    for n in range(3):
        write_instance(tmp_path / "study", f"{n}.dcm", CT, f"{ROOT}.{n}")
    return tmp_path / "study"


def commit(port: int, study: Path, *args: str) -> tuple[int, dict[str, Any]]:
    run = dcmreport(
        "commit", f"PACS@127.0.0.1:{port}", str(study), "--format", "json", "--timeout", "15", *args
    )
    assert run.stdout.strip(), run.stderr
    result: dict[str, Any] = json.loads(run.stdout.splitlines()[0])
    return run.returncode, result


def test_all_committed_on_the_same_association(listen: Any, study: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    pacs = listen("--aet", "PACS", "--commitment", "all", "--output-dir", str(kept))
    code, result = commit(pacs.port, study)
    assert code == 0, result
    assert result["event_type_id"] == 1 and result["same_association"] is True
    assert sorted(i["sop_instance_uid"] for i in result["committed"]) == [
        f"{ROOT}.{n}" for n in range(3)
    ]
    assert result["failed"] == []
    pacs.finish()
    [request] = pacs.json_lines()  # the N-ACTION, kept and shown like a report
    assert (request["kind"], request["event_type_id"], request["status"]) == ("n-action", 1, 0)
    assert request["answer_sent"] is True
    assert len(list(kept.glob("*.json"))) == 1


def test_none_committed_reported_on_a_new_association(listen: Any, study: Path) -> None:
    """The PACS calls the modality back at the address --peer gives for its AE title."""
    back = unused_port()
    pacs = listen(
        *("--aet", "PACS", "--commitment", "none:no-such-object-instance"),
        *("--commitment-on", "new", "--peer", f"MODALITY=127.0.0.1:{back}", "-v"),
    )
    code, result = commit(pacs.port, study, "-aet", "MODALITY", "--port", str(back))
    assert code == 6, result  # the report says failures exist
    assert result["event_type_id"] == 2 and result["same_association"] is False
    assert [f["failure_reason"] for f in result["failed"]] == [0x0112] * 3
    pacs.finish()
    assert any("delivered the storage commitment result" in line for line in pacs.stderr)


def test_dir_policy_commits_exactly_what_is_stored(
    listen: Any, study: Path, tmp_path: Path
) -> None:
    """What a storescp received: instance 0 as sent, 1 under another class, 2 not at all."""
    stored = tmp_path / "incoming"
    write_instance(stored, "a.dcm", CT, f"{ROOT}.0")
    write_instance(stored, "b.dcm", MR, f"{ROOT}.1")
    (stored / "notes.txt").write_text("not DICOM")
    pacs = listen("--aet", "PACS", "--commitment", f"dir:{stored}")
    code, result = commit(pacs.port, study)
    assert code == 6
    assert [i["sop_instance_uid"] for i in result["committed"]] == [f"{ROOT}.0"]
    reasons = {f["sop_instance_uid"]: f["failure_reason"] for f in result["failed"]}
    assert reasons == {f"{ROOT}.1": 0x0119, f"{ROOT}.2": 0x0112}


def test_a_result_that_cannot_be_delivered_is_logged_and_retried(listen: Any, study: Path) -> None:
    pacs = listen(
        *("--aet", "PACS", "--commitment", "all", "--commitment-on", "new"),
        *("--commitment-retries", "1"),
    )
    code, _ = commit(pacs.port, study, "--timeout", "4")
    assert code == 5  # no result: the PACS does not know where MODALITY listens
    pacs.finish()
    stderr = "".join(pacs.stderr)
    assert stderr.count("cannot deliver the storage commitment result") == 2
    assert "no --peer DCMREPORT=HOST:PORT" in stderr
    assert "gave up delivering" in stderr


def test_peer_without_commitment_is_a_usage_error() -> None:
    run = dcmreport("listen", "--port", "0", "--peer", "MODALITY=127.0.0.1:104")
    assert run.returncode == 2 and "--peer goes with --commitment" in run.stderr


def action_information() -> Dataset:
    ds = Dataset()
    ds.TransactionUID = f"{ROOT}.99"
    item = Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = CT, f"{ROOT}.0"
    ds.ReferencedSOPSequence = [item]
    return ds


def refused(port: int, request: str) -> int:
    """What the listener answers a request it does not serve, sent by plain pynetdicom."""
    ae = AE(ae_title="REQUESTOR")
    for sop_class in (STGCMT, CT, "1.2.840.10008.5.1.4.1.2.2.1", "1.2.840.10008.3.1.2.3.3"):
        ae.add_requested_context(sop_class)
    assoc = ae.associate("127.0.0.1", port)
    assert assoc.is_established
    identifier = Dataset()
    identifier.QueryRetrieveLevel, identifier.PatientID = "STUDY", "*"
    stored = Dataset()
    stored.SOPClassUID, stored.SOPInstanceUID, stored.PatientID = CT, f"{ROOT}.5", "X"
    stored.file_meta = FileMetaDataset()
    stored.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    send = {
        "N-ACTION": lambda: assoc.send_n_action(action_information(), 1, STGCMT, STGCMT_INSTANCE),
        "N-ACTION type 2": lambda: assoc.send_n_action(
            action_information(), 2, STGCMT, STGCMT_INSTANCE
        ),
        "N-SET": lambda: assoc.send_n_set(stored, "1.2.840.10008.3.1.2.3.3", f"{ROOT}.6"),
        "N-GET": lambda: assoc.send_n_get([0x00100010], "1.2.840.10008.3.1.2.3.3", f"{ROOT}.6"),
        "N-CREATE": lambda: assoc.send_n_create(stored, "1.2.840.10008.3.1.2.3.3", f"{ROOT}.7"),
        "N-DELETE": lambda: assoc.send_n_delete("1.2.840.10008.3.1.2.3.3", f"{ROOT}.6"),
        "C-STORE": lambda: assoc.send_c_store(stored),
        "C-FIND": lambda: next(iter(assoc.send_c_find(identifier, "1.2.840.10008.5.1.4.1.2.2.1"))),
    }[request]
    answer = send()
    status = answer[0] if isinstance(answer, tuple) else answer
    code = int(status.Status)
    assoc.release()
    return code


@pytest.mark.parametrize(
    ("request_kind", "listen_args", "status"),
    [
        ("N-ACTION", [], 0x0211),  # storage commitment without --commitment
        ("N-ACTION type 2", ["--commitment", "all"], 0x0123),  # no such action
        ("N-SET", [], 0x0211),
        ("N-GET", [], 0x0211),
        ("N-CREATE", [], 0x0211),
        ("N-DELETE", [], 0x0211),
        ("C-STORE", [], 0x0122),
        ("C-FIND", [], 0x0122),
    ],
)
def test_requests_listen_does_not_serve_get_the_standards_status(
    listen: Any, request_kind: str, listen_args: list[str], status: int
) -> None:
    """Never an abort and never 0x0110, and one log line naming what was refused."""
    listener = listen(*listen_args)
    assert refused(listener.port, request_kind) == status
    listener.finish()
    stderr = "".join(listener.stderr)
    assert "Traceback" not in stderr
    if status != 0x0123:  # a storage commitment request is shown as a record instead
        assert f"refused {request_kind} from REQUESTOR" in stderr
