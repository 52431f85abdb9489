"""What every section shares: processes measured as a user runs them, interleaved medians, rows.

The machine is shared and noisy, so a figure alone means little: each section
measures dcmreport and its yardstick in the same run, alternating them
(``interleaved``) so that a burst of noise hits both, and reports the ratio.
dcmreport is measured in both modes of its speedups switch (:data:`ON`, the
default, and :data:`OFF`, ``DCMREPORT_SPEEDUPS=off``), and with each trick
left out in turn (``DCMREPORT_SPEEDUPS=-NAME``, :func:`price`) against all
of them on: what each trick pays for itself.
Processes are measured from outside: wall time, and peak memory from the
kernel's accounting of that one child (``os.wait4``'s ``ru_maxrss``), which
needs no cooperation from the program measured.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).parent
PLAIN = HERE / "plain.py"
PY = sys.executable
REFERENCED_CLASS = "1.2.840.10008.5.1.4.1.1.7"  # the referenced instances': Secondary Capture
INSTANCE_PREFIX = "1.2.826.0.1.3680043.9.9999.4"


class BenchError(Exception):
    """A section could not measure what it promises: said loudly instead of a made-up figure."""


ON = None  # the switch as a user leaves it: every trick on
OFF = "off"  # DCMREPORT_SPEEDUPS=off: the plain path of every library
MODES = {"on": ON, "off": OFF}  # each mode's name in the tables, and its switch


@dataclass(frozen=True)
class Row:
    """One line of a table: a dcmreport figure, its yardstick, and the issue's target.

    ``mode`` says which table: ``on`` (the default), ``off`` (plain mode, shown beside
    the ``on`` row of the same ``key``), or ``-NAME`` (the trick NAME left out, against
    all on: ``baseline`` is dcmreport with every trick, ``ratio`` what the trick saves).
    """

    figure: str
    ours: str
    baseline: str
    ratio: float
    target: str
    met: bool
    mode: str = "on"
    key: str = ""  # pairs a plain row with its default one (the figure, unless they differ)

    @property
    def pairs_with(self) -> str:
        return self.key or self.figure


def compare(
    figure: str,
    ours: float,
    baseline: float,
    baseline_name: str,
    unit: str,
    at_most: float | None = None,
    at_least: float | None = None,
    mode: str = "on",
    key: str = "",
) -> Row:
    """A row whose target is a ratio ``ours / baseline`` (at most or at least a bound)."""
    ratio = ours / baseline
    if at_most is not None:
        target, met = f"<= {at_most:.1f}x", ratio <= at_most
    else:
        assert at_least is not None
        target, met = f">= {at_least:.1f}x", ratio >= at_least
    return Row(
        figure,
        amount(ours, unit),
        f"{baseline_name} {amount(baseline, unit)}",
        ratio,
        target,
        met,
        mode,
        key,
    )


def price(trick: str, figure: str, without: float, with_all: float, unit: str) -> Row:
    """What the trick ``trick`` pays: ``figure`` with it left out against all tricks on
    (a time: above 1.0x, it saves that much)."""
    return Row(
        figure,
        amount(without, unit),
        f"all on {amount(with_all, unit)}",
        without / with_all,
        "",
        True,
        f"-{trick}",
    )


def amount(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.2f} {unit}"


def interleaved(
    cases: Mapping[str, Callable[[], Mapping[str, float]]], runs: int
) -> dict[str, dict[str, float]]:
    """Each case's metrics, median of ``runs`` runs taken in turn (a, b, c, a, b, c, ...)."""
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            for metric, value in case().items():
                samples[name].setdefault(metric, []).append(value)
    return {
        name: {metric: statistics.median(values) for metric, values in metrics.items()}
        for name, metrics in samples.items()
    }


# Left out of every child's environment, so that each runs as installed: with
# PYTHONDONTWRITEBYTECODE (set in some sandboxes) an editable install compiles every
# module on every run, which made a TAB 1.3x --help instead of 0.5x.
NOT_AS_INSTALLED = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")


