"""The option bundles of the commands, and the configuration objects they build.

Each bundle is a frozen dataclass of options (see :mod:`dcmreport.cli.expand`):
its fields carry the option declarations of :mod:`dcmreport.cli.options` and the
defaults, written once here; one method builds the object the rest of
dcmreport works with (``Settings``, ``ListenOptions``, ``Reaction``, a
``ReportRequest``, a ``Renderer``). Values that need checking against each
other or against files are checked here and fail as :class:`InputError`
(exit 2), before any association is opened.

Nothing here imports pynetdicom or pydicom at import time: ``--help`` stays fast.
Bundles are built once per run and never compared, hashed or printed:
:func:`~dcmreport.frozen.frozen` dataclasses, immutable to the type checker and
cheap to create at every start (tests/cli/test_startup.py pins it).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from dcmreport.cli.options import (
    ACCEPTED_TRANSFER_SYNTAXES,
    PROPOSED_TRANSFER_SYNTAXES,
    AbortAfter,
    AcceptClass,
    AcceptedTransferSyntaxes,
    AcseTimeout,
    AllowCallingAET,
    AnswerFindings,
    AnswerFindingsChoice,
    AnswerStatus,
    BatchFile,
    Bind,
    CalledAET,
    CallingAET,
    Commit,
    CommitData,
    CommitmentDelay,
    CommitmentOnOpt,
    CommitmentPeers,
    CommitmentPolicy,
    CommitmentRetries,
    CommitTransactionUid,
    ConfigPath,
    ConnectTimeout,
    ContextClass,
    Data,
    Debug,
    Delay,
    DimseTimeout,
    ErrorComment,
    EventType,
    ExecCommand,
    ExecDecides,
    ExecTimeout,
    Fail,
    ForceStatus,
    Format,
    Full,
    ImplementationUID,
    ImplementationVersion,
    Instance,
    ListenAET,
    MaxAssociations,
    MaxDatasetSize,
    MaxDepth,
    MaxElements,
    MaxPdu,
    MessageId,
    NetworkTimeout,
    OutputDir,
    OutputFormat,
    PduTimeout,
    Port,
    ProposedTransferSyntaxes,
    Quiet,
    Ref,
    Reject,
    Repeat,
    Reply,
    RequireCalledAET,
    ResultAET,
    ResultBind,
    ResultPort,
    ResultTimeout,
    RoleOpt,
    SopClassOpt,
    Split,
    StopOnFailure,
    Strict,
    TlsCa,
    TlsCert,
    TlsKey,
    TlsNoVerify,
    TlsOn,
    TlsRequireClientCert,
    TransactionUid,
    Verbose,
    Window,
    parse_peer,
)
from dcmreport.dicom import catalog
from dcmreport.dicom.address import Peer, check_ae_title
from dcmreport.dicom.records import CommitmentOn, Role
from dcmreport.dicom.status import check_report_status, parse_status
from dcmreport.errors import InputError
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    import ssl

    from pydicom import Dataset

    from dcmreport.association.batch import BatchOptions
    from dcmreport.association.commit_scp import CommitmentPerformer, ResultHandler
    from dcmreport.association.commit_scu import NewAssociations
    from dcmreport.association.common import Settings
    from dcmreport.association.listener import ListenOptions
    from dcmreport.dicom.records import CommitRequest, Item, ReportRequest
    from dcmreport.listen.commitment_policy import Policy
    from dcmreport.listen.handler import Reaction
    from dcmreport.output.render import Renderer

LOG = logging.getLogger("dcmreport")
_T = TypeVar("_T")
_R = TypeVar("_R")
_V = TypeVar("_V", bound="Verbosity")


def parsed(what: str, parse: Callable[[_T], _R], value: _T) -> _R:
    """``parse(value)``, its ValueError a usage error (exit 2) that names the option."""
    try:
        return parse(value)
    except ValueError as exc:
        raise InputError(f"{what}: {exc}") from None


# --- output ------------------------------------------------------------------------------


@frozen
class Verbosity:
    """How much goes to stderr; also accepted before the command (``dcmreport -v echo``)."""

    verbose: Verbose = False
    debug: Debug = False
    quiet: Quiet = False

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


@frozen
class Output(Verbosity):
    """Where and how results are shown."""

    format: Format = OutputFormat.AUTO

    def json(self) -> bool:
        """Whether results are JSON: asked for, or auto and stdout is no terminal."""
        if self.format is OutputFormat.AUTO:
            return not sys.stdout.isatty()
        return self.format is OutputFormat.JSON

    def renderer(self, full: bool = False) -> Renderer:
        """auto is rich text on a terminal and JSON lines when piped; only that one is built."""
        from dcmreport.output.render import make_renderer

        return make_renderer("json" if self.json() else "text", self.quiet, full)


@frozen
class ReportOutput(Output):
    """Output of commands that show data sets: long sequences summarised unless ``--full``."""

    full: Full = False

    def renderer(self, full: bool = False) -> Renderer:
        return super().renderer(full or self.full)


# --- association ---------------------------------------------------------------------------


# A side's own options are a base listed last, so that they come first in help: a
# dataclass orders its fields by the reversed method resolution order.


@frozen
class _Association:
    """What both sides of an association announce and how long they wait."""

    max_pdu: MaxPdu = 16382
    implementation_class_uid: ImplementationUID = None
    implementation_version: ImplementationVersion = None
    acse_timeout: AcseTimeout = 30.0
    dimse_timeout: DimseTimeout = 30.0
    network_timeout: NetworkTimeout = 60.0
    config: ConfigPath = None

    def _settings(
        self,
        ae_title: str,
        transfer_syntaxes: tuple[str, ...],
        connect_timeout: float | None,
        tls: ssl.SSLContext | None,
    ) -> Settings:
        from dcmreport.association.common import Settings

        return Settings(
            ae_title=ae_title,
            max_pdu=self.max_pdu,
            implementation_class_uid=self.implementation_class_uid,
            implementation_version=self.implementation_version,
            transfer_syntaxes=transfer_syntaxes,
            connect_timeout=connect_timeout,
            acse_timeout=self.acse_timeout,
            dimse_timeout=self.dimse_timeout,
            network_timeout=self.network_timeout,
            tls=tls,
        )


def _transfer_syntaxes(chosen: list[str] | None, names: tuple[str, ...]) -> tuple[str, ...]:
    """The -x UIDs (already resolved by their parser), else the named defaults."""
    return tuple(chosen or (catalog.resolve_transfer_syntax(name) for name in names))


@frozen
class _Calling:
    """The requestor's own options: whom it calls, as whom, and how long it tries."""

    calling_aet: CallingAET = "DCMREPORT"
    called_aet: CalledAET = None
    transfer_syntax: ProposedTransferSyntaxes = None
    connect_timeout: ConnectTimeout = 10.0


