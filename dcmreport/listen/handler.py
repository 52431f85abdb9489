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
(:mod:`dcmreport.listen.store` says what a crash leaves).

A storage commitment request answered Success (``listen --commitment``) is
then decided again, later and in its own thread: :meth:`ReportHandler.commitment_result`
decides the transaction by the policy (``exec``: the ``--exec`` program, run
for an N-ACTION then and only then), keeps the result next to the request
with ``delivered: null``, and :meth:`ReportHandler.result_finished` completes
and shows it once the association layer has delivered it, or given up.

By default the answer is the one the standard gives (``validate.standard_status``:
0x0113 for an undefined event type, 0x0112 for another instance than the
class's well-known one ...); ``--answer-findings no`` answers ``--status``
to everything, a permissive sink. A storage commitment request is judged the
same way (:mod:`dcmreport.dicom.commitment_request`: 0x0115 for a missing or
invalid Transaction UID, an empty Referenced SOP Sequence ...) and a refused
one is never committed; a Transaction UID already used by an earlier request
of this listener is acknowledged and its result fails every instance with
0x0131 (PS3.3 C.14.1.1). With ``--answer-findings no`` its findings are kept
and shown but refuse only what cannot be served at all, and the policy
decides a reused transaction as any other.
"""

from __future__ import annotations

import json
import logging
import shlex
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from pydicom import Dataset

from dcmreport.dicom import commitment, commitment_request, ups, validate
from dcmreport.dicom.dataset import from_json_text
from dcmreport.dicom.records import (
    Answer,
    CommitmentResultRecord,
    Finding,
    MessageKind,
    ReceivedReport,
    ReferencedInstance,
    ReportRecord,
    ResponseStatus,
)
from dcmreport.dicom.status import PROCESSING_FAILURE, SUCCESS, WARNING, category
from dcmreport.errors import InputError
from dcmreport.listen import hooks
from dcmreport.listen.commitment_policy import Policy, PolicyKind, program_decision
from dcmreport.listen.store import ReportStore
from dcmreport.output.json_forms import commitment_result_json, record_json

# Transaction UIDs remembered to tell a reused one (PS3.4 J.3.2.1.2), at most: beyond, the
# oldest is forgotten, so that a peer sending requests for ever cannot fill memory with them.
MAX_TRANSACTIONS = 1_000_000

LOG = logging.getLogger("dcmreport")
UPS_TABLE = "ups-subscriptions.json"  # listen --ups --output-dir: the subscriber table
UPS_INSTANCES = "ups-instances.json"  # and the UPS instances: both read back at start
# A result's ``fallback`` when a reused Transaction UID, not the policy, decided it.
DUPLICATE_FALLBACK = (
    "the Transaction UID was already in use: every instance failed with 0x0131 "
    "Duplicate transaction UID (PS3.3 C.14.1.1)"
)


@dataclass(frozen=True)
class Reaction:
    """How to answer reports: the ``listen`` options that shape an answer."""

    status: int = 0x0000
    error_comment: str | None = None
    echo_reply: bool = False  # the Event Reply is the report's Event Information (--reply echo)
    reply_dataset: Dataset | None = None  # else this one (--reply FILE), else none
    delay: float = 0.0
    abort_after: int | None = None  # abort instead of answering once N were answered
    output_dir: Path | None = None
    exec_command: str | None = None
    exec_decides: bool = False
    exec_timeout: float = 30.0
    answer_findings: bool = True  # answer what the standard says about the findings
    commitment: Policy | None = None  # listen --commitment: how results are decided
    worklist: ups.Worklist | None = None  # listen --ups: the subscriptions, changed by N-ACTIONs
    inline_binary: bool = False  # every value whole in the JSON form, however large


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


class ListenHandler:
    """Decide, keep, then record and show each report; see the module docstring for the order."""

    def __init__(
        self,
        reaction: Reaction,
        show: Callable[[ReportRecord, dict[str, Any] | None], None],
        show_result: Callable[[CommitmentResultRecord], None] = lambda _: None,
    ) -> None:
        self._reaction = reaction
        self._show = show
        self._show_result = show_result
        self._argv = exec_argv(reaction.exec_command) if reaction.exec_command else None
        self._program_commits = (
            reaction.commitment is not None and reaction.commitment.kind is PolicyKind.EXEC
        )
        if self._program_commits and self._argv is None:
            raise InputError(
                "--commitment exec needs --exec PROGRAM: the program that decides each result",
                "e.g. --commitment exec --exec ./decide.py",
            )
        self._store = (
            ReportStore.open(reaction.output_dir, records_before_answer=self._argv is not None)
            if reaction.output_dir
            else None
        )
        self._answered = 0
        self._lock = threading.Lock()
        self._ups_lock = threading.Lock()  # one writer of the UPS files at a time
        if reaction.worklist is not None and self._store is not None:
            self._restore(reaction.worklist, self._store.directory)
        # Transaction UIDs of this run's storage commitment requests, oldest first
        self._transactions: dict[str, None] = {}

    def decide(self, report: ReceivedReport) -> ReportRecord:
        """The record with its answer; its files (and the pending record) are on disk already."""
        if self._reaction.delay:
            time.sleep(self._reaction.delay)
        action = report.kind is MessageKind.N_ACTION
        worklist = self._reaction.worklist
        subscription = action and worklist is not None and ups.is_subscription(report)
        findings = tuple(
            ups.request_findings(report)
            if subscription
            else commitment_request.request_findings(report)
            if action
            else validate.report_findings(report)
        )
        if self._abort_now():
            return self._record(
                report, Answer(ResponseStatus(PROCESSING_FAILURE), abort=True), findings
            )
        if report.problem:
            failed = Answer(ResponseStatus(report.problem_status, report.problem))
            return self._record(report, failed, findings)
        if subscription and worklist is not None:
            planned: Answer | None = Answer(worklist.apply(report).status)
            self.keep_ups(worklist)
        elif action:
            findings = self._with_transaction(report, findings)
            planned = Answer(self._request_status(report, findings))
        else:
            planned = None if self._reaction.exec_decides else self._planned(report, findings)
        record = self._record(report, planned, findings)
        if self._store is not None:
            return self._keep(self._store, record)
        if self._runs_before_answer(report):
            return self._hook_in_temporary_directory(record)
        return record

    def keep_ups(self, worklist: ups.Worklist) -> None:
        """``--output-dir``: the subscriber table and the UPS instances as they are now
        (ups-subscriptions.json, ups-instances.json), read back by the next start."""
        if self._store is None:
            return
        with self._ups_lock:  # a later snapshot never overwritten by an earlier one
            forms = ((UPS_TABLE, worklist.table()), (UPS_INSTANCES, worklist.instances()))
            for name, form in forms:
                try:
                    self._store.write_json(self._store.directory / name, form)
                except OSError as exc:
                    LOG.error("cannot write %s: %s", name, exc.strerror or exc)

    @staticmethod
    def _restore(worklist: ups.Worklist, directory: Path) -> None:
        """A warm start: the subscriptions and instances an earlier run kept in ``directory``."""
        forms: list[object] = []
        for name in (UPS_TABLE, UPS_INSTANCES):
            path = directory / name
            try:
                forms.append(json.loads(path.read_text(encoding="utf-8")))
            except FileNotFoundError:
                forms.append({})
            except (OSError, ValueError) as exc:
                raise InputError(
                    f"--output-dir: cannot read {path}: {exc}",
                    "move it away to start without the subscriptions kept there",
                ) from None
        try:
            worklist.restore(*forms)
        except ValueError as exc:
            raise InputError(
                f"--output-dir: {directory / UPS_TABLE} or {UPS_INSTANCES}: {exc}",
                "move them away to start without the subscriptions kept there",
            ) from None

    def _record(
        self, report: ReceivedReport, answer: Answer | None, findings: tuple[Finding, ...]
    ) -> ReportRecord:
        return ReportRecord(
            report, answer, findings=findings, inline_binary=self._reaction.inline_binary
        )

    def commitment_result(self, request: ReportRecord) -> CommitmentResultRecord:
        """The result of a request answered Success, decided now; kept pending next to it."""
        policy = cast(Policy, self._reaction.commitment)
        ds = request.report.dataset if request.report.dataset is not None else Dataset()
        uid = str(ds.get("TransactionUID", ""))
        requested = commitment.requested_instances(ds)
        committed, failed, fallback = self._decided(request, policy, uid, requested)
        built = commitment.result(uid, committed, failed)
        result = CommitmentResultRecord(
            request=request.report,
            transaction_uid=uid,
            event_type_id=built.event_type_id,
            dataset=built.dataset,
            committed=tuple(
                ReferencedInstance(i.sop_class_uid, i.sop_instance_uid) for i in committed
            ),
            failed=tuple(
                ReferencedInstance(i.sop_class_uid, i.sop_instance_uid, r) for i, r in failed
            ),
            policy=policy.kind.value,
            fallback=fallback,
        )
        return self._keep_result(request, result)

    def _decided(
        self,
        request: ReportRecord,
        policy: Policy,
        uid: str,
        requested: list[commitment.Instance],
    ) -> tuple[list[commitment.Instance], list[tuple[commitment.Instance, int]], str | None]:
        """(committed, failed, why the policy did not decide): a reused Transaction UID
        fails every instance with 0x0131, else the policy (or its program) decides."""
        if self._fails_as_duplicate(request):
            reason = commitment_request.DUPLICATE_TRANSACTION_REASON
            return [], [(i, reason) for i in requested], DUPLICATE_FALLBACK
        if policy.kind is PolicyKind.EXEC:
            return self._program_decides(request, uid, requested)
        committed, failed = policy.decide(requested)
        return committed, failed, None

    def result_finished(self, result: CommitmentResultRecord) -> None:
        """Complete the kept result with its delivery, then show it."""
        if self._store is not None and result.files:
            try:
                self._store.write_json(Path(result.files[0]), commitment_result_json(result))
            except OSError as exc:
                LOG.error("cannot complete %s: %s", result.files[0], exc.strerror or exc)
        self._show_result(result)

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

    def _with_transaction(
        self, request: ReceivedReport, findings: tuple[Finding, ...]
    ) -> tuple[Finding, ...]:
        """The findings and, when an earlier request of this listener (any association)
        used its Transaction UID, :func:`commitment_request.duplicate_transaction`.

        Checked and remembered at once, under the lock: of two requests with
        one UID on two associations, exactly one is the first.
        """
        uid = commitment_request.transaction_uid(request)
        if uid is None:
            return findings
        with self._lock:
            reused = uid in self._transactions
            self._transactions[uid] = None
            if len(self._transactions) > MAX_TRANSACTIONS:
                del self._transactions[next(iter(self._transactions))]
        return (*findings, commitment_request.duplicate_transaction(uid)) if reused else findings

    def _request_status(
        self, request: ReceivedReport, findings: tuple[Finding, ...]
    ) -> ResponseStatus:
        """The N-ACTION-RSP status: the standard's for the findings (PS3.7 10.1.4.1.10),
        else Success, which only acknowledges the request (PS3.4 J.3.2.1.3);
        ``--answer-findings no`` refuses only what cannot be served at all."""
        if self._reaction.answer_findings:
            status = commitment_request.standard_status(findings)
        else:
            status = commitment_request.permissive_status(request)
        if status is not None:
            return status
        if any(f.kind == commitment_request.DUPLICATE_TRANSACTION_UID for f in findings):
            _say_reused(request, self._reaction.answer_findings)
        return ResponseStatus(0x0000)

    def _fails_as_duplicate(self, request: ReportRecord) -> bool:
        """Whether the result fails every instance with 0x0131: the request reused a
        Transaction UID, and the standard's answers are given (not --answer-findings no)."""
        return self._reaction.answer_findings and any(
            f.kind == commitment_request.DUPLICATE_TRANSACTION_UID for f in request.findings
        )

    def _planned(self, report: ReceivedReport, findings: tuple[Finding, ...]) -> Answer:
        """The standard's answer to the findings (unless --answer-findings no), else --status."""
        reaction = self._reaction
        standard = validate.standard_status(list(findings)) if reaction.answer_findings else None
        if standard is not None:
            return Answer(standard)
        reply = report.dataset if reaction.echo_reply else reaction.reply_dataset
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
        return replace(kept, answer=_program_may_decide(kept.answer, decided))

    def _hook_in_temporary_directory(self, record: ReportRecord) -> ReportRecord:
        """``--exec`` without ``--output-dir``: the program's files are removed once it has run."""
        with tempfile.TemporaryDirectory(prefix="dcmreport-") as directory:
            store = ReportStore.open(Path(directory), records_before_answer=True)
            decided = self._keep(store, record)
        return replace(decided, files=(), dataset_offset=None)

    def _runs_before_answer(self, report: ReceivedReport) -> bool:
        """``--exec`` runs for every report before its answer; with ``--commitment exec``
        an N-ACTION's run waits for its result instead (:meth:`_program_decides`)."""
        return self._argv is not None and not (
            self._program_commits and report.kind is MessageKind.N_ACTION
        )

    def _run(self, record: ReportRecord, paths: tuple[Path, Path | None]) -> hooks.HookResult:
        """Run the ``--exec`` program on a kept record; one line if it had to be killed."""
        report, answer = record.report, record.answer
        record_path, dataset = paths
        env = hooks.environment(
            report, record_path, dataset, answer.status.code if answer else None
        )
        started = time.monotonic()
        result = hooks.run(cast(list[str], self._argv), env, self._reaction.exec_timeout)
        if result.returncode is None:
            LOG.error(
                "--exec program killed after %.1f s (message ID %s)",
                time.monotonic() - started,
                report.message_id,
            )
        return result

    def _run_program(self, record: ReportRecord, paths: tuple[Path, Path | None]) -> Answer | None:
        """Run ``--exec``; with ``--exec-decides`` its outcome is the answer (else None)."""
        if not self._runs_before_answer(record.report):
            return None
        report = record.report
        result = self._run(record, paths)
        if not self._reaction.exec_decides:
            if result.returncode:  # None: killed, said already
                LOG.warning(
                    "--exec program exited %d (message ID %s)", result.returncode, report.message_id
                )
            return None
        code, comment = hooks.decided_status(result)
        reply = None
        if code == 0x0000 and result.stdout.strip():
            try:
                reply = from_json_text(result.stdout, "--exec program's stdout")
            except InputError as exc:
                return _answer(PROCESSING_FAILURE, str(exc)[:64], None)
        return _answer(code, comment, reply)

    def _program_decides(
        self, request: ReportRecord, uid: str, requested: list[commitment.Instance]
    ) -> tuple[list[commitment.Instance], list[tuple[commitment.Instance, int]], str | None]:
        """``--commitment exec``: the program's result (:func:`commitment.program_decision`),
        else every instance failed with 0x0110, and one line saying why (the third item)."""
        try:
            if self._store is not None and request.files:
                ran = self._run(request, self._store.paths(request))
            else:
                with tempfile.TemporaryDirectory(prefix="dcmreport-") as directory:
                    store = ReportStore.open(Path(directory), records_before_answer=True)
                    ran = self._run(request, store.paths(store.keep(request, record_json)))
            if ran.returncode is None:
                why = f"it was killed after {self._reaction.exec_timeout:g} s (--exec-timeout)"
            elif ran.returncode != 0:
                why = f"it exited {ran.returncode}"
            else:
                committed, failed = program_decision(ran.stdout, requested)
                return committed, failed, None
        except OSError as exc:
            why = f"cannot keep the request for it: {exc.strerror or type(exc).__name__}"
        except ValueError as exc:
            why = f"its output is not a result: {exc}"
        LOG.error(
            "the --exec program did not decide transaction %s: %s; every instance failed (0x%04X)",
            uid,
            why,
            commitment.DEFAULT_FAILURE_REASON,
        )
        failed_all = [(i, commitment.DEFAULT_FAILURE_REASON) for i in requested]
        return [], failed_all, f"the --exec program did not decide: {why}"

    def _keep_result(
        self, request: ReportRecord, result: CommitmentResultRecord
    ) -> CommitmentResultRecord:
        """With ``--output-dir``: the pending result next to its request (``STEM-result.json``)."""
        if self._store is None or not request.files:
            return result
        record_path = self._store.paths(request)[0]
        path = record_path.with_name(f"{record_path.stem}-result.json")
        kept = replace(result, files=(str(path),))
        try:
            self._store.write_json(path, commitment_result_json(kept), pending=True)
        except OSError as exc:
            LOG.error(
                "cannot keep the result of transaction %s: %s",
                result.transaction_uid,
                exc.strerror or type(exc).__name__,
            )
            return result
        return kept


def _program_may_decide(planned: Answer | None, decided: Answer | None) -> Answer | None:
    """``--exec-decides``: the program's answer, unless a failure was planned already (only
    a storage commitment request has one then; a report's answer is the program's alone):
    the program may refuse a request the standard lets through, never accept one it
    refuses, which would then be committed (PS3.4 J.3.2.1.3)."""
    if planned is not None and category(planned.status.code) not in (SUCCESS, WARNING):
        return planned
    return decided or planned


def _say_reused(request: ReceivedReport, failed: bool) -> None:
    """One line for a request acknowledged with a reused Transaction UID: its result will
    not be the one the requester expects from it."""
    ds = request.dataset if request.dataset is not None else Dataset()
    info = request.association
    LOG.warning(
        "storage commitment request from %s (%s) reuses Transaction UID %s: acknowledged, %s",
        info.calling_aet,
        info.peer_address,
        ds.get("TransactionUID", ""),
        "its result fails every instance with 0x0131 Duplicate transaction UID"
        if failed
        else "decided by the policy all the same (--answer-findings no)",
    )


def _answer(status: int, error_comment: str | None, reply: Dataset | None) -> Answer:
    """An Event Reply only travels with Success or Warning (PS3.7 10.1.1.1.7)."""
    keep_reply = category(status) in (SUCCESS, WARNING)
    return Answer(ResponseStatus(status, error_comment), reply if keep_reply else None)
