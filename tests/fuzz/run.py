"""The long hostile-peer run: every case family against one ``dcmreport listen``, with checks.

    python tests/fuzz/run.py [--mutations 10000] [--random-pdus 500] [--minutes 30]
                             [--seed 0] [--trickle-seconds 120] [--listen-arg=ARG ...]
                             [--steps named,random-pdu,mutation,trickle,idle,memory]
                             [--memory-peers 10] [--memory-size 50000000]

Starts ``dcmreport listen --port 0 --bind 127.0.0.1 --format json --output-dir
TMP`` (plus each ``--listen-arg``), then runs, in order: the named cases
(bombs, 4 GB headers, fragments over the data set limit, malformed DIMSE, odd
negotiations), ``--random-pdus`` seeded random PDU cases, ``--mutations``
seeded mutations of a valid association + report + release, two trickling
peers (1 byte every 0.5 s, before and after associating) held at most
``--trickle-seconds``, idle floods: 12 then 100 connections from 127.0.0.1
that send nothing, while a legitimate peer from 127.0.0.2 sends a report
(retrying a refusal) until it is answered, and last ``--memory-peers`` reports
of ``--memory-size`` bytes at once against the listener's ``--memory-budget``.
``--steps`` runs only some of these (``--steps idle`` measures the floods
alone). After every case a well-formed peer must get Success; a health check
refused 2/3/2 is a slot still held by a peer that has gone. The whole run
stops at ``--minutes`` whatever the counts.

It prints one line per family, then the figures, as text and as one JSON line:
cases per family, crashes (the listener exited), hangs (a well-formed peer got
no answer in 10 s), slots held (health checks refused 2/3/2), tracebacks on
the listener's stderr, reports lost (answered Success to a fuzz peer but not
on disk as one ``*.json`` record with ``answer_sent`` true), temporary files
left, peak RSS of the listener, how long each trickling peer held its slot,
how long the legitimate peer waited beside each idle flood (and how often it
was refused meanwhile), and for the memory case how the reports were answered
(Success or 0x0213), the peak RSS over what the listener held before, and how
long a small report then took. Exit 1 when there was a crash, a hang or a lost
report. Only loopback is used: 127.0.0.1, and 127.0.0.2 for the peer beside a
flood.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "peers"))

import hostile as h  # noqa: E402
from helpers import Listener  # noqa: E402

HOST = "127.0.0.1"


@dataclass
class Figures:
    cases: Counter[str] = field(default_factory=Counter)
    crashes: int = 0
    hangs: list[str] = field(default_factory=list)
    slots_held: int = 0
    tracebacks: int = 0
    lost: list[str] = field(default_factory=list)
    temporary_left: int = 0
    peak_rss_mb: float = 0.0
    answers: Counter[str] = field(default_factory=Counter)  # per family: how each case ended
    trickle_held_s: dict[str, float] = field(default_factory=dict)
    idle_waited_s: dict[str, float] = field(default_factory=dict)  # per flood: peer's wait
    idle_refusals: dict[str, int] = field(default_factory=dict)  # per flood: refused meanwhile
    # large reports at once against --memory-budget: answers, peak RSS over idle, and
    # how long a small report then took
    memory: dict[str, object] = field(default_factory=dict)


class Run:
    """One listener, its output directory, and the checks made after each case."""

    def __init__(self, directory: Path, listen_args: list[str], deadline: float) -> None:
        self.directory = directory
        self.listener = Listener("--output-dir", str(directory), *listen_args)
        self.port = self.listener.port
        self.deadline = deadline
        self.figures = Figures()
        self.successes: list[str] = []
        self.checks = 0

    def over(self) -> bool:
        return time.monotonic() > self.deadline or self.listener.proc.poll() is not None

    def case(self, family: str, run_case: Callable[[], h.Outcome]) -> None:
        """Run one case, note how it ended, then check the listener."""
        try:
            outcome = run_case()
            ended = "closed" if outcome.closed else "open at deadline" if outcome.timed_out else ""
            self.figures.answers[f"{family}: {_kinds(outcome)} {ended}".strip()] += 1
            self.successes += outcome.successes()
        except OSError as exc:
            self.figures.answers[f"{family}: {type(exc).__name__}"] += 1
        self.figures.cases[family] += 1
        self.check(family)

    def check(self, family: str, peak: bool = True) -> None:
        """A well-formed peer must get Success; ``peak``: count the listener's peak RSS."""
        if self.listener.proc.poll() is not None:
            self.figures.crashes += 1
            return
        self.checks += 1
        instance = f"{h.INSTANCE_ROOT}.3.{self.checks}"
        try:
            outcome = h.well_formed_report(HOST, self.port, instance, timeout=10.0)
        except OSError as exc:
            self.figures.hangs.append(f"{family} #{self.figures.cases[family]}: {exc}")
            return
        if outcome.reject == (2, 3, 2):
            self.figures.slots_held += 1
        elif outcome.statuses != [h.SUCCESS]:
            self.figures.hangs.append(f"{family} #{self.figures.cases[family]}: {outcome}")
        else:
            self.successes.append(instance)
        if peak:
            self.figures.peak_rss_mb = max(
                self.figures.peak_rss_mb, _rss_mb(self.listener.proc.pid)
            )

    def finish(self) -> Figures:
        """Stop the listener, then count tracebacks, lost reports and temporary files."""
        self.listener.finish(timeout=30)
        self.figures.tracebacks = sum("Traceback" in x for x in self.listener.stderr)
        kept = set()
        for path in self.directory.glob("*.json"):
            record = json.loads(path.read_text())
            if record["answer_sent"] is True:
                kept.add(record["sop_instance_uid"])
        self.figures.lost = sorted(set(self.successes) - kept)
        self.figures.temporary_left = len(list(self.directory.glob(".*.tmp")))
        return self.figures


