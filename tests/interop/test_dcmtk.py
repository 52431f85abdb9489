"""DCMTK against dcmreport: echoscu -> ``dcmreport listen``, ``dcmreport echo`` -> storescp.

DCMTK's ``-v`` only logs the steps (requesting, accepted, echo, release); the
negotiated AE titles, implementation UIDs, PDU sizes, contexts, transfer syntaxes and
roles are in its ``-d`` dump of the A-ASSOCIATE-RQ/-AC, so the DCMTK side runs with
``-d`` (which includes ``-v``'s lines) and dcmreport with ``-v``.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import CT, ROOT, VERIFICATION, commit, dcmreport, write_instance

from interop.datasets import BIG, EXPLICIT, IMPLICIT, TS_OPTION, TYPED
from interop.support import Dcmtk, Relay, data_sets

pytestmark = pytest.mark.interop

DCMTK_IMPLEMENTATION = re.compile(r"^D: Our Implementation Class UID:\s+(\S+)$", re.M)
DCMTK_VERSION_NAME = re.compile(r"^D: Our Implementation Version Name:\s+(\S+)$", re.M)
DCMTK_TS = {
    IMPLICIT: "LittleEndianImplicit",
    EXPLICIT: "LittleEndianExplicit",
    BIG: "BigEndianExplicit",
}
TS_NAME = {
    IMPLICIT: "Implicit VR Little Endian",
    EXPLICIT: "Explicit VR Little Endian",
    BIG: "Explicit VR Big Endian",
}


def dcmtk_block(log: str, pdu: str) -> dict[str, str]:
    """The ``Name: value`` lines of one BEGIN/END A-ASSOCIATE-RQ/AC dump of DCMTK's -d log."""
    m = re.search(rf"BEGIN {pdu} =+\n(.*?)\nD: =+ END {pdu}", log, re.S)
    assert m, f"no {pdu} dump in DCMTK's log:\n{log}"
    block: dict[str, str] = {}
    for line in m[1].splitlines():
        key, sep, value = line.removeprefix("D:").strip().partition(":")
        if sep and key not in block:
            block[key] = value.strip()
    block["text"] = m[1]
    return block


def echoscu(dcmtk: Dcmtk, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dcmtk.echoscu, "-d", *args, "127.0.0.1", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("listen_ts", "pts", "accepted"),
    [
        ((), "1", IMPLICIT),  # echoscu proposes Implicit VR LE only
        ((), "3", IMPLICIT),  # Implicit, Explicit LE, Explicit BE: listen takes the first
        (("-x", "big"), "3", BIG),  # a listener that only decodes Explicit VR BE
    ],
    ids=["implicit-only", "three-proposed", "listener-big-endian"],
)
def test_echoscu_to_listen(
    dcmtk: Dcmtk, listen: Any, listen_ts: tuple[str, ...], pts: str, accepted: str
) -> None:
    listener = listen("--aet", "LISTENER", "-v", "--max-pdu", "32768", *listen_ts)
    run = echoscu(dcmtk, listener.port, "-aet", "ECHOSCU", "-aec", "LISTENER", "-pts", pts)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    assert "I: Received Echo Response (Success)" in log
    assert "I: Releasing Association" in log

    proposed = [IMPLICIT, EXPLICIT, BIG][: int(pts)]
    rq = dcmtk_block(log, "A-ASSOCIATE-RQ")
    assert re.findall(r"^D:\s+=(\w+)$", rq["text"], re.M) == [DCMTK_TS[t] for t in proposed]
    ac = dcmtk_block(log, "A-ASSOCIATE-AC")
    assert ac["Calling Application Name"] == "ECHOSCU"
    assert ac["Called Application Name"] == "LISTENER"
    assert ac["Responding Application Name"] == "LISTENER"
    assert ac["Their Max PDU Receive Size"] == "32768"
    assert ac["Their Implementation Version Name"].startswith("DCMREPORT_")
    assert ac["Context ID"] == "1 (Accepted)"
    assert ac["Abstract Syntax"] == "=VerificationSOPClass"
    assert ac["Accepted SCP/SCU Role"] == "Default"
    assert ac["Accepted Transfer Syntax"] == f"={DCMTK_TS[accepted]}"
    dcmtk_uid = DCMTK_IMPLEMENTATION.search(log)
    dcmtk_version = DCMTK_VERSION_NAME.search(log)
    assert dcmtk_uid and dcmtk_version

    assert listener.finish() == 0, "".join(listener.stderr)
    assert listener.json_lines() == []  # C-ECHO is not a report
    side = "".join(listener.stderr)
    assert re.search(
        r"Association ECHOSCU -> LISTENER \(127\.0\.0\.1:\d+\): max PDU 16384 / 32768, "
        rf"implementation {re.escape(dcmtk_uid[1])} {re.escape(dcmtk_version[1])} / "
        rf"{re.escape(ac['Their Implementation Class UID'])} "
        rf"{re.escape(ac['Their Implementation Version Name'])}",
        side,
    ), side
    assert (
        f"Context 1: Verification SOP Class [{VERIFICATION}] proposed "
        f"{', '.join(TS_NAME[t] for t in proposed)}: accepted {TS_NAME[accepted]}, "
        "requestor is SCU"
    ) in side


