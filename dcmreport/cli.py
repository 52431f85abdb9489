"""The command line: ``dcmreport echo | send-report | listen``.

A table of contents. Each command takes its options as bundles
(:mod:`dcmreport.config`), asks them for the configuration objects, calls one
function of the association layer, hands the result to the renderer and
returns an exit code; :func:`run` is the single boundary that turns errors
into messages and exit codes. How help and usage errors look is
:mod:`dcmreport.manual`'s business. pynetdicom and pydicom are imported inside
the commands, so ``--help`` and completion never pay for them.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from dcmreport import __version__
from dcmreport.bundles import expand
from dcmreport.config import (
    Acceptance,
    AcceptorAssociation,
    Answering,
    ListenTls,
    Output,
    Report,
    ReportOutput,
    RequestorAssociation,
    Tls,
    Verbosity,
    split_arguments,
)
from dcmreport.errors import DcmreportError, ExitCode, ListenTimeoutError
from dcmreport.manual import PROG, Command, Group, error
from dcmreport.options import Count, ListenTimeout, PeerArg, ReportArguments
from dcmreport.status import category

if TYPE_CHECKING:
    from dcmreport.association import Listener
    from dcmreport.render import Renderer


app = typer.Typer(
    name=PROG,
    cls=Group,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,  # a traceback's locals could hold patient data
    context_settings={"help_option_names": ["-h", "--help"]},
)

LOG = logging.getLogger("dcmreport")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dcmreport {__version__}")
        raise typer.Exit()


@app.callback()
@expand
def _main(
    ctx: typer.Context,
    verbosity: Verbosity,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Send and receive DICOM N-EVENT-REPORT messages, and C-ECHO.

    -v, -q and -d may come before the command too, for every command:

      dcmreport -v echo PACS@10.0.0.5:104
    """
    ctx.obj = verbosity  # each command joins it with its own (Verbosity.joined)


# --- the one error boundary ---------------------------------------------------------------


def _setup_logging(verbosity: Verbosity) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname).1s: %(message)s"))
    ours = logging.getLogger("dcmreport")
    ours.handlers[:] = [handler]
    ours.propagate = False
    ours.setLevel(
        logging.DEBUG
        if verbosity.debug
        else logging.INFO
        if verbosity.verbose
        else logging.ERROR
        if verbosity.quiet
        else logging.WARNING
    )
    # The libraries' own logs and warnings quote data set values ("Invalid value for
    # VR DA: '...'"): patient data, so only with -d.
    for library in ("pynetdicom", "pydicom"):
        log = logging.getLogger(library)
        log.handlers[:] = [handler] if verbosity.debug else [logging.NullHandler()]
        log.propagate = False
        log.setLevel(logging.DEBUG if verbosity.debug else logging.CRITICAL)
    if not verbosity.debug:
        warnings.filterwarnings("ignore", module=r"pydicom(\.|$)")


def run(body: Callable[[], ExitCode], verbosity: Verbosity) -> None:
    """Run a command body; map every outcome to its exit code. The only place that exits."""
    _setup_logging(verbosity)
    try:
        code = body()
    except DcmreportError as exc:
        error(str(exc), exc.hint)
        code = exc.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        code = ExitCode.INTERRUPTED
    except Exception as exc:  # a bug: its message may quote patient data, so only with -d
        if verbosity.debug:
            LOG.exception("unexpected error")
        error(
            f"unexpected {type(exc).__name__} at {_where(exc)}",
            None if verbosity.debug else "run again with -d for the message and traceback",
        )
        code = ExitCode.ERROR
    raise typer.Exit(int(code))


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame: enough to report a bug, holds no data."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"


def exit_code_for_status(code: int) -> ExitCode:
    """A Failure (or any non-Success, non-Warning) status is exit 4."""
    return ExitCode.FAILURE_STATUS if category(code) not in ("Success", "Warning") else ExitCode.OK


# --- the commands ----------------------------------------------------------------------------


@app.command(cls=Command)
@expand
def echo(
    ctx: typer.Context,
    association: RequestorAssociation,
    tls: Tls,
    output: Output,
    peer: PeerArg = None,
) -> None:
    """Verify a peer with C-ECHO: show its status and the round-trip time.

    It takes the association options of send-report, so it checks the
    address, AE titles and timeouts a report would use.

    [b]Example[/b]:

      dcmreport echo PACS@10.0.0.5:104
    """
    output = output.joined(ctx.obj)

    def body() -> ExitCode:
        from dcmreport import association as dicom

        settings = association.settings(tls.client_context())
        rsp = dicom.echo(association.peer(peer), settings)
        output.renderer().echo(rsp)
        return exit_code_for_status(rsp.status.code)

    run(body, output)


