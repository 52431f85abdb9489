"""A hostile DICOM peer: the upper layer written by hand, so it can be broken anywhere.

pynetdicom refuses to send most of what a hostile peer sends (odd context IDs,
a command without a Message ID, a PDU whose header lies about its length), so
every PDU here is built with :mod:`struct` from PS3.8 9.3 and every command set
is Implicit VR Little Endian bytes (PS3.7 6.3.1). Nothing here imports
dcmreport: the peer must not share the listener's view of the protocol.

Each case family is one function that runs one case against ``(host, port)``
and returns an :class:`Outcome`: what came back (PDU types, statuses,
refusals), whether the listener closed the connection, and how long it took.
Every wait has a deadline; nothing here loops without a bound in count and
time. Only loopback addresses are used by the tests and the fuzz run: 127.0.0.1,
and 127.0.0.2 as the source of a legitimate peer beside a flood from 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# --- constants from the standard -------------------------------------------------------------

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
DEFLATED = "1.2.840.10008.1.2.1.99"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
# A private class: any instance is its own, so the listener's answer is Success
REPORT_CLASS = "1.2.826.0.1.3680043.9.9999.77"
INSTANCE_ROOT = "1.2.826.0.1.3680043.9.9999.88"

A_ASSOCIATE_RQ, A_ASSOCIATE_AC, A_ASSOCIATE_RJ = 0x01, 0x02, 0x03
P_DATA_TF, A_RELEASE_RQ, A_RELEASE_RP, A_ABORT = 0x04, 0x05, 0x06, 0x07
N_EVENT_REPORT_RQ, N_EVENT_REPORT_RSP, C_ECHO_RQ = 0x0100, 0x8100, 0x0030
NO_DATASET = 0x0101
SUCCESS = 0x0000

# command set tags (PS3.7 E.1)
GROUP_LENGTH, AFFECTED_CLASS, COMMAND_FIELD = 0x00000000, 0x00000002, 0x00000100
MESSAGE_ID, RESPONDED_TO, DATASET_TYPE = 0x00000110, 0x00000120, 0x00000800
STATUS, AFFECTED_INSTANCE, EVENT_TYPE = 0x00000900, 0x00001000, 0x00001002


# --- the upper layer, by hand (PS3.8 9.3) ----------------------------------------------------


def item(kind: int, body: bytes) -> bytes:
    """A variable item: type, reserved, 2-byte length (PS3.8 9.3.2.1)."""
    return struct.pack(">BBH", kind, 0, len(body) & 0xFFFF) + body


def pdu(kind: int, body: bytes) -> bytes:
    """A PDU: type, reserved, 4-byte length."""
    return struct.pack(">BBL", kind, 0, len(body)) + body


def pdu_header(kind: int, claimed: int) -> bytes:
    """Only a PDU header, claiming ``claimed`` bytes that may never come."""
    return struct.pack(">BBL", kind, 0, claimed)


def presentation_context(context_id: int, abstract: str, transfer_syntaxes: Iterable[str]) -> bytes:
    """A presentation context item of an A-ASSOCIATE-RQ (PS3.8 9.3.2.2)."""
    body = bytes([context_id & 0xFF, 0, 0, 0]) + item(0x30, abstract.encode())
    return item(0x20, body + b"".join(item(0x40, ts.encode()) for ts in transfer_syntaxes))


def user_information(max_pdu: int = 16384, version: bytes = b"HOSTILE_1") -> bytes:
    """Maximum length, implementation class UID and version name (PS3.7 D.3.3)."""
    return item(
        0x50,
        item(0x51, struct.pack(">L", max_pdu))
        + item(0x52, INSTANCE_ROOT.encode())
        + item(0x55, version),
    )


def associate_rq(
    contexts: Iterable[bytes],
    called: bytes = b"ANY-SCP",
    calling: bytes = b"HOSTILE",
    user_info: bytes | None = None,
) -> bytes:
    """An A-ASSOCIATE-RQ PDU with the given presentation context items."""
    body = (
        struct.pack(">HH", 1, 0)
        + called.ljust(16)[:16]
        + calling.ljust(16)[:16]
        + bytes(32)
        + item(0x10, APPLICATION_CONTEXT.encode())
        + b"".join(contexts)
        + (user_information() if user_info is None else user_info)
    )
    return pdu(A_ASSOCIATE_RQ, body)


def pdv(context_id: int, control: int, data: bytes) -> bytes:
    """A presentation data value item: control bit 0 command, bit 1 last fragment."""
    return struct.pack(">LBB", len(data) + 2, context_id & 0xFF, control) + data


def p_data(*pdvs: bytes) -> bytes:
    return pdu(P_DATA_TF, b"".join(pdvs))


RELEASE_RQ = pdu(A_RELEASE_RQ, bytes(4))


def abort_pdu(source: int = 0, reason: int = 0) -> bytes:
    return pdu(A_ABORT, bytes([0, 0, source, reason]))


# --- DIMSE commands, Implicit VR Little Endian (PS3.7 6.3.1) ---------------------------------


def element(tag: int, value: bytes) -> bytes:
    """One Implicit VR LE element; the value is padded to an even length with a NUL."""
    value += b"\0" * (len(value) % 2)
    return struct.pack("<HHL", tag >> 16, tag & 0xFFFF, len(value)) + value


def us(value: int) -> bytes:
    return struct.pack("<H", value & 0xFFFF)


def command(fields: dict[int, bytes], group_length: int | None = None) -> bytes:
    """A command set: (0000,0000) Command Group Length first, then the fields in tag order."""
    body = b"".join(element(tag, value) for tag, value in sorted(fields.items()))
    length = len(body) if group_length is None else group_length
    return element(GROUP_LENGTH, struct.pack("<L", length)) + body


def report_fields(
    message_id: int = 1,
    instance: str = f"{INSTANCE_ROOT}.1",
    event: int = 1,
    sop_class: str = REPORT_CLASS,
    with_dataset: bool = True,
) -> dict[int, bytes]:
    """The fields of an N-EVENT-REPORT-RQ (PS3.7 10.3.1), to be edited by a case."""
    return {
        AFFECTED_CLASS: sop_class.encode(),
        COMMAND_FIELD: us(N_EVENT_REPORT_RQ),
        MESSAGE_ID: us(message_id),
        DATASET_TYPE: us(0x0000 if with_dataset else NO_DATASET),
        AFFECTED_INSTANCE: instance.encode(),
        EVENT_TYPE: us(event),
    }


def message(context_id: int, cmd: bytes, dataset: bytes | None, fragment: int = 16000) -> bytes:
    """P-DATA-TF PDUs carrying a command and its data set, each split into fragments."""
    out = bytearray()
    for data, kind in ((cmd, 0x01), (dataset, 0x00)):
        if data is None:
            continue
        pieces = [data[i : i + fragment] for i in range(0, len(data), fragment)] or [b""]
        for n, piece in enumerate(pieces):
            last = 0x02 if n == len(pieces) - 1 else 0x00
            out += p_data(pdv(context_id, kind | last, piece))
    return bytes(out)


# --- data sets, Explicit VR Little Endian (PS3.5 7.1.2) --------------------------------------

_LONG_VRS = (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC", b"UR")


def explicit(tag: int, vr: bytes, value: bytes) -> bytes:
    """One Explicit VR LE element (a space pads text to an even length)."""
    if len(value) % 2:
        value += b"\0" if vr in (b"UI", b"OB") else b" "
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr
    if vr in _LONG_VRS:
        return head + struct.pack("<HL", 0, len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def small_dataset(instance: str) -> bytes:
    """Transaction UID and a Patient ID: the Event Information of a well-formed report."""
    return explicit(0x00100020, b"LO", b"FUZZ") + explicit(0x00081195, b"UI", instance.encode())


def nested_sequences(depth: int) -> bytes:
    """Sequences ``depth`` deep with defined lengths: 20 bytes a level (300 deep is ~6 KB)."""
    inner = explicit(0x00100020, b"LO", b"DEEP")
    for _ in range(depth):
        item_ = struct.pack("<HHL", 0xFFFE, 0xE000, len(inner)) + inner
        inner = explicit(0x00081199, b"SQ", item_)
    return inner


def many_elements(count: int) -> bytes:
    """``count`` empty LO elements with distinct private tags, 8 bytes each."""
    parts = []
    for n in range(count):
        group, elem = 0x0009 + 2 * (n // 0xE000), 0x1000 + n % 0xE000
        parts.append(struct.pack("<HH", group, elem) + b"LO\0\0")
    return b"".join(parts)


def deflated_zeros(size: int) -> bytes:
    """An OB element of ``size`` zero bytes, raw-deflated (PS3.5 A.5): ~1 KB per MB."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    out = [
        deflater.compress(struct.pack("<HH", 0x0009, 0x1010) + b"OB" + struct.pack("<HL", 0, size))
    ]
    chunk = bytes(1 << 20)
    for start in range(0, size, len(chunk)):
        out.append(deflater.compress(chunk[: min(len(chunk), size - start)]))
    out.append(deflater.flush())
    return b"".join(out)


