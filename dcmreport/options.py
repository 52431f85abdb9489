"""Command-line options declared once and shared by the commands.

Each alias is an ``Annotated`` type carrying its ``typer.Option``; a command
lists the ones it takes. Parsers here validate (AE titles, UIDs, transfer
syntaxes) so that a bad value is a usage error (exit 2) naming the option.
Nothing here imports pynetdicom or pydicom: ``--help`` stays fast.
"""

from __future__ import annotations

import os
from enum import Enum
from typing import Annotated

import typer

from dcmreport import catalog
from dcmreport.peer import DEFAULT_PEER, Peer, check_ae_title

PANEL_ASSOC = "Association"
PANEL_OUTPUT = "Output"


def wrap(parse: object) -> object:
    """Turn a ValueError of a parser into typer.BadParameter (a usage error, exit 2)."""

    def parser(value: str) -> object:
        if not isinstance(value, str):  # a default given in its parsed form
            return value
        try:
            return parse(value)  # type: ignore[operator]
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return parser


def parse_peer(value: str | Peer) -> Peer:
    return value if isinstance(value, Peer) else Peer.parse(value)


def _uid(what: str) -> object:
    return wrap(lambda value: catalog.check_uid(value, what))


def _implementation_version(value: str) -> str:
    if not 1 <= len(value) <= 16 or not value.isascii() or not value.isprintable():
        raise ValueError(
            f"implementation version name {value!r} must be 1-16 printable ASCII characters"
        )
    return value


def default_peer() -> str:
    return os.environ.get("DCMREPORT_PEER", DEFAULT_PEER)


PeerArg = Annotated[
    Peer | None,
    typer.Argument(
        parser=wrap(parse_peer),
        metavar="[AET@]HOST[:PORT]",
        show_default=False,
        help=f"The peer to call. Default: $DCMREPORT_PEER, else {DEFAULT_PEER}.",
    ),
]
CallingAET = Annotated[
    str,
    typer.Option(
        "--calling-aet",
        "-aet",
        parser=wrap(check_ae_title),
        rich_help_panel=PANEL_ASSOC,
        help="Our AE title.",
    ),
]
ListenAET = Annotated[
    str,
    typer.Option("--aet", "-aet", parser=wrap(check_ae_title), help="Our AE title."),
]
CalledAET = Annotated[
    str | None,
    typer.Option(
        "--called-aet",
        "-aec",
        parser=wrap(lambda v: check_ae_title(v, "called AE title")),
        rich_help_panel=PANEL_ASSOC,
        show_default=False,
        help="The peer's AE title; overrides the one in PEER.",
    ),
]
MaxPdu = Annotated[
    int,
    typer.Option(
        "--max-pdu",
        min=0,
        rich_help_panel=PANEL_ASSOC,
        help="Maximum PDU length we receive, in bytes (0: unlimited).",
    ),
]
ImplementationUID = Annotated[
    str | None,
    typer.Option(
        "--implementation-class-uid",
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
        parser=wrap(_implementation_version),
        rich_help_panel=PANEL_ASSOC,
        show_default=False,
        help="Implementation Version Name to announce (1-16 characters).",
    ),
]
TransferSyntaxes = Annotated[
    list[str] | None,
    typer.Option(
        "--transfer-syntax",
        "-x",
        parser=wrap(catalog.resolve_transfer_syntax),
        rich_help_panel=PANEL_ASSOC,
        show_default=False,
        help="Transfer syntax, repeatable, in order of preference: implicit, explicit, "
        "deflated, big, or a UID.",
    ),
]
ConnectTimeout = Annotated[
    float,
    typer.Option(
        "--connect-timeout",
        min=0,
        rich_help_panel=PANEL_ASSOC,
        help="Seconds to wait for the TCP connection.",
    ),
]
AcseTimeout = Annotated[
    float,
    typer.Option(
        "--acse-timeout",
        min=0,
        rich_help_panel=PANEL_ASSOC,
        help="Seconds to wait for association messages.",
    ),
]
DimseTimeout = Annotated[
    float,
    typer.Option(
        "--dimse-timeout",
        min=0,
        rich_help_panel=PANEL_ASSOC,
        help="Seconds to wait for a DIMSE response.",
    ),
]
NetworkTimeout = Annotated[
    float,
    typer.Option(
        "--network-timeout",
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
        rich_help_panel=PANEL_OUTPUT,
        case_sensitive=False,
        help="auto: rich text on a terminal, JSON when piped.",
    ),
]


class Role(str, Enum):
    """SCP/SCU role selection to propose for a report's presentation context."""

    SCP = "scp"
    SCU = "scu"
    BOTH = "both"
    NONE = "none"