def _kinds(outcome: h.Outcome) -> str:
    names = {1: "RQ", 2: "AC", 3: "RJ", 4: "P-DATA", 5: "RL-RQ", 6: "RL-RP", 7: "ABORT"}
    statuses = ",".join(f"{s:#06x}" for s in outcome.statuses)
    return "+".join(names.get(k, hex(k)) for k in outcome.pdus) + (
        f"[{statuses}]" if statuses else ""
    )


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def named_cases(run: Run) -> None:
    """The cases from the issue, once each."""
    port = run.port
    cases: list[tuple[str, Callable[[], h.Outcome]]] = [
        ("header", lambda: h.header_only(HOST, port, 1, 0xFFFFFFFF)),
        ("header", lambda: h.header_only(HOST, port, 4, 0xFFFFFFFF)),
        ("header", lambda: h.header_only(HOST, port, 1, 256 << 20)),
        ("bomb", lambda: _report(port, h.nested_sequences(300), h.EXPLICIT, 300)),
        ("bomb", lambda: _report(port, h.deflated_zeros(128 << 20), h.DEFLATED, 128)),
        ("bomb", lambda: h.fragments_until_refused(HOST, port, 16000, 256 << 20)[0]),
        ("bomb", lambda: _report(port, h.many_elements(990_000), h.EXPLICIT, 990)),
    ]
    cases += [("dimse", _dimse(port, name, n)) for n, name in enumerate(h.DIMSE_DEFECTS, 100)]
    cases += [("negotiation", _negotiate(port, cx)) for cx in h.NEGOTIATION_CASES.values()]
    for family, run_case in cases:
        if run.over():
            return
        run.case(family, run_case)


def _report(port: int, dataset: bytes, ts: str, n: int) -> h.Outcome:
    fields = h.report_fields(message_id=n, instance=f"{h.INSTANCE_ROOT}.4.{n}")
    return h.report_case(HOST, port, fields, dataset, ts, timeout=120.0)


def _dimse(port: int, name: str, n: int) -> Callable[[], h.Outcome]:
    return lambda: h.dimse_defect(HOST, port, name, n)


def _negotiate(port: int, contexts: list[bytes]) -> Callable[[], h.Outcome]:
    return lambda: h.negotiation(HOST, port, contexts, 3.0)


def seeded(run: Run, family: str, count: int, seed: int) -> None:
    for n in range(seed, seed + count):
        if run.over():
            return
        if family == "mutation":
            run.case(family, lambda n=n: h.mutation_case(HOST, run.port, n, timeout=0.5))  # type: ignore[misc]
        else:
            rng = random.Random(n)
            run.case(family, lambda rng=rng: h.random_pdus(HOST, run.port, rng, timeout=0.5))  # type: ignore[misc]


def trickling(run: Run, limit: float) -> None:
    """How long a peer sending 1 byte every 0.5 s holds its slot, before and after associating."""
    rq = h.associate_rq([h.presentation_context(1, h.REPORT_CLASS, [h.EXPLICIT])])
    before = h.trickle(HOST, run.port, rq, 0.5, limit)
    run.figures.trickle_held_s["before associating"] = round(before.elapsed, 1)
    # associated, then an endless command: P-DATA PDUs of one 1-byte command fragment each
    endless = h.p_data(h.pdv(1, 0x01, b"\x00")) * int(limit * 2 / 13 + 2)
    after = _trickle_associated(run.port, endless, limit)
    run.figures.trickle_held_s["after associating"] = round(after.elapsed, 1)
    run.figures.cases["trickle"] += 2
    run.check("trickle")


def _trickle_associated(port: int, endless: bytes, limit: float) -> h.Outcome:
    rq = h.associate_rq([h.presentation_context(1, h.REPORT_CLASS, [h.EXPLICIT])])
    return h.trickle_after(HOST, port, rq, endless, 0.5, limit)


