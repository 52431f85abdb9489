"""A hostile peer against one ``dcmreport listen`` process: the listener must survive anything.

Every case is sent by hand-built bytes (tests/peers/hostile.py) over 127.0.0.1.
After each case the listener is checked (:func:`assert_healthy`): the process
is alive, a well-formed peer gets an association and Success, the report is on
disk with ``answer_sent`` true, its memory stays under ``RSS_BOUND``, nothing
temporary is left in the output directory, and no traceback was printed.

``RSS_BOUND``: the listener starts at about 55 MB; the worst a peer may make
it hold by design is one data set of the default 64 MiB limit while its
fragments are assembled, and once more when pynetdicom hands it over (or once
inflated): 55 + 2 x 64 = 183 MB, measured at 188 MB. 300 MB leaves room for
allocator slack and catches what used to happen (gigabytes).

The listeners run with the default limits (``--pdu-timeout`` 10 s,
``--first-pdu-timeout`` 5 s before associating, ``--max-dataset-size`` 64 MiB), so the
slow cases take 5 to 10 s. No case
asserts how long anything took: a deadline shows in the listener's A-ABORT
and its log line, a hang in a case's own bound; how fast is the benchmark's
to say. The long run is tests/fuzz/run.py.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import PEERS, Listener, memory

sys.path.insert(0, str(PEERS))
import hostile as h

HOST = "127.0.0.1"
RSS_BOUND = 300 * 1024 * 1024
GRACE = 2.0  # listen's grace period after SIGTERM
MUTATION_CASES = 150  # a fixed number, not a time budget: a loaded machine runs them all, slower


@dataclass
class Served:
    """A listener with its output directory and a count of health checks."""

    listener: Listener
    directory: Path
    checks: int = 0
    peak_rss: int = 0
    seen_stderr: int = 0
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return self.listener.port

    def new_stderr(self) -> list[str]:
        """Lines printed since the last call."""
        lines = self.listener.stderr[self.seen_stderr :]
        self.seen_stderr += len(lines)
        return [line for line in lines if line.strip()]

    def record(self, instance: str, timeout: float = 30.0) -> dict[str, Any] | None:
        """The completed record of ``instance`` on disk (answer_sent known), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in self.directory.glob("*.json"):
                if path.name in self.kept:
                    continue
                with_record = json.loads(path.read_text())
                if with_record["answer_sent"] is not None:
                    self.kept[path.name] = with_record
            found = [r for r in self.kept.values() if r["sop_instance_uid"] == instance]
            if found:
                return found[0]
            time.sleep(0.02)
        return None


