"""Association options: what each side announces, whom a caller calls, how long both wait.

They build :class:`~dcmreport.association.common.Settings`: every field of the
same name comes from the bundle (``max_pdu``, the timeouts); the AE title, the
transfer syntaxes and the connect timeout are converted on the way.
"""

import logging
from typing import TYPE_CHECKING, Annotated

import typer

from dcmreport.cli.bundles import configured, parsed
from dcmreport.cli.options import (
    ACCEPTED_TRANSFER_SYNTAXES,
    AE_TITLE,
    PANEL_ASSOC,
    PROPOSED_TRANSFER_SYNTAXES,
    ConfigPath,
    check_implementation_version,
    parse_peer,
    transfer_syntax_option,
    uid,
    wrap,
)
from dcmreport.dicom import catalog
from dcmreport.dicom.address import Peer, check_ae_title
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    import ssl

    from dcmreport.association.common import Settings

LOG = logging.getLogger("dcmreport")


# A side's own options are a base listed last, so that they come first in help: a
# dataclass orders its fields by the reversed method resolution order.


@frozen
class _Association:
    """What both sides of an association announce and how long they wait."""

    max_pdu: Annotated[
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
    ] = 16382
    implementation_class_uid: Annotated[
        str | None,
        typer.Option(
            "--implementation-class-uid",
            envvar="DCMREPORT_IMPLEMENTATION_CLASS_UID",
            show_envvar=True,
            metavar="UID",
            parser=uid("implementation class UID"),
            rich_help_panel=PANEL_ASSOC,
            show_default=False,
            help="Implementation Class UID to announce. Default: pynetdicom's.",
        ),
    ] = None
    implementation_version: Annotated[
        str | None,
        typer.Option(
            "--implementation-version",
            envvar="DCMREPORT_IMPLEMENTATION_VERSION",
            show_envvar=True,
            metavar="NAME",
            parser=wrap(check_implementation_version),
            rich_help_panel=PANEL_ASSOC,
            show_default=False,
            help="Implementation Version Name to announce (1-16 characters).",
        ),
    ] = None
    acse_timeout: Annotated[
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
    ] = 30.0
    dimse_timeout: Annotated[
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
    ] = 30.0
    network_timeout: Annotated[
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
    ] = 60.0
    config: ConfigPath = None


def chosen_transfer_syntaxes(chosen: list[str] | None, names: tuple[str, ...]) -> tuple[str, ...]:
    """The -x UIDs (already resolved by their parser), else the named defaults."""
    return tuple(chosen or (catalog.resolve_transfer_syntax(name) for name in names))


@frozen
class _Calling:
    """The requestor's own options: whom it calls, as whom, and how long it tries."""

    # No DCMREPORT_CALLING_AET or DCMREPORT_CALLED_AET: listen --exec gives its program
    # those names for the report's own AE titles, and a program that answers with
    # dcmreport send-report must not call with the modality's title by accident.
    # One AE title per side, -aet and --aet in every command (listen's is its own): a peer
    # that calls back (commit's PACS) calls the AE title that called it (PS3.4 J.3.3).
    calling_aet: Annotated[
        str,
        typer.Option(
            "--aet",
            "--calling-aet",
            "-aet",
            metavar="AET",
            parser=AE_TITLE,
            rich_help_panel=PANEL_ASSOC,
            help="Our AE title: the calling AE title of our association (commit: also the "
            "one the PACS calls back with the result).",
        ),
    ] = "DCMREPORT"
    called_aet: Annotated[
        str | None,
        typer.Option(
            "--called-aet",
            "-aec",
            metavar="AET",
            parser=wrap(lambda value: check_ae_title(value, "called AE title")),
            rich_help_panel=PANEL_ASSOC,
            show_default=False,
            help="The peer's AE title; overrides the AE@ of the peer argument.",
        ),
    ] = None
    transfer_syntax: Annotated[
        list[str] | None,
        transfer_syntax_option(f"Default: {', '.join(PROPOSED_TRANSFER_SYNTAXES)}."),
    ] = None
    connect_timeout: Annotated[
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
    ] = 10.0


@frozen
class RequestorAssociation(_Association, _Calling):
    """The association options of a command that calls a peer (echo, send-report, commit)."""

    def settings(self, tls: "ssl.SSLContext | None" = None) -> "Settings":
        """The settings; ``tls`` from the :class:`Tls` bundle, None for plain DICOM."""
        from dcmreport.association.common import Settings

        return configured(
            Settings,
            self,
            ae_title=self.calling_aet,
            transfer_syntaxes=chosen_transfer_syntaxes(
                self.transfer_syntax, PROPOSED_TRANSFER_SYNTAXES
            ),
            connect_timeout=self.connect_timeout or None,  # 0: wait as long as the system does
            tls=tls,
        )

    def peer(self, given: str | None) -> Peer:
        """The peer to call: PEER, else $DCMREPORT_PEER, either an address or a named peer.

        --called-aet overrides its AE title.
        """
        from dcmreport.cli import unknown_peer
        from dcmreport.cli.precedence import resolve_peer

        address = resolve_peer(given, self.config)
        chosen = parsed(address.what, parse_peer, address.text)
        if given and address.what == "PEER":  # a word typed, that names no peer
            unknown_peer.check(given, chosen, self.config)
        LOG.info("setting peer = %s (%s)", chosen, address.origin)
        return Peer(self.called_aet, chosen.host, chosen.port) if self.called_aet else chosen


@frozen
class _Listening:
    """The listener's own options: its AE title and the transfer syntaxes it accepts."""

    aet: Annotated[
        str, typer.Option("--aet", "-aet", metavar="AET", parser=AE_TITLE, help="Our AE title.")
    ] = "DCMREPORT"
    transfer_syntax: Annotated[
        list[str] | None,
        transfer_syntax_option("Default: all of them, in the order the requestor proposes."),
    ] = None


@frozen
class AcceptorAssociation(_Association, _Listening):
    """The association options of the listener: its own AE title, no connect timeout."""

    def settings(self, tls: "ssl.SSLContext | None" = None) -> "Settings":
        """The settings; ``tls`` from the :class:`ListenTls` bundle, None for plain DICOM."""
        from dcmreport.association.common import Settings

        return configured(
            Settings,
            self,
            ae_title=self.aet,
            transfer_syntaxes=chosen_transfer_syntaxes(
                self.transfer_syntax, ACCEPTED_TRANSFER_SYNTAXES
            ),
            connect_timeout=None,
            tls=tls,
        )