def deflate(data: bytes) -> bytes:
    deflater = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return deflater.compress(data) + deflater.flush()


# --- reading what comes back -----------------------------------------------------------------


@dataclass
class Outcome:
    """What one case saw: PDU types in order, statuses of responses, how it ended."""

    pdus: list[int] = field(default_factory=list)
    contexts: dict[int, tuple[int, str]] = field(default_factory=dict)  # id -> (result, TS)
    reject: tuple[int, int, int] | None = None
    abort: tuple[int, int] | None = None
    responses: list[dict[int, bytes]] = field(default_factory=list)  # command sets received
    closed: bool = False  # the listener closed the connection
    timed_out: bool = False  # our deadline passed with the connection still open
    send_failed: bool = False  # the listener stopped taking our bytes
    elapsed: float = 0.0
    junk: int = 0  # PDUs that did not parse as what their type says

    @property
    def statuses(self) -> list[int]:
        return [_us(r[STATUS]) for r in self.responses if STATUS in r]

    def successes(self) -> list[str]:
        """Affected SOP Instance UIDs of the N-EVENT-REPORT-RSPs answered Success."""
        return [
            r.get(AFFECTED_INSTANCE, b"").rstrip(b"\0 ").decode("ascii", "replace")
            for r in self.responses
            if _us(r.get(COMMAND_FIELD, b"")) == N_EVENT_REPORT_RSP
            and _us(r.get(STATUS, b"\xff\xff")) == SUCCESS
        ]


