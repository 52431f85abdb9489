"""Every command-line option, declared once: how the user writes it and what help says.

Each alias is an ``Annotated`` type carrying its ``typer.Option`` (names, help
text, metavar, panel, parser, completion). The option bundles of
:mod:`dcmreport.cli.bundles` use these aliases as field types and hold the defaults,
so a default is written once, next to the field that carries it. Every value
option names its metavar for what it is (``SECONDS``, ``UID``, ``AET``): Typer
would otherwise show a Python type. Parsers here validate (AE titles, UIDs,
transfer syntaxes, statuses) so that a bad value is a usage error (exit 2)
naming the option.
Nothing here imports pynetdicom or pydicom: ``--help`` stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from dcmreport.cli import completion
from dcmreport.dicom import catalog
from dcmreport.dicom.address import DEFAULT_PEER, Peer, check_ae_title
from dcmreport.dicom.records import CommitmentOn, Role
from dcmreport.dicom.status import parse_status

PANEL_ASSOC = "Association"
PANEL_OUTPUT = "Output"


def wrap(parse: Callable[[str], object]) -> Callable[[str], object]:
    """Turn a ValueError of a parser into typer.BadParameter (a usage error, exit 2)."""

    def parser(value: str) -> object:
        if not isinstance(value, str):  # a default given in its parsed form
            return value
        try:
            return parse(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return parser


def checked(parse: Callable[[str], object]) -> Callable[[str], object]:
    """A parser that validates with ``parse`` but keeps the text as typed.

    For options whose default should show by name in help (``[default: success]``)
    and whose value is converted when the configuration object is built.
    """

    def check(value: str) -> str:
        parse(value)
        return value

    return wrap(check)


def parse_peer(value: str | Peer) -> Peer:
    return value if isinstance(value, Peer) else Peer.parse(value)


def _uid(what: str) -> Callable[[str], object]:
    return wrap(lambda value: catalog.check_uid(value, what))


def _implementation_version(value: str) -> str:
    if not 1 <= len(value) <= 16 or not value.isascii() or not value.isprintable():
        raise ValueError(
            f"implementation version name {value!r} must be 1-16 printable ASCII characters"
        )
    return value


PEER_HELP = (
    "The peer to call: AE@HOST:PORT (AE@ and :PORT may be left out) or a peer named "
    f"in the settings file. Default: $DCMREPORT_PEER, else {DEFAULT_PEER}."
)


def _peer_or_name(value: str) -> str:
    """An address, or a name of the settings file (a name also parses as a host)."""
    Peer.parse(value)
    return value


PeerArg = Annotated[
    str | None,
    typer.Argument(
        parser=checked(_peer_or_name),
        metavar="[PEER]",
        show_default=False,
        autocompletion=completion.peer_names,
        help=PEER_HELP,
    ),
]
ConfigPath = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        envvar="DCMREPORT_CONFIG",
        show_envvar=True,
        dir_okay=False,
        show_default=False,
        rich_help_panel=PANEL_ASSOC,
        help="Settings file of named peers and defaults (TOML). Default: "
        "$XDG_CONFIG_HOME/dcmreport/config.toml, if it exists.",
    ),
]
# No DCMREPORT_CALLING_AET or DCMREPORT_CALLED_AET: listen --exec gives its program
# those names for the report's own AE titles, and a program that answers with
# dcmreport send-report must not call with the modality's title by accident.
CallingAET = Annotated[
    str,
    typer.Option(
        "--calling-aet",
        "-aet",
        metavar="AET",
        parser=wrap(check_ae_title),
        rich_help_panel=PANEL_ASSOC,
        help="Our AE title.",
    ),
]
ListenAET = Annotated[
    str,
    typer.Option("--aet", "-aet", metavar="AET", parser=wrap(check_ae_title), help="Our AE title."),
]
CalledAET = Annotated[
    str | None,
    typer.Option(
        "--called-aet",
        "-aec",
        metavar="AET",
        parser=wrap(lambda v: check_ae_title(v, "called AE title")),
        rich_help_panel=PANEL_ASSOC,
        show_default=False,
        help="The peer's AE title; overrides the AE@ of the peer argument.",
    ),
]
MaxPdu = Annotated[
    int,
    typer.Option(
        "--max-pdu",
        envvar="DCMREPORT_MAX_PDU",
        show_envvar=True,
        metavar="BYTES",
        min=0,
        rich_help_panel=PANEL_ASSOC,
        help="Maximum PDU length we receive, in bytes (0: unlimited).",
    ),
]
ImplementationUID = Annotated[
    str | None,
    typer.Option(
        "--implementation-class-uid",
        envvar="DCMREPORT_IMPLEMENTATION_CLASS_UID",
        show_envvar=True,
        metavar="UID",
        parser=_uid("implementation class UID"),
        rich_help_panel=PANEL_ASSOC,
        show_default=False,
        help="Implementation Class UID to announce. Default: pynetdicom's.",
    ),
]
ImplementationVersion = Annotated[
    str | None,
    typer.Option(
        "--implementation-version",
        envvar="DCMREPORT_IMPLEMENTATION_VERSION",
        show_envvar=True,
        metavar="NAME",
        parser=wrap(_implementation_version),
        rich_help_panel=PANEL_ASSOC,
        show_default=False,
        help="Implementation Version Name to announce (1-16 characters).",
    ),
]
PROPOSED_TRANSFER_SYNTAXES = ("explicit", "implicit")
ACCEPTED_TRANSFER_SYNTAXES = tuple(catalog.TRANSFER_SYNTAXES)


def _transfer_syntaxes(default: str) -> Any:
    return typer.Option(
        "--transfer-syntax",
        "-x",
        envvar="DCMREPORT_TRANSFER_SYNTAX",
        show_envvar=True,
        autocompletion=completion.transfer_syntaxes,
        metavar="SYNTAX",
        parser=wrap(catalog.resolve_transfer_syntax),
        rich_help_panel=PANEL_ASSOC,
        show_default=False,
        help="Transfer syntax, repeatable, in order of preference: "
        f"{', '.join(ACCEPTED_TRANSFER_SYNTAXES)}, or a UID. {default}",
    )


ProposedTransferSyntaxes = Annotated[
    list[str] | None,
    _transfer_syntaxes(f"Default: {', '.join(PROPOSED_TRANSFER_SYNTAXES)}."),
]
AcceptedTransferSyntaxes = Annotated[
    list[str] | None,
    _transfer_syntaxes("Default: all of them, in the order the requestor proposes."),
]
ConnectTimeout = Annotated[
    float,
    typer.Option(
        "--connect-timeout",
        envvar="DCMREPORT_CONNECT_TIMEOUT",
        show_envvar=True,
        metavar="SECONDS",
        min=0,
        rich_help_panel=PANEL_ASSOC,
        help="Seconds to wait for the TCP connection.",
    ),
]
AcseTimeout = Annotated[
    float,
    typer.Option(
        "--acse-timeout",
        envvar="DCMREPORT_ACSE_TIMEOUT",
        show_envvar=True,
        metavar="SECONDS",
        min=0,
        rich_help_panel=PANEL_ASSOC,
        help="Seconds to wait for association messages.",
    ),
]
DimseTimeout = Annotated[
    float,
    typer.Option(
        "--dimse-timeout",
        envvar="DCMREPORT_DIMSE_TIMEOUT",
        show_envvar=True,
        metavar="SECONDS",
        min=0,
        rich_help_panel=PANEL_ASSOC,
        help="Seconds to wait for a DIMSE response.",
    ),
]
NetworkTimeout = Annotated[
    float,
    typer.Option(
        "--network-timeout",
        envvar="DCMREPORT_NETWORK_TIMEOUT",
        show_envvar=True,
        metavar="SECONDS",
        min=0,
        rich_help_panel=PANEL_ASSOC,
        help="Seconds an association may stay silent before it is aborted.",
    ),
]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        rich_help_panel=PANEL_OUTPUT,
        help="Show the negotiation: AE titles, PDU sizes, implementation UIDs, "
        "every presentation context with its transfer syntax and roles.",
    ),
]
Debug = Annotated[
    bool,
    typer.Option(
        "--debug",
        "-d",
        rich_help_panel=PANEL_OUTPUT,
        help="Full DIMSE/PDU debug log, tracebacks included. May print patient data from datasets.",
    ),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        rich_help_panel=PANEL_OUTPUT,
        help="No notes or warnings on stderr; errors only.",
    ),
]


class OutputFormat(str, Enum):
    AUTO = "auto"
    TEXT = "text"
    JSON = "json"


Format = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        envvar="DCMREPORT_FORMAT",
        show_envvar=True,
        rich_help_panel=PANEL_OUTPUT,
        case_sensitive=False,
        help="auto: rich text on a terminal, JSON when piped.",
    ),
]


Full = Annotated[
    bool,
    typer.Option(
        "--full",
        rich_help_panel=PANEL_OUTPUT,
        help="Show every item of long sequences, not only the first ones.",
    ),
]


# --- send-report and listen ----------------------------------------------------------

PANEL_ANSWER = "Answer"
PANEL_FAULTS = "Fault injection"
PANEL_ACCESS = "Access control"
PANEL_EVENT_INFO = "Event Information"


def _complete_class(incomplete: str) -> list[str]:
    return [name for name in catalog.class_names() if name.startswith(incomplete)]


def _complete_event(ctx: typer.Context, incomplete: str) -> list[str]:
    """Event names of the --class given so far (storage commitment with --commit/--fail)."""
    files = ctx.params.get("commit") or ctx.params.get("fail")
    chosen = ctx.params.get("sop_class") or ("storage-commitment" if files else "")
    return [name for name in catalog.event_names(chosen) if name.startswith(incomplete)]


ReportArguments = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[PEER] [KEY=VALUE]...",
        show_default=False,
        autocompletion=completion.report_arguments,
        help="The peer to call (an address AE@HOST:PORT or a name of the settings file; "
        f"default: $DCMREPORT_PEER, else {DEFAULT_PEER}), then Event Information elements "
        "applied on top "
        "of --data and --commit/--fail: PatientID=123, (0010,0010)=DOE^JOHN, "
        "(0009,1001,LO)=private, Seq[0].Keyword=value, Keyword=@FILE.",
    ),
]


EventType = Annotated[
    str | None,
    typer.Option(
        "--event",
        "-e",
        metavar="EVENT",
        show_default=False,
        autocompletion=_complete_event,
        help="Event Type ID, a number or an event name of the class (--event failures). "
        "With --commit/--fail: chosen from the outcome.",
    ),
]


Instance = Annotated[
    str | None,
    typer.Option(
        "--instance",
        "-i",
        metavar="UID",
        show_default=False,
        help="Affected SOP Instance UID. Default: the class's well-known instance "
        "(storage-commitment, printer, inventory-creation).",
    ),
]


SopClassOpt = Annotated[
    str | None,
    typer.Option(
        "--class",
        "-c",
        metavar="CLASS",
        show_default=False,
        autocompletion=_complete_class,
        help="Affected SOP Class: a UID, a pydicom keyword or a name "
        "(storage-commitment, mpps-notification, ups-push, ...). Default: Secondary "
        "Capture Image Storage, as the reference sample; storage-commitment with --commit.",
    ),
]


ContextClass = Annotated[
    str | None,
    typer.Option(
        "--context-class",
        metavar="CLASS",
        show_default=False,
        help="Abstract syntax to send the report on, when not its class. Default: "
        "UPS Event for ups-push, Basic Grayscale Print Management Meta for printer "
        "and print-job.",
    ),
]


MessageId = Annotated[
    int,
    typer.Option(
        "--message-id", metavar="ID", min=1, max=65535, help="Message ID of the request, 1-65535."
    ),
]


Data = Annotated[
    str | None,
    typer.Option(
        "--data",
        metavar="FILE|-",
        show_default=False,
        rich_help_panel=PANEL_EVENT_INFO,
        help='Event Information: DICOM JSON model, {"Keyword": value} JSON or a DICOM '
        "Part 10 file; - reads stdin.",
    ),
]


PANEL_BATCH = "Batch (many reports over one association)"

BatchFile = Annotated[
    str | None,
    typer.Option(
        "--batch",
        metavar="FILE|-",
        show_default=False,
        rich_help_panel=PANEL_BATCH,
        help="Send many reports over one association, one JSON object per line: class, "
        "instance, event, message_id, data (either JSON form); what a line leaves out comes "
        "from the other options, missing message IDs count on from --message-id. - reads "
        "stdin. Every line is checked before anything is sent.",
    ),
]


Repeat = Annotated[
    int | None,
    typer.Option(
        "--repeat",
        metavar="N",
        min=1,
        show_default=False,
        rich_help_panel=PANEL_BATCH,
        help="Send the report (or the whole --batch) N times over one association, message "
        "IDs counting on: a load test. Prints a line per response and a summary.",
    ),
]


Window = Annotated[
    int,
    typer.Option(
        "--window",
        metavar="N",
        min=1,
        max=65535,
        rich_help_panel=PANEL_BATCH,
        help="Keep up to N requests outstanding, if the peer negotiates asynchronous "
        "operations for as many (else 1).",
    ),
]


StopOnFailure = Annotated[
    bool,
    typer.Option(
        "--stop-on-failure",
        rich_help_panel=PANEL_BATCH,
        help="Stop a batch at the first Failure status, or when the peer releases or aborts "
        "the association (by default the unanswered reports are sent again, marked resent, "
        "on a new association).",
    ),
]


Commit = Annotated[
    list[str] | None,
    typer.Option(
        "--commit",
        metavar="FILE|DIR",
        show_default=False,
        rich_help_panel=PANEL_EVENT_INFO,
        help="Storage commitment: a DICOM file (or every file under DIR) committed; "
        "its SOP Class/Instance UIDs go into Referenced SOP Sequence. Repeatable.",
    ),
]


Fail = Annotated[
    list[str] | None,
    typer.Option(
        "--fail",
        metavar="FILE[:REASON]",
        autocompletion=completion.failure_reasons,
        show_default=False,
        rich_help_panel=PANEL_EVENT_INFO,
        help="Storage commitment: a DICOM file (or DIR) that failed, into Failed SOP "
        "Sequence with a Failure Reason: 0x0112, 274 or a name (default 0x0110 "
        "processing-failure). Repeatable.",
    ),
]


TransactionUid = Annotated[
    str | None,
    typer.Option(
        "--transaction-uid",
        metavar="UID",
        show_default=False,
        rich_help_panel=PANEL_EVENT_INFO,
        help="Transaction UID of the storage commitment request answered. Default: "
        "TransactionUID of --data, else a new one.",
    ),
]


Strict = Annotated[
    bool,
    typer.Option(
        "--strict",
        rich_help_panel=PANEL_EVENT_INFO,
        help="Exit 2 without sending when the Event Information departs from what the "
        "standard says for the class and event (otherwise: warnings).",
    ),
]


RoleOpt = Annotated[
    Role,
    typer.Option(
        "--role",
        case_sensitive=False,
        help="SCP/SCU role selection proposed for the report's context. The sender "
        "of a report is the SCP of its SOP class; strict receivers "
        "(dcm4che) need scp.",
    ),
]


Port = Annotated[
    int,
    typer.Option(
        "--port",
        "-p",
        metavar="PORT",
        min=0,
        max=65535,
        help="TCP port to listen on, 0-65535 (0: any free port).",
    ),
]


AnswerStatus = Annotated[
    str,
    typer.Option(
        "--status",
        parser=checked(parse_status),
        autocompletion=completion.statuses,
        metavar="STATUS",
        rich_help_panel=PANEL_ANSWER,
        help="Status to answer with, by name or code: success, processing-failure, "
        "0x0110, 272, ...",
    ),
]


ForceStatus = Annotated[
    bool,
    typer.Option(
        "--force-status",
        rich_help_panel=PANEL_ANSWER,
        help="Allow a --status code that is not valid in an N-EVENT-REPORT-RSP "
        "(to test how a sender copes).",
    ),
]


class AnswerFindingsChoice(str, Enum):
    """Whether a report's findings (see send-report --strict) decide the answer."""

    YES = "yes"
    NO = "no"


