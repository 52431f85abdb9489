"""Slots for associations, not for sockets: who the listener admits, and whom it lets go.

pynetdicom counts every acceptor thread against ``maximum_associations``,
connections still waiting for their A-ASSOCIATE-RQ too, and waits for that
request up to the ACSE timeout (30 s): a dozen sockets that send nothing
would make a listener refuse every real peer 2/3/2 for half a minute. So the
listener counts for itself (pynetdicom's own count is kept out of the way
with a maximum it never reaches), and a connection is one of two things:

* **waiting** from the moment it is accepted until its A-ASSOCIATE-RQ has
  arrived: it holds no association slot, at most ``max_waiting`` of them
  exist, and each is closed if that request has not arrived whole within
  ``first_pdu_timeout`` (the TLS handshake included);
* an **association** from its A-ASSOCIATE-RQ on: at most ``max_associations``
  of them, beyond which the request is rejected 2/3/2 (local limit exceeded).

``max_per_address`` (0: no limit) bounds both for one IP address: at most
that many associations (beyond: 2/3/2) and that many waiting connections.

When the waiting connections are full, the newcomer is not turned away:
the oldest waiting connection of the address that holds the most of them is
closed instead. A legitimate peer sends its request right after connecting,
so it waits for milliseconds and is never the oldest of anyone; a flood
from one address only ever displaces itself, whatever its size, so a peer
from another address is served at once without a per-address limit that an
operator would have to tune (behind NAT, many real peers share an address).
Closing the newcomer instead would let the flood hold the door shut.
Within one address the same rule applies to ``max_per_address``.

Closing a waiting connection is the guards' (:func:`~dcmreport.association.
internals.guards.close_unassociated`); this module is the bookkeeping alone.
What it closes is said in one warning per address per minute at most, with
a count of the rest: a flood of thousands of sockets is a few lines.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pynetdicom.association import Association

from dcmreport.frozen import frozen

LOG = logging.getLogger("dcmreport")


@frozen
class SlotLimits:
    """How many connections the listener holds, and for how long before they associate."""

    max_associations: int = 10  # beyond: 2/3/2 local limit exceeded
    max_waiting: int = 32  # connections before their A-ASSOCIATE-RQ; beyond: the oldest closed
    first_pdu_timeout: float = 5.0  # for the whole A-ASSOCIATE-RQ, from the connection
    max_per_address: int = 0  # associations, and waiting connections, per IP address; 0: any


@dataclass
class _Waiting:
    address: str
    deadline: float


_QUIET = 60.0  # seconds between two warnings about one address


class Admission:
    """Counts waiting connections and associations; closes waiting ones past their limits.

    ``connected`` at EVT_CONN_OPEN, ``requested`` at EVT_REQUESTED (None: admitted,
    else why to reject 2/3/2), ``closed`` at EVT_CONN_CLOSE. Entries of an
    association whose thread has ended are dropped whenever counted, so a close
    that no event reports never holds a slot. Deadlines are kept by a thread that
    runs while a connection waits.
    """

    def __init__(self, limits: SlotLimits, close: Callable[[Association], None]) -> None:
        self._limits = limits
        self._close = close
        self._lock = threading.Condition()
        self._waiting: OrderedDict[Association, _Waiting] = OrderedDict()  # oldest first
        self._associations: dict[Association, str] = {}  # -> its address
        self._closed_by_us: set[Association] = set()  # until they leave: never admitted
        self._watching = False
        self._said = _Quieted()
        # Why a waiting connection was closed, as the warning says it.
        self._idle = f"no A-ASSOCIATE-RQ within --first-pdu-timeout {limits.first_pdu_timeout:g} s"
        self._crowded = (
            f"the oldest of the most waiting from one address (--max-waiting {limits.max_waiting})"
        )
        self._crowded_address = (
            f"the oldest waiting from its address (--max-per-address {limits.max_per_address})"
        )

    def connected(self, assoc: Association) -> None:
        """A new connection waits for its A-ASSOCIATE-RQ; someone waiting may make room."""
        address = str(assoc.requestor.address)
        with self._lock:
            self._prune()
            self._waiting[assoc] = _Waiting(
                address, time.monotonic() + self._limits.first_pdu_timeout
            )
            closing = self._over_limits(address)
            self._closed_by_us.update(victim for victim, _ in closing)
            start = not self._watching
            self._watching = True
            self._lock.notify_all()
        if start:
            threading.Thread(target=self._watch, name="first-pdu-deadlines", daemon=True).start()
        self._close_all(closing)

    def _over_limits(self, address: str) -> list[tuple[Association, str]]:
        """The waiting connections to close now that one from ``address`` came."""
        closing = []
        cap = self._limits.max_per_address
        if cap and sum(w.address == address for w in self._waiting.values()) > cap:
            closing.append((self._oldest_of(address), self._crowded_address))
        if len(self._waiting) > self._limits.max_waiting:
            closing.append((self._oldest_of(self._most_waiting()), self._crowded))
        return closing

    def _most_waiting(self) -> str:
        counts: dict[str, int] = {}
        for waiting in self._waiting.values():
            counts[waiting.address] = counts.get(waiting.address, 0) + 1
        return max(counts, key=counts.__getitem__)

    def _oldest_of(self, address: str) -> Association:
        """Removed from the waiting connections: it is being closed."""
        assoc = next(a for a, w in self._waiting.items() if w.address == address)
        del self._waiting[assoc]
        return assoc

    def requested(self, assoc: Association) -> str | None:
        """Its A-ASSOCIATE-RQ arrived: admitted (None) or why it is rejected 2/3/2."""
        address = str(assoc.requestor.address)
        with self._lock:
            self._waiting.pop(assoc, None)
            self._prune()
            if assoc in self._closed_by_us:
                return "its connection was being closed (--first-pdu-timeout or --max-waiting)"
            cap = self._limits.max_per_address
            if cap and sum(a == address for a in self._associations.values()) >= cap:
                return f"--max-per-address {cap}"
            if len(self._associations) >= self._limits.max_associations:
                return f"--max-associations {self._limits.max_associations}"
            self._associations[assoc] = address
            return None

    def closed(self, assoc: Association) -> None:
        """Its connection closed: whatever it held is free."""
        with self._lock:
            self._waiting.pop(assoc, None)
            self._associations.pop(assoc, None)
            self._closed_by_us.discard(assoc)

    def closed_by_us(self, assoc: Association) -> bool:
        """Whether we closed this connection: what fails on it then is no news (a TLS
        handshake cut short), the closing's own warning said it."""
        with self._lock:
            return assoc in self._closed_by_us

    def _prune(self) -> None:
        """Drop associations whose thread has ended (started, and no longer alive)."""
        for held in (self._waiting, self._associations):
            for assoc in [a for a in held if a.ident is not None and not a.is_alive()]:
                del held[assoc]
        self._closed_by_us = {a for a in self._closed_by_us if a.ident is None or a.is_alive()}

    def _watch(self) -> None:
        """Close each waiting connection at its deadline; end once none waits."""
        while True:
            with self._lock:
                expired = self._expired()
                if not expired and not self._waiting:
                    self._watching = False
                    return
                if not expired:
                    first = next(iter(self._waiting.values())).deadline
                    self._lock.wait(max(first - time.monotonic(), 0.0))
                    continue
                self._closed_by_us.update(expired)
            self._close_all([(assoc, self._idle) for assoc in expired])

    def _expired(self) -> list[Association]:
        """Waiting connections past their deadline, taken out (they are oldest first)."""
        now = time.monotonic()
        expired = []
        for assoc, waiting in list(self._waiting.items()):
            if waiting.deadline > now:
                break
            del self._waiting[assoc]
            expired.append(assoc)
        return expired

    def _close_all(self, closing: list[tuple[Association, str]]) -> None:
        for assoc, why in closing:
            self._close(assoc)
            self._said.closed(str(assoc.requestor.address), why)


class _Quieted:
    """One warning per address per :data:`_QUIET` seconds, counting the connections closed
    in between: an operator learns who floods without a line per socket."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, int]] = {}  # address -> (last said, closed since)

    def closed(self, address: str, why: str) -> None:
        now = time.monotonic()
        with self._lock:
            said, since = self._last.get(address, (now - _QUIET, 0))
            if now - said < _QUIET:
                self._last[address] = (said, since + 1)
                return
            self._last[address] = (now, 0)
            if len(self._last) > 1024:  # many addresses: forget those quiet for long
                self._last = {a: s for a, s in self._last.items() if now - s[0] < _QUIET}
        more = f"; {since} more closed since the last such line" if since else ""
        LOG.warning("closed a connection from %s that had not associated: %s%s", address, why, more)
