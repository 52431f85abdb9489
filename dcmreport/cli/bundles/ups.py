"""UPS events' options: ``watch`` (the subscriber) and ``listen --ups`` (the worklist manager).

:class:`Subscribing` builds ``watch``'s subscription N-ACTION, its stop
conditions and the listener on which the events come; :class:`UpsEvents` the
``listen --ups`` :class:`~dcmreport.dicom.ups.Worklist` and the options of
its :class:`~dcmreport.association.ups_scp.EventPusher`.
"""

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dcmreport.cli.bundles.association import RequestorAssociation
from dcmreport.cli.bundles.commit import accepting
from dcmreport.cli.bundles.slots import Slots
from dcmreport.cli.bundles.tls import Tls
from dcmreport.errors import InputError
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    from dcmreport.association.commit_scu import NewAssociations
    from dcmreport.association.ups_scp import UpsOptions
    from dcmreport.cli.bundles.listen import Committing
    from dcmreport.cli.bundles.tls import ListenTls
    from dcmreport.dicom.ups import SubscriptionAction, Worklist
    from dcmreport.listen.watch import StopWhen

PANEL_SUBSCRIPTION = "Subscription"
PANEL_STOP = "When to stop"
PANEL_UPS = "UPS events (the worklist manager side)"


class UpsState(str, Enum):
    """A Procedure Step State (PS3.4 CC.1.1) that ends ``watch``."""

    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN PROGRESS"
    CANCELED = "CANCELED"
    COMPLETED = "COMPLETED"


@frozen
class Subscribing:
    """``watch``: what it subscribes to, where the events come, and when it stops."""

    port: Annotated[
        int,
        typer.Option(
            "--port",
            "-p",
            metavar="PORT",
            min=0,
            max=65535,
            rich_help_panel=PANEL_SUBSCRIPTION,
            help="Accept the UPS event reports on this port, as our AE title (--aet, the "
            "Receiving AE the subscription names); the SCP must know that AE title at this "
            "host and port.",
        ),
    ] = 11113
    bind: Annotated[
        str,
        typer.Option(
            "--bind",
            "-b",
            metavar="ADDRESS",
            rich_help_panel=PANEL_SUBSCRIPTION,
            help="Address to accept the event reports on.",
        ),
    ] = "0.0.0.0"
    global_subscription: Annotated[
        bool,
        typer.Option(
            "--global",
            rich_help_panel=PANEL_SUBSCRIPTION,
            help="Subscribe to every UPS of the SCP (the Global Subscription instance).",
        ),
    ] = False
    filter_keys: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            metavar="KEY=VALUE",
            rich_help_panel=PANEL_SUBSCRIPTION,
            show_default=False,
            help="Subscribe to the UPSs matching these keys, as C-FIND would match them (the "
            "Filtered Global Subscription instance; repeatable): ScheduledStationName=CT1.",
        ),
    ] = None
    deletion_lock: Annotated[
        bool,
        typer.Option(
            "--deletion-lock",
            rich_help_panel=PANEL_SUBSCRIPTION,
            help="Ask the SCP to keep the UPS until we unsubscribe (Deletion Lock TRUE); "
            "warns when not granted (B301).",
        ),
    ] = False
    keep_subscription: Annotated[
        bool,
        typer.Option(
            "--keep-subscription",
            rich_help_panel=PANEL_SUBSCRIPTION,
            help="Do not unsubscribe on the way out.",
        ),
    ] = False
    unsubscribe: Annotated[
        bool,
        typer.Option(
            "--unsubscribe",
            rich_help_panel=PANEL_SUBSCRIPTION,
            help="Only unsubscribe --aet (from the UPS, or with --global from everything), "
            "then exit: cleaning up after another subscriber.",
        ),
    ] = False
    suspend_global: Annotated[
        bool,
        typer.Option(
            "--suspend-global",
            rich_help_panel=PANEL_SUBSCRIPTION,
            help="Only suspend --aet's Global Subscription (new UPSs no longer subscribe it; "
            "existing subscriptions stay), then exit.",
        ),
    ] = False
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            "-n",
            metavar="N",
            min=1,
            show_default=False,
            rich_help_panel=PANEL_STOP,
            help="Stop after N event reports were answered (initial State Reports included).",
        ),
    ] = None
    until_state: Annotated[
        UpsState | None,
        typer.Option(
            "--until-state",
            metavar="STATE",
            case_sensitive=False,
            show_default=False,
            rich_help_panel=PANEL_STOP,
            help="Stop once a UPS State Report says the UPS (given as UPS_INSTANCE_UID) is in "
            'this state: SCHEDULED, "IN PROGRESS", CANCELED or COMPLETED.',
        ),
    ] = None
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            min=0,
            show_default=False,
            rich_help_panel=PANEL_STOP,
            help="Give up after that long: unsubscribe and exit 5.",
        ),
    ] = None
    ready_file: Annotated[
        Path | None,
        typer.Option(
            "--ready-file",
            metavar="PATH",
            dir_okay=False,
            show_default=False,
            rich_help_panel=PANEL_STOP,
            help="Once subscribed, write AET@HOST:PORT there (where the events are accepted); "
            "removed at exit.",
        ),
    ] = None

    def action(self, receiving_ae: str, instance: str | None) -> "SubscriptionAction":
        """The N-ACTION asked for; the options are checked against each other first."""
        from pydicom import Dataset

        from dcmreport.dicom import dataset, ups
        from dcmreport.dicom.ups import SubscriptionAction

        self._one_action_alone()
        scopes = [bool(instance), self.global_subscription, bool(self.filter_keys)]
        if sum(scopes) > 1:
            raise InputError("give one of UPS_INSTANCE_UID, --global and --filter")
        if self.suspend_global:
            if instance or self.filter_keys:
                raise InputError(
                    "--suspend-global acts on the Global Subscription: leave out "
                    + ("UPS_INSTANCE_UID" if instance else "--filter"),
                )
            return SubscriptionAction(ups.SUSPEND_GLOBAL, ups.GLOBAL_INSTANCE, receiving_ae)
        if self.until_state is not None and not instance:
            raise InputError(
                "--until-state needs the UPS_INSTANCE_UID whose state it waits for",
                "or stop with --count N or --timeout",
            )
        if not any(scopes):
            raise InputError(
                "what to watch: a UPS_INSTANCE_UID, --global or --filter KEY=VALUE",
                "e.g. dcmreport watch WORKLIST@127.0.0.1:11112 1.2.3.4 --aet WATCHER",
            )
        target = (
            instance
            if instance
            else ups.FILTERED_INSTANCE
            if self.filter_keys
            else ups.GLOBAL_INSTANCE
        )
        if self.unsubscribe:
            if target == ups.FILTERED_INSTANCE:
                raise InputError("--unsubscribe --filter: unsubscribe with --global instead")
            return SubscriptionAction(ups.UNSUBSCRIBE, target, receiving_ae)
        keys = dataset.apply_assignments(Dataset(), self.filter_keys) if self.filter_keys else None
        return SubscriptionAction(ups.SUBSCRIBE, target, receiving_ae, self.deletion_lock, keys)

    def _one_action_alone(self) -> None:
        """--unsubscribe and --suspend-global send one N-ACTION and exit: nothing is
        subscribed, waited for or kept, so an option about that would silently not apply."""
        if self.unsubscribe and self.suspend_global:
            raise InputError("--unsubscribe and --suspend-global: give one of them")
        alone = "--unsubscribe" if self.unsubscribe else "--suspend-global"
        if not (self.unsubscribe or self.suspend_global):
            return
        given = {
            "--deletion-lock": self.deletion_lock,
            "--keep-subscription": self.keep_subscription,
            "--count": self.count is not None,
            "--until-state": self.until_state is not None,
            "--ready-file": self.ready_file is not None,
        }
        for option, present in given.items():
            if present:
                raise InputError(
                    f"{option} goes with a subscription, not {alone}",
                    f"{alone} only sends that N-ACTION and exits",
                )

    def stop_when(self, instance: str | None) -> "StopWhen":
        from dcmreport.listen.watch import StopWhen

        state = self.until_state.value if self.until_state is not None else None
        return StopWhen(self.count, state, instance)

    def new_associations(
        self, association: RequestorAssociation, tls: Tls, slots: Slots
    ) -> "NewAssociations":
        """Where the SCP sends the events: our AE title at --bind:--port, held as listen holds
        connections; with --tls, DICOM over TLS as the subscription's association."""
        return accepting(
            association.settings(
                tls.result_server_context("watch --tls", "the SCP sends the UPS events")
            ),
            association.calling_aet,
            self,
            slots,
        )


