"""listen's options: whom it accepts, how it answers, and the PACS side of storage commitment.

:class:`Acceptance` builds the listener's
:class:`~dcmreport.association.listener.ListenOptions` and their
:class:`~dcmreport.dicom.limits.DatasetLimits`, :class:`Answering` the
:class:`~dcmreport.listen.handler.Reaction` to each report, :class:`Committing`
the :class:`~dcmreport.association.commit_scp.CommitmentOptions`.
"""

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dcmreport.cli import completion
from dcmreport.cli.bundles import configured, parsed
from dcmreport.cli.bundles.association import AcceptorAssociation
from dcmreport.cli.bundles.slots import Slots
from dcmreport.cli.bundles.tls import ListenTls
from dcmreport.cli.options import (
    PANEL_ACCESS,
    PANEL_ANSWER,
    PANEL_COMMITMENT,
    PANEL_FAULTS,
    PANEL_LIMITS,
    PANEL_OUTPUT,
    checked,
    parse_peer,
    parse_size,
    wrap,
)
from dcmreport.dicom import catalog
from dcmreport.dicom.address import Peer, check_ae_title
from dcmreport.dicom.records import CommitmentOn
from dcmreport.dicom.status import check_report_status, parse_status
from dcmreport.errors import InputError
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    from dcmreport.association.commit_scp import (
        CommitmentOptions,
        CommitmentPerformer,
        ResultHandler,
    )
    from dcmreport.association.common import Settings
    from dcmreport.association.listener import ListenOptions
    from dcmreport.listen.commitment_policy import Policy
    from dcmreport.listen.handler import Reaction


@frozen
class Acceptance:
    """Where the listener listens and whom it accepts."""

    port: Annotated[
        int,
        typer.Option(
            "--port",
            "-p",
            metavar="PORT",
            min=0,
            max=65535,
            help="TCP port to listen on, 0-65535 (0: any free port).",
        ),
    ] = 11112
    bind: Annotated[
        str, typer.Option("--bind", "-b", metavar="ADDRESS", help="Address to listen on.")
    ] = "0.0.0.0"
    async_ops: Annotated[
        int,
        typer.Option(
            "--async-ops",
            metavar="N",
            min=1,
            max=65535,
            help="Grant a requestor's Asynchronous Operations Window proposal up to N "
            "requests outstanding at once (1: no window, one at a time); they are still "
            "answered in order, without the sender waiting for each answer.",
        ),
    ] = 1
    require_called_aet: Annotated[
        bool,
        typer.Option(
            "--require-called-aet",
            rich_help_panel=PANEL_ACCESS,
            help="Reject associations that call another AE title (1/1/7).",
        ),
    ] = False
    allow_calling_aet: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-calling-aet",
            metavar="AET|@FILE",
            rich_help_panel=PANEL_ACCESS,
            show_default=False,
            help="Accept only these calling AE titles (repeatable; @FILE: one per "
            "line); others are rejected (1/1/3).",
        ),
    ] = None
    accept_class: Annotated[
        list[str] | None,
        typer.Option(
            "--accept-class",
            metavar="CLASS",
            rich_help_panel=PANEL_ACCESS,
            show_default=False,
            autocompletion=catalog.class_names,
            help="Accept only these abstract syntaxes, and Verification (repeatable; UIDs or "
            "names).",
        ),
    ] = None
    reject: Annotated[
        str | None,
        typer.Option(
            "--reject",
            metavar="REASON",
            autocompletion=completion.rejections,
            rich_help_panel=PANEL_FAULTS,
            show_default=False,
            help="Reject every association: no-reason, calling-aet, called-aet, "
            "congestion, limit, or RESULT/SOURCE/REASON.",
        ),
    ] = None
    max_dataset_size: Annotated[
        int,
        typer.Option(
            "--max-dataset-size",
            metavar="SIZE",
            parser=wrap(parse_size),
            show_default="64MiB",
            rich_help_panel=PANEL_LIMITS,
            help="Largest data set a peer may send (counted as its fragments arrive, and once "
            "inflated); beyond, the association is aborted or the report refused (0x0213).",
        ),
    ] = 64 * 1024 * 1024
    max_depth: Annotated[
        int,
        typer.Option(
            "--max-depth",
            metavar="N",
            min=1,
            rich_help_panel=PANEL_LIMITS,
            help="Deepest nesting of sequences in a received data set; deeper: refused (0x0213).",
        ),
    ] = 32
    max_elements: Annotated[
        int,
        typer.Option(
            "--max-elements",
            metavar="N",
            min=1,
            rich_help_panel=PANEL_LIMITS,
            help="Most elements and items in a received data set; more: refused (0x0213).",
        ),
    ] = 400_000
    pdu_timeout: Annotated[
        float,
        typer.Option(
            "--pdu-timeout",
            metavar="SECONDS",
            min=0.1,
            rich_help_panel=PANEL_LIMITS,
            help="A whole PDU must arrive within that long, however slowly it trickles in; "
            "else the association is aborted and its slot freed.",
        ),
    ] = 10.0

    def listen_options(self, association: AcceptorAssociation, slots: Slots) -> "ListenOptions":
        """With -x the listener prefers its own transfer syntax order to the requestor's."""
        from dcmreport.association.listener import ListenOptions
        from dcmreport.dicom.limits import DatasetLimits

        return configured(
            ListenOptions,
            self,
            allowed_calling_aets=_allowed_aets(self.allow_calling_aet or []),
            accept_classes=tuple(
                parsed("--accept-class", catalog.resolve_class, uid)
                for uid in self.accept_class or []
            ),
            own_transfer_syntax_order=association.transfer_syntax is not None,
            slots=slots.limits(),
            memory_budget=slots.budget(self.max_dataset_size),
            reject=parsed("--reject", catalog.resolve_rejection, self.reject)
            if self.reject
            else None,
            # The option says which size it limits; the limits' own field need not.
            dataset_limits=configured(DatasetLimits, self, max_size=self.max_dataset_size),
        )


