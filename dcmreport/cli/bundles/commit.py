"""commit's options: what it asks the PACS to commit, and where and how long it waits.

:class:`ActionInformation` builds the :class:`~dcmreport.dicom.records.CommitRequest`
transactions; :class:`ResultWaiting` the settings of the request's association
and, with ``--port``, the :class:`~dcmreport.association.commit_scu.NewAssociations`
on which the PACS may report.
"""

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dcmreport.cli import completion
from dcmreport.cli.bundles import configured
from dcmreport.cli.bundles.association import RequestorAssociation, chosen_transfer_syntaxes
from dcmreport.cli.bundles.slots import Slots
from dcmreport.cli.bundles.tls import Tls
from dcmreport.cli.options import (
    ACCEPTED_TRANSFER_SYNTAXES,
    AE_TITLE,
    PANEL_ACTION_INFO,
    PANEL_RESULT,
)
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    import ssl

    from _typeshed import DataclassInstance

    from dcmreport.association.commit_scu import NewAssociations
    from dcmreport.association.common import Settings
    from dcmreport.dicom.records import CommitRequest
    from dcmreport.output.render import Renderer


@frozen
class ActionInformation:
    """What ``commit`` asks the PACS to commit: the Action Information and its transactions."""

    ref: Annotated[
        list[str] | None,
        typer.Option(
            "--ref",
            metavar="CLASS:INSTANCE",
            show_default=False,
            autocompletion=completion.class_refs,
            rich_help_panel=PANEL_ACTION_INFO,
            help="An instance to commit without its file: SOP Class (a UID or pydicom keyword) "
            "and SOP Instance UID. Repeatable.",
        ),
    ] = None
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="FILE|-",
            show_default=False,
            rich_help_panel=PANEL_ACTION_INFO,
            help='Action Information to start from: DICOM JSON model, {"Keyword": value} JSON '
            "or a DICOM Part 10 file; - reads stdin. Files and --ref are added to its "
            "Referenced SOP Sequence.",
        ),
    ] = None
    transaction_uid: Annotated[
        str | None,
        typer.Option(
            "--transaction-uid",
            metavar="UID",
            show_default=False,
            rich_help_panel=PANEL_ACTION_INFO,
            help="Transaction UID of the request. Default: TransactionUID of --data, else a "
            "new one.",
        ),
    ] = None
    split: Annotated[
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
    ] = None

    def requests(self, arguments: list[str], renderer: "Renderer") -> "list[CommitRequest]":
        """--data, then the files and --ref appended to its Referenced SOP Sequence, then
        KEY=VALUE; cut into --split transactions."""
        from pydicom import Dataset

        from dcmreport.dicom import commitment, dataset

        files, assignments = _files_and_assignments(arguments)
        stdin = sys.stdin.buffer.read() if self.data == "-" else None
        ds = dataset.load_data(self.data, stdin) if self.data is not None else Dataset()
        named = commitment.instances(files, "FILE") + [
            commitment.parse_ref(text) for text in self.ref or []
        ]
        commitment.add_instances(ds, named)
        if assignments:
            ds = dataset.apply_assignments(ds, assignments)
        made = commitment.requests(ds, self.transaction_uid, self.split)
        for request in made:
            new = " (generated)" if request.transaction_uid_generated else ""
            renderer.note(
                f"dcmreport: storage commitment request: {len(request.instances)} instance(s); "
                f"Transaction UID{new}: {request.transaction_uid}"
            )
        return made


def _files_and_assignments(arguments: list[str]) -> tuple[list[str], list[str]]:
    """FILE|DIR from KEY=VALUE: a word with ``=`` that names no existing path is an assignment."""
    files: list[str] = []
    assignments: list[str] = []
    for word in arguments:
        (assignments if "=" in word and not Path(word).exists() else files).append(word)
    return files, assignments


@frozen
class ResultWaiting:
    """Where and how long ``commit`` waits for the result: its association, a new one too."""

    port: Annotated[
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
            "calls back our AE title (--aet; PS3.4 J.3.3), with --tls over TLS under "
            "--tls-cert. Without it: only on the request's association.",
        ),
    ] = None
    result_aet: Annotated[
        str | None,
        typer.Option(
            "--result-aet",
            metavar="AET",
            parser=AE_TITLE,
            show_default=False,
            rich_help_panel=PANEL_RESULT,
            help="The AE title the result's association is accepted under, if not --aet: "
            "only for a PACS configured to report elsewhere than to the AE title that "
            "called it (warns). Default: --aet.",
        ),
    ] = None
    bind: Annotated[
        str,
        typer.Option(
            "--bind",
            "-b",
            metavar="ADDRESS",
            rich_help_panel=PANEL_RESULT,
            help="Address to accept the result on.",
        ),
    ] = "0.0.0.0"
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            min=0,
            rich_help_panel=PANEL_RESULT,
            help="How long to wait for the results after the (last) request; exit 5 without one.",
        ),
    ] = 60.0

    def requestor_settings(
        self, association: RequestorAssociation, tls: "ssl.SSLContext | None"
    ) -> "Settings":
        """The request's association stays open while waiting: idle no shorter than --timeout."""
        settings = association.settings(tls)
        idle = max(settings.network_timeout, self.timeout + settings.dimse_timeout)
        return dataclasses.replace(settings, network_timeout=idle)

    def warnings(self, association: RequestorAssociation) -> list[str]:
        """What is odd about --result-aet: it differs from --aet, or there is no --port."""
        if self.result_aet is None:
            return []
        if self.port is None:
            return ["--result-aet has no effect without --port (no new association is accepted)"]
        if self.result_aet == association.calling_aet:
            return []
        ours = association.calling_aet
        return [
            f"--result-aet {self.result_aet} differs from our AE title {ours} (--aet), which "
            f"the N-ACTION is sent from: a PACS reports to the AE title that called it (PS3.4 "
            f"J.3.3), looking up where {ours} listens; {self.result_aet} only helps a PACS "
            "configured to report to it"
        ]

    def new_associations(
        self, association: RequestorAssociation, tls: Tls, slots: Slots
    ) -> "NewAssociations | None":
        """Where the PACS may report on a new association (--port), as our AE title (or
        --result-aet), holding connections as ``listen`` does (``slots``); None without.

        With --tls it is DICOM over TLS, as the request's association.
        """
        if self.port is None:
            return None
        return accepting(
            association.settings(tls.result_server_context()),
            self.result_aet or association.calling_aet,
            self,
            slots,
        )


def accepting(
    base: "Settings", ae_title: str, bundle: "DataclassInstance", slots: Slots
) -> "NewAssociations":
    """Associations a peer opens to us with what we asked for (a storage commitment result,
    UPS events): as ``ae_title`` on the bundle's --bind:--port (filled by field name), every
    transfer syntax, connections held as ``listen`` holds them (``slots``)."""
    from dcmreport.association.commit_scu import NewAssociations
    from dcmreport.association.listener import ListenOptions

    settings = dataclasses.replace(
        base,
        ae_title=ae_title,
        transfer_syntaxes=chosen_transfer_syntaxes(None, ACCEPTED_TRANSFER_SYNTAXES),
        connect_timeout=None,
    )
    options = configured(
        ListenOptions,
        bundle,
        slots=slots.limits(),
        memory_budget=slots.budget(ListenOptions().dataset_limits.max_size),
    )
    return NewAssociations(settings, options)