@pytest.mark.parametrize(
    ("listen_args", "called", "reason"),
    [
        (("--require-called-aet",), "SOMEONE", "Called AE Title Not Recognized"),  # 1/1/7
        (("--reject", "calling-aet"), "LISTENER", "Calling AE Title Not Recognized"),  # 1/1/3
    ],
    ids=["require-called-aet", "reject-calling-aet"],
)
def test_echoscu_rejected(
    dcmtk: Dcmtk, listen: Any, listen_args: tuple[str, ...], called: str, reason: str
) -> None:
    """A-ASSOCIATE-RJ as DCMTK reads it: permanent, service user, the reason (PS3.8 9.3.4)."""
    listener = listen("--aet", "LISTENER", *listen_args, "-v")
    run = echoscu(dcmtk, listener.port, "-aet", "ECHOSCU", "-aec", called)
    log = run.stdout + run.stderr
    assert run.returncode != 0, log
    assert "Association Rejected:" in log
    assert "Result: Rejected Permanent, Source: Service User" in log
    assert f"Reason: {reason}" in log
    assert "Sending Echo Request" not in log
    assert listener.finish() == 0, "".join(listener.stderr)
    assert listener.json_lines() == []


@pytest.mark.parametrize(
    ("echo_ts", "accepted"),
    [
        ((), EXPLICIT),  # dcmreport proposes Explicit then Implicit VR LE
        (("-x", "implicit"), IMPLICIT),
        (("-x", "big"), BIG),
    ],
    ids=["default", "implicit", "big-endian"],
)
def test_dcmreport_echo_to_storescp(storescp: Any, echo_ts: tuple[str, ...], accepted: str) -> None:
    scp = storescp("-d", "--aetitle", "STORESCP")
    run = dcmreport(
        "echo",
        f"STORESCP@127.0.0.1:{scp.port}",
        "-aet",
        "ECHOER",
        "--max-pdu",
        "65536",
        *echo_ts,
        "-v",
        "--format",
        "json",
    )
    log = scp.stop()
    assert run.returncode == 0, run.stderr + log
    result = json.loads(run.stdout)
    assert result["status"] == 0
    assoc = result["association"]
    assert (assoc["calling_aet"], assoc["called_aet"]) == ("ECHOER", "STORESCP")
    [context] = assoc["contexts"]
    proposed = context["proposed_transfer_syntaxes"]
    assert proposed == ([EXPLICIT, IMPLICIT] if not echo_ts else [accepted])
    assert (context["abstract_syntax"], context["accepted"]) == (VERIFICATION, True)
    assert context["transfer_syntax"] == accepted

    # storescp's view of the same association
    assert "I: Received Echo Request" in log
    assert "I: Association Release" in log
    rq = dcmtk_block(log, "A-ASSOCIATE-RQ")
    assert rq["Calling Application Name"] == "ECHOER"
    assert rq["Called Application Name"] == "STORESCP"
    assert rq["Their Implementation Class UID"] == assoc["implementation_class_uid"]
    assert rq["Their Implementation Version Name"] == assoc["implementation_version"]
    assert rq["Their Max PDU Receive Size"] == "65536"
    assert rq["Proposed SCP/SCU Role"] == "Default"
    assert re.findall(r"^D:\s+=(\w+)$", rq["text"], re.M) == [DCMTK_TS[t] for t in proposed]
    ac = dcmtk_block(log, "A-ASSOCIATE-AC")
    assert ac["Context ID"] == "1 (Accepted)"
    assert ac["Accepted Transfer Syntax"] == f"={DCMTK_TS[accepted]}"
    assert "Message Type                  : C-ECHO RQ" in log

    # dcmreport's view (-v)
    dcmtk_uid = DCMTK_IMPLEMENTATION.search(log)
    dcmtk_version = DCMTK_VERSION_NAME.search(log)
    assert dcmtk_uid and dcmtk_version
    assert (
        f"Association ECHOER -> STORESCP (127.0.0.1:{scp.port}): max PDU 65536 / 16384, "
        f"implementation {assoc['implementation_class_uid']} {assoc['implementation_version']} / "
        f"{dcmtk_uid[1]} {dcmtk_version[1]}"
    ) in run.stderr
    assert (
        f"Context 1: Verification SOP Class [{VERIFICATION}] proposed "
        f"{', '.join(TS_NAME[t] for t in proposed)}: accepted {TS_NAME[accepted]}, "
        "requestor is SCU"
    ) in run.stderr


