"""Per-report round trip on one open association: ``send-report --repeat`` vs plain pynetdicom.

dcmreport on both sides (``send-report --repeat N`` to ``listen``), against a
plain pynetdicom SCU and SCP (plain.py) with TCP_NODELAY on both sockets, each
sending the same small storage commitment report N times. The figure is the
time per report on the open association: ``elapsed_s / sent`` of
send-report's summary line (the plain SCU times its reports alone), and the
reports' median latency (``latency_ms.p50``).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness import (
    BenchError,
    Process,
    Row,
    Servers,
    compare,
    dcmreport,
    interleaved,
    plain,
    report_file,
    send_report,
)


def with_dcmreport(servers: Servers, data: Path, reports: int) -> dict[str, float]:
    listener, port = servers.dcmreport_listen("--count", str(reports))
    sender = Process(send_report(port, data, "--repeat", str(reports)))
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
    with Servers() as servers:
        data = report_file(servers.directory, 1)
        ms = interleaved(
            {
                "dcmreport": lambda: with_dcmreport(servers, data, reports),
                "plain": lambda: with_plain(servers, data, reports),
            },
            runs,
        )
    ours, base = ms["dcmreport"], ms["plain"]
    return [
        compare(f"batch round trip per report ({reports:,} reports)", ours["mean"], base["mean"],
                "pynetdicom NODELAY", "ms", at_most=0.6),
        compare("batch round trip, p50 latency", ours["p50"], base["p50"], "pynetdicom NODELAY",
                "ms", at_most=0.6),
    ]  # fmt: skip
