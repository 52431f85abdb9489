"""Durable capture: ``listen --output-dir`` reports/s from concurrent senders.

SENDERS plain pynetdicom SCUs (plain.py, TCP_NODELAY), each sending a small
storage commitment report again and again on one association, to three
listeners in turn: ``dcmreport listen --output-dir`` (nothing answered
Success before it is on disk), the plain pynetdicom SCP writing and fsyncing
one file and its directory entry per report before answering (plain.py scp
--fsync), and ``dcmreport listen`` keeping nothing (what durability costs).
Both dcmreport listeners run in both modes; plain mode's are compared with
the plain SCP and with plain mode's listener keeping nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from harness import MODES, Process, Row, Servers, compare, interleaved, report_file, senders

SENDERS = 8
PRICED: dict[str, str] = {}  # the association fast path is priced by the batch section
Start = Callable[[str], tuple[Process, int]]  # a server told to exit after COUNT reports


def rate(start: Start, each: int, data: Path) -> dict[str, float]:
    server, port = start(str(SENDERS * each))
    elapsed = senders(port, SENDERS, each, data)
    server.finish()
    return {"per_s": SENDERS * each / elapsed}


def rows(quick: bool) -> list[Row]:
    each, runs = (20, 1) if quick else (100, 3)
    with Servers() as servers:
        data = report_file(servers.directory, 1)
        starts: dict[str, Start] = {
            "plain fsync": lambda count: servers.plain_scp(
                "--count", count, "--fsync", str(servers.scratch("plain-"))
            ),
        }
        for mode, switch in MODES.items():
            starts[f"output-dir {mode}"] = lambda count, s=switch: servers.dcmreport_listen(
                "--count", count, "--output-dir", str(servers.scratch("kept-")), speedups=s
            )
            starts[f"listen {mode}"] = lambda count, s=switch: servers.dcmreport_listen(
                "--count", count, speedups=s
            )
        per_s = interleaved(
            {name: partial(rate, start, each, data) for name, start in starts.items()},
            runs,
        )
    figure = f"listen --output-dir ({SENDERS} x {each} reports)"
    return [
        row
        for mode in MODES
        for row in (
            compare(figure, per_s[f"output-dir {mode}"]["per_s"], per_s["plain fsync"]["per_s"],
                    "plain fsync SCP", "/s", at_least=1.0, mode=mode, key=f"{figure} vs fsync"),
            compare(figure, per_s[f"output-dir {mode}"]["per_s"], per_s[f"listen {mode}"]["per_s"],
                    "listen, keeping nothing", "/s", at_least=0.8, mode=mode,
                    key=f"{figure} vs nothing"),
        )
    ]  # fmt: skip