@app.command("send-report", cls=Command)
@expand
def send_report(
    ctx: typer.Context,
    report: Report,
    association: RequestorAssociation,
    tls: Tls,
    output: ReportOutput,
    arguments: ReportArguments = None,
) -> None:
    """Send an N-EVENT-REPORT and show the response status and Event Reply.

    Warns when the Event Information is not what the standard says for the
    class and event (--strict: exit 2 unsent). Exits 4 when the peer answers
    with a Failure status, so scripts can act on it.

    [b]Examples[/b]:

      dcmreport send-report --event 1 --instance 1.1.1.1.9999.2 PatientID=ID

      dcmreport send-report PACS@10.0.0.5:104 --class storage-commitment \\
          --commit study/ --fail bad.dcm:no-such-object-instance

      dcmreport send-report --class ups-push --event state-report \\
          --instance 1.2.3.4 ProcedureStepState=COMPLETED
    """
    output = output.joined(ctx.obj)

    def body() -> ExitCode:
        from dcmreport import association as dicom

        renderer = output.renderer()
        peer, assignments = split_arguments(arguments or [])
        request = report.request(assignments, renderer)
        settings = association.settings(tls.client_context())
        rsp = dicom.send_report(association.peer(peer), settings, request)
        renderer.report_response(rsp)
        return exit_code_for_status(rsp.status.code)

    run(body, output)


@app.command(cls=Command)
@expand
def listen(
    ctx: typer.Context,
    answering: Answering,
    acceptance: Acceptance,
    association: AcceptorAssociation,
    tls: ListenTls,
    output: ReportOutput,
    count: Count = None,
    timeout: ListenTimeout = None,
) -> None:
    """Receive N-EVENT-REPORTs of any SOP class, show each one, and answer it.

    Accepts every proposed presentation context (storage, private and unknown
    SOP classes too) with the first proposed transfer syntax it supports (with
    -x: the first of yours), answers role selection and C-ECHO. One JSON
    object per report per line when piped. SIGINT/SIGTERM stop it: no new
    associations, reports received are answered (and written), then exit 0.

    [b]Examples[/b]:

      dcmreport listen --port 11112 --aet MODALITY --reply echo

      dcmreport listen --output-dir reports --exec ./notify.sh \\
          --count 1 --timeout 600
    """
    output = output.joined(ctx.obj)

    def body() -> ExitCode:
        from dcmreport.association import Listener
        from dcmreport.receive import ReportHandler

        renderer = output.renderer()
        handler = ReportHandler(answering.reaction(), renderer.report_received)
        settings = association.settings(tls.server_context())
        listener = Listener(settings, acceptance.listen_options(association), handler)
        return _serve(listener, renderer, association.aet, acceptance.bind, count, timeout)

    run(body, output)


# --- listen until done -----------------------------------------------------------------------


class _StopOnSignal:
    """SIGINT/SIGTERM ask the listener to stop gracefully; a second one interrupts."""

    def __init__(self) -> None:
        self.requested = threading.Event()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.requested.is_set():
            raise KeyboardInterrupt
        self.requested.set()

    def install(self) -> None:
        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)


def _serve(
    listener: Listener,
    renderer: Renderer,
    aet: str,
    bind: str,
    count: int | None,
    timeout: float | None,
) -> ExitCode:
    """Run the listener until --count, --timeout or a signal; then stop it gracefully."""
    stop = _StopOnSignal()
    stop.install()
    listener.start()
    renderer.note(f"dcmreport: listening on {bind}:{listener.port} as {aet} (Ctrl-C to stop)")
    try:
        listener.wait(
            lambda: stop.requested.is_set() or (count is not None and listener.answered >= count),
            timeout,
        )
    finally:  # after a signal, peers that keep sending get less time before the abort
        try:
            listener.stop(grace=2.0 if stop.requested.is_set() else 5.0)
        except KeyboardInterrupt:  # a second signal: abort what is open, exit 130
            listener.stop(grace=0)
            raise
    wanted = count or 1
    if timeout is not None and not stop.requested.is_set() and listener.answered < wanted:
        raise ListenTimeoutError(
            f"{listener.answered} of {wanted} report(s) answered within {timeout:g} s"
        )
    return ExitCode.OK


def main() -> None:
    """Console-script entry point (``prog_name`` keeps completion working under ``python -m``)."""
    app(prog_name=PROG)
