"""Whole processes, as a user waits for them: echo, send-report, a TAB completion.

``dcmreport echo`` against ``python -m pynetdicom echoscu``, ``dcmreport
send-report`` against a minimal pynetdicom script sending the same
N-EVENT-REPORT (plain.py scu), both to the same plain SCP; TAB completions
(through bash's protocol) against ``dcmreport --help``: a TAB runs the whole
program and must not feel slower than asking for help.
"""

from __future__ import annotations

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


def tab(line: str, expected: str) -> dict[str, float]:
    done = whole_process(dcmreport(), completion_env(line))
    if expected not in done.stdout:
        raise BenchError(f"TAB after {line!r} did not offer {expected}: {done.stdout[:200]!r}")
    return {"s": done.wall_s}


def rows(quick: bool) -> list[Row]:
    with Servers() as servers:
        _, port = servers.plain_scp()
        data = str(report_file(servers.directory, 1))
        commands = {
            "dcmreport echo": dcmreport("echo", f"ANY-SCP@127.0.0.1:{port}", "--format", "json"),
            "echoscu": [PY, "-m", "pynetdicom", "echoscu", "127.0.0.1", str(port)],
            "dcmreport send-report": dcmreport(
                "send-report",
                f"ANY-SCP@127.0.0.1:{port}",
                "--class",
                "storage-commitment",
                "--event",
                "1",
                "--data",
                data,
                "--format",
                "json",
            ),
            "minimal script": plain("scu", str(port), data),
            "--help": dcmreport("--help"),
        }
        cases = {
            name: (lambda argv=argv: {"s": whole_process(argv).wall_s})
            for name, argv in commands.items()
        }
        cases.update({name: (lambda t=t: tab(*t)) for name, t in TABS.items()})
        s = {
            name: medians["s"] * 1000
            for name, medians in interleaved(cases, 1 if quick else 15).items()
        }
    return [
        compare(
            "echo, whole process",
            s["dcmreport echo"],
            s["echoscu"],
            "pynetdicom echoscu",
            "ms",
            at_most=1.0,
        ),
        compare(
            "send-report, whole process",
            s["dcmreport send-report"],
            s["minimal script"],
            "minimal pynetdicom",
            "ms",
            at_most=1.1,
        ),
        *(compare(name, s[name], s["--help"], "--help", "ms", at_most=1.0) for name in TABS),
    ]