AnswerFindings = Annotated[
    AnswerFindingsChoice,
    typer.Option(
        "--answer-findings",
        case_sensitive=False,
        rich_help_panel=PANEL_ANSWER,
        help="yes: answer a report that departs from the standard as the standard "
        "says; no: always answer --status, a permissive sink.",
    ),
]


ErrorComment = Annotated[
    str | None,
    typer.Option(
        "--error-comment",
        metavar="TEXT",
        rich_help_panel=PANEL_ANSWER,
        show_default=False,
        help="Error Comment (0000,0902) sent with the status (64 characters).",
    ),
]


Reply = Annotated[
    str,
    typer.Option(
        "--reply",
        metavar="none|echo|FILE",
        autocompletion=completion.reply_modes,
        rich_help_panel=PANEL_ANSWER,
        help="Event Reply to send with Success: none, echo (the received Event "
        "Information, as the LEADTOOLS reference server does) or a JSON file.",
    ),
]


OutputDir = Annotated[
    Path | None,
    typer.Option(
        "--output-dir",
        "-o",
        metavar="DIR",
        rich_help_panel=PANEL_ANSWER,
        show_default=False,
        file_okay=False,
        help="Keep each report there (Part 10 file of its Event Information and a "
        "JSON record), written before the answer; if that fails, the answer "
        "is 0x0110.",
    ),
]


