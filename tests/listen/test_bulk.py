"""A large report: what it costs the listener, and how its large value appears in JSON.

Real processes on 127.0.0.1, measured as ``tests/benchmarks/bulk.py`` measures
them: ``dcmreport listen`` (port 0) is sent a small report, its resident
memory read (idle), then a report whose OB value is 50 MB; its peak (VmHWM)
over idle must stay within :data:`MARGIN` times the data set's size. The
copies the listener cannot avoid are two: the data set's bytes as received
(kept whole for the Part 10 file) and pydicom's value decoded from them; the
margin above two allows for allocator slack. Each 50 MB case takes a few
seconds; both run in the default suite (and so in CI), in either mode of the
speedups switch.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import url2pathname

import pytest
from pydicom import dcmread

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from bulk import MB, TAG, Measured, data_file, measure, value_of
from harness import Servers

MARGIN = 2.2  # peak over idle, per byte of the data set
LARGE = 50 * MB
SMALL = 2 * MB  # over the 1 MiB from which a value is referred to, not inlined
SPEEDUPS = os.environ.get("DCMREPORT_SPEEDUPS")


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with Servers() as running:
        yield running


@pytest.fixture(scope="module")
def files(servers: Servers) -> dict[str, Path]:
    directory = servers.directory
    return {
        "large": data_file(directory, LARGE),
        "small": data_file(directory, 16, "small"),
        "medium": data_file(directory, SMALL, "medium"),
    }


def _record(measured: Measured) -> dict[str, Any]:
    """The large report's line (the second: the small one came first)."""
    lines = [line for line in measured.output.splitlines() if line.strip()]
    return dict(json.loads(lines[1]))


def _within_margin(measured: Measured) -> None:
    assert measured.per_byte <= MARGIN, measured.line()


def _bulk_data(uri: str) -> tuple[Path, int, int]:
    """(file, offset, length) of ``file:///PATH?offset=N&length=M``."""
    parts = urlsplit(uri)
    assert parts.scheme == "file"
    query = parse_qs(parts.query)
    return Path(url2pathname(parts.path)), int(query["offset"][0]), int(query["length"][0])


def test_a_kept_large_report_costs_at_most_about_twice_its_size(
    servers: Servers, files: dict[str, Path]
) -> None:
    """--output-dir: the peak is bounded, the Part 10 file holds the whole data set, and the
    record's BulkDataURI points at exactly the value's bytes in it."""
    measured = measure(servers, files["large"], files["small"], "output-dir", SPEEDUPS)
    _within_margin(measured)
    record = _record(measured)
    element = record["dataset"][TAG]
    assert set(element) == {"vr", "BulkDataURI"}
    assert element["vr"] == "OB"
    path, offset, length = _bulk_data(element["BulkDataURI"])
    kept = record["files"][0]
    assert path == Path(kept) and path.is_absolute()
    digest, size = value_of(files["large"])
    assert length == size
    with path.open("rb") as kept_file:
        kept_file.seek(offset)
        assert hashlib.sha256(kept_file.read(length)).hexdigest() == digest
    sent, received = dcmread(files["large"]), dcmread(kept)
    assert received == sent  # every element, the 50 MB value included
    assert received.file_meta.MediaStorageSOPClassUID == "1.2.840.10008.1.20.1"


def test_a_large_report_shown_as_json_costs_at_most_about_twice_its_size(
    servers: Servers, files: dict[str, Path]
) -> None:
    """--format json to a pipe, nothing kept: the value's length and a note, no bytes."""
    measured = measure(servers, files["large"], files["small"], "json", SPEEDUPS)
    _within_margin(measured)
    element = _record(measured)["dataset"][TAG]
    assert element["vr"] == "OB"
    assert element["length"] == value_of(files["large"])[1]
    assert "InlineBinary" not in element and "BulkDataURI" not in element
    assert "--inline-binary" in element["omitted"]


def test_inline_binary_puts_a_large_value_in_the_json(
    servers: Servers, files: dict[str, Path]
) -> None:
    """--inline-binary: InlineBinary whatever the size, in the record kept and the line shown."""
    measured = measure(
        servers, files["medium"], files["small"], "output-dir", SPEEDUPS, "--inline-binary"
    )
    shown = _record(measured)
    kept = json.loads(Path(shown["files"][-1]).read_text())
    digest, _ = value_of(files["medium"])
    for record in (shown, kept):
        element = record["dataset"][TAG]
        assert set(element) == {"vr", "InlineBinary"}
        assert hashlib.sha256(base64.b64decode(element["InlineBinary"])).hexdigest() == digest


def test_a_value_under_the_threshold_stays_inline(servers: Servers, files: dict[str, Path]) -> None:
    """A value under 1 MiB is InlineBinary as before (the small report's 16 bytes)."""
    measured = measure(servers, files["medium"], files["small"], "json", SPEEDUPS)
    lines = [json.loads(line) for line in measured.output.splitlines() if line.strip()]
    small = lines[0]["dataset"][TAG]
    assert set(small) == {"vr", "InlineBinary"}
    assert len(base64.b64decode(small["InlineBinary"])) == 16
    assert lines[1]["dataset"][TAG]["length"] == SMALL
