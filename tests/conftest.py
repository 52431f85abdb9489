"""The suite's fixtures: listeners, plain pynetdicom servers and TLS certificates, each
stopped or removed at the end of its test. The helpers they use are in helpers.py."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import certs
import pytest
from helpers import PEERS, Background, Listener, started_processes


@pytest.fixture
def listen() -> Iterator[Any]:
    """Start listeners; any still running at the end are stopped."""
    yield from started_processes(Listener)


@pytest.fixture
def pynetdicom_server() -> Iterator[Any]:
    """Start the plain pynetdicom reference server (tests/peers/pynetdicom_peer.py)."""
    started: list[Background] = []

    def start(*args: str) -> tuple[Background, int]:
        peer = Background(
            [sys.executable, str(PEERS / "pynetdicom_peer.py"), "server", *args],
            stdin=subprocess.PIPE,
        )
        started.append(peer)
        port = int(peer.wait_for(re.compile(r'"port": (\d+)'), "stdout")[1])
        return peer, port

    yield start
    for peer in started:
        if peer.proc.poll() is None:
            peer.proc.kill()
            peer.proc.wait()


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory: pytest.TempPathFactory) -> certs.Certs:
    """A CA, server, client, expired and untrusted certificates, made for this run."""
    return certs.make(tmp_path_factory.mktemp("certs"))
