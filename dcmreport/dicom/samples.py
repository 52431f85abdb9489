"""``dcmreport samples``: the made-up files the README's examples use.

A newcomer pasting the README needs DICOM files to commit, Event Information
to send and a batch file; real images would carry patient data, so these are
invented, with fixed UIDs under pydicom's example root so that each example's
output can be shown, and compared by the test that runs the README. Each CT
image is complete (8x8 pixels) so that it can also stand for "a whole image
given as Event Information".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian

from dcmreport.dicom.dataset import to_json_model
from dcmreport.errors import InputError

ROOT = "1.2.826.0.1.3680043.8.498.100"
STUDY = f"{ROOT}.1"
SERIES = f"{ROOT}.2"
# File name -> SOP Instance UID; study/ is one series of three images.
IMAGES = {
    "a.dcm": f"{ROOT}.3.1",
    "b.dcm": f"{ROOT}.3.2",
    "study/1.dcm": f"{ROOT}.4.1",
    "study/2.dcm": f"{ROOT}.4.2",
    "study/3.dcm": f"{ROOT}.4.3",
}
NAMES = (*IMAGES, "result.json", "reports.jsonl")


def image(instance_uid: str, number: int) -> Dataset:
    """A small CT image of an invented patient, ready to be written as Part 10."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = UID(instance_uid)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, instance_uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY, SERIES
    ds.PatientName, ds.PatientID = "SAMPLE^INVENTED", "SAMPLE-0001"
    ds.Modality, ds.InstanceNumber, ds.ImageType = "CT", number, ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    ds.PixelData = bytes(range(128))
    return ds


def committed_result() -> Dataset:
    """Storage commitment Event Information naming a.dcm (the Transaction UID comes on top)."""
    item = Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = CTImageStorage, IMAGES["a.dcm"]
    ds = Dataset()
    ds.ReferencedSOPSequence = Sequence([item])
    return ds


def batch_lines() -> Iterator[str]:
    """A --batch file: one report per study image, its instance and Event Information."""
    for number, name in enumerate(("study/1.dcm", "study/2.dcm", "study/3.dcm"), 1):
        yield json.dumps({"instance": IMAGES[name], "data": {"InstanceNumber": number}})


def write(directory: Path) -> list[Path]:
    """Every sample file under ``directory``; none is overwritten (exit 2 if one exists)."""
    paths = [directory / name for name in NAMES]
    existing = [p for p in paths if p.exists()]
    if existing:
        raise InputError(
            f"{existing[0]} exists: samples writes only new files",
            "remove the earlier samples, or give another DIR",
        )
    (directory / "study").mkdir(parents=True, exist_ok=True)
    for number, (name, uid) in enumerate(IMAGES.items(), 1):
        image(uid, number).save_as(directory / name, enforce_file_format=True)
    (directory / "result.json").write_text(json.dumps(to_json_model(committed_result())) + "\n")
    (directory / "reports.jsonl").write_text("".join(f"{line}\n" for line in batch_lines()))
    return paths