def start_served(directory: Path, *args: str) -> Served:
    listener = Listener("--output-dir", str(directory), *args)
    served = Served(listener, directory)
    served.new_stderr()  # the "listening on" line
    return served


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One listener for the named cases, started with the trickling peers in the background."""
    served = start_served(tmp_path_factory.mktemp("hostile"))
    yield served
    served.listener.proc.kill()
    served.listener.proc.wait()


def healthy_problems(served: Served, tracebacks_allowed: bool = False) -> list[str]:
    """Whatever is wrong with the listener right now; empty when healthy."""
    problems = []
    if served.listener.proc.poll() is not None:
        return [f"the listener exited with {served.listener.proc.returncode}"]
    served.checks += 1
    instance = f"{h.INSTANCE_ROOT}.1.{served.checks}"
    outcome = h.well_formed_report(HOST, served.port, instance, timeout=30.0)
    if outcome.statuses != [h.SUCCESS]:
        problems.append(f"a well-formed peer got {outcome}")
    elif (kept := served.record(instance)) is None or kept["answer_sent"] is not True:
        problems.append(f"the report answered Success is not on disk as sent: {kept}")
    peak = memory(served.listener.proc.pid, "VmHWM")
    served.peak_rss = max(served.peak_rss, peak)
    if peak > RSS_BOUND:
        problems.append(f"RSS {peak:,} over {RSS_BOUND:,}")
    if temporary := list(served.directory.glob(".*.tmp")):
        problems.append(f"temporary files left: {temporary}")
    return problems


def assert_healthy(served: Served, lines: int = 0) -> list[str]:
    """Check the listener after a case; returns the stderr lines the case printed, once
    at least ``lines`` of them have come through the pipe (a case that expects its log
    line waits for it rather than for a fixed time)."""
    assert healthy_problems(served) == []
    served.listener.wait_until(lambda: len(served.listener.stderr) - served.seen_stderr >= lines)
    printed = served.new_stderr()
    assert not [x for x in printed if "Traceback" in x], "".join(printed)
    return printed


def test_a_well_formed_peer_gets_success(served: Served) -> None:
    assert_healthy(served)
    assert served.checks == 1


@pytest.mark.parametrize("kind", [h.A_ASSOCIATE_RQ, h.P_DATA_TF, 0x66])
def test_a_header_claiming_4_gb_is_aborted_at_once(served: Served, kind: int) -> None:
    """Refused from the header, not after waiting for a body that never comes (the peer
    would time out with no A-ABORT)."""
    outcome = h.header_only(HOST, served.port, kind, 0xFFFFFFFF, timeout=30.0)
    assert outcome.pdus == [h.A_ABORT] and outcome.closed
    assert outcome.abort == (2, 6), outcome  # the header's length, not the PDU timeout (2, 0)
    lines = assert_healthy(served, lines=1)
    assert len(lines) == 1 and "4,294,967,295 bytes" in lines[0]


def test_a_256_mb_pdu_before_association_is_refused_by_its_header(served: Served) -> None:
    pid = served.listener.proc.pid
    before = memory(pid, "VmHWM")
    outcome = h.exchange(
        HOST, served.port, [h.pdu_header(h.A_ASSOCIATE_RQ, 256 << 20) + bytes(1 << 20)]
    )
    assert outcome.abort == (2, 6) and outcome.closed and not outcome.timed_out
    assert memory(pid, "VmHWM") - before < 16 << 20  # the body was never buffered
    assert len(assert_healthy(served, lines=1)) == 1


def test_256_mb_of_data_set_fragments_are_refused_at_the_data_set_limit(served: Served) -> None:
    outcome, sent = h.fragments_until_refused(HOST, served.port, 16000, 256 << 20, timeout=30)
    assert outcome.abort == (0, 0), outcome
    assert 64 << 20 <= sent < 96 << 20  # refused once over 64 MiB (sends still buffered count)
    assert len(assert_healthy(served, lines=1)) == 1


def _report(served: Served, dataset: bytes, ts: str = h.EXPLICIT, n: int = 1) -> h.Outcome:
    fields = h.report_fields(message_id=n, instance=f"{h.INSTANCE_ROOT}.2.{n}")
    return h.report_case(HOST, served.port, fields, dataset, ts, timeout=10.0)


def test_a_6_kb_report_nested_300_deep_is_answered_with_a_failure(served: Served) -> None:
    bomb = h.nested_sequences(300)
    assert len(bomb) < 6200
    outcome = _report(served, bomb, n=300)
    assert outcome.statuses == [0x0213] and outcome.pdus[-1] == h.A_RELEASE_RP  # limitation
    assert_healthy(served)


def test_a_130_kb_deflated_report_inflating_to_128_mb_is_answered_with_a_failure(
    served: Served,
) -> None:
    bomb = h.deflated_zeros(128 << 20)
    assert len(bomb) < 140_000
    outcome = _report(served, bomb, h.DEFLATED, n=128)
    assert outcome.contexts == {1: (0, h.DEFLATED)}  # proposed and accepted
    assert outcome.statuses == [0x0213] and outcome.pdus[-1] == h.A_RELEASE_RP  # limitation
    assert_healthy(served)


@pytest.mark.parametrize("bomb", ["nested", "deflated"])
def test_a_refused_data_set_is_one_log_line(served: Served, bomb: str) -> None:
    if bomb == "nested":
        _report(served, h.nested_sequences(300), n=301)
    else:
        _report(served, h.deflated_zeros(128 << 20), h.DEFLATED, n=129)
    assert len(assert_healthy(served, lines=1)) == 1


def test_a_report_of_many_small_elements_is_answered(tmp_path: Path) -> None:
    """100,000 empty elements (800 KB, a quarter of the element limit) are decoded and
    answered, however long that takes on this machine: how long is the benchmark's to say."""
    served = start_served(tmp_path)  # its own: the listener works on it after we go
    try:
        fields = h.report_fields(message_id=7, instance=f"{h.INSTANCE_ROOT}.2.100000")
        outcome = h.report_case(HOST, served.port, fields, h.many_elements(100_000), timeout=300)
        assert outcome.statuses == [0x0000], outcome
    finally:
        served.listener.proc.kill()
        served.listener.proc.wait()


