"""The command line: ``dcmreport echo | send-report | commit | listen | peers``.

A table of contents. Each command takes its options as bundles
(:mod:`dcmreport.cli.bundles`) and declares its few own options and arguments
inline, each with its default; it asks the bundles for the configuration objects, calls one
function of the association layer, hands the result to the renderer and
returns an exit code; :func:`run` is the single boundary that turns errors
into messages and exit codes. How help and usage errors look is
:mod:`dcmreport.cli.manual`'s business. pynetdicom and pydicom are imported inside
the commands, so ``--help`` and completion never pay for them.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dcmreport import __version__, speedups
from dcmreport.cli import completion, precedence, readiness, serve
from dcmreport.cli.bundles.association import AcceptorAssociation, RequestorAssociation
from dcmreport.cli.bundles.commit import ActionInformation, ResultWaiting
from dcmreport.cli.bundles.judging import Judging
from dcmreport.cli.bundles.listen import Acceptance, Answering, Committing
from dcmreport.cli.bundles.output import Output, ReportOutput, Verbosity
from dcmreport.cli.bundles.report import Batching, Report, split_arguments
from dcmreport.cli.bundles.slots import Slots
from dcmreport.cli.bundles.tls import ListenTls, Tls
from dcmreport.cli.bundles.ups import Subscribing, UpsEvents
from dcmreport.cli.expand import expand
from dcmreport.cli.manual import PROG, Group, error
from dcmreport.cli.options import PEER, ConfigPath
from dcmreport.cli.precedence import ConfiguredCommand
from dcmreport.dicom.address import DEFAULT_PEER
from dcmreport.dicom.status import category
from dcmreport.errors import DcmreportError, ExitCode

if TYPE_CHECKING:
    from dcmreport.association.common import Settings
    from dcmreport.dicom.address import Peer
    from dcmreport.dicom.records import CommitResult, Item, ReportResponse, Summary
    from dcmreport.output.render import Renderer


app = typer.Typer(
    name=PROG,
    cls=Group,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,  # a traceback's locals could hold patient data
    context_settings={"help_option_names": ["-h", "--help"]},
)

completion.use_own_scripts()  # what --show-completion bash|zsh and --install-completion give

LOG = logging.getLogger("dcmreport")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dcmreport {__version__}")
        raise typer.Exit()


def _speedups(value: str | None) -> str | None:
    """Set the switch for the process as soon as it is read (the option is eager), so the
    command's own options are converted in the mode asked for."""
    if value is not None:
        try:
            speedups.switch(value)
        except speedups.SwitchError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


def _speedups_modes(incomplete: str) -> list[str]:
    return [mode for mode in ("on", "off") if mode.startswith(incomplete)]


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
    speedups_mode: Annotated[
        str | None,
        typer.Option(
            "--speedups",
            envvar=speedups.ENV,
            show_envvar=True,
            is_eager=True,
            callback=_speedups,
            metavar="on|off",
            show_default=False,
            autocompletion=_speedups_modes,
            help="off: no speed trick, each library's plain public path (for a library "
            "version dcmreport was not verified with, or to rule a trick out). Default: on.",
        ),
    ] = None,
) -> None:
    """Send and receive DICOM N-EVENT-REPORT messages, and C-ECHO.

    -v, -q and -d may come before the command too, for every command:

      dcmreport -v echo PACS@10.0.0.5:104

    --speedups off (or DCMREPORT_SPEEDUPS=off) runs every command without
    dcmreport's speed tricks; -v says which mode runs:

      dcmreport --speedups off -v send-report pacs --event 1 --instance 1.2.3
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
        threading.excepthook = _thread_failed


def _thread_failed(failure: threading.ExceptHookArgs) -> None:
    """A library thread's exception is one line, not a traceback (which may quote data)."""
    if failure.exc_type is SystemExit:
        return
    where = _where(failure.exc_value) if failure.exc_value is not None else "?"
    LOG.error(
        "internal error in a network thread: %s at %s (run with -d for details)",
        failure.exc_type.__name__,
        where,
    )


