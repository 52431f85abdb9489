"""dcmreport's speed next to its yardsticks, measured in one run: three tables.

    python tests/benchmarks/run.py [--quick] [--only SECTION ...]

Each row is a dcmreport figure, the baseline measured in the same run
(interleaved with it, medians), their ratio and the target of issue 11.
dcmreport is measured in both modes of its speedups switch: the first table
is the default (every trick on), the second plain mode (``DCMREPORT_SPEEDUPS=off``)
with the default's ratio beside each figure. The third pays for each speed
trick of ``dcmreport/speedups.py``: the figure it speeds up with that trick
left out (``DCMREPORT_SPEEDUPS=-NAME``) against all on. Sections, one module
each, each naming the tricks it pays for (``PRICED``):

  start    echo and send-report whole process vs pynetdicom; a TAB vs --help
  batch    per-report round trip of send-report --repeat vs plain pynetdicom
  capture  listen --output-dir reports/s vs a plain fsyncing SCP and plain listen
  large    a 100,000-item storage commitment report: wall and peak memory, both sides
  memory   listener resident memory after 20,000 reports vs after 1,000
  terminal send-report --repeat to listen on a terminal vs listen's stdout to a file

``--quick`` measures each case once, on smaller sizes: a smoke run, whose
ratios are rough. Exits 1 when a section could not measure (it says why), or
when a trick of speedups.py has no section to pay for it; not when a target
is missed: the table says that.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from types import ModuleType

import batch
import capture
import large
import memory
import start
import terminal
from harness import BenchError, Row

from dcmreport import speedups

MODULES: dict[str, ModuleType] = {
    "start": start,
    "batch": batch,
    "capture": capture,
    "large": large,
    "memory": memory,
    "terminal": terminal,
}
SECTIONS: dict[str, Callable[[bool], list[Row]]] = {
    name: module.rows for name, module in MODULES.items()
}


def unpriced() -> list[str]:
    """The tricks of speedups.py that no section pays for (each needs its figure)."""
    priced = [trick for module in MODULES.values() for trick in module.PRICED]
    return [trick for trick in speedups.TRICKS if trick not in priced]


def defaults(rows: list[Row]) -> str:
    """The first table: every trick on, the targets."""
    header = ("figure", "dcmreport", "baseline", "ratio", "target", "met?")
    return grid(header, [
        (r.figure, r.ours, r.baseline, f"{r.ratio:.2f}x", r.target, "yes" if r.met else "NO")
        for r in rows if r.mode == "on"
    ])  # fmt: skip


def plain_mode(rows: list[Row]) -> str:
    """The second table: plain mode, with the default's ratio beside each figure."""
    on = {r.pairs_with: r for r in rows if r.mode == "on"}
    header = ("figure", "plain", "baseline", "ratio", "on", "target", "met?")
    return grid(header, [
        (r.figure, r.ours, r.baseline, f"{r.ratio:.2f}x",
         f"{on[r.pairs_with].ratio:.2f}x" if r.pairs_with in on else "",
         r.target, "yes" if r.met else "NO")
        for r in rows if r.mode == "off"
    ])  # fmt: skip


def prices(rows: list[Row]) -> str:
    """The third table: each trick left out, against all on."""
    header = ("trick", "figure", "without it", "all on", "ratio")
    return grid(header, [
        (r.mode.removeprefix("-"), r.figure, r.ours, r.baseline.removeprefix("all on "),
         f"{r.ratio:.2f}x")
        for r in rows if r.mode.startswith("-")
    ])  # fmt: skip


def grid(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    cells = [header, *rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
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
    failed = [f"{trick}: no section pays for this trick (PRICED)" for trick in unpriced()]
    for name in args.only or SECTIONS:
        began = time.perf_counter()
        print(f"{name}...", file=sys.stderr, flush=True)
        try:
            rows += SECTIONS[name](args.quick)
        except BenchError as exc:
            failed.append(f"{name}: {exc}")
        print(f"{name}: {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    print("speedups on (the default)")
    print(defaults(rows))
    print("\nspeedups off (DCMREPORT_SPEEDUPS=off), the default's ratio beside")
    print(plain_mode(rows))
    print("\neach trick left out (DCMREPORT_SPEEDUPS=-NAME) against all on")
    print(prices(rows))
    for failure in failed:
        print(f"FAILED {failure}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
