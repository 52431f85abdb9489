"""The one-pass decoder of received data sets gives what pydicom's reader gives, or steps aside.

Each case is decoded twice: by ``decode_data_set`` (the listener's way: the
one pass of dcmreport.decoding, pydicom's reader for what it leaves) and by
pydicom's reader alone, every element converted (the listener's way before,
and with the trick ``one-pass-decoder`` off). Both must agree: the same
elements, VRs, values and value types at every depth, or the same exception.
Malformed bytes must never become a traceback. The comparisons test the
trick itself (marked ``speedups``, and run with the trick on whatever the
switch of the run); the last tests, that the switch takes the plain path,
hold in either mode.
"""

from __future__ import annotations

import struct
from io import BytesIO
from typing import Any

import pytest
from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence
from pynetdicom import build_context
from pynetdicom.dsutils import decode, encode

from dcmreport.association.common import decode_data_set
from dcmreport.dicom import decoding, validate
from dcmreport.dicom.limits import DatasetLimits, LimitExceeded, check

# pydicom warns about the invalid values and lengths of damaged bytes, as it should
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

EXPLICIT, IMPLICIT = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"
STGCMT = "1.2.840.10008.1.20.1"


def pydicom_way(data: bytes, implicit: bool, limits: DatasetLimits) -> Dataset:
    check(data, implicit, True, limits)
    ds = decode(BytesIO(data), implicit, True, False)
    for _ in ds.iterall():
        pass
    return ds


def outcome(way: Any, *args: Any) -> Any:
    try:
        return way(*args)
    except Exception as exc:
        return exc


def listener_way(data: bytes, implicit: bool, limits: DatasetLimits) -> Dataset | None:
    context = build_context(STGCMT, IMPLICIT if implicit else EXPLICIT)
    decoded = decode_data_set(BytesIO(data), context, limits)
    return decoded[0] if decoded else None


@pytest.fixture(autouse=True)
def _the_one_pass_decoder_on(request: pytest.FixtureRequest, speedups_mode: Any) -> None:
    """A comparison (marked ``speedups``) compares the trick itself, even in a plain run."""
    if request.node.get_closest_marker("speedups"):
        speedups_mode("on")


def described(ds: Dataset) -> list[Any]:
    """Every element as (tag, VR, value type, value), items described recursively."""
    out: list[Any] = []
    for elem in ds:
        if elem.VR == "SQ":
            items = [described(item) for item in elem.value]
            out.append((elem.tag, "SQ", elem.is_undefined_length, items))
        else:
            value = elem.value
            kinds = [type(v).__name__ for v in value] if isinstance(value, list) else None
            out.append((elem.tag, elem.VR, type(value).__name__, kinds, value))
    return out


def assert_same(data: bytes, implicit: bool, limits: DatasetLimits | None = None) -> Any:
    limits = limits or DatasetLimits()
    ours = outcome(listener_way, data, implicit, limits)
    theirs = outcome(pydicom_way, data, implicit, limits)
    if isinstance(theirs, Exception):
        assert type(ours) is type(theirs) and str(ours) == str(theirs), (ours, theirs)
        return ours
    assert not isinstance(ours, Exception), ours
    assert described(ours) == described(theirs)
    return ours


def item(**elements: Any) -> Dataset:
    ds = Dataset()
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    return ds


def rich() -> Dataset:
    """Every kind of element a report carries, the plain text VRs and all the others."""
    ds = Dataset()
    ds.TransactionUID = "1.2.3.4"
    ds.RetrieveAETitle = ["  AE1 ", "AE2"]
    ds.Modality = "OT"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.StudyDate = "20240102"
    ds.StudyTime = "101010.5"
    ds.AcquisitionDateTime = "20240102101010"
    ds.PatientAge = "042Y"
    ds.PatientName = "Doe^John"
    ds.PatientID = "ID 1"
    ds.StudyDescription = "a study"
    ds.SliceThickness = "1.5"
    ds.InstanceNumber = "7"
    ds.Rows = 16
    ds.add(DataElement(0x00081197, "US", 0x0110))  # FailureReason
    ds.add(DataElement(0x00091010, "LO", "private"))
    ds.add(DataElement(0x00090010, "LO", "CREATOR"))
    ds.add(DataElement(0x00091011, "UI", "1.2.3"))
    ds.add(DataElement(0x00200052, "UI", ""))  # empty
    ds.add(DataElement(0x00081150, "UI", ["1.2.3", "1.2.4"]))
    ds.add(DataElement(0x00091012, "OB", b"\x01\x02"))
    ds.ReferencedSOPSequence = Sequence(
        [
            item(ReferencedSOPClassUID="1.2.840.10008.5.1.4.1.1.7", ReferencedSOPInstanceUID="1.2"),
            item(
                ReferencedSOPClassUID="1.2.3",
                ReferencedSOPInstanceUID="1.3",
                ReferencedFrameNumber=["1", "2"],
            ),
            Dataset(),  # an empty item
        ]
    )
    ds.FailedSOPSequence = Sequence()  # an empty sequence
    inner = item(ReferencedSOPInstanceUID="1.2.3.4.5", StudyDate="2024")  # invalid DA
    ds.ReferencedSeriesSequence = Sequence(
        [item(SeriesInstanceUID="1.2.3.4", ReferencedImageSequence=Sequence([inner]))]
    )
    return ds


