"""The command line: ``dcmreport echo | send-report | listen``.

A thin Typer layer. Each command parses its options, calls one function of the
association layer, hands the result to the renderer and returns an exit code;
:func:`run` is the single boundary that turns errors into messages and exit
codes. pynetdicom and pydicom are imported inside the commands, so ``--help``
and completion never pay for them.
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
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from dcmreport import __version__, catalog
from dcmreport.errors import (
    EXIT_CODE_HELP,
    DcmreportError,
    ExitCode,
    InputError,
    ListenTimeoutError,
)
from dcmreport.options import (
    AbortAfter,
    AcceptClass,
    AcseTimeout,
    AllowCallingAET,
    AnswerStatus,
    Bind,
    CalledAET,
    CallingAET,
    Commit,
    ConnectTimeout,
    ContextClass,
    Count,
    Data,
    Debug,
    Delay,
    DimseTimeout,
    ErrorComment,
    EventType,
    ExecCommand,
    ExecDecides,
    ExecTimeout,
    Fail,
    Format,
    ImplementationUID,
    ImplementationVersion,
    Instance,
    ListenAET,
    ListenTimeout,
    MaxAssociations,
    MaxPdu,
    MessageId,
    NetworkTimeout,
    OutputDir,
    OutputFormat,
    PeerArg,
    Port,
    Quiet,
    Reject,
    Reply,
    ReportArguments,
    RequireCalledAET,
    Role,
    RoleOpt,
    SopClassOpt,
    Strict,
    TransactionUid,
    TransferSyntaxes,
    Verbose,
    default_peer,
    parse_peer,
)
from dcmreport.peer import Peer, check_ae_title
from dcmreport.status import category

if TYPE_CHECKING:
    from pydicom import Dataset

    from dcmreport.association import Listener, Settings
    from dcmreport.records import ReportRequest
    from dcmreport.render import Renderer


EXIT_CODES_EPILOG = "Exit codes: " + " · ".join(
    f"{code.value} {text}" for code, text in EXIT_CODE_HELP.items()
)

app = typer.Typer(
    name="dcmreport",
    help="Send and receive DICOM N-EVENT-REPORT messages, and C-ECHO.",
    epilog=EXIT_CODES_EPILOG,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,  # a traceback's locals could hold patient data
    context_settings={"help_option_names": ["-h", "--help"]},
)

LOG = logging.getLogger("dcmreport")
_T = TypeVar("_T")
_R = TypeVar("_R")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dcmreport {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Send and receive DICOM N-EVENT-REPORT messages, and C-ECHO."""


# --- the one error boundary ---------------------------------------------------------------


def _setup_logging(verbose: bool, debug: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname).1s: %(message)s"))
    ours = logging.getLogger("dcmreport")
    ours.handlers[:] = [handler]
    ours.propagate = False
    ours.setLevel(
        logging.DEBUG
        if debug
        else logging.INFO
        if verbose
        else logging.ERROR
        if quiet
        else logging.WARNING
    )
    # The libraries' own logs and warnings quote data set values ("Invalid value for
    # VR DA: '...'"): patient data, so only with -d.
    for library in ("pynetdicom", "pydicom"):
        log = logging.getLogger(library)
        log.handlers[:] = [handler] if debug else [logging.NullHandler()]
        log.propagate = False
        log.setLevel(logging.DEBUG if debug else logging.CRITICAL)
    if not debug:
        warnings.filterwarnings("ignore", module=r"pydicom(\.|$)")


def _error(message: str, hint: str | None = None) -> None:
    typer.secho(f"dcmreport: error: {message}", fg="red", err=True)
    if hint:
        typer.secho(f"  hint: {hint}", err=True)


