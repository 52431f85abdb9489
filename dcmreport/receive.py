"""What ``listen`` does with each report: decide the answer, keep it, then record what happened.

The association layer calls :meth:`ReportHandler.decide` once per report, in
that association's thread, sends the answer it returns, then calls
:meth:`ReportHandler.finish` with whether the answer was written. Data flows
one way: received → decided → answered → recorded → shown.

The order is the guarantee. With ``--output-dir``, the Part 10 file is on
disk, and the ``--exec`` program has run (with a pending record,
``answer_sent: null``, to read), before the answer exists: Success is never
sent for a report that is not kept; if keeping it fails, the answer is
0x0110. The record is written (or completed) once the answer has gone out
or not, so each report stays one self-contained JSON file that a hook or a
person can read, and it never claims an answer that was not sent
(:mod:`dcmreport.store` says what a crash leaves).

By default the answer is the one the standard gives (``validate.standard_status``:
0x0113 for an undefined event type, 0x0112 for another instance than the
class's well-known one ...); ``--answer-findings no`` answers ``--status``
to everything, a permissive sink.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydicom import Dataset

from dcmreport import hooks, validate
from dcmreport.catalog import STORAGE_COMMITMENT_INSTANCE
from dcmreport.dataset import from_json_text
from dcmreport.errors import InputError
from dcmreport.records import Answer, Finding, ReceivedReport, ReportRecord, ResponseStatus
from dcmreport.records_json import record_json
from dcmreport.status import PROCESSING_FAILURE, SUCCESS, WARNING, category
from dcmreport.store import ReportStore

REQUEST_STORAGE_COMMITMENT = 1  # its only Action Type (PS3.4 J.3.2)

LOG = logging.getLogger("dcmreport")


@dataclass(frozen=True)
class Reaction:
    """How to answer reports: the ``listen`` options that shape an answer."""

    status: int = 0x0000
    error_comment: str | None = None
    reply: str = "none"  # none, echo, or "file" with reply_dataset
    reply_dataset: Dataset | None = None
    delay: float = 0.0
    abort_after: int | None = None  # abort instead of answering once N were answered
    output_dir: Path | None = None
    exec_command: str | None = None
    exec_decides: bool = False
    exec_timeout: float = 30.0
    answer_findings: bool = True  # answer what the standard says about the findings


def exec_argv(command: str) -> list[str]:
    """Split ``--exec`` once, like a shell would, so it never goes through a shell.

    The program is looked up now: a missing one is a usage error at start,
    not a 0x0110 for every report.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise InputError(f"--exec: {exc}") from None
    if not argv:
        raise InputError("--exec: empty command")
    if shutil.which(argv[0]) is None:
        raise InputError(
            f"--exec: {argv[0]}: no such executable program",
            "give a path to an executable file, or a program on PATH",
        )
    return argv


