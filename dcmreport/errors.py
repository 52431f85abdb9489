"""Exit codes and the errors that carry them.

Every exit code dcmreport can return is a member of :class:`ExitCode`; every
expected failure is a :class:`DcmreportError` subclass that names its code. The
CLI turns these into a one-line message and the exit status at a single
boundary (``dcmreport.cli.app.run``), so no other module decides how the process
ends. This module imports nothing heavy: ``--help`` lists the codes from here,
each command only those it can return (:data:`COMMAND_EXIT_CODES`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit statuses, stable for shell scripts."""

    OK = 0
    """Success: the association worked and the peer answered with a non-Failure status."""
    ERROR = 1
    """An unexpected error (a bug, or the system failed us); run with -d for the traceback."""
    USAGE = 2
    """Bad option or input: a malformed UID, JSON, keyword, value, file or settings file."""
    NO_ASSOCIATION = 3
    """No association: refused, unreachable, rejected, aborted, or a timeout."""
    FAILURE_STATUS = 4
    """The peer answered with a Failure status."""
    NO_REPORT = 5
    """``--timeout`` passed before the reports waited for came (listen, commit)."""
    COMMIT_FAILURES = 6
    """``commit``: the storage commitment result says some instances were not committed."""
    BROKEN_ANSWER = 7
    """The peer's answer breaks the standard: its findings are shown (``--accept-findings``
    exits by the status alone)."""
    INTERRUPTED = 130
    """Interrupted by Ctrl-C (SIGINT)."""


EXIT_CODE_HELP = {
    ExitCode.OK: "success",
    ExitCode.ERROR: "unexpected error",
    ExitCode.USAGE: "usage or bad input (option, UID, JSON, keyword, file)",
    ExitCode.NO_ASSOCIATION: "no association (refused, unreachable, rejected, aborted, timeout)",
    ExitCode.FAILURE_STATUS: "the peer answered with a Failure status",
    ExitCode.NO_REPORT: "no report within --timeout (listen: --count reports; commit: the result)",
    ExitCode.COMMIT_FAILURES: "the storage commitment result says failures exist",
    ExitCode.BROKEN_ANSWER: "the peer's answer breaks the standard (its findings are shown)",
    ExitCode.INTERRUPTED: "interrupted",
}

_CALLER_EXIT_CODES = (
    ExitCode.OK,
    ExitCode.ERROR,
    ExitCode.USAGE,
    ExitCode.NO_ASSOCIATION,
    ExitCode.FAILURE_STATUS,
    ExitCode.INTERRUPTED,
)
COMMAND_EXIT_CODES: dict[str, tuple[ExitCode, ...]] = {
    "echo": _CALLER_EXIT_CODES,
    "send-report": (*_CALLER_EXIT_CODES[:-1], ExitCode.BROKEN_ANSWER, ExitCode.INTERRUPTED),
    # peers --check: exit 3 when a peer did not answer its C-ECHO.
    "peers": (
        ExitCode.OK,
        ExitCode.ERROR,
        ExitCode.USAGE,
        ExitCode.NO_ASSOCIATION,
        ExitCode.INTERRUPTED,
    ),
    "samples": (ExitCode.OK, ExitCode.ERROR, ExitCode.USAGE),
    # A listener opens no association (a port in use is a usage error) and answers
    # with whatever status it was told to: it never exits 3 or 4.
    "listen": (
        ExitCode.OK,
        ExitCode.ERROR,
        ExitCode.USAGE,
        ExitCode.NO_REPORT,
        ExitCode.INTERRUPTED,
    ),
    # commit: 4 when the N-ACTION is refused, 5 without a result, 6 when it lists failures,
    # 7 when the result (or the N-ACTION-RSP) breaks the standard.
    "commit": (
        *_CALLER_EXIT_CODES[:-1],
        ExitCode.NO_REPORT,
        ExitCode.COMMIT_FAILURES,
        ExitCode.BROKEN_ANSWER,
        ExitCode.INTERRUPTED,
    ),
    # watch: 4 when the subscription is refused, 5 on --timeout, 7 when an event broke
    # the standard.
    "watch": (
        *_CALLER_EXIT_CODES[:-1],
        ExitCode.NO_REPORT,
        ExitCode.BROKEN_ANSWER,
        ExitCode.INTERRUPTED,
    ),
}


class DcmreportError(Exception):
    """An expected failure, shown to the user as one line and an exit code."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class InputError(DcmreportError):
    """The user gave something we cannot use (option value, JSON, keyword, file)."""

    exit_code = ExitCode.USAGE


class AssociationError(DcmreportError):
    """No usable association: refused, unreachable, rejected, aborted or timed out."""

    exit_code = ExitCode.NO_ASSOCIATION


class FailureStatusError(DcmreportError):
    """The peer refused what we asked with a Failure status (``watch``'s subscription)."""

    exit_code = ExitCode.FAILURE_STATUS


class ListenTimeoutError(DcmreportError):
    """``listen --timeout`` passed before enough reports were answered."""

    exit_code = ExitCode.NO_REPORT
