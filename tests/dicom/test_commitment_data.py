"""Storage commitment results built from DICOM files, unit by unit and across processes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from helpers import dcmreport
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from dcmreport.dicom import commitment
from dcmreport.errors import InputError
from dcmreport.listen import commitment_policy

CT = "1.2.840.10008.5.1.4.1.1.2"
SC = "1.2.840.10008.5.1.4.1.1.7"


def write(path: Path, sop_class: str = CT, *, in_dataset: bool = True) -> tuple[str, str]:
    """A small Part 10 file; its (SOP Class UID, SOP Instance UID)."""
    uid = str(generate_uid())
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    if in_dataset:
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = uid
    ds.PatientID = "ID"
    ds.PixelData = b"\0" * 64
    ds["PixelData"].VR = "OB"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return sop_class, uid


def pairs(ds: Dataset, keyword: str) -> list[tuple[str, ...]]:
    return [
        (
            i.ReferencedSOPClassUID,
            i.ReferencedSOPInstanceUID,
            *([f"0x{i.FailureReason:04X}"] if "FailureReason" in i else []),
        )
        for i in ds.get(keyword, [])
    ]


def test_all_committed_is_event_1(tmp_path: Path) -> None:
    a = write(tmp_path / "a.dcm")
    b = write(tmp_path / "dir" / "sub" / "b.dcm", SC)
    built = commitment.build([str(tmp_path / "a.dcm"), str(tmp_path / "dir")], [])
    assert built.event_type_id == 1
    assert pairs(built.dataset, "ReferencedSOPSequence") == [a, b]
    assert "FailedSOPSequence" not in built.dataset
    assert built.transaction_uid_generated
    assert built.dataset.TransactionUID == built.transaction_uid


def test_failures_are_event_2_with_reasons(tmp_path: Path) -> None:
    a = write(tmp_path / "a.dcm")
    b = write(tmp_path / "b.dcm")
    c = write(tmp_path / "c.dcm", SC)
    built = commitment.build(
        [str(tmp_path / "a.dcm")],
        [f"{tmp_path / 'b.dcm'}:0x0112", str(tmp_path / "c.dcm")],
        "1.2.3.4",
    )
    assert built.event_type_id == 2
    assert built.transaction_uid == "1.2.3.4" and not built.transaction_uid_generated
    assert pairs(built.dataset, "ReferencedSOPSequence") == [a]
    assert pairs(built.dataset, "FailedSOPSequence") == [(*b, "0x0112"), (*c, "0x0110")]


def test_uids_from_file_meta_and_duplicates_once(tmp_path: Path) -> None:
    a = write(tmp_path / "a.dcm", in_dataset=False)
    built = commitment.build([str(tmp_path / "a.dcm"), str(tmp_path)], [])
    assert pairs(built.dataset, "ReferencedSOPSequence") == [a]


def test_base_dataset_and_its_transaction_uid(tmp_path: Path) -> None:
    write(tmp_path / "a.dcm")
    base = Dataset()
    base.TransactionUID = "1.2.5"
    base.RetrieveAETitle = "PACS"
    built = commitment.build([str(tmp_path / "a.dcm")], [], None, base)
    assert (built.transaction_uid, built.dataset.RetrieveAETitle) == ("1.2.5", "PACS")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("b.dcm", ("b.dcm", 0x0110)),
        ("b.dcm:0x0112", ("b.dcm", 0x0112)),
        ("b.dcm:274", ("b.dcm", 0x0112)),
        ("b.dcm:resource-limitation", ("b.dcm", 0x0213)),
        ("dir/b.dcm:class-instance-conflict", ("dir/b.dcm", 0x0119)),
    ],
)
def test_parse_fail(text: str, expected: tuple[str, int]) -> None:
    assert commitment.parse_fail(text) == expected


def test_parse_fail_prefers_an_existing_path(tmp_path: Path) -> None:
    odd = tmp_path / "odd:name"
    odd.write_bytes(b"")
    assert commitment.parse_fail(str(odd)) == (str(odd), 0x0110)


ERRORS = [
    (["missing.dcm"], [], "--commit missing.dcm: no such file or directory"),
    (["notdicom.txt"], [], "--commit notdicom.txt: not a DICOM Part 10 file"),
    ([], ["a.dcm:bogus"], "--fail a.dcm:bogus: unknown failure reason 'bogus'"),
    (["empty"], [], "--commit empty: the directory holds no files"),
    (["a.dcm"], ["a.dcm"], "is given to both --commit and --fail"),
    (["nouids.dcm"], [], "--commit nouids.dcm: the file has no SOP Class and SOP Instance UID"),
]


@pytest.mark.parametrize(("commit", "fail", "message"), ERRORS)
def test_errors_name_the_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    commit: list[str],
    fail: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.dcm")
    (tmp_path / "notdicom.txt").write_text("hello")
    (tmp_path / "empty").mkdir()
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    bare = Dataset()
    bare.file_meta = meta
    bare.PatientID = "X"
    bare.preamble = b"\0" * 128
    bare.save_as(tmp_path / "nouids.dcm", enforce_file_format=False)
    with pytest.raises(InputError) as caught:
        commitment.build(commit, fail)
    assert message in str(caught.value)


def test_bad_transaction_uid() -> None:
    with pytest.raises(InputError, match=r"--transaction-uid '1\.02' is not a UID"):
        commitment.build([], [], "1.02")


@pytest.mark.parametrize(
    ("failed", "explicit", "message"),
    [
        (True, 1, "--event 1 disagrees with --commit/--fail: 1 instance(s) failed"),
        (False, 2, "--event 2 disagrees with --commit/--fail: nothing failed"),
    ],
)
def test_explicit_event_must_agree(
    tmp_path: Path, failed: bool, explicit: int, message: str
) -> None:
    write(tmp_path / "a.dcm")
    built = (
        commitment.build([], [str(tmp_path / "a.dcm")])
        if failed
        else commitment.build([str(tmp_path / "a.dcm")], [])
    )
    commitment.check_event(built, built.event_type_id)
    commitment.check_event(built, None)
    with pytest.raises(InputError, match=re.escape(message)):
        commitment.check_event(built, explicit)


def test_end_to_end_every_uid_accounted_for(tmp_path: Path, listen: Any) -> None:
    """The issue's command line, against ``dcmreport listen``: every instance arrives."""
    committed = [write(tmp_path / "a.dcm")]
    committed += [write(tmp_path / "study" / f"{n}.dcm", SC) for n in range(5)]
    failed = [
        (*write(tmp_path / "b.dcm"), 0x0112),
        (*write(tmp_path / "c.dcm"), 0x0213),
        (*write(tmp_path / "d.dcm", SC), 0x0110),
    ]
    listener = listen("--count", "1")
    run = dcmreport(
        "send-report",
        f"ANY-SCP@127.0.0.1:{listener.port}",
        "--class",
        "storage-commitment",
        "--event",
        "failures",
        "--commit",
        str(tmp_path / "a.dcm"),
        "--commit",
        str(tmp_path / "study"),
        "--fail",
        f"{tmp_path / 'b.dcm'}:0x0112",
        "--fail",
        f"{tmp_path / 'c.dcm'}:resource-limitation",
        "--fail",
        str(tmp_path / "d.dcm"),
        "RetrieveAETitle=PACS",
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stderr
    assert "warning" not in run.stderr
    notes = run.stderr.split()
    transaction_uid = notes[-1]
    assert "6 committed, 3 failed" in " ".join(notes)
    assert listener.finish(sig=None) == 0
    (record,) = listener.json_lines()
    assert (record["sop_class_uid"], record["sop_instance_uid"], record["event_type_id"]) == (
        "1.2.840.10008.1.20.1",
        "1.2.840.10008.1.20.1.1",
        2,
    )
    assert record["findings"] == []
    received = Dataset.from_json(record["dataset"])
    assert received.TransactionUID == transaction_uid
    assert received.RetrieveAETitle == "PACS"
    assert sorted(pairs(received, "ReferencedSOPSequence")) == sorted(committed)
    assert sorted(pairs(received, "FailedSOPSequence")) == sorted(
        (c, i, f"0x{r:04X}") for c, i, r in failed
    )


# --- the request of commit, and the result read back ---------------------------------------


def test_files_and_refs_make_one_referenced_sop_sequence(tmp_path: Path) -> None:
    first = write(tmp_path / "a.dcm")
    ds = Dataset()
    named = commitment.instances([str(tmp_path)], "FILE")
    named += [commitment.parse_ref("SecondaryCaptureImageStorage:1.2.3.9")]
    named += [commitment.parse_ref(f"{CT}:{first[1]}")]  # the file's instance again: once
    commitment.add_instances(ds, named)
    [request] = commitment.requests(ds, None, None)
    assert [(i.sop_class_uid, i.sop_instance_uid) for i in request.instances] == [
        first,
        (SC, "1.2.3.9"),
    ]
    assert request.transaction_uid_generated
    assert ds.TransactionUID == request.transaction_uid


def test_split_gives_each_transaction_its_own_uid_and_message_id() -> None:
    ds = Dataset()
    commitment.add_instances(ds, [commitment.Instance(CT, f"1.2.3.{i}") for i in range(5)])
    ds.RetrieveAETitle = "PACS"
    made = commitment.requests(ds, None, 2)
    assert [len(r.instances) for r in made] == [2, 2, 1]
    assert [r.message_id for r in made] == [1, 2, 3]
    assert len({r.transaction_uid for r in made}) == 3
    assert [str(r.dataset.TransactionUID) for r in made] == [r.transaction_uid for r in made]
    assert all(r.dataset.RetrieveAETitle == "PACS" for r in made)
    assert [i.ReferencedSOPInstanceUID for i in made[2].dataset.ReferencedSOPSequence] == [
        "1.2.3.4"
    ]


def test_a_request_names_its_instances_whole() -> None:
    ds = Dataset()
    ds.ReferencedSOPSequence = [Dataset()]
    ds.ReferencedSOPSequence[0].ReferencedSOPInstanceUID = "1.2.3"
    with pytest.raises(InputError, match=r"ReferencedSOPSequence\[0\] needs ReferencedSOPClass"):
        commitment.requests(ds, None, None)


REQUESTED = [commitment.Instance(CT, "1.2.3.1"), commitment.Instance(SC, "1.2.3.2")]


def test_program_decision_takes_the_classes_from_the_request() -> None:
    committed, failed = commitment_policy.program_decision(
        '{"committed": ["1.2.3.1"], "failed": {"1.2.3.2": "class-instance-conflict"}}', REQUESTED
    )
    assert committed == [REQUESTED[0]] and failed == [(REQUESTED[1], 0x0119)]
    _, failed = commitment_policy.program_decision(
        '{"failed": {"1.2.3.1": 274, "1.2.3.2": "0x0110"}}', REQUESTED
    )
    assert [reason for _, reason in failed] == [0x0112, 0x0110]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("", "not JSON"),
        ("[]", 'not an object with "committed" and "failed" only'),
        ('{"committed": ["1.2.3.1", "1.2.3.2"], "extra": 1}', '"committed" and "failed" only'),
        ('{"committed": "1.2.3.1"}', '"committed" must be a list'),
        ('{"committed": ["1.2.3.1"]}', "every requested SOP Instance UID once"),
        ('{"committed": ["1.2.3.1", "1.2.3.2", "1.2.3.3"]}', "and no other"),
        ('{"committed": ["1.2.3.1", "1.2.3.1", "1.2.3.2"]}', "once"),
        ('{"committed": ["1.2.3.1"], "failed": {"1.2.3.1": 274, "1.2.3.2": 274}}', "once"),
        ('{"committed": [1, "1.2.3.2"]}', "every requested SOP Instance UID"),
        ('{"committed": ["1.2.3.1"], "failed": {"1.2.3.2": "lost"}}', "1.2.3.2: "),
    ],
)
def test_program_decision_refuses_anything_else(output: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        commitment_policy.program_decision(output, REQUESTED)
