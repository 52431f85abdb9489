"""dcmreport's speed next to its yardsticks, measured in one run: one table.

    python tests/benchmarks/run.py [--quick] [--only SECTION ...]

Each row is a dcmreport figure, the baseline measured in the same run
(interleaved with it, medians), their ratio and the target of issue 11.
Sections, one module each:

  start    echo and send-report whole process vs pynetdicom; a TAB vs --help
  batch    per-report round trip of send-report --repeat vs plain pynetdicom
  capture  listen --output-dir reports/s vs a plain fsyncing SCP and plain listen
  large    a 100,000-item storage commitment report: wall and peak memory, both sides
  memory   listener resident memory after 20,000 reports vs after 1,000

``--quick`` measures each case once, on smaller sizes: a smoke run, whose
ratios are rough. Exits 1 when a section could not measure (it says why), not when
a target is missed: the table says that.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import batch
import capture
import large
import memory
import start
from harness import BenchError, Row

SECTIONS: dict[str, Callable[[bool], list[Row]]] = {
    "start": start.rows,
    "batch": batch.rows,
    "capture": capture.rows,
    "large": large.rows,
    "memory": memory.rows,
}
HEADER = ("figure", "dcmreport", "baseline", "ratio", "target", "met?")


def table(rows: list[Row]) -> str:
    cells = [HEADER] + [
        (r.figure, r.ours, r.baseline, f"{r.ratio:.2f}x", r.target, "yes" if r.met else "NO")
        for r in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="each case once, smaller sizes")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="these sections only")
    args = parser.parse_args()
    rows: list[Row] = []
    failed: list[str] = []
    for name in args.only or SECTIONS:
        began = time.perf_counter()
        print(f"{name}...", file=sys.stderr, flush=True)
        try:
            rows += SECTIONS[name](args.quick)
        except BenchError as exc:
            failed.append(f"{name}: {exc}")
        print(f"{name}: {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    print(table(rows))
    for failure in failed:
        print(f"FAILED {failure}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
