"""Rendering: one renderer per output format, each building only the form it prints.

:func:`make_renderer` picks :class:`JsonRenderer` (one JSON object per line,
forms from :mod:`dcmreport.output.json_forms`) or the rich text renderer in
:mod:`dcmreport.output.text`. This module imports no rich: rich is imported
only when text is chosen, so ``--format json`` (what scripts and CI use) does
not pay for it. Neither renderer looks at the terminal (the CLI decides
``--format auto``).

Both are called from listener threads: each record is built outside the lock
and written under it in one flushed write, so records never interleave. The
text renderer hands ``listen``'s reports to a view drawn by a thread of its
own (:mod:`dcmreport.output.view`), so that a terminal never holds an answer.
Notes and warnings go to stderr as whole lines, never wrapped mid-line.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from dcmreport.output.json_forms import (
    association_json,
    commit_json,
    commitment_result_json,
    echo_json,
    peer_check_json,
    record_json,
    response_json,
)

if TYPE_CHECKING:
    from dcmreport.dicom.records import (
        AssociationInfo,
        CommitmentResultRecord,
        CommitResult,
        EchoResponse,
        PeerCheck,
        ReportRecord,
        ReportResponse,
        Result,
        Summary,
    )
    from dcmreport.dicom.ups import ActionResponse, EventDelivery


class Renderer(Protocol):
    """What the commands call to show results (stdout) and diagnostics (stderr)."""

    def echo(self, rsp: EchoResponse) -> None: ...

    def report_response(self, rsp: ReportResponse) -> None:
        """The response to ``send-report``; its findings go to stderr first, a line each."""

    def report_received(self, record: ReportRecord, form: dict[str, Any] | None = None) -> None:
        """A received report; ``form`` is its JSON form when the caller has built it already
        (``--output-dir`` keeps the same object), so a large data set is converted once."""

    def batch_started(self, total: int) -> None:
        """A batch of ``total`` reports is about to be sent (the terminal's progress bar)."""

    def batch_association(self, number: int, info: AssociationInfo) -> None:
        """A batch opened its ``number``-th association (2 and more: after the peer ended one)."""

    def batch_result(self, result: Result) -> None:
        """One answer of a batch: a JSON line, or a step of the progress bar."""

    def batch_summary(self, summary: Summary) -> None:
        """The end of a batch: what was sent and answered, how fast."""

    def commit_result(self, result: CommitResult) -> None:
        """One transaction of ``commit``: the N-ACTION's status and the result, if it came."""

    def commitment_result(self, result: CommitmentResultRecord) -> None:
        """A storage commitment result ``listen`` sent, or gave up sending."""

    def peers(self, checks: list[PeerCheck]) -> None:
        """The named peers and, if they were checked, how each answered."""

    def subscription_response(self, rsp: ActionResponse, explanation: str | None) -> None:
        """``watch``: a UPS subscription's N-ACTION-RSP, and what a Warning or Failure means."""

    def event_delivery(self, delivery: EventDelivery) -> None:
        """``listen --ups``: what became of one event for one subscriber."""

    def note(self, message: str) -> None:
        """A progress line on stderr (e.g. where the listener listens); none with -q."""

    def warn(self, message: str) -> None:
        """A warning line on stderr; none with -q."""

    @property
    def full(self) -> bool:
        """Whether long lists are shown whole: always in JSON, in text with --full."""

    def close(self) -> None:
        """Everything queued is shown (the text view draws ``listen``'s reports in a thread)."""


def make_renderer(fmt: str, quiet: bool = False, full: bool = False) -> Renderer:
    """The renderer for ``fmt`` (``json`` or ``text``) on stdout and stderr.

    ``full`` makes the text view show every sequence item and whole values
    (``--full``); JSON is always complete.
    """
    if fmt == "json":
        return JsonRenderer(sys.stdout, sys.stderr, quiet)
    from rich.console import Console

    from dcmreport.output.text import TextRenderer

    return TextRenderer(Console(), Console(stderr=True), quiet, full)


class JsonRenderer:
    """One JSON object per line on ``out``; plain lines on ``err``."""

    def __init__(self, out: TextIO, err: TextIO, quiet: bool = False) -> None:
        self._out = out
        self._err = err
        self._quiet = quiet
        self._lock = threading.Lock()

    def _write(self, stream: TextIO, line: str) -> None:
        with self._lock:
            stream.write(line + "\n")
            stream.flush()

    def _emit(self, form: dict[str, Any]) -> None:
        self._write(self._out, json.dumps(form, default=str))

    def echo(self, rsp: EchoResponse) -> None:
        self._emit(echo_json(rsp))

    def report_response(self, rsp: ReportResponse) -> None:
        for finding in rsp.findings:
            self.warn(str(finding))
        self._emit(response_json(rsp))

    def report_received(self, record: ReportRecord, form: dict[str, Any] | None = None) -> None:
        self._emit(form if form is not None else record_json(record))

    def batch_started(self, total: int) -> None:
        pass  # a script counts the lines

    def batch_association(self, number: int, info: AssociationInfo) -> None:
        self._emit({"kind": "association", "association": number, **association_json(info)})

    def batch_result(self, result: Result) -> None:
        from dcmreport.output.json_forms import result_json

        for finding in result.response.findings:
            self.warn(f"message ID {result.response.request.message_id}: {finding}")
        self._emit(result_json(result))

    def batch_summary(self, summary: Summary) -> None:
        from dcmreport.output.json_forms import summary_json

        self._emit(summary_json(summary))

    def commit_result(self, result: CommitResult) -> None:
        self._emit(commit_json(result))

    def commitment_result(self, result: CommitmentResultRecord) -> None:
        self._emit(commitment_result_json(result))

    def peers(self, checks: list[PeerCheck]) -> None:
        for check in checks:
            self._emit(peer_check_json(check))

    def subscription_response(self, rsp: ActionResponse, explanation: str | None) -> None:
        from dcmreport.output.json_forms import subscription_response_json

        self._emit(subscription_response_json(rsp, explanation))

    def event_delivery(self, delivery: EventDelivery) -> None:
        from dcmreport.output.json_forms import event_delivery_json

        self._emit(event_delivery_json(delivery))

    def note(self, message: str) -> None:
        if not self._quiet:
            self._write(self._err, message)

    def warn(self, message: str) -> None:
        if not self._quiet:
            self._write(self._err, f"warning: {message}")

    @property
    def full(self) -> bool:
        return True  # JSON is always complete

    def close(self) -> None:
        pass  # every line is written when it comes