ExecCommand = Annotated[
    str | None,
    typer.Option(
        "--exec",
        metavar="COMMAND",
        rich_help_panel=PANEL_ANSWER,
        show_default=False,
        help="Run COMMAND (no shell) for each report before answering, with "
        "DCMREPORT_RECORD, DCMREPORT_DATASET, DCMREPORT_SOP_INSTANCE_UID, ... "
        "in its environment; with --commitment exec, for a storage commitment request "
        "after answering it, to decide its result.",
    ),
]


ExecDecides = Annotated[
    bool,
    typer.Option(
        "--exec-decides",
        rich_help_panel=PANEL_ANSWER,
        help="The --exec program's outcome is the answer: exit 0 is Success (stdout: "
        "Event Reply JSON); otherwise stdout's first word is the status.",
    ),
]


ExecTimeout = Annotated[
    float,
    typer.Option(
        "--exec-timeout",
        metavar="SECONDS",
        min=0,
        rich_help_panel=PANEL_ANSWER,
        help="Kill the --exec program after that long (answer 0x0110).",
    ),
]


Delay = Annotated[
    float,
    typer.Option(
        "--delay",
        metavar="SECONDS",
        min=0,
        rich_help_panel=PANEL_FAULTS,
        help="Wait that long before answering each report.",
    ),
]


