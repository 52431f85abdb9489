"""Event Information inputs: KEY=VALUE, JSON (both forms), Part 10 files, @FILE; every error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import cli_env, dcmreport, unused_port
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from dcmreport.dicom import dataset
from dcmreport.errors import InputError


def model(*assignments: str) -> dict[str, Any] | None:
    return dataset.to_json_model(dataset.apply_assignments(Dataset(), assignments))


def uid(value: str) -> dict[str, Any]:
    return {"vr": "UI", "Value": [value]}


# --- KEY=VALUE: each key and value form, and the DICOM JSON model it makes ----------------

ASSIGNMENTS = [
    (["PatientID=12345"], {"00100020": {"vr": "LO", "Value": ["12345"]}}),
    (["(0010,0020)=12345"], {"00100020": {"vr": "LO", "Value": ["12345"]}}),
    (["0010,0020=12345"], {"00100020": {"vr": "LO", "Value": ["12345"]}}),
    (["00100020=12345"], {"00100020": {"vr": "LO", "Value": ["12345"]}}),
    (["(0010,0010)=DOE^JOHN"], {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^JOHN"}]}}),
    (["(0009,0010)=ACME"], {"00090010": {"vr": "LO", "Value": ["ACME"]}}),
    (["(0009,1001,LO)=private"], {"00091001": {"vr": "LO", "Value": ["private"]}}),
    (["(0009,1002,us)=7"], {"00091002": {"vr": "US", "Value": [7]}}),
    (["0009,1003,DS=1.5"], {"00091003": {"vr": "DS", "Value": [1.5]}}),
    (["FailureReason=0x0112"], {"00081197": {"vr": "US", "Value": [274]}}),
    (["FailureReason=274"], {"00081197": {"vr": "US", "Value": [274]}}),
    (["ReferencedFrameNumber=1\\2\\3"], {"00081160": {"vr": "IS", "Value": [1, 2, 3]}}),
    (["ImageType=ORIGINAL\\PRIMARY"], {"00080008": {"vr": "CS", "Value": ["ORIGINAL", "PRIMARY"]}}),
    (["PatientComments=a\\b"], {"00104000": {"vr": "LT", "Value": ["a\\b"]}}),
    (["ProcedureStepProgress=42.5"], {"00741004": {"vr": "DS", "Value": [42.5]}}),
    (["RescaleSlope=-0.5"], {"00281053": {"vr": "DS", "Value": [-0.5]}}),
    (["StudyDate=20240131"], {"00080020": {"vr": "DA", "Value": ["20240131"]}}),
    (["StudyTime=235959.5"], {"00080030": {"vr": "TM", "Value": ["235959.5"]}}),
    (
        ["AcquisitionDateTime=20240131235959"],
        {"0008002A": {"vr": "DT", "Value": ["20240131235959"]}},
    ),
    (["PatientAge=045Y"], {"00101010": {"vr": "AS", "Value": ["045Y"]}}),
    (["RetrieveAETitle=PACS"], {"00080054": {"vr": "AE", "Value": ["PACS"]}}),
    (["TransactionUID=1.2.3"], {"00081195": uid("1.2.3")}),
    (["OffendingElement=PatientID"], {"00000901": {"vr": "AT", "Value": ["00100020"]}}),
    (["FrameIncrementPointer=(0018,1063)"], {"00280009": {"vr": "AT", "Value": ["00181063"]}}),
    (["SamplesPerPixel=3"], {"00280002": {"vr": "US", "Value": [3]}}),
    (["ReferencedSegmentNumber=65535"], {"0062000B": {"vr": "US", "Value": [65535]}}),
    (
        ["TotalNumberOfStudyRecords=18446744073709551615"],
        {"00080428": {"vr": "UV", "Value": [18446744073709551615]}},
    ),
    (["RetrieveAETitle="], {"00080054": {"vr": "AE"}}),
    (["FailedSOPSequence="], {"00081198": {"vr": "SQ", "Value": []}}),
    (["PatientID=@@at"], {"00100020": {"vr": "LO", "Value": ["@at"]}}),
    (
        [
            "ReferencedSOPSequence[0].ReferencedSOPClassUID=1.2",
            "ReferencedSOPSequence[0].ReferencedSOPInstanceUID=1.3",
            "ReferencedSOPSequence[1].ReferencedSOPInstanceUID=1.4",
        ],
        {
            "00081199": {
                "vr": "SQ",
                "Value": [
                    {"00081150": uid("1.2"), "00081155": uid("1.3")},
                    {"00081155": uid("1.4")},
                ],
            }
        },
    ),
    (
        [
            "ProcedureStepProgressInformationSequence[0].ProcedureStepCommunicationsURISequence[0]"
            ".ContactURI=http://x"
        ],
        {
            "00741002": {
                "vr": "SQ",
                "Value": [
                    {
                        "00741008": {
                            "vr": "SQ",
                            "Value": [{"0074100A": {"vr": "UR", "Value": ["http://x"]}}],
                        }
                    }
                ],
            }
        },
    ),
    (["PatientID=a", "PatientID=b"], {"00100020": {"vr": "LO", "Value": ["b"]}}),
]


@pytest.mark.parametrize(("assignments", "expected"), ASSIGNMENTS)
def test_assignment_forms(assignments: list[str], expected: dict[str, Any]) -> None:
    assert model(*assignments) == expected


def test_value_from_file(tmp_path: Path) -> None:
    (tmp_path / "uid.txt").write_text("1.2.840.10008.1.20.1.1\n")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02\x03")
    ds = dataset.apply_assignments(
        Dataset(),
        [f"TransactionUID=@{tmp_path / 'uid.txt'}", f"(0009,1010,OB)=@{tmp_path / 'blob.bin'}"],
    )
    assert ds.TransactionUID == "1.2.840.10008.1.20.1.1"
    assert ds[0x00091010].value == b"\x00\x01\x02\x03"


# --- round trips: JSON -> Dataset -> DICOM JSON model --------------------------------------

ROUND_TRIPS: list[dict[str, Any]] = [
    {"00100020": {"vr": "LO", "Value": ["ID"]}},
    {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^JOHN", "Ideographic": "X^Y"}]}},
    {"00081195": uid("1.2.3"), "00080054": {"vr": "AE", "Value": ["PACS", "BACKUP"]}},
    {"00081197": {"vr": "US", "Value": [274]}},
    {"00280106": {"vr": "SS", "Value": [-5]}},
    {"00186020": {"vr": "SL", "Value": [-70000]}},
    {"00081160": {"vr": "IS", "Value": [1, 2]}},
    {"00741004": {"vr": "DS", "Value": [42.5]}},
    {"00189089": {"vr": "FD", "Value": [0.25, 1.5]}},
    {"00080020": {"vr": "DA", "Value": ["20240131"]}},
    {"00280009": {"vr": "AT", "Value": ["00181063"]}},
    {"00104000": {"vr": "LT", "Value": ["line one\nline two"]}},
    {"00080054": {"vr": "AE"}},
    {"00091001": {"vr": "OB", "InlineBinary": "AAECAw=="}},
    {"00081198": {"vr": "SQ", "Value": []}},
    {
        "00081198": {
            "vr": "SQ",
            "Value": [
                {
                    "00081150": uid("1.2.840.10008.5.1.4.1.1.7"),
                    "00081155": uid("1.2.3.4"),
                    "00081197": {"vr": "US", "Value": [272]},
                }
            ],
        }
    },
]


@pytest.mark.parametrize("doc", ROUND_TRIPS)
def test_dicom_json_model_round_trip(doc: dict[str, Any], both_modes: str) -> None:
    assert dataset.to_json_model(dataset.from_json_text(json.dumps(doc), "test")) == doc


@pytest.mark.parametrize("doc", ROUND_TRIPS)
def test_dicom_json_model_builds_what_pydicom_builds(doc: dict[str, Any], both_modes: str) -> None:
    """The direct builder for plain elements (the trick ``json-model``) makes pydicom's own
    dataset: the same elements, VRs and Python value types, plain items and others mixed;
    with the trick off, pydicom builds it."""
    mixed = {**doc, "00081199": {"vr": "SQ", "Value": [doc, {"00081150": uid("1.2.3")}]}}
    for model in (doc, mixed):
        ours, theirs = dataset.from_json_text(json.dumps(model), "test"), Dataset.from_json(model)
        assert ours == theirs
        assert [(e.tag, e.VR, type(e.value)) for e in ours.iterall()] == [
            (e.tag, e.VR, type(e.value)) for e in theirs.iterall()
        ]


PLAIN_JSON: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"PatientID": "ID"}, {"00100020": {"vr": "LO", "Value": ["ID"]}}),
    ({"FailureReason": 274}, {"00081197": {"vr": "US", "Value": [274]}}),
    ({"FailureReason": "0x0112"}, {"00081197": {"vr": "US", "Value": [274]}}),
    ({"RetrieveAETitle": ["A", "B"]}, {"00080054": {"vr": "AE", "Value": ["A", "B"]}}),
    ({"RetrieveAETitle": None}, {"00080054": {"vr": "AE"}}),
    ({"RetrieveAETitle": []}, {"00080054": {"vr": "AE"}}),
    ({"ProcedureStepProgress": 42.5}, {"00741004": {"vr": "DS", "Value": [42.5]}}),
    ({"(0009,1001,LO)": "x"}, {"00091001": {"vr": "LO", "Value": ["x"]}}),
    ({"00081195": "1.2.3"}, {"00081195": uid("1.2.3")}),
    (
        {
            "TransactionUID": "1.2.3",
            "FailedSOPSequence": [
                {
                    "ReferencedSOPClassUID": "1.2",
                    "ReferencedSOPInstanceUID": "1.3",
                    "FailureReason": 272,
                }
            ],
        },
        {
            "00081195": uid("1.2.3"),
            "00081198": {
                "vr": "SQ",
                "Value": [
                    {
                        "00081150": uid("1.2"),
                        "00081155": uid("1.3"),
                        "00081197": {"vr": "US", "Value": [272]},
                    }
                ],
            },
        },
    ),
]


@pytest.mark.parametrize(("doc", "expected"), PLAIN_JSON)
def test_plain_json(doc: dict[str, Any], expected: dict[str, Any], both_modes: str) -> None:
    ds = dataset.from_json_text(json.dumps(doc), "test")
    assert dataset.to_json_model(ds) == expected
    # and the DICOM JSON model it became reads back to itself
    assert dataset.to_json_model(dataset.from_json_text(json.dumps(expected), "t")) == expected


def _part10(path: Path, ds: Dataset) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)
    return path


def test_part10_file_and_stdin(tmp_path: Path) -> None:
    source = Dataset()
    source.TransactionUID = "1.2.3"
    source.RetrieveAETitle = "PACS"
    path = _part10(tmp_path / "info.dcm", source)
    expected = {"00080054": {"vr": "AE", "Value": ["PACS"]}, "00081195": uid("1.2.3")}
    assert dataset.to_json_model(dataset.load_data(str(path))) == expected
    from_stdin = dataset.load_data("-", path.read_bytes())
    assert dataset.to_json_model(from_stdin) == expected
    assert "file_meta" not in from_stdin.__dict__ or not from_stdin.file_meta


def test_inputs_apply_in_order(tmp_path: Path) -> None:
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"PatientID": "from-file", "PatientName": "A^B"}))
    ds = dataset.apply_assignments(dataset.load_data(str(data)), ["PatientID=from-argument"])
    assert (ds.PatientID, str(ds.PatientName)) == ("from-argument", "A^B")


# --- every error: the message names the offending argument ----------------------------------

ASSIGNMENT_ERRORS = [
    ("PatientIDx=1", "unknown keyword 'PatientIDx' (did you mean PatientID"),
    ("Qwertyuiop=1", "unknown keyword 'Qwertyuiop'"),
    ("(0010,0020=x", "malformed tag '(0010,0020'"),
    ("(00100020)=x", "malformed tag '(00100020)'"),
    ("0010002=x", "malformed tag '0010002'"),
    ("(0010,002G)=x", "malformed tag '(0010,002G)'"),
    ("(0000,1002)=1", "(0000,1002) is a command or file meta element"),
    ("(0010,0020,QQ)=x", "'QQ' in (0010,0020,QQ) is not a DICOM VR"),
    ("(0009,1001)=x", "(0009,1001) is not in the DICOM dictionary"),
    ("FailureReason=70000", "FailureReason: '70000' is not a valid US value (an integer"),
    ("FailureReason=abc", "FailureReason: 'abc' is not a valid US value"),
    ("(0028,0106,SS)=-40000", "'-40000' is not a valid SS value"),
    ("(0018,9089)=x", "'x' is not a valid FD value (a number)"),
    ("ReferencedFrameNumber=1.5", "'1.5' is not a valid IS value"),
    ("ProcedureStepProgress=abc", "'abc' is not a valid DS value"),
    ("StudyDate=2024-01-31", "'2024-01-31' is not a valid DA value (a date YYYYMMDD)"),
    ("StudyTime=25", "'25' is not a valid TM value"),
    ("AcquisitionDateTime=x", "'x' is not a valid DT value"),
    ("TransactionUID=1.2.03", "TransactionUID: '1.2.03' is not a valid UI value"),
    ("RetrieveAETitle=" + "A" * 17, "is not a valid AE value (at most 16 characters"),
    ("Modality=ct", "'ct' is not a valid CS value"),
    ("PatientAge=12", "'12' is not a valid AS value (an age"),
    ("PatientID=" + "x" * 65, "is not a valid LO value (The value length (65) exceeds"),
    ("OffendingElement=Nope", "'Nope' is not a valid AT value (a tag or keyword)"),
    ("ReferencedSOPSequence=1", "ReferencedSOPSequence: a sequence takes items"),
    ("PixelData=abc", "PixelData: OB is a binary VR: give the value as @FILE"),
    ("PatientID=@/nonexistent/file", "PatientID=@/nonexistent/file: no such file"),
    ("PatientID=@/", "PatientID=@/: a directory, not a file"),
    ("ReferencedSOPSequence.X=1", "'ReferencedSOPSequence' must be a sequence with an index"),
    ("PatientID[0].PatientID=1", "PatientID[0].PatientID: PatientID is not a sequence"),
    ("FailedSOPSequence[1].FailureReason=1", "item [1] skips item [0]"),
    ("PatientID", "'PatientID' is not KEY=VALUE"),
    ("=x", "'=x' is not KEY=VALUE"),
]


@pytest.mark.parametrize(("assignment", "message"), ASSIGNMENT_ERRORS)
def test_assignment_errors(assignment: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        dataset.apply_assignment(Dataset(), assignment)
    assert message in str(caught.value)


def test_file_value_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="is not UTF-8 text, which LO needs"):
        dataset.apply_assignment(Dataset(), f"PatientID=@{tmp_path / 'bin'}")


JSON_ERRORS = [
    ('{"PatientID": "x",\n "Bad" 1}', "src: invalid JSON at line 2, column 8"),
    ("[1, 2]", "src: expected a JSON object, got list"),
    ('{"PatientIDx": "1"}', "src: PatientIDx: unknown keyword"),
    ('{"PatientID": true}', "src: PatientID: true is not a value"),
    ('{"PatientID": {"a": 1}}', 'src: PatientID: {"a": 1} is not a value'),
    ('{"FailedSOPSequence": "x"}', "src: FailedSOPSequence is a sequence: give a list of objects"),
    (
        '{"FailedSOPSequence": [{"FailureReason": "x"}]}',
        "src: FailedSOPSequence[0]: FailureReason: 'x' is not a valid US value",
    ),
    ('{"00100020": {"vr": "LO", "Value": "not a list"}}', "src: not a valid DICOM JSON model"),
]


@pytest.mark.parametrize(("text", "message"), JSON_ERRORS)
def test_json_errors(text: str, message: str, both_modes: str) -> None:
    with pytest.raises(InputError) as caught:
        dataset.from_json_text(text, "src")
    assert message in str(caught.value)


def test_data_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^--data missing.json: no such file$"):
        dataset.load_data("missing.json")
    with pytest.raises(InputError, match=r"^--reply missing.json: no such file$"):
        dataset.load_data("missing.json", option="--reply")
    (tmp_path / "latin1").write_bytes(b"\xe9t\xe9")
    with pytest.raises(InputError, match="neither a DICOM Part 10 file nor UTF-8 JSON"):
        dataset.load_data(str(tmp_path / "latin1"))
    broken = tmp_path / "broken.dcm"  # deflated transfer syntax, but not deflated data
    meta = b"\x02\x00\x10\x00UI\x16\x001.2.840.10008.1.2.1.99\x00"
    broken.write_bytes(b"\0" * 128 + b"DICM" + meta + b"\xff" * 64)
    with pytest.raises(InputError, match=r"broken\.dcm: not a readable DICOM file"):
        dataset.load_data(str(broken))


# --- through the CLI: exit 2, the message, never a traceback --------------------------------

CLI_ERRORS = [
    (["PatientAge=12"], "PatientAge: '12' is not a valid AS value"),
    (["(0010,0020=x"], "malformed tag '(0010,0020'"),
    (["--data", "missing.json"], "--data missing.json: no such file"),
    (["PatientIDx=1"], "unknown keyword 'PatientIDx'"),
]


@pytest.mark.parametrize(("args", "message"), CLI_ERRORS)
def test_cli_input_errors_exit_2(args: list[str], message: str) -> None:
    run = dcmreport(
        "send-report",
        f"127.0.0.1:{unused_port()}",
        "--event",
        "1",
        "--instance",
        "1.2.3",
        *args,
    )
    assert run.returncode == 2, run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_cli_data_from_stdin_part10(tmp_path: Path) -> None:
    """A Part 10 file on stdin is read as bytes: no input error, only no peer (exit 3)."""
    source = Dataset()
    source.TransactionUID = "1.2.3"
    path = _part10(tmp_path / "info.dcm", source)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dcmreport",
            "send-report",
            f"127.0.0.1:{unused_port()}",
            "--class",
            "storage-commitment",
            "--event",
            "1",
            "--data",
            "-",
            "-q",
        ],
        input=path.read_bytes(),
        capture_output=True,
        timeout=60,
        env=cli_env(),
    )
    assert run.returncode == 3, run.stderr


@pytest.mark.parametrize(
    "uid",
    ["", "0", "0.0", "1.2.3", "1" * 64, "1" * 65, "01.2", "1.02", "1..2", "1.2.", ".1", "1.2\n",
     "1.2 ", " 1.2", "a", "1.2\x00", "\u0661\u0662"],
)  # fmt: skip
def test_a_uid_is_judged_as_pydicom_judges_it(uid: str, both_modes: str) -> None:
    """value_problem's shortcut for UI (the trick ``uid-check``) agrees with pydicom's
    validator on every kind of UID; with the trick off, it is pydicom's validator."""
    from pydicom.valuerep import validate_value

    try:
        validate_value("UI", uid, 2)  # 2: raise
        valid = True
    except ValueError:
        valid = False
    assert (dataset.value_problem("UI", uid) is None) == valid


def test_without_the_tricks_pydicom_builds_and_checks(speedups_mode: Any, monkeypatch: Any) -> None:
    """Off, the DICOM JSON model goes to ``Dataset.from_json`` whole and a UID to pydicom's
    validator: the tricks' code is not reached."""
    speedups_mode("off")

    def reached(*args: Any) -> Any:
        raise AssertionError("a speed trick ran with the switch off")

    monkeypatch.setattr(dataset, "_plain_model_element", reached)
    monkeypatch.setattr(dataset, "is_valid_uid", reached)
    model = {
        "00081195": uid("1.2.3"),
        "00081198": {"vr": "SQ", "Value": [{"00081150": uid("1.2")}]},
    }
    assert dataset.from_json_object(model, "test") == Dataset.from_json(model)
    assert dataset.value_problem("UI", "1.2.3") is None
    assert dataset.value_problem("UI", "1.02") is not None
