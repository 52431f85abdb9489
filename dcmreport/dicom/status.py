"""DIMSE status codes: their standard names and categories.

The N-EVENT-REPORT statuses are the general DIMSE-N ones of PS3.7 Annex C
(10.1.1.1.8); no service class defines its own. Categories follow PS3.7 C.1:
0000 Success; 0001, 0107, 0116 and Bxxx Warning; FE00 Cancel; FF00/FF01
Pending; everything else Failure. Pure data, no pynetdicom import, so option
parsing (``--status``) stays fast.

Names are parsed here too, with a "did you mean" for a near miss: a mistyped
``--status`` should cost one glance at the error, not a trip to the manual.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

SUCCESS = "Success"
WARNING = "Warning"
FAILURE = "Failure"
CANCEL = "Cancel"
PENDING = "Pending"

PROCESSING_FAILURE = 0x0110  # what a receiver answers when it cannot handle a request

# code -> (CLI name, standard meaning)
STATUSES: dict[int, tuple[str, str]] = {
    0x0000: ("success", "Success"),
    0x0001: (
        "warning-requested-optional-attributes",
        "Requested optional Attributes are not supported",
    ),
    0x0107: ("attribute-list-error", "Attribute list error"),
    0x0110: ("processing-failure", "Processing failure"),
    0x0111: ("duplicate-sop-instance", "Duplicate SOP Instance"),
    0x0112: ("no-such-sop-instance", "No such SOP Instance"),
    0x0113: ("no-such-event-type", "No such Event Type"),
    0x0114: ("no-such-argument", "No such argument"),
    0x0115: ("invalid-argument-value", "Invalid argument value"),
    0x0116: ("attribute-value-out-of-range", "Attribute value out of range"),
    0x0117: ("invalid-sop-instance", "Invalid SOP Instance"),
    0x0118: ("no-such-sop-class", "No such SOP Class"),
    0x0119: ("class-instance-conflict", "Class-Instance conflict"),
    0x0120: ("missing-attribute", "Missing Attribute"),
    0x0121: ("missing-attribute-value", "Missing Attribute Value"),
    0x0122: ("sop-class-not-supported", "SOP Class not supported"),
    0x0123: ("no-such-action", "No such Action"),
    0x0124: ("not-authorized", "Refused: not authorized"),
    0x0210: ("duplicate-invocation", "Duplicate invocation"),
    0x0211: ("unrecognized-operation", "Unrecognized operation"),
    0x0212: ("mistyped-argument", "Mistyped argument"),
    0x0213: ("resource-limitation", "Resource limitation"),
    0xFE00: ("cancel", "Cancel"),
}

_BY_NAME = {name: code for code, (name, _) in STATUSES.items()}

# PS3.7 10.1.1.1.8: the only statuses an N-EVENT-REPORT-RSP may carry. No Warning,
# Pending or Cancel among them, and no service class adds its own (see the module).
REPORT_STATUSES: tuple[int, ...] = (
    0x0000,
    0x0110,
    0x0112,
    0x0113,
    0x0114,
    0x0115,
    0x0117,
    0x0118,
    0x0119,
    0x0210,
    0x0211,
    0x0212,
    0x0213,
)


@dataclass(frozen=True)
class Status:
    """A status code with its standard meaning and category."""

    code: int

    @property
    def category(self) -> str:
        return category(self.code)

    @property
    def meaning(self) -> str:
        known = STATUSES.get(self.code)
        return known[1] if known else f"Unknown {self.category.lower()} status"

    def __str__(self) -> str:
        suffix = "" if self.meaning == self.category else f" ({self.category})"
        return f"0x{self.code:04X} {self.meaning}{suffix}"


def category(code: int) -> str:
    """Return the PS3.7 Annex C category of a status code."""
    if code == 0x0000:
        return SUCCESS
    if code in (0x0001, 0x0107, 0x0116) or 0xB000 <= code <= 0xBFFF:
        return WARNING
    if code == 0xFE00:
        return CANCEL
    if code in (0xFF00, 0xFF01):
        return PENDING
    return FAILURE


def check_report_status(code: int) -> None:
    """Refuse a status PS3.7 does not allow in an N-EVENT-REPORT-RSP.

    A peer may reject or misread a response with any other code (a Pending
    FF00 would leave it waiting for a final one), so the listener answers
    with one of these unless the user insists with ``--force-status``.
    """
    if code in REPORT_STATUSES:
        return
    valid = ", ".join(f"{STATUSES[c][0]} (0x{c:04X})" for c in REPORT_STATUSES)
    raise ValueError(
        f"{Status(code)} is not a status of an N-EVENT-REPORT-RSP (PS3.7 10.1.1.1.8): "
        f"use one of {valid}, or --force-status to send it anyway"
    )


def close_names(text: str, names: Iterable[str]) -> list[str]:
    """The names closest to ``text``, best first, ignoring case; [] when none is close."""
    by_lower = {name.lower(): name for name in names}
    matches = difflib.get_close_matches(text.strip().lower(), list(by_lower), n=3)
    return [by_lower[match] for match in matches]


def did_you_mean(names: list[str]) -> str:
    """``; did you mean a, b or c?`` for suggestions from :func:`close_names`, '' for none."""
    if not names:
        return ""
    listed = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    return f"; did you mean {listed}?"


def parse_code(text: str, names: dict[str, int], what: str) -> int:
    """A 16-bit code given by name, as hex (``0x0110``) or as decimal (``272``).

    Raises ValueError naming ``what`` otherwise: the closest names when some
    are close, else every name and the accepted forms.
    """
    key = text.strip().lower().replace("_", "-").replace(" ", "-")
    if key in names:
        return names[key]
    try:
        code = int(key, 16) if key.startswith("0x") else int(key, 10)
    except ValueError:
        close = close_names(key, names)
        if close:
            raise ValueError(f"unknown {what} {text!r}{did_you_mean(close)}") from None
        listed = ", ".join(sorted(names))
        raise ValueError(
            f"unknown {what} {text!r}: give a code (0x0110, 272) or one of {listed}"
        ) from None
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"{what} {text!r} is out of range 0x0000-0xFFFF")
    return code


def parse_status(text: str) -> int:
    """Parse ``success``, ``processing-failure``, ``0x0110`` or ``272`` into a code."""
    return parse_code(text, _BY_NAME, "status")
