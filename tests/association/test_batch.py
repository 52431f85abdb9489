"""send-report --batch / --repeat: many reports over one association, as a user runs it.

Against ``dcmreport listen`` and tests/peers/batch_peer.py (plain pynetdicom, which can
abort once and negotiate an asynchronous operations window), all as processes on loopback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import PEERS, Background, dcmreport, started_processes

STGCMT = ["--class", "storage-commitment", "--event", "1", "TransactionUID=1.2.3.4"]


def peer(port: int, aet: str = "ANY-SCP") -> str:
    return f"{aet}@127.0.0.1:{port}"


def lines(stdout: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The response lines and the summary, which must be the last line."""
    parsed = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert parsed and parsed[-1]["kind"] == "summary", stdout[-2000:]
    return [line for line in parsed if line["kind"] == "response"], parsed[-1]


class BatchPeer(Background):
    """tests/peers/batch_peer.py; ``received()`` closes its stdin and reads what it saw."""

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


def test_thousands_back_to_back_all_answered(listen: Any) -> None:
    """pynetdicom's reactor loses a response now and then when reports go back to back;
    a batch reads every response itself: none lost, no timeout waited out."""
    count = 2000
    listener = listen("--count", str(count))
    run = dcmreport(
        "send-report",
        peer(listener.port),
        *STGCMT,
        "--repeat",
        str(count),
        "--dimse-timeout",
        "20",
        "--format",
        "json",
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    responses, summary = lines(run.stdout)
    assert (summary["sent"], summary["succeeded"], summary["failed"]) == (count, count, {})
    assert (summary["unanswered"], summary["resent"], summary["associations"]) == (0, 0, 1)
    assert [r["message_id"] for r in responses] == list(range(1, count + 1))
    assert all(r["message_id_being_responded_to"] == r["message_id"] for r in responses)
    assert max(r["round_trip_ms"] for r in responses) < 20_000  # none waited for a timeout
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99"]
    assert summary["reports_per_s"] > 0
    assert listener.finish(sig=None, timeout=60) == 0
    received = listener.json_lines()
    assert len(received) == count
    assert Counter(r["message_id"] for r in received) == Counter(range(1, count + 1))


BATCH = [
    {"instance": "1.2.3.1"},
    {"instance": "1.2.3.2", "event": 2, "message_id": 77, "data": {"PatientName": "LINE"}},
    {
        "class": "storage-commitment",
        "event": "success",
        "data": {"00081195": {"vr": "UI", "Value": ["1.2.3.9"]}},
    },
]


def check_batch_received(received: list[dict[str, Any]]) -> None:
    """Each line's fields, the rest from the command line (--event 1, PatientID=CLI)."""
    assert [r["sop_instance_uid"] for r in received] == [
        "1.2.3.1",
        "1.2.3.2",
        "1.2.840.10008.1.20.1.1",  # storage commitment's well-known instance
    ]
    assert [r["event_type_id"] for r in received] == [1, 2, 1]
    assert [r["message_id"] for r in received] == [5, 77, 7]  # counted on from --message-id
    assert received[2]["sop_class_uid"] == "1.2.840.10008.1.20.1"
    assert received[0]["dataset"] == {"00100020": {"vr": "LO", "Value": ["CLI"]}}
    assert received[1]["dataset"]["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "LINE"}]}
    assert received[2]["dataset"]["00081195"] == {"vr": "UI", "Value": ["1.2.3.9"]}
    assert all(r["dataset"]["00100020"]["Value"] == ["CLI"] for r in received)


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_batch_lines_take_the_rest_from_the_command_line(
    source: str, listen: Any, tmp_path: Path
) -> None:
    listener = listen("--count", "3")
    text = "\n".join(json.dumps(line) for line in BATCH) + "\n\n"  # a blank line is skipped
    path = tmp_path / "reports.jsonl"
    path.write_text(text)
    run = dcmreport(
        "send-report",
        peer(listener.port),
        "--batch",
        str(path) if source == "file" else "-",
        "--event",
        "1",
        "--message-id",
        "5",
        "PatientID=CLI",
        "--format",
        "json",
        input=text if source == "stdin" else None,
    )
    assert run.returncode == 0, run.stderr
    responses, summary = lines(run.stdout)
    assert [r["line"] for r in responses] == [1, 2, 3]
    assert summary["succeeded"] == 3
    assert listener.finish(sig=None) == 0
    check_batch_received(listener.json_lines())


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"instance": "1.2.3.4"', "--batch {} line 3: invalid JSON"),
        ('{"instance": "1.2.abc"}', "--batch {} line 3: --instance"),
        ('{"instance": "1.2.3", "colour": "red"}', "--batch {} line 3: unknown key 'colour'"),
        ('{"instance": "1.2.3", "message_id": 70000}', "--batch {} line 3: message_id"),
    ],
)
def test_a_bad_line_is_exit_2_before_anything_is_sent(
    bad: str, message: str, listen: Any, tmp_path: Path
) -> None:
    listener = listen()
    path = tmp_path / "reports.jsonl"
    path.write_text('{"instance": "1.2.3.1"}\n{"instance": "1.2.3.2"}\n' + bad + "\n")
    run = dcmreport("send-report", peer(listener.port), "--batch", str(path), "--event", "1")
    assert run.returncode == 2, run.stderr
    assert message.format(path) in run.stderr
    assert "Traceback" not in run.stderr
    listener.finish()
    assert listener.json_lines() == []  # nothing was sent