def run(body: Callable[[], ExitCode], output: Output) -> None:
    """Run a command body; map every outcome to its exit code. The only place that exits.

    With -v it first says which speedups mode runs; with the lean imports on,
    pydicom and pynetdicom, when the body imports them, import without what no
    command uses (:mod:`dcmreport.cli.library_imports`). The settings file's
    error, if any, is raised here (precedence.applied), so it is reported like
    every other; with JSON output a failure is also one JSON object on stdout,
    for the script that reads it.
    """
    _setup_logging(output)
    speedups.report()
    if speedups.enabled("lean-imports"):  # here: the switch is known, pydicom not yet imported
        from dcmreport.cli import library_imports

        library_imports.install()
    try:
        precedence.applied()
        code = body()
    except DcmreportError as exc:
        code = _failed(output, exc.exit_code, str(exc), exc.hint)
    except KeyboardInterrupt:
        code = _failed(output, ExitCode.INTERRUPTED, "interrupted")
    except Exception as exc:  # a bug: its message may quote patient data, so only with -d
        if output.debug:
            LOG.exception("unexpected error")
        hint = None if output.debug else "run again with -d for the message and traceback"
        code = _failed(
            output, ExitCode.ERROR, f"unexpected {type(exc).__name__} at {_where(exc)}", hint
        )
    raise typer.Exit(int(code))


def _failed(output: Output, code: ExitCode, message: str, hint: str | None = None) -> ExitCode:
    error(message, hint)
    if output.json():
        from dcmreport.output.json_forms import failure_json

        sys.stdout.write(json.dumps(failure_json(message, hint, int(code))) + "\n")
        sys.stdout.flush()
    return code


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


def report_exit_code(rsp: ReportResponse, accept_findings: bool) -> ExitCode:
    """7 for an answer that breaks the standard (dicom/judge.py), whatever its status: a status
    from a peer that gets PS3.7 10.1.1 wrong cannot be taken at its word, and a script must not
    read 0 where the standard was broken. --accept-findings: by the status alone."""
    if rsp.findings and not accept_findings:
        return ExitCode.BROKEN_ANSWER
    return exit_code_for_status(rsp.status.code)


def batch_exit_code(summary: Summary, accept_findings: bool) -> ExitCode:
    """3 if the batch stopped early (its counts are partial), then 7 if an answer broke the
    standard (its statuses cannot be taken at their word, as for one report), then 4 if a
    status failed; --accept-findings leaves 7 out."""
    if summary.error:
        return ExitCode.NO_ASSOCIATION
    if summary.with_findings and not accept_findings:
        return ExitCode.BROKEN_ANSWER
    return ExitCode.FAILURE_STATUS if summary.failed else ExitCode.OK


# --- the commands ----------------------------------------------------------------------------


@app.command(cls=ConfiguredCommand)
@expand
def echo(
    ctx: typer.Context,
    association: RequestorAssociation,
    tls: Tls,
    output: Output,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            min=0,
            show_default=False,
            help="Try again until the peer answers or SECONDS have passed (then exit 3): "
            "for a job that has just started a listener.",
        ),
    ] = None,
    peer: Annotated[
        str | None,
        typer.Argument(
            parser=PEER,
            metavar="[PEER]",
            show_default=False,
            autocompletion=completion.peer_names,
            help="The peer to call: AE@HOST:PORT (AE@ and :PORT may be left out) or a peer "
            "named in the settings file, or @FILE (the address listen --ready-file wrote; "
            f"--wait waits for it). Default: $DCMREPORT_PEER, else {DEFAULT_PEER}.",
        ),
    ] = None,
) -> None:
    """Verify a peer with C-ECHO: show its status and the round-trip time.

    It takes the association options of send-report, so it checks the
    address, AE titles and timeouts a report would use. With --wait it
    tries again until the peer answers: a CI job's way to wait for a
    listener it has just started.

    [b]Examples[/b]:

      dcmreport echo PACS@10.0.0.5:104

      dcmreport echo pacs

      dcmreport echo --wait 30 ServerTest@127.0.0.1

      dcmreport echo --wait 30 @server.peer
    """
    output = output.joined(ctx.obj)

    def body() -> ExitCode:
        from dcmreport.association import requestor

        left = readiness.wait_for_peer_file(peer or precedence.default_peer(), wait)
        target, settings = association.peer(peer), association.settings(tls.client_context())
        if left is None:
            rsp = requestor.echo(target, settings)
        else:
            rsp = readiness.echo_until(requestor.echo, target, settings, left)
        output.renderer().echo(rsp)
        return exit_code_for_status(rsp.status.code)

    run(body, output)


