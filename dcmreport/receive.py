"""What ``listen`` does with each report: decide the answer, keep it, show it.

The association layer calls :class:`ReportHandler` once per report, in that
association's thread, and sends whatever answer it returns. The order is the
guarantee: the report is written to ``--output-dir`` (and the ``--exec``
program has run) before the answer exists, so Success is never sent for a
report that is not on disk; if keeping it fails, the answer is 0x0110.
"""

from __future__ import annotations

import logging
import shlex
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydicom import Dataset

from dcmreport import hooks, validate
from dcmreport.dataset import from_json_text
from dcmreport.errors import InputError
from dcmreport.records import Answer, ReceivedReport, ReportRecord, ResponseStatus
from dcmreport.render import record_json
from dcmreport.status import PROCESSING_FAILURE, SUCCESS, WARNING, category
from dcmreport.store import ReportStore

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


def exec_argv(command: str) -> list[str]:
    """Split ``--exec`` once, like a shell would, so it never goes through a shell."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise InputError(f"--exec: {exc}") from None
    if not argv:
        raise InputError("--exec: empty command")
    return argv


class ReportHandler:
    """Decide, keep, then show one report; see the module docstring for the order."""

    def __init__(self, reaction: Reaction, show: Callable[[ReportRecord], None]) -> None:
        self._reaction = reaction
        self._show = show
        self._argv = exec_argv(reaction.exec_command) if reaction.exec_command else None
        directory = reaction.output_dir
        if directory is None and self._argv:  # the program still gets files to read
            directory = Path(tempfile.mkdtemp(prefix="dcmreport-"))
        self._store = ReportStore(directory) if directory else None
        self._answered = 0
        self._lock = threading.Lock()

    def __call__(self, report: ReceivedReport) -> Answer:
        if self._reaction.delay:
            time.sleep(self._reaction.delay)
        files: tuple[str, ...] = ()
        if self._abort_now():
            answer = Answer(ResponseStatus(PROCESSING_FAILURE), abort=True)
        elif report.problem:
            answer = Answer(ResponseStatus(PROCESSING_FAILURE, report.problem))
        else:
            answer, files = self._keep_and_decide(report)
        found = tuple(validate.findings(report.sop_class_uid, report.event_type_id, report.dataset))
        self._show(ReportRecord(report, answer, files, found))
        return answer

    def _abort_now(self) -> bool:
        """``--abort-after N``: the first N reports are answered, later ones aborted."""
        with self._lock:
            limit = self._reaction.abort_after
            if limit is not None and self._answered >= limit:
                return True
            self._answered += 1
            return False

    def _static_answer(self, report: ReceivedReport) -> Answer:
        reaction = self._reaction
        reply = report.dataset if reaction.reply == "echo" else reaction.reply_dataset
        return _answer(reaction.status, reaction.error_comment, reply)

    def _keep_and_decide(self, report: ReceivedReport) -> tuple[Answer, tuple[str, ...]]:
        """The answer, and the files the report was kept in (none without a store)."""
        if self._store is None:
            return self._static_answer(report), ()
        store = self._store
        try:
            stem = store.stem(report)
            files = store.files(stem, report)
            dataset_path = store.write_dataset(stem, report)
            planned = None if self._reaction.exec_decides else self._static_answer(report)
            record = record_json(ReportRecord(report, planned, files))
            record_path = store.write_record(stem, record)
            decided = self._run_program(report, record_path, dataset_path, planned)
            if decided is not None:
                record = record_json(ReportRecord(report, decided, files))
                store.write_record(stem, record, replace=True)
            answer = decided or planned or self._static_answer(report)
        except OSError as exc:
            LOG.error(
                "cannot keep the report (message ID %s) in %s: %s; answering 0x0110",
                report.message_id,
                store.directory,
                exc.strerror or type(exc).__name__,
            )
            return Answer(ResponseStatus(PROCESSING_FAILURE, "the receiver could not keep it")), ()
        return answer, files

    def _run_program(
        self, report: ReceivedReport, record: Path, dataset: Path | None, planned: Answer | None
    ) -> Answer | None:
        """Run ``--exec``; with ``--exec-decides`` its outcome is the answer (else None)."""
        if self._argv is None:
            return None
        env = hooks.environment(report, record, dataset, planned.status.code if planned else None)
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


def _answer(status: int, error_comment: str | None, reply: Dataset | None) -> Answer:
    """An Event Reply only travels with Success or Warning (PS3.7 10.1.1.1.7)."""
    keep_reply = category(status) in (SUCCESS, WARNING)
    return Answer(ResponseStatus(status, error_comment), reply if keep_reply else None)