@frozen
class RequestorAssociation(_Association, _Calling):
    """The association options of a command that calls a peer (echo, send-report)."""

    def settings(self, tls: ssl.SSLContext | None = None) -> Settings:
        """The settings; ``tls`` from the :class:`Tls` bundle, None for plain DICOM."""
        return self._settings(
            self.calling_aet,
            _transfer_syntaxes(self.transfer_syntax, PROPOSED_TRANSFER_SYNTAXES),
            self.connect_timeout or None,  # 0: wait as long as the system does
            tls,
        )

    def peer(self, given: str | None) -> Peer:
        """The peer to call: PEER, else $DCMREPORT_PEER, either an address or a named peer.

        --called-aet overrides its AE title.
        """
        from dcmreport.cli.precedence import resolve_peer

        address = resolve_peer(given, self.config)
        chosen = parsed(address.what, parse_peer, address.text)
        LOG.info("setting peer = %s (%s)", chosen, address.origin)
        return Peer(self.called_aet, chosen.host, chosen.port) if self.called_aet else chosen


@frozen
class _Listening:
    """The listener's own options: its AE title and the transfer syntaxes it accepts."""

    aet: ListenAET = "DCMREPORT"
    transfer_syntax: AcceptedTransferSyntaxes = None


@frozen
class AcceptorAssociation(_Association, _Listening):
    """The association options of the listener: its own AE title, no connect timeout."""

    def settings(self, tls: ssl.SSLContext | None = None) -> Settings:
        """The settings; ``tls`` from the :class:`ListenTls` bundle, None for plain DICOM."""
        syntaxes = _transfer_syntaxes(self.transfer_syntax, ACCEPTED_TRANSFER_SYNTAXES)
        return self._settings(self.aet, syntaxes, None, tls)


