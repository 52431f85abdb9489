"""``listen --commitment``: the PACS side of storage commitment, and what listen refuses.

``dcmreport commit`` (the modality side) against ``dcmreport listen
--commitment`` as two processes on 127.0.0.1: each policy, the result on the
same and on a new association; then requests the listener does not serve,
sent by plain pynetdicom, each with the status the standard gives.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from certs import Certs
from helpers import (
    CT,
    PEERS,
    ROOT,
    commit,
    dcmreport,
    eventually,
    reactor_caught_up,
    unused_port,
    write_instance,
)
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
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
    assert (request["kind"], request["action_type_id"], request["status"]) == ("n-action", 1, 0)
    assert request["action_name"] == "Request Storage Commitment"
    assert "event_type_id" not in request and "event_name" not in request
    assert request["answer_sent"] is True and request["findings"] == []
    assert (sent["kind"], sent["delivered"], sent["delivered_on"]) == (
        "commitment-result",
        True,
        "same",
    )
    assert (sent["response"]["status"], sent["attempts"]) == (0, 1)
    [request_file] = (Path(f) for f in request["files"] if f.endswith(".json"))
    assert f"-a1-{STGCMT_INSTANCE}" in request_file.name  # its Action Type, not an event
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
if (os.environ["DCMREPORT_ACTION_TYPE_ID"], os.environ["DCMREPORT_EVENT_TYPE_ID"]) != ("1", ""):
    sys.exit(9)  # an N-ACTION has an Action Type, and no event
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
    assert f"refused {request_kind.split()[0]} from REQUESTOR" in stderr


# --- every request judged (PS3.4 J.3.2, PS3.7 10.1.4.1.10) -----------------------------------

# A result, if one were decided, is shown at once: no --peer to deliver it to, no retry.
SHOWN_AT_ONCE = ("--commitment-on", "new", "--commitment-retries", "0")
TRANSACTION = f"{ROOT}.99"
ABSENT = object()  # an attribute left out, not empty


def reference(class_uid: object = CT, instance_uid: object = f"{ROOT}.0") -> Dataset:
    """A Referenced SOP Sequence item; ABSENT leaves its attribute out."""
    item = Dataset()
    if class_uid is not ABSENT:
        item.ReferencedSOPClassUID = class_uid
    if instance_uid is not ABSENT:
        item.ReferencedSOPInstanceUID = instance_uid
    return item


def request_information(uid: object = TRANSACTION, items: object = ABSENT) -> Dataset:
    """Action Information with ``uid`` and ``items`` (one well-formed item by default)."""
    ds = Dataset()
    if uid is not ABSENT:
        ds.TransactionUID = uid
    ds.ReferencedSOPSequence = [reference()] if items is ABSENT else items
    if items is None:
        del ds.ReferencedSOPSequence
    return ds


def send_actions(port: int, *requests: tuple[Dataset | None, int, str]) -> list[int]:
    """Plain pynetdicom as a modality that breaks the rules: each (Action Information,
    Action Type, Requested SOP Instance) as given, on one association; the statuses."""
    ae = AE(ae_title="REQUESTOR")
    ae.add_requested_context(STGCMT)
    assoc = ae.associate("127.0.0.1", port)
    assert assoc.is_established
    statuses = []
    for information, action_type, instance in requests:
        reactor_caught_up(assoc)
        status, _ = assoc.send_n_action(information, action_type, STGCMT, instance)
        statuses.append(int(status.Status))
    assoc.release()
    return statuses


MALFORMED = [
    (
        "no-transaction-uid",
        lambda: request_information(ABSENT),
        1,
        0x0115,
        "missing-transaction-uid",
    ),
    (
        "empty-transaction-uid",
        lambda: request_information(""),
        1,
        0x0115,
        "missing-transaction-uid",
    ),
    (
        "invalid-transaction-uid",
        lambda: request_information("1.2.abc"),
        1,
        0x0115,
        "invalid-transaction-uid",
    ),
    ("no-sequence", lambda: request_information(items=None), 1, 0x0115, "missing-references"),
    ("empty-sequence", lambda: request_information(items=[]), 1, 0x0115, "missing-references"),
    ("no-action-information", lambda: None, 1, 0x0115, "missing-transaction-uid"),
    (
        "item-without-instance-uid",
        lambda: request_information(items=[reference(instance_uid=ABSENT)]),
        1,
        0x0115,
        "invalid-reference",
    ),
    (
        "item-with-empty-instance-uid",
        lambda: request_information(items=[reference(), reference(instance_uid="")]),
        1,
        0x0115,
        "invalid-reference",
    ),
    (
        "item-with-invalid-class-uid",
        lambda: request_information(items=[reference(class_uid="1.2.x")]),
        1,
        0x0115,
        "invalid-reference",
    ),
    (
        "same-instance-twice",
        lambda: request_information(items=[reference(), reference(MR)]),
        1,
        0x0115,
        "duplicate-reference",
    ),
    ("action-type-2", lambda: request_information(), 2, 0x0123, "unknown-action"),
]


@pytest.mark.parametrize(
    ("information", "action_type", "status", "kind"),
    [pytest.param(*case[1:], id=case[0]) for case in MALFORMED],
)
@pytest.mark.filterwarnings("ignore:Invalid value for VR UI:UserWarning")  # as a peer may send
def test_a_malformed_request_is_refused_recorded_and_never_committed(
    listen: Any,
    information: Callable[[], Dataset | None],
    action_type: int,
    status: int,
    kind: str,
) -> None:
    """The status PS3.7 gives, the rule among the record's findings, one log line, no result."""
    pacs = listen("--aet", "PACS", "--commitment", "all", *SHOWN_AT_ONCE)
    assert send_actions(pacs.port, (information(), action_type, STGCMT_INSTANCE)) == [status]
    pacs.finish()
    [record] = pacs.json_lines()  # no "commitment-result": nothing was decided, nothing sent
    assert (record["kind"], record["status"], record["answer_sent"]) == ("n-action", status, True)
    assert kind in [finding["kind"] for finding in record["findings"]], record["findings"]
    assert record["error_comment"]
    assert (record["action_type_id"], "event_type_id" in record) == (action_type, False)
    [line] = [x for x in pacs.stderr if "refused N-ACTION from REQUESTOR" in x]
    assert f"Action Type {action_type}): 0x{status:04X} " in line, line
    assert record["error_comment"] in line
    assert "Traceback" not in "".join(pacs.stderr)


