"""The suite's fixtures: listeners, plain pynetdicom servers and TLS certificates, each
stopped or removed at the end of its test. The helpers they use are in helpers.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import certs
import pytest
from helpers import PEERS, Background, Listener, started_processes

from dcmreport import speedups


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A trick's own tests (marked ``speedups``) are skipped, saying why, while an installed
    library is outside a trick's verified versions: the trick is off there, as for a user,
    until it is verified with that version and its range widened in speedups.TRICKS."""
    outside = {name: why for name in speedups.TRICKS if (why := speedups.outside(name))}
    if not outside:
        return
    reason = "; ".join(f"speedups: {name} off: {why}" for name, why in outside.items())
    for item in items:
        if item.get_closest_marker("speedups"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _speedups_switch_as_the_run_began() -> Iterator[None]:
    """The switch as the run began (``DCMREPORT_SPEEDUPS``, for ``python -m pytest`` in plain
    mode), after a test that ran the app in-process with ``--speedups``: the option sets it
    for the whole process, as it should."""
    before = os.environ.get(speedups.ENV)
    yield
    if os.environ.get(speedups.ENV) != before:
        if before is None:
            del os.environ[speedups.ENV]
        else:
            os.environ[speedups.ENV] = before
        speedups.reread()


@pytest.fixture
def speedups_mode(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``speedups_mode("off")`` switches this process (in-process tests of both paths);
    the switch is as before once the test ends."""

    def switch(value: str) -> None:
        monkeypatch.setenv(speedups.ENV, value)
        speedups.reread()

    yield switch
    speedups.reread()  # before monkeypatch restores the variable: read again at next use


@pytest.fixture(params=[pytest.param("on", marks=pytest.mark.speedups), "off"])
def both_modes(request: pytest.FixtureRequest, speedups_mode: Any) -> str:
    """The test runs twice in this process: speed tricks on (marked ``speedups``), then off."""
    mode: str = request.param
    speedups_mode(mode)
    return mode


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