@app.command("send-report", cls=ConfiguredCommand)
@expand
def send_report(
    ctx: typer.Context,
    report: Report,
    association: RequestorAssociation,
    tls: Tls,
    output: ReportOutput,
    batching: Batching,
    judging: Judging,
    arguments: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[PEER] [KEY=VALUE]...",
            show_default=False,
            autocompletion=completion.report_arguments,
            help="The peer to call (an address AE@HOST:PORT, a name of the settings file or "
            "@FILE, the address listen --ready-file wrote; "
            f"default: $DCMREPORT_PEER, else {DEFAULT_PEER}), then Event Information elements "
            "applied on top of --data and --commit/--fail: PatientID=123, "
            "(0010,0010)=DOE^JOHN, (0009,1001,LO)=private, Seq[0].Keyword=value, "
            "Keyword=@FILE.",
        ),
    ] = None,
) -> None:
    """Send an N-EVENT-REPORT and show the response status and Event Reply.

    Warns when the Event Information is not what the standard says for the
    class and event (--strict: exit 2 unsent). Exits 4 when the peer answers
    with a Failure status, so scripts can act on it. The answer is judged
    (PS3.7 10.1.1): another SOP Class, Instance or Event Type than the
    request's, a status N-EVENT-REPORT does not define (0001H and Bxxx
    included), an Event Reply without Success or without the Event Type ID
    are findings, and exit 7 whatever the status (--accept-findings: by the
    status alone).

    With --batch or --repeat it sends many reports over one association and
    shows a line per response (a progress bar on a terminal), then a
    summary; exit 3 if the batch stopped early, else 7 if an answer had
    findings, else 4 if any failed.

    [b]Examples[/b]:

      dcmreport send-report --event 1 --instance 1.1.1.1.9999.2 PatientID=ID

      dcmreport send-report PACS@10.0.0.5:104 --class storage-commitment \\
          --commit study/ --fail bad.dcm:no-such-object-instance

      dcmreport send-report --class ups-push --event state-report \\
          --instance 1.2.3.4 ProcedureStepState=COMPLETED

      dcmreport send-report pacs --batch reports.jsonl --window 8
    """
    output = output.joined(ctx.obj)

    def body() -> ExitCode:
        from dcmreport.association import requestor

        renderer = output.renderer()
        peer, assignments = split_arguments(arguments or [])
        target = association.peer(peer)
        if batching.active:
            items = report.items(batching.batch, assignments, renderer)
            settings = association.settings(tls.client_context())
            return _send_batch(target, settings, items, renderer)
        request = report.request(assignments, renderer)
        rsp = requestor.send_report(target, association.settings(tls.client_context()), request)
        renderer.report_response(rsp)
        return report_exit_code(rsp, judging.accept_findings)

    def _send_batch(
        target: Peer, settings: Settings, items: list[Item], renderer: Renderer
    ) -> ExitCode:
        """Send the batch, showing each answer; the summary comes last even when it stops."""
        from dcmreport.association import batch
        from dcmreport.dicom.records import Summary

        summary = Summary(total=len(items) * batching.times)
        renderer.batch_started(summary.total or 0)
        try:
            batch.send_batch(
                target,
                settings,
                items,
                batching.times,
                batching.options(judging),
                summary,
                renderer.batch_result,
                renderer.batch_association,
            )
        finally:
            if summary.associations:
                renderer.batch_summary(summary)
        if summary.error:
            error(summary.error)
        return batch_exit_code(summary, judging.accept_findings)

    run(body, output)


def _peer_argument(who: str) -> Any:
    """The PEER argument of a command that must name its peer (commit, watch)."""
    return typer.Argument(
        parser=PEER,
        metavar="PEER",
        show_default=False,
        autocompletion=completion.peer_names,
        help=f"{who}: AE@HOST:PORT, a peer named in the settings file, or @FILE (the address "
        "listen --ready-file wrote).",
    )


