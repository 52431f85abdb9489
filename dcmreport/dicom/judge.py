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

# --- the N-EVENT-REPORT-RSP (PS3.7 10.1.1) --------------------------------------------------


def response_findings(
    command: dict[str, object], request: ReportRequest, reply_undecodable: bool
) -> tuple[Finding, ...]:
    """Where the response's command set departs from its request (PS3.7 10.1.1: the
    Affected SOP Class and Instance UIDs and the Event Type ID, where present, equal the
    request's), and an Event Reply that does not decode."""
    found = []
    for keyword, sent in (
        ("AffectedSOPClassUID", request.sop_class_uid),
        ("AffectedSOPInstanceUID", request.sop_instance_uid),
    ):
        got = command.get(keyword)
        if got is not None and str(got) != sent:
            found.append(
                Finding(
                    "response-differs",
                    keyword,
                    f"response {keyword} {got} differs from the request's {sent} (PS3.7 10.1.1)",
                )
            )
    got_event = command.get("EventTypeID")
    if got_event is not None and int(str(got_event)) != request.event_type_id:
        found.append(
            Finding(
                "response-differs",
                "EventTypeID",
                f"response Event Type ID {got_event} differs from the request's "
                f"{request.event_type_id} (PS3.7 10.1.1)",
            )
        )
    if reply_undecodable:
        found.append(
            Finding(
                "undecodable-reply",
                "EventReply",
                "the peer's Event Reply could not be decoded (run with -d for details)",
            )
        )
    return tuple(found)


# --- the storage commitment result (PS3.4 J.3.3) --------------------------------------------
