"""The message path, read by an independent implementation (dcmjs-dimse), in either mode.

On the fast path a batch sends each report as one P-DATA-TF PDU carrying both the
command and the data set, and the listener answers the same way; on the plain path
(``DCMREPORT_SPEEDUPS=off``) pynetdicom sends the command and the data set as a PDU
each. dcmjs-dimse must read both, and read every one of many reports sent back to back
over one association. A relay keeps the bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import dcmreport

from dcmreport.association.internals import fast_path_on
from interop.datasets import PATIENT, ROOT, SC_IMAGE_STORAGE
from interop.support import Relay, ScpJs, run_scu_js

pytestmark = pytest.mark.interop


def pdvs_per_pdu(stream: bytes) -> list[list[int]]:
    """The message control headers of the PDVs of each P-DATA-TF PDU (PS3.8 9.3.5, E.2)."""
    pdus: list[list[int]] = []
    pos = 0
    while pos + 6 <= len(stream):
        length = int.from_bytes(stream[pos + 2 : pos + 6], "big")
        body, kind, pos = stream[pos + 6 : pos + 6 + length], stream[pos], pos + 6 + length
        if kind != 0x04:
            continue
        headers, item = [], 0
        while item + 6 <= len(body):
            headers.append(body[item + 5])
            item += 4 + int.from_bytes(body[item : item + 4], "big")
        pdus.append(headers)
    return pdus


def per_message() -> list[list[int]]:
    """The PDUs of one message (a command and a data set, one fragment each), by their PDVs'
    message control headers: one PDU on the fast path, one PDU each on the plain path."""
    return [[0x03, 0x02]] if fast_path_on() else [[0x03], [0x02]]


def test_batch_to_dcmjs_every_report_read(scp_js: Any) -> None:
    count = 300
    peer: ScpJs = scp_js("--reply", "echo", "--count", str(count))
    relay = Relay(peer.port)
    run = dcmreport(
        *("send-report", f"RECEIVER@127.0.0.1:{relay.port}", "--event", "1"),
        *("--instance", f"{ROOT}.21.1", "PatientID=ID", "PatientName=TEST", "PatientSex=M"),
        *("--repeat", str(count), "--format", "json"),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    relay.join()
    assert peer.finish(sig=None) == 0
    responses = [json.loads(line) for line in run.stdout.splitlines()]
    summary = responses.pop()
    assert (summary["succeeded"], summary["failed"], summary["with_findings"]) == (count, {}, 0)
    replies = [r for r in responses if r["kind"] == "response"]
    assert all(r["event_reply"] == PATIENT for r in replies)
    reports = peer.lines("report")
    assert [r["message_id"] for r in reports] == list(range(1, count + 1))
    assert all(r["dataset"] == PATIENT for r in reports)
    # Each request: the last (only) command fragment, then the data set's.
    assert pdvs_per_pdu(bytes(relay.up)) == per_message() * count


def test_listener_answers_dcmjs_as_the_mode_sends(listen: Any, node: str, tmp_path: Path) -> None:
    listener = listen("--reply", "echo", "--count", "1")
    relay = Relay(listener.port)
    data = tmp_path / "patient.json"
    data.write_text(json.dumps(PATIENT))
    run = run_scu_js(
        node,
        *("--port", str(relay.port), "--class", SC_IMAGE_STORAGE, "--event", "1"),
        *("--instance", f"{ROOT}.21.2", "--data", str(data)),
    )
    assert run.returncode == 0, run.stderr
    relay.join()
    assert run.one("response")["event_reply"] == PATIENT
    assert listener.finish(sig=None) == 0
    assert pdvs_per_pdu(bytes(relay.down)) == per_message()
