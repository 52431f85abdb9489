"""A storage commitment report with 100,000 referenced instances, both sides.

``dcmreport send-report --data FILE`` to ``dcmreport listen --format json``
(its output drained from a pipe), against the plain pynetdicom SCU and SCP
(plain.py) sending the same data set, the SCP printing it as DICOM JSON. The
figures: the sender's whole-process wall time (which holds the listener's
decoding: it answers once the report is decoded), and each side's peak
resident memory (``ru_maxrss`` of that process). Each listener must show
every item. dcmreport runs in both modes; the tricks this section pays for
(:data:`PRICED`) are each left out of both sides in turn, on a report of
PRICE_ITEMS items against all tricks on for the same report.
"""

from __future__ import annotations

from pathlib import Path

from harness import (
    INSTANCE_PREFIX,
    MODES,
    ON,
    BenchError,
    Process,
    Row,
    Servers,
    compare,
    environment,
    interleaved,
    plain,
    price,
    report_file,
    send_report,
    without,
)

TIMEOUT = "600"  # seconds for the answer: the figure is how long, not whether within 30 s
PRICED = {  # and what of the sender's wall time each speeds up
    "one-pass-decoder": "listener decoding",
    "json-model": "sender loading JSON",
    "uid-check": "UID checks, both sides",
}


def sides(listener: Process, sender: Process, items: int) -> dict[str, float]:
    sent = sender.finish(timeout=900)
    received = listener.finish(timeout=900)  # it shows the report after answering it
    if received.stdout.count(INSTANCE_PREFIX) < items:
        raise BenchError(f"{listener.described()} did not show all {items} items")
    return {"wall": sent.wall_s, "sender": sent.peak_mib, "listener": received.peak_mib}


def with_dcmreport(
    servers: Servers, data: Path, items: int, speedups: str | None = ON
) -> dict[str, float]:
    listener, port = servers.dcmreport_listen("--count", "1", speedups=speedups)
    sender = Process(send_report(port, data, "--dimse-timeout", TIMEOUT), environment(speedups))
    return sides(listener, sender, items)


def with_plain(servers: Servers, data: Path, items: int) -> dict[str, float]:
    listener, port = servers.plain_scp("--count", "1", "--print")
    sender = Process(plain("scu", str(port), str(data), "--timeout", TIMEOUT))
    return sides(listener, sender, items)


def rows(quick: bool) -> list[Row]:
    items, runs = (10_000, 1) if quick else (100_000, 2)
    price_items, price_runs = (2_000, 1) if quick else (20_000, 3)
    with Servers() as servers:
        data = report_file(servers.directory, items)
        cases = {
            mode: (lambda s=switch: with_dcmreport(servers, data, items, s))
            for mode, switch in MODES.items()
        }
        cases["plain"] = lambda: with_plain(servers, data, items)
        m = interleaved(cases, runs)
        smaller = report_file(servers.directory, price_items)
        priced = {"all on": lambda: with_dcmreport(servers, smaller, price_items)}
        for trick in PRICED:
            priced[f"-{trick}"] = lambda t=trick: with_dcmreport(
                servers, smaller, price_items, without(t)
            )
        p = interleaved(priced, price_runs)
    figures = (("wall", "sender wall", "s", 1.2), ("sender", "sender peak", "MiB", 1.5),
               ("listener", "listener peak", "MiB", 1.5))  # fmt: skip
    return [
        *(compare(f"{items:,}-item report: {label}", m[mode][key], m["plain"][key],
                  "pynetdicom", unit, at_most=limit, mode=mode)
          for mode in MODES for key, label, unit, limit in figures),
        *(price(trick, f"{price_items:,}-item report: sender wall, {saves}",
                p[f"-{trick}"]["wall"], p["all on"]["wall"], "s")
          for trick, saves in PRICED.items()),
    ]  # fmt: skip
