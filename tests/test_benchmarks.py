"""The benchmark command runs and prints its table: the cheapest section, once each.

Figures are not judged here (the machine is shared); what is checked is that
the command still measures what it claims: every case ran to completion (a
failed one exits 1), the TAB completions offered what they should, and each
row carries a positive ratio and the issue's target.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).parent / "benchmarks" / "run.py"


def test_quick_start_section_prints_its_rows() -> None:
    run = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--only", "start"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [line.split(" | ") for line in run.stdout.splitlines()[2:]]
    assert [row[0].strip() for row in rows] == [
        "echo, whole process",
        "send-report, whole process",
        "TAB: listen --status pro",
        "TAB: send-report PatientNa",
    ]
    for row in rows:
        ratio = re.fullmatch(r"(\d+\.\d+)x", row[3].strip())
        assert ratio and float(ratio[1]) > 0, row
        assert row[4].strip() in ("<= 1.0x", "<= 1.1x"), row
        assert row[5].strip() in ("yes", "NO"), row