AbortAfter = Annotated[
    int | None,
    typer.Option(
        "--abort-after",
        metavar="N",
        min=0,
        rich_help_panel=PANEL_FAULTS,
        show_default=False,
        help="Answer N reports, then abort the association instead of answering.",
    ),
]


Reject = Annotated[
    str | None,
    typer.Option(
        "--reject",
        metavar="REASON",
        autocompletion=completion.rejections,
        rich_help_panel=PANEL_FAULTS,
        show_default=False,
        help="Reject every association: no-reason, calling-aet, called-aet, "
        "congestion, limit, or RESULT/SOURCE/REASON.",
    ),
]


RequireCalledAET = Annotated[
    bool,
    typer.Option(
        "--require-called-aet",
        rich_help_panel=PANEL_ACCESS,
        help="Reject associations that call another AE title (1/1/7).",
    ),
]


AllowCallingAET = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-calling-aet",
        metavar="AET|@FILE",
        rich_help_panel=PANEL_ACCESS,
        show_default=False,
        help="Accept only these calling AE titles (repeatable; @FILE: one per "
        "line); others are rejected (1/1/3).",
    ),
]


AcceptClass = Annotated[
    list[str] | None,
    typer.Option(
        "--accept-class",
        metavar="CLASS",
        rich_help_panel=PANEL_ACCESS,
        show_default=False,
        autocompletion=catalog.class_names,
        help="Accept only these abstract syntaxes, and Verification (repeatable; UIDs or names).",
    ),
]


