"""How many connections a listening side holds, and for how long before they associate.

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
from dcmreport.cli.options import PANEL_LIMITS
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    from dcmreport.association.admission import SlotLimits


@frozen
class Slots:
    """Associations, connections waiting to associate, and how many of each one address holds."""

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

    def limits(self) -> "SlotLimits":
        from dcmreport.association.admission import SlotLimits

        return configured(SlotLimits, self)
