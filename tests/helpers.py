"""What the tests share: the CLI as a subprocess, a listener process on port 0, plain peers.

Import it in a test module (``from helpers import dcmreport, Listener``); the
fixtures built on it are in conftest.py. Everything talks over real sockets on
127.0.0.1. Peers that must not share dcmreport's view of pynetdicom run as
separate processes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).parent
PEERS = HERE / "peers"
SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
_LISTENING = re.compile(r"listening on \S+:(\d+)")
SPEEDUPS = "DCMREPORT_SPEEDUPS"  # dcmreport.speedups.ENV, kept by cli_env


def cli_env() -> dict[str, str]:
    """The CLI's environment: none of the user's DCMREPORT_* settings, but the speedups switch
    (``DCMREPORT_SPEEDUPS=off`` for the whole run makes every CLI it starts plain too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DCMREPORT_") or k == SPEEDUPS}
    env["COLUMNS"] = "200"
    env["XDG_CONFIG_HOME"] = str(HERE / "no-settings")  # not the user's named peers and defaults
    return env


def dcmreport(
    *args: str, input: str | None = None, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m dcmreport ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "dcmreport", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env(),
    )


def unused_port() -> int:
    """A port nothing listens on (bound then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Background:
    """A process whose stdout and stderr are drained by threads into lists of lines."""

    def __init__(self, argv: list[str], stdin: int | None = None) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=stdin,
            text=True,
            env=cli_env(),
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        for stream, sink in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr)):
            threading.Thread(target=self._drain, args=(stream, sink), daemon=True).start()

    def _drain(self, stream: Any, sink: list[str]) -> None:
        for line in stream:
            with self._changed:
                sink.append(line)
                self._changed.notify_all()

    def wait_for(
        self, pattern: re.Pattern[str], stream: str = "stderr", timeout: float = 20
    ) -> re.Match[str]:
        lines = self.stderr if stream == "stderr" else self.stdout
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(pattern.search(x) for x in lines) or self.proc.poll() is not None,
                timeout,
            )
            match = next((m for m in map(pattern.search, lines) if m), None)
        if not found or match is None:
            raise AssertionError(f"{pattern.pattern!r} not seen; stderr: {''.join(self.stderr)}")
        return match

    def finish(self, sig: int | None = signal.SIGTERM, timeout: float = 30) -> int:
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        assert self.proc.stdout and self.proc.stderr
        return code

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout if line.strip()]


def listen_argv(*args: str) -> list[str]:
    """The command line of ``dcmreport listen`` on a free port of 127.0.0.1, JSON lines out;
    ``args`` come last, so they may repeat (and override) any of these."""
    return [
        sys.executable,
        "-m",
        "dcmreport",
        "listen",
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--format",
        "json",
        *args,
    ]


def listening_port(process: Background) -> int:
    """The port a listener started with ``--port 0`` says it bound (a minute at most, for a
    loaded machine or a listener under strace)."""
    return int(process.wait_for(_LISTENING, timeout=60)[1])


class Listener(Background):
    """``dcmreport listen --port 0`` as a process; ``port`` is the one it bound."""

    def __init__(self, *args: str) -> None:
        super().__init__(listen_argv(*args))
        self.port = listening_port(self)


_B = TypeVar("_B", bound=Background)


def started_processes(start_one: Callable[..., _B]) -> Iterator[Callable[..., _B]]:
    """A fixture's body: hand out ``start_one``; kill what still runs at the end."""
    started: list[_B] = []

    def start(*args: Any) -> _B:
        started.append(start_one(*args))
        return started[-1]

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()


def stop_pynetdicom_server(peer: Background) -> dict[str, Any]:
    """Close the server's stdin (its stop signal) and return what it saw."""
    assert peer.proc.stdin is not None
    peer.proc.stdin.close()
    assert peer.finish(sig=None) == 0, "".join(peer.stderr)
    return json.loads(peer.stdout[-1])