MaxAssociations = Annotated[
    int,
    typer.Option(
        "--max-associations",
        metavar="N",
        min=1,
        rich_help_panel=PANEL_ACCESS,
        help="Concurrent associations; beyond, reject with local limit exceeded (2/3/2).",
    ),
]


Count = Annotated[
    int | None,
    typer.Option(
        "--count",
        "-n",
        metavar="N",
        min=1,
        show_default=False,
        help="Exit after N reports were answered.",
    ),
]


ListenTimeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=0,
        show_default=False,
        help="Give up after that long: exit 5 if --count reports (or, without "
        "--count, any report) have not been answered by then.",
    ),
]


Bind = Annotated[str, typer.Option("--bind", "-b", metavar="ADDRESS", help="Address to listen on.")]


# --- limits on what a peer may make the listener hold ------------------------------------

PANEL_LIMITS = "Limits (against broken and hostile peers)"
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:([kmg])(i?)b?|b)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``65536``, ``64MiB``, ``100MB``, ``1G``: a number of bytes (KiB = 1024, kB = 1000)."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (e.g. 65536, 64MiB, 100MB)")
    number, prefix, binary = match.groups()
    base = 1024 if binary else 1000
    size = int(float(number) * base ** " kmg".index((prefix or " ").lower()))
    if size < 1:
        raise ValueError(f"a size must be positive: {text!r}")
    return size


