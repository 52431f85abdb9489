"""Knowing when to go on: ``echo --wait`` and ``listen --ready-file``.

A CI job that starts a listener must not send before it listens: ``echo
--wait`` tries again until the peer answers, and ``listen --ready-file``
writes the address to call once connections are accepted.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dcmreport.dicom.address import Peer
from dcmreport.errors import AssociationError

if TYPE_CHECKING:
    from dcmreport.association.common import Settings
    from dcmreport.dicom.records import EchoResponse

LOG = logging.getLogger("dcmreport")


def echo_until(
    echo: Callable[[Peer, Settings], EchoResponse], peer: Peer, settings: Settings, wait: float
) -> EchoResponse:
    """C-ECHO until the peer answers or ``wait`` seconds have passed; then its last error.

    For a CI job that starts an SCP: every attempt is short (its connect
    timeout capped to the time left), and attempts come every 0.2 s at most.
    """
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        timeout = min(settings.connect_timeout or left, left)
        try:
            return echo(peer, replace(settings, connect_timeout=max(timeout, 0.1)))
        except AssociationError as exc:
            if time.monotonic() + 0.2 >= deadline:
                raise AssociationError(
                    f"{exc} (still, after waiting {wait:g} s: --wait)", exc.hint
                ) from None
            LOG.info("no answer yet: %s", exc)
            time.sleep(0.2)


def wait_for_peer_file(word: str, wait: float | None) -> float | None:
    """``echo --wait SECONDS @FILE``: wait for the file ``listen --ready-file`` writes;
    the seconds left for the C-ECHO (None: no --wait). A file that never comes is a
    listener that never became ready: exit 3, as for a peer that never answers."""
    if wait is None or not word.startswith("@"):
        return wait
    deadline, path = time.monotonic() + wait, Path(word[1:])
    while not path.exists():
        if time.monotonic() >= deadline:
            raise AssociationError(
                f"{word}: no such file after waiting {wait:g} s: the listener is not ready",
                "start it with listen --ready-file FILE; its errors say why it did not start",
            )
        time.sleep(0.05)
    return max(deadline - time.monotonic(), 0.0)


@contextmanager
def ready_file(path: Path | None, aet: str, bind: str) -> Iterator[Callable[[int], None]]:
    """``listen --ready-file``: gives ``ready(port)``, which writes ``AET@HOST:PORT`` there.

    A stale file from an earlier run must not say "ready", so it is removed
    first, and again at exit. It is written whole (a temporary file renamed
    into place), so a job polling for it never reads half an address. HOST is
    the bound address, loopback for a wildcard, so the line is a peer to call.
    """
    if path is None:
        yield lambda port: None
        return
    path.unlink(missing_ok=True)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(bind, bind)

    def ready(port: int) -> None:
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(f"{Peer(aet, host, port)}\n", encoding="utf-8")
        partial.replace(path)

    try:
        yield ready
    finally:
        path.unlink(missing_ok=True)
