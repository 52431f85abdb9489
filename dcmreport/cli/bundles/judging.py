"""How a command that judges its peer's answer exits when the answer breaks the standard.

``send-report`` and ``commit`` judge what comes back (:mod:`dcmreport.dicom.judge`):
an answer with findings exits 7 (``ExitCode.BROKEN_ANSWER``), whatever its status
says, because a test tool that lets a broken answer pass as success hides the
bug it is there to find. ``--accept-findings`` is for the peer one cannot fix
today: the findings are still shown, the exit code follows the status (and,
for ``commit``, the event) alone.
"""

from typing import Annotated

import typer

from dcmreport.cli.options import PANEL_OUTPUT
from dcmreport.errors import ExitCode
from dcmreport.frozen import frozen


@frozen
class Judging:
    """Whether findings on the peer's answer decide the exit code."""

    accept_findings: Annotated[
        bool,
        typer.Option(
            "--accept-findings",
            rich_help_panel=PANEL_OUTPUT,
            help="Exit by the peer's status (commit: and the result's event) alone when its "
            "answer breaks the standard; the findings are still shown. Default: exit 7.",
        ),
    ] = False

    def exit_code(self, found: bool, otherwise: ExitCode) -> ExitCode:
        """7 when the answer has findings (unless accepted), else ``otherwise``."""
        return ExitCode.BROKEN_ANSWER if found and not self.accept_findings else otherwise
