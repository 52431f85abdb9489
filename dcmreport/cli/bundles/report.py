"""send-report's options: the report (class, event, instance, Event Information) and batches.

:class:`Report` builds each :class:`~dcmreport.dicom.records.ReportRequest`,
checked against the catalog; :class:`Batching` the
:class:`~dcmreport.association.batch.BatchOptions` of ``--batch``/``--repeat``;
:class:`~.judging.Judging` says whether an answer's findings decide the exit code.
"""

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dcmreport.cli import completion
from dcmreport.cli.bundles import configured, parsed
from dcmreport.cli.bundles.judging import Judging
from dcmreport.cli.options import PANEL_BATCH, PANEL_EVENT_INFO
from dcmreport.dicom import catalog
from dcmreport.dicom.records import Role
from dcmreport.errors import InputError
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    from pydicom import Dataset

    from dcmreport.association.batch import BatchOptions
    from dcmreport.dicom.records import Item, ReportRequest
    from dcmreport.output.render import Renderer


@frozen
class Report:
    """What send-report sends: class, event, instance and the Event Information."""

    event: Annotated[
        str | None,
        typer.Option(
            "--event",
            "-e",
            metavar="EVENT",
            show_default=False,
            autocompletion=completion.event_names,
            help="Event Type ID, a number or an event name of the class (--event failures). "
            "With --commit/--fail: chosen from the outcome.",
        ),
    ] = None
    instance: Annotated[
        str | None,
        typer.Option(
            "--instance",
            "-i",
            metavar="UID",
            show_default=False,
            help="Affected SOP Instance UID. Default: the class's well-known instance "
            "(storage-commitment, printer, inventory-creation).",
        ),
    ] = None
    sop_class: Annotated[
        str | None,
        typer.Option(
            "--class",
            "-c",
            metavar="CLASS",
            show_default=False,
            autocompletion=completion.sop_classes,
            help="Affected SOP Class: a UID, a pydicom keyword or a name "
            "(storage-commitment, mpps-notification, ups-push, ...). Default: Secondary "
            "Capture Image Storage, as the reference sample; storage-commitment with --commit.",
        ),
    ] = None
    context_class: Annotated[
        str | None,
        typer.Option(
            "--context-class",
            metavar="CLASS",
            show_default=False,
            help="Abstract syntax to send the report on, when not its class. Default: "
            "UPS Event for ups-push, Basic Grayscale Print Management Meta for printer "
            "and print-job.",
        ),
    ] = None
    message_id: Annotated[
        int,
        typer.Option(
            "--message-id",
            metavar="ID",
            min=1,
            max=65535,
            help="Message ID of the request, 1-65535.",
        ),
    ] = 1
    role: Annotated[
        Role,
        typer.Option(
            "--role",
            case_sensitive=False,
            help="SCP/SCU role selection proposed for the report's context. The sender "
            "of a report is the SCP of its SOP class; strict receivers "
            "(dcm4che) need scp.",
        ),
    ] = Role.SCP
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="FILE|-",
            show_default=False,
            rich_help_panel=PANEL_EVENT_INFO,
            help='Event Information: DICOM JSON model, {"Keyword": value} JSON or a DICOM '
            "Part 10 file (sent without its pixels: --with-pixel-data); - reads stdin.",
        ),
    ] = None
    with_pixel_data: Annotated[
        bool,
        typer.Option(
            "--with-pixel-data",
            rich_help_panel=PANEL_EVENT_INFO,
            help="Send a Part 10 --data file's Pixel Data, Float and Double Float Pixel Data "
            "and Overlay Data too (by default they are left out, with a note).",
        ),
    ] = False
    commit: Annotated[
        list[str] | None,
        typer.Option(
            "--commit",
            metavar="FILE|DIR",
            show_default=False,
            rich_help_panel=PANEL_EVENT_INFO,
            help="Storage commitment: a DICOM file (or every file under DIR) committed; "
            "its SOP Class/Instance UIDs go into Referenced SOP Sequence. Repeatable.",
        ),
    ] = None
    fail: Annotated[
        list[str] | None,
        typer.Option(
            "--fail",
            metavar="FILE[:REASON]",
            autocompletion=completion.failure_reasons,
            show_default=False,
            rich_help_panel=PANEL_EVENT_INFO,
            help="Storage commitment: a DICOM file (or DIR) that failed, into Failed SOP "
            "Sequence with a Failure Reason: 0x0112, 274 or a name (default 0x0110 "
            "processing-failure). Repeatable.",
        ),
    ] = None
    transaction_uid: Annotated[
        str | None,
        typer.Option(
            "--transaction-uid",
            metavar="UID",
            show_default=False,
            rich_help_panel=PANEL_EVENT_INFO,
            help="Transaction UID of the storage commitment request answered. Default: "
            "TransactionUID of --data, else a new one.",
        ),
    ] = None
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            rich_help_panel=PANEL_EVENT_INFO,
            help="Exit 2 without sending when the Event Information departs from what the "
            "standard says for the class and event (otherwise: warnings).",
        ),
    ] = False

    def request(self, assignments: list[str], renderer: "Renderer") -> "ReportRequest":
        """The checked request: warnings for its findings; with --strict, none may be found."""
        return self._request(assignments, renderer, self._data(renderer))

    def items(
        self, batch: str | None, assignments: list[str], renderer: "Renderer"
    ) -> "list[Item]":
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
        base = self._data(renderer)  # shared by the lines without data: encoded once
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
            data = _Data(line.data) if line.data is not None else base
            try:
                request = fields._request(assignments, renderer, data, f"{where}: ")
            except InputError as exc:
                raise InputError(f"{where}: {exc}", exc.hint) from None
            items.append(Item(position + 1, request, line.number))
        return items

    def _data(self, renderer: "Renderer") -> "_Data | None":
        """--data, read once; a Part 10 file without its pixels, unless --with-pixel-data."""
        from dcmreport.dicom import dataset

        if self.data is None:
            return None
        stdin = sys.stdin.buffer.read() if self.data == "-" else None
        ds, part10 = dataset.load_source(self.data, stdin)
        if not part10:
            return _Data(ds)
        file = "stdin" if self.data == "-" else self.data
        if not self.with_pixel_data:
            _note_left_out(file, dataset.leave_out_pixels(ds), renderer)
        return _Data(ds, file, tuple(elem.keyword or str(elem.tag) for elem in ds))

    def _request(
        self, assignments: list[str], renderer: "Renderer", data: "_Data | None", where: str = ""
    ) -> "ReportRequest":
        from dcmreport.dicom.records import ReportRequest

        files = bool(self.commit or self.fail)
        if self.transaction_uid is not None and not files:
            raise InputError(
                "--transaction-uid goes with --commit/--fail", "else give TransactionUID=UID"
            )
        class_uid = _class_uid(self.sop_class, files)
        instance_uid = _instance_uid(class_uid, self.instance)
        ds, event_type = self._event_information(
            class_uid, files, assignments, renderer, data.dataset if data else None
        )
        request = configured(
            ReportRequest,
            self,
            sop_class_uid=class_uid,
            sop_instance_uid=instance_uid,
            event_type_id=event_type,
            dataset=ds,
            context_class_uid=_context_uid(class_uid, self.context_class),
        )
        _check(request, self.strict, renderer, where, data)
        return request

    def _event_information(
        self,
        class_uid: str,
        files: bool,
        assignments: list[str],
        renderer: "Renderer",
        ds: "Dataset | None",
    ) -> "tuple[Dataset | None, int]":
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