@pytest.mark.speedups
@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_a_rich_data_set_decodes_as_pydicom_decodes_it(implicit: bool) -> None:
    data = encode(rich(), implicit, True)
    decoded = assert_same(data, implicit)
    assert decoded.FailedSOPSequence == Sequence()
    assert decoded.ReferencedSeriesSequence[0].ReferencedImageSequence[0].StudyDate == "2024"


@pytest.mark.speedups
def test_the_plain_text_of_a_storage_commitment_report_is_decoded_in_one_pass() -> None:
    """No element of an ordinary report is left to pydicom's reader (the fast path is used)."""
    ds = Dataset()
    ds.TransactionUID = "1.2.3"
    ds.ReferencedSOPSequence = Sequence(
        [item(ReferencedSOPClassUID="1.2.3", ReferencedSOPInstanceUID=f"1.2.{n}") for n in range(3)]
    )
    for implicit in (False, True):
        decoded = decoding.decode(encode(ds, implicit, True), implicit, True, DatasetLimits())
        assert decoded.ReferencedSOPSequence[2].ReferencedSOPInstanceUID == "1.2.2"
        assert decoded.TransactionUID == "1.2.3"


@pytest.mark.speedups
def test_invalid_values_deep_in_items_give_the_same_findings() -> None:
    data = encode(rich(), False, True)
    ours = listener_way(data, False, DatasetLimits())
    theirs = pydicom_way(data, False, DatasetLimits())
    found = [str(f) for f in validate.findings(STGCMT, 1, ours)]
    assert found == [str(f) for f in validate.findings(STGCMT, 1, theirs)]
    assert any("StudyDate '2024' is not a valid DA" in f for f in found)


def element(tag: int, vr: bytes, value: bytes) -> bytes:
    group, elem = tag >> 16, tag & 0xFFFF
    if vr in (b"SQ", b"OB", b"UN", b"UT"):
        return struct.pack("<HH2sHL", group, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr, len(value)) + value


def sq(tag: int, *items: bytes, length: int | None = None, delimiter: bool = True) -> bytes:
    body = b"".join(items)
    if length is None:  # undefined length
        end = struct.pack("<HHL", 0xFFFE, 0xE0DD, 0) if delimiter else b""
        return struct.pack("<HH2sHL", tag >> 16, tag & 0xFFFF, b"SQ", 0, 0xFFFFFFFF) + body + end
    return struct.pack("<HH2sHL", tag >> 16, tag & 0xFFFF, b"SQ", 0, length) + body


def it(body: bytes, defined: bool = True, tag: int = 0xE000) -> bytes:
    if defined:
        return struct.pack("<HHL", 0xFFFE, tag, len(body)) + body
    return (
        struct.pack("<HHL", 0xFFFE, tag, 0xFFFFFFFF) + body + struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
    )


UID = element(0x00081155, b"UI", b"1.2.3\x00")
CLASS = element(0x00081150, b"UI", b"1.2.4\x00")
REFERENCED = 0x00081199

MALFORMED = {
    "well formed, defined lengths": sq(REFERENCED, it(CLASS + UID), length=8 + 28),
    "well formed, undefined lengths": sq(REFERENCED, it(CLASS + UID, defined=False)),
    "truncated element": CLASS + UID[:-3],
    "truncated header": CLASS + UID[:5],
    "length past the end": CLASS + element(0x00081155, b"UI", b"1.2")[:-3] + b"\x00",
    "undefined-length sequence without delimiter": sq(REFERENCED, it(CLASS), delimiter=False),
    "item without its delimiter": sq(REFERENCED, it(CLASS, defined=False)[:-8]),
    "item of a wrong tag": sq(REFERENCED, it(CLASS, tag=0xE00D)),
    "an element where an item belongs": sq(REFERENCED, CLASS),
    "item longer than its sequence": sq(REFERENCED, it(CLASS + UID), length=12),
    "element longer than its item": sq(REFERENCED, struct.pack("<HHL", 0xFFFE, 0xE000, 10) + UID),
    "odd lengths": element(0x00081150, b"UI", b"1.2.3") + element(0x00081197, b"US", b"\x10"),
    "US of 3 bytes deep in an item": sq(
        REFERENCED, it(CLASS + element(0x00081197, b"US", b"\x10\x01\x00"))
    ),
    "elements out of order": UID + CLASS,
    "a duplicate element": CLASS + CLASS,
    "an unknown VR": element(0x00081150, b"XX", b"1.2\x00"),
    "a lower-case VR": element(0x00081150, b"ui", b"1.2\x00"),
    "a delimiter at the top": CLASS + struct.pack("<HHL", 0xFFFE, 0xE00D, 0),
    "a character set": element(0x00080005, b"CS", b"ISO_IR 100")
    + element(0x00100010, b"PN", b"\xe9"),
    "UN of undefined length": struct.pack("<HH2sHL", 0x0009, 0x1010, b"UN", 0, 0xFFFFFFFF)
    + it(CLASS, defined=False)
    + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0),
    "garbage": b"\xff" * 37,
    "one byte": b"\x08",
}