@app.command(cls=ConfiguredCommand)
@expand
def commit(
    ctx: typer.Context,
    peer: Annotated[str, _peer_argument("The storage commitment SCP (the PACS)")],
    request: ActionInformation,
    waiting: ResultWaiting,
    slots: Slots,
    association: RequestorAssociation,
    tls: Tls,
    output: ReportOutput,
    judging: Judging,
    arguments: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[FILE|DIR] [KEY=VALUE]...",
            show_default=False,
            autocompletion=completion.commit_arguments,
            help="DICOM files (every file under DIR) to commit: their SOP Class/Instance UIDs "
            "go into Referenced SOP Sequence. Then Action Information elements applied on top: "
            "TransactionUID=UID, ReferencedSOPSequence[0].ReferencedSOPInstanceUID=UID.",
        ),
    ] = None,
) -> None:
    """Ask a PACS to commit instances (storage commitment) and wait for its result.

    Sends N-ACTION (Action Type 1) on Storage Commitment Push Model from our
    AE title (--aet), then waits for the N-EVENT-REPORT with its Transaction
    UID: on the same association, kept open meanwhile, and with --port also on
    a new association on which the PACS calls back that AE title. Answers it
    Success, judges it against the request (PS3.4 J.3.3: every instance once,
    none added, the event, the Failure Reasons, the SCP role) and shows which
    instances were committed and which failed, with the reason.

    Exits 7 when the result or the N-ACTION-RSP breaks the standard (the
    findings are shown; --accept-findings exits by the status and event
    alone), then 4 for a refused request, 5 without a result, 6 for
    failures: with --split, the first of these that any transaction gives.

    [b]Examples[/b]:

      dcmreport commit PACS@10.0.0.5:104 study/ --aet MODALITY --port 11115

      dcmreport commit pacs --ref CTImageStorage:1.2.3.4 --timeout 300

      dcmreport commit pacs study/ --split 500 --port 11115
    """
    output = output.joined(ctx.obj)

    def body() -> ExitCode:
        from dcmreport.association import commit_scu

        renderer = output.renderer()
        target = association.peer(peer)
        requests = request.requests(arguments or [], renderer)
        for warning in waiting.warnings(association):
            renderer.warn(warning)
        where = waiting.new_associations(association, tls, slots)
        inbox = commit_scu.ResultInbox(renderer.warn, where.settings.ae_title if where else None)
        with commit_scu.accepting(where, inbox) as result_port:
            if where is not None and result_port is not None:
                renderer.note(
                    f"dcmreport: accepting the result on {waiting.bind}:{result_port.port} "
                    f"as {where.settings.ae_title}"
                )
            settings = waiting.requestor_settings(association, tls.client_context())
            done = commit_scu.request_commitment(target, settings, requests, inbox, waiting.timeout)
            missing = [r.request.transaction_uid for r in done if _waited_in_vain(r)]
            silence = (  # asked while the listener still runs: it knows who came
                commit_scu.no_result(
                    missing, waiting.timeout, inbox, where, result_port, settings.ae_title
                )
                if missing
                else None
            )
        for result in done:
            renderer.commit_result(result)
        if silence is not None:
            error(*silence)
        return _commit_exit_code(done, judging)

    run(body, output)


def _waited_in_vain(result: CommitResult) -> bool:
    """The request was accepted, and no result came for it."""
    return result.report is None and not exit_code_for_status(result.action_status.code)


def _commit_exit_code(results: list[CommitResult], judging: Judging) -> ExitCode:
    """The first that applies to any transaction: 7, an answer that breaks the standard
    (its findings shown; not with --accept-findings), because nothing else it says can
    be trusted; 4, a refused request; 5, no result; 6, failures (event 2, or an event
    other than 1); else 0. With --accept-findings a result is judged by its event alone."""
    broken = [r for r in results if r.findings]
    if broken and not judging.accept_findings:
        found = sum(len(r.findings) for r in broken)
        error(
            f"the PACS's answer breaks the standard: {found} finding(s) in "
            f"{len(broken)} transaction(s), shown with the result",
            "--accept-findings exits by the status and the event alone",
        )
    if any(exit_code_for_status(r.action_status.code) for r in results):
        otherwise = ExitCode.FAILURE_STATUS
    elif any(r.report is None for r in results):
        otherwise = ExitCode.NO_REPORT
    elif any(r.report is not None and r.report.event_type_id != 1 for r in results):
        otherwise = ExitCode.COMMIT_FAILURES
    else:
        otherwise = ExitCode.OK
    return judging.exit_code(bool(broken), otherwise)