@frozen
class _Data:
    """--data as loaded. For a Part 10 file, a whole instance: ``file`` names it (as given, or
    stdin) and ``names`` are its attributes' keywords (tags when private), before anything
    else is added, for the one line that says which the event does not define."""

    dataset: "Dataset"
    file: str | None = None
    names: tuple[str, ...] = ()


def _note_left_out(file: str, left_out: list[tuple[str, int]], renderer: "Renderer") -> None:
    """One line for the pixels a Part 10 file was sent without."""
    if left_out:
        names = ", ".join(name for name, _ in left_out)
        size = sum(length for _, length in left_out)
        them = "it" if len(left_out) == 1 else "them"
        renderer.note(
            f"dcmreport: {file}: left out {names}, {size:,} bytes; --with-pixel-data sends {them}"
        )


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

    batch: Annotated[
        str | None,
        typer.Option(
            "--batch",
            metavar="FILE|-",
            show_default=False,
            rich_help_panel=PANEL_BATCH,
            help="Send many reports over one association, one JSON object per line: class, "
            "instance, event, message_id, data (either JSON form); what a line leaves out "
            "comes from the other options, missing message IDs count on from --message-id. - "
            "reads stdin. Every line is checked before anything is sent.",
        ),
    ] = None
    repeat: Annotated[
        int | None,
        typer.Option(
            "--repeat",
            metavar="N",
            min=1,
            show_default=False,
            rich_help_panel=PANEL_BATCH,
            help="Send the report (or the whole --batch) N times over one association, "
            "message IDs counting on: a load test. Prints a line per response and a summary.",
        ),
    ] = None
    window: Annotated[
        int,
        typer.Option(
            "--window",
            metavar="N",
            min=1,
            max=65535,
            rich_help_panel=PANEL_BATCH,
            help="Keep up to N requests outstanding, if the peer negotiates asynchronous "
            "operations for as many (else 1).",
        ),
    ] = 1
    stop_on_failure: Annotated[
        bool,
        typer.Option(
            "--stop-on-failure",
            rich_help_panel=PANEL_BATCH,
            help="Stop a batch at the first Failure status or answer with findings (unless "
            "--accept-findings), or when the peer releases or aborts the association (by "
            "default the unanswered reports are sent again, marked resent, on a new "
            "association).",
        ),
    ] = False

    @property
    def active(self) -> bool:
        return self.batch is not None or self.repeat is not None

    @property
    def times(self) -> int:
        return self.repeat or 1

    def options(self, judging: Judging) -> "BatchOptions":
        """The batch's options; --stop-on-failure stops at findings too, unless accepted."""
        from dcmreport.association.batch import BatchOptions

        return configured(BatchOptions, self, accept_findings=judging.accept_findings)


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
    report: Report, base: "Dataset | None", renderer: "Renderer"
) -> "tuple[Dataset, int]":
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


