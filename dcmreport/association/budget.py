"""The memory budget: the data sets in flight, across all associations, within one limit.

``--max-dataset-size`` bounds one message; nothing else bounded the total,
so ten peers each sending a data set under that limit at once could take
gigabytes. Each received data set fragment is reserved from one
:class:`MemoryBudget` before pynetdicom buffers it, at what it costs in
memory until its report is recorded and shown (:data:`COST_PER_BYTE`); a
message whose next fragment does not fit is refused whole: its buffered
bytes are dropped, the rest of its fragments are not buffered, and its
request is answered 0x0213 (resources). The reservation is returned when the
report lands, or, whatever happens to the message, when its buffer is freed.

An eighth of the budget is kept for small data sets (up to :data:`SMALL`
bytes): while large ones fill the rest, ordinary reports are still accepted.
"""

from __future__ import annotations

import ctypes
import threading
from io import BytesIO

# A received byte is held twice at most until its report lands: the buffer it arrives in,
# and the decoded value (which the Part 10 file and the record are written from).
COST_PER_BYTE = 2
SMALL = 1024 * 1024  # a data set up to this size may use the eighth kept for small ones


def holds(limit: int, size: int) -> bool:
    """Whether a budget of ``limit`` bytes can take one data set of ``size`` bytes."""
    return size * COST_PER_BYTE <= limit - limit // 8


# glibc's mallopt parameter: the size from which malloc maps memory of its own for a block
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024  # glibc's default, kept fixed


def return_large_blocks() -> bool:
    """Keep glibc's malloc giving large blocks back to the system as soon as they are freed.

    glibc maps a block of 128 KiB or more on its own and unmaps it when freed,
    but each time such a block is freed it raises that threshold to the block's
    size (up to 32 MiB): after one large data set, the next ones' buffers come
    from the per-thread heaps, where freed memory stays resident and fragments.
    A long-running listener's resident memory then passes what the budget
    counts. Setting the threshold once turns that adjustment off. False where
    the C library has no mallopt (not glibc): nothing changed.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


class MemoryBudget:
    """Bytes reserved for data sets in flight; thread-safe, never above ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    def charge(self, buffer: InFlight, count: int, small: bool) -> bool:
        """Reserve ``count`` more bytes for ``buffer`` if they fit (a large data set's within
        seven eighths of the limit); if they do not, give back all ``buffer`` holds and say
        False.

        The refusal and the refund are one step under the lock: of two data sets that
        together pass the budget, each growing in its own thread, only the first to
        pass it is refused. Were the refund a step of its own, the second could be
        refused meanwhile for what the first still held, and neither be accepted.
        """
        ceiling = self.limit if small else self.limit - self.limit // 8
        with self._lock:
            if self._used + count > ceiling:
                self._give_back(buffer)
                return False
            self._used += count
            buffer._held += count
            return True

    def refund(self, buffer: InFlight) -> None:
        """Give back all that ``buffer`` holds (once: it then holds nothing)."""
        with self._lock:
            self._give_back(buffer)

    def _give_back(self, buffer: InFlight) -> None:
        """``refund``'s step, for a caller that holds the lock."""
        self._used -= buffer._held
        buffer._held = 0


class InFlight(BytesIO):
    """A received data set's buffer (pynetdicom writes its fragments here), paid for from the
    budget as they arrive; ``refused`` once one did not fit, and then kept empty.

    Whatever becomes of the message (an association aborted mid-message, a
    request never served), its reservation ends with its buffer (``__del__``).
    """

    __slots__ = ("_budget", "_held", "_size", "refused")

    def __init__(self, budget: MemoryBudget) -> None:
        super().__init__()
        self._budget = budget
        self._held = 0  # bytes of the budget reserved (the budget's lock guards it)
        self._size = 0  # bytes received so far
        self.refused = False

    def admit(self, count: int) -> bool:
        """Pay for ``count`` more bytes; if they do not fit, drop what was buffered, give its
        reservation back and refuse this data set: False from then on."""
        if self.refused:
            return False
        self._size += count
        if self._budget.charge(self, count * COST_PER_BYTE, self._size <= SMALL):
            return True
        self.refused = True
        self.seek(0)
        self.truncate()
        return False

    def release(self) -> None:
        """The report landed (recorded and shown): its reservation is given back."""
        self._budget.refund(self)

    def __del__(self) -> None:
        self._budget.refund(self)
