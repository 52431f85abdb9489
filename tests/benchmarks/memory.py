"""Listener memory growth: resident memory after 20,000 reports vs after 1,000.

One ``dcmreport listen`` process; plain SCUs (plain.py, two at a time, each on
one association) send the first 1,000 reports, then VmRSS is read; then the
rest up to 20,000, and VmRSS again. A listener that keeps something per
report (records, threads, buffers) grows; the target is at most 5 MiB. In
plain mode the listener answers each report at pynetdicom's own pace, so it
is sent a fifth as many: a listener that keeps something per report grows
there too.
"""

from __future__ import annotations

import time

from harness import MODES, Row, Servers, report_file, senders

SENDERS = 2
GROWTH_MIB = 5.0
PRICED: dict[str, str] = {}


def growth(servers: Servers, speedups: str | None, first: int, total: int, mode: str) -> Row:
    data = report_file(servers.directory, 1)
    listener, port = servers.dcmreport_listen(speedups=speedups)
    senders(port, SENDERS, first // SENDERS, data)
    time.sleep(0.5)  # the associations' threads end after their last answer
    before = listener.vm_rss_mib()
    senders(port, SENDERS, (total - first) // SENDERS, data)
    time.sleep(0.5)
    after = listener.vm_rss_mib()
    listener.stop()
    grown = after - before
    return Row(
        f"listener RSS, {first:,} -> {total:,} reports",
        f"{after:.1f} MiB (+{grown:.1f})",
        f"after {first:,}: {before:.1f} MiB",
        after / before,
        f"growth <= {GROWTH_MIB:.0f} MiB",
        grown <= GROWTH_MIB,
        mode,
        "listener RSS growth",
    )


def rows(quick: bool) -> list[Row]:
    first, total = (200, 2000) if quick else (1000, 20000)
    counts = {"on": (first, total), "off": (first // 5, total // 5)}
    with Servers() as servers:
        return [growth(servers, switch, *counts[mode], mode) for mode, switch in MODES.items()]
