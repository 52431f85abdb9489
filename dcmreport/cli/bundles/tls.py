"""DICOM over TLS: the options of every command, and the SSL contexts they make.

A TLS option without ``--tls``, or two that contradict each other, is a usage
error (exit 2); the files are read when the context is made, before any
association is opened.
"""

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dcmreport.cli.options import PANEL_TLS
from dcmreport.errors import InputError
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    import ssl


@frozen
class Tls:
    """DICOM over TLS for a command that calls a peer; the TLS options of every command."""

    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            rich_help_panel=PANEL_TLS,
            help="DICOM over TLS (PS3.15 Annex B, port 2762 by convention): TLS 1.2 or later "
            "with BCP 195 cipher suites; a caller checks the peer's certificate and host name.",
        ),
    ] = False
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert",
            metavar="FILE",
            rich_help_panel=PANEL_TLS,
            show_default=False,
            help="Our certificate (PEM, chain allowed): required to listen, sent by a caller "
            "to a peer that asks for one.",
        ),
    ] = None
    tls_key: Annotated[
        Path | None,
        typer.Option(
            "--tls-key",
            metavar="FILE",
            rich_help_panel=PANEL_TLS,
            show_default=False,
            help="The unencrypted PEM private key of --tls-cert. Default: in the --tls-cert file.",
        ),
    ] = None
    tls_ca: Annotated[
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
    ] = None
    tls_no_verify: Annotated[
        bool,
        typer.Option(
            "--tls-no-verify",
            rich_help_panel=PANEL_TLS,
            help="Do not check the peer's certificate (a listener: ask clients for none). "
            "Insecure, and warned about each time.",
        ),
    ] = False

    def client_context(self) -> "ssl.SSLContext | None":
        """The requestor's context, None for plain DICOM; files are read now (exit 2)."""
        from dcmreport.association import tls

        if not self._checked():
            return None
        return tls.client_context(
            self.tls_cert, self.tls_key, self.tls_ca, verify=not self.tls_no_verify
        )

    def result_server_context(
        self, command: str = "commit --tls --port", sender: str = "the PACS reports"
    ) -> "ssl.SSLContext | None":
        """``commit --port`` (or ``watch``) with --tls: the peer's new association is TLS
        too, under --tls-cert; a client certificate it shows must be signed by --tls-ca."""
        from dcmreport.association import tls

        if not self._checked():
            return None
        if self.tls_cert is None:
            raise InputError(
                f"{command} needs --tls-cert (and --tls-key unless the key is in it)",
                f"{sender} on a new association to a TLS server, which has a certificate",
            )
        return tls.server_context(self.tls_cert, self.tls_key, self.tls_ca, False)

    def _checked(self) -> bool:
        """Whether TLS is on; a TLS option without --tls would silently not apply (exit 2)."""
        given = [
            f"--{field.name.replace('_', '-')}"
            for field in dataclasses.fields(self)
            if field.name != "tls" and getattr(self, field.name)
        ]
        if given and not self.tls:
            raise InputError(f"{given[0]} goes with --tls")
        if self.tls_key is not None and self.tls_cert is None:
            raise InputError("--tls-key goes with --tls-cert")
        if self.tls_no_verify and self.tls_ca is not None:
            raise InputError("--tls-no-verify contradicts --tls-ca: nothing is checked against it")
        return self.tls


@frozen
class ListenTls(Tls):
    """The listener's TLS options: its certificate is required, a client's may be."""

    tls_require_client_cert: Annotated[
        bool,
        typer.Option(
            "--tls-require-client-cert",
            rich_help_panel=PANEL_TLS,
            help="Refuse a client without a certificate signed by a --tls-ca CA.",
        ),
    ] = False

    def server_context(self) -> "ssl.SSLContext | None":
        from dcmreport.association import tls

        if not self._checked():
            return None
        if self.tls_cert is None:
            raise InputError(
                "listen --tls needs --tls-cert (and --tls-key unless the key is in that file)",
                "a TLS server always presents a certificate",
            )
        if self.tls_require_client_cert and self.tls_ca is None:
            raise InputError(
                "--tls-require-client-cert needs --tls-ca: the CA that signs client certificates"
            )
        if self.tls_no_verify:
            tls.LOG.warning(
                "--tls-no-verify: clients are not asked for a certificate; any client is accepted"
            )
        return tls.server_context(
            self.tls_cert, self.tls_key, self.tls_ca, self.tls_require_client_cert
        )
