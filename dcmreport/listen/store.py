"""Keeping received reports on disk: ``listen --output-dir``.

Each report becomes a DICOM Part 10 file of its Event Information (when it
has one) and a JSON record (association, command fields, answer, whether the
answer went out). Every file is written atomically - a temporary file,
then into place: the first file of a report fsynced and hard-linked, which
fails rather than replace an existing file and so reserves the report's
name; the completed record renamed. A file is never seen half written, and
a temporary file never outlives a failed write.

Before the answer goes out, the Part 10 file is on disk and so is its
directory entry (one directory fsync): a peer is never told Success for a
report that is not kept. Its record is written once, after the answer has
(or has not) gone out, so it can say which: a record never claims an
answer that was not sent, and a crash in between leaves the Part 10 file
without its record - received and kept, its answer unknown. That is one
file fsync per report (a pending record replaced by its completed form,
each fsynced, took three of each) and one directory fsync per group of
reports waiting for it at the same moment (:class:`DirectorySync`). The
record is written before the answer only when something must read it then
(an ``--exec`` program) or when it is the report's only file (no Event
Information); it then says ``answer_sent: null`` until it is replaced by
the completed one. A completed record is not fsynced: the kernel writes it
back within half a minute, and a crash before that leaves the report as if it had
come just before the crash - its record missing or empty (or still the
pending one), never claiming an answer. Fsyncing it too would cost each report one
more fsync, for a record that a crash can only lose, never make false (``capture`` in
tests/benchmarks/ measures ``--output-dir`` against a listener keeping nothing).

The Part 10 file holds the Event Information's bytes as received (inflated
if they came deflated), after a file meta header naming the report's class,
instance and transfer syntax: nothing is re-encoded.
Files are created owner-only (0600), and a directory the listener creates is
owner-only too (0700): they hold patient data.

File names are built only from values we made or validated: the local
receive time, a per-listener sequence number, the event type number (``e1``;
an N-ACTION's Action Type, ``a1``) and the SOP instance UID only if it is a
well-formed UID. A hostile UID or AE title can neither escape the directory
nor overwrite another report.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import struct
import tempfile
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian

from dcmreport.dicom.catalog import UID_PATTERN
from dcmreport.dicom.records import MessageKind, ReceivedReport, ReportRecord
from dcmreport.errors import InputError

PREAMBLE = b"\0" * 128 + b"DICM"


def _is_uid(value: str) -> bool:
    return len(value) <= 64 and UID_PATTERN.match(value) is not None


class ReportStore:
    """Writes each report under a unique, safe name in one directory.

    ``records_before_answer``: write each record before the answer too (for
    an ``--exec`` program to read), then replace it once the answer is known.
    """

    def __init__(self, directory: Path, records_before_answer: bool = False) -> None:
        self.directory = directory
        self._records_before_answer = records_before_answer
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()
        self._prefix = os.path.join(directory, "")  # names as strings: pathlib costs per report
        self._directory_sync = DirectorySync(directory)

    @classmethod
    def open(cls, directory: Path, records_before_answer: bool = False) -> ReportStore:
        """A store in a directory we can write to (made owner-only if new), or exit 2 at start."""
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".dcmreport-check-"):
                pass
        except OSError as exc:
            raise InputError(
                f"--output-dir {directory}: cannot write there: {exc.strerror or exc}"
            ) from None
        return cls(directory, records_before_answer)

    def keep(
        self, record: ReportRecord, to_json: Callable[[ReportRecord], dict[str, Any]]
    ) -> ReportRecord:
        """Before the answer: the Part 10 file (and the pending record if it is needed now),
        then the directory fsynced; the record, naming its files."""
        report = record.report
        files = self.files(self.stem(report), report)
        kept = replace(record, files=files)
        if report.encoded is not None:
            head = _part10_head(report)
            kept = replace(kept, dataset_offset=len(head))
            self._write(files[0], head, report.encoded)  # the data set as received, not copied
        if self._pending(report):
            self._write(files[-1], _json_bytes(to_json(kept)))
        self._directory_sync.wait()
        return kept

    def complete(self, record: ReportRecord, form: dict[str, Any]) -> None:
        """Write the completed record (``form``), replacing the pending one if there is one.

        Renamed into place, never linked: its name is ours already (the file linked
        before the answer reserved the stem), and a rename leaves no moment where the
        record is there and its temporary file too.
        """
        self._write(record.files[-1], _json_bytes(form), completion=True)

    def write_json(self, path: str | Path, form: dict[str, Any], pending: bool = False) -> None:
        """A JSON record: ``pending`` (before what it records has happened: a storage
        commitment result before its delivery) fsynced and linked with its directory
        entry, like a report's first file; else renamed into place, as :meth:`complete`."""
        self._write(path, _json_bytes(form), completion=not pending)
        if pending:
            self._directory_sync.wait()

    @staticmethod
    def paths(record: ReportRecord) -> tuple[Path, Path | None]:
        """(the JSON record, the Part 10 file or None) of a kept record."""
        files = [Path(name) for name in record.files]
        return files[-1], files[0] if len(files) > 1 else None

    def stem(self, report: ReceivedReport) -> str:
        """``20261128T051200123456-000042-e1-<instance UID or 'invalid-uid'>``; an N-ACTION
        has its Action Type instead, ``-a1-``."""
        with self._lock:
            number = next(self._sequence)
        uid = report.sop_instance_uid
        safe_uid = uid if _is_uid(uid) else "invalid-uid"
        action = report.kind is MessageKind.N_ACTION
        type_id = report.action_type_id if action else report.event_type_id
        kind = f"{'a' if action else 'e'}{'none' if type_id is None else type_id}"
        stamp = report.received_at.strftime("%Y%m%dT%H%M%S%f")
        return f"{stamp}-{number:06d}-{kind}-{safe_uid}"

    def files(self, stem: str, report: ReceivedReport) -> tuple[str, ...]:
        """The files a report is kept in: its Part 10 file (if it has a data set), its record."""
        names = ([f"{stem}.dcm"] if report.encoded is not None else []) + [f"{stem}.json"]
        return tuple(self._prefix + name for name in names)

    def _pending(self, report: ReceivedReport) -> bool:
        """Whether the record is written before the answer too (see the module docstring)."""
        return self._records_before_answer or report.encoded is None

    def _write(self, path: str | Path, *content: bytes, completion: bool = False) -> None:
        """``content`` (its parts one after the other) under a temporary name, then into
        place: fsynced and linked, or for a completed record renamed and left to the kernel
        (see the module docstring).

        The temporary file is removed once linked, or whenever a step failed; a rename
        leaves none to remove (a system call less per report than removing it anyway).
        """
        head, name = os.path.split(path)
        temporary = os.path.join(head, f".{name}.tmp")
        placed = False
        try:
            # Owner-only: these files hold patient data (umask may only narrow it further).
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                for part in content:
                    view = memoryview(part)
                    while view:
                        view = view[os.write(fd, view) :]
                if not completion:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if completion:
                os.replace(temporary, path)
                placed = True
            else:
                os.link(temporary, path)  # unlike rename, never replaces an existing file
        finally:  # whatever failed, no temporary file stays
            if not placed:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)