def _check(
    request: "ReportRequest",
    strict: bool,
    renderer: "Renderer",
    where: str = "",
    data: "_Data | None" = None,
) -> None:
    """Warn about every finding; with --strict, refuse to send when there is one.

    A Part 10 file's attributes outside the event's definition are one line
    (:func:`_outside`), which stands for the finding that lists them all.
    """
    from dcmreport.dicom import validate

    found = validate.findings(request.sop_class_uid, request.event_type_id, request.dataset)
    outside = _outside(request, data, renderer.full)
    lines = [str(f) for f in found if outside is None or f.kind != "unexpected"]
    for line in [outside, *lines] if outside else lines:
        renderer.warn(f"{where}{line}")
    if strict and found:
        raise InputError(
            f"--strict: nothing sent, the Event Information has {len(found)} finding(s); "
            f"the first: {lines[0] if lines else outside}"
        )


SHOWN_NAMES = 3  # attributes a Part 10 file's warning names before "... N more"


def _outside(request: "ReportRequest", data: "_Data | None", full: bool) -> str | None:
    """How many of a Part 10 file's attributes the event does not define, and the first
    few (all when ``full``); None when the catalog does not define the event."""
    from dcmreport.dicom import validate

    if data is None or data.file is None:
        return None
    definition = validate.event_definition(request.sop_class_uid, request.event_type_id)
    if definition is None:
        return None
    label, own = definition
    outside = [name for name in data.names if name not in own]
    if not outside:
        return None
    shown = outside if full or len(outside) <= SHOWN_NAMES + 1 else outside[:SHOWN_NAMES]
    more = len(outside) - len(shown)
    listed = ", ".join(shown) + (f", ...; --full names all {len(outside)}" if more else "")
    return (
        f"{data.file}: {len(outside)} attribute(s) lie outside what {label} defines "
        f"({listed}); sending them as given"
    )
