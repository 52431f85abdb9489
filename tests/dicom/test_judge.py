"""The N-EVENT-REPORT-RSP judged against its request (PS3.7 10.1.1): pure, no network.

Each rule's faulty SCP, end to end, is in tests/association/test_requestor.py;
here the edges: what is fine (absent U(=)/C(=) fields, an Event Type ID with
a Failure, an Event Reply of any content) and what each departure is called.
"""

from __future__ import annotations

import pytest

from dcmreport.dicom import judge
from dcmreport.dicom.records import ReportRequest
from dcmreport.dicom.status import REPORT_STATUSES

SC = "1.2.840.10008.5.1.4.1.1.7"
REQUEST = ReportRequest(sop_class_uid=SC, sop_instance_uid="1.2.3", event_type_id=1)
NO_DATA_SET, DATA_SET = 0x0101, 0x0001


def response(status: int = 0, reply: bool = False, **fields: object) -> dict[str, object]:
    """A response's command set as the requestor reads it: the request's fields echoed."""
    command: dict[str, object] = {
        "CommandField": 0x8100,
        "MessageIDBeingRespondedTo": 1,
        "AffectedSOPClassUID": SC,
        "AffectedSOPInstanceUID": "1.2.3",
        "EventTypeID": 1,
        "Status": status,
        "CommandDataSetType": DATA_SET if reply else NO_DATA_SET,
    }
    command.update(fields)
    return {key: value for key, value in command.items() if value is not None}


def kinds(command: dict[str, object], undecodable: bool = False) -> list[tuple[str, str]]:
    return [(f.kind, f.path) for f in judge.response_findings(command, REQUEST, undecodable)]


@pytest.mark.parametrize("code", REPORT_STATUSES, ids=lambda c: f"0x{c:04X}")
def test_every_status_the_standard_defines_is_no_finding(code: int) -> None:
    assert kinds(response(code)) == []


def test_an_event_reply_with_success_of_any_content_is_no_finding() -> None:
    """No class defines an Event Reply (PS3.4 has none): the reference's echo stays clean."""
    assert kinds(response(0, reply=True)) == []


def test_the_u_and_c_fields_may_be_left_out() -> None:
    """U(=) and C(=): absent is fine, without an Event Reply (PS3.7 10.1.1.1.3-5)."""
    bare = response(0, AffectedSOPClassUID=None, AffectedSOPInstanceUID=None, EventTypeID=None)
    assert kinds(bare) == []


def test_an_event_type_id_with_a_failure_is_no_finding() -> None:
    """10.1.1.1.5 "may be included in the success response", not "only"; pynetdicom sends it."""
    assert kinds(response(0x0110)) == []


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"AffectedSOPClassUID": "1.2.840.10008.5.1.4.1.1.2"}, "AffectedSOPClassUID"),
        ({"AffectedSOPInstanceUID": "1.2.3.4"}, "AffectedSOPInstanceUID"),
        ({"EventTypeID": 2}, "EventTypeID"),
    ],
)
def test_a_field_present_with_another_value_differs(fields: dict[str, object], path: str) -> None:
    assert kinds(response(0, **fields)) == [("response-differs", path)]


@pytest.mark.parametrize("code", [0x0001, 0x0107, 0x0116, 0xB000, 0xBFFF, 0xA700, 0xFF00])
def test_a_status_n_event_report_does_not_define_is_a_finding(code: int) -> None:
    """No Warning at all, nor another service's Failure, nor Pending (10.1.1.1.8)."""
    assert kinds(response(code)) == [("undefined-status", "Status")]


def test_an_event_reply_without_success_or_event_type_id() -> None:
    assert kinds(response(0x0110, reply=True)) == [("reply-without-success", "EventReply")]
    assert kinds(response(0, reply=True, EventTypeID=None)) == [
        ("reply-without-event-type", "EventTypeID")
    ]


def test_departures_add_up_and_an_undecodable_reply_is_one_more() -> None:
    broken = response(0xB000, reply=True, EventTypeID=None, AffectedSOPInstanceUID="9")
    assert kinds(broken, undecodable=True) == [
        ("response-differs", "AffectedSOPInstanceUID"),
        ("undefined-status", "Status"),
        ("reply-without-success", "EventReply"),
        ("reply-without-event-type", "EventTypeID"),
        ("undecodable-reply", "EventReply"),
    ]


def test_each_finding_cites_the_standard() -> None:
    broken = response(0xB000, reply=True, EventTypeID=None, AffectedSOPClassUID="1.2")
    for finding in judge.response_findings(broken, REQUEST, False):
        assert "(PS3.7 10.1.1.1." in finding.message, finding
