"""The yardsticks: plain pynetdicom as an integrator would write it (no dcmreport import).

    python plain.py scp [--count N] [--fsync DIR] [--print]
    python plain.py scu PORT DATA [--count N] [--class UID] [--instance UID] [--timeout S]

``scp`` accepts storage commitment, Verification and flood.py's private class,
answers every N-EVENT-REPORT Success and prints its port as the first stdout
line. ``--fsync DIR`` first writes each received data set to its own file and
fsyncs the file and the directory entry; ``--print`` decodes each report and
prints it as one DICOM JSON line (what ``listen --format json`` shows).
``--count N`` exits once N reports were answered and their association closed.

``scu`` sends the Event Information in DATA (DICOM JSON) COUNT times on one
association (storage commitment event 1 by default) and prints
``{"elapsed_s", "p50_ms"}`` of the reports alone; ``--timeout`` is the seconds it
waits for a response (and the SCP for anything), 30 by default as in pynetdicom.

Both turn Nagle's algorithm off (TCP_NODELAY), which pynetdicom leaves on and
which caps one association at about 20 reports/s: the yardstick is pynetdicom
at its plain best, not at its default.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import sys
import threading
import time
from typing import Any

from pydicom import Dataset
from pynetdicom import AE, evt, register_uid
from pynetdicom.service_class_n import StorageCommitmentServiceClass

STGCMT = "1.2.840.10008.1.20.1"
STGCMT_INSTANCE = "1.2.840.10008.1.20.1.1"
VERIFICATION = "1.2.840.10008.1.1"
FLOOD_CLASS = "1.2.826.0.1.3680043.9.9999.77"  # tests/peers/flood.py's


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
    answered = 0
    lock = threading.Lock()
    done = threading.Event()

    def on_report(event: evt.Event) -> tuple[int, None]:
        nonlocal answered
        with lock:
            answered += 1
            number = answered
        if directory:
            keep(directory, number, event.request.EventInformation.getvalue())
        if "--print" in argv:
            print(json.dumps(event.event_information.to_json_dict()), flush=True)
        return 0, None

    def on_close(event: evt.Event) -> None:
        if count and answered >= count:
            done.set()

    # pynetdicom serves N-EVENT-REPORT only on classes it knows: flood.py's is made known
    # the documented way, as a storage commitment class.
    register_uid(FLOOD_CLASS, "FloodReport", StorageCommitmentServiceClass)
    ae = AE(ae_title="PLAIN-SCP")
    ae.maximum_associations = 64
    ae.dimse_timeout = ae.network_timeout = 600  # a large report may take long to arrive
    for context in (STGCMT, VERIFICATION, FLOOD_CLASS):
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
        done.wait()
    else:
        sys.stdin.read()  # until the caller closes our stdin
    server.shutdown()
    return 0


def scu(argv: list[str]) -> int:
    port, data = int(argv[0]), argv[1]
    count = int(option(argv, "--count", "1") or 1)
    sop_class = option(argv, "--class", STGCMT) or STGCMT
    instance = option(argv, "--instance", STGCMT_INSTANCE) or STGCMT_INSTANCE
    with open(data) as file:
        dataset = Dataset.from_json(file.read())
    ae = AE(ae_title="PLAIN-SCU")
    ae.dimse_timeout = float(option(argv, "--timeout", "30") or 30)
    ae.add_requested_context(sop_class)
    assoc = ae.associate("127.0.0.1", port, evt_handlers=[(evt.EVT_CONN_OPEN, nodelay)])
    if not assoc.is_established:
        print(json.dumps({"error": "not established"}))
        return 3
    times: list[float] = []
    for n in range(1, count + 1):
        start = time.perf_counter()
        status: Any
        status, _ = assoc.send_n_event_report(dataset, 1, sop_class, instance, msg_id=n)
        times.append(time.perf_counter() - start)
        if status.get("Status") != 0:
            print(json.dumps({"error": f"report {n}: {status}"}))
            assoc.abort()
            return 4
    assoc.release()
    print(json.dumps({"elapsed_s": sum(times), "p50_ms": statistics.median(times) * 1000}))
    return 0


if __name__ == "__main__":
    sys.exit(scp(sys.argv[2:]) if sys.argv[1] == "scp" else scu(sys.argv[2:]))