@app.command(cls=ConfiguredCommand)
@expand
def listen(
    ctx: typer.Context,
    answering: Answering,
    committing: Committing,
    ups_events: UpsEvents,
    acceptance: Acceptance,
    slots: Slots,
    association: AcceptorAssociation,
    tls: ListenTls,
    output: ReportOutput,
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            "-n",
            metavar="N",
            min=1,
            show_default=False,
            help="Exit after N reports were answered.",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            min=0,
            show_default=False,
            help="Give up after that long: exit 5 if --count reports (or, without "
            "--count, any report) have not been answered by then.",
        ),
    ] = None,
    ready_file: Annotated[
        Path | None,
        typer.Option(
            "--ready-file",
            metavar="PATH",
            dir_okay=False,
            show_default=False,
            help="Once connections are accepted, write AET@HOST:PORT there (a peer to call, "
            "the port bound with --port 0); removed at exit.",
        ),
    ] = None,
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

      dcmreport listen --port 0 --ready-file ready --count 1

      dcmreport listen --ups --aet WORKLIST --peer WATCHER=10.0.0.7:11113 \\
          --ups-events events.jsonl
    """
    output = output.joined(ctx.obj)

    def body() -> ExitCode:
        import dataclasses
        import threading

        from dcmreport.association.listener import Listener
        from dcmreport.association.ups_scp import AnyOf, EventPusher, UpsService
        from dcmreport.cli import ups
        from dcmreport.listen.handler import ListenHandler

        renderer = output.renderer()
        worklist = ups_events.worklist(committing)
        events = ups.read_events(ups_events.ups_events) if ups_events.ups_events else None
        reaction = dataclasses.replace(answering.reaction(committing.policy()), worklist=worklist)
        handler = ListenHandler(reaction, renderer.report_received, renderer.commitment_result)
        settings = association.settings(tls.server_context())
        performer = committing.performer(settings, tls, handler, ups=worklist is not None)
        pusher = service = None
        if worklist is not None:
            options = ups_events.options(committing, tls)
            pusher = EventPusher(settings, options, renderer.event_delivery)
            service = UpsService(worklist, pusher)
        listener = Listener(
            settings,
            acceptance.listen_options(association, slots),
            handler,
            AnyOf(performer, service) if service is not None else performer,
        )
        where = (association.aet, acceptance.bind)
        stopped = threading.Event()
        kept = reaction.output_dir is not None
        if worklist is not None and pusher is not None:
            if ups_events.ups_status_events and worklist.subscribers():  # a warm start
                ups.status_change(worklist, pusher, restarted=True, kept=kept)
            if ups_events.ups_events:
                ups.feed(ups_events.ups_events, events, worklist, pusher, stopped, handler.keep_ups)
        try:
            return serve.until_done(listener, renderer.note, where, count, timeout, ready_file)
        finally:
            stopped.set()
            if worklist is not None and pusher is not None:
                if ups_events.ups_status_events:
                    ups.status_change(worklist, pusher, restarted=False, kept=kept)
                pusher.wait(30.0)
            renderer.close()

    run(body, output)


@app.command(cls=ConfiguredCommand)
@expand
def watch(
    ctx: typer.Context,
    peer: Annotated[str, _peer_argument("The UPS SCP (the worklist manager)")],
    subscribing: Subscribing,
    answering: Answering,
    slots: Slots,
    association: RequestorAssociation,
    tls: Tls,
    output: ReportOutput,
    judging: Judging,
    instance: Annotated[
        str | None,
        typer.Argument(
            metavar="[UPS_INSTANCE_UID]",
            show_default=False,
            help="The UPS to watch; leave out with --global or --filter.",
        ),
    ] = None,
) -> None:
    """Subscribe to UPS events, show each one as listen does, and unsubscribe at the end.

    Accepts associations first, on --port as our AE title (--aet: the
    Receiving AE the subscription names), then subscribes (N-ACTION on UPS
    Watch, PS3.4 CC.2.3): to one UPS, to all (--global) or to those matching
    --filter KEY=VALUE, with --deletion-lock if asked. Shows the N-ACTION-RSP;
    a Warning or Failure is explained in a sentence. Each UPS event report
    (initial State Reports included) is answered, judged against PS3.4 CC.2.4
    and shown, kept (--output-dir) and handed to --exec as listen does.
    Stops at --count, --until-state, --timeout or Ctrl-C, and unsubscribes on
    the way out (unless --keep-subscription). --unsubscribe and
    --suspend-global only send that action, to clean up after others.

    Exits 0 when the stop condition is met (or on Ctrl-C), 5 on --timeout, 4
    when the subscription is refused, 3 when an association fails, 7 when an
    event report or an answer broke the standard (--accept-findings: not).

    [b]Examples[/b]:

      dcmreport watch WORKLIST@10.0.0.5:104 1.2.3.4 --aet WATCHER --port 11113 \\
          --until-state COMPLETED

      dcmreport watch worklist --global --deletion-lock --count 10

      dcmreport watch worklist --global --unsubscribe --aet OLDWATCHER
    """
    output = output.joined(ctx.obj)

    def body() -> ExitCode:
        from dcmreport.cli import ups
        from dcmreport.listen.handler import ListenHandler
        from dcmreport.listen.watch import Watching

        renderer = output.renderer()
        target = association.peer(peer)
        action = subscribing.action(association.calling_aet, instance)
        settings = association.settings(tls.client_context())
        if subscribing.unsubscribe or subscribing.suspend_global:
            code, broken = ups.one_action(target, settings, action, renderer)
            return judging.exit_code(broken, code)
        handler = ListenHandler(answering.reaction(), renderer.report_received)
        watching = Watching(handler, subscribing.stop_when(instance))
        try:
            code, broken = ups.watch(
                target,
                settings,
                action,
                subscribing.new_associations(association, tls, slots),
                watching,
                renderer,
                subscribing.timeout,
                subscribing.keep_subscription,
                subscribing.ready_file,
            )
        finally:
            renderer.close()  # the events drawn by the text view's thread are all shown
        if code is ExitCode.NO_REPORT:
            error(f"the stop condition was not met within {subscribing.timeout:g} s (--timeout)")
        return judging.exit_code(broken, code)

    run(body, output)


@app.command("peers", cls=ConfiguredCommand)
@expand
def list_peers(
    ctx: typer.Context,
    output: Output,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="C-ECHO every peer at once, each with its own settings, and show the "
            "round trip or why it failed (exit 3 if one did).",
        ),
    ] = False,
    config: ConfigPath = None,
) -> None:
    """List the named peers of the settings file; --check echoes each of them.

    The settings file (TOML) names peers and sets any option by its name, _
    for -. The command line wins, then DCMREPORT_<OPTION>, the peer's table,
    \\[defaults], the built-in default; -v shows where each setting came from:

      \\[defaults]
      calling_aet = "DCMREPORT"

      \\[peers.pacs]
      address = "PACS@pacs.example:104"
      calling_aet = "MODALITY1"
      acse_timeout = 10

    [b]Examples[/b]:

      dcmreport peers --check

      dcmreport send-report pacs --class mpps --event completed --instance 1.2.3
    """
    output = output.joined(ctx.obj)

    def body() -> ExitCode:
        from dcmreport.cli import peer_check
        from dcmreport.cli.settings_file import load
        from dcmreport.dicom.records import PeerCheck

        renderer = output.renderer()
        named = load(config)
        if not named.peers:
            renderer.note(f"dcmreport: no named peers in {named.path or 'no settings file'}")
        found = (
            peer_check.check_all(ctx, named)
            if check
            else [PeerCheck(n, precedence.resolve_peer(n, config).text) for n in named.peers]
        )
        renderer.peers(found)
        failed = any(c.error for c in found)
        return ExitCode.NO_ASSOCIATION if failed else ExitCode.OK

    run(body, output)


@app.command("samples", cls=ConfiguredCommand)
@expand
def samples(
    ctx: typer.Context,
    output: Output,
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="[DIR]",
            file_okay=False,
            help="Where to write them (made if missing). Default: the current directory.",
        ),
    ] = Path("."),
) -> None:
    """Write the made-up files the README's examples use: a.dcm, b.dcm, study/ (small CT
    images of an invented patient), result.json (Event Information) and reports.jsonl (a
    --batch file). No file is overwritten: exit 2 if one exists.

    [b]Examples[/b]:

      dcmreport samples

      dcmreport samples /tmp/try
    """
    output = output.joined(ctx.obj)

    def body() -> ExitCode:
        from dcmreport.dicom import samples

        written = samples.write(directory)
        output.renderer().note(f"dcmreport: wrote {', '.join(map(str, written))}")
        return ExitCode.OK

    run(body, output)


def main() -> None:
    """Console-script entry point (``prog_name`` keeps completion working under ``python -m``)."""
    app(prog_name=PROG)
