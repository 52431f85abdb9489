"""The lean message path, read by an independent implementation (dcmjs-dimse).

A batch sends each report as one P-DATA-TF PDU carrying both the command and the data
set, and the listener answers the same way; dcmjs-dimse must read both, and read every
one of many reports sent back to back over one association. A relay keeps the bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import dcmreport

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


def test_batch_to_dcmjs_one_pdu_per_report(scp_js: Any) -> None:
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
    assert (summary["succeeded"], summary["failed"]) == (count, {})
    replies = [r for r in responses if r["kind"] == "response"]
    assert all(r["event_reply"] == PATIENT for r in replies)
    reports = peer.lines("report")
    assert [r["message_id"] for r in reports] == list(range(1, count + 1))
    assert all(r["dataset"] == PATIENT for r in reports)
    # Each request: one PDU holding the last (only) command fragment, then the data set's.
    assert pdvs_per_pdu(bytes(relay.up)) == [[0x03, 0x02]] * count


def test_listener_answers_dcmjs_in_one_pdu(listen: Any, node: str, tmp_path: Path) -> None:
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
    assert pdvs_per_pdu(bytes(relay.down)) == [[0x03, 0x02]]