def _allowed_aets(values: list[str]) -> tuple[str, ...]:
    """AE titles from ``--allow-calling-aet``; ``@FILE`` reads one per line (# comments)."""
    titles: list[str] = []
    for value in values:
        if value.startswith("@"):
            try:
                lines = Path(value[1:]).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise InputError(f"--allow-calling-aet {value}: {exc.strerror or exc}") from None
            titles += [line.split("#")[0].strip() for line in lines]
        else:
            titles.append(value)
    return tuple(parsed("--allow-calling-aet", check_ae_title, t) for t in titles if t)


@frozen
class Committing:
    """``listen --commitment``: the PACS side of storage commitment.

    The fields are named ``commitment_*`` on the command line and in the
    settings file (``--delay`` is the answer's); :meth:`options` drops the prefix.
    """

    commitment: Annotated[
        str | None,
        typer.Option(
            "--commitment",
            metavar="POLICY",
            rich_help_panel=PANEL_COMMITMENT,
            show_default=False,
            help="Answer storage commitment requests (N-ACTION), then report the result: all "
            "(every instance committed), none[:REASON] (every one failed), dir:DIR (committed "
            "if a DICOM file of that instance and class is under DIR, else 0x0112 or 0x0119), "
            'exec (the --exec program prints {"committed": [UID, ...], "failed": {UID: '
            "REASON}} naming each requested instance once; if it fails, every instance failed "
            "with 0x0110).",
        ),
    ] = None
    commitment_delay: Annotated[
        float,
        typer.Option(
            "--commitment-delay",
            metavar="SECONDS",
            min=0,
            rich_help_panel=PANEL_COMMITMENT,
            help="Wait that long between the N-ACTION-RSP and the result.",
        ),
    ] = 0.0
    commitment_on: Annotated[
        CommitmentOn,
        typer.Option(
            "--commitment-on",
            rich_help_panel=PANEL_COMMITMENT,
            help="Send the result on the request's association (same), on a new one to --peer "
            "(new), or on the same while the requester holds it, else a new one (auto).",
        ),
    ] = CommitmentOn.AUTO
    commitment_peer: Annotated[
        list[str] | None,
        typer.Option(
            "--peer",
            metavar="AET=HOST:PORT",
            rich_help_panel=PANEL_COMMITMENT,
            show_default=False,
            help="Where a requester's AE title listens for results on a new association "
            "(repeatable); the listener's AE title calls it, proposing the SCP role. With "
            "--ups: the Receiving AE titles known to the SCP, and where their events go. With "
            "--tls over TLS: --tls-cert is the client certificate, --tls-ca checks the "
            "requester's.",
        ),
    ] = None
    commitment_retries: Annotated[
        int,
        typer.Option(
            "--commitment-retries",
            metavar="N",
            min=0,
            rich_help_panel=PANEL_COMMITMENT,
            help="Attempts after a result could not be delivered, a second apart.",
        ),
    ] = 2

    def policy(self) -> "Policy | None":
        """How results are decided; None without --commitment."""
        from dcmreport.listen.commitment_policy import parse_policy

        if self.commitment is None:
            return None
        return parsed("--commitment", parse_policy, self.commitment)

    def performer(
        self, settings: "Settings", tls: ListenTls, results: "ResultHandler", ups: bool = False
    ) -> "CommitmentPerformer | None":
        """None without --commitment; where and how results go, checked now. ``ups``:
        listen --ups, whose subscribers --peer names too."""
        from dcmreport.association.commit_scp import CommitmentPerformer

        if self.commitment is None:
            if self.commitment_peer and not ups:
                raise InputError("--peer goes with --commitment or --ups", "e.g. --commitment all")
            return None
        return CommitmentPerformer(settings, self.options(tls), results)

    def options(self, tls: ListenTls) -> "CommitmentOptions":
        """Where and when results go; the peers are checked now.

        With --tls a result's new association is TLS too, the listener's own
        certificate its client certificate and --tls-ca what checks the requester's.
        """
        from dcmreport.association.commit_scp import CommitmentOptions

        return configured(
            CommitmentOptions,
            self,
            prefix="commitment_",
            peers=self.peers(),
            tls=tls.client_context(),
        )

    def peers(self) -> dict[str, Peer]:
        """--peer: each AE title and where it listens, checked."""
        return dict(parsed("--peer", _named_address, text) for text in self.commitment_peer or [])