IDLE_FLOODS = (12, 100)
LEGITIMATE_SOURCE = "127.0.0.2"  # another address than the flood's


def idle_floods(run: Run, limit: float = 60.0) -> None:
    """How long a legitimate peer from another address waits beside silent connections."""
    for count in IDLE_FLOODS:
        if run.over():
            return
        instance = f"{h.INSTANCE_ROOT}.5.{count}"
        waited = h.served_beside_idle(HOST, run.port, count, LEGITIMATE_SOURCE, instance, limit)
        key = f"{count} idle"
        run.figures.idle_waited_s[key] = round(waited.seconds, 2) if waited.served else -1.0
        run.figures.idle_refusals[key] = waited.refusals
        if waited.served:
            run.successes.append(instance)
        else:
            run.figures.hangs.append(f"idle #{count}: not served within {limit:g} s")
        run.figures.cases["idle"] += 1
        run.check("idle")


def memory_budget(run: Run, peers: int, size: int) -> None:
    """``peers`` reports of ``size`` bytes at once: Success or 0x0213 each, the listener's
    peak RSS over what it held before (its high-water mark reset first), then a small report."""
    pid = run.listener.proc.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    idle = _rss_mb(pid)
    dataset = h.explicit(0x00420011, b"OB", random.randbytes(size))
    outcomes: list[h.Outcome] = []

    def send(n: int) -> None:
        fields = h.report_fields(message_id=n, instance=f"{h.INSTANCE_ROOT}.6.{n}")
        outcomes.append(h.report_case(HOST, run.port, fields, dataset, timeout=300.0))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(1, peers + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    peak = _rss_mb(pid)
    for outcome in outcomes:
        run.successes += outcome.successes()
    began = time.monotonic()
    run.check("memory", peak=False)  # peak_rss_mb is the other families'; this one is below
    statuses = Counter(",".join(f"{s:#06x}" for s in o.statuses) or "none" for o in outcomes)
    run.figures.memory = {
        "peers": peers,
        "size_mb": round(size / 1e6, 1),
        "answers": dict(statuses),
        "peak_over_idle_mb": round(peak - idle, 1),
        "small_report_after_ms": round((time.monotonic() - began) * 1000),
    }
    run.figures.cases["memory"] += peers


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mutations", type=int, default=10000)
    parser.add_argument("--random-pdus", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trickle-seconds", type=float, default=120.0)
    parser.add_argument("--listen-arg", action="append", default=[])
    parser.add_argument("--steps", default="named,random-pdu,mutation,trickle,idle,memory")
    parser.add_argument("--memory-peers", type=int, default=10)
    parser.add_argument("--memory-size", type=int, default=50_000_000)
    args = parser.parse_args(argv)
    chosen = set(args.steps.split(","))
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dcmreport-fuzz-") as tmp:
        run = Run(Path(tmp), args.listen_arg, start + args.minutes * 60)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("named", lambda: named_cases(run)),
            ("random-pdu", lambda: seeded(run, "random-pdu", args.random_pdus, args.seed)),
            ("mutation", lambda: seeded(run, "mutation", args.mutations, args.seed)),
            ("trickle", lambda: trickling(run, args.trickle_seconds)),
            ("idle", lambda: idle_floods(run)),
            # last: its peak is its own (the listener's high-water mark is reset for it)
            ("memory", lambda: memory_budget(run, args.memory_peers, args.memory_size)),
        ]
        for name, step in steps:
            if name not in chosen:
                continue
            began = time.monotonic()
            step()
            print(f"{name}: done in {time.monotonic() - began:.0f} s", flush=True)
        figures = run.finish()
    report(figures, time.monotonic() - start)
    return 1 if figures.crashes or figures.hangs or figures.lost else 0


def report(figures: Figures, elapsed: float) -> None:
    print(f"\n{sum(figures.cases.values())} cases in {elapsed:.0f} s")
    for family, count in sorted(figures.cases.items()):
        print(f"  {family:12} {count}")
    for key in ("crashes", "slots_held", "tracebacks", "temporary_left", "peak_rss_mb"):
        print(f"  {key:16} {getattr(figures, key)}")
    print(f"  hangs            {len(figures.hangs)} {figures.hangs[:5]}")
    print(f"  reports lost     {len(figures.lost)} {figures.lost[:5]}")
    print(f"  trickle held (s) {figures.trickle_held_s}")
    print(f"  idle: legitimate peer waited (s) {figures.idle_waited_s}, refused")
    print(f"        meanwhile {figures.idle_refusals} (-1: not served)")
    print(f"  memory budget    {figures.memory}")
    print("  how cases ended (most common):")
    for how, count in figures.answers.most_common(25):
        print(f"    {count:6}  {how}")
    print(
        json.dumps({k: dict(v) if isinstance(v, Counter) else v for k, v in vars(figures).items()})
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
