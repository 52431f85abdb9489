"""What one large report costs the listener: its peak resident memory over idle.

``dcmreport listen`` (as a user runs it) is sent a small report first, so that
everything a report imports is loaded, and its resident memory is read then
(VmRSS: idle). Then ``dcmreport send-report`` sends one storage commitment
report whose Event Information holds an OB value of SIZE bytes (Encapsulated
Document); once the listener has shown it, its peak is read (VmHWM: not
``ru_maxrss``, into which the kernel folds the peak of the process that started
it) and it is stopped. The figure is the peak over idle, in MB and per byte of
the data set, in each form the listener can show or keep a report:

- ``json``: ``--format json`` to a drained pipe;
- ``output-dir``: the same, and ``--output-dir`` keeps a Part 10 file and a record;
- ``text``: ``--format text``, the rich view, to a pipe.

Run it alone (``python tests/benchmarks/bulk.py [--size MB] [--form NAME ...]``);
``tests/listen/test_bulk.py`` measures through :func:`measure` and bounds it.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness import MODES, ON, BenchError, Process, Servers, environment, send_report

FORMS = {
    "json": ("--format", "json"),
    "output-dir": ("--format", "json"),  # and --output-dir, added per run
    "text": ("--format", "text"),
}
SHOWN = {"json": '"kind"', "output-dir": '"kind"', "text": "N-EVENT-REPORT"}
TAG = "00420011"  # Encapsulated Document, OB: the large value
UID = "1.2.826.0.1.3680043.9.9999.61"
MB = 1_000_000


@dataclass(frozen=True)
class Measured:
    form: str
    size: int  # bytes of the large value
    idle_mib: float
    peak_mib: float
    output: str  # what the listener printed
    kept: Path | None  # the --output-dir directory

    @property
    def over_idle(self) -> int:
        """Peak over idle, in bytes."""
        return int((self.peak_mib - self.idle_mib) * 1024 * 1024)

    @property
    def per_byte(self) -> float:
        return self.over_idle / self.size

    def line(self) -> str:
        return (
            f"{self.form:>10}: idle {self.idle_mib:7.1f} MiB, peak {self.peak_mib:7.1f} MiB, "
            f"over idle {self.over_idle / MB:7.1f} MB = {self.per_byte:.2f} bytes per byte"
        )


def data_file(directory: Path, size: int, name: str = "large") -> Path:
    """A Part 10 file of storage commitment Event Information with an OB value of ``size``
    bytes (made even); the value's SHA-256 and size beside it (:func:`value_of`)."""
    from pydicom import Dataset
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    value = (bytes(range(256)) * (size // 256 + 1))[: size + size % 2]
    ds = Dataset()
    ds.TransactionUID = f"{UID}.1"
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    item.ReferencedSOPInstanceUID = f"{UID}.2"
    ds.ReferencedSOPSequence = [item]
    ds.add_new(0x00420011, "OB", value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.1.20.1"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.840.10008.1.20.1.1"
    path = directory / f"{name}.dcm"
    ds.save_as(path, enforce_file_format=True)
    path.with_suffix(".value").write_text(f"{hashlib.sha256(value).hexdigest()} {len(value)}")
    return path


def _wait_shown(listener: Process, form: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while "".join(listener.lines).count(SHOWN[form]) < count:
        if listener.proc.poll() is not None or time.monotonic() > deadline:
            listener.kill(f"did not show report {count}")
        time.sleep(0.05)


def measure(
    servers: Servers, data: Path, small: Path, form: str, speedups: str | None = ON, *extra: str
) -> Measured:
    """One listener, a small report then the large one (``data``); see the module docstring."""
    kept = servers.scratch("kept-") if form == "output-dir" else None
    args = [*FORMS[form], *(("--output-dir", str(kept)) if kept else ()), *extra]
    listener, port = servers.dcmreport_listen(*args, speedups=speedups)
    for number, sent in enumerate((small, data), 1):
        sender = Process(send_report(port, sent, "--dimse-timeout", "300"), environment(speedups))
        sender.finish(timeout=300)
        _wait_shown(listener, form, number)
        if number == 1:
            time.sleep(0.5)  # the association's threads end after its last answer
            idle = listener.vm_rss_mib()
    peak = listener.vm_rss_mib("VmHWM")  # the report is shown: its peak is behind it
    finished = listener.stop()
    return Measured(form, value_of(data)[1], idle, peak, finished.stdout, kept)


def value_of(data: Path) -> tuple[str, int]:
    """The SHA-256 and size of the large value of a :func:`data_file`."""
    digest, size = data.with_suffix(".value").read_text().split()
    return digest, int(size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=50, help="MB of the OB value (50)")
    parser.add_argument("--form", nargs="+", choices=FORMS, default=list(FORMS))
    parser.add_argument("--mode", nargs="+", choices=MODES, default=["on"])
    args = parser.parse_args()
    try:
        with Servers() as servers:
            data = data_file(servers.directory, int(args.size * MB))
            small = data_file(servers.directory, 16, "small")
            for mode in args.mode:
                for form in args.form:
                    print(f"{mode:>3} {measure(servers, data, small, form, MODES[mode]).line()}")
    except BenchError as exc:
        print(f"bulk: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