def _named_address(text: str) -> tuple[str, Peer]:
    """``MODALITY=10.0.0.7:11112``: the AE title, and the peer to call with it."""
    aet, sep, address = text.partition("=")
    if not sep or not aet.strip():
        raise ValueError(f"{text!r}: give AET=HOST:PORT, e.g. MODALITY=10.0.0.7:11112")
    peer = parse_peer(f"{check_ae_title(aet.strip())}@{address}")
    return aet.strip(), peer


class AnswerFindingsChoice(str, Enum):
    """Whether a report's findings (see send-report --strict) decide the answer."""

    YES = "yes"
    NO = "no"


@frozen
class Answering:
    """How the listener answers each report, what it keeps, and the faults it injects."""

    status: Annotated[
        str,
        typer.Option(
            "--status",
            parser=checked(parse_status),
            autocompletion=completion.statuses,
            metavar="STATUS",
            rich_help_panel=PANEL_ANSWER,
            help="Status to answer with, by name or code: success, processing-failure, "
            "0x0110, 272, ...",
        ),
    ] = "success"
    error_comment: Annotated[
        str | None,
        typer.Option(
            "--error-comment",
            metavar="TEXT",
            rich_help_panel=PANEL_ANSWER,
            show_default=False,
            help="Error Comment (0000,0902) sent with the status (64 characters).",
        ),
    ] = None
    reply: Annotated[
        str,
        typer.Option(
            "--reply",
            metavar="none|echo|FILE",
            autocompletion=completion.reply_modes,
            rich_help_panel=PANEL_ANSWER,
            help="Event Reply to send with Success: none, echo (the received Event "
            "Information, as the LEADTOOLS reference server does) or a JSON file.",
        ),
    ] = "none"
    answer_findings: Annotated[
        AnswerFindingsChoice,
        typer.Option(
            "--answer-findings",
            case_sensitive=False,
            rich_help_panel=PANEL_ANSWER,
            help="yes: answer a report that departs from the standard as the standard "
            "says; no: always answer --status, a permissive sink.",
        ),
    ] = AnswerFindingsChoice.YES
    force_status: Annotated[
        bool,
        typer.Option(
            "--force-status",
            rich_help_panel=PANEL_ANSWER,
            help="Allow a --status code that is not valid in an N-EVENT-REPORT-RSP "
            "(to test how a sender copes).",
        ),
    ] = False
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            "-o",
            metavar="DIR",
            rich_help_panel=PANEL_ANSWER,
            show_default=False,
            file_okay=False,
            help="Keep each report there (Part 10 file of its Event Information and a "
            "JSON record), written before the answer; if that fails, the answer "
            "is 0x0110.",
        ),
    ] = None
    inline_binary: Annotated[
        bool,
        typer.Option(
            "--inline-binary",
            rich_help_panel=PANEL_OUTPUT,
            help="JSON holds every binary value whole (InlineBinary). Default: one of 1 MiB "
            "or more is a BulkDataURI into the --output-dir Part 10 file, else its length.",
        ),
    ] = False
    exec_command: Annotated[
        str | None,
        typer.Option(
            "--exec",
            metavar="COMMAND",
            rich_help_panel=PANEL_ANSWER,
            show_default=False,
            help="Run COMMAND (no shell) for each report before answering, with "
            "DCMREPORT_RECORD, DCMREPORT_DATASET, DCMREPORT_SOP_INSTANCE_UID, ... "
            "in its environment; with --commitment exec, for a storage commitment request "
            "after answering it, to decide its result.",
        ),
    ] = None
    exec_decides: Annotated[
        bool,
        typer.Option(
            "--exec-decides",
            rich_help_panel=PANEL_ANSWER,
            help="The --exec program's outcome is the answer: exit 0 is Success (stdout: "
            "Event Reply JSON); otherwise stdout's first word is the status.",
        ),
    ] = False
    exec_timeout: Annotated[
        float,
        typer.Option(
            "--exec-timeout",
            metavar="SECONDS",
            min=0,
            rich_help_panel=PANEL_ANSWER,
            help="Kill the --exec program after that long: with --exec-decides the answer "
            "is then 0x0110; without, the answer is what it would be without --exec.",
        ),
    ] = 30.0
    delay: Annotated[
        float,
        typer.Option(
            "--delay",
            metavar="SECONDS",
            min=0,
            rich_help_panel=PANEL_FAULTS,
            help="Wait that long before answering each report.",
        ),
    ] = 0.0
    abort_after: Annotated[
        int | None,
        typer.Option(
            "--abort-after",
            metavar="N",
            min=0,
            rich_help_panel=PANEL_FAULTS,
            show_default=False,
            help="Answer N reports, then abort the association instead of answering.",
        ),
    ] = None

    def reaction(self, commitment: "Policy | None" = None) -> "Reaction":
        """How reports are answered and, with --commitment, how results are decided."""
        from dcmreport.dicom import dataset
        from dcmreport.listen.handler import Reaction

        if self.exec_decides and not self.exec_command:
            raise InputError("--exec-decides needs --exec COMMAND")
        status = parse_status(self.status)
        if not self.force_status:
            parsed("--status", check_report_status, status)
        return configured(
            Reaction,
            self,
            status=status,
            answer_findings=self.answer_findings is AnswerFindingsChoice.YES,
            echo_reply=self.reply == "echo",
            reply_dataset=None
            if self.reply in ("none", "echo")
            else dataset.load_data(self.reply, option="--reply"),
            commitment=commitment,
        )