def _us(value: bytes) -> int:
    return int(struct.unpack("<H", value[:2])[0]) if len(value) >= 2 else -1


def parse_command(data: bytes) -> dict[int, bytes]:
    """Implicit VR LE elements of a command set; stops at the first that does not fit."""
    fields, offset = {}, 0
    while offset + 8 <= len(data):
        group, elem, length = struct.unpack_from("<HHL", data, offset)
        offset += 8
        if offset + length > len(data):
            break
        fields[group << 16 | elem] = data[offset : offset + length]
        offset += length
    return fields


def parse_accept(body: bytes) -> dict[int, tuple[int, str]]:
    """Presentation context results of an A-ASSOCIATE-AC: id -> (result, transfer syntax)."""
    contexts, offset = {}, 68
    while offset + 4 <= len(body):
        kind, _, length = struct.unpack_from(">BBH", body, offset)
        value = body[offset + 4 : offset + 4 + length]
        offset += 4 + length
        if kind == 0x21 and len(value) >= 4:
            ts = value[8:].rstrip(b"\0").decode("ascii", "replace") if len(value) > 8 else ""
            contexts[value[0]] = (value[2], ts)
    return contexts


class Reader:
    """Reads whole PDUs from a socket, each call bounded by a deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self.closed = False

    def _fill(self, count: int, deadline: float) -> bool:
        while len(self._buffer) < count and not self.closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._sock.settimeout(min(remaining, 0.5))
            try:
                chunk = self._sock.recv(65536)
            except (TimeoutError, BlockingIOError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
            self._buffer += chunk
        return len(self._buffer) >= count

    def read(self, deadline: float, limit: int = 1 << 24) -> tuple[int, bytes] | None:
        """The next PDU (type, body), or None when the connection closed or the deadline passed."""
        if not self._fill(6, deadline):
            return None
        kind, _, length = struct.unpack_from(">BBL", self._buffer)
        if length > limit or not self._fill(6 + length, deadline):
            return None
        body = bytes(self._buffer[6 : 6 + length])
        del self._buffer[: 6 + length]
        return kind, body


class _Dimse:
    """Reassembles command fragments of P-DATA-TF into command sets."""

    def __init__(self) -> None:
        self._command = bytearray()

    def feed(self, body: bytes, outcome: Outcome) -> None:
        offset = 0
        while offset + 6 <= len(body):
            length, _, control = struct.unpack_from(">LBB", body, offset)
            fragment = body[offset + 6 : offset + 4 + length]
            offset += 4 + length
            if control & 0x01:
                self._command += fragment
                if control & 0x02:
                    outcome.responses.append(parse_command(bytes(self._command)))
                    self._command.clear()


def take(outcome: Outcome, kind: int, body: bytes, dimse: _Dimse) -> None:
    """Note one received PDU in ``outcome``."""
    outcome.pdus.append(kind)
    try:
        if kind == A_ASSOCIATE_AC:
            outcome.contexts = parse_accept(body)
        elif kind == A_ASSOCIATE_RJ:
            outcome.reject = (body[1], body[2], body[3])
        elif kind == A_ABORT:
            outcome.abort = (body[2], body[3])
        elif kind == P_DATA_TF:
            dimse.feed(body, outcome)
    except (IndexError, struct.error):
        outcome.junk += 1


def connect(host: str, port: int, timeout: float = 5.0, source: str | None = None) -> socket.socket:
    """A TCP connection, from ``source`` (a local address, any port) if given."""
    sock = socket.create_connection(
        (host, port), timeout=timeout, source_address=(source, 0) if source else None
    )
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _send(sock: socket.socket, data: bytes, outcome: Outcome, deadline: float) -> None:
    if outcome.send_failed or not data:
        return
    try:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        sock.sendall(data)
    except OSError:
        outcome.send_failed = True


def _ended(kind: int) -> bool:
    return kind in (A_ASSOCIATE_RJ, A_RELEASE_RP, A_ABORT)


def exchange(
    host: str,
    port: int,
    steps: Iterable[bytes],
    timeout: float = 5.0,
    wait_for: Callable[[Outcome], bool] | None = None,
    then: bytes = b"",
    step_wait: float = 0.2,
    source: str | None = None,
) -> Outcome:
    """Send each step once the previous one was answered (or ``step_wait`` passed), then read.

    A hostile peer does not wait long; a well-formed one waits for each answer
    (its P-DATA before the A-ASSOCIATE-AC would break PS3.8, and be aborted).

    Reads until the listener ends the association (A-ASSOCIATE-RJ, A-RELEASE-RP,
    A-ABORT), closes the connection, ``wait_for`` is satisfied, or ``timeout``;
    then sends ``then`` (an A-RELEASE-RQ once the answer came, as a polite
    requestor does) and reads until the end again.
    """
    outcome, dimse = Outcome(), _Dimse()
    start = time.monotonic()
    deadline = start + timeout
    with contextlib.closing(connect(host, port, timeout, source)) as sock:
        reader = Reader(sock)
        for step in steps:
            _send(sock, step, outcome, deadline)
            _drain(
                reader,
                outcome,
                dimse,
                min(deadline, time.monotonic() + step_wait),
                stop_on_any=True,
            )
            if _over(outcome):
                break
        _drain(reader, outcome, dimse, deadline, wait_for=wait_for)
        if then and not _over(outcome):
            _send(sock, then, outcome, deadline)
            _drain(reader, outcome, dimse, deadline)
    outcome.elapsed = time.monotonic() - start
    return outcome


def _over(outcome: Outcome) -> bool:
    return outcome.closed or bool(outcome.pdus and _ended(outcome.pdus[-1]))


def _drain(
    reader: Reader,
    outcome: Outcome,
    dimse: _Dimse,
    deadline: float,
    stop_on_any: bool = False,
    wait_for: Callable[[Outcome], bool] | None = None,
) -> None:
    for _ in range(1000):  # bounded: a listener cannot keep us here forever
        if wait_for is not None and wait_for(outcome):
            return
        got = reader.read(deadline)
        if got is None:
            outcome.closed = reader.closed
            outcome.timed_out = not reader.closed
            return
        take(outcome, *got, dimse)
        if _ended(got[0]) or stop_on_any:
            return
    outcome.timed_out = True


# --- well-formed peers -----------------------------------------------------------------------


def report_stream(
    instance: str,
    dataset: bytes | None = None,
    transfer_syntax: str = EXPLICIT,
    fields: dict[int, bytes] | None = None,
) -> list[bytes]:
    """A-ASSOCIATE-RQ, one N-EVENT-REPORT-RQ on context 1, A-RELEASE-RQ: one step each."""
    data = small_dataset(instance) if dataset is None else dataset
    cmd = command(fields if fields is not None else report_fields(instance=instance))
    return [
        associate_rq([presentation_context(1, REPORT_CLASS, [transfer_syntax])]),
        message(1, cmd, data),
        RELEASE_RQ,
    ]


def _answered(outcome: Outcome) -> bool:
    return bool(outcome.responses)


def well_formed_report(
    host: str, port: int, instance: str, timeout: float = 10.0, source: str | None = None
) -> Outcome:
    """What a legitimate peer sees: an association, a Success answer, a release."""
    steps = report_stream(instance)
    return exchange(
        host,
        port,
        steps[:2],
        timeout,
        wait_for=_answered,
        then=RELEASE_RQ,
        step_wait=timeout,
        source=source,
    )


def report_case(
    host: str,
    port: int,
    fields: dict[int, bytes],
    dataset: bytes | None,
    transfer_syntax: str = EXPLICIT,
    timeout: float = 10.0,
) -> Outcome:
    """One association carrying one request built from ``fields``; read until it ends. The
    request goes once the association is accepted (the defect is in the request, not in
    its timing: sent earlier, it would be aborted by PS3.8 on a loaded machine)."""
    instance = fields.get(AFFECTED_INSTANCE, b"").decode("ascii", "replace")
    steps = report_stream(instance, dataset, transfer_syntax, fields)[:2]
    if dataset is None and fields.get(DATASET_TYPE) == us(NO_DATASET):
        steps[1] = message(1, command(fields), None)
    return exchange(
        host, port, steps, timeout, wait_for=_answered, then=RELEASE_RQ, step_wait=timeout
    )


# --- case families ---------------------------------------------------------------------------


def header_only(host: str, port: int, kind: int, claimed: int, timeout: float = 3.0) -> Outcome:
    """A PDU header claiming ``claimed`` bytes, then silence: the listener must refuse it."""
    return exchange(host, port, [pdu_header(kind, claimed)], timeout)


def silent(host: str, port: int, first: bytes, hold: float) -> Outcome:
    """Send ``first`` (maybe nothing) and keep the connection open, silent, up to ``hold`` s."""
    return exchange(host, port, [first], hold)


def trickle(host: str, port: int, data: bytes, interval: float, limit: float) -> Outcome:
    """Send ``data`` one byte every ``interval`` s until the listener cuts us off or ``limit``.

    ``elapsed`` is how long we held the connection open.
    """
    outcome, dimse = Outcome(), _Dimse()
    start = time.monotonic()
    with contextlib.closing(connect(host, port)) as sock:
        reader = Reader(sock)
        for byte in data:
            if time.monotonic() - start > limit:
                outcome.timed_out = True
                break
            _send(sock, bytes([byte]), outcome, start + limit)
            _drain(reader, outcome, dimse, time.monotonic() + interval)
            outcome.timed_out = False
            if outcome.send_failed or outcome.closed or outcome.abort:
                break
    outcome.elapsed = time.monotonic() - start
    return outcome


def trickle_after(
    host: str, port: int, first: bytes, data: bytes, interval: float, limit: float
) -> Outcome:
    """Send ``first`` at once (an A-ASSOCIATE-RQ), then trickle ``data`` as :func:`trickle`."""
    outcome, dimse = Outcome(), _Dimse()
    start = time.monotonic()
    with contextlib.closing(connect(host, port)) as sock:
        reader = Reader(sock)
        _send(sock, first, outcome, start + limit)
        _drain(reader, outcome, dimse, start + 2.0, stop_on_any=True)
        for byte in data:
            if outcome.send_failed or outcome.closed or outcome.abort:
                break
            if time.monotonic() - start > limit:
                outcome.timed_out = True
                break
            _send(sock, bytes([byte]), outcome, start + limit)
            _drain(reader, outcome, dimse, time.monotonic() + interval)
            outcome.timed_out = False
    outcome.elapsed = time.monotonic() - start
    return outcome


def fragments_until_refused(
    host: str, port: int, fragment: int, total: int, timeout: float = 60.0
) -> tuple[Outcome, int]:
    """A data set sent in ``fragment``-byte PDVs, never the last, until refused or ``total``.

    Returns the outcome and how many data set bytes were sent before the refusal.
    """
    outcome, dimse = Outcome(), _Dimse()
    start = time.monotonic()
    deadline = start + timeout
    cmd = command(report_fields(instance=f"{INSTANCE_ROOT}.256"))
    sent = 0
    with contextlib.closing(connect(host, port)) as sock:
        reader = Reader(sock)
        _send(
            sock,
            associate_rq([presentation_context(1, REPORT_CLASS, [EXPLICIT])]),
            outcome,
            deadline,
        )
        _drain(reader, outcome, dimse, deadline, stop_on_any=True)
        _send(sock, p_data(pdv(1, 0x03, cmd)), outcome, deadline)
        piece = p_data(pdv(1, 0x00, bytes(fragment)))
        while sent < total and time.monotonic() < deadline and not outcome.send_failed:
            _send(sock, piece, outcome, deadline)
            sent += fragment if not outcome.send_failed else 0
        _drain(reader, outcome, dimse, min(deadline, time.monotonic() + 3))
    outcome.elapsed = time.monotonic() - start
    return outcome, sent


NEGOTIATION_CASES: dict[str, list[bytes]] = {
    "even-context-id": [presentation_context(2, REPORT_CLASS, [EXPLICIT])],
    "no-transfer-syntax": [presentation_context(1, REPORT_CLASS, [])],
    "same-class-twice": [
        presentation_context(1, REPORT_CLASS, [EXPLICIT]),
        presentation_context(3, REPORT_CLASS, [JPEG_BASELINE]),
    ],
    "no-context": [],
    "context-id-0": [presentation_context(0, REPORT_CLASS, [EXPLICIT])],
    "empty-abstract": [presentation_context(1, "", [EXPLICIT])],
    "bad-uid": [presentation_context(1, "1.2.abc\0\0", [EXPLICIT])],
    "256-contexts": [presentation_context(n % 256, REPORT_CLASS, [EXPLICIT]) for n in range(256)],
    "ts-only-unknown": [presentation_context(1, REPORT_CLASS, ["1.2.3.4.5"])],
}


def negotiation(host: str, port: int, contexts: list[bytes], timeout: float = 5.0) -> Outcome:
    """An A-ASSOCIATE-RQ with these presentation context items, then a release."""
    return exchange(host, port, [associate_rq(contexts), RELEASE_RQ], timeout)


DIMSE_DEFECTS: dict[str, Callable[[dict[int, bytes]], object]] = {
    "no-message-id": lambda f: f.pop(MESSAGE_ID),
    "no-instance": lambda f: f.pop(AFFECTED_INSTANCE),
    "no-event-type": lambda f: f.pop(EVENT_TYPE),
    "no-class": lambda f: f.pop(AFFECTED_CLASS),
    "no-command-field": lambda f: f.pop(COMMAND_FIELD),
    "unknown-command-field": lambda f: f.update({COMMAND_FIELD: us(0x0FF0)}),
    "response-as-request": lambda f: f.update({COMMAND_FIELD: us(N_EVENT_REPORT_RSP)}),
    "odd-uid": lambda f: f.update({AFFECTED_INSTANCE: b"1.2.3\xff\xfe"}),
    "long-uid": lambda f: f.update({AFFECTED_INSTANCE: b"1." * 200}),
    "message-id-4-bytes": lambda f: f.update({MESSAGE_ID: b"\x01\x00\x00\x00"}),
    "message-id-1-byte": lambda f: f.update({MESSAGE_ID: b"\x01"}),
    "event-type-empty": lambda f: f.update({EVENT_TYPE: b""}),
    "unknown-command-tag": lambda f: f.update({0x00004444: b"XXXX"}),
    "non-command-group": lambda f: f.update({0x00100010: b"DOE^JOHN"}),
    "dataset-type-says-none": lambda f: f.update({DATASET_TYPE: us(NO_DATASET)}),
}


def dimse_defect(host: str, port: int, name: str, message_id: int) -> Outcome:
    """A report whose command set has one defect; the answer should be a failure status."""
    fields = report_fields(message_id=message_id, instance=f"{INSTANCE_ROOT}.7.{message_id}")
    DIMSE_DEFECTS[name](fields)
    dataset = small_dataset("1.2.3")
    return report_case(host, port, fields, dataset, timeout=5.0)


def raw_command(host: str, port: int, cmd: bytes, dataset: bytes | None, timeout: float) -> Outcome:
    """An association carrying raw command bytes (maybe not a command set at all), sent once
    the association is accepted."""
    steps = [
        associate_rq([presentation_context(1, REPORT_CLASS, [EXPLICIT])]),
        message(1, cmd, dataset),
        RELEASE_RQ,
    ]
    return exchange(host, port, steps, timeout, step_wait=timeout)


def random_pdus(host: str, port: int, rng: random.Random, timeout: float = 1.0) -> Outcome:
    """Random PDUs of random types with honest or lying lengths, before or after associating."""
    steps = []
    if rng.random() < 0.5:
        steps.append(associate_rq([presentation_context(1, REPORT_CLASS, [EXPLICIT])]))
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 0x7F, 0xFF, rng.randrange(256)])
        body = rng.randbytes(rng.choice([0, 1, 4, 10, 100, 1000]))
        if rng.random() < 0.3:  # a lying length: shorter than the body, or a bit longer
            steps.append(pdu_header(kind, max(0, len(body) + rng.randint(-8, 8))) + body)
        else:
            steps.append(pdu(kind, body))
    return exchange(host, port, steps, timeout)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """Flip, insert, delete or truncate a few random bytes."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        how = rng.choice(("flip", "set", "insert", "delete", "truncate"))
        at = rng.randrange(len(out)) if out else 0
        if how == "flip" and out:
            out[at] ^= 1 << rng.randrange(8)
        elif how == "set" and out:
            out[at] = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif how == "insert":
            out[at:at] = rng.randbytes(rng.randint(1, 8))
        elif how == "delete" and out:
            del out[at : at + rng.randint(1, 8)]
        elif how == "truncate" and rng.random() < 0.3:
            del out[at:]
    return bytes(out)