def environment(speedups: str | None = ON) -> dict[str, str]:
    """The caller's environment as a user's: no dcmreport settings, Python as installed;
    ``speedups`` the value of DCMREPORT_SPEEDUPS (ON: unset, as a user leaves it)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DCMREPORT_") and k not in NOT_AS_INSTALLED
    }
    env["XDG_CONFIG_HOME"] = str(HERE / "no-settings")  # does not exist: no settings file
    if speedups is not None:
        env["DCMREPORT_SPEEDUPS"] = speedups
    return env


def without(trick: str) -> str:
    """The switch's value that leaves ``trick`` out, every other trick on."""
    return f"-{trick}"


def dcmreport(*args: str) -> list[str]:
    return [PY, "-m", "dcmreport", *args]


def send_report(port: int, data: Path, *args: str) -> list[str]:
    """``dcmreport send-report``: storage commitment event 1, Event Information from ``data``."""
    return dcmreport(
        "send-report", f"ANY-SCP@127.0.0.1:{port}", "--data", str(data),
        "--class", "storage-commitment", "--event", "1", "--format", "json", *args,
    )  # fmt: skip


def plain(*args: str) -> list[str]:
    return [PY, str(PLAIN), *args]


@dataclass(frozen=True)
class Finished:
    wall_s: float
    peak_mib: float
    stdout: str


class Process:
    """A child process, its stdout drained into lines, its wall time and peak memory kept."""

    def __init__(
        self, argv: list[str], env: Mapping[str, str] | None = None, stdin: bool = False
    ) -> None:
        self.argv = argv
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=dict(env or environment()),
        )
        self.lines: list[str] = []
        self._line = threading.Condition()
        self._drained = threading.Thread(target=self._drain, args=(self.proc.stdout,), daemon=True)
        self._drained.start()

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            with self._line:
                self.lines.append(line)
                self._line.notify_all()

    def wait_line(self, timeout: float = 30) -> str:
        """The first stdout line (a peer's ``ready`` or port), once it is written."""
        with self._line:
            if not self._line.wait_for(lambda: self.lines, timeout):
                self.kill(f"no line within {timeout} s")
            return self.lines[0]

    def tell(self, line: str) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(line)
        stdin.flush()

    def finish(self, timeout: float = 300) -> Finished:
        """Waits for the exit (killing after ``timeout``); a failure is a ``BenchError``.

        A blocking ``wait4``, so that the wall time ends when the process does.
        """
        overdue = threading.Event()

        def kill() -> None:
            overdue.set()
            self.proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(self.proc.pid, 0)
        wall = time.perf_counter() - self.started
        timer.cancel()
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self._drained.join(timeout=10)
        if overdue.is_set():
            raise BenchError(f"{self.described()}: still running after {timeout} s{self.stderr()}")
        if self.proc.returncode != 0:
            raise BenchError(f"{self.described()} exited {self.proc.returncode}{self.stderr()}")
        return Finished(wall, usage.ru_maxrss / 1024, "".join(self.lines))

    def stop(self) -> Finished:
        """SIGTERM (a listener's way to stop cleanly), then as ``finish``."""
        self.proc.send_signal(signal.SIGTERM)
        return self.finish(timeout=30)

    def kill(self, why: str) -> None:
        self.proc.kill()
        self.proc.wait()
        raise BenchError(f"{self.described()}: {why}{self.stderr()}")

    def stderr(self) -> str:
        """The end of stderr, else the last stdout line: why it failed, for the error."""
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip() or "".join(self.lines[-1:])
        return f": {text.strip()[-800:]}" if text else ""

    def described(self) -> str:
        """Its program and first words, to name it in an error: ``dcmreport listen --port``."""
        words = [Path(word).name for word in self.argv[1:] if word != "-m"]
        return " ".join(words[:3])

    def vm_rss_mib(self, field: str = "VmRSS") -> float:
        """Resident memory now (VmRSS of /proc/PID/status); ``VmHWM``: its peak so far.

        Unlike ``ru_maxrss``, VmHWM is the program's own: the kernel folds the
        parent's peak into the child's ``ru_maxrss`` at exec (Python's
        subprocess starts children with vfork, sharing the parent's memory until
        then), so a child of a process that once held 1 GB reports 1 GB.
        """
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith(f"{field}:"))
        return int(kib) / 1024


