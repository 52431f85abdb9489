"""Storage commitment, both halves, built from DICOM files.

The most common N-EVENT-REPORT in the field is a storage commitment result
(PS3.4 J.3.3): the SCP tells which instances of a transaction it committed
(Referenced SOP Sequence) and which it could not, with a Failure Reason
(Failed SOP Sequence). Here both come from the files themselves: only their
SOP Class and Instance UIDs are read (``stop_before_pixels``, ``specific_tags``),
so large images cost nothing. The event follows from the outcome: 1 when
everything was committed, 2 when anything failed (as dcm4che's dcmqrscp
decides it).

The request that starts it (``commit``, PS3.4 J.3.2: the N-ACTION's Action
Information) names its instances the same way, from files or ``--ref``
pairs, in the same Referenced SOP Sequence: :func:`instances` and
:func:`referenced_sequence` serve both. :func:`requests` cuts a request into
transactions (``--split``). A result that comes back is read, and judged against
its request, by :mod:`dcmreport.dicom.judge`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from dcmreport.dicom import catalog
from dcmreport.dicom.records import CommitRequest, ReferencedInstance
from dcmreport.errors import InputError

SUCCESS_EVENT = 1
FAILURES_EVENT = 2
DEFAULT_FAILURE_REASON = 0x0110  # Processing failure


@dataclass(frozen=True)
class Instance:
    """A SOP instance named in a request or report, and the file it was read from (if any)."""

    sop_class_uid: str
    sop_instance_uid: str
    path: Path | None = None


@dataclass(frozen=True)
class ResultInformation:
    """The Event Information of a storage commitment result, and what it says."""

    dataset: Dataset
    event_type_id: int
    transaction_uid: str
    transaction_uid_generated: bool
    committed: tuple[Instance, ...]
    failed: tuple[tuple[Instance, int], ...]


def parse_fail(text: str) -> tuple[str, int]:
    """``FILE[:REASON]`` of ``--fail``: the path and the Failure Reason (default 0x0110).

    A path that exists as given wins, so ``C:\\scans`` is a path, not C with reason ``\\scans``.
    """
    path, sep, reason = text.rpartition(":")
    if not sep or Path(text).exists() or not path:
        return text, DEFAULT_FAILURE_REASON
    try:
        return path, catalog.resolve_failure_reason(reason)
    except ValueError as exc:
        raise InputError(f"--fail {text}: {exc}") from None


def _files(text: str, option: str) -> list[Path]:
    """A file, or every file under a directory (sorted, recursively)."""
    path = Path(text)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file())
        if not found:
            raise InputError(f"{option} {text}: the directory holds no files")
        return found
    if not path.exists():
        raise InputError(f"{option} {text}: no such file or directory")
    return [path]


def read_instance(path: Path, option: str) -> Instance:
    """The SOP Class and Instance UIDs of a Part 10 file (else its file meta's)."""
    try:
        ds = dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID", "SOPInstanceUID"])
    except InvalidDicomError:
        raise InputError(
            f"{option} {path}: not a DICOM Part 10 file (no DICM after the 128-byte preamble)"
        ) from None
    except (EOFError, ValueError, TypeError, KeyError) as exc:
        raise InputError(f"{option} {path}: not a readable DICOM file ({exc})") from None
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot read: {exc.strerror or exc}") from None
    meta = getattr(ds, "file_meta", Dataset())
    class_uid = ds.get("SOPClassUID") or meta.get("MediaStorageSOPClassUID")
    instance_uid = ds.get("SOPInstanceUID") or meta.get("MediaStorageSOPInstanceUID")
    if not class_uid or not instance_uid:
        raise InputError(f"{option} {path}: the file has no SOP Class and SOP Instance UID")
    try:
        catalog.check_uid(str(class_uid), "SOP Class UID")
        catalog.check_uid(str(instance_uid), "SOP Instance UID")
    except ValueError as exc:
        raise InputError(f"{option} {path}: {exc}") from None
    return Instance(str(class_uid), str(instance_uid), path)


def parse_ref(text: str) -> Instance:
    """``CLASS:INSTANCE`` of ``--ref``; the class a UID, a pydicom keyword or a catalog name."""
    sop_class, sep, instance = text.rpartition(":")
    if not sep or not sop_class or not instance:
        raise InputError(
            f"--ref {text}: give CLASS_UID:INSTANCE_UID", "e.g. CTImageStorage:1.2.3.4"
        )
    try:
        class_uid = catalog.resolve_class(sop_class)
        return Instance(class_uid, catalog.check_uid(instance, "SOP Instance UID"))
    except ValueError as exc:
        raise InputError(f"--ref {text}: {exc}") from None


def instances(texts: list[str], option: str) -> list[Instance]:
    """The instances of files and directories, each once (``--commit``, ``commit FILE``)."""
    return _unique([read_instance(p, option) for text in texts for p in _files(text, option)])


def add_instances(ds: Dataset, named: list[Instance]) -> None:
    """Append to ``ds``'s Referenced SOP Sequence the instances it does not name yet."""
    if not named:
        return
    items = ds.get("ReferencedSOPSequence") or Sequence()
    present = {str(item.get("ReferencedSOPInstanceUID", "")) for item in items}
    new = [i for i in _unique(named) if i.sop_instance_uid not in present]
    ds.ReferencedSOPSequence = Sequence([*items, *referenced_sequence(new)])


def referenced_sequence(named: list[Instance]) -> Sequence:
    """Referenced SOP Sequence: what a request asks to commit and a result says is committed."""
    return Sequence([_item(i) for i in named])


def _item(instance: Instance) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = instance.sop_class_uid
    item.ReferencedSOPInstanceUID = instance.sop_instance_uid
    return item


def _failed_item(instance: Instance, reason: int) -> Dataset:
    item = _item(instance)
    item.FailureReason = reason
    return item


def _transaction_uid(given: str | None, base: Dataset) -> tuple[str, bool]:
    """The given Transaction UID, else the one in --data, else a new one (and whether it is new)."""
    uid = given or base.get("TransactionUID")
    if not uid:
        return str(generate_uid()), True
    try:
        return catalog.check_uid(str(uid), "--transaction-uid"), False
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _unique(instances: list[Instance]) -> list[Instance]:
    """One entry per SOP instance: the same file may be reached twice (a file and its directory)."""
    seen: dict[str, Instance] = {}
    for instance in instances:
        seen.setdefault(instance.sop_instance_uid, instance)
    return list(seen.values())


def build(
    commit: list[str],
    fail: list[str],
    transaction_uid: str | None = None,
    base: Dataset | None = None,
) -> ResultInformation:
    """The storage commitment result for ``--commit`` and ``--fail`` files, on top of ``base``."""
    committed = instances(commit, "--commit")
    failed_pairs: dict[str, tuple[Instance, int]] = {}
    for text in fail:
        path_text, reason = parse_fail(text)
        for path in _files(path_text, "--fail"):
            instance = read_instance(path, "--fail")
            failed_pairs.setdefault(instance.sop_instance_uid, (instance, reason))
    both = [i for i in committed if i.sop_instance_uid in failed_pairs]
    if both:
        raise InputError(
            f"{both[0].path}: SOP instance {both[0].sop_instance_uid} is given to both "
            "--commit and --fail; an instance is either committed or failed"
        )
    ds = base if base is not None else Dataset()
    uid, generated = _transaction_uid(transaction_uid, ds)
    ds.TransactionUID = uid
    if committed:
        ds.ReferencedSOPSequence = referenced_sequence(committed)
    failed = tuple(failed_pairs.values())
    if failed:
        ds.FailedSOPSequence = Sequence([_failed_item(i, r) for i, r in failed])
    event = FAILURES_EVENT if failed else SUCCESS_EVENT
    return ResultInformation(ds, event, uid, generated, tuple(committed), failed)


def check_event(commitment: ResultInformation, explicit: int | None) -> None:
    """An explicit ``--event`` must say what the files say: 2 if anything failed, else 1."""
    if explicit is None or explicit == commitment.event_type_id:
        return
    if commitment.failed:
        why = f"{len(commitment.failed)} instance(s) failed, which is event 2 (failures)"
    else:
        why = "nothing failed, which is event 1 (success); add --fail FILE[:REASON]"
    raise InputError(f"--event {explicit} disagrees with --commit/--fail: {why}")


# --- the request: N-ACTION Action Information (PS3.4 J.3.2.1.1) ------------------------------


def requests(ds: Dataset, transaction_uid: str | None, split: int | None) -> list[CommitRequest]:
    """``ds`` as one request, or one per ``split`` instances of its Referenced SOP Sequence.

    The Transaction UID is ``transaction_uid``, else the data set's, else a
    new one; each further transaction of a split gets a new one, so a given
    UID names one transaction only.
    """
    items = list(ds.get("ReferencedSOPSequence") or [])
    if not items:
        raise InputError(
            "nothing to commit: give DICOM files, --ref CLASS:INSTANCE or "
            "ReferencedSOPSequence[0].ReferencedSOPInstanceUID=... (and its class)"
        )
    named = [_referenced(item, f"ReferencedSOPSequence[{i}]") for i, item in enumerate(items)]
    size = split or len(items)
    chunks = [range(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    given = transaction_uid or ds.get("TransactionUID")
    if given and len(chunks) > 1:
        raise InputError(
            f"a Transaction UID names one transaction; --split {split} makes {len(chunks)}",
            "leave out --transaction-uid (and TransactionUID) to have one made for each",
        )
    uid, generated = _transaction_uid(transaction_uid, ds)
    made = []
    for index, chunk in enumerate(chunks):
        part = copy.deepcopy(ds) if len(chunks) > 1 else ds
        part.ReferencedSOPSequence = Sequence([items[i] for i in chunk])
        part.TransactionUID = uid if index == 0 else str(generate_uid())
        made.append(
            CommitRequest(
                str(part.TransactionUID),
                part,
                tuple(named[i] for i in chunk),
                message_id=index + 1,
                transaction_uid_generated=generated or index > 0,
            )
        )
    return made


def _referenced(item: Dataset, where: str) -> ReferencedInstance:
    """The SOP Class and Instance UIDs of a Referenced SOP Sequence item, both required."""
    class_uid, instance_uid = (
        item.get("ReferencedSOPClassUID"),
        item.get("ReferencedSOPInstanceUID"),
    )
    if not class_uid or not instance_uid:
        raise InputError(
            f"{where} needs ReferencedSOPClassUID and ReferencedSOPInstanceUID (PS3.4 J.3.2.1.1)"
        )
    return ReferencedInstance(str(class_uid), str(instance_uid))


def requested_instances(action_information: Dataset) -> list[Instance]:
    """The instances an N-ACTION asks to commit (its Referenced SOP Sequence)."""
    return [
        Instance(
            str(item.get("ReferencedSOPClassUID", "")),
            str(item.get("ReferencedSOPInstanceUID", "")),
        )
        for item in action_information.get("ReferencedSOPSequence") or []
    ]


def result(
    transaction_uid: str, committed: list[Instance], failed: list[tuple[Instance, int]]
) -> ResultInformation:
    """The N-EVENT-REPORT's Event Information for a decided transaction (PS3.4 J.3.3)."""
    ds = Dataset()
    ds.TransactionUID = transaction_uid
    if committed:
        ds.ReferencedSOPSequence = referenced_sequence(committed)
    if failed:
        ds.FailedSOPSequence = Sequence([_failed_item(i, r) for i, r in failed])
    event = FAILURES_EVENT if failed else SUCCESS_EVENT
    return ResultInformation(ds, event, transaction_uid, False, tuple(committed), tuple(failed))
