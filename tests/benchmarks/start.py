"""Whole processes, as a user waits for them: echo, send-report, a TAB completion.

``dcmreport echo`` against ``python -m pynetdicom echoscu``, ``dcmreport
send-report`` against a minimal pynetdicom script sending the same
N-EVENT-REPORT (plain.py scu), both to the same plain SCP; TAB completions
(through bash's protocol) against ``dcmreport --help``: a TAB runs the whole
program and must not feel slower than asking for help. Each dcmreport case
runs in both modes; the tricks of a start (:data:`PRICED`) are each left out
of ``echo`` or of the keyword TAB in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from harness import (
    MODES,
    ON,
    PY,
    BenchError,
    Row,
    Servers,
    compare,
    dcmreport,
    environment,
    interleaved,
    plain,
    price,
    report_file,
    send_report,
    whole_process,
    without,
)

TABS = {
    "TAB: listen --status pro": ("dcmreport listen --status pro", "processing-failure"),
    "TAB: send-report PatientNa": ("dcmreport send-report PatientNa", "PatientName="),
}
KEYWORD_TAB = "TAB: send-report PatientNa"
# The tricks whose price this section measures, and the case each speeds up.
PRICED = {"lean-imports": "echo", "typer-values": "echo", "keyword-completion": KEYWORD_TAB}


def completion_env(line: str, speedups: str | None = ON) -> dict[str, str]:
    """What bash's completion function hands dcmreport for TAB at the end of ``line``."""
    return {
        **environment(speedups),
        "_DCMREPORT_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(line.split()) - 1),
    }


def timed(argv: list[str], speedups: str | None = ON) -> Callable[[], Mapping[str, float]]:
    return lambda: {"s": whole_process(argv, environment(speedups)).wall_s}


def tab(line: str, expected: str, speedups: str | None = ON) -> Callable[[], Mapping[str, float]]:
    """A TAB at the end of ``line``, which must offer ``expected`` (a broken one is fast)."""

    def run() -> Mapping[str, float]:
        done = whole_process(dcmreport(), completion_env(line, speedups))
        if expected not in done.stdout:
            raise BenchError(f"TAB after {line!r} did not offer {expected}: {done.stdout[:200]!r}")
        return {"s": done.wall_s}

    return run


def rows(quick: bool) -> list[Row]:
    with Servers() as servers:
        _, port = servers.plain_scp()
        data = report_file(servers.directory, 1)
        echo = dcmreport("echo", f"ANY-SCP@127.0.0.1:{port}", "--format", "json")
        cases = {
            "echoscu": timed([PY, "-m", "pynetdicom", "echoscu", "127.0.0.1", str(port)]),
            "minimal": timed(plain("scu", str(port), str(data))),
            "--help": timed(dcmreport("--help")),
        }
        for mode, switch in MODES.items():
            cases[f"echo {mode}"] = timed(echo, switch)
            cases[f"send-report {mode}"] = timed(send_report(port, data), switch)
            cases.update({f"{name} {mode}": tab(*line, switch) for name, line in TABS.items()})
        for trick, case in PRICED.items():
            cases[f"{case} -{trick}"] = (
                tab(*TABS[case], without(trick)) if case in TABS else timed(echo, without(trick))
            )
        medians = interleaved(cases, 1 if quick else 15)
    ms = {name: metrics["s"] * 1000 for name, metrics in medians.items()}
    return [
        *(row for mode in MODES for row in (
            compare("echo, whole process", ms[f"echo {mode}"], ms["echoscu"],
                    "pynetdicom echoscu", "ms", at_most=1.1, mode=mode),
            compare("send-report, whole process", ms[f"send-report {mode}"], ms["minimal"],
                    "minimal pynetdicom", "ms", at_most=1.1, mode=mode),
            *(compare(name, ms[f"{name} {mode}"], ms["--help"], "--help", "ms", at_most=1.0,
                      mode=mode) for name in TABS),
        )),
        *(price(trick, f"{case}, whole process" if case == "echo" else case,
                ms[f"{case} -{trick}"], ms[f"{case} on"], "ms")
          for trick, case in PRICED.items()),
    ]  # fmt: skip