class DirectorySync:
    """One directory's fsync, shared by the reports waiting for it at the same moment.

    A report's directory entry is on disk once an fsync of the directory that
    *started* after the entry was made has finished. One runs at a time; the
    reports whose entries are made meanwhile wait for it to end, then one of
    them runs the next for all of them (group commit): with concurrent
    associations, fewer fsyncs than reports, each a write of the directory and
    a flush of the disk's cache.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._changed = threading.Condition()
        self._started = 0  # fsyncs started so far: the number of the latest
        self._finished = 0  # the number of the latest finished (one runs at a time)
        self._failed = 0  # the number of the latest that failed, and its error
        self._failure: OSError | None = None

    def wait(self) -> None:
        """Returns once the entries made before the call are on disk; raises the error of
        the fsync that was to put them there."""
        with self._changed:
            needed = self._started + 1  # the next to start is the first to cover our entries
            while self._finished < needed:
                if self._started > self._finished:
                    self._changed.wait()  # one is running, which may have started too early
                else:
                    self._started += 1
                    self._run(self._started)
            if self._failed >= needed:  # a later failure fails us too: never a false Success
                failure = cast(OSError, self._failure)  # each waiter raises its own copy
                raise OSError(failure.errno, failure.strerror, str(self._directory))

    def _run(self, number: int) -> None:
        """Fsync number ``number``, outside the lock (held on entry and on return)."""
        self._changed.release()
        failure = None
        try:
            descriptor = os.open(self._directory, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        except OSError as exc:
            failure = exc
        finally:
            self._changed.acquire()
            self._finished = number
            if failure is not None:
                self._failed, self._failure = number, failure
            self._changed.notify_all()


def _json_bytes(record: dict[str, Any]) -> bytes:
    """One line, as ``--format json`` prints it: indenting would leave json's C encoder for
    its pure Python one, many times slower on a large data set (``jq .`` indents)."""
    return json.dumps(record, default=str).encode() + b"\n"


def _part10_head(report: ReceivedReport) -> bytes:
    """The preamble and a file meta header naming the report: its data set follows as
    received, written from its own buffer (joined to the header, a 64 MiB data set would be
    copied once more).

    The header is encoded here (six elements, PS3.10 7.1): pydicom's writer
    took more CPU than the rest of keeping a small report.
    """
    uid = report.sop_instance_uid
    syntax = UID(report.transfer_syntax)
    elements = b"".join(
        _explicit_le(element, b"UI", _even(value.encode()))
        for element, value in (
            (0x0002, report.sop_class_uid),
            (0x0003, uid if _is_uid(uid) else "0"),
            (0x0010, ExplicitVRLittleEndian if syntax.is_deflated else syntax),
            (0x0012, PYDICOM_IMPLEMENTATION_UID),
        )
    )
    elements = _explicit_le(0x0001, b"OB", b"\0\1") + elements
    length = _explicit_le(0x0000, b"UL", struct.pack("<I", len(elements)))
    return PREAMBLE + length + elements


def _explicit_le(element: int, vr: bytes, value: bytes) -> bytes:
    """A group 0002 element in Explicit VR Little Endian."""
    if vr == b"OB":
        return struct.pack("<HH2s2xI", 0x0002, element, vr, len(value)) + value
    return struct.pack("<HH2sH", 0x0002, element, vr, len(value)) + value


def _even(value: bytes) -> bytes:
    """A UID padded with NUL to an even length (PS3.5 9.1)."""
    return value + b"\0" * (len(value) % 2)