MaxDatasetSize = Annotated[
    int,
    typer.Option(
        "--max-dataset-size",
        metavar="SIZE",
        parser=wrap(parse_size),
        show_default="64MiB",
        rich_help_panel=PANEL_LIMITS,
        help="Largest data set a peer may send (counted as its fragments arrive, and once "
        "inflated); beyond, the association is aborted or the report refused (0x0213).",
    ),
]

MaxDepth = Annotated[
    int,
    typer.Option(
        "--max-depth",
        metavar="N",
        min=1,
        rich_help_panel=PANEL_LIMITS,
        help="Deepest nesting of sequences in a received data set; deeper: refused (0x0213).",
    ),
]

MaxElements = Annotated[
    int,
    typer.Option(
        "--max-elements",
        metavar="N",
        min=1,
        rich_help_panel=PANEL_LIMITS,
        help="Most elements and items in a received data set; more: refused (0x0213).",
    ),
]

PduTimeout = Annotated[
    float,
    typer.Option(
        "--pdu-timeout",
        metavar="SECONDS",
        min=0.1,
        rich_help_panel=PANEL_LIMITS,
        help="A whole PDU must arrive within that long, however slowly it trickles in; "
        "else the association is aborted and its slot freed.",
    ),
]


Wait = Annotated[
    float | None,
    typer.Option(
        "--wait",
        metavar="SECONDS",
        min=0,
        show_default=False,
        help="Try again until the peer answers or SECONDS have passed (then exit 3): "
        "for a job that has just started a listener.",
    ),
]


