"""Per-report round trip on one open association: ``send-report --repeat`` vs plain pynetdicom.

dcmreport on both sides (``send-report --repeat N`` to ``listen``), against a
plain pynetdicom SCU and SCP (plain.py) with TCP_NODELAY on both sockets, each
sending the same small storage commitment report N times. The figure is the
time per report on the open association: ``elapsed_s / sent`` of
send-report's summary line (the plain SCU times its reports alone), and the
reports' median latency (``latency_ms.p50``). Plain mode, and dcmreport with
the association fast path left out (:data:`PRICED`, against all on sending as
many), send a tenth as many: without it each round trip waits on pynetdicom's
polling and Nagle's algorithm, and the figure is per report.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness import (
    MODES,
    ON,
    BenchError,
    Process,
    Row,
    Servers,
    compare,
    dcmreport,
    environment,
    interleaved,
    plain,
    price,
    report_file,
    send_report,
    without,
)

PRICED = {"association-fast-path": "mean"}


def with_dcmreport(
    servers: Servers, data: Path, reports: int, speedups: str | None = ON
) -> dict[str, float]:
    listener, port = servers.dcmreport_listen("--count", str(reports), speedups=speedups)
    sender = Process(send_report(port, data, "--repeat", str(reports)), environment(speedups))
    summary = json.loads(sender.finish().stdout.splitlines()[-1])
    listener.finish()
    if summary.get("kind") != "summary" or summary["succeeded"] != reports:
        raise BenchError(f"send-report --repeat {reports} ended with {summary}")
    return {
        "mean": summary["elapsed_s"] * 1000 / summary["sent"],
        "p50": summary["latency_ms"]["p50"],
    }


def with_plain(servers: Servers, data: Path, reports: int) -> dict[str, float]:
    scp, port = servers.plain_scp("--count", str(reports))
    sender = Process(plain("scu", str(port), str(data), "--count", str(reports)))
    result = json.loads(sender.finish().stdout)
    scp.finish()
    return {"mean": result["elapsed_s"] * 1000 / reports, "p50": result["p50_ms"]}


def rows(quick: bool) -> list[Row]:
    if "--repeat" not in Process(dcmreport("send-report", "--help")).finish().stdout:
        raise BenchError("send-report has no --repeat: no batch to measure")
    reports, runs = (200, 1) if quick else (2000, 3)
    fewer = reports // 10
    counts = {"on": reports, "off": fewer}
    with Servers() as servers:
        data = report_file(servers.directory, 1)
        cases = {
            mode: (lambda m=mode, s=switch: with_dcmreport(servers, data, counts[m], s))
            for mode, switch in MODES.items()
        }
        cases["plain"] = lambda: with_plain(servers, data, reports)
        cases["on, fewer"] = lambda: with_dcmreport(servers, data, fewer)  # what a price is against
        for trick in PRICED:
            cases[f"-{trick}"] = lambda t=trick: with_dcmreport(servers, data, fewer, without(t))
        ms = interleaved(cases, runs)
    base = ms["plain"]
    return [
        *(row for mode in MODES for row in (
            compare(f"batch round trip per report ({counts[mode]:,} reports)", ms[mode]["mean"],
                    base["mean"], "pynetdicom NODELAY", "ms", at_most=0.6, mode=mode,
                    key="batch round trip per report"),
            compare("batch round trip, p50 latency", ms[mode]["p50"], base["p50"],
                    "pynetdicom NODELAY", "ms", at_most=0.6, mode=mode),
        )),
        *(price(trick, f"batch round trip per report ({fewer:,} reports)",
                ms[f"-{trick}"][metric], ms["on, fewer"][metric], "ms")
          for trick, metric in PRICED.items()),
    ]  # fmt: skip