def mutation_case(host: str, port: int, seed: int, timeout: float = 1.0) -> Outcome:
    """A valid association + report + release, mutated by ``seed``, sent, read, closed."""
    rng = random.Random(seed)
    stream = b"".join(report_stream(f"{INSTANCE_ROOT}.5.{seed}"))
    return exchange(host, port, [mutate(stream, rng)], timeout)


def idle_connections(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` connections that send nothing, left open for the caller to close."""
    return [connect(host, port) for _ in range(count)]


def closed_by_peer(sock: socket.socket, deadline: float) -> bool:
    """Whether the listener closes ``sock`` (recv returns b'' or fails) by ``deadline``."""
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(min(remaining, 0.5))
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


@dataclass
class Waited:
    """How a legitimate peer fared beside a flood: seconds until its report was answered
    Success (retrying a refusal every 0.2 s), the refusals it got meanwhile, and whether it
    was served at all within the limit."""

    seconds: float
    refusals: int
    served: bool


def served_beside_idle(
    host: str, port: int, idle: int, source: str, instance: str, limit: float = 60.0
) -> Waited:
    """Open ``idle`` silent connections from 127.0.0.1, then send one report from ``source``
    until it is answered Success or ``limit`` passes; the idle connections are closed after."""
    sockets = idle_connections(host, port, idle)
    try:
        start = time.monotonic()
        refusals = 0
        while (left := start + limit - time.monotonic()) > 0:
            outcome = well_formed_report(host, port, instance, min(left, 10.0), source)
            if outcome.statuses == [SUCCESS]:
                return Waited(time.monotonic() - start, refusals, True)
            refusals += 1
            time.sleep(0.2)
        return Waited(time.monotonic() - start, refusals, False)
    finally:
        for sock in sockets:
            sock.close()
