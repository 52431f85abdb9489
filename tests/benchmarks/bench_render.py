"""The text view of a large storage commitment report: summary versus ``full``.

    python tests/benchmarks/bench_render.py [ITEMS]

Builds (decoded, as the listener holds it) an Event Information with ITEMS
Referenced SOP Sequence items, then times building the rich view of the
received report and rendering it to a string at width 100, each with and
without ``full``; prints milliseconds, the tracemalloc peak of the build and
the size of the rendered text.
"""

from __future__ import annotations

import io
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from pydicom import Dataset
from rich.console import Console

from dcmreport.records import (
    Answer,
    AssociationInfo,
    ReceivedReport,
    ReportRecord,
    ResponseStatus,
)
from dcmreport.render_text import record_text


def big_record(items: int) -> ReportRecord:
    ds = Dataset()
    ds.TransactionUID = "1.2.826.0.1.3680043.9.9999.1"
    refs = []
    for n in range(items):
        item = Dataset()
        item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
        item.ReferencedSOPInstanceUID = f"1.2.826.0.1.3680043.9.9999.2.{n}"
        refs.append(item)
    ds.ReferencedSOPSequence = refs
    info = AssociationInfo("SENDER", "DCMREPORT", "127.0.0.1:40000", 16382, "1.2.3", None)
    report = ReceivedReport(
        info, 1, "1.2.840.10008.1.2.1", 1, "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1", 1, ds
    )
    return ReportRecord(report, Answer(ResponseStatus(0)))


def measure(build: Callable[[], Any]) -> tuple[float, float, Any]:
    """Milliseconds (without tracemalloc's overhead), peak MiB, and the result."""
    start = time.perf_counter()
    result = build()
    elapsed = (time.perf_counter() - start) * 1000
    tracemalloc.start()
    build()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return elapsed, peak, result


def rendered(view: Any) -> str:
    console = Console(file=io.StringIO(), width=100)
    console.print(view)
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def main(items: int) -> None:
    record = big_record(items)
    for full in (False, True):
        build_ms, peak, view = measure(lambda full=full: record_text(record, full))  # type: ignore[misc]
        start = time.perf_counter()
        text = rendered(view)
        render_ms = (time.perf_counter() - start) * 1000
        print(
            f"full={full!s:5}  build {build_ms:9.1f} ms, peak {peak:7.2f} MiB;"
            f"  render {render_ms:9.1f} ms, {len(text):,} characters"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
