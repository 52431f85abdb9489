"""What the option declarations share: help panels, parsers, and the few shared options.

Each option is declared once, inline, where its value lands: as a field of its
bundle (:mod:`dcmreport.cli.bundles`), ``Annotated`` with its ``typer.Option``
and followed by its default, or as a parameter of its command
(:mod:`dcmreport.cli.app`). This module holds only what several declarations
share: the titles of the help panels (so two bundles cannot misspell one),
the parsers that validate a value (AE titles, UIDs, peers, sizes) so that a
bad one is a usage error (exit 2) naming the option, and the declarations used
by more than one bundle or command (``--config``, ``--transfer-syntax``).

Every value option names its metavar for what it is (``SECONDS``, ``UID``,
``AET``): Typer would otherwise show a Python type.
Nothing here imports pynetdicom or pydicom: ``--help`` stays fast.
"""

# No ``from __future__ import annotations``: Typer reads the shared declarations on every
# run, and would compile them from strings each time.
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from dcmreport.cli import completion
from dcmreport.dicom import catalog
from dcmreport.dicom.address import Peer, check_ae_title

# --- help panels, in the order help shows them within a command ----------------------------

PANEL_ASSOC = "Association"  # also what -v logs with its source (cli.precedence)
PANEL_OUTPUT = "Output"
PANEL_ANSWER = "Answer"
PANEL_FAULTS = "Fault injection"
PANEL_ACCESS = "Access control"
PANEL_EVENT_INFO = "Event Information"
PANEL_BATCH = "Batch (many reports over one association)"
PANEL_LIMITS = "Limits (against broken and hostile peers)"
PANEL_TLS = "TLS"
PANEL_RESULT = "Waiting for the result"
PANEL_ACTION_INFO = "Action Information"
PANEL_COMMITMENT = "Storage commitment (the PACS side)"


# --- parsers ---------------------------------------------------------------------------------


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


def _peer_or_name(value: str) -> str:
    """An address, a name of the settings file (a name also parses as a host), or
    ``@FILE`` (the address a ``listen --ready-file`` wrote: read when the command runs)."""
    if not value.startswith("@"):
        Peer.parse(value)
    return value


# Our own AE title (--calling-aet, listen's --aet, commit's --aet).
AE_TITLE = wrap(check_ae_title)
# The peer argument of echo and commit: checked, kept as typed (a name of the settings file).
PEER = checked(_peer_or_name)


def uid(what: str) -> Callable[[str], object]:
    """A UID, ``what`` naming it in the error."""
    return wrap(lambda value: catalog.check_uid(value, what))


def check_implementation_version(value: str) -> str:
    if not 1 <= len(value) <= 16 or not value.isascii() or not value.isprintable():
        raise ValueError(
            f"implementation version name {value!r} must be 1-16 printable ASCII characters"
        )
    return value


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


# --- options several bundles or commands declare ---------------------------------------------

# The bundle of the association options and the peers command both read the settings file.
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

PROPOSED_TRANSFER_SYNTAXES = ("explicit", "implicit")
ACCEPTED_TRANSFER_SYNTAXES = tuple(catalog.TRANSFER_SYNTAXES)


def transfer_syntax_option(default: str) -> Any:
    """``-x``, a caller's (proposed) or a listener's (accepted); ``default`` says what it is."""
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