ReadyFile = Annotated[
    Path | None,
    typer.Option(
        "--ready-file",
        metavar="PATH",
        dir_okay=False,
        show_default=False,
        help="Once connections are accepted, write AET@HOST:PORT there (a peer to call, "
        "the port bound with --port 0); removed at exit.",
    ),
]


Check = Annotated[
    bool,
    typer.Option(
        "--check",
        help="C-ECHO every peer at once, each with its own settings, and show the "
        "round trip or why it failed (exit 3 if one did).",
    ),
]


# --- DICOM over TLS ----------------------------------------------------------------------

PANEL_TLS = "TLS"

TlsOn = Annotated[
    bool,
    typer.Option(
        "--tls",
        rich_help_panel=PANEL_TLS,
        help="DICOM over TLS (PS3.15 Annex B, port 2762 by convention): TLS 1.2 or later "
        "with BCP 195 cipher suites; a caller checks the peer's certificate and host name.",
    ),
]
TlsCert = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert",
        metavar="FILE",
        rich_help_panel=PANEL_TLS,
        show_default=False,
        help="Our certificate (PEM, chain allowed): required to listen, sent by a caller "
        "to a peer that asks for one.",
    ),
]
TlsKey = Annotated[
    Path | None,
    typer.Option(
        "--tls-key",
        metavar="FILE",
        rich_help_panel=PANEL_TLS,
        show_default=False,
        help="The unencrypted PEM private key of --tls-cert. Default: in the --tls-cert file.",
    ),
]
TlsCa = Annotated[
    Path | None,
    typer.Option(
        "--tls-ca",
        metavar="FILE|DIR",
        rich_help_panel=PANEL_TLS,
        show_default=False,
        help="CA certificates (a PEM file, or every PEM file in DIR) that sign the peer's "
        "certificate. A caller's default: the system's CAs; a listener with it asks "
        "clients for a certificate and checks the one presented.",
    ),
]
TlsNoVerify = Annotated[
    bool,
    typer.Option(
        "--tls-no-verify",
        rich_help_panel=PANEL_TLS,
        help="Do not check the peer's certificate (a listener: ask clients for none). "
        "Insecure, and warned about each time.",
    ),
]
TlsRequireClientCert = Annotated[
    bool,
    typer.Option(
        "--tls-require-client-cert",
        rich_help_panel=PANEL_TLS,
        help="Refuse a client without a certificate signed by a --tls-ca CA.",
    ),
]


# --- commit: the modality side of storage commitment --------------------------------------

PANEL_RESULT = "Waiting for the result"
PANEL_ACTION_INFO = "Action Information"

