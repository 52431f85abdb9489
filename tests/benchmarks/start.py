"""Whole processes, as a user waits for them: echo, send-report, a TAB completion.

``dcmreport echo`` against ``python -m pynetdicom echoscu``, ``dcmreport
send-report`` against a minimal pynetdicom script sending the same
N-EVENT-REPORT (plain.py scu), both to the same plain SCP; TAB completions
(through bash's protocol) against ``dcmreport --help``: a TAB runs the whole
program and must not feel slower than asking for help.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from harness import (
    PY,
    BenchError,
    Row,
    Servers,
    compare,
    dcmreport,
    environment,
    interleaved,
    plain,
    report_file,
    send_report,
    whole_process,
)

TABS = {
    "TAB: listen --status pro": ("dcmreport listen --status pro", "processing-failure"),
    "TAB: send-report PatientNa": ("dcmreport send-report PatientNa", "PatientName="),
}


def completion_env(line: str) -> dict[str, str]:
    """What bash's completion function hands dcmreport for TAB at the end of ``line``."""
    return {
        **environment(),
        "_DCMREPORT_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(line.split()) - 1),
    }


def timed(argv: list[str]) -> Callable[[], Mapping[str, float]]:
    return lambda: {"s": whole_process(argv).wall_s}


def tab(line: str, expected: str) -> Callable[[], Mapping[str, float]]:
    """A TAB at the end of ``line``, which must offer ``expected`` (a broken one is fast)."""

    def run() -> Mapping[str, float]:
        done = whole_process(dcmreport(), completion_env(line))
        if expected not in done.stdout:
            raise BenchError(f"TAB after {line!r} did not offer {expected}: {done.stdout[:200]!r}")
        return {"s": done.wall_s}

    return run


def rows(quick: bool) -> list[Row]:
    with Servers() as servers:
        _, port = servers.plain_scp()
        data = report_file(servers.directory, 1)
        cases = {
            "echo": timed(dcmreport("echo", f"ANY-SCP@127.0.0.1:{port}", "--format", "json")),
            "echoscu": timed([PY, "-m", "pynetdicom", "echoscu", "127.0.0.1", str(port)]),
            "send-report": timed(send_report(port, data)),
            "minimal": timed(plain("scu", str(port), str(data))),
            "--help": timed(dcmreport("--help")),
            **{name: tab(*line) for name, line in TABS.items()},
        }
        medians = interleaved(cases, 1 if quick else 15)
    ms = {name: metrics["s"] * 1000 for name, metrics in medians.items()}
    return [
        compare("echo, whole process", ms["echo"], ms["echoscu"], "pynetdicom echoscu", "ms",
                at_most=1.0),
        compare("send-report, whole process", ms["send-report"], ms["minimal"],
                "minimal pynetdicom", "ms", at_most=1.1),
        *(compare(name, ms[name], ms["--help"], "--help", "ms", at_most=1.0) for name in TABS),
    ]  # fmt: skip
