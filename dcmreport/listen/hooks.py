"""``listen --exec``: run a program for each report, and let it decide with ``--exec-decides``.

The program is started without a shell (its command line is split like a
shell would, once, when the listener starts), with the report's fields in
environment variables: received values are never interpolated into a command.
A program that outlives its timeout is killed with its whole process group.

With ``--exec-decides`` its outcome is the answer:

* exit 0: Success; a non-blank stdout is the Event Reply, as JSON (DICOM JSON
  model or ``{"Keyword": value}``);
* any other exit: the first word of stdout is the status (``0x0112``,
  ``no-such-sop-instance``) and the rest of that line its Error Comment; a
  missing, unknown or non-Failure status means 0x0110 Processing failure;
* killed after the timeout: 0x0110 Processing failure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from dcmreport.dicom.records import ReceivedReport
from dcmreport.dicom.status import FAILURE, PROCESSING_FAILURE, category, parse_status


@dataclass(frozen=True)
class HookResult:
    """How the program ended; ``returncode`` is None when it was killed for its timeout."""

    returncode: int | None
    stdout: str


def environment(
    report: ReceivedReport, record: Path | None, dataset: Path | None, status: int | None
) -> dict[str, str]:
    """The report's main fields as DCMREPORT_* variables (NUL bytes dropped)."""
    fields = {
        "DCMREPORT_RECORD": str(record or ""),
        "DCMREPORT_DATASET": str(dataset or ""),
        "DCMREPORT_MESSAGE_ID": "" if report.message_id is None else str(report.message_id),
        "DCMREPORT_SOP_CLASS_UID": report.sop_class_uid,
        "DCMREPORT_SOP_INSTANCE_UID": report.sop_instance_uid,
        "DCMREPORT_EVENT_TYPE_ID": _number(report.event_type_id),
        "DCMREPORT_ACTION_TYPE_ID": _number(report.action_type_id),  # an N-ACTION's
        "DCMREPORT_CALLING_AET": report.association.calling_aet,
        "DCMREPORT_CALLED_AET": report.association.called_aet,
        "DCMREPORT_PEER_ADDRESS": report.association.peer_address,
        "DCMREPORT_STATUS": "" if status is None else f"0x{status:04X}",
    }
    return {**os.environ, **{k: v.replace("\0", "") for k, v in fields.items()}}


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


# The programs running now: a second signal kills them with the associations (kill_all).
_RUNNING: set[subprocess.Popen[str]] = set()
_RUNNING_LOCK = threading.Lock()


def run(argv: list[str], env: dict[str, str], timeout: float) -> HookResult:
    """Run the program to its end, or kill it and its children after ``timeout`` seconds."""
    process = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        stdout, _ = process.communicate(timeout=timeout)
        return HookResult(process.returncode, stdout)
    except subprocess.TimeoutExpired:
        _kill(process)
        process.communicate()
        return HookResult(None, "")
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)


def kill_all() -> None:
    """Kill every program still running, with its children: ``listen`` was interrupted a
    second time, and aborts what is still open (the reports waiting on them are answered
    as a killed program's are, if their association still stands)."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        _kill(process)


def _kill(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def decided_status(result: HookResult) -> tuple[int, str | None]:
    """The status (and Error Comment) a deciding program chose; see the module docstring."""
    if result.returncode is None:
        return PROCESSING_FAILURE, "the --exec program timed out"
    if result.returncode == 0:
        return 0x0000, None
    first_line = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
    word, _, comment = first_line.partition(" ")
    try:
        code = parse_status(word)
    except ValueError:
        return PROCESSING_FAILURE, f"the --exec program exited {result.returncode}"
    if category(code) != FAILURE:
        return PROCESSING_FAILURE, f"the --exec program exited {result.returncode}"
    return code, comment.strip() or None