CommitPeer = Annotated[
    str,
    typer.Argument(
        parser=checked(_peer_or_name),
        metavar="PEER",
        show_default=False,
        autocompletion=completion.peer_names,
        help="The storage commitment SCP (the PACS): AE@HOST:PORT or a peer named in the "
        "settings file.",
    ),
]
CommitArguments = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[FILE|DIR] [KEY=VALUE]...",
        show_default=False,
        autocompletion=completion.commit_arguments,
        help="DICOM files (every file under DIR) to commit: their SOP Class/Instance UIDs go "
        "into Referenced SOP Sequence. Then Action Information elements applied on top: "
        "TransactionUID=UID, ReferencedSOPSequence[0].ReferencedSOPInstanceUID=UID.",
    ),
]
CommitData = Annotated[
    str | None,
    typer.Option(
        "--data",
        metavar="FILE|-",
        show_default=False,
        rich_help_panel=PANEL_ACTION_INFO,
        help='Action Information to start from: DICOM JSON model, {"Keyword": value} JSON or '
        "a DICOM Part 10 file; - reads stdin. Files and --ref are added to its Referenced "
        "SOP Sequence.",
    ),
]
Ref = Annotated[
    list[str] | None,
    typer.Option(
        "--ref",
        metavar="CLASS:INSTANCE",
        show_default=False,
        rich_help_panel=PANEL_ACTION_INFO,
        help="An instance to commit without its file: SOP Class (a UID or pydicom keyword) "
        "and SOP Instance UID. Repeatable.",
    ),
]
CommitTransactionUid = Annotated[
    str | None,
    typer.Option(
        "--transaction-uid",
        metavar="UID",
        show_default=False,
        rich_help_panel=PANEL_ACTION_INFO,
        help="Transaction UID of the request. Default: TransactionUID of --data, else a new one.",
    ),
]
Split = Annotated[
    int | None,
    typer.Option(
        "--split",
        metavar="N",
        min=1,
        show_default=False,
        rich_help_panel=PANEL_ACTION_INFO,
        help="Send N instances per request, each its own transaction with its own result "
        "(large studies).",
    ),
]
ResultPort = Annotated[
    int | None,
    typer.Option(
        "--port",
        "-p",
        metavar="PORT",
        min=0,
        max=65535,
        show_default=False,
        rich_help_panel=PANEL_RESULT,
        help="Also accept the result on a new association to this port, where the PACS "
        "reaches --aet (PS3.4 J.3.3), with --tls over TLS under --tls-cert. Without it: "
        "only on the request's association.",
    ),
]
ResultAET = Annotated[
    str | None,
    typer.Option(
        "--aet",
        metavar="AET",
        parser=wrap(check_ae_title),
        show_default=False,
        rich_help_panel=PANEL_RESULT,
        help="Our AE title on that port, as the PACS knows it. Default: --calling-aet.",
    ),
]
ResultBind = Annotated[
    str,
    typer.Option(
        "--bind",
        "-b",
        metavar="ADDRESS",
        rich_help_panel=PANEL_RESULT,
        help="Address to accept the result on.",
    ),
]
ResultTimeout = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=0,
        rich_help_panel=PANEL_RESULT,
        help="How long to wait for the results after the (last) request; exit 5 without one.",
    ),
]


# --- listen --commitment: the PACS side of storage commitment ----------------------------

PANEL_COMMITMENT = "Storage commitment (the PACS side)"


CommitmentPolicy = Annotated[
    str | None,
    typer.Option(
        "--commitment",
        metavar="POLICY",
        rich_help_panel=PANEL_COMMITMENT,
        show_default=False,
        help="Answer storage commitment requests (N-ACTION), then report the result: all "
        "(every instance committed), none[:REASON] (every one failed), dir:DIR (committed if "
        "a DICOM file of that instance and class is under DIR, else 0x0112 or 0x0119), exec "
        '(the --exec program prints {"committed": [UID, ...], "failed": {UID: REASON}} naming '
        "each requested instance once; if it fails, every instance failed with 0x0110).",
    ),
]
CommitmentDelay = Annotated[
    float,
    typer.Option(
        "--commitment-delay",
        metavar="SECONDS",
        min=0,
        rich_help_panel=PANEL_COMMITMENT,
        help="Wait that long between the N-ACTION-RSP and the result.",
    ),
]
CommitmentOnOpt = Annotated[
    CommitmentOn,
    typer.Option(
        "--commitment-on",
        rich_help_panel=PANEL_COMMITMENT,
        help="Send the result on the request's association (same), on a new one to --peer "
        "(new), or on the same while the requester holds it, else a new one (auto).",
    ),
]
CommitmentPeers = Annotated[
    list[str] | None,
    typer.Option(
        "--peer",
        metavar="AET=HOST:PORT",
        rich_help_panel=PANEL_COMMITMENT,
        show_default=False,
        help="Where a requester's AE title listens for results on a new association "
        "(repeatable); the listener's AE title calls it, proposing the SCP role. With --tls "
        "over TLS: --tls-cert is the client certificate, --tls-ca checks the requester's.",
    ),
]
CommitmentRetries = Annotated[
    int,
    typer.Option(
        "--commitment-retries",
        metavar="N",
        min=0,
        rich_help_panel=PANEL_COMMITMENT,
        help="Attempts after a result could not be delivered, a second apart.",
    ),
]
