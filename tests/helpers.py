"""What the tests share: the CLI in process and as a subprocess, a listener process, plain peers.

Import it in a test module (``from helpers import dcmreport, invoke, Listener``);
the fixtures built on it are in conftest.py. Everything talks over real sockets
on 127.0.0.1. Peers that must not share dcmreport's view of pynetdicom run as
separate processes.

Which way to run the CLI: :func:`invoke` (in this process, Typer's
``CliRunner``) for ``--help``, usage errors and bad input, which never reach a
peer, and :func:`parse` for what a command line parses into; :func:`dcmreport`
(a subprocess) where the process itself is the point: exit codes of real runs,
stdout and stderr as a script sees them, signals, imports, real peers.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typer.testing import Result

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

HERE = Path(__file__).parent
PEERS = HERE / "peers"
SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
VERIFICATION = "1.2.840.10008.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
ROOT = "1.2.826.0.1.3680043.9.9999.30"  # UIDs made by the tests
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


def memory(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory now, in bytes (``VmHWM``: its peak so far)."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
    assert found, f"no {field} in /proc/{pid}/status"
    return int(found[1]) * 1024


def eventually(check: Callable[[], bool], timeout: float = 60) -> bool:
    """Whether ``check()`` comes true within ``timeout`` (polled): for what no line announces,
    a file appearing, say. The bound only catches a hang; nothing is timed."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@contextmanager
def in_process(env: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run the CLI in this process as :func:`cli_env` would run it, then put the process back.

    Inside: no DCMREPORT_* variable of the caller's but the speedups switch
    (read again, so that the run takes this run's mode), no settings file of the
    user's, 80 columns, and ``env`` on top. After: the environment, the log
    handlers, ``threading.excepthook`` and the signal handlers a command run
    sets up, and the cached settings file (read once per process by dcmreport)
    are as they were.
    """
    from dcmreport import speedups  # here: peers and tools import this module too
    from dcmreport.cli.settings_file import load

    wanted = {
        **{
            name: None
            for name in os.environ
            if name.startswith("DCMREPORT_") and name != speedups.ENV
        },
        "XDG_CONFIG_HOME": str(HERE / "no-settings"),
        "COLUMNS": "80",
        "TERMINAL_WIDTH": "80",
        **(env or {}),
    }
    environment = dict(os.environ)
    loggers = [logging.getLogger(name) for name in ("dcmreport", "pynetdicom", "pydicom")]
    logs = [(log.handlers[:], log.propagate, log.level) for log in loggers]
    excepthook = threading.excepthook
    signals = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for name, value in wanted.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    load.cache_clear()
    speedups.reread()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environment)
        for log, (handlers, propagate, level) in zip(loggers, logs, strict=True):
            log.handlers[:] = handlers
            log.propagate = propagate
            log.setLevel(level)
        threading.excepthook = excepthook
        for sig, handler in signals.items():
            signal.signal(sig, handler)
        load.cache_clear()
        speedups.reread()


def invoke(*args: str, input: str | None = None, env: Mapping[str, str] | None = None) -> Result:
    """``dcmreport ARGS`` in this process: ``exit_code``, ``stdout`` and ``stderr``.

    For --help, usage errors and bad input (exit 2 before any association),
    where a subprocess proves nothing more; see :func:`in_process`. stdout is
    no terminal, so ``--format auto`` is JSON, as in a pipe.
    """
    from typer.testing import CliRunner

    from dcmreport.cli.app import app

    with in_process(env):
        return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)


@functools.cache
def command_group() -> Any:
    """The ``dcmreport`` command as Typer builds it: its ``commands``, their ``params``."""
    import typer

    from dcmreport.cli.app import app

    return typer.main.get_command(app)


def parse(argv: list[str]) -> dict[str, Any]:
    """Parse a command line as dcmreport would, without running it: the command's values,
    by name (a bundle's field names: ``max_depth`` for ``--max-depth``)."""
    assert argv[0] == "dcmreport", argv
    group = command_group()
    with in_process():
        root = group.make_context("dcmreport", argv[1:])
        name, command, rest = group.resolve_command(root, [*root._protected_args, *root.args])
        return dict(command.make_context(name, rest, parent=root).params)


def reactor_caught_up(assoc: Any) -> None:
    """Before a plain pynetdicom requestor's next request on ``assoc``: wait until its
    association loop has run after the last one. pynetdicom 3.0.4's loop can otherwise
    take the next response off the queue itself (its pause between two ``send_*()`` is
    racy, more so on a loaded machine), and the sender waits out its DIMSE timeout."""
    while assoc._is_paused and assoc.is_established:
        time.sleep(0)


def unused_port() -> int:
    """A port nothing listens on, below the kernel's ephemeral range.

    A port the kernel handed out for ``bind(0)`` and closed again may be handed
    out again at once: to a listener the same test starts with ``--port 0``,
    which then holds the port the test meant for another (seen: a PACS peer
    bound the result port of ``commit --port``). Ports below the ephemeral
    range are never handed out for port 0, nor as a client's source port.
    """
    low = _ephemeral_low()
    for _ in range(100):
        port = random.randrange(10000, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use: another
            return port
    raise RuntimeError(f"no free port between 10000 and {low}")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


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
        self._drains = [
            threading.Thread(target=self._drain, args=(stream, sink), daemon=True)
            for stream, sink in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr))
        ]
        for drain in self._drains:
            drain.start()

    def _drain(self, stream: Any, sink: list[str]) -> None:
        for line in stream:
            with self._changed:
                sink.append(line)
                self._changed.notify_all()

    def wait_until(self, ready: Callable[[], bool], timeout: float = 30) -> bool:
        """Wait until ``ready()`` holds, checked at each line either stream brings."""
        with self._changed:
            return self._changed.wait_for(ready, timeout)

    def wait_for(
        self, pattern: re.Pattern[str], stream: str = "stderr", timeout: float = 60
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
        self.drained()
        return code

    def drained(self, timeout: float = 10) -> None:
        """Once the process has ended: wait until its last lines are read (a program it
        started and left running may hold a stream open: then only ``timeout``)."""
        for drain in self._drains:
            drain.join(timeout)

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


# --- storage commitment ----------------------------------------------------------------


def write_instance(directory: Path, name: str, sop_class: str, instance: str) -> Path:
    """A Part 10 file of one instance, as a modality would have sent it."""
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID, ds.PatientID = sop_class, instance, "X"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = instance
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    ds.save_as(path, enforce_file_format=True)
    return path


def commit(port: int, study: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """``dcmreport commit PACS@127.0.0.1:PORT STUDY``: its exit code and first JSON line."""
    run = dcmreport(
        "commit", f"PACS@127.0.0.1:{port}", str(study), "--format", "json", "--timeout", "15", *args
    )
    assert run.stdout.strip(), run.stderr
    result: dict[str, Any] = json.loads(run.stdout.splitlines()[0])
    return run.returncode, result


def pseudo_terminal(rows: int, columns: int) -> tuple[int, int]:
    """A pseudo-terminal of that size: (the side a terminal reads, the side a process writes)."""
    import fcntl
    import pty
    import struct
    import termios

    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return primary, secondary


def read_terminal(primary: int, into: bytearray) -> threading.Thread:
    """A thread that reads what the terminal shows into ``into`` until every process holding
    it has gone (EIO), then closes it: a terminal that someone watches."""

    def read() -> None:
        try:
            while chunk := os.read(primary, 65536):
                into.extend(chunk)
        except OSError:  # EIO: every writer has closed its end
            pass
        finally:
            os.close(primary)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader
