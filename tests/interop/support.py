"""Finding the independent peers and running them as processes.

A peer that is not installed skips its tests locally, with the command that installs
it; in CI (``CI=true``) it fails them instead, so a broken CI image cannot turn the
interoperability suite into a row of skips.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
from helpers import Background, cli_env, unused_port

PEERS = Path(__file__).parent / "peers"
DCMTK_BIN = Path("/usr/bin")  # not PATH: pynetdicom installs its own echoscu/storescp scripts
DCMTK_TOOLS = ("echoscu", "storescp", "dcm2json")
INSTALL_DCMTK = "apt-get install dcmtk"
INSTALL_DCMJS = "cd tests/interop/peers && npm ci"
_LISTENING_JS = re.compile(r'^\{"listening":(\d+)\}')


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing_peer(reason: str, install: str) -> NoReturn:
    """Skip (locally) or fail (CI=true) the test that needs a peer that is not there."""
    message = f"{reason}; install it with: {install}"
    if in_ci():
        pytest.fail(f"CI=true and an interop peer is missing: {message}", pytrace=False)
    pytest.skip(message)


# ---------------------------------------------------------------------------- DCMTK


@functools.cache
def dcmtk_problem(bin_dir: Path = DCMTK_BIN) -> str | None:
    """Why DCMTK's tools cannot be used from ``bin_dir``, or None when they can."""
    for tool in DCMTK_TOOLS:
        path = bin_dir / tool
        if not os.access(path, os.X_OK):
            return f"DCMTK's {path} not found"
        try:
            run = subprocess.run(
                [str(path), "--version"], capture_output=True, text=True, timeout=10
            )
        except OSError as exc:
            return f"{path} does not run ({exc.strerror})"
        if "$dcmtk:" not in run.stdout:
            return f"{path} is not DCMTK's (its --version does not say dcmtk)"
    return None


@dataclass(frozen=True)
class Dcmtk:
    echoscu: str
    storescp: str
    dcm2json: str


def require_dcmtk(bin_dir: Path = DCMTK_BIN) -> Dcmtk:
    problem = dcmtk_problem(bin_dir)
    if problem:
        missing_peer(problem, INSTALL_DCMTK)
    return Dcmtk(*(str(bin_dir / tool) for tool in DCMTK_TOOLS))


# ---------------------------------------------------------------------------- dcmjs-dimse


