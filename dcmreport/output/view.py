"""``listen``'s reports on a terminal, drawn by a thread of their own: answering never waits.

A person reads a few reports a second; a sender may send hundreds. Drawing a
rich panel costs milliseconds, and a terminal that is slow to read (a remote
session, a paused one) stops the writer. So the view is not drawn where
reports are recorded: :meth:`ReportView.add` only queues a report (its
line, and how to build its panel: :mod:`dcmreport.output.text` makes both)
and returns, and one thread draws what is queued, in order:

- while at most :data:`CALM_RATE` reports arrived in the last second and
  nothing waits, each report is its panel (:func:`~.text.record_text`);
- faster than that, or while the terminal is behind, each report is one line
  (time, message ID, calling AE title, class, event, answer), the lines
  waiting drawn together at most every :data:`LINES_EVERY` seconds;
- when even lines fall :data:`MAX_WAITING` behind (a terminal paused with
  Ctrl-S), the reports beyond are counted, not queued, and one line says how
  many were not shown and how they were answered.

Only the view is summarised: every report is answered, recorded and kept
(``--output-dir``, ``--format json``) as before, and a queued line holds no
data set (only the newest report keeps its own, for its panel, if it is small:
a large one's panel is built before it is queued). A stop draws what is
queued (:meth:`ReportView.close`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console, RenderableType
from rich.text import Text

CALM_RATE = 5  # reports in the last second, at most, for each to be drawn as its panel
LINES_EVERY = 0.1  # seconds: lines waiting are drawn together, at most this often
MAX_WAITING = 1000  # lines waiting to be drawn, at most; beyond, reports are only counted


@dataclass
class _Entry:
    """A report to draw: its line, and its panel while it is the newest one waiting."""

    line: Text
    panel: Callable[[], RenderableType] | None


class ReportView:
    """Queues reports and results for a thread that draws them on ``console``.

    ``write`` writes a drawn text to the terminal (the renderer's, under its
    lock for stdout); it is called from the view's thread only.
    """

    def __init__(self, console: Console, write: Callable[[str], None]) -> None:
        self._console = console
        self._write = write
        self._waiting: deque[_Entry] = deque()
        self._arrivals: deque[float] = deque()  # when the last second's reports arrived
        self._not_shown: Counter[str] = Counter()  # answers of the reports counted only
        self._changed = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, answer: str, line: Text, panel: Callable[[], RenderableType]) -> None:
        """Queue a report (never waits for the terminal): its one-line form, its panel
        (built only if drawn) and, should it be only counted, how it was answered."""
        now = time.monotonic()
        with self._changed:
            self._arrivals.append(now)
            while self._arrivals and self._arrivals[0] < now - 1.0:
                self._arrivals.popleft()
            if len(self._waiting) >= MAX_WAITING:
                self._not_shown[answer] += 1
                return
            calm = not self._waiting and len(self._arrivals) <= CALM_RATE
            if self._waiting:  # an older one will be a line: its data set is let go
                self._waiting[-1].panel = None
            self._waiting.append(_Entry(line, panel if calm else None))
            self._changed.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._draw, name="view", daemon=True)
                self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Draw what is queued, then end the thread (waiting at most ``timeout``: a paused
        terminal does not hold the exit)."""
        with self._changed:
            self._closed = True
            self._changed.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _draw(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._waiting or self._not_shown or self._closed)
                entries = list(self._waiting)
                self._waiting.clear()
                not_shown = self._not_shown.copy()
                self._not_shown.clear()
                closed = self._closed
            if entries or not_shown:
                self._write(self._rendered(entries, not_shown))
            if closed and not entries and not not_shown:
                return
            if len(entries) > 1 and not closed:  # fast: let the next lines gather
                time.sleep(LINES_EVERY)

    def _rendered(self, entries: list[_Entry], not_shown: Counter[str]) -> str:
        """The entries as text: a lone one with its panel as the panel, else a line each."""
        with self._console.capture() as captured:
            if len(entries) == 1 and entries[0].panel is not None:
                self._console.print(entries[0].panel())
            elif entries:
                self._console.print(Text("\n").join(e.line for e in entries), soft_wrap=True)
            if not_shown:
                self._console.print(_not_shown_line(not_shown), soft_wrap=True)
        return captured.get()


def _not_shown_line(not_shown: Counter[str]) -> Text:
    """How many reports the terminal could not keep up with, and how they were answered."""
    total = sum(not_shown.values())
    how = ", ".join(f"{count:,} {answer}" for answer, count in sorted(not_shown.items()))
    return Text(
        f"… {total:,} more not shown here, faster than the terminal shows them ({how}); "
        "--output-dir or --format json keeps every one",
        style="yellow",
    )
