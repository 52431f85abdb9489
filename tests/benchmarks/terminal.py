"""Answers while a person watches: ``send-report --repeat`` to ``listen`` on a terminal.

One ``dcmreport listen`` whose stdout is a pseudo-terminal (``os.openpty``,
120 x 40, its other end read as fast as it comes, as a terminal emulator
would), so that ``--format auto`` shows the rich text view; against the same
listener with stdout to a file (``auto``: JSON lines). Both answer
``send-report --repeat N`` on one association; the figure is the time per
report (``elapsed_s / sent`` of send-report's summary). The target: the
terminal costs at most a fifth more, i.e. answering does not wait for the
view. Plain mode sends a tenth as many (pynetdicom's own pace per report).
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path

from harness import (
    MODES,
    BenchError,
    Process,
    Row,
    Servers,
    compare,
    dcmreport,
    environment,
    interleaved,
    report_file,
    send_report,
)

PRICED: dict[str, str] = {}
ROWS, COLUMNS = 40, 120


class Terminal:
    """A pseudo-terminal whose output is read and thrown away as it comes."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.read = 0
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every writer closed its end
                return
            if not chunk:
                return
            self.read += len(chunk)

    def close(self) -> None:
        os.close(self.slave)
        self._reader.join(timeout=10)
        os.close(self.master)


def listen(
    servers: Servers, stdout: int, reports: int, speedups: str | None
) -> tuple[subprocess.Popen[bytes], int]:
    """``dcmreport listen --count N`` with its stdout on ``stdout`` (auto format), once
    ready, and its port."""
    ready = servers.scratch("listen-") / "ready"
    env = environment(speedups)
    env["TERM"] = "xterm-256color"
    for name in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR"):
        env.pop(name, None)
    proc = subprocess.Popen(
        dcmreport(
            "listen", "--port", "0", "--bind", "127.0.0.1", "--ready-file", str(ready),
            "--count", str(reports),
        ),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (ready.exists() and ready.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise BenchError("dcmreport listen did not start listening")
        time.sleep(0.01)
    return proc, int(ready.read_text().strip().rsplit(":", 1)[1])


def per_report(
    servers: Servers, data: Path, reports: int, speedups: str | None, terminal: bool
) -> dict[str, float]:
    """ms per report of ``send-report --repeat`` to a listener on a terminal, or on a file."""
    tty = Terminal() if terminal else None
    out = servers.scratch("out-") / "stdout"
    with out.open("wb") as file:
        proc, port = listen(servers, tty.slave if tty else file.fileno(), reports, speedups)
        try:
            sender = Process(
                send_report(port, data, "--repeat", str(reports)), environment(speedups)
            )
            summary = json.loads(sender.finish().stdout.splitlines()[-1])
            if proc.wait(timeout=120) != 0:
                raise BenchError(f"listen exited {proc.returncode}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if tty:
                tty.close()
    if summary.get("kind") != "summary" or summary["succeeded"] != reports:
        raise BenchError(f"send-report --repeat {reports} ended with {summary}")
    if tty is not None and tty.read == 0:
        raise BenchError("listen wrote nothing to its terminal")
    return {"mean": summary["elapsed_s"] * 1000 / summary["sent"]}


def rows(quick: bool) -> list[Row]:
    reports, runs = (300, 1) if quick else (2000, 3)
    counts = {"on": reports, "off": reports // 10}
    with Servers() as servers:
        data = report_file(servers.directory, 1)
        cases = {
            f"{mode} {where}": (
                lambda m=mode, s=switch, t=(where == "terminal"): per_report(
                    servers, data, counts[m], s, t
                )
            )
            for mode, switch in MODES.items()
            for where in ("terminal", "file")
        }
        ms = interleaved(cases, runs)
    return [
        compare(f"listen on a terminal, send-report --repeat {counts[mode]:,}: per report",
                ms[f"{mode} terminal"]["mean"], ms[f"{mode} file"]["mean"],
                "stdout to a file", "ms", at_most=1.2, mode=mode,
                key="listen on a terminal, per report")
        for mode in MODES
    ]  # fmt: skip