# What each missing mandatory element is answered with (dcmreport/dicom/validate.py).
MISSING_ANSWERS = {"no-message-id": 0x0110, "no-instance": 0x0117, "no-event-type": 0x0113}


@pytest.mark.parametrize("defect", sorted(MISSING_ANSWERS))
def test_a_request_missing_a_field_gets_a_failure_response(served: Served, defect: str) -> None:
    outcome = h.dimse_defect(HOST, served.port, defect, 40 + len(defect))
    assert len(outcome.responses) == 1
    response = outcome.responses[0]
    assert h._us(response.get(h.COMMAND_FIELD, b"")) == h.N_EVENT_REPORT_RSP
    assert outcome.statuses and outcome.statuses[0] & 0xF000 in (0xA000, 0xC000, 0x0000)
    assert outcome.statuses[0] not in (0x0000, 0x0001, 0x0107, 0x0116)  # not Success or Warning
    assert outcome.statuses[0] == MISSING_ANSWERS[defect]
    assert_healthy(served)


DIMSE_CRASHES = {
    "no-command-field": "pynetdicom's reactor thread dies (AttributeError CommandField), "
    "traceback on stderr, connection closed without A-ABORT",
    "unknown-command-field": "pynetdicom's reactor thread dies (KeyError 4080), traceback, "
    "connection closed without A-ABORT",
}


@pytest.mark.parametrize("defect", sorted(DIMSE_CRASHES))
def test_a_command_without_a_known_command_field_is_aborted_quietly(
    served: Served, defect: str
) -> None:
    outcome = h.dimse_defect(HOST, served.port, defect, 60)
    assert outcome.abort == (0, 0), outcome
    assert_healthy(served)


def test_an_even_presentation_context_id_is_answered_at_once(served: Served) -> None:
    outcome = h.negotiation(HOST, served.port, h.NEGOTIATION_CASES["even-context-id"], 3.0)
    assert outcome.pdus[:1] == [h.A_ABORT] and outcome.abort == (2, 6)  # invalid PDU parameter
    assert_healthy(served)


def test_a_context_without_a_transfer_syntax_is_refused_quietly(served: Served) -> None:
    outcome = h.negotiation(HOST, served.port, h.NEGOTIATION_CASES["no-transfer-syntax"], 3.0)
    assert outcome.pdus[:1] == [h.A_ASSOCIATE_AC]
    assert all(result == 4 for result, _ in outcome.contexts.values())  # TS not supported
    assert_healthy(served)


def test_one_abstract_syntax_in_two_contexts_accepts_the_first(served: Served) -> None:
    outcome = h.negotiation(HOST, served.port, h.NEGOTIATION_CASES["same-class-twice"], 3.0)
    assert outcome.contexts[1] == (0, h.EXPLICIT)
    assert outcome.contexts[3][0] != 0
    assert_healthy(served)


@pytest.mark.parametrize("name", ["no-context", "empty-abstract", "bad-uid", "ts-only-unknown"])
def test_odd_negotiations_are_answered(served: Served, name: str) -> None:
    outcome = h.negotiation(HOST, served.port, h.NEGOTIATION_CASES[name], 3.0)
    assert outcome.pdus[:1] in ([h.A_ASSOCIATE_AC], [h.A_ASSOCIATE_RJ], [h.A_ABORT])
    assert not outcome.timed_out
    assert_healthy(served)


