"""Output options: how much goes to stderr, and in which form results go to stdout."""

import dataclasses
import sys
from enum import Enum
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from dcmreport.cli.options import PANEL_OUTPUT
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    from dcmreport.output.render import Renderer

_V = TypeVar("_V", bound="Verbosity")


@frozen
class Verbosity:
    """How much goes to stderr; also accepted before the command (``dcmreport -v echo``)."""

    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            rich_help_panel=PANEL_OUTPUT,
            help="Show the negotiation: AE titles, PDU sizes, implementation UIDs, "
            "every presentation context with its transfer syntax and roles.",
        ),
    ] = False
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            "-d",
            rich_help_panel=PANEL_OUTPUT,
            help="Full DIMSE/PDU debug log, tracebacks included. May print patient data from "
            "datasets.",
        ),
    ] = False
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            rich_help_panel=PANEL_OUTPUT,
            help="No notes or warnings on stderr; errors only.",
        ),
    ] = False

    def joined(self: _V, before: object) -> _V:
        """These flags together with those given before the command (``before``, if any)."""
        if not isinstance(before, Verbosity):
            return self
        return dataclasses.replace(
            self,
            verbose=self.verbose or before.verbose,
            debug=self.debug or before.debug,
            quiet=self.quiet or before.quiet,
        )


class OutputFormat(str, Enum):
    AUTO = "auto"
    TEXT = "text"
    JSON = "json"


@frozen
class Output(Verbosity):
    """Where and how results are shown."""

    format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            envvar="DCMREPORT_FORMAT",
            show_envvar=True,
            rich_help_panel=PANEL_OUTPUT,
            case_sensitive=False,
            help="auto: rich text on a terminal, JSON when piped.",
        ),
    ] = OutputFormat.AUTO

    def json(self) -> bool:
        """Whether results are JSON: asked for, or auto and stdout is no terminal."""
        if self.format is OutputFormat.AUTO:
            return not sys.stdout.isatty()
        return self.format is OutputFormat.JSON

    def renderer(self, full: bool = False) -> "Renderer":
        """auto is rich text on a terminal and JSON lines when piped; only that one is built."""
        from dcmreport.output.render import make_renderer

        return make_renderer("json" if self.json() else "text", self.quiet, full)


@frozen
class ReportOutput(Output):
    """Output of commands that show data sets: long sequences summarised unless ``--full``."""

    full: Annotated[
        bool,
        typer.Option(
            "--full",
            rich_help_panel=PANEL_OUTPUT,
            help="Show every item of long sequences, not only the first ones.",
        ),
    ] = False

    def renderer(self, full: bool = False) -> "Renderer":
        return super().renderer(full or self.full)