def test_peer_abort_mid_batch_resends_on_a_new_association(batch_peer: Any) -> None:
    """The 5th report's association is aborted before its answer: it goes again on a new
    association, and its response line says it was resent."""
    target = batch_peer("--abort-at", "5")
    run = dcmreport("send-report", peer(target.port), *STGCMT, "--repeat", "10", "--format", "json")
    assert run.returncode == 0, run.stderr
    responses, summary = lines(run.stdout)
    assert "aborted the association with 1 report(s) unanswered" in run.stderr
    assert (summary["sent"], summary["resent"], summary["succeeded"]) == (11, 1, 10)
    assert summary["associations"] == 2 and summary["unanswered"] == 0
    assert [r["message_id"] for r in responses] == list(range(1, 11))
    resent = [r for r in responses if r["resent"]]
    assert [(r["message_id"], r["attempt"], r["association"]) for r in resent] == [(5, 2, 2)]
    assert [r["association"] for r in responses] == [1] * 4 + [2] * 6
    received = target.received()["received"]
    assert received == [[1, n] for n in range(1, 6)] + [[2, n] for n in range(5, 11)]


def test_peer_release_mid_batch_goes_on_on_a_new_association(batch_peer: Any) -> None:
    """The peer answers the 3rd report and then releases: whatever it had not answered goes
    again on a new association, marked resent, and every report is answered once."""
    target = batch_peer("--release-at", "3")
    run = dcmreport("send-report", peer(target.port), *STGCMT, "--repeat", "20", "--format", "json")
    assert run.returncode == 0, run.stderr
    responses, summary = lines(run.stdout)
    assert "released the association" in run.stderr
    assert sorted(r["message_id"] for r in responses) == list(range(1, 21))
    assert all(r["status"] == 0 for r in responses)
    assert (summary["succeeded"], summary["unanswered"], summary["associations"]) == (20, 0, 2)
    received = target.received()["received"]
    first = {n for a, n in received if a == 1}
    second = {n for a, n in received if a == 2}
    assert first | second == set(range(1, 21)) and {1, 2, 3} <= first
    resent = {r["message_id"] for r in responses if r["resent"]}
    # Whatever the peer saw twice says so. A resent report may also be one the peer
    # dropped while releasing: sent twice all the same, so marked all the same.
    assert first & second <= resent <= second
    assert summary["resent"] == len(resent)


def test_stop_on_failure_stops_when_the_peer_aborts(batch_peer: Any) -> None:
    target = batch_peer("--abort-at", "3")
    run = dcmreport(
        "send-report",
        peer(target.port),
        *STGCMT,
        "--repeat",
        "10",
        "--stop-on-failure",
        "--format",
        "json",
    )
    assert run.returncode == 3, run.stderr
    responses, summary = lines(run.stdout)
    assert (summary["sent"], summary["succeeded"], summary["unanswered"]) == (3, 2, 1)
    assert "--stop-on-failure" in summary["error"] and "aborted" in summary["error"]
    assert len(responses) == 2
    assert target.received()["received"] == [[1, 1], [1, 2], [1, 3]]


def test_a_peer_that_aborts_every_association_ends_the_batch(listen: Any) -> None:
    """--abort-after 2: every report after the second is aborted; two associations in a row
    that answer nothing end the batch (exit 3) rather than loop."""
    listener = listen("--abort-after", "2")
    run = dcmreport(
        "send-report", peer(listener.port), *STGCMT, "--repeat", "5", "--format", "json"
    )
    assert run.returncode == 3, run.stderr
    responses, summary = lines(run.stdout)
    assert len(responses) == 2 and summary["succeeded"] == 2
    assert summary["associations"] == 3 and summary["unanswered"] == 1
    assert summary["error"]


def test_exit_4_when_reports_fail(listen: Any) -> None:
    listener = listen("--status", "0x0110")
    run = dcmreport(
        "send-report", peer(listener.port), *STGCMT, "--repeat", "4", "--format", "json"
    )
    assert run.returncode == 4, run.stderr
    responses, summary = lines(run.stdout)
    assert summary["failed"] == {"0x0110": 4} and summary["succeeded"] == 0
    assert {r["status_hex"] for r in responses} == {"0x0110"}


def test_stop_on_failure_stops_at_the_first_failure(listen: Any) -> None:
    listener = listen("--status", "0x0110")
    run = dcmreport(
        "send-report",
        peer(listener.port),
        *STGCMT,
        "--repeat",
        "4",
        "--stop-on-failure",
        "--format",
        "json",
    )
    assert run.returncode == 4, run.stderr
    _, summary = lines(run.stdout)
    assert (summary["sent"], summary["failed"]) == (1, {"0x0110": 1})


def test_window_as_negotiated(batch_peer: Any, listen: Any) -> None:
    """--window 8: a peer that performs 4 operations at once gets up to 4 outstanding; one
    that answers no asynchronous operations item, 1."""
    target = batch_peer("--window", "4", "--gather", "4")
    run = dcmreport(
        "send-report",
        peer(target.port),
        *STGCMT,
        "--repeat",
        "12",
        "--window",
        "8",
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stderr
    responses, summary = lines(run.stdout)
    assert summary["window"] == 4 and summary["succeeded"] == 12
    assert sorted(r["message_id"] for r in responses) == list(range(1, 13))
    assert target.received()["most_held"] == 4

    listener = listen()
    run = dcmreport("send-report", peer(listener.port), *STGCMT, "--repeat", "3", "--window", "8")
    assert run.returncode == 0, run.stderr
    assert lines(run.stdout)[1]["window"] == 1


def test_text_output_is_a_summary(listen: Any) -> None:
    listener = listen()
    run = dcmreport(
        "send-report", peer(listener.port), *STGCMT, "--repeat", "3", "--format", "text"
    )
    assert run.returncode == 0, run.stderr
    assert "Succeeded" in run.stdout and "reports/s" in run.stdout and "p50" in run.stdout
    assert '"kind"' not in run.stdout