class ReportHandler:
    """Decide, keep, then record and show each report; see the module docstring for the order."""

    def __init__(
        self, reaction: Reaction, show: Callable[[ReportRecord, dict[str, Any] | None], None]
    ) -> None:
        self._reaction = reaction
        self._show = show
        self._argv = exec_argv(reaction.exec_command) if reaction.exec_command else None
        self._store = (
            ReportStore.open(reaction.output_dir, records_before_answer=self._argv is not None)
            if reaction.output_dir
            else None
        )
        self._answered = 0
        self._lock = threading.Lock()

    def decide(self, report: ReceivedReport) -> ReportRecord:
        """The record with its answer; its files (and the pending record) are on disk already."""
        if self._reaction.delay:
            time.sleep(self._reaction.delay)
        action = report.kind == "n-action"
        findings = () if action else tuple(validate.report_findings(report))
        if self._abort_now():
            return ReportRecord(
                report, Answer(ResponseStatus(PROCESSING_FAILURE), abort=True), (), findings
            )
        if report.problem:
            failed = Answer(ResponseStatus(report.problem_status, report.problem))
            return ReportRecord(report, failed, (), findings)
        if action:
            planned: Answer | None = Answer(commitment_request_status(report))
        else:
            planned = None if self._reaction.exec_decides else self._planned(report, findings)
        record = ReportRecord(report, planned, (), findings)
        if self._store is not None:
            return self._keep(self._store, record)
        if self._argv is not None:
            return self._hook_in_temporary_directory(record)
        return record

    def finish(self, record: ReportRecord) -> None:
        """Write the kept record with what happened, then show it (the same JSON form)."""
        form = None
        if self._store is not None and record.files:
            form = record_json(record)
            self._store.complete(record, form)
        self._show(record, form)

    def _abort_now(self) -> bool:
        """``--abort-after N``: the first N reports are answered, later ones aborted."""
        with self._lock:
            limit = self._reaction.abort_after
            if limit is not None and self._answered >= limit:
                return True
            self._answered += 1
            return False

    def _planned(self, report: ReceivedReport, findings: tuple[Finding, ...]) -> Answer:
        """The standard's answer to the findings (unless --answer-findings no), else --status."""
        reaction = self._reaction
        standard = validate.standard_status(list(findings)) if reaction.answer_findings else None
        if standard is not None:
            return Answer(standard)
        reply = report.dataset if reaction.reply == "echo" else reaction.reply_dataset
        return _answer(reaction.status, reaction.error_comment, reply)

    def _keep(self, store: ReportStore, record: ReportRecord) -> ReportRecord:
        """Write the data set and the pending record, run the hook; 0x0110 if that fails."""
        report = record.report
        try:
            kept = store.keep(record, record_json)
            decided = self._run_program(kept, store.paths(kept))
        except OSError as exc:
            LOG.error(
                "cannot keep the report (message ID %s) in %s: %s; answering 0x0110",
                report.message_id,
                store.directory,
                exc.strerror or type(exc).__name__,
            )
            failed = Answer(ResponseStatus(PROCESSING_FAILURE, "the receiver could not keep it"))
            return replace(record, answer=failed)
        return replace(kept, answer=decided or kept.answer)

    def _hook_in_temporary_directory(self, record: ReportRecord) -> ReportRecord:
        """``--exec`` without ``--output-dir``: the program's files are removed once it has run."""
        with tempfile.TemporaryDirectory(prefix="dcmreport-") as directory:
            store = ReportStore.open(Path(directory), records_before_answer=True)
            decided = self._keep(store, record)
        return replace(decided, files=())

    def _run_program(self, record: ReportRecord, paths: tuple[Path, Path | None]) -> Answer | None:
        """Run ``--exec``; with ``--exec-decides`` its outcome is the answer (else None)."""
        if self._argv is None:
            return None
        report, planned = record.report, record.answer
        record_path, dataset = paths
        env = hooks.environment(
            report, record_path, dataset, planned.status.code if planned else None
        )
        started = time.monotonic()
        result = hooks.run(self._argv, env, self._reaction.exec_timeout)
        if result.returncode is None:
            LOG.error(
                "--exec program killed after %.1f s (message ID %s)",
                time.monotonic() - started,
                report.message_id,
            )
        elif result.returncode != 0 and not self._reaction.exec_decides:
            LOG.warning(
                "--exec program exited %d (message ID %s)", result.returncode, report.message_id
            )
        if not self._reaction.exec_decides:
            return None
        code, comment = hooks.decided_status(result)
        reply = None
        if code == 0x0000 and result.stdout.strip():
            try:
                reply = from_json_text(result.stdout, "--exec program's stdout")
            except InputError as exc:
                return _answer(PROCESSING_FAILURE, str(exc)[:64], None)
        return _answer(code, comment, reply)


def commitment_request_status(request: ReceivedReport) -> ResponseStatus:
    """The N-ACTION-RSP status of a storage commitment request (PS3.4 J.3.2, PS3.7 10.1.4.1.10).

    Success only acknowledges the request: the result follows as an N-EVENT-REPORT.
    """
    if request.event_type_id != REQUEST_STORAGE_COMMITMENT:
        return ResponseStatus(0x0123, "storage commitment has Action Type 1 only")
    if request.sop_instance_uid != STORAGE_COMMITMENT_INSTANCE:
        return ResponseStatus(0x0112, "not the well-known storage commitment instance")
    ds = request.dataset if request.dataset is not None else Dataset()
    if not ds.get("TransactionUID") or not ds.get("ReferencedSOPSequence"):
        return ResponseStatus(0x0115, "no Transaction UID or Referenced SOP Sequence")
    return ResponseStatus(0x0000)


def _answer(status: int, error_comment: str | None, reply: Dataset | None) -> Answer:
    """An Event Reply only travels with Success or Warning (PS3.7 10.1.1.1.7)."""
    keep_reply = category(status) in (SUCCESS, WARNING)
    return Answer(ResponseStatus(status, error_comment), reply if keep_reply else None)
