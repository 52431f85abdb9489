"""Keeping received reports on disk: ``listen --output-dir``.

Each report becomes a DICOM Part 10 file of its Event Information (when it
has one) and a JSON record (association, command fields, answer). Both are
written atomically - a temporary file, fsync, then a hard link to the final
name, which fails rather than replace an existing file - and the directory is
fsynced, all before the answer goes out: a peer is never told Success for a
report that is not on disk.

File names are built only from values we made or validated: the local
receive time, a per-listener sequence number, the event type number and the
SOP instance UID only if it is a well-formed UID. A hostile UID or AE title
can neither escape the directory nor overwrite another report.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from pathlib import Path
from typing import Any

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian

from dcmreport.catalog import UID_PATTERN
from dcmreport.records import ReceivedReport


def _is_uid(value: str) -> bool:
    return len(value) <= 64 and UID_PATTERN.match(value) is not None


class ReportStore:
    """Writes each report under a unique, safe name in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()

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

    def write_record(self, stem: str, record: dict[str, Any], replace: bool = False) -> Path:
        """The JSON record of the report and its answer; ``replace`` updates our own record."""
        path = self.directory / f"{stem}.json"
        text = json.dumps(record, indent=1, default=str).encode()
        self._atomic(path, lambda f: f.write(text), replace)
        return path

    def _atomic(self, path: Path, write: Any, replace: bool = False) -> None:
        temporary = path.with_name(f".{path.name}.tmp")
        with open(temporary, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        try:
            if replace:
                os.replace(temporary, path)
            else:
                os.link(temporary, path)  # unlike rename, never replaces an existing file
        finally:
            temporary.unlink(missing_ok=True)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


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
