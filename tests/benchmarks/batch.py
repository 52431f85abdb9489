"""Per-report round trip on one open association: ``send-report --repeat`` vs plain pynetdicom.

dcmreport on both sides (``send-report --repeat N`` to ``listen``), against a
plain pynetdicom SCU and SCP (plain.py) with TCP_NODELAY on both sockets, each
sending the same small storage commitment report N times. The figure is the
time per report on the open association (association set-up excluded):
``elapsed_s / sent`` of send-report's summary line, and the reports' median
latency (``latency_ms.p50``).
"""

from __future__ import annotations

import json

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
)


def dcmreport_batch(servers: Servers, data: str, reports: int) -> dict[str, float]:
    listener, port = servers.dcmreport_listen("--count", str(reports))
    sender = Process(
        dcmreport(
            "send-report",
            f"ANY-SCP@127.0.0.1:{port}",
            "--class",
            "storage-commitment",
            "--event",
            "1",
            "--data",
            data,
            "--repeat",
            str(reports),
            "--format",
            "json",
        )
    )
    summary = json.loads(sender.finish().stdout.splitlines()[-1])
    listener.finish()
    if summary.get("kind") != "summary" or summary["succeeded"] != reports:
        raise BenchError(f"send-report --repeat {reports} ended with {summary}")
    return {
        "mean": summary["elapsed_s"] * 1000 / summary["sent"],
        "p50": summary["latency_ms"]["p50"],
    }


def plain_batch(servers: Servers, data: str, reports: int) -> dict[str, float]:
    scp, port = servers.plain_scp("--count", str(reports))
    result = json.loads(
        Process(plain("scu", str(port), data, "--count", str(reports))).finish().stdout
    )
    scp.finish()
    return {"mean": result["elapsed_s"] * 1000 / reports, "p50": result["p50_ms"]}


def rows(quick: bool) -> list[Row]:
    if "--repeat" not in Process(dcmreport("send-report", "--help")).finish().stdout:
        raise BenchError("send-report has no --repeat: no batch to measure")
    reports, runs = (200, 1) if quick else (2000, 3)
    with Servers() as servers:
        data = str(report_file(servers.directory, 1))
        ms = interleaved(
            {
                "dcmreport": lambda: dcmreport_batch(servers, data, reports),
                "plain": lambda: plain_batch(servers, data, reports),
            },
            runs,
        )
    return [
        compare(
            f"batch round trip per report ({reports} reports)",
            ms["dcmreport"]["mean"],
            ms["plain"]["mean"],
            "pynetdicom NODELAY",
            "ms",
            at_most=0.6,
        ),
        compare(
            "batch round trip, p50 latency",
            ms["dcmreport"]["p50"],
            ms["plain"]["p50"],
            "pynetdicom NODELAY",
            "ms",
            at_most=0.6,
        ),
    ]
