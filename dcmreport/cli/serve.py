"""``listen`` until it is done: ``--count`` answers, ``--timeout``, or a signal.

SIGINT and SIGTERM ask for a graceful stop: no new associations, the reports
received are answered and recorded, then exit 0; the listener says so on
stderr, so that a person (or a job) knows the signal was heard. A second
signal aborts what is still open, the ``--exec`` programs still running
too, and exits 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from dcmreport.cli import readiness
from dcmreport.errors import ExitCode, ListenTimeoutError
from dcmreport.listen import hooks

if TYPE_CHECKING:
    from dcmreport.association.listener import Listener


class StopOnSignal:
    """SIGINT/SIGTERM ask the listener to stop gracefully; a second one interrupts."""

    def __init__(self) -> None:
        self.requested = threading.Event()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.requested.is_set():
            raise KeyboardInterrupt
        self.requested.set()

    def install(self) -> None:
        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)


def until_done(
    listener: Listener,
    note: Callable[[str], None],
    where: tuple[str, str],
    count: int | None,
    timeout: float | None,
    ready_file: Path | None,
) -> ExitCode:
    """Run the listener (AE title and bind address ``where``) until --count, --timeout or a
    signal; then stop it gracefully."""
    aet, bind = where
    stop = StopOnSignal()
    stop.install()
    with readiness.ready_file(ready_file, aet, bind) as ready:
        listener.start()
        ready(listener.port)
        note(f"dcmreport: listening on {bind}:{listener.port} as {aet} (Ctrl-C to stop)")
        return _wait(listener, stop, note, count, timeout)


def _wait(
    listener: Listener,
    stop: StopOnSignal,
    note: Callable[[str], None],
    count: int | None,
    timeout: float | None,
) -> ExitCode:
    try:
        listener.wait(
            lambda: stop.requested.is_set() or (count is not None and listener.answered >= count),
            timeout,
        )
    finally:  # after a signal, peers that keep sending get less time before the abort
        try:
            if stop.requested.is_set():
                note("dcmreport: stopping: answering what was received (again to abort)")
            listener.stop(grace=2.0 if stop.requested.is_set() else 5.0)
        except KeyboardInterrupt:  # a second signal: abort what is open, exit 130
            listener.stop(grace=0)
            hooks.kill_all()  # --exec programs too: their reports' threads end with them
            raise
    wanted = count or 1
    if timeout is not None and not stop.requested.is_set() and listener.answered < wanted:
        raise ListenTimeoutError(
            f"{listener.answered} of {wanted} report(s) answered within {timeout:g} s"
        )
    return ExitCode.OK