# --- TLS -----------------------------------------------------------------------------------


@frozen
class Tls:
    """DICOM over TLS for a command that calls a peer; the TLS options of every command."""

    tls: TlsOn = False
    tls_cert: TlsCert = None
    tls_key: TlsKey = None
    tls_ca: TlsCa = None
    tls_no_verify: TlsNoVerify = False

    def client_context(self) -> ssl.SSLContext | None:
        """The requestor's context, None for plain DICOM; files are read now (exit 2)."""
        from dcmreport.association import tls

        if not self._checked():
            return None
        return tls.client_context(
            self.tls_cert, self.tls_key, self.tls_ca, verify=not self.tls_no_verify
        )

    def result_server_context(self) -> ssl.SSLContext | None:
        """``commit --port`` with --tls: the PACS's new association is TLS too, under
        --tls-cert; a client certificate it shows must be signed by --tls-ca."""
        from dcmreport.association import tls

        if not self._checked():
            return None
        if self.tls_cert is None:
            raise InputError(
                "commit --tls --port needs --tls-cert (and --tls-key unless the key is in it)",
                "the PACS reports on a new association to a TLS server, which has a certificate",
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

    tls_require_client_cert: TlsRequireClientCert = False

    def server_context(self) -> ssl.SSLContext | None:
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


# --- listen --------------------------------------------------------------------------------


@frozen
class Acceptance:
    """Where the listener listens and whom it accepts."""

    port: Port = 11112
    bind: Bind = "0.0.0.0"
    require_called_aet: RequireCalledAET = False
    allow_calling_aet: AllowCallingAET = None
    accept_class: AcceptClass = None
    max_associations: MaxAssociations = 10
    reject: Reject = None
    max_dataset_size: MaxDatasetSize = 64 * 1024 * 1024
    max_depth: MaxDepth = 32
    max_elements: MaxElements = 400_000
    pdu_timeout: PduTimeout = 10.0

    def listen_options(self, association: AcceptorAssociation) -> ListenOptions:
        """With -x the listener prefers its own transfer syntax order to the requestor's."""
        from dcmreport.association.listener import ListenOptions
        from dcmreport.dicom.limits import DatasetLimits

        return ListenOptions(
            port=self.port,
            bind=self.bind,
            require_called_aet=self.require_called_aet,
            allowed_calling_aets=_allowed_aets(self.allow_calling_aet or []),
            accept_classes=tuple(
                parsed("--accept-class", catalog.resolve_class, uid)
                for uid in self.accept_class or []
            ),
            own_transfer_syntax_order=association.transfer_syntax is not None,
            max_associations=self.max_associations,
            reject=parsed("--reject", catalog.resolve_rejection, self.reject)
            if self.reject
            else None,
            dataset_limits=DatasetLimits(self.max_dataset_size, self.max_depth, self.max_elements),
            pdu_timeout=self.pdu_timeout,
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
    """``listen --commitment``: the PACS side of storage commitment."""

    commitment: CommitmentPolicy = None
    commitment_delay: CommitmentDelay = 0.0
    commitment_on: CommitmentOnOpt = CommitmentOn.AUTO
    commitment_peer: CommitmentPeers = None
    commitment_retries: CommitmentRetries = 2

    def policy(self) -> Policy | None:
        """How results are decided; None without --commitment."""
        from dcmreport.listen.commitment_policy import parse_policy

        if self.commitment is None:
            return None
        return parsed("--commitment", parse_policy, self.commitment)

    def performer(
        self, settings: Settings, tls: ListenTls, results: ResultHandler
    ) -> CommitmentPerformer | None:
        """None without --commitment; where and how results go, checked now.

        With --tls a result's new association is TLS too, the listener's own
        certificate its client certificate and --tls-ca what checks the requester's.
        """
        from dcmreport.association.commit_scp import CommitmentOptions, CommitmentPerformer

        if self.commitment is None:
            if self.commitment_peer:
                raise InputError("--peer goes with --commitment", "e.g. --commitment all")
            return None
        options = CommitmentOptions(
            delay=self.commitment_delay,
            on=self.commitment_on,
            peers=dict(
                parsed("--peer", _named_address, text) for text in self.commitment_peer or []
            ),
            retries=self.commitment_retries,
            tls=tls.client_context(),
        )
        return CommitmentPerformer(settings, options, results)


def _named_address(text: str) -> tuple[str, Peer]:
    """``MODALITY=10.0.0.7:11112``: the AE title, and the peer to call with it."""
    aet, sep, address = text.partition("=")
    if not sep or not aet.strip():
        raise ValueError(f"{text!r}: give AET=HOST:PORT, e.g. MODALITY=10.0.0.7:11112")
    peer = parse_peer(f"{check_ae_title(aet.strip())}@{address}")
    return aet.strip(), peer


@frozen
class Answering:
    """How the listener answers each report, what it keeps, and the faults it injects."""

    status: AnswerStatus = "success"
    error_comment: ErrorComment = None
    reply: Reply = "none"
    answer_findings: AnswerFindings = AnswerFindingsChoice.YES
    force_status: ForceStatus = False
    output_dir: OutputDir = None
    exec_command: ExecCommand = None
    exec_decides: ExecDecides = False
    exec_timeout: ExecTimeout = 30.0
    delay: Delay = 0.0
    abort_after: AbortAfter = None

    def reaction(self, commitment: Policy | None = None) -> Reaction:
        """How reports are answered and, with --commitment, how results are decided."""
        from dcmreport.dicom import dataset
        from dcmreport.listen.handler import Reaction

        if self.exec_decides and not self.exec_command:
            raise InputError("--exec-decides needs --exec COMMAND")
        status = parse_status(self.status)
        if not self.force_status:
            parsed("--status", check_report_status, status)
        return Reaction(
            status=status,
            answer_findings=self.answer_findings is AnswerFindingsChoice.YES,
            error_comment=self.error_comment,
            echo_reply=self.reply == "echo",
            reply_dataset=None
            if self.reply in ("none", "echo")
            else dataset.load_data(self.reply, option="--reply"),
            delay=self.delay,
            abort_after=self.abort_after,
            output_dir=self.output_dir,
            exec_command=self.exec_command,
            exec_decides=self.exec_decides,
            exec_timeout=self.exec_timeout,
            commitment=commitment,
        )


# --- send-report -----------------------------------------------------------------------------


@frozen
class Report:
    """What send-report sends: class, event, instance and the Event Information."""

    event: EventType = None
    instance: Instance = None
    sop_class: SopClassOpt = None
    context_class: ContextClass = None
    message_id: MessageId = 1
    role: RoleOpt = Role.SCP
    data: Data = None
    commit: Commit = None
    fail: Fail = None
    transaction_uid: TransactionUid = None
    strict: Strict = False

    def request(self, assignments: list[str], renderer: Renderer) -> ReportRequest:
        """The checked request: warnings for its findings; with --strict, none may be found."""
        return self._request(assignments, renderer, self._data())

    def items(self, batch: str | None, assignments: list[str], renderer: Renderer) -> list[Item]:
        """The reports of ``--batch`` (one per line), or the one of the options alone.

        A line's fields stand in for the options; every line is built and
        checked before anything is sent, its errors naming its number.
        """
        from dcmreport.cli import batch_file
        from dcmreport.dicom.records import Item, assigned_id

        if batch is None:
            return [Item(1, self.request(assignments, renderer))]
        if batch == "-" and self.data == "-":
            raise InputError("--batch - and --data - both read stdin", "give one of them a file")
        source = f"--batch {batch}"
        lines = batch_file.read_lines(_read_text(batch, source), source)
        base = self._data()  # shared by the lines without data: encoded once
        items = []
        for position, line in enumerate(lines):
            fields = dataclasses.replace(
                self,
                sop_class=line.sop_class or self.sop_class,
                instance=line.instance or self.instance,
                event=line.event or self.event,
                message_id=line.message_id or assigned_id(self.message_id, position),
            )
            where = f"{source} line {line.number}"
            data = line.data if line.data is not None else base
            try:
                request = fields._request(assignments, renderer, data, f"{where}: ")
            except InputError as exc:
                raise InputError(f"{where}: {exc}", exc.hint) from None
            items.append(Item(position + 1, request, line.number))
        return items

    def _data(self) -> Dataset | None:
        """--data, read once."""
        from dcmreport.dicom import dataset

        if self.data is None:
            return None
        stdin = sys.stdin.buffer.read() if self.data == "-" else None
        return dataset.load_data(self.data, stdin)

    def _request(
        self, assignments: list[str], renderer: Renderer, data: Dataset | None, where: str = ""
    ) -> ReportRequest:
        from dcmreport.dicom.records import ReportRequest

        files = bool(self.commit or self.fail)
        if self.transaction_uid is not None and not files:
            raise InputError(
                "--transaction-uid goes with --commit/--fail", "else give TransactionUID=UID"
            )
        class_uid = _class_uid(self.sop_class, files)
        instance_uid = _instance_uid(class_uid, self.instance)
        ds, event_type = self._event_information(class_uid, files, assignments, renderer, data)
        request = ReportRequest(
            class_uid,
            instance_uid,
            event_type,
            self.message_id,
            ds,
            context_class_uid=_context_uid(class_uid, self.context_class),
            role=self.role,
        )
        _check(request, self.strict, renderer, where)
        return request

    def _event_information(
        self,
        class_uid: str,
        files: bool,
        assignments: list[str],
        renderer: Renderer,
        ds: Dataset | None,
    ) -> tuple[Dataset | None, int]:
        """--data, then the commitment from files, then KEY=VALUE; and the event they make."""
        from pydicom import Dataset

        from dcmreport.dicom import dataset

        if files:
            ds, event_type = _commitment_event(self, ds, renderer)
        else:
            event_type = _event_type(class_uid, self.event)
        if assignments:
            ds = dataset.apply_assignments(ds if ds is not None else Dataset(), assignments)
        return ds, event_type


def _read_text(source: str, where: str) -> str:
    """A UTF-8 file, or stdin for ``-``."""
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"{where}: cannot read it: {reason}") from None


@frozen
class Batching:
    """send-report's batch: many reports over one association (``--batch``, ``--repeat``)."""

    batch: BatchFile = None
    repeat: Repeat = None
    window: Window = 1
    stop_on_failure: StopOnFailure = False

    @property
    def active(self) -> bool:
        return self.batch is not None or self.repeat is not None

    @property
    def times(self) -> int:
        return self.repeat or 1

    def options(self) -> BatchOptions:
        from dcmreport.association.batch import BatchOptions

        return BatchOptions(window=self.window, stop_on_failure=self.stop_on_failure)


def split_arguments(arguments: list[str]) -> tuple[str | None, list[str]]:
    """Tell the optional PEER from KEY=VALUE arguments: a key never holds an ``@``."""
    from dcmreport.cli.precedence import peer_word

    peer = peer_word({"arguments": arguments})
    return peer, arguments[1:] if peer else arguments


def _event_type(class_uid: str, event: str | None) -> int:
    if event is None:
        raise InputError("--event is required", "e.g. --event 1")
    return parsed("--event", lambda text: catalog.resolve_event(class_uid, text), event)


def _class_uid(sop_class: str | None, files: bool) -> str:
    """--class; without it Secondary Capture (the reference sample's), or storage commitment."""
    if sop_class is None:
        return catalog.STORAGE_COMMITMENT if files else catalog.SECONDARY_CAPTURE_IMAGE_STORAGE
    uid = parsed("--class", catalog.resolve_class, sop_class)
    if files and uid != catalog.STORAGE_COMMITMENT:
        raise InputError(
            f"--commit/--fail build a storage commitment result, "
            f"not a report of --class {sop_class}"
        )
    return uid


def _instance_uid(class_uid: str, instance: str | None) -> str:
    """--instance, by default the class's well-known instance (storage commitment, printer)."""
    chosen = instance or catalog.default_instance(class_uid)
    if chosen is None:
        raise InputError(
            "--instance is required for this class",
            "the Affected SOP Instance UID; only classes with a well-known instance "
            "(storage-commitment, printer, inventory-creation) have a default",
        )
    return parsed("--instance", catalog.check_uid, chosen)


def _context_uid(class_uid: str, context_class: str | None) -> str | None:
    """The abstract syntax to send on when not the class: UPS Event, Print Management meta."""
    if context_class is None:
        return catalog.default_context(class_uid)
    uid = parsed("--context-class", catalog.resolve_class, context_class)
    return None if uid == class_uid else uid


def _commitment_event(
    report: Report, base: Dataset | None, renderer: Renderer
) -> tuple[Dataset, int]:
    """The storage commitment result from files, and its event (an explicit one must agree)."""
    from dcmreport.dicom import commitment

    built = commitment.build(report.commit or [], report.fail or [], report.transaction_uid, base)
    explicit = (
        _event_type(catalog.STORAGE_COMMITMENT, report.event) if report.event is not None else None
    )
    commitment.check_event(built, explicit)
    new = " (generated)" if built.transaction_uid_generated else ""
    renderer.note(
        f"dcmreport: storage commitment: {len(built.committed)} committed, "
        f"{len(built.failed)} failed; Transaction UID{new}: {built.transaction_uid}"
    )
    return built.dataset, built.event_type_id


def _check(request: ReportRequest, strict: bool, renderer: Renderer, where: str = "") -> None:
    """Warn about every finding; with --strict, refuse to send when there is one."""
    from dcmreport.dicom import validate

    found = validate.findings(request.sop_class_uid, request.event_type_id, request.dataset)
    for finding in found:
        renderer.warn(f"{where}{finding}")
    if strict and found:
        raise InputError(
            f"--strict: nothing sent, the Event Information has {len(found)} finding(s); "
            f"the first: {found[0]}"
        )


# --- commit ----------------------------------------------------------------------------------


@frozen
class ActionInformation:
    """What ``commit`` asks the PACS to commit: the Action Information and its transactions."""

    ref: Ref = None
    data: CommitData = None
    transaction_uid: CommitTransactionUid = None
    split: Split = None

    def requests(self, arguments: list[str], renderer: Renderer) -> list[CommitRequest]:
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

    port: ResultPort = None
    aet: ResultAET = None
    bind: ResultBind = "0.0.0.0"
    timeout: ResultTimeout = 60.0

    def requestor_settings(
        self, association: RequestorAssociation, tls: ssl.SSLContext | None
    ) -> Settings:
        """The request's association stays open while waiting: idle no shorter than --timeout."""
        settings = association.settings(tls)
        idle = max(settings.network_timeout, self.timeout + settings.dimse_timeout)
        return dataclasses.replace(settings, network_timeout=idle)

    def new_associations(
        self, association: RequestorAssociation, tls: Tls
    ) -> NewAssociations | None:
        """Where the PACS may report on a new association (--port), as --aet; None without.

        With --tls it is DICOM over TLS, as the request's association.
        """
        from dcmreport.association.commit_scu import NewAssociations
        from dcmreport.association.listener import ListenOptions

        if self.port is None:
            return None
        settings = dataclasses.replace(
            association.settings(tls.result_server_context()),
            ae_title=self.aet or association.calling_aet,
            transfer_syntaxes=_transfer_syntaxes(None, ACCEPTED_TRANSFER_SYNTAXES),
            connect_timeout=None,
        )
        return NewAssociations(settings, ListenOptions(port=self.port, bind=self.bind))