@pytest.mark.speedups
@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_bytes_get_what_pydicom_gave(case: str) -> None:
    """A malformed data set is judged by pydicom's reader as before: same result or same error."""
    assert_same(MALFORMED[case], False)


@pytest.mark.speedups
@pytest.mark.parametrize(
    "case",
    ["truncated element", "undefined-length sequence without delimiter", "item of a wrong tag",
     "elements out of order", "a character set", "length past the end"],
)  # fmt: skip
def test_malformed_bytes_are_left_to_pydicom(case: str) -> None:
    with pytest.raises(decoding.Irregular):
        decoding.decode(MALFORMED[case], False, True, DatasetLimits())


def nested(depth: int) -> bytes:
    body = CLASS
    for _ in range(depth):
        body = sq(REFERENCED, it(body, defined=False))
    return body


@pytest.mark.speedups
@pytest.mark.parametrize(
    ("data", "limits", "says"),
    [
        (nested(40), DatasetLimits(), "nests sequences over 32 deep"),
        (sq(REFERENCED, *[it(CLASS)] * 60), DatasetLimits(max_elements=100), "over 100 elements"),
        (CLASS * 1, DatasetLimits(max_size=10), "over 10"),
    ],
)
def test_limits_are_enforced_in_the_one_pass_before_it_builds(
    data: bytes, limits: DatasetLimits, says: str
) -> None:
    with pytest.raises(LimitExceeded, match=says):
        decoding.decode(data, False, True, limits)
    assert_same(data, False, limits)


@pytest.mark.speedups
def test_a_nested_data_set_within_the_limits_decodes_as_pydicom_does() -> None:
    assert_same(nested(32), False)


def mutations(data: bytes, count: int, seed: int) -> list[bytes]:
    """Deterministic damage: bytes flipped, cut, repeated or dropped anywhere."""
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(count):
        at = rng.randrange(len(data))
        kind = rng.randrange(4)
        if kind == 0:
            out.append(data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :])
        elif kind == 1:
            out.append(data[:at])
        elif kind == 2:
            out.append(data[:at] + data[at : at + rng.randrange(1, 12)] + data[at:])
        else:
            out.append(data[:at] + data[at + rng.randrange(1, 12) :])
    return out


@pytest.mark.speedups
@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_damaged_bytes_get_what_pydicom_gave(implicit: bool) -> None:
    """400 damaged encodings of a rich data set: each gets the same data set or the same
    error as from pydicom's reader, and none a traceback of ours."""
    one_pass = 0
    for damaged in mutations(encode(rich(), implicit, True), 400, seed=11 + implicit):
        assert_same(damaged, implicit)
        try:
            decoding.decode(damaged, implicit, True, DatasetLimits())
            one_pass += 1
        except Exception:  # Irregular (pydicom's reader decides) or what pydicom raises
            pass
    assert one_pass >= 20, one_pass  # the comparison reaches the one-pass decoder itself


@pytest.mark.parametrize("mode", ["off", "-one-pass-decoder"])
def test_with_the_trick_off_pydicom_decodes_it_all(
    mode: str, speedups_mode: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    speedups_mode(mode)

    def reached(*args: Any) -> Any:
        raise AssertionError("the one-pass decoder ran with the trick off")

    monkeypatch.setattr(decoding, "decode", reached)
    for implicit in (False, True):
        data = encode(rich(), implicit, True)
        ours = listener_way(data, implicit, DatasetLimits())
        assert ours is not None
        assert described(ours) == described(pydicom_way(data, implicit, DatasetLimits()))
    with pytest.raises(LimitExceeded, match="nests sequences over 32 deep"):
        listener_way(nested(40), False, DatasetLimits())


@pytest.mark.speedups
@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_without_the_uid_check_the_one_pass_decodes_as_pydicom(
    implicit: bool, speedups_mode: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one pass with pydicom's own UI converter (the trick ``uid-check`` left out)."""
    speedups_mode("-uid-check")

    def reached(text: str) -> bool:
        raise AssertionError("the UID check ran with the trick left out")

    monkeypatch.setattr(decoding, "is_valid_uid", reached)
    data = encode(rich(), implicit, True)
    decoded = decoding.decode(data, implicit, True, DatasetLimits())
    assert described(decoded) == described(pydicom_way(data, implicit, DatasetLimits()))
