"""Every answer judged: where what a peer answered ``send-report`` or ``commit`` breaks the
standard.

A test tool does not trust its peer on either side. ``listen`` judges what it
receives (:mod:`dcmreport.dicom.validate`); here the requester's side judges
what comes back: an N-EVENT-REPORT-RSP against its request (PS3.7 10.1.1),
and a storage commitment result against the request it answers (PS3.4
J.3.3). Each departure is a :class:`~dcmreport.dicom.records.Finding`: its
``kind`` names the rule, its ``path`` the attribute or instance, its message
what the standard says. An answer with findings exits with its own code
(``ExitCode.BROKEN_ANSWER``) unless ``--accept-findings``. Pure functions on
what was sent and what came back; no I/O.
"""

from __future__ import annotations

from dcmreport.dicom.records import Finding, ReportRequest
from dcmreport.dicom.status import REPORT_STATUSES, SUCCESS, Status, category

# --- the N-EVENT-REPORT-RSP (PS3.7 10.1.1) --------------------------------------------------
#
# What is judged, and why no more: the Message ID Being Responded To is not a finding but a
# protocol failure (requestor.check_response: a response to another message is no answer to
# this one, and the request is still unanswered); the Affected SOP Class and Instance UIDs and
# the Event Type ID are U(=) and C(=): absent is fine, present must equal the request's
# (10.1.1.1.3-5); the status is one 10.1.1.1.8 lists (no Warning among them, and no service
# class adds its own); the Event Reply only with Success (10.1.1.1.7), and with the Event Type
# ID (10.1.1.1.5). Its content is not judged: PS3.4 defines no Event Reply for any class that
# reports (its text has Action Replies only), so the catalog holds none, and whatever a peer
# replies (the LEADTOOLS reference echoes the Event Information) is application-specific.
# An Event Type ID in a failure response is no finding either: 10.1.1.1.5 says it "may be
# included in the success response", not "only", as 10.1.1.1.7 says of the Event Reply, and
# pynetdicom's own SCP sends it with every status.

_NO_DATA_SET = 0x0101  # Command Data Set Type: no data set follows (PS3.7 E.1)


def response_findings(
    command: dict[str, object], request: ReportRequest, reply_undecodable: bool
) -> tuple[Finding, ...]:
    """Every way the response's command set departs from PS3.7 10.1.1 for its request, and an
    Event Reply that does not decode; () for an answer a script may take at its word."""
    status = int(str(command["Status"]))
    has_reply = int(str(command.get("CommandDataSetType", _NO_DATA_SET))) != _NO_DATA_SET
    found = [*_differing(command, request), *_status_findings(status)]
    found += _reply_findings(status, has_reply, command.get("EventTypeID") is not None)
    if reply_undecodable:
        found.append(
            Finding(
                "undecodable-reply",
                "EventReply",
                "the peer's Event Reply could not be decoded (run with -d for details)",
            )
        )
    return tuple(found)


def _differing(command: dict[str, object], request: ReportRequest) -> list[Finding]:
    """The U(=) and C(=) fields present with another value than the request's (10.1.1.1.3-5):
    a response that names another instance, class or event answers something else."""
    found = []
    for keyword, name, sent, section in (
        ("AffectedSOPClassUID", "Affected SOP Class UID", request.sop_class_uid, "10.1.1.1.3"),
        (
            "AffectedSOPInstanceUID",
            "Affected SOP Instance UID",
            request.sop_instance_uid,
            "10.1.1.1.4",
        ),
        ("EventTypeID", "Event Type ID", request.event_type_id, "10.1.1.1.5"),
    ):
        got = command.get(keyword)
        if got is not None and str(got) != str(sent):
            found.append(
                Finding(
                    "response-differs",
                    keyword,
                    f"the response's {name} {got} differs from the request's {sent}: "
                    f"if present it equals the request's (PS3.7 {section})",
                )
            )
    return found


def _status_findings(status: int) -> list[Finding]:
    """A status PS3.7 10.1.1.1.8 does not list for N-EVENT-REPORT: no Warning is among them,
    so 0001H or a Bxxx "Warning" is as undefined here as any other code."""
    if status in REPORT_STATUSES:
        return []
    return [
        Finding(
            "undefined-status",
            "Status",
            f"status {Status(status)} is not a status of an N-EVENT-REPORT-RSP "
            "(PS3.7 10.1.1.1.8 defines Success 0000H and Failures only)",
        )
    ]


def _reply_findings(status: int, has_reply: bool, has_event_type: bool) -> list[Finding]:
    """An Event Reply outside a Success response (10.1.1.1.7), or without the Event Type ID
    that must come with it (10.1.1.1.5)."""
    found = []
    if has_reply and category(status) != SUCCESS:
        found.append(
            Finding(
                "reply-without-success",
                "EventReply",
                f"an Event Reply came with status {Status(status)}: it may only be included "
                "in the success response (PS3.7 10.1.1.1.7)",
            )
        )
    if has_reply and not has_event_type:
        found.append(
            Finding(
                "reply-without-event-type",
                "EventTypeID",
                "an Event Reply came without the Event Type ID: it shall be included if the "
                "Event Reply is (PS3.7 10.1.1.1.5)",
            )
        )
    return found


# --- the storage commitment result (PS3.4 J.3.3) --------------------------------------------
