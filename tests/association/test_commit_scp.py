"""``listen --commitment``: the PACS side of storage commitment, and what listen refuses.

``dcmreport commit`` (the modality side) against ``dcmreport listen
--commitment`` as two processes on 127.0.0.1: each policy, the result on the
same and on a new association; then requests the listener does not serve,
sent by plain pynetdicom, each with the status the standard gives.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from certs import Certs
from helpers import CT, ROOT, commit, dcmreport, unused_port, write_instance
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE

MR = "1.2.840.10008.5.1.4.1.1.4"
STGCMT = "1.2.840.10008.1.20.1"
STGCMT_INSTANCE = "1.2.840.10008.1.20.1.1"


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """Three CT instances, as a modality would have sent them."""
    for n in range(3):
        write_instance(tmp_path / "study", f"{n}.dcm", CT, f"{ROOT}.{n}")
    return tmp_path / "study"


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
    request, sent = pacs.json_lines()  # the N-ACTION, kept and shown like a report; its result
    assert (request["kind"], request["event_type_id"], request["status"]) == ("n-action", 1, 0)
    assert request["answer_sent"] is True
    assert (sent["kind"], sent["delivered"], sent["delivered_on"]) == (
        "commitment-result",
        True,
        "same",
    )
    assert (sent["response"]["status"], sent["attempts"]) == (0, 1)
    [request_file] = (Path(f) for f in request["files"] if f.endswith(".json"))
    result_file = request_file.with_name(f"{request_file.stem}-result.json")
    assert sorted(kept.glob("*.json")) == sorted([request_file, result_file])
    assert sent["files"] == [str(result_file)]
    assert json.loads(result_file.read_text()) == sent  # kept as shown, completed
    assert result_file.stat().st_mode & 0o777 == 0o600


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


def test_a_result_that_cannot_be_delivered_is_logged_retried_and_kept(
    listen: Any, study: Path, tmp_path: Path
) -> None:
    kept = tmp_path / "kept"
    pacs = listen(
        *("--aet", "PACS", "--commitment", "all", "--commitment-on", "new"),
        *("--commitment-retries", "1", "--output-dir", str(kept)),
    )
    code, _ = commit(pacs.port, study, "--timeout", "4")
    assert code == 5  # no result: the PACS does not know where MODALITY listens
    pacs.finish()
    stderr = "".join(pacs.stderr)
    assert stderr.count("cannot deliver the storage commitment result") == 2
    assert "no --peer DCMREPORT=HOST:PORT" in stderr
    assert "gave up delivering" in stderr
    _, shown = pacs.json_lines()
    [on_disk] = kept.glob("*-result.json")
    result = json.loads(on_disk.read_text())
    assert result == shown
    assert (result["kind"], result["delivered"], result["attempts"]) == (
        "commitment-result",
        False,
        2,
    )
    assert "no --peer DCMREPORT=HOST:PORT" in result["not_delivered_reason"]
    assert result["delivered_on"] is None and result["response"] is None
    assert (result["event_type_id"], len(result["committed"]), result["failed"]) == (1, 3, [])
    assert result["dataset"]["00081195"]["Value"] == [shown["transaction_uid"]]


def test_a_result_on_a_new_association_is_shown_as_text(listen: Any, study: Path) -> None:
    back = unused_port()
    pacs = listen(
        *("--aet", "PACS", "--commitment", "none", "--format", "text"),
        *("--commitment-on", "new", "--peer", f"MODALITY=127.0.0.1:{back}"),
    )
    code, _ = commit(pacs.port, study, "-aet", "MODALITY", "--port", str(back))
    assert code == 6
    pacs.finish()
    shown = " ".join("".join(pacs.stdout).split())
    assert "to MODALITY on a new association after 1 attempt(s): 0x0000 Success" in shown
    assert "Failed 3" in shown and "0x0110 Processing failure" in shown


# --- --commitment exec: a program decides ----------------------------------------------------

DECIDE = """\
import json, os, sys
request = json.load(open(os.environ["DCMREPORT_RECORD"]))  # the kept N-ACTION's record
items = request["dataset"]["00081199"]["Value"]
uids = [item["00081155"]["Value"][0] for item in items]
print(json.dumps({"committed": uids[:1], "failed": {uids[1]: "no-such-object-instance",
                  uids[2]: "0x0119"}}))
