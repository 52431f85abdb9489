"""dcmjs-dimse against dcmreport: every scenario in both directions.

``dcmreport-to-dcmjs``: ``dcmreport send-report`` -> ``peers/scp.js``;
``dcmjs-to-dcmreport``: ``peers/scu.js`` -> ``dcmreport listen``. Each cell compares,
element by element in the DICOM JSON model, the Event Information sent with what the
receiver decoded (and the Event Reply echoed back with what the sender decoded), the
negotiated transfer syntax and SCP/SCU roles as each side reports them, and the status,
Error Comment and exit code each side saw.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import dcmreport, unused_port
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from interop.datasets import (
    BIG,
    CT_IMAGE_STORAGE,
    EXPLICIT,
    IMPLICIT,
    LARGE,
    PATIENT,
    PRIVATE,
    PRIVATE_AS_IMPLICIT,
    PRIVATE_CLASS,
    ROOT,
    SC_IMAGE_STORAGE,
    STGCMT_EVENT_1,
    STGCMT_EVENT_2,
    STORAGE_COMMITMENT,
    STORAGE_COMMITMENT_INSTANCE,
    TS_OPTION,
    TYPED,
    TYPED_OW_SWAPPED,
    sop_ref,
)
from interop.support import Relay, ScpJs, pdata_lengths, run_scu_js

pytestmark = pytest.mark.interop


@dataclass
class Scenario:
    """One row of the matrix: what is sent, how the receiver answers, what must happen."""

    sop_class: str = SC_IMAGE_STORAGE
    instance: str = f"{ROOT}.1"
    event: int = 1
    data: dict[str, Any] | None = field(default_factory=lambda: dict(PATIENT))
    received: dict[str, Any] | None = None  # what the receiver must decode, if not `data`
    # dcmreport send-report: (--data JSON, KEY=VALUE...) building `data`; default: --data data
    dcmreport_data: tuple[dict[str, Any] | None, tuple[str, ...]] | None = None
    ts: str = EXPLICIT
    role: str = "scp"  # the SCP/SCU role selection the sender proposes: scp or none
    reply: str = "echo"  # the receiver's Event Reply: echo or none
    status: int = 0
    error_comment: str | None = None
    fault: str | None = None  # abort, reject-calling, reject-called
    calling: str = "REPORTER"
    called: str = "RECEIVER"
    dcmreport_args: tuple[str, ...] = ()
    # the Event Reply the sender decodes is what it sent, not what the receiver decoded
    reply_comes_back_as_sent: bool = False


SCENARIOS = {
    "reference": Scenario(
        instance="1.1.1.1.9999.2",
        ts=IMPLICIT,
        role="none",
        calling="ClientTest",
        called="ServerTest",
        dcmreport_data=(None, ("PatientName=TEST", "PatientID=ID", "PatientSex=M")),
        dcmreport_args=(
            "--implementation-class-uid",
            "1.2.840.114257.1",
            "--implementation-version",
            "1",
            "--max-pdu",
            str(0x100000),
        ),
    ),
    "stgcmt-event-1": Scenario(
        sop_class=STORAGE_COMMITMENT,
        instance=STORAGE_COMMITMENT_INSTANCE,
        data=STGCMT_EVENT_1,
        reply="none",
        dcmreport_data=(
            {"00080054": STGCMT_EVENT_1["00080054"]},
            (
                f"TransactionUID={ROOT}.10.1",
                f"ReferencedSOPSequence[0].ReferencedSOPClassUID={CT_IMAGE_STORAGE}",
                f"ReferencedSOPSequence[0].ReferencedSOPInstanceUID={ROOT}.11.1",
                f"ReferencedSOPSequence[1].ReferencedSOPClassUID={CT_IMAGE_STORAGE}",
                f"ReferencedSOPSequence[1].ReferencedSOPInstanceUID={ROOT}.11.2",
            ),
        ),
    ),
    "stgcmt-event-2": Scenario(
        sop_class=STORAGE_COMMITMENT,
        instance=STORAGE_COMMITMENT_INSTANCE,
        event=2,
        data=STGCMT_EVENT_2,
        reply="none",
        dcmreport_data=(
            {k: v for k, v in STGCMT_EVENT_2.items() if k != "00081195"},
            (f"TransactionUID={ROOT}.10.2", "FailedSOPSequence[1].FailureReason=290"),
        ),
    ),
    "implicit-vr-le": Scenario(data=TYPED, ts=IMPLICIT),
    "explicit-vr-le": Scenario(data=TYPED, ts=EXPLICIT),
    # dcmjs puts OW bytes on the wire unswapped in Explicit VR BE; dcmreport and DCMTK swap
    # its words (PS3.5 7.3). Each side therefore decodes the other's OW word-swapped, and an
    # echoed reply comes back to its sender as sent (swapped twice).
    "explicit-vr-be": Scenario(
        data=TYPED, ts=BIG, received=TYPED_OW_SWAPPED, reply_comes_back_as_sent=True
    ),
    "role-scp-proposed": Scenario(role="scp"),
    "role-not-proposed": Scenario(role="none"),
    "private-sop-class": Scenario(sop_class=PRIVATE_CLASS, instance=f"{PRIVATE_CLASS}.1"),
    "no-event-information": Scenario(data=None),
    "private-tags": Scenario(data=PRIVATE),
    "private-tags-implicit-vr": Scenario(data=PRIVATE, received=PRIVATE_AS_IMPLICIT, ts=IMPLICIT),
    "failure-with-error-comment": Scenario(
        status=0x0110, error_comment="interop: disk full on archive", reply="none"
    ),
    "peer-aborts": Scenario(fault="abort", reply="none"),
    "rejected-calling-aet": Scenario(fault="reject-calling", reply="none"),
    "rejected-called-aet": Scenario(fault="reject-called", reply="none"),
}
DIRECTIONS = ["dcmreport-to-dcmjs", "dcmjs-to-dcmreport"]


def expected_exit(sc: Scenario) -> int:
    if sc.fault:
        return 3
    return 0 if sc.status == 0 else 4


def received(sc: Scenario) -> dict[str, Any] | None:
    return sc.received if sc.received is not None else sc.data


def expected_reply(sc: Scenario) -> dict[str, Any] | None:
    """The Event Reply as the receiver sent it: what it decoded, echoed."""
    return received(sc) if sc.reply == "echo" and sc.status == 0 else None


def sender_reply(sc: Scenario) -> dict[str, Any] | None:
    """The Event Reply as the sender decodes it."""
    if sc.reply_comes_back_as_sent and expected_reply(sc) is not None:
        return sc.data
    return expected_reply(sc)


def requestor_role(sc: Scenario) -> str:
    """What a role selection accepted as proposed makes of the association requestor."""
    return "SCP" if sc.role == "scp" else "SCU"


def js_roles(sc: Scenario) -> tuple[int | None, int | None]:
    return (0, 1) if sc.role == "scp" else (None, None)


def reject_reason(sc: Scenario) -> int:
    return {"reject-calling": 3, "reject-called": 7}[sc.fault or ""]


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_n_event_report(
    name: str, direction: str, scp_js: Any, node: str, listen: Any, tmp_path: Path
) -> None:
    sc = SCENARIOS[name]
    if direction == "dcmreport-to-dcmjs":
        dcmreport_to_dcmjs(sc, scp_js, tmp_path)
    else:
        dcmjs_to_dcmreport(sc, node, listen, tmp_path)


def write_json(path: Path, data: dict[str, Any]) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def dcmreport_to_dcmjs(sc: Scenario, scp_js: Any, tmp: Path) -> None:
    args = ["--aet", sc.called, "--reply", sc.reply, "--count", "1"]
    if sc.status:
        args += ["--status", hex(sc.status)]
    if sc.error_comment is not None:
        args += ["--error-comment", sc.error_comment]
    args += {"abort": ["--abort"], "reject-calling": ["--reject"]}.get(sc.fault or "", [])
    if sc.fault == "reject-called":
        args += ["--require-called-aet"]
    peer: ScpJs = scp_js(*args)

    data_file, pairs = sc.dcmreport_data or (sc.data, ())
    called = "NOBODY" if sc.fault == "reject-called" else sc.called
    command = [
        "send-report",
        f"{called}@127.0.0.1:{peer.port}",
        "-aet",
        sc.calling,
        "--class",
        sc.sop_class,
        "--instance",
        sc.instance,
        "--event",
        str(sc.event),
        "-x",
        TS_OPTION[sc.ts],
        "--role",
        sc.role,
        *sc.dcmreport_args,
        "--format",
        "json",
        "-v",
    ]
    if data_file is not None:
        command += ["--data", write_json(tmp / "data.json", data_file)]
    sent = dcmreport(*command, *pairs)
    code = expected_exit(sc)
    assert sent.returncode == code, sent.stderr + "".join(peer.stderr)
    assert "Traceback" not in sent.stderr

    if sc.fault in ("reject-calling", "reject-called"):
        reason = reject_reason(sc)
        text = {3: "calling AE title not recognized", 7: "called AE title not recognized"}[reason]
        assert f"rejected the association permanently: {text}" in sent.stderr
        assert f"(result 1, source 1 service user, reason {reason})" in sent.stderr
        [rejected] = peer.lines("rejected")
        assert (rejected["result"], rejected["source"], rejected["reason"]) == (1, 1, reason)
        assert peer.lines("association") == [] and peer.lines("report") == []
        return

    # the dcmjs side: association as proposed by dcmreport, then the report as decoded
    [assoc] = peer.lines("association")
    assert (assoc["calling_aet"], assoc["called_aet"]) == (sc.calling, sc.called)
    contexts = {cx["abstract_syntax"]: cx for cx in assoc["contexts"]}
    report_cx = contexts[sc.sop_class]
    assert (report_cx["result"], report_cx["transfer_syntax"]) == (0, sc.ts)
    assert (report_cx["scu_role"], report_cx["scp_role"]) == js_roles(sc)
    [report] = peer.lines("report")
    assert report == {
        "message_id": 1,
        "sop_class_uid": sc.sop_class,
        "sop_instance_uid": sc.instance,
        "event_type_id": sc.event,
        "transfer_syntax": sc.ts,
        "dataset": received(sc),
    }
    assert peer.finish(sig=None) == 0, "".join(peer.stderr)

    if sc.fault == "abort":
        assert peer.lines("aborted") == []  # scp.js aborted; it was not aborted
        assert "aborted the association instead of answering the N-EVENT-REPORT" in sent.stderr
        assert json.loads(sent.stdout)["status"] is None  # a script still gets its JSON
        return

    # the dcmreport side: the response as decoded, and the negotiation it reports
    response = json.loads(sent.stdout)
    assert assoc["implementation_class_uid"] == response["association"]["implementation_class_uid"]
    assert assoc["implementation_version"] == response["association"]["implementation_version"]
    assert assoc["max_pdu"] == response["association"]["max_pdu"]
    assert response["status"] == sc.status
    assert response["error_comment"] == sc.error_comment
    assert response["message_id_being_responded_to"] == 1
    assert response["sop_class_uid"] == sc.sop_class
    assert response["sop_instance_uid"] == sc.instance
    assert response["event_type_id"] == sc.event
    assert response["event_reply"] == sender_reply(sc)
    assert response["findings"] == []  # dcmjs-dimse answers by the standard: send-report judges
    [ours] = [
        cx for cx in response["association"]["contexts"] if cx["abstract_syntax"] == sc.sop_class
    ]
    assert (ours["accepted"], ours["transfer_syntax"]) == (True, sc.ts)
    assert ours["proposed_roles"] == ({"scu": False, "scp": True} if sc.role == "scp" else None)
    assert re.search(
        rf"Context {ours['id']}: .*\[{re.escape(sc.sop_class)}\] proposed .*: accepted "
        rf".*, requestor is {requestor_role(sc)}$",
        sent.stderr,
        re.M,
    ), sent.stderr


def dcmjs_to_dcmreport(sc: Scenario, node: str, listen: Any, tmp: Path) -> None:
    args = ["--aet", sc.called, "--reply", sc.reply, "-v"]
    if not sc.fault:
        args += ["--count", "1"]
    if sc.status:
        args += ["--status", hex(sc.status)]
    if sc.error_comment is not None:
        args += ["--error-comment", sc.error_comment]
    args += {
        "abort": ["--abort-after", "0"],
        "reject-calling": ["--reject", "calling-aet"],
        "reject-called": ["--require-called-aet"],
    }.get(sc.fault or "", [])
    listener = listen(*args)

    command = [
        "--port",
        str(listener.port),
        "--aet",
        sc.calling,
        "--called-aet",
        "NOBODY" if sc.fault == "reject-called" else sc.called,
        "--class",
        sc.sop_class,
        "--instance",
        sc.instance,
        "--event",
        str(sc.event),
        "--message-id",
        "7",
        "--transfer-syntax",
        sc.ts,
        "--role",
        sc.role,
    ]
    if sc.data is not None:
        command += ["--data", write_json(tmp / "data.json", sc.data)]
    sent = run_scu_js(node, *command)
    code = expected_exit(sc)
    assert sent.returncode == code, f"{sent.lines}\n{sent.stderr}\n{''.join(listener.stderr)}"

    if sc.fault:
        error = sent.one("error")
        if sc.fault == "abort":
            # A-ABORT source 0 (service user), reason 0 (not significant): PS3.8 9.3.8
            assert error == "association aborted by peer (source 0, reason 0)"
        else:
            assert error == f"association rejected (result 1, source 1, reason {reject_reason(sc)})"
        assert listener.finish() == 0, "".join(listener.stderr)
        records = listener.json_lines()
        if sc.fault == "abort":
            # the report was received, then the association aborted instead of answering
            [record] = records
            assert (record["message_id"], record["dataset"]) == (7, sc.data)
            assert (record["aborted"], record["status"]) == (True, None)
        else:
            assert records == []
        return

    # the dcmjs side: the negotiation and the response as decoded
    assoc = sent.one("association")
    assert (assoc["calling_aet"], assoc["called_aet"]) == (sc.calling, sc.called)
    [context] = assoc["contexts"]
    assert (context["abstract_syntax"], context["result"]) == (sc.sop_class, 0)
    assert context["transfer_syntax"] == sc.ts
    assert (context["scu_role"], context["scp_role"]) == js_roles(sc)
    assert sent.one("response") == {
        "status": sc.status,
        "message_id_being_responded_to": 7,
        "sop_class_uid": sc.sop_class,
        "sop_instance_uid": sc.instance,
        # PS3.7 10.1.1.1: dcmreport names the event only in a success response
        "event_type_id": sc.event if sc.status == 0 else None,
        "error_comment": sc.error_comment,
        "event_reply": sender_reply(sc),
    }

    # the dcmreport side: the report as decoded and the answer it sent
    assert listener.finish(sig=None) == 0, "".join(listener.stderr)
    [record] = listener.json_lines()
    assert record["message_id"] == 7
    assert (record["calling_aet"], record["called_aet"]) == (sc.calling, sc.called)
    assert record["sop_class_uid"] == sc.sop_class
    assert record["sop_instance_uid"] == sc.instance
    assert record["event_type_id"] == sc.event
    assert record["transfer_syntax"] == sc.ts
    assert record["dataset"] == received(sc)
    assert record["status"] == sc.status
    assert record["error_comment"] == sc.error_comment
    assert record["event_reply"] == expected_reply(sc)
    [theirs] = record["association"]["contexts"]
    assert theirs["proposed_transfer_syntaxes"] == [sc.ts]
    assert theirs["proposed_roles"] == ({"scu": False, "scp": True} if sc.role == "scp" else None)
    assert record["association"]["implementation_version"] == "DCMJS-DIMSE-V0.2"
    assert assoc["implementation_version"].startswith("DCMREPORT_")  # listen's, as dcmjs saw it
    side = "".join(listener.stderr)
    assert re.search(
        rf"\[{re.escape(sc.sop_class)}\] proposed .*: accepted .*, "
        rf"requestor is {requestor_role(sc)}$",
        side,
        re.M,
    ), side


MAX_PDU = re.compile(r"max PDU (\d+) / (\d+)")


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_large_report_fits_each_receivers_max_pdu(
    direction: str, scp_js: Any, node: str, listen: Any, tmp_path: Path
) -> None:
    """200 KB each way, dcmreport receiving at most 4096-byte PDUs; every P-DATA-TF on the
    wire (captured by a relay) fits the Maximum Length the receiving side announced
    (PS3.8 D.1), and the data set arrives whole."""
    data = write_json(tmp_path / "large.json", LARGE)
    if direction == "dcmreport-to-dcmjs":
        peer: ScpJs = scp_js("--reply", "echo", "--count", "1")
        relay = Relay(peer.port)
        sent = dcmreport(
            *("send-report", f"RECEIVER@127.0.0.1:{relay.port}", "--max-pdu", "4096", "-v"),
            *("--event", "1", "--instance", f"{ROOT}.15.1", "--data", data, "--format", "json"),
        )
        assert sent.returncode == 0, sent.stderr
        relay.join()
        assert peer.finish(sig=None) == 0
        [report] = peer.lines("report")
        assert report["dataset"] == LARGE
        assert json.loads(sent.stdout)["event_reply"] == LARGE
        ours, theirs = map(int, MAX_PDU.findall(sent.stderr)[0])
        to_dcmreport, to_dcmjs = bytes(relay.down), bytes(relay.up)
    else:
        listener = listen("--reply", "echo", "--count", "1", "--max-pdu", "4096")
        relay = Relay(listener.port)
        run = run_scu_js(
            node,
            *("--port", str(relay.port), "--class", SC_IMAGE_STORAGE, "--event", "1"),
            *("--instance", f"{ROOT}.15.2", "--data", data, "--transfer-syntax", EXPLICIT),
        )
        assert run.returncode == 0, run.stderr
        relay.join()
        assert run.one("response")["event_reply"] == LARGE
        assert listener.finish(sig=None) == 0
        [record] = listener.json_lines()
        assert record["dataset"] == LARGE
        ours, theirs = 4096, record["association"]["max_pdu"]
        to_dcmreport, to_dcmjs = bytes(relay.up), bytes(relay.down)
    assert ours == 4096
    assert len(pdata_lengths(to_dcmreport)) > 40
    assert max(pdata_lengths(to_dcmreport)) <= ours
    assert max(pdata_lengths(to_dcmjs)) <= theirs


@pytest.mark.parametrize("fail", [0, 1])
def test_commit_with_dcmjs_as_the_pacs(fail: int, scp_js: Any) -> None:
    """``dcmreport commit`` -> scp.js playing the PACS: it answers the N-ACTION and sends
    the result on a new association, proposing the SCP role, to the port commit listens
    on (PS3.4 J.3.3); dcmreport answers it Success and shows what it says."""
    port = unused_port()
    peer: ScpJs = scp_js("--aet", "PACS", "--report-port", str(port), "--fail", str(fail))
    refs = [arg for i in (1, 2) for arg in ("--ref", f"{CT_IMAGE_STORAGE}:{ROOT}.16.{i}")]
    run = dcmreport(
        *("commit", f"PACS@127.0.0.1:{peer.port}", *refs, "-aet", "MODALITY"),
        *("--port", str(port), "--bind", "127.0.0.1", "--timeout", "20", "--format", "json"),
    )
    assert run.returncode == (6 if fail else 0), run.stderr
    result = json.loads(run.stdout)
    assert result["findings"] == []  # an independent PACS that follows PS3.4 J.3.3
    [action] = peer.lines("action")
    assert (action["sop_class_uid"], action["sop_instance_uid"]) == (
        STORAGE_COMMITMENT,
        STORAGE_COMMITMENT_INSTANCE,
    )
    assert action["action_type_id"] == 1 and action["calling_aet"] == "MODALITY"
    assert action["dataset"]["00081195"]["Value"] == [result["transaction_uid"]]
    assert action["dataset"]["00081199"]["Value"] == [
        sop_ref(CT_IMAGE_STORAGE, f"{ROOT}.16.{i}") for i in (1, 2)
    ]
    assert result["action_status"]["status"] == 0
    assert result["event_type_id"] == (2 if fail else 1)
    assert result["same_association"] is False
    assert [i["sop_instance_uid"] for i in result["committed"]] == [
        f"{ROOT}.16.{i}" for i in (1, 2)[: 2 - fail]
    ]
    assert [(i["sop_instance_uid"], i["failure_reason"]) for i in result["failed"]] == (
        [(f"{ROOT}.16.2", 0x0112)] if fail else []
    )
    report_side = result["association"]["report"]
    assert (report_side["calling_aet"], report_side["called_aet"]) == ("PACS", "MODALITY")
    [context] = report_side["contexts"]
    assert context["proposed_roles"] == {"scu": False, "scp": True}
    assert peer.wait_for(re.compile(r'"report_sent"'), "stdout")
    [sent] = peer.lines("report_sent")
    assert sent == {"event_type_id": 2 if fail else 1, "status": 0}


@pytest.mark.parametrize("on", ["same", "new"])
def test_listen_commitment_with_dcmjs_as_the_modality(
    on: str, node: str, listen: Any, tmp_path: Path
) -> None:
    """scu.js playing the modality -> ``dcmreport listen --commitment dir:DIR``: the N-ACTION
    is answered, and the result reaches dcmjs-dimse on the request's association (its Client,
    lingering, hands the N-EVENT-REPORT-RQ over) or on a new association to its own Scp."""
    stored = tmp_path / "stored"
    stored.mkdir()
    kept = Dataset()
    kept.SOPClassUID, kept.SOPInstanceUID = CT_IMAGE_STORAGE, f"{ROOT}.17.1"
    kept.file_meta = FileMetaDataset()
    kept.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    kept.save_as(stored / "one.dcm", enforce_file_format=True)
    back = unused_port()
    where = (
        ("--commitment-on", "same")
        if on == "same"
        else ("--commitment-on", "new", "--peer", f"MODALITY=127.0.0.1:{back}")
    )
    pacs = listen("--aet", "PACS", "--commitment", f"dir:{stored}", *where)
    modality = ("--linger", "10") if on == "same" else ("--result-port", str(back))
    transaction = f"{ROOT}.17.99"
    run = run_scu_js(
        node,
        *("--port", str(pacs.port), "--aet", "MODALITY", "--called-aet", "PACS"),
        *("--commit", *(f"{CT_IMAGE_STORAGE}:{ROOT}.17.{i}" for i in (1, 2))),
        *("--transaction-uid", transaction, "--timeout", "20", *modality),
    )
    assert run.returncode == 0, (run.lines, run.stderr)
    response = run.one("response")
    assert (response["status"], response["action_type_id"]) == (0, 1)
    result = run.one("result")
    assert result["on"] == on
    assert (result["calling_aet"], result["called_aet"]) == (
        ("MODALITY", "PACS") if on == "same" else ("PACS", "MODALITY")
    )
    assert (result["sop_class_uid"], result["sop_instance_uid"]) == (
        STORAGE_COMMITMENT,
        STORAGE_COMMITMENT_INSTANCE,
    )
    assert (result["transaction_uid"], result["event_type_id"]) == (transaction, 2)
    assert result["committed"] == [{"class": CT_IMAGE_STORAGE, "instance": f"{ROOT}.17.1"}]
    assert result["failed"] == [
        {"class": CT_IMAGE_STORAGE, "instance": f"{ROOT}.17.2", "reason": 0x0112}
    ]
    pacs.finish()
    request, sent = pacs.json_lines()
    assert request["kind"] == "n-action" and request["calling_aet"] == "MODALITY"
    assert (request["action_type_id"], request["findings"]) == (1, [])  # judged well-formed
    assert (sent["delivered"], sent["delivered_on"], sent["response"]["status"]) == (True, on, 0)