def whole_process(argv: list[str], env: Mapping[str, str] | None = None) -> Finished:
    return Process(argv, env).finish(timeout=120)


class Servers:
    """Starts listeners (dcmreport's or the plain SCP) on free ports and stops what is left."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="dcmreport-bench-")
        self.directory = Path(self._directory.name)
        self._running: list[Process] = []

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        """Kills the servers still running; a failure gets what they said (the other side's why)."""
        running = [process for process in self._running if process.proc.poll() is None]
        for process in running:
            process.proc.kill()
            process.proc.wait()
        self._directory.cleanup()
        said = "; ".join(f"{process.described()}{process.stderr()}" for process in running)
        if isinstance(error, BenchError) and said:
            raise BenchError(f"{error} (still running: {said})") from error

    def dcmreport_listen(self, *args: str, speedups: str | None = ON) -> tuple[Process, int]:
        """``dcmreport listen`` on a free port of 127.0.0.1, JSON to a drained pipe."""
        ready = self.scratch("listen-") / "ready"
        process = self._started(
            dcmreport(
                "listen",
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--format",
                "json",
                "--ready-file",
                str(ready),
                *args,
            ),
            env=environment(speedups),
        )
        deadline = time.monotonic() + 30
        while not (ready.exists() and ready.read_text().strip()):
            if process.proc.poll() is not None or time.monotonic() > deadline:
                process.kill("did not start listening")
            time.sleep(0.01)
        return process, int(ready.read_text().strip().rsplit(":", 1)[1])

    def plain_scp(self, *args: str) -> tuple[Process, int]:
        """The plain pynetdicom SCP (plain.py), which prints its port first."""
        process = self._started(plain("scp", *args), stdin=True)
        return process, int(process.wait_line())

    def scratch(self, name: str) -> Path:
        """A fresh directory for one run's files."""
        return Path(tempfile.mkdtemp(prefix=name, dir=self.directory))

    def _started(
        self, argv: list[str], stdin: bool = False, env: Mapping[str, str] | None = None
    ) -> Process:
        process = Process(argv, env, stdin=stdin)
        self._running.append(process)
        return process


def report_file(directory: Path, items: int) -> Path:
    """A storage commitment event 1 Event Information with ``items`` referenced instances.

    Written as the DICOM JSON model, which both ``send-report --data`` and
    pydicom's ``Dataset.from_json`` (the plain script) read.
    """
    dataset: dict[str, Any] = {
        "00081195": {"vr": "UI", "Value": ["1.2.826.0.1.3680043.9.9999.3"]},
        "00081199": {
            "vr": "SQ",
            "Value": [
                {
                    "00081150": {"vr": "UI", "Value": [REFERENCED_CLASS]},
                    "00081155": {"vr": "UI", "Value": [f"{INSTANCE_PREFIX}.{n}"]},
                }
                for n in range(1, items + 1)
            ],
        },
    }
    path = directory / f"report-{items}.json"
    path.write_text(json.dumps(dataset))
    return path


def senders(port: int, count: int, each: int, data: Path) -> float:
    """Seconds for ``count`` plain SCUs (plain.py) sending ``each`` reports on one association each.

    Each sender associates and waits; the clock starts when all are told to
    go, so the senders' own start (a Python process each) is not counted.
    Every report must be answered Success (a sender exits 4 otherwise).
    """
    started = [
        Process(plain("scu", str(port), str(data), "--count", str(each), "--wait"), stdin=True)
        for _ in range(count)
    ]
    for sender in started:
        if "ready" not in sender.wait_line():
            sender.kill(f"did not associate: {sender.lines[0].strip()}")
    start = time.perf_counter()
    for sender in started:
        sender.tell("go\n")
    for sender in started:
        sender.finish()
    return time.perf_counter() - start
