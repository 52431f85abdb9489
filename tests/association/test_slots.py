"""Slots for associations, not for sockets: idle connections cannot keep a real peer out.

A connection holds an association slot (``--max-associations``) only once its
A-ASSOCIATE-RQ arrived; before, it is one of at most ``--max-waiting``
waiting connections, closed at ``--first-pdu-timeout``, and the oldest of the
address holding the most is closed to make room for a newcomer.
``--max-per-address`` bounds both for one address. See
dcmreport/association/admission.py for why.

Real sockets on loopback: the flood comes from 127.0.0.1, the legitimate peer
(hand-built, tests/peers/hostile.py) from 127.0.0.2. No time is asserted but
generous bounds: "served at once" means served well within a first-PDU
deadline set far longer (30 s), which a peer that waited for it could not be.
Run in both modes (the plain-mode run takes tests/association).
"""

from __future__ import annotations

import contextlib
import select
import socket
import sys
import time
from collections.abc import Iterator

import pytest
from helpers import PEERS, Listener

sys.path.insert(0, str(PEERS))
import hostile as h

FLOOD = "127.0.0.1"
OTHER = "127.0.0.2"
LONG = 120.0  # a first-PDU deadline no test waits for: far beyond a report's own 20 s
SLOW_ACSE = ("--acse-timeout", "600")  # pynetdicom's own wait for the request: never reached


@pytest.fixture
def started() -> Iterator[list[Listener]]:
    listeners: list[Listener] = []
    yield listeners
    for listener in listeners:
        listener.proc.kill()
        listener.proc.wait()


def listener(started: list[Listener], *args: str) -> Listener:
    started.append(Listener(*SLOW_ACSE, *args))
    return started[-1]


def report(port: int, source: str, n: int) -> h.Outcome:
    return h.well_formed_report(FLOOD, port, f"{h.INSTANCE_ROOT}.6.{n}", 20.0, source)


@contextlib.contextmanager
def idle(port: int, count: int) -> Iterator[list[socket.socket]]:
    sockets = h.idle_connections(FLOOD, port, count)
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def associated(port: int, source: str) -> Iterator[h.Outcome]:
    """An association held open (its A-ASSOCIATE-AC read, or whatever came instead)."""
    sock = h.connect(FLOOD, port, 10.0, source)
    try:
        outcome = h.Outcome()
        sock.sendall(h.associate_rq([h.presentation_context(1, h.REPORT_CLASS, [h.EXPLICIT])]))
        got = h.Reader(sock).read(time.monotonic() + 20)
        if got is not None:
            h.take(outcome, *got, h._Dimse())
        yield outcome
    finally:
        sock.close()


@pytest.mark.parametrize("count", [12, 100])
def test_a_peer_from_another_address_is_served_at_once_beside_idle_sockets(
    started: list[Listener], count: int
) -> None:
    """Served, within the report's own 20 s, while the idle sockets' first-PDU deadline
    (LONG) is still far off: it did not wait for them to be closed."""
    served = listener(started, "--first-pdu-timeout", str(LONG))
    with idle(served.port, count):
        outcome = report(served.port, OTHER, 1)
    assert outcome.statuses == [h.SUCCESS], outcome


def test_idle_sockets_hold_no_association_slot(started: list[Listener]) -> None:
    """Twelve silent connections and two slots: a peer from the same address still gets one."""
    served = listener(started, "--max-associations", "2", "--first-pdu-timeout", str(LONG))
    with idle(served.port, 12):
        assert report(served.port, FLOOD, 2).statuses == [h.SUCCESS]


def test_idle_sockets_are_closed_at_the_first_pdu_deadline(started: list[Listener]) -> None:
    """Each is closed by the listener (recv gives b''), with one warning for the address."""
    served = listener(started, "--first-pdu-timeout", "1")
    with idle(served.port, 5) as sockets:
        deadline = time.monotonic() + 1 + 30  # the deadline, and a generous margin
        assert all(h.closed_by_peer(sock, deadline) for sock in sockets)
    assert served.wait_until(lambda: any("closed a connection" in x for x in served.stderr))
    closed = [x for x in served.stderr if "closed a connection" in x]
    assert len(closed) == 1 and "from 127.0.0.1" in closed[0] and "--first-pdu-timeout" in closed[0]
    assert report(served.port, FLOOD, 3).statuses == [h.SUCCESS]


def closed_ones(sockets: list[socket.socket], deadline: float) -> list[int]:
    """Which of ``sockets`` the listener closed, once one is closed (empty at ``deadline``).

    Which one is "oldest" is the order the listener registered them in, which
    its threads may take in another order than the connects: only how many is
    asserted.
    """
    while time.monotonic() < deadline:
        readable, _, _ = select.select(sockets, [], [], 0.5)
        if readable:
            time.sleep(0.2)  # another closed at the same time is seen too
            return [n for n, sock in enumerate(sockets) if _closed_now(sock)]
    return []


def _closed_now(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_the_oldest_waiting_connection_makes_room(started: list[Listener]) -> None:
    """--max-waiting 4: a fifth connection closes one of them, and only one."""
    served = listener(started, "--max-waiting", "4", "--first-pdu-timeout", str(LONG))
    with idle(served.port, 5) as sockets:
        assert len(closed_ones(sockets, time.monotonic() + LONG / 2)) == 1
    with idle(served.port, 4):  # full again: the newcomer from another address gets in
        assert report(served.port, OTHER, 4).statuses == [h.SUCCESS]


def test_one_address_holds_at_most_max_per_address_waiting(started: list[Listener]) -> None:
    served = listener(started, "--max-per-address", "2", "--first-pdu-timeout", str(LONG))
    with idle(served.port, 3) as sockets:
        assert len(closed_ones(sockets, time.monotonic() + LONG / 2)) == 1


def test_a_third_association_from_one_address_is_rejected(started: list[Listener]) -> None:
    """--max-per-address 2: 2/3/2 (local limit exceeded) for the third from 127.0.0.1,
    while 127.0.0.2 is served."""
    served = listener(started, "--max-per-address", "2")
    with associated(served.port, FLOOD) as one, associated(served.port, FLOOD) as two:
        assert one.pdus == two.pdus == [h.A_ASSOCIATE_AC]
        assert report(served.port, FLOOD, 5).reject == (2, 3, 2)
        assert report(served.port, OTHER, 6).statuses == [h.SUCCESS]
    assert served.wait_until(lambda: any("--max-per-address 2" in x for x in served.stderr))


def test_max_associations_counts_established_associations(started: list[Listener]) -> None:
    served = listener(started, "--max-associations", "2")
    with associated(served.port, FLOOD) as one, associated(served.port, OTHER) as two:
        assert one.pdus == two.pdus == [h.A_ASSOCIATE_AC]
        assert report(served.port, OTHER, 7).reject == (2, 3, 2)
    assert served.wait_until(lambda: any("--max-associations 2" in x for x in served.stderr))
    deadline = time.monotonic() + 60  # both let go: their slots come free as they close
    while (outcome := report(served.port, OTHER, 8)).statuses != [h.SUCCESS]:
        assert time.monotonic() < deadline, outcome
        time.sleep(0.1)
