"""Whole-process time of dcmreport commands, as ratios to ``python -c pass`` in the same run.

    python tests/benchmarks/bench_cli.py [RUNS]

Starts one ``dcmreport listen`` on a free port and times, RUNS times each
(median, milliseconds): the interpreter alone, ``import pynetdicom``,
``dcmreport --help``, ``dcmreport echo`` and ``dcmreport send-report``, and
TAB completions through bash's protocol: ``--status`` and a DICOM keyword
(the one that reads pydicom's dictionary). A TAB may cost no more than
``--help``: the last lines give each completion as a ratio to it.

Bytecode is written and used, as an installed dcmreport has it: with
PYTHONDONTWRITEBYTECODE set (as in some sandboxes) an editable install
compiles every dcmreport module on every run, about 90 ms of CPU more for
``echo`` (0.2x pynetdicom's ``echoscu``).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time

PY = sys.executable


# As installed: bytecode written once and used (see the module docstring).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def median_ms(argv: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env or ENV)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(runs: int) -> None:
    listener = subprocess.Popen(
        [PY, "-m", "dcmreport", "listen", "--port", "0", "--bind", "127.0.0.1"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    listener_stderr = listener.stderr
    assert listener_stderr is not None
    line = listener_stderr.readline()
    match = re.search(r":(\d+) as", line)
    if not match:
        listener.kill()
        raise SystemExit(f"no port in {line!r}")
    peer = f"ANY-SCP@127.0.0.1:{match[1]}"
    cases = {
        "python -c pass (baseline)": [PY, "-c", "pass"],
        "python -c 'import pynetdicom'": [PY, "-c", "import pynetdicom"],
        "dcmreport --help": [PY, "-m", "dcmreport", "--help"],
        "dcmreport echo": [PY, "-m", "dcmreport", "echo", peer, "--format", "json"],
        "dcmreport send-report": [
            PY,
            "-m",
            "dcmreport",
            "send-report",
            peer,
            "--event",
            "1",
            "--instance",
            "1.2.3",
            "PatientID=X",
            "--format",
            "json",
        ],
    }
    tabs = {
        "TAB: listen --status pro": "dcmreport listen --status pro",
        "TAB: send-report PatientNa": "dcmreport send-report PatientNa",
    }
    try:
        results = {name: median_ms(argv, runs) for name, argv in cases.items()}
        for name, line in tabs.items():
            results[name] = median_ms([PY, "-m", "dcmreport"], runs, completion_env(line))
    finally:
        listener.terminate()
        listener.wait()
    base = results["python -c pass (baseline)"]
    print(f"{'command':34} {'median ms':>10} {'x baseline':>11}   ({runs} runs)")
    for name, ms in results.items():
        print(f"{name:34} {ms:10.1f} {ms / base:11.2f}")
    help_ms = results["dcmreport --help"]
    for name in tabs:
        print(f"{name:34} {results[name] / help_ms:10.2f} x dcmreport --help")


def completion_env(line: str) -> dict[str, str]:
    """What bash's completion function hands dcmreport for TAB at the end of ``line``."""
    words = line.split()
    return {
        **ENV,
        "_DCMREPORT_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1),
    }


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
