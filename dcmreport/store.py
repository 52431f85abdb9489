"""Keeping received reports on disk: ``listen --output-dir``.

Each report becomes a DICOM Part 10 file of its Event Information (when it
has one) and a JSON record (association, command fields, answer, whether the
answer went out). Both are written atomically - a temporary file, fsync, then
a hard link to the final name, which fails rather than replace an existing
file - and the directory is fsynced, all before the answer goes out: a peer is
never told Success for a report that is not on disk. Once the answer has (or
has not) gone out, the record is replaced by its completed form, again
atomically and fsynced. A temporary file never outlives a failed write.
Files are created owner-only (0600), and a directory the listener creates is
owner-only too (0700): they hold patient data.

File names are built only from values we made or validated: the local
receive time, a per-listener sequence number, the event type number and the
SOP instance UID only if it is a well-formed UID. A hostile UID or AE title
can neither escape the directory nor overwrite another report.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian

from dcmreport.catalog import UID_PATTERN
from dcmreport.errors import InputError
from dcmreport.records import ReceivedReport, ReportRecord


def _is_uid(value: str) -> bool:
    return len(value) <= 64 and UID_PATTERN.match(value) is not None


class ReportStore:
    """Writes each report under a unique, safe name in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, directory: Path) -> ReportStore:
        """A store in a directory we can write to (made owner-only if new), or exit 2 at start."""
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".dcmreport-check-"):
                pass
        except OSError as exc:
            raise InputError(
                f"--output-dir {directory}: cannot write there: {exc.strerror or exc}"
            ) from None
        return cls(directory)

    def keep(
        self, record: ReportRecord, to_json: Callable[[ReportRecord], dict[str, Any]]
    ) -> ReportRecord:
        """Write the data set and the pending record; the record, naming its files."""
        stem = self.stem(record.report)
        kept = replace(record, files=self.files(stem, record.report))
        self.write_dataset(stem, record.report)
        self.write_record(stem, to_json(kept))
        return kept

    @staticmethod
    def paths(record: ReportRecord) -> tuple[Path, Path | None]:
        """(the JSON record, the Part 10 file or None) of a kept record."""
        files = [Path(name) for name in record.files]
        return files[-1], files[0] if len(files) > 1 else None

    def complete(self, path: Path, record: dict[str, Any]) -> None:
        """Replace a pending record with its completed form."""
        self._atomic(path, _json_writer(record), replace=True)

    def stem(self, report: ReceivedReport) -> str:
        """``20261128T051200123456-000042-e1-<instance UID or 'invalid-uid'>``."""
        with self._lock:
            number = next(self._sequence)
        uid = report.sop_instance_uid
        safe_uid = uid if _is_uid(uid) else "invalid-uid"
        event = "none" if report.event_type_id is None else str(report.event_type_id)
        stamp = report.received_at.strftime("%Y%m%dT%H%M%S%f")
        return f"{stamp}-{number:06d}-e{event}-{safe_uid}"

    def files(self, stem: str, report: ReceivedReport) -> tuple[str, ...]:
        """The files a report is kept in: its Part 10 file (if it has a data set), its record."""
        names = ([f"{stem}.dcm"] if report.dataset is not None else []) + [f"{stem}.json"]
        return tuple(str(self.directory / name) for name in names)

    def write_dataset(self, stem: str, report: ReceivedReport) -> Path | None:
        """The Event Information as a Part 10 file, or None if the report carried none."""
        if report.dataset is None:
            return None
        path = self.directory / f"{stem}.dcm"
        part10 = _part10(report, report.dataset)
        self._atomic(path, lambda f: part10.save_as(f, enforce_file_format=True))
        return path

    def write_record(self, stem: str, record: dict[str, Any]) -> Path:
        """The JSON record of the report and its answer (pending until :meth:`complete`)."""
        path = self.directory / f"{stem}.json"
        self._atomic(path, _json_writer(record))
        return path

    def _atomic(self, path: Path, write: Any, replace: bool = False) -> None:
        temporary = path.with_name(f".{path.name}.tmp")
        try:
            # Owner-only: these files hold patient data (umask may only narrow it further).
            with os.fdopen(
                os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb"
            ) as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            if replace:
                os.replace(temporary, path)
            else:
                os.link(temporary, path)  # unlike rename, never replaces an existing file
        finally:  # whatever failed (pydicom raises more than OSError), no temporary file stays
            temporary.unlink(missing_ok=True)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _json_writer(record: dict[str, Any]) -> Callable[[Any], object]:
    text = json.dumps(record, indent=1, default=str).encode()
    return lambda f: f.write(text)


def _part10(report: ReceivedReport, event_information: Dataset) -> Dataset:
    """Event Information with a file meta header naming the report's class and instance."""
    ds = Dataset(event_information)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(report.sop_class_uid)
    uid = report.sop_instance_uid
    meta.MediaStorageSOPInstanceUID = UID(uid if _is_uid(uid) else "0")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    return ds
