"""listen on a terminal: its view never holds an answer.

``dcmreport listen`` as a process whose stdout is a pseudo-terminal (so
``--format auto`` draws the rich view), against ``send-report`` as a
process. A terminal that nobody reads (a paused one, Ctrl-S) fills after a
few panels; answering must go on regardless.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import termios
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import (
    PEERS,
    cli_env,
    dcmreport,
    eventually,
    memory,
    pseudo_terminal,
    read_terminal,
)

sys.path.insert(0, str(PEERS))
import hostile as h

STGCMT = ["--class", "storage-commitment", "--event", "1", "TransactionUID=1.2.3.4"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MIB = 1024 * 1024


class TerminalListener:
    """``dcmreport listen`` with stdout and stderr on a pseudo-terminal, which is read only
    when :meth:`read_on` is called (until then it fills, and its writer waits)."""

    def __init__(self, tmp: str, *args: str) -> None:
        self.master, slave = pseudo_terminal(40, 120)
        ready = os.path.join(tmp, "ready")
        env = cli_env()
        env.pop("COLUMNS")
        env["TERM"] = "xterm"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dcmreport", "listen", "--port", "0", "--bind", "127.0.0.1",
             "--ready-file", ready, *args],
            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env,
        )  # fmt: skip
        os.close(slave)
        self.text = bytearray()
        self._reader: threading.Thread | None = None
        assert eventually(lambda: Path(ready).exists() and bool(Path(ready).read_text().strip()))
        self.port = int(Path(ready).read_text().strip().rsplit(":", 1)[1])

    def read_on(self) -> None:
        self._reader = read_terminal(self.master, self.text)

    def finish(self) -> tuple[int, str]:
        if self._reader is None:
            self.read_on()
        code = self.proc.wait(60)
        assert self._reader is not None
        self._reader.join(10)  # the reader closes the terminal once the listener has gone
        return code, ANSI.sub("", self.text.decode(errors="replace"))


@pytest.fixture
def terminal_listener(tmp_path: object) -> Iterator[type[TerminalListener]]:
    started: list[TerminalListener] = []

    def start(*args: str) -> TerminalListener:
        started.append(TerminalListener(str(tmp_path), *args))
        return started[-1]

    yield start  # type: ignore[misc]
    for listener in started:
        if listener.proc.poll() is None:
            listener.proc.kill()
            listener.proc.wait()


def test_a_terminal_nobody_reads_holds_no_answer(terminal_listener: object) -> None:
    """Before the view had a thread of its own, the listener stopped answering once the
    terminal's buffer was full: the sender waited out its DIMSE timeout."""
    count = 300
    listener = terminal_listener("--count", str(count))  # type: ignore[operator]
    sent = dcmreport(
        "send-report", f"ANY@127.0.0.1:{listener.port}", *STGCMT, "--repeat", str(count),
        "--dimse-timeout", "10", "--format", "json",
    )  # fmt: skip
    summary = json.loads(sent.stdout.splitlines()[-1])
    assert summary["succeeded"] == count, sent.stdout[-2000:] + sent.stderr
    listener.read_on()
    code, text = listener.finish()
    assert code == 0, text[-2000:]
    assert "N-EVENT-REPORT" in text  # the first ones as panels
    lines = [line for line in text.splitlines() if "-> 0x0000 Success" in line]
    assert lines, text[-2000:]  # the burst a line each
    assert f"#{count}" in text  # the last one drawn too, before the exit


def test_a_lone_report_is_its_panel(terminal_listener: object) -> None:
    listener = terminal_listener("--count", "1")  # type: ignore[operator]
    listener.read_on()
    sent = dcmreport("send-report", f"ANY@127.0.0.1:{listener.port}", *STGCMT, "--format", "json")
    assert sent.returncode == 0, sent.stderr
    code, text = listener.finish()
    assert code == 0, text
    assert "N-EVENT-REPORT" in text and "Message ID" in text and "-> 0x0000" not in text


def test_a_paused_terminal_holds_no_large_data_set(terminal_listener: object) -> None:
    """A terminal paused with Ctrl-S stops the view in the middle of drawing a report. The
    memory budget gave that report's share back as it landed: the view must not hold its
    data set meanwhile (before, its panel was built only when drawn, from the whole record)."""
    listener = terminal_listener("--count", "3")  # type: ignore[operator]
    attributes = termios.tcgetattr(listener.master)
    attributes[0] |= termios.IXON  # the terminal's flow control, as an interactive one has
    termios.tcsetattr(listener.master, termios.TCSANOW, attributes)
    warm = h.report_case("127.0.0.1", listener.port, h.report_fields(), h.small_dataset("1.2"))
    assert warm.statuses == [0]
    shown = bytearray()
    assert eventually(lambda: b"N-EVENT-REPORT" in _read_available(listener.master, shown))
    idle = memory(listener.proc.pid)
    os.write(listener.master, b"\x13")  # Ctrl-S: the listener's writes wait from now on
    large = h.explicit(0x00420011, b"OB", os.urandom(48 * MIB)) + h.small_dataset("1.2")
    fields = h.report_fields(message_id=2, instance=f"{h.INSTANCE_ROOT}.2")
    assert h.report_case("127.0.0.1", listener.port, fields, large, timeout=30).statuses == [0]
    # Paused (and short of --count), the view holds what it holds for good: no bound on the
    # wait can let a held data set pass.
    held = eventually(lambda: memory(listener.proc.pid) - idle < 32 * MIB)
    assert held, f"{(memory(listener.proc.pid) - idle) // MIB} MiB held while paused"
    os.write(listener.master, b"\x11")  # Ctrl-Q
    last = h.report_fields(message_id=3, instance=f"{h.INSTANCE_ROOT}.3")  # then --count ends it
    assert h.report_case("127.0.0.1", listener.port, last, h.small_dataset("1.2")).statuses == [0]
    code, text = listener.finish()
    assert code == 0, text[-2000:]
    assert "(50,331,648 bytes)" in text  # the large report's panel, drawn once resumed


def _read_available(master: int, shown: bytearray) -> bytearray:
    """``shown`` with what the terminal has shown since, read without waiting."""
    while select.select([master], [], [], 0)[0]:
        shown += os.read(master, 65536)
    return shown
