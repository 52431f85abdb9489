"""The README as the test suite reads it: its blocks, and a shell to run them in as pasted.

Every ```sh block is run, in README order, by bash on a pseudo-terminal (so the CLI
shows what a user's terminal shows), with ``set -e -o pipefail`` so that any failing
line fails the block. Blocks of one README section (a ``##`` heading) share a fresh
directory, so a later block uses the files an earlier one made, and a fresh network
namespace with its own loopback, so the blocks bind the ports they name (11112, 2762)
on any machine, whatever else listens there. A plain ``` block right after an sh block
is its output, compared after :func:`normalised`.

An HTML comment right before a block (invisible on GitHub) says how to run it:

- ``<!-- readme-test: background -->``: a second terminal, left running for the rest
  of its section, then stopped with Ctrl-C (SIGINT); it must exit 0 then.
- ``<!-- readme-test: exit N -->``: the block ends with exit status N on purpose.
- ``<!-- readme-test: not run: REASON -->``: kept out, with the reason (the suite's own
  commands, the half-hour runs, transcripts of states the suite cannot make).

A block other than a background one must stop every process it started: the suite
fails on anything left running in the namespace.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers import pseudo_terminal, read_terminal

_DIRECTIVE = re.compile(r"<!-- readme-test: (.*?) -->")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_UID_TAIL = re.compile(r"(1\.2\.826\.0\.1\.3680043\.8\.498)\.\d{12,}")
_DURATION = re.compile(r"\b\d+(\.\d+)? (ms|s)\b")
_HOST_PORT = re.compile(r"\b(\d{1,3}(\.\d{1,3}){3}|localhost):\d+\b")
_STAMP = re.compile(r"\d{8}T\d{6}\d*")

# Bring the loopback of a new network namespace up, then hold the namespace open.
_HOLD_NAMESPACE = """
import fcntl, socket, struct, sys, time
ifreq = struct.pack("16sh", b"lo", 0)
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    flags = struct.unpack("16sh", fcntl.ioctl(s, 0x8913, ifreq))[1]  # SIOCGIFFLAGS
    fcntl.ioctl(s, 0x8914, struct.pack("16sh", b"lo", flags | 1))  # SIOCSIFFLAGS: IFF_UP
print("up", flush=True)
time.sleep(1e9)
"""


@dataclass
class Block:
    """One fenced block: where it is, its section, its text, how to run it, its output."""

    line: int
    section: str
    language: str
    text: str
    directive: str = ""
    output: str | None = None

    @property
    def name(self) -> str:
        return f"README.md:{self.line} ({self.section})"


def blocks(readme: Path) -> list[Block]:
    """Every fenced block of the README; an sh block's output block attached to it."""
    text = readme.read_text(encoding="utf-8")
    found: list[Block] = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()]
        heading = re.findall(r"^## (.+)$", before, re.M)
        directive = _DIRECTIVE.findall(before.rstrip().rsplit("\n", 1)[-1])
        block = Block(
            line=before.count("\n") + 1,
            section=heading[-1] if heading else "",
            language=match.group(1),
            text=match.group(2),
            directive=directive[0] if directive else "",
        )
        previous = found[-1] if found else None
        follows = previous is not None and before.endswith(f"{previous.text}```\n")
        if previous and follows and previous.language == "sh" and block.language == "":
            previous.output = block.text
            continue
        found.append(block)
    return found


def normalised(text: str) -> list[str]:
    """Output as compared: no colours, no trailing blanks, generated UIDs, durations,
    host:port pairs and time stamps replaced by one placeholder each."""
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    text = _UID_TAIL.sub(r"\1.…", text)
    text = _DURATION.sub(r"N \2", text)
    text = _HOST_PORT.sub("HOST:PORT", text)
    text = _STAMP.sub("STAMP", text)
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; an expected line ``...`` stands for any number of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


class Namespace:
    """A network namespace of its own (loopback up) and a directory: one README section."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory, self.env = directory, env
        root = os.geteuid() == 0
        self._holder = subprocess.Popen(
            [
                "unshare",
                "--net",
                *([] if root else ["--map-root-user"]),
                sys.executable,
                "-c",
                _HOLD_NAMESPACE,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._holder.stdout is not None
        if self._holder.stdout.readline().strip() != "up":
            raise RuntimeError("could not make a network namespace (unshare --net)")
        self._enter = ["nsenter", "-t", str(self._holder.pid), "--net"]
        if not root:
            self._enter += ["--user", "--preserve-credentials"]
        self.background: list[Terminal] = []

    def start(self, script: str) -> Terminal:
        """``script`` in bash on a terminal of its own, in this namespace and directory."""
        argv = [*self._enter, "bash", "-e", "-o", "pipefail", "-c", script]
        return Terminal(argv, self.directory, self.env)

    def run(self, script: str, timeout: float) -> tuple[int, str]:
        """``script`` to its end: exit status and what the terminal showed."""
        terminal = self.start(script)
        return terminal.wait(timeout), terminal.shown()

    def left_running(self) -> list[str]:
        """Processes in this namespace but the holder and the background terminals."""
        mine = os.readlink(f"/proc/{self._holder.pid}/ns/net")
        spared = {self._holder.pid, *(t.pid for t in self.background)}
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in spared:
                continue
            try:
                if os.readlink(entry / "ns" / "net") == mine:
                    found.append(f"{entry.name}: {(entry / 'cmdline').read_bytes()!r}")
            except OSError:
                continue
        return found

    def kill_all(self) -> None:
        for line in self.left_running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split(":")[0]), signal.SIGKILL)

    def close(self) -> None:
        for terminal in self.background:
            terminal.kill()
        self.kill_all()
        self._holder.kill()
        self._holder.wait()


class Terminal:
    """A process on a pseudo-terminal 120 columns wide; a thread reads what it shows."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        primary, secondary = pseudo_terminal(50, 120)
        self._shown = bytearray()
        self._process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            start_new_session=True,
        )
        os.close(secondary)
        self.pid = self._process.pid
        self._reader = read_terminal(primary, self._shown)

    def wait(self, timeout: float) -> int:
        """Its exit status; killed (-9) after ``timeout``."""
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self._process.wait()

    def interrupt(self, timeout: float) -> int:
        """Ctrl-C, as the terminal sends it: SIGINT to its process group."""
        os.killpg(self.pid, signal.SIGINT)
        return self.wait(timeout)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def shown(self) -> str:
        """What it showed; once it has exited, all of it (a child may still hold the terminal:
        then what came within a second)."""
        if self._process.poll() is not None:
            self._reader.join(1)
        return bytes(self._shown).decode("utf-8", "replace")
