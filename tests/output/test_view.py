"""The terminal view of listen: queued, drawn by its own thread, counted past what waits."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.text import Text

from dcmreport.output import view
from dcmreport.output.view import ReportView


def test_a_stalled_terminal_never_holds_add_and_counts_what_does_not_fit() -> None:
    """add() returns while the terminal is stalled; beyond MAX_WAITING lines the reports
    are counted, and one line says how many and how they were answered."""
    release, stalled = threading.Event(), threading.Event()
    written: list[str] = []

    def write(text: str) -> None:
        stalled.set()
        release.wait(30)  # the terminal takes nothing until released
        written.append(text)

    shown = ReportView(Console(width=200), write)
    total = view.MAX_WAITING + 50
    for number in range(total):
        answer = "Failure" if number % 2 else "Success"
        shown.add(answer, Text(f"report {number}"), lambda: Text("a panel"))
        if number == 0:  # the view is stuck writing the first: every later one waits
            assert stalled.wait(30)
    release.set()
    shown.close()
    text = "".join(written)
    drawn = [n for n in range(total) if f"report {n}\n" in text]
    assert len(drawn) >= view.MAX_WAITING  # the first is drawn alone (its panel, or its line)
    assert drawn[-1] < total - 1  # the last ones came when MAX_WAITING were waiting
    not_shown = total - len(drawn) - text.count("a panel")
    assert f"… {not_shown:,} more not shown here" in text
    assert "Failure" in text.split("more not shown here")[1]


def test_reports_drawn_in_order_and_all_before_close_returns() -> None:
    written: list[str] = []
    shown = ReportView(Console(width=200), written.append)
    for number in range(50):
        shown.add("Success", Text(f"report {number}"), lambda: Text("a panel"))
    shown.close()
    text = "".join(written)
    positions = [text.find(f"report {n}\n") for n in range(50) if f"report {n}\n" in text]
    assert positions == sorted(positions)
    assert "report 49" in text
