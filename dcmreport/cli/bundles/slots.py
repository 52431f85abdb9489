"""How many connections a listening side holds, for how long before they associate, and how
much memory their data sets may take.

Shared by ``listen`` and ``commit --port`` (which accepts the result on a
listener of its own): :class:`Slots` builds the
:class:`~dcmreport.association.admission.SlotLimits` of their
:class:`~dcmreport.association.listener.ListenOptions`. Why the limits are what
they are, and what happens when one is reached, is
:mod:`dcmreport.association.admission`'s docstring.
"""

from typing import TYPE_CHECKING, Annotated

import typer

from dcmreport.cli.bundles import configured
from dcmreport.cli.options import PANEL_LIMITS, parse_size, wrap
from dcmreport.errors import InputError
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    from dcmreport.association.admission import SlotLimits


@frozen
class Slots:
    """Associations, connections waiting to associate, how many of each one address holds, and
    the memory budget of the data sets in flight."""

    max_associations: Annotated[
        int,
        typer.Option(
            "--max-associations",
            metavar="N",
            min=1,
            rich_help_panel=PANEL_LIMITS,
            help="Concurrent associations, counted from their A-ASSOCIATE-RQ (a connection "
            "that has not sent one holds none); beyond, reject with local limit exceeded "
            "(2/3/2).",
        ),
    ] = 10
    max_waiting: Annotated[
        int,
        typer.Option(
            "--max-waiting",
            metavar="N",
            min=1,
            rich_help_panel=PANEL_LIMITS,
            help="Connections that have not sent their A-ASSOCIATE-RQ yet; beyond, the "
            "oldest of the address holding the most is closed to make room, so a flood "
            "from one address cannot keep others out.",
        ),
    ] = 32
    first_pdu_timeout: Annotated[
        float,
        typer.Option(
            "--first-pdu-timeout",
            metavar="SECONDS",
            min=0.1,
            rich_help_panel=PANEL_LIMITS,
            help="A connection's whole A-ASSOCIATE-RQ (and TLS handshake) must arrive within "
            "that long, else it is closed (one warning per address per minute).",
        ),
    ] = 5.0
    max_per_address: Annotated[
        int,
        typer.Option(
            "--max-per-address",
            metavar="N",
            min=0,
            rich_help_panel=PANEL_LIMITS,
            show_default="no limit",
            help="Associations from one IP address (beyond, reject 2/3/2), and connections "
            "from it waiting to associate (beyond, its oldest closed); 0: no limit.",
        ),
    ] = 0

    memory_budget: Annotated[
        int,
        typer.Option(
            "--memory-budget",
            metavar="SIZE",
            parser=wrap(parse_size),
            show_default="256MiB",
            rich_help_panel=PANEL_LIMITS,
            help="Memory for the data sets in flight across all associations, each received "
            "byte counted twice (its buffer, its decoded value) until its report is recorded "
            "and shown; a report that would pass it is refused (0x0213). An eighth is kept for "
            "data sets up to 1 MiB. At least 16/7 of --max-dataset-size.",
        ),
    ] = 256 * 1024 * 1024

    def budget(self, max_dataset_size: int) -> int:
        """--memory-budget, once it is known to hold one data set of the largest size allowed."""
        from dcmreport.association import budget

        if not budget.holds(self.memory_budget, max_dataset_size):
            raise InputError(
                f"--memory-budget {self.memory_budget:,} bytes cannot hold one data set of "
                f"--max-dataset-size {max_dataset_size:,} bytes (each byte counts "
                f"{budget.COST_PER_BYTE} times, within seven eighths of the budget): raise "
                "--memory-budget or lower --max-dataset-size"
            )
        return self.memory_budget

    def limits(self) -> "SlotLimits":
        from dcmreport.association.admission import SlotLimits

        return configured(SlotLimits, self)
