"""A whole image file as Event Information: ``send-report --data ct.dcm``.

A newcomer's first try is often a CT file they have at hand. It is sent as
given, but without its pixels (``--with-pixel-data`` sends them), and what the
event does not define is one warning line, not one line naming every attribute.
The file is made here (made-up values, no patient's), sent by the CLI as a
subprocess to a real ``dcmreport listen``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import CT, ROOT, cli_env, dcmreport
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from dcmreport.dicom import dataset, validate

MPPS = ["--class", "mpps", "--event", "completed", "--instance", f"{ROOT}.9"]
PIXEL_DATA, OVERLAY_DATA = "7FE00010", "60003000"


def ct_image() -> Dataset:
    """A small CT image as a scanner writes one: identification, patient, study, series,
    geometry, pixel module, 16x16 pixels and an overlay plane. Every value made up."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID, ds.SOPInstanceUID = CT, f"{ROOT}.1.1"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20240101"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "120000"
    ds.AccessionNumber, ds.Modality, ds.Manufacturer = "A1", "CT", "MADE-UP"
    ds.ReferringPhysicianName = ""
    ds.PatientName, ds.PatientID = "MADEUP^TEST", "TEST-1"
    ds.PatientBirthDate, ds.PatientSex = "19700101", "O"
    ds.SliceThickness, ds.KVP = "5.0", "120"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = f"{ROOT}.1", f"{ROOT}.1.2"
    ds.FrameOfReferenceUID = f"{ROOT}.1.3"
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", "1", "1"
    ds.ImagePositionPatient = ["0", "0", "0"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = 16
    ds.PixelSpacing = ["0.5", "0.5"]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
    ds.add_new(0x60000010, "US", 16)  # Overlay Rows
    ds.add_new(0x60000011, "US", 16)  # Overlay Columns
    ds.add_new(0x60000040, "CS", "G")  # Overlay Type
    ds.add_new(0x60000050, "SS", [1, 1])  # Overlay Origin
    ds.add_new(0x60000100, "US", 1)  # Overlay Bits Allocated
    ds.add_new(0x60000102, "US", 0)  # Overlay Bit Position
    ds.add_new(0x60003000, "OW", bytes(32))  # Overlay Data
    ds.PixelData = bytes(range(256)) * 2
    return ds


def write_ct(path: Path) -> Path:
    ds = ct_image()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CT
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)
    return path


def send(port: int, *args: str) -> tuple[list[str], list[str]]:
    """send-report to the listener: its warning lines and its other stderr lines."""
    run = dcmreport("send-report", f"ANY-SCP@127.0.0.1:{port}", *args)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    return [x for x in lines if x.startswith("warning:")], [
        x for x in lines if not x.startswith("warning:")
    ]


def received(listener: Any) -> list[dict[str, Any]]:
    assert listener.finish(sig=None) == 0, "".join(listener.stderr)
    return [record["dataset"] for record in listener.json_lines()]


def test_a_ct_file_is_one_warning_and_goes_without_its_pixels(listen: Any, tmp_path: Path) -> None:
    ct = write_ct(tmp_path / "ct.dcm")
    listener = listen("--count", "1")
    warnings, notes = send(listener.port, *MPPS, "--data", str(ct), "--format", "text")
    total = len(ct_image()) - 2  # less Pixel Data and Overlay Data
    assert len(warnings) == 1, warnings
    assert warnings[0] == (
        f"warning: {ct}: {total} attribute(s) lie outside what mpps-notification event 2 "
        "(completed) defines (SpecificCharacterSet, ImageType, SOPClassUID, ...; --full names "
        f"all {total}); sending them as given"
    )
    assert notes == [
        f"dcmreport: {ct}: left out Overlay Data (6000,3000), Pixel Data (7FE0,0010), "
        "544 bytes; --with-pixel-data sends them"
    ]
    (got,) = received(listener)
    assert PIXEL_DATA not in got and OVERLAY_DATA not in got
    assert got["00100020"] == {"vr": "LO", "Value": ["TEST-1"]}
    assert got["60000010"] == {"vr": "US", "Value": [16]}  # the overlay's description stays
    assert len(got) == total


def test_with_pixel_data_sends_them(listen: Any, tmp_path: Path) -> None:
    ct = write_ct(tmp_path / "ct.dcm")
    listener = listen("--count", "1")
    warnings, notes = send(
        listener.port, *MPPS, "--data", str(ct), "--with-pixel-data", "--format", "text"
    )
    assert len(warnings) == 1 and notes == [], (warnings, notes)
    assert f"{len(ct_image())} attribute(s)" in warnings[0]
    (got,) = received(listener)
    assert got[PIXEL_DATA]["vr"] == "OW" and OVERLAY_DATA in got


@pytest.mark.parametrize("shown", [["--format", "json"], ["--format", "text", "--full"]])
def test_json_and_full_name_every_attribute_on_the_one_line(
    listen: Any, tmp_path: Path, shown: list[str]
) -> None:
    ct = write_ct(tmp_path / "ct.dcm")
    listener = listen("--count", "1")
    warnings, _ = send(listener.port, *MPPS, "--data", str(ct), *shown)
    assert len(warnings) == 1, warnings
    names = ", ".join(e.keyword or str(e.tag) for e in ct_image() if e.tag not in (0x7FE00010,))
    names = names.replace(", (6000,3000)", "").replace(", OverlayData", "")
    assert f"({names}); sending them as given" in warnings[0]
    (got,) = received(listener)
    assert PIXEL_DATA not in got


