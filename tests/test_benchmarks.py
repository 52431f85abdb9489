"""The benchmark command runs and prints its tables: the cheapest section, once each.

Figures are not judged here (the machine is shared); what is checked is that
the command still measures what it claims: every case ran to completion (a
failed one exits 1), the TAB completions offered what they should, each row
carries a positive ratio and the issue's target, plain mode's figures come
beside the default ones, and every speed trick has a section that pays for it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from dcmreport import speedups

RUN = Path(__file__).parent / "benchmarks" / "run.py"
START_FIGURES = [
    "echo, whole process",
    "send-report, whole process",
    "TAB: listen --status pro",
    "TAB: send-report PatientNa",
]


def tables(stdout: str) -> list[list[list[str]]]:
    """Each table's rows (header and rule left out), as cells."""
    found = []
    for block in stdout.strip().split("\n\n"):
        lines = block.splitlines()
        found.append([[cell.strip() for cell in line.split(" | ")] for line in lines[3:]])
    return found


def test_quick_start_section_prints_its_rows() -> None:
    run = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--only", "start"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    on, off, prices = tables(run.stdout)
    for rows in (on, off):
        assert [row[0] for row in rows] == START_FIGURES
        for row in rows:
            ratio = re.fullmatch(r"(\d+\.\d+)x", row[3])
            assert ratio and float(ratio[1]) > 0, row
            assert row[-2] in ("<= 1.0x", "<= 1.1x"), row
            assert row[-1] in ("yes", "NO"), row
    assert all(re.fullmatch(r"\d+\.\d+x", row[4]) for row in off)  # the default's, beside
    assert [row[0] for row in prices] == ["lean-imports", "typer-values", "keyword-completion"]


def test_every_trick_has_a_figure_that_pays_for_it() -> None:
    run = subprocess.run(
        [sys.executable, "-c", "import run; print(run.unpriced())"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=RUN.parent,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    assert len(speedups.TRICKS) >= 7