class DeletionLockChoice(str, Enum):
    """Whether ``listen --ups`` grants a Deletion Lock asked for."""

    GRANT = "grant"
    REFUSE = "refuse"


@frozen
class UpsEvents:
    """``listen --ups``: subscriptions on UPS Watch, and the events pushed to subscribers."""

    ups: Annotated[
        bool,
        typer.Option(
            "--ups",
            rich_help_panel=PANEL_UPS,
            help="Answer UPS subscriptions (N-ACTION on UPS Watch: Subscribe, Unsubscribe, "
            "Suspend Global Subscription; PS3.4 CC.2.3), a Receiving AE unknown to --peer "
            "with C308; send each subscriber its initial UPS State Reports and the events of "
            "--ups-events, on a new association to its --peer address.",
        ),
    ] = False
    ups_events: Annotated[
        str | None,
        typer.Option(
            "--ups-events",
            metavar="FILE|-",
            rich_help_panel=PANEL_UPS,
            show_default=False,
            help="Events to send as they are read, one JSON object per line as send-report "
            '--batch takes: {"instance": UID, "event": "state-report", "data": {...}}. The '
            "first line naming a UPS creates it (SCHEDULED until a State Report says "
            "otherwise); - reads stdin, a FIFO is read as it is written.",
        ),
    ] = None
    ups_deletion_lock: Annotated[
        DeletionLockChoice,
        typer.Option(
            "--ups-deletion-lock",
            case_sensitive=False,
            rich_help_panel=PANEL_UPS,
            help="grant: a Deletion Lock asked for is granted; refuse: subscribed without it, "
            "answered B301.",
        ),
    ] = DeletionLockChoice.GRANT
    ups_status_events: Annotated[
        bool,
        typer.Option(
            "--ups-status-events",
            rich_help_panel=PANEL_UPS,
            help="Send SCP Status Change (event 4) to every subscriber: GOING DOWN on the way "
            "out; RESTARTED (WARM START) at start, to the subscribers --output-dir kept.",
        ),
    ] = False

    def worklist(self, committing: "Committing") -> "Worklist | None":
        """The subscription table, knowing the AE titles of --peer; None without --ups."""
        from dcmreport.dicom.ups import Worklist

        if not self.ups:
            if self.ups_events or self.ups_status_events:
                raise InputError("--ups-events and --ups-status-events go with --ups")
            return None
        return Worklist(
            committing.peers(), grant_lock=self.ups_deletion_lock is DeletionLockChoice.GRANT
        )

    def options(self, committing: "Committing", tls: "ListenTls") -> "UpsOptions":
        """Where subscribers listen (--peer), the retries (--commitment-retries), TLS."""
        from dcmreport.association.ups_scp import UpsOptions

        return UpsOptions(committing.peers(), committing.commitment_retries, tls.client_context())