def _healthy_within(served: Served, seconds: float) -> list[str]:
    """Problems left after retrying for up to ``seconds`` (a bound for a loaded machine)."""
    deadline = time.monotonic() + seconds
    while (problems := healthy_problems(served)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return problems


# Slots held until the ACSE timeout would be freed only after it: far beyond the retries.
SLOW_ACSE = ("--acse-timeout", "600")


def test_ten_connect_and_close_hold_no_slot(tmp_path: Path) -> None:
    served = start_served(tmp_path, "--max-associations", "2", *SLOW_ACSE)
    try:
        for _ in range(10):
            h.connect(HOST, served.port).close()
        assert _healthy_within(served, 60) == []  # the listener sees each close, not a timeout
        assert not [x for x in served.new_stderr() if "Traceback" in x]
    finally:
        served.listener.proc.kill()
        served.listener.proc.wait()


@pytest.mark.parametrize("kind", [h.A_ASSOCIATE_AC, h.P_DATA_TF, h.A_RELEASE_RQ, h.A_RELEASE_RP])
def test_pdus_out_of_turn_before_associating_hold_no_slot(tmp_path: Path, kind: int) -> None:
    """Each is answered with an A-ABORT (PS3.8 Sta2: AA-1) and pynetdicom closes the
    connection itself: the slot is free again at once, not after the 30 s ACSE timeout."""
    served = start_served(tmp_path, "--max-associations", "2", *SLOW_ACSE)
    try:
        for _ in range(6):
            assert h.exchange(HOST, served.port, [h.pdu(kind, bytes(10))], 2.0).pdus == [h.A_ABORT]
        assert _healthy_within(served, 60) == []
        assert not [x for x in served.new_stderr() if "Traceback" in x]
    finally:
        served.listener.proc.kill()
        served.listener.proc.wait()


@pytest.mark.parametrize("associated", [False, True])
def test_an_a_abort_with_an_undefined_source_is_one_line(served: Served, associated: bool) -> None:
    """Source 5 (PS3.8 9.3.8 defines 0 and 2): pynetdicom fails making its primitive, in its
    own thread; the listener answers the invalid PDU with an A-ABORT (2, 6) and one line."""
    first = [h.associate_rq([h.presentation_context(1, h.REPORT_CLASS, [h.EXPLICIT])])]
    steps = [*first[:associated], h.abort_pdu(5, 0)]
    outcome = h.exchange(HOST, served.port, steps, 3.0)
    assert outcome.abort == (2, 6) and not outcome.timed_out, outcome
    lines = assert_healthy(served, lines=1)
    assert [x for x in lines if "undefined source" in x] and not [x for x in lines if "E:" in x]


@pytest.mark.parametrize("associated", [False, True])
def test_an_unrecognised_pdu_is_aborted_with_one_line(served: Served, associated: bool) -> None:
    """PDU type 0x09 (PS3.8 9.3 defines 0x01-0x07): the state machine's A-ABORT (Evt19), and
    one line saying why, on the plain path as on the fast one."""
    first = [h.associate_rq([h.presentation_context(1, h.REPORT_CLASS, [h.EXPLICIT])])]
    outcome = h.exchange(HOST, served.port, [*first[:associated], h.pdu(0x09, bytes(10))], 3.0)
    assert outcome.pdus[-1:] == [h.A_ABORT] and not outcome.timed_out, outcome
    lines = assert_healthy(served, lines=1)
    assert [x for x in lines if "an unrecognised PDU (type 0x09, 10 bytes): aborted" in x], lines


def _hold(port: int, first: bytes, hold: float, into: list[h.Outcome]) -> threading.Thread:
    def run() -> None:
        try:
            into.append(h.silent(HOST, port, first, hold))
        except OSError:  # refused: the listener has stopped
            into.append(h.Outcome(closed=True))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_silent_peers_free_their_slots_within_the_pdu_timeout(tmp_path: Path) -> None:
    """Ten peers send 7 bytes of a 4 GB PDU, ten more 5 bytes of a header, then go silent:
    the listener cuts each one off (its A-ABORT, long before the peers would give up) and a
    legitimate peer gets in. The first-PDU deadline is set beyond the PDU timeout, which is
    what this tests."""
    served = start_served(tmp_path, *SLOW_ACSE, "--first-pdu-timeout", "600")
    try:
        cut: list[h.Outcome] = []
        header = h.pdu_header(1, 0xFFFFFFFF) + b"\x00"
        for thread in [_hold(served.port, header, 5, cut) for _ in range(10)]:
            thread.join(10)
        assert [o.abort for o in cut] == [(2, 6)] * 10  # each refused from its header
        assert healthy_problems(served) == []
        held: list[h.Outcome] = []
        silent = [_hold(served.port, b"\x01\x00\x00\x00\x00", 300, held) for _ in range(10)]
        assert _healthy_within(served, 120) == []
        for thread in silent:
            thread.join(120)
        assert [o.abort for o in held] == [(2, 0)] * 10, held  # cut off by the PDU timeout

        def cut_lines() -> list[str]:
            return [x for x in served.listener.stderr if "did not arrive whole within" in x]

        served.listener.wait_until(lambda: len(cut_lines()) >= 10)  # each logged before its abort
        assert len(cut_lines()) == 10, "".join(served.listener.stderr)
        assert not [x for x in served.listener.stderr if "Traceback" in x]
    finally:
        served.listener.proc.kill()
        served.listener.proc.wait()


def test_sigterm_with_silent_peers_stops_within_the_grace_period(tmp_path: Path) -> None:
    """The peers would stay silent for 5 minutes and the PDU timeout is 10: the listener
    exits 0 while they still wait (its grace period is 2 s; the bound only catches a hang)."""
    served = start_served(tmp_path, "--pdu-timeout", "600", *SLOW_ACSE)
    try:
        more: list[h.Outcome] = []
        threads = [_hold(served.port, b"\x01\x00\x00", 300, more) for _ in range(10)]
        assert served.listener.finish(signal.SIGTERM, timeout=120) == 0
        for thread in threads:
            thread.join(30)
        assert not [x for x in served.listener.stderr if "Traceback" in x]
        assert len(more) == 10 and all(o.closed or o.abort for o in more), more
    finally:
        served.listener.proc.kill()
        served.listener.proc.wait()


# --- trickling peers -----------------------------------------------------------------------


def test_a_peer_trickling_its_a_associate_rq_is_closed_at_the_first_pdu_deadline(
    served: Served,
) -> None:
    """Before associating, --first-pdu-timeout (5 s) comes before --pdu-timeout: the
    connection is closed (there is no association to abort yet), long before its last byte.
    Its warning is one per address per minute, so an earlier case's may have said it."""
    rq = h.associate_rq([h.presentation_context(1, h.REPORT_CLASS, [h.EXPLICIT])])
    outcome = h.trickle(HOST, served.port, rq, 0.5, len(rq) * 0.5 + 30)
    assert outcome.closed and outcome.abort is None, outcome
    assert outcome.elapsed < len(rq) * 0.5, outcome  # long before its last byte
    lines = assert_healthy(served)
    assert all("--first-pdu-timeout" in x for x in lines), lines


# --- the mutation run ----------------------------------------------------------------------


@dataclass
class MutationRun:
    cases: int = 0
    health: list[str] = field(default_factory=list)
    rejected: int = 0  # health checks refused 2/3/2: slots held by closed peers
    tracebacks: int = 0
    lost: list[str] = field(default_factory=list)
    peak_rss: int = 0


@pytest.fixture(scope="module")
def mutation_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MutationRun]:
    """Seeded mutations of a valid association + report + release, each followed by a check."""
    served = start_served(tmp_path_factory.mktemp("mutation"))
    run = MutationRun()
    try:
        for seed in range(MUTATION_CASES):
            outcome = h.mutation_case(HOST, served.port, seed, timeout=0.5)
            run.cases += 1
            run.lost += [i for i in outcome.successes() if not _kept(served, i)]
            problems = healthy_problems(served)
            run.rejected += sum("reject=(2, 3, 2)" in p for p in problems)
            run.health += [f"seed {seed}: {p}" for p in problems if "reject=(2, 3, 2)" not in p]
        time.sleep(0.2)
        run.tracebacks = sum("Traceback" in x for x in served.listener.stderr)
        run.peak_rss = served.peak_rss
        print(f"\nmutation: {run}")
        yield run
    finally:
        served.listener.proc.kill()
        served.listener.proc.wait()


def _kept(served: Served, instance: str) -> bool:
    record = served.record(instance, timeout=30.0)
    return record is not None and record["answer_sent"] is True


def test_mutated_streams_leave_the_listener_alive_bounded_and_answering(
    mutation_run: MutationRun,
) -> None:
    assert mutation_run.health == []
    assert mutation_run.lost == []
    assert mutation_run.peak_rss < RSS_BOUND


def test_mutated_streams_hold_no_slot(mutation_run: MutationRun) -> None:
    assert mutation_run.rejected == 0


def test_mutated_streams_print_no_traceback(mutation_run: MutationRun) -> None:
    assert mutation_run.tracebacks == 0