def run(body: Callable[[], ExitCode], *, verbose: bool, debug: bool, quiet: bool) -> None:
    """Run a command body; map every outcome to its exit code. The only place that exits."""
    _setup_logging(verbose, debug, quiet)
    try:
        code = body()
    except DcmreportError as exc:
        _error(str(exc), exc.hint)
        code = exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        code = ExitCode.INTERRUPTED
    except Exception as exc:  # a bug: its message may quote patient data, so only with -d
        if debug:
            LOG.exception("unexpected error")
        _error(
            f"unexpected {type(exc).__name__} at {_where(exc)}",
            None if debug else "run again with -d for the message and traceback",
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


def _renderer(fmt: OutputFormat, quiet: bool) -> Renderer:
    from dcmreport.render import make_renderer

    chosen = (
        fmt.value if fmt is not OutputFormat.AUTO else ("text" if sys.stdout.isatty() else "json")
    )
    return make_renderer(chosen, quiet)


def _settings(
    ae_title: str,
    max_pdu: int,
    implementation_class_uid: str | None,
    implementation_version: str | None,
    transfer_syntaxes: list[str] | None,
    default_transfer_syntaxes: tuple[str, ...],
    connect_timeout: float | None,
    acse_timeout: float,
    dimse_timeout: float,
    network_timeout: float,
) -> Settings:
    from dcmreport.association import Settings

    return Settings(
        ae_title=ae_title,
        max_pdu=max_pdu,
        implementation_class_uid=implementation_class_uid,
        implementation_version=implementation_version,
        transfer_syntaxes=tuple(transfer_syntaxes or default_transfer_syntaxes),
        connect_timeout=connect_timeout or None,
        acse_timeout=acse_timeout,
        dimse_timeout=dimse_timeout,
        network_timeout=network_timeout,
    )


def _parsed(what: str, parse: Callable[[_T], _R], value: _T) -> _R:
    """``parse(value)``, its ValueError a usage error (exit 2) that names the option."""
    try:
        return parse(value)
    except ValueError as exc:
        raise InputError(f"{what}: {exc}") from None


def _peer(peer: Peer | None, called_aet: str | None) -> Peer:
    chosen = peer or _parsed("DCMREPORT_PEER", parse_peer, default_peer())
    return Peer(called_aet, chosen.host, chosen.port) if called_aet else chosen


_SENDER_TS = (catalog.EXPLICIT_VR_LE, catalog.IMPLICIT_VR_LE)
_LISTENER_TS = tuple(uid for uid, _ in catalog.TRANSFER_SYNTAXES.values())


# --- echo ---------------------------------------------------------------------------------


@app.command(epilog=EXIT_CODES_EPILOG)
def echo(
    peer: PeerArg = None,
    calling_aet: CallingAET = "DCMREPORT",
    called_aet: CalledAET = None,
    max_pdu: MaxPdu = 16382,
    implementation_class_uid: ImplementationUID = None,
    implementation_version: ImplementationVersion = None,
    transfer_syntax: TransferSyntaxes = None,
    connect_timeout: ConnectTimeout = 10.0,
    acse_timeout: AcseTimeout = 30.0,
    dimse_timeout: DimseTimeout = 30.0,
    network_timeout: NetworkTimeout = 60.0,
    fmt: Format = OutputFormat.AUTO,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Verify a peer with C-ECHO: show its status and the round-trip time.

    [b]Example[/b]: dcmreport echo PACS@10.0.0.5:104
    """

    def body() -> ExitCode:
        from dcmreport import association

        settings = _settings(
            calling_aet,
            max_pdu,
            implementation_class_uid,
            implementation_version,
            transfer_syntax,
            _SENDER_TS,
            connect_timeout,
            acse_timeout,
            dimse_timeout,
            network_timeout,
        )
        rsp = association.echo(_peer(peer, called_aet), settings)
        _renderer(fmt, quiet).echo(rsp)
        return exit_code_for_status(rsp.status.code)

    run(body, verbose=verbose, debug=debug, quiet=quiet)


# --- send-report --------------------------------------------------------------------------


def _split_arguments(arguments: list[str]) -> tuple[Peer | None, list[str]]:
    """Tell the optional PEER from KEY=VALUE arguments: a key never holds an ``@``."""
    if not arguments:
        return None, []
    key, is_assignment, _ = arguments[0].partition("=")
    if is_assignment and "@" not in key:
        return None, arguments
    return _parsed("PEER", parse_peer, arguments[0]), arguments[1:]


def _event_type(class_uid: str, event: str | None) -> int:
    if event is None:
        raise InputError("--event is required", "e.g. --event 1")
    return _parsed("--event", lambda text: catalog.resolve_event(class_uid, text), event)


def _class_uid(sop_class: str | None, files: bool) -> str:
    """--class; without it Secondary Capture (the reference sample's), or storage commitment."""
    if sop_class is None:
        return catalog.STORAGE_COMMITMENT if files else catalog.SECONDARY_CAPTURE_IMAGE_STORAGE
    uid = _parsed("--class", catalog.resolve_class, sop_class)
    if files and uid != catalog.STORAGE_COMMITMENT:
        raise InputError(
            f"--commit/--fail build a storage commitment result, "
            f"not a report of --class {sop_class}"
        )
    return uid


def _instance_uid(class_uid: str, instance: str | None) -> str:
    """--instance, by default the class's well-known instance (storage commitment, printer)."""
    chosen = instance or catalog.default_instance(class_uid)
    if chosen is None:
        raise InputError(
            "--instance is required for this class",
            "the Affected SOP Instance UID; only classes with a well-known instance "
            "(storage-commitment, printer, inventory-creation) have a default",
        )
    return _parsed("--instance", catalog.check_uid, chosen)


def _context_uid(class_uid: str, context_class: str | None) -> str | None:
    """The abstract syntax to send on when not the class: UPS Event, Print Management meta."""
    if context_class is None:
        return catalog.default_context(class_uid)
    uid = _parsed("--context-class", catalog.resolve_class, context_class)
    return None if uid == class_uid else uid


def _commitment_event(
    commit: list[str],
    fail: list[str],
    transaction_uid: str | None,
    event: str | None,
    base: Dataset | None,
    renderer: Renderer,
) -> tuple[Dataset, int]:
    """The storage commitment result from files, and its event (an explicit one must agree)."""
    from dcmreport import commitment

    built = commitment.build(commit, fail, transaction_uid, base)
    explicit = _event_type(catalog.STORAGE_COMMITMENT, event) if event is not None else None
    commitment.check_event(built, explicit)
    new = " (generated)" if built.transaction_uid_generated else ""
    renderer.note(
        f"dcmreport: storage commitment: {len(built.committed)} committed, "
        f"{len(built.failed)} failed; Transaction UID{new}: {built.transaction_uid}"
    )
    return built.dataset, built.event_type_id


def _check(request: ReportRequest, strict: bool, renderer: Renderer) -> None:
    """Warn about every finding; with --strict, refuse to send when there is one."""
    from dcmreport import validate

    found = validate.findings(request.sop_class_uid, request.event_type_id, request.dataset)
    for finding in found:
        renderer.warn(str(finding))
    if strict and found:
        raise InputError(
            f"--strict: nothing sent, the Event Information has {len(found)} finding(s); "
            f"the first: {found[0]}"
        )


@app.command("send-report", epilog=EXIT_CODES_EPILOG)
def send_report(
    arguments: ReportArguments = None,
    event: EventType = None,
    instance: Instance = None,
    sop_class: SopClassOpt = None,
    context_class: ContextClass = None,
    message_id: MessageId = 1,
    data: Data = None,
    commit: Commit = None,
    fail: Fail = None,
    transaction_uid: TransactionUid = None,
    strict: Strict = False,
    role: RoleOpt = Role.SCP,
    calling_aet: CallingAET = "DCMREPORT",
    called_aet: CalledAET = None,
    max_pdu: MaxPdu = 16382,
    implementation_class_uid: ImplementationUID = None,
    implementation_version: ImplementationVersion = None,
    transfer_syntax: TransferSyntaxes = None,
    connect_timeout: ConnectTimeout = 10.0,
    acse_timeout: AcseTimeout = 30.0,
    dimse_timeout: DimseTimeout = 30.0,
    network_timeout: NetworkTimeout = 60.0,
    fmt: Format = OutputFormat.AUTO,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Send an N-EVENT-REPORT and show the response status and Event Reply.

    Warns when the Event Information is not what the standard says for the
    class and event (--strict: exit 2 unsent). Exits 4 when the peer answers
    with a Failure status, so scripts can act on it.

    [b]Examples[/b]:

      dcmreport send-report --event 1 --instance 1.1.1.1.9999.2 PatientID=ID

      dcmreport send-report PACS@10.0.0.5:104 --class storage-commitment --commit
      study/ --fail bad.dcm:no-such-object-instance

      dcmreport send-report --class ups-push --event state-report --instance UID
      ProcedureStepState=COMPLETED InputReadinessState=READY
    """

    def body() -> ExitCode:
        from pydicom import Dataset

        from dcmreport import association, dataset
        from dcmreport.records import ReportRequest

        renderer = _renderer(fmt, quiet)
        files = bool(commit or fail)
        if transaction_uid is not None and not files:
            raise InputError(
                "--transaction-uid goes with --commit/--fail", "else give TransactionUID=UID"
            )
        class_uid = _class_uid(sop_class, files)
        instance_uid = _instance_uid(class_uid, instance)
        peer, assignments = _split_arguments(arguments or [])
        stdin = sys.stdin.buffer.read() if data == "-" else None
        ds = dataset.load_data(data, stdin) if data is not None else None
        if files:
            ds, event_type = _commitment_event(
                commit or [], fail or [], transaction_uid, event, ds, renderer
            )
        else:
            event_type = _event_type(class_uid, event)
        if assignments:
            ds = dataset.apply_assignments(ds if ds is not None else Dataset(), assignments)
        request = ReportRequest(
            class_uid,
            instance_uid,
            event_type,
            message_id,
            ds,
            context_class_uid=_context_uid(class_uid, context_class),
            role=role.value,
        )
        _check(request, strict, renderer)
        settings = _settings(
            calling_aet,
            max_pdu,
            implementation_class_uid,
            implementation_version,
            transfer_syntax,
            _SENDER_TS,
            connect_timeout,
            acse_timeout,
            dimse_timeout,
            network_timeout,
        )
        rsp = association.send_report(_peer(peer, called_aet), settings, request)
        renderer.report_response(rsp)
        return exit_code_for_status(rsp.status.code)

    run(body, verbose=verbose, debug=debug, quiet=quiet)


# --- listen -------------------------------------------------------------------------------


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


def _allowed_aets(values: list[str]) -> tuple[str, ...]:
    """AE titles from ``--allow-calling-aet``; ``@FILE`` reads one per line (# comments)."""
    titles: list[str] = []
    for value in values:
        if value.startswith("@"):
            try:
                lines = Path(value[1:]).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise InputError(f"--allow-calling-aet {value}: {exc.strerror or exc}") from None
            titles += [line.split("#")[0].strip() for line in lines]
        else:
            titles.append(value)
    return tuple(_parsed("--allow-calling-aet", check_ae_title, t) for t in titles if t)


@app.command(epilog=EXIT_CODES_EPILOG)
def listen(
    port: Port = 11112,
    bind: Bind = "0.0.0.0",
    aet: ListenAET = "DCMREPORT",
    status: AnswerStatus = 0,
    error_comment: ErrorComment = None,
    reply: Reply = "none",
    output_dir: OutputDir = None,
    exec_command: ExecCommand = None,
    exec_decides: ExecDecides = False,
    exec_timeout: ExecTimeout = 30.0,
    delay: Delay = 0.0,
    abort_after: AbortAfter = None,
    reject: Reject = None,
    require_called_aet: RequireCalledAET = False,
    allow_calling_aet: AllowCallingAET = None,
    accept_class: AcceptClass = None,
    max_associations: MaxAssociations = 10,
    count: Count = None,
    timeout: ListenTimeout = None,
    max_pdu: MaxPdu = 16382,
    implementation_class_uid: ImplementationUID = None,
    implementation_version: ImplementationVersion = None,
    transfer_syntax: TransferSyntaxes = None,
    acse_timeout: AcseTimeout = 30.0,
    dimse_timeout: DimseTimeout = 30.0,
    network_timeout: NetworkTimeout = 60.0,
    fmt: Format = OutputFormat.AUTO,
    verbose: Verbose = False,
    debug: Debug = False,
    quiet: Quiet = False,
) -> None:
    """Receive N-EVENT-REPORTs of any SOP class, show each one, and answer it.

    Accepts every proposed presentation context (storage, private and unknown
    SOP classes too) with the first proposed transfer syntax it supports (with
    -x: the first of yours), answers role selection and C-ECHO. One JSON
    object per report per line when piped. SIGINT/SIGTERM stop it: no new
    associations, reports received are answered (and written), then exit 0.

    [b]Examples[/b]:

      dcmreport listen --port 11112 --aet MODALITY --reply echo

      dcmreport listen --output-dir reports --exec ./notify.sh --count 1 --timeout 600
    """

    def body() -> ExitCode:
        from dcmreport import dataset
        from dcmreport.association import Listener, ListenOptions
        from dcmreport.receive import Reaction, ReportHandler

        if exec_decides and not exec_command:
            raise InputError("--exec-decides needs --exec COMMAND")
        if output_dir is not None and not output_dir.is_dir():
            raise InputError(
                f"--output-dir {output_dir}: no such directory",
                f"create it first: mkdir -p {output_dir}",
            )
        reply_mode = reply if reply in ("none", "echo") else "file"
        reaction = Reaction(
            status=status,
            error_comment=error_comment,
            reply=reply_mode,
            reply_dataset=dataset.load_data(reply, option="--reply")
            if reply_mode == "file"
            else None,
            delay=delay,
            abort_after=abort_after,
            output_dir=output_dir,
            exec_command=exec_command,
            exec_decides=exec_decides,
            exec_timeout=exec_timeout,
        )
        options = ListenOptions(
            port=port,
            bind=bind,
            require_called_aet=require_called_aet,
            allowed_calling_aets=_allowed_aets(allow_calling_aet or []),
            accept_classes=tuple(
                _parsed("--accept-class", catalog.resolve_class, c) for c in accept_class or []
            ),
            own_transfer_syntax_order=bool(transfer_syntax),
            max_associations=max_associations,
            reject=_parsed("--reject", catalog.resolve_rejection, reject) if reject else None,
        )
        settings = _settings(
            aet,
            max_pdu,
            implementation_class_uid,
            implementation_version,
            transfer_syntax,
            _LISTENER_TS,
            None,
            acse_timeout,
            dimse_timeout,
            network_timeout,
        )
        renderer = _renderer(fmt, quiet)
        listener = Listener(settings, options, ReportHandler(reaction, renderer.report_received))
        return _serve(listener, renderer, aet, bind, count, timeout)

    run(body, verbose=verbose, debug=debug, quiet=quiet)


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
    app(prog_name="dcmreport")