"""


def program(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "decide.py"
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("kept", [True, False], ids=["output-dir", "temporary"])
def test_exec_policy_commits_what_the_program_says(
    listen: Any, study: Path, tmp_path: Path, kept: bool
) -> None:
    """The program reads the request's record (kept, or in a temporary directory)."""
    keep = ("--output-dir", str(tmp_path / "kept")) if kept else ()
    pacs = listen(
        *("--aet", "PACS", "--commitment", "exec", "--exec", str(program(tmp_path, DECIDE))),
        *keep,
    )
    code, result = commit(pacs.port, study)
    assert code == 6, result
    assert [i["sop_instance_uid"] for i in result["committed"]] == [f"{ROOT}.0"]
    reasons = {f["sop_instance_uid"]: f["failure_reason"] for f in result["failed"]}
    assert reasons == {f"{ROOT}.1": 0x0112, f"{ROOT}.2": 0x0119}
    pacs.finish()
    request, sent = pacs.json_lines()
    assert request["status"] == 0 and (sent["policy"], sent["fallback"]) == ("exec", None)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("import sys; sys.exit(3)", "it exited 3"),
        ("print('committed: all')", "its output is not a result: not JSON"),
        (
            f"import json; print(json.dumps({{'committed': ['{ROOT}.0']}}))",
            "its output is not a result: it must name every requested SOP Instance UID once",
        ),
        (
            f"import json; print(json.dumps({{'committed': ['{ROOT}.0', '{ROOT}.1'], "
            f"'failed': {{'{ROOT}.2': 'no-such-reason'}}}}))",
            f"its output is not a result: {ROOT}.2: ",
        ),
        ("import time; time.sleep(30)", "it was killed after 1 s (--exec-timeout)"),
    ],
    ids=["exit", "not-json", "undecided", "bad-reason", "timeout"],
)
def test_exec_policy_falls_back_to_every_instance_failed(
    listen: Any, study: Path, tmp_path: Path, body: str, why: str
) -> None:
    """A program that fails: one line, and nothing committed (0x0110 each), never a traceback."""
    pacs = listen(
        *("--aet", "PACS", "--commitment", "exec", "--exec", str(program(tmp_path, body))),
        *("--exec-timeout", "1"),
    )
    code, result = commit(pacs.port, study)
    assert code == 6, result
    assert result["committed"] == []
    assert [f["failure_reason"] for f in result["failed"]] == [0x0110] * 3
    pacs.finish()
    stderr = "".join(pacs.stderr)
    assert "Traceback" not in stderr
    [line] = [x for x in pacs.stderr if "did not decide transaction" in x]
    assert why in line, line
    assert why in pacs.json_lines()[-1]["fallback"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--commitment exec needs --exec PROGRAM"),
        (["--exec", "/no/such/program"], "--exec: /no/such/program: no such executable"),
        (["--exec", "true", "--commitment", "exec:x"], "unknown policy 'exec:x'"),
    ],
)
def test_exec_policy_without_a_program_is_a_usage_error(args: list[str], message: str) -> None:
    run = dcmreport("listen", "--port", "0", "--commitment", "exec", *args)
    assert run.returncode == 2 and message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_the_result_on_a_new_association_over_tls(
    listen: Any, study: Path, tls_certs: Certs
) -> None:
    """Each side's TLS options serve both its roles: listen calls back with its certificate
    and checks commit's with --tls-ca; commit accepts the result under its own."""
    back = unused_port()
    tls = ("--tls", "--tls-ca", str(tls_certs.ca))
    identity = ("--tls-cert", str(tls_certs.server.cert), "--tls-key", str(tls_certs.server.key))
    pacs = listen(
        *("--aet", "PACS", "--commitment", "all", *tls, *identity, "-v"),
        *("--commitment-on", "new", "--peer", f"MODALITY=127.0.0.1:{back}"),
    )
    code, result = commit(
        pacs.port, study, "-aet", "MODALITY", "--port", str(back), *tls, *identity, "-v"
    )
    assert code == 0, result
    assert result["same_association"] is False and result["event_type_id"] == 1
    pacs.finish()
    _, sent = pacs.json_lines()
    assert (sent["delivered"], sent["delivered_on"]) == (True, "new")


def test_the_result_over_tls_needs_a_certificate_to_accept_it(tls_certs: Certs) -> None:
    run = dcmreport(
        *("commit", "PACS@127.0.0.1:1", "--ref", f"{CT}:{ROOT}.0", "--port", "0"),
        *("--tls", "--tls-ca", str(tls_certs.ca)),
    )
    assert run.returncode == 2 and "commit --tls --port needs --tls-cert" in run.stderr


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