def encoded(ds: Dataset) -> bytes:
    """``ds`` in Explicit VR Little Endian."""
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, ds)
    return buffer.getvalue()


def raw_action(port: int, *args: str) -> int:
    """An N-ACTION-RQ built by hand (tests/peers/raw_sender.py): what pynetdicom's own
    send_n_action cannot leave out or get wrong; the status it was answered."""
    data = encoded(request_information()).hex()
    sender = subprocess.run(
        [sys.executable, str(PEERS / "raw_sender.py"), str(port), data, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sender.returncode == 0, sender.stderr
    return int(json.loads(sender.stdout)["status"])


@pytest.mark.parametrize(
    ("args", "status", "kind"),
    [
        (["--action", "none"], 0x0123, "missing-action-type"),
        (["--action", "1", "--context", CT], 0x0212, "context-mismatch"),
        (["--action", "1", "--instance", "1.2.abc"], 0x0117, "invalid-uid"),
    ],
    ids=["no-action-type", "on-another-context", "invalid-requested-instance"],
)
def test_a_malformed_command_is_refused_by_the_standard(
    listen: Any, args: list[str], status: int, kind: str
) -> None:
    pacs = listen("--aet", "PACS", "--commitment", "all", *SHOWN_AT_ONCE)
    assert raw_action(pacs.port, *args) == status
    pacs.finish()
    [record] = pacs.json_lines()
    assert kind in [f["kind"] for f in record["findings"]] and record["status"] == status
    [line] = [x for x in pacs.stderr if "refused N-ACTION from " in x]
    assert f"0x{status:04X}" in line


def test_an_action_information_past_a_limit_is_refused_in_one_line(listen: Any) -> None:
    """0x0213 Resource limitation, the problem its reason, and no finding of an absence."""
    pacs = listen("--aet", "PACS", "--commitment", "all", "--max-elements", "8", *SHOWN_AT_ONCE)
    many = request_information(items=[reference(instance_uid=f"{ROOT}.{n}") for n in range(9)])
    assert send_actions(pacs.port, (many, 1, STGCMT_INSTANCE)) == [0x0213]
    pacs.finish()
    [record] = pacs.json_lines()
    assert record["problem"] and record["findings"] == []
    [line] = [x for x in pacs.stderr if "N-ACTION" in x or "report from" in x]
    assert "refused N-ACTION from REQUESTOR" in line and "0x0213 Resource limitation" in line
    assert record["problem"] in line


def test_action_type_2_is_named_as_an_action_never_as_an_event(listen: Any) -> None:
    """Storage commitment's event 2 is "Failures Exist"; its Action Type 2 is nothing."""
    pacs = listen("--aet", "PACS", "--commitment", "all", "--format", "text")
    assert send_actions(pacs.port, (request_information(), 2, STGCMT_INSTANCE)) == [0x0123]
    pacs.finish()
    shown = " ".join("".join(pacs.stdout).split())
    assert "Action Type 2 (not defined for the class)" in shown
    assert "Failures Exist" not in shown and "Event Type" not in shown
    assert "unknown-action: Action Type 2 is not defined" in shown


def test_a_record_of_action_type_2_has_no_name(listen: Any) -> None:
    pacs = listen("--aet", "PACS", "--commitment", "all")
    send_actions(pacs.port, (request_information(), 2, STGCMT_INSTANCE))
    pacs.finish()
    [record] = pacs.json_lines()
    assert (record["action_type_id"], record["action_name"]) == (2, None)
    assert "event_name" not in record and "event_type_id" not in record


def test_another_instance_is_refused_with_0x0112(listen: Any) -> None:
    pacs = listen("--aet", "PACS", "--commitment", "all", *SHOWN_AT_ONCE)
    assert send_actions(pacs.port, (request_information(), 1, f"{ROOT}.5")) == [0x0112]
    pacs.finish()
    [record] = pacs.json_lines()
    assert [f["kind"] for f in record["findings"]] == ["wrong-instance"]


def test_a_reused_transaction_uid_is_acknowledged_and_every_instance_fails(
    listen: Any, study: Path
) -> None:
    """Two commits with one Transaction UID, on two associations: the second is answered
    Success (no N-ACTION-RSP status means it) and its result fails each instance with
    0x0131 Duplicate transaction UID, the Failure Reason PS3.3 C.14.1.1 has for it."""
    pacs = listen("--aet", "PACS", "--commitment", "all")
    uid = ("--transaction-uid", TRANSACTION)
    code, first = commit(pacs.port, study, *uid)
    assert code == 0 and len(first["committed"]) == 3, first
    code, second = commit(pacs.port, study, *uid)
    assert code == 6, second
    assert second["action_status"]["status"] == 0 and second["committed"] == []
    assert [f["failure_reason"] for f in second["failed"]] == [0x0131] * 3
    pacs.finish()
    lines = pacs.json_lines()
    request_1, request_2 = (x for x in lines if x["kind"] == "n-action")  # in the order sent
    # the results by what they say: each is shown from a thread of its own
    result_1, result_2 = sorted(
        (x for x in lines if x["kind"] == "commitment-result"), key=lambda x: len(x["failed"])
    )
    assert request_1["findings"] == [] and result_1["failed"] == []
    assert [f["kind"] for f in request_2["findings"]] == ["duplicate-transaction-uid"]
    assert request_2["status"] == 0
    assert (result_2["policy"], result_2["event_type_id"]) == ("all", 2)
    assert "already in use" in result_2["fallback"]
    [line] = [x for x in pacs.stderr if f"reuses Transaction UID {TRANSACTION}" in x]
    assert "every instance with 0x0131" in line


def test_a_transaction_uid_of_a_refused_request_counts_as_used(listen: Any) -> None:
    """PS3.4 J.3.2.1.2: after a failure status the UID "shall not be reused"."""
    pacs = listen("--aet", "PACS", "--commitment", "all", *SHOWN_AT_ONCE)
    twice = request_information(items=[reference(), reference()])
    assert send_actions(
        pacs.port, (twice, 1, STGCMT_INSTANCE), (request_information(), 1, STGCMT_INSTANCE)
    ) == [0x0115, 0x0000]
    pacs.finish()
    refused_one, acknowledged, result = pacs.json_lines()
    assert "duplicate-transaction-uid" not in [f["kind"] for f in refused_one["findings"]]
    assert [f["kind"] for f in acknowledged["findings"]] == ["duplicate-transaction-uid"]
    assert [f["failure_reason"] for f in result["failed"]] == [0x0131]


@pytest.mark.parametrize(
    ("body", "statuses"),
    [
        ("import sys; sys.exit(0)", [0x0115, 0x0000]),
        ("import sys; print('0x0213 busy'); sys.exit(1)", [0x0115, 0x0213]),
    ],
    ids=["program-accepts", "program-refuses"],
)
def test_exec_decides_may_refuse_a_request_never_accept_a_refused_one(
    listen: Any, tmp_path: Path, body: str, statuses: list[int]
) -> None:
    pacs = listen(
        *("--aet", "PACS", "--commitment", "all", *SHOWN_AT_ONCE),
        *("--exec", str(program(tmp_path, body)), "--exec-decides"),
    )
    malformed = request_information(items=[])
    assert (
        send_actions(
            pacs.port,
            (malformed, 1, STGCMT_INSTANCE),
            (request_information(f"{ROOT}.98"), 1, STGCMT_INSTANCE),
        )
        == statuses
    )
    pacs.finish()
    results = [x for x in pacs.json_lines() if x["kind"] == "commitment-result"]
    assert [r["transaction_uid"] for r in results] == ([f"{ROOT}.98"] if statuses[1] == 0 else [])


def test_answer_findings_no_serves_what_can_be_served(listen: Any, study: Path) -> None:
    """The permissive sink: findings kept and shown, the request committed by the policy,
    a reused Transaction UID too; refused only what cannot be served at all."""
    pacs = listen(
        *("--aet", "PACS", "--commitment", "all", "--answer-findings", "no", *SHOWN_AT_ONCE)
    )
    sloppy = request_information(items=[reference(), reference(MR), reference(instance_uid="")])
    assert send_actions(
        pacs.port,
        (sloppy, 1, STGCMT_INSTANCE),
        (request_information(), 1, STGCMT_INSTANCE),
        (request_information(), 2, STGCMT_INSTANCE),
        (request_information(items=[]), 1, STGCMT_INSTANCE),
    ) == [0x0000, 0x0000, 0x0123, 0x0115]
    pacs.finish()
    lines = pacs.json_lines()
    records = [x for x in lines if x["kind"] == "n-action"]
    results = [x for x in lines if x["kind"] == "commitment-result"]
    assert [sorted({f["kind"] for f in r["findings"]}) for r in records] == [
        ["duplicate-reference", "invalid-reference"],
        ["duplicate-transaction-uid"],
        ["unknown-action"],
        ["duplicate-transaction-uid", "missing-references"],
    ]
    assert sorted((len(r["committed"]), r["failed"], r["fallback"]) for r in results) == [
        (1, [], None),
        (3, [], None),
    ]  # sorted: each result is shown from a thread of its own
    stderr = "".join(pacs.stderr)
    assert "decided by the policy all the same (--answer-findings no)" in stderr
    assert stderr.count("refused N-ACTION from REQUESTOR") == 2


def test_a_pending_result_keeps_its_request_within_the_memory_budget(listen: Any) -> None:
    """A request whose result waits for ``--commitment-delay`` is held until the result has
    gone: its data set's share of the memory budget is given back then, not as the request
    was answered, so that results pending at once stay within the budget."""
    items = [reference(instance_uid=f"{ROOT}.{n}") for n in range(6000)]
    size = len(encoded(request_information(items=items)))
    pacs = listen(
        "--aet", "PACS", "--commitment", "all", "--commitment-delay", "8",
        "--commitment-on", "same", "--memory-budget", str(3 * size),
        "--max-dataset-size", str(size + size // 8), "-v",
    )  # fmt: skip
    uids = (f"{ROOT}.9{n}" for n in itertools.count())  # each request a transaction of its own
    requests = ((request_information(uid, items), 1, STGCMT_INSTANCE) for uid in uids)
    assert send_actions(pacs.port, next(requests)) == [0]
    # Recorded and shown (it has landed): the result still pending, its share is still held.
    assert eventually(lambda: any('"n-action"' in line for line in pacs.stdout)), pacs.stderr
    assert send_actions(pacs.port, next(requests)) == [0x0213]
    # The result cannot go (the association has ended): the work ends when it gives up, and
    # gives the share back just after saying so.
    assert eventually(lambda: any("gave up delivering" in line for line in pacs.stderr))
    assert eventually(lambda: send_actions(pacs.port, next(requests)) == [0])
