"""Listener throughput under concurrent senders, with and without ``--output-dir``.

    python tests/benchmarks/bench_listen.py [SENDERS] [REPORTS_EACH]

Both runs in one invocation, on the same machine state: ``dcmreport listen``
as a process, SENDERS plain pynetdicom senders (tests/peers/flood.py) each
sending REPORTS_EACH storage commitment reports on one association. The
baseline keeps nothing; the other writes and fsyncs two files per report
before answering. Prints reports/s and the ratio to the baseline.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEERS = Path(__file__).parent.parent / "peers"


def run(senders: int, each: int, *listen_args: str) -> float:
    listener = subprocess.Popen(
        [
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
            "--count",
            str(senders * each),
            *listen_args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert listener.stderr is not None
    port = re.search(r":(\d+) as", listener.stderr.readline())
    assert port, "listener did not start"
    start = time.perf_counter()
    floods = [
        subprocess.Popen(
            [
                sys.executable,
                str(PEERS / "flood.py"),
                port[1],
                str(each),
                "--prefix",
                f"1.2.826.0.1.3680043.9.9999.{n}",
                "--nodelay",
            ],
            stdout=subprocess.DEVNULL,
        )
        for n in range(1, senders + 1)
    ]
    for process in floods:
        assert process.wait() == 0
    elapsed = time.perf_counter() - start
    assert listener.wait(30) == 0
    return senders * each / elapsed


def main(senders: int, each: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        results = {
            "listen (baseline: keeps nothing)": run(senders, each),
            "listen --output-dir (fsync before answering)": run(
                senders, each, "--output-dir", directory
            ),
        }
    base = next(iter(results.values()))
    print(f"{'case':46} {'reports/s':>10} {'x baseline':>11}   ({senders} x {each} reports)")
    for name, rate in results.items():
        print(f"{name:46} {rate:10.0f} {rate / base:11.2f}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*(args or [4, 100]))