@functools.cache
def dcmjs_problem(peers: Path = PEERS) -> str | None:
    """Why the dcmjs-dimse peers cannot run from ``peers``, or None when they can."""
    node = shutil.which("node")
    if node is None:
        return "Node.js (node >= 18) is not on PATH"
    wanted = json.loads((peers / "package.json").read_text())["dependencies"]
    for name, version in wanted.items():
        manifest = peers / "node_modules" / name / "package.json"
        if not manifest.is_file():
            return f"the npm package {name} is not installed in {peers}/node_modules"
        installed = json.loads(manifest.read_text()).get("version")
        if installed != version:
            return f"{name} {installed} is installed in {peers}/node_modules, not {version}"
    run = subprocess.run(
        [node, "-e", "require(process.argv[1])", str(peers / "lib.js")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if run.returncode != 0:
        return f"the dcmjs-dimse peers do not load: {run.stderr.strip()[-300:]}"
    return None


def require_dcmjs(peers: Path = PEERS) -> str:
    problem = dcmjs_problem(peers)
    if problem:
        missing_peer(problem, INSTALL_DCMJS)
    node = shutil.which("node")
    assert node
    return node


class ScpJs(Background):
    """``node scp.js --port 0`` as a process; ``port`` is the one it bound."""

    SCRIPT = "scp.js"

    def __init__(self, node: str, *args: str) -> None:
        super().__init__(
            [node, str(PEERS / self.SCRIPT), "--port", "0", "--host", "127.0.0.1", *args]
        )
        self.port = int(self.wait_for(_LISTENING_JS, "stdout")[1])

    def lines(self, kind: str) -> list[Any]:
        """The payloads of the stdout lines ``{kind: ...}``."""
        return [line[kind] for line in self.json_lines() if kind in line]


class UpsScpJs(ScpJs):
    """``node ups_scp.js --port 0``: a UPS SCP answering subscriptions, pushing State Reports."""

    SCRIPT = "ups_scp.js"


class UpsSubscriberJs(Background):
    """``node ups_subscriber.js``: listens on ``port`` (its first line), then subscribes."""

    def __init__(self, node: str, *args: str) -> None:
        super().__init__([node, str(PEERS / "ups_subscriber.js"), "--host", "127.0.0.1", *args])
        self.port = int(self.wait_for(_LISTENING_JS, "stdout")[1])

    def lines(self, kind: str) -> list[Any]:
        """The payloads of the stdout lines ``{kind: ...}``."""
        return [line[kind] for line in self.json_lines() if kind in line]


@dataclass
class ScuJsResult:
    returncode: int
    lines: list[dict[str, Any]]
    stderr: str

    def one(self, kind: str) -> Any:
        found = [line[kind] for line in self.lines if kind in line]
        assert len(found) == 1, f"expected one {kind!r} line: {self.lines}; stderr: {self.stderr}"
        return found[0]


def run_scu_js(node: str, *args: str, timeout: float = 60) -> ScuJsResult:
    run = subprocess.run(
        [node, str(PEERS / "scu.js"), "--host", "127.0.0.1", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(),
    )
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return ScuJsResult(run.returncode, lines, run.stderr)


# ---------------------------------------------------------------------------- storescp


def _listening(port: int) -> bool:
    """Whether something listens on TCP ``port`` (from /proc, without connecting to it)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


@dataclass
class StoreScp:
    """DCMTK's storescp (it cannot bind port 0, so an unused port is picked and retried)."""

    binary: str
    args: tuple[str, ...]
    output_dir: Path
    port: int = 0
    process: Background | None = field(default=None, repr=False)

    def start(self) -> StoreScp:
        for _ in range(5):
            self.port = unused_port()
            peer = Background(
                [self.binary, *self.args, "-od", str(self.output_dir), str(self.port)]
            )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and peer.proc.poll() is None:
                if _listening(self.port):
                    self.process = peer
                    return self
                time.sleep(0.05)
            if peer.proc.poll() is None:
                peer.proc.kill()
            peer.proc.wait()
        raise AssertionError(f"storescp did not start: {''.join(peer.stderr + peer.stdout)}")

    def stop(self) -> str:
        """Stop storescp (it has no exit-after-N option) and return its log."""
        assert self.process is not None
        if self.process.proc.poll() is None:
            self.process.proc.terminate()
        self.process.proc.wait(10)
        self.process.drained()
        return "".join(self.process.stdout + self.process.stderr)


# ---------------------------------------------------------------------------- wire capture


class Relay:
    """A TCP relay on 127.0.0.1 that forwards one connection to ``target`` and keeps its bytes.

    It lets an independent decoder (DCMTK's dcm2json) read the data sets exactly as they
    went over the wire: ``up`` is what the association requestor sent, ``down`` the acceptor.
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self.up = bytearray()
        self.down = bytearray()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._server.settimeout(30)
        client, _ = self._server.accept()
        server = socket.create_connection(("127.0.0.1", self.target))
        back = threading.Thread(target=self._pump, args=(server, client, self.down), daemon=True)
        back.start()
        self._pump(client, server, self.up)
        back.join(30)
        client.close()
        server.close()
        self._server.close()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, sink: bytearray) -> None:
        try:
            while chunk := src.recv(65536):
                sink += chunk
                dst.sendall(chunk)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def join(self, timeout: float = 30) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the relayed connection did not close"


def data_sets(stream: bytes) -> list[bytes]:
    """The data sets (not the commands) carried by the P-DATA-TF PDUs of one direction."""
    found: list[bytes] = []
    current = bytearray()
    pos = 0
    while pos + 6 <= len(stream):
        pdu_type, length = stream[pos], int.from_bytes(stream[pos + 2 : pos + 6], "big")
        body, pos = stream[pos + 6 : pos + 6 + length], pos + 6 + length
        if pdu_type != 0x04:  # P-DATA-TF (PS3.8 9.3.5)
            continue
        item = 0
        while item + 6 <= len(body):  # PDV items: length, context ID, control header (E.2)
            item_length, control = int.from_bytes(body[item : item + 4], "big"), body[item + 5]
            fragment = body[item + 6 : item + 4 + item_length]
            item += 4 + item_length
            if control & 0x01:  # a command fragment
                continue
            current += fragment
            if control & 0x02:  # the last fragment of this data set
                found.append(bytes(current))
                current.clear()
    return found


def pdata_lengths(stream: bytes) -> list[int]:
    """The PDU-length field of every P-DATA-TF PDU of one direction (PS3.8 9.3.5)."""
    lengths: list[int] = []
    pos = 0
    while pos + 6 <= len(stream):
        length = int.from_bytes(stream[pos + 2 : pos + 6], "big")
        if stream[pos] == 0x04:
            lengths.append(length)
        pos += 6 + length
    return lengths