OW_ELEMENT = "00281201"
DCM2JSON_TS = {IMPLICIT: "-ti", EXPLICIT: "-te", BIG: "-tb"}


def dcmtk_decode(dcmtk: Dcmtk, raw: bytes, ts: str, path: Any) -> dict[str, Any]:
    """DCMTK's reading of a data set as it went over the wire, in the DICOM JSON model."""
    path.write_bytes(raw)
    run = subprocess.run(
        [dcmtk.dcm2json, "-f", DCM2JSON_TS[ts], str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr
    decoded: dict[str, Any] = json.loads(run.stdout)
    return decoded


def relayed_report(
    dcmtk: Dcmtk, listen: Any, tmp_path: Any, ts: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """dcmreport send-report -> wire capture -> dcmreport listen --reply echo.

    Returns DCMTK's decoding of the Event Information dcmreport put on the wire, of the
    Event Reply dcmreport's listener sent back, and send-report's JSON.
    """
    listener = listen("--reply", "echo", "--count", "1", "-x", TS_OPTION[ts])
    relay = Relay(listener.port)
    data = tmp_path / "typed.json"
    data.write_text(json.dumps(TYPED))
    sent = dcmreport(
        "send-report",
        f"ANY-SCP@127.0.0.1:{relay.port}",
        *("--event", "1", "--instance", "1.2.826.0.1.3680043.9.9999.14.1"),
        *("-x", TS_OPTION[ts], "--data", str(data), "--format", "json"),
    )
    assert sent.returncode == 0, sent.stderr
    relay.join()
    assert listener.finish(sig=None) == 0, "".join(listener.stderr)
    [request] = data_sets(bytes(relay.up))
    [reply] = data_sets(bytes(relay.down))
    return (
        dcmtk_decode(dcmtk, request, ts, tmp_path / "request.bin"),
        dcmtk_decode(dcmtk, reply, ts, tmp_path / "reply.bin"),
        json.loads(sent.stdout),
    )


@pytest.mark.parametrize("ts", [IMPLICIT, EXPLICIT, BIG], ids=["implicit", "explicit", "big"])
def test_dcmtk_decodes_what_dcmreport_puts_on_the_wire(
    dcmtk: Dcmtk, listen: Any, tmp_path: Any, ts: str
) -> None:
    """A third, independent decoder: DCMTK reads the captured data set bytes of both messages.

    dcmjs-dimse and dcmreport agreeing with each other could hide an encoding bug they
    share; DCMTK's dcm2json must see exactly the Event Information that was sent.
    """
    request, reply, response = relayed_report(dcmtk, listen, tmp_path, ts)
    expected = TYPED
    for decoded in (request, reply):
        assert {k: v for k, v in decoded.items() if k in expected} == expected
    assert response["event_reply"] == TYPED
    assert response["findings"] == []  # dcmreport's listener answers by the standard


def test_dcmtk_reads_ow_in_big_endian_as_sent(dcmtk: Dcmtk, listen: Any, tmp_path: Any) -> None:
    """PS3.5 7.3: OW words are byte-swapped in Explicit VR Big Endian; pydicom does not do
    it, dcmreport's association layer does (dcmreport.association._word_order)."""
    request, reply, _ = relayed_report(dcmtk, listen, tmp_path, BIG)
    assert request[OW_ELEMENT] == TYPED[OW_ELEMENT]
    assert reply[OW_ELEMENT] == TYPED[OW_ELEMENT]


def test_listen_commits_exactly_what_storescp_received(
    dcmtk: Dcmtk, storescp: Any, listen: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """DCMTK's storescu stores two of three instances into a storescp directory; then
    ``listen --commitment dir:DIR`` commits exactly those two to ``dcmreport commit``."""
    study = tmp_path_factory.mktemp("study")
    files = [write_instance(study, f"{n}.dcm", CT, f"{ROOT}.{n}") for n in range(3)]
    scp = storescp("--aetitle", "STORESCP")
    storescu = str(Path(dcmtk.storescp).with_name("storescu"))
    sent = subprocess.run(
        [storescu, "-aec", "STORESCP", "127.0.0.1", str(scp.port), *map(str, files[:2])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    scp.stop()
    pacs = listen("--aet", "PACS", "--commitment", f"dir:{scp.output_dir}")
    code, result = commit(pacs.port, study)
    assert code == 6, result
    assert sorted(i["sop_instance_uid"] for i in result["committed"]) == [f"{ROOT}.0", f"{ROOT}.1"]
    assert [(f["sop_instance_uid"], f["failure_reason"]) for f in result["failed"]] == [
        (f"{ROOT}.2", 0x0112)
    ]
