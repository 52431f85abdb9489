"""Status codes: which ones an N-EVENT-REPORT-RSP may carry, and names with a "did you mean"."""

from __future__ import annotations

import pytest

from dcmreport.dicom import status

# PS3.7 10.1.1.1.8, as the standard lists them (written out here, not derived from the module).
N_EVENT_REPORT_RSP = {
    0x0000: "success",
    0x0110: "processing-failure",
    0x0112: "no-such-sop-instance",
    0x0113: "no-such-event-type",
    0x0114: "no-such-argument",
    0x0115: "invalid-argument-value",
    0x0117: "invalid-sop-instance",
    0x0118: "no-such-sop-class",
    0x0119: "class-instance-conflict",
    0x0210: "duplicate-invocation",
    0x0211: "unrecognized-operation",
    0x0212: "mistyped-argument",
    0x0213: "resource-limitation",
}


def test_the_statuses_of_an_n_event_report_rsp() -> None:
    assert set(status.REPORT_STATUSES) == set(N_EVENT_REPORT_RSP)
    assert {code: status.STATUSES[code][0] for code in status.REPORT_STATUSES} == (
        N_EVENT_REPORT_RSP
    )


@pytest.mark.parametrize("code", sorted(N_EVENT_REPORT_RSP), ids=lambda c: f"0x{c:04X}")
def test_valid_statuses_pass(code: int) -> None:
    status.check_report_status(code)


@pytest.mark.parametrize(
    ("code", "named"),
    [
        (0x9999, "0x9999 Unknown failure status"),
        (0xFF00, "0xFF00 Unknown pending status (Pending)"),
        (0xFF01, "(Pending)"),
        (0xFE00, "0xFE00 Cancel"),
        (0x0001, "(Warning)"),
        (0x0107, "Attribute list error"),
        (0x0111, "Duplicate SOP Instance"),
        (0x0120, "Missing Attribute"),
        (0x0122, "SOP Class not supported"),
        (0x0124, "Refused: not authorized"),
        (0xA700, "0xA700"),
        (0xC000, "0xC000"),
    ],
    ids=lambda x: f"0x{x:04X}" if isinstance(x, int) else "",
)
def test_other_statuses_are_refused_with_the_valid_ones_named(code: int, named: str) -> None:
    with pytest.raises(ValueError, match="not a status of an N-EVENT-REPORT-RSP") as refused:
        status.check_report_status(code)
    message = str(refused.value)
    assert named in message
    assert "--force-status" in message
    for valid, name in N_EVENT_REPORT_RSP.items():
        assert f"{name} (0x{valid:04X})" in message


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("sucess", "; did you mean success?"),
        ("Processing_Failur", "; did you mean processing-failure?"),
        ("no-such-event", "; did you mean no-such-event-type"),
    ],
)
def test_a_misspelt_status_gets_a_suggestion(text: str, suggestion: str) -> None:
    with pytest.raises(ValueError, match=f"^unknown status {text!r}") as refused:
        status.parse_status(text)
    assert suggestion in str(refused.value)


def test_a_status_unlike_any_name_gets_the_list() -> None:
    with pytest.raises(ValueError) as refused:
        status.parse_status("xyzzy")
    message = str(refused.value)
    assert "did you mean" not in message
    assert "give a code (0x0110, 272) or one of attribute-list-error," in message


@pytest.mark.parametrize(
    ("names", "text"),
    [
        ([], ""),
        (["a"], "; did you mean a?"),
        (["a", "b"], "; did you mean a or b?"),
        (["a", "b", "c"], "; did you mean a, b or c?"),
    ],
)
def test_did_you_mean(names: list[str], text: str) -> None:
    assert status.did_you_mean(names) == text


def test_close_names_ignore_case_and_keep_the_spelling() -> None:
    assert status.close_names("secondarycaptureimagestorag", ["SecondaryCaptureImageStorage"]) == [
        "SecondaryCaptureImageStorage"
    ]
    assert status.close_names("zzz", ["SecondaryCaptureImageStorage"]) == []
