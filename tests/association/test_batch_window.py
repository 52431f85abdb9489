"""listen --async-ops and send-report --window: the window granted, and said when it is less.

``dcmreport listen`` and ``dcmreport send-report`` as processes on loopback.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import dcmreport

STGCMT = ["--class", "storage-commitment", "--event", "1", "TransactionUID=1.2.3.4"]


def send(port: int, count: int, window: int, fmt: str = "json") -> Any:
    return dcmreport(
        "send-report", f"ANY-SCP@127.0.0.1:{port}", *STGCMT, "--repeat", str(count),
        "--window", str(window), "--format", fmt, "-v",
    )  # fmt: skip


@pytest.mark.parametrize(("async_ops", "granted"), [(8, 8), (4, 4), (20, 8)])
def test_listen_grants_the_window_and_answers_every_request(
    listen: Any, async_ops: int, granted: int
) -> None:
    """--async-ops N grants up to N performed at once, never more than the sender invokes;
    the sender then keeps that many outstanding, and every one is answered and recorded."""
    listener = listen("--async-ops", str(async_ops), "--count", "50", "-v")
    run = send(listener.port, 50, 8)
    assert run.returncode == 0, run.stderr[-2000:]
    parsed = [json.loads(line) for line in run.stdout.splitlines()]
    summary = parsed[-1]
    assert (summary["succeeded"], summary["unanswered"]) == (50, 0)
    assert (summary["window"], summary["window_asked"], summary["window_granted"]) == (
        granted,
        8,
        granted,
    )
    [association] = [line for line in parsed if line["kind"] == "association"]
    assert association["window_proposed"] == {"invoked": 8, "performed": 1}
    assert association["window_granted"] == {"invoked": 1, "performed": granted}
    said = (
        "Asynchronous operations window: proposed 8 invoked / 1 performed, "
        f"granted 1 invoked / {granted} performed"
    )
    assert said in run.stderr  # -v, the sender's side
    assert ("the peer granted" in run.stderr) is (granted < 8)
    assert listener.finish(sig=None, timeout=60) == 0
    assert said in "".join(listener.stderr)  # -v, the listener's side
    received = listener.json_lines()
    assert sorted(r["message_id"] for r in received) == list(range(1, 51))


def test_a_smaller_window_than_asked_is_said(listen: Any) -> None:
    """A listener without --async-ops answers no window item: the sender runs at 1 and says
    so, in -v, in the text summary and in the JSON summary."""
    listener = listen("--count", "20")
    run = send(listener.port, 10, 8)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout.splitlines()[-1])
    assert (summary["window"], summary["window_asked"], summary["window_granted"]) == (1, 8, 1)
    words = "window: asked 8, the peer granted 1 (send-report runs at 1)"
    assert words in run.stderr
    assert "not answered (one at a time)" in run.stderr
    text = send(listener.port, 10, 8, "text")
    assert text.returncode == 0, text.stderr[-2000:]
    assert "Window" in text.stdout and words.removeprefix("window: ") in text.stdout
    assert listener.finish(sig=None, timeout=60) == 0


def test_window_one_asks_nothing_and_says_nothing(listen: Any) -> None:
    listener = listen("--async-ops", "8", "--count", "5")
    run = send(listener.port, 5, 1)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout.splitlines()[-1])
    assert (summary["window"], summary["window_asked"], summary["window_granted"]) == (1, 1, 1)
    assert "Asynchronous operations window" not in run.stderr
    assert listener.finish(sig=None, timeout=60) == 0
