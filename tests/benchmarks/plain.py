"""The yardsticks: plain pynetdicom as an integrator would write it (no dcmreport import).

    python plain.py scp [--count N] [--fsync DIR] [--print]
    python plain.py scu PORT DATA [--count N] [--timeout S] [--wait]

``scp`` accepts storage commitment and Verification, answers every
N-EVENT-REPORT Success and prints its port as the first stdout line.
``--fsync DIR`` first writes each received data set to its own file and fsyncs
the file and the directory entry; ``--print`` decodes each report and, once
it is answered, prints it as one DICOM JSON line (what ``listen --format json``
shows). ``--count N`` exits once N reports were answered (and printed) and
their association closed.

``scu`` sends the Event Information in DATA (DICOM JSON) as storage commitment
event 1, COUNT times on one association, and prints ``{"elapsed_s", "p50_ms"}``
of the reports (association set-up and release not counted). ``--timeout`` is
the seconds it waits for a response, 30 by default as in pynetdicom.
``--wait`` prints ``{"ready": true}`` once associated and sends nothing before
a line on stdin, so that many senders can start together.

Both turn Nagle's algorithm off (TCP_NODELAY), which pynetdicom leaves on and
which caps one association at about 20 reports/s: the yardstick is pynetdicom
at its plain best, not at its default. The one departure from plain code is
``reactor_caught_up``, without which pynetdicom loses a response now and then.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import statistics
import sys
import threading
import time
from typing import Any

from pydicom import Dataset
from pynetdicom import AE, evt

STGCMT = "1.2.840.10008.1.20.1"
STGCMT_INSTANCE = "1.2.840.10008.1.20.1.1"
VERIFICATION = "1.2.840.10008.1.1"


def option(argv: list[str], name: str, default: str | None = None) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else default


def nodelay(event: evt.Event) -> None:
    event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def keep(directory: str, number: int, encoded: bytes) -> None:
    """One file per report, on disk with its directory entry before the answer."""
    path = os.path.join(directory, f"{number}.dcm")
    with open(path, "wb") as file:
        file.write(encoded)
        file.flush()
        os.fsync(file.fileno())
    entry = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(entry)
    finally:
        os.close(entry)


def scp(argv: list[str]) -> int:
    count = int(option(argv, "--count", "0") or 0)
    directory = option(argv, "--fsync")
    reports = 0
    lock = threading.Lock()
    received: queue.Queue[Dataset] = queue.Queue()
    done = threading.Event()

    def on_report(event: evt.Event) -> tuple[int, None]:
        nonlocal reports
        with lock:
            reports += 1
            number = reports
        if directory:
            keep(directory, number, event.request.EventInformation.getvalue())
        if "--print" in argv:
            received.put(event.event_information)  # decoded now, shown once answered
        return 0, None

    def on_close(event: evt.Event) -> None:
        if count and reports >= count:
            done.set()

    ae = AE(ae_title="PLAIN-SCP")
    ae.maximum_associations = 64
    ae.dimse_timeout = ae.network_timeout = 600  # a large report may take long to arrive
    for context in (STGCMT, VERIFICATION):
        ae.add_supported_context(context)
    server = ae.start_server(
        ("127.0.0.1", 0),
        block=False,
        evt_handlers=[
            (evt.EVT_CONN_OPEN, nodelay),
            (evt.EVT_N_EVENT_REPORT, on_report),
            (evt.EVT_CONN_CLOSE, on_close),
        ],
    )
    print(server.server_address[1], flush=True)
    if count:
        for _ in range(count if "--print" in argv else 0):
            print(json.dumps(received.get().to_json_dict()), flush=True)
        done.wait()
    else:
        sys.stdin.read()  # until the caller closes our stdin
    server.shutdown()
    return 0


def scu(argv: list[str]) -> int:
    port, data = int(argv[0]), argv[1]
    count = int(option(argv, "--count", "1") or 1)
    with open(data) as file:
        dataset = Dataset.from_json(file.read())
    ae = AE(ae_title="PLAIN-SCU")
    ae.dimse_timeout = float(option(argv, "--timeout", "30") or 30)
    ae.add_requested_context(STGCMT)
    assoc = ae.associate("127.0.0.1", port, evt_handlers=[(evt.EVT_CONN_OPEN, nodelay)])
    if not assoc.is_established:
        print(json.dumps({"error": "not established"}))
        return 3
    if "--wait" in argv:
        print(json.dumps({"ready": True}), flush=True)
        sys.stdin.readline()
    times: list[float] = []
    began = time.perf_counter()
    for n in range(1, count + 1):
        start = time.perf_counter()
        status, _ = assoc.send_n_event_report(dataset, 1, STGCMT, STGCMT_INSTANCE, msg_id=n)
        times.append(time.perf_counter() - start)
        if status.get("Status") != 0:
            print(json.dumps({"error": f"report {n}: {status or 'no response'}"}))
            assoc.abort()
            return 4
        reactor_caught_up(assoc)
    elapsed = time.perf_counter() - began
    assoc.release()
    print(json.dumps({"elapsed_s": elapsed, "p50_ms": statistics.median(times) * 1000}))
    return 0


def reactor_caught_up(assoc: Any) -> None:
    """Waits until pynetdicom's reactor thread has woken after a request, so it cannot take the
    next response.

    pynetdicom 3.0.4 loses a response now and then (one in a few thousand) when
    requests go back to back: a ``send_*()`` pauses the association's reactor
    thread and wakes it when done; if the next ``send_*()`` pauses it again before
    that thread has run, the thread's wake-up is already delivered, it runs
    anyway and can take the next response off the queue; the sender waits out
    its DIMSE timeout. The reactor runs between two requests in any case, so
    waiting for it costs the yardstick nothing.
    """
    while assoc._is_paused and assoc.is_established:
        time.sleep(0)


if __name__ == "__main__":
    sys.exit(scp(sys.argv[2:]) if sys.argv[1] == "scp" else scu(sys.argv[2:]))
