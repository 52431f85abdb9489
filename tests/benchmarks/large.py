"""A storage commitment report with 100,000 referenced instances, both sides.

``dcmreport send-report --data FILE`` to ``dcmreport listen --format json``
(its output drained from a pipe), against the plain pynetdicom SCU and SCP
(plain.py) sending the same data set, the SCP printing it as DICOM JSON. The
figures: the sender's whole-process wall time, and each side's peak resident
memory (``ru_maxrss`` of that process). Each listener must show every item.
"""

from __future__ import annotations

from pathlib import Path

from harness import (
    INSTANCE_PREFIX,
    BenchError,
    Process,
    Row,
    Servers,
    compare,
    interleaved,
    plain,
    report_file,
    send_report,
)

TIMEOUT = "600"  # seconds for the answer: the figure is how long, not whether within 30 s


def sides(listener: Process, sender: Process, items: int) -> dict[str, float]:
    sent = sender.finish(timeout=900)
    received = listener.finish(timeout=900)  # it shows the report after answering it
    if received.stdout.count(INSTANCE_PREFIX) < items:
        raise BenchError(f"{listener.described()} did not show all {items} items")
    return {"wall": sent.wall_s, "sender": sent.peak_mib, "listener": received.peak_mib}


def with_dcmreport(servers: Servers, data: Path, items: int) -> dict[str, float]:
    listener, port = servers.dcmreport_listen("--count", "1")
    sender = Process(send_report(port, data, "--dimse-timeout", TIMEOUT))
    return sides(listener, sender, items)


def with_plain(servers: Servers, data: Path, items: int) -> dict[str, float]:
    listener, port = servers.plain_scp("--count", "1", "--print")
    sender = Process(plain("scu", str(port), str(data), "--timeout", TIMEOUT))
    return sides(listener, sender, items)


def rows(quick: bool) -> list[Row]:
    items, runs = (10_000, 1) if quick else (100_000, 2)
    with Servers() as servers:
        data = report_file(servers.directory, items)
        m = interleaved(
            {
                "dcmreport": lambda: with_dcmreport(servers, data, items),
                "plain": lambda: with_plain(servers, data, items),
            },
            runs,
        )
    figures = (("wall", "sender wall", "s", 1.2), ("sender", "sender peak", "MiB", 1.5),
               ("listener", "listener peak", "MiB", 1.5))  # fmt: skip
    return [
        compare(f"{items:,}-item report: {label}", m["dcmreport"][key], m["plain"][key],
                "pynetdicom", unit, at_most=limit)
        for key, label, unit, limit in figures
    ]  # fmt: skip