def test_an_event_with_attributes_counts_what_it_does_not_define(
    listen: Any, tmp_path: Path
) -> None:
    """Storage commitment event 1 defines TransactionUID: the file's own does not count."""
    ds = ct_image()
    ds.TransactionUID = f"{ROOT}.7"
    path = tmp_path / "with-transaction.dcm"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    listener = listen("--count", "1")
    args = ["--class", "stgcmt", "--event", "1", "--data", str(path), "--format", "text"]
    warnings, _ = send(listener.port, *args)
    outside = len(ds) - 3  # less TransactionUID and the two pixel elements
    assert warnings == [
        f"warning: {path}: {outside} attribute(s) lie outside what storage-commitment event 1 "
        f"(success) defines (SpecificCharacterSet, ImageType, SOPClassUID, ...; --full names "
        f"all {outside}); sending them as given",
        "warning: ReferencedSOPSequence is required for event 1 (success) but absent",
    ]
    received(listener)


def test_strict_refuses_with_the_one_line(tmp_path: Path) -> None:
    ct = write_ct(tmp_path / "ct.dcm")
    run = dcmreport("send-report", *MPPS, "--data", str(ct), "--strict", "--format", "text")
    assert run.returncode == 2
    error = run.stderr.splitlines()[-1]
    assert error.startswith("dcmreport: error: --strict: nothing sent, the Event Information has 1")
    assert error.endswith(
        "(SpecificCharacterSet, ImageType, SOPClassUID, ...; --full names "
        f"all {len(ct_image()) - 2}); sending them as given"
    )


def test_a_class_the_catalog_does_not_describe_gets_no_count(listen: Any, tmp_path: Path) -> None:
    """Secondary Capture (the default class) defines no events here: nothing to count against,
    but the pixels are still left out."""
    ct = write_ct(tmp_path / "ct.dcm")
    listener = listen("--count", "1")
    args = ["--event", "1", "--instance", f"{ROOT}.9", "--data", str(ct), "--format", "text"]
    warnings, notes = send(listener.port, *args)
    assert warnings == [] and len(notes) == 1 and "Pixel Data (7FE0,0010)" in notes[0]
    (got,) = received(listener)
    assert PIXEL_DATA not in got


def test_json_data_keeps_its_pixel_data_and_its_long_finding(listen: Any, tmp_path: Path) -> None:
    """Only a Part 10 file is a whole instance: JSON says what it wants sent."""
    model = tmp_path / "model.json"
    model.write_text(json.dumps({"PatientID": "X", "PixelData": None}))
    listener = listen("--count", "1")
    warnings, notes = send(listener.port, *MPPS, "--data", str(model), "--format", "text")
    assert notes == []
    assert warnings == [
        "warning: the standard defines no Event Information for event 2 (completed); it "
        "carries PatientID, PixelData"
    ]
    (got,) = received(listener)
    assert PIXEL_DATA in got


def test_leave_out_pixels_keeps_odd_groups_and_items() -> None:
    ds = ct_image()
    ds.add_new(0x601E3000, "OW", b"\0\0")  # the last overlay group
    ds.add_new(0x60013000, "OB", b"\0\0")  # odd: a private group, not an overlay
    ds.add_new(0x7FE00008, "OF", b"\0" * 4)
    icon = Dataset()
    icon.PixelData = b"\0\0"
    ds.IconImageSequence = Sequence([icon])
    left_out = dataset.leave_out_pixels(ds)
    assert left_out == [
        ("Overlay Data (6000,3000)", 32),
        ("Overlay Data (601E,3000)", 2),
        ("Float Pixel Data (7FE0,0008)", 4),
        ("Pixel Data (7FE0,0010)", 512),
    ]
    assert 0x60013000 in ds and "PixelData" in ds.IconImageSequence[0]


def test_event_definition() -> None:
    assert validate.event_definition("1.2.840.10008.3.1.2.3.5", 2) == (
        "mpps-notification event 2 (completed)",
        frozenset(),
    )
    label, own = validate.event_definition("1.2.840.10008.1.20.1", 1) or ("", frozenset())
    assert label == "storage-commitment event 1 (success)" and "TransactionUID" in own
    assert validate.event_definition("1.2.840.10008.3.1.2.3.5", 9) is None
    assert validate.event_definition(CT, 1) is None


def test_a_ct_file_on_stdin_is_called_stdin(tmp_path: Path) -> None:
    """``--data -`` reads the file from stdin; --strict stops before any association."""
    ct = write_ct(tmp_path / "ct.dcm").read_bytes()
    run = subprocess.run(
        [sys.executable, "-m", "dcmreport", "send-report", *MPPS, "--data", "-", "--strict"],
        input=ct,
        capture_output=True,
        env=cli_env(),
        timeout=60,
    )
    assert run.returncode == 2
    lines = run.stderr.decode().splitlines()
    assert lines[0].startswith("dcmreport: stdin: left out Overlay Data (6000,3000), Pixel Data")
    assert lines[1].startswith(f"warning: stdin: {len(ct_image()) - 2} attribute(s) lie outside")
