"""``dcmreport samples``: the README's files, invented, and never written over."""

from __future__ import annotations

from pathlib import Path

from helpers import dcmreport
from pydicom import dcmread

from dcmreport.dicom.samples import IMAGES, NAMES


def test_writes_every_file_the_readme_uses(tmp_path: Path) -> None:
    run = dcmreport("samples", str(tmp_path / "here"))
    assert run.returncode == 0, run.stderr
    assert sorted(
        str(p.relative_to(tmp_path / "here")) for p in (tmp_path / "here").rglob("*.*")
    ) == sorted(NAMES)
    for name, uid in IMAGES.items():
        ds = dcmread(tmp_path / "here" / name)
        assert ds.SOPInstanceUID == uid
        assert (ds.PatientName, ds.PatientID) == ("SAMPLE^INVENTED", "SAMPLE-0001")


def test_never_writes_over_a_file(tmp_path: Path) -> None:
    (tmp_path / "a.dcm").write_text("mine")
    run = dcmreport("samples", "--format", "text", str(tmp_path))
    assert run.returncode == 2
    assert f"{tmp_path / 'a.dcm'} exists: samples writes only new files" in run.stderr
    assert (tmp_path / "a.dcm").read_text() == "mine"
    assert not (tmp_path / "b.dcm").exists()
