"""Fixtures for the interoperability suite: independent peers as real processes.

Every test here needs DCMTK or the dcmjs-dimse peers; ``support.missing_peer`` decides
between skip (locally) and fail (``CI=true``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import started_processes

from interop.support import (
    Dcmtk,
    ScpJs,
    StoreScp,
    UpsScpJs,
    UpsSubscriberJs,
    require_dcmjs,
    require_dcmtk,
)


@pytest.fixture
def dcmtk() -> Dcmtk:
    """DCMTK's echoscu and storescp, by absolute path in /usr/bin."""
    return require_dcmtk()


@pytest.fixture
def node() -> str:
    """The node binary, once the dcmjs-dimse peers are known to load."""
    return require_dcmjs()


@pytest.fixture
def scp_js(node: str) -> Iterator[Any]:
    """Start ``scp.js`` receivers on port 0; any still running at the end are killed."""
    yield from started_processes(lambda *args: ScpJs(node, *args))


@pytest.fixture
def ups_scp_js(node: str) -> Iterator[Any]:
    """Start ``ups_scp.js`` UPS SCPs on port 0; any still running at the end are killed."""
    yield from started_processes(lambda *args: UpsScpJs(node, *args))


@pytest.fixture
def ups_subscriber_js(node: str) -> Iterator[Any]:
    """Start ``ups_subscriber.js`` subscribers; any still running at the end are killed."""
    yield from started_processes(lambda *args: UpsSubscriberJs(node, *args))


@pytest.fixture
def storescp(dcmtk: Dcmtk, tmp_path: Path) -> Iterator[Any]:
    """Start DCMTK storescp processes; any still running at the end are killed."""
    started: list[StoreScp] = []

    def start(*args: str) -> StoreScp:
        peer = StoreScp(dcmtk.storescp, args, tmp_path).start()
        started.append(peer)
        return peer

    yield start
    for peer in started:
        if peer.process and peer.process.proc.poll() is None:
            peer.process.proc.kill()
            peer.process.proc.wait()
