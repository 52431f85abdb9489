"""A plain pynetdicom sender of many reports on one association (no dcmreport import).

    python flood.py PORT COUNT [--prefix UID] [--instance RAW] [--calling-aet RAW]
                    [--echo-between] [--called-aet AET] [--nodelay]

Prints one JSON line per response: {"message_id", "instance", "status"}; an
association that ends early prints {"ended": "aborted"|"rejected"|...} and
stops. Instances are PREFIX.N unless --instance gives one raw value (which may
be hostile: pynetdicom sends what it is given). --echo-between sends a C-ECHO
before and after each report; --nodelay turns Nagle's algorithm off on our side
(pynetdicom leaves it on, which caps one association at ~20 reports/s).
"""

from __future__ import annotations

import json
import socket
import sys
import time
from typing import Any

from pydicom import Dataset
from pynetdicom import AE, evt

# A private class: any instance is its own, so each report names itself by its instance UID
# (storage commitment has one well-known instance, and the listener refuses others).
REPORT_CLASS = "1.2.826.0.1.3680043.9.9999.77"


def _nodelay(event: evt.Event) -> None:
    event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def option(argv: list[str], name: str, default: str | None = None) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else default


def _reactor_caught_up(assoc: Any) -> None:
    """Let pynetdicom's reactor wake before the next request, or it may take that request's
    response and leave us waiting out the timeout (pynetdicom 3.0.4; see
    tests/benchmarks/plain.py ``reactor_caught_up`` for the whole story)."""
    while assoc._is_paused and assoc.is_established:
        time.sleep(0)


def main(argv: list[str]) -> int:
    port, count = int(argv[0]), int(argv[1])
    prefix = option(argv, "--prefix", "1.2.826.0.1.3680043.9.9999.1")
    raw_instance = option(argv, "--instance")
    ae = AE(ae_title=option(argv, "--calling-aet", "FLOOD") or "FLOOD")
    ae.add_requested_context(REPORT_CLASS)
    ae.add_requested_context("1.2.840.10008.1.1")
    handlers = [(evt.EVT_CONN_OPEN, _nodelay)] if "--nodelay" in argv else []
    assoc = ae.associate(
        "127.0.0.1", port, ae_title=option(argv, "--called-aet", "ANY-SCP"), evt_handlers=handlers
    )
    if not assoc.is_established:
        print(json.dumps({"ended": "rejected" if assoc.is_rejected else "not established"}))
        return 3
    for n in range(1, count + 1):
        if "--echo-between" in argv:
            assoc.send_c_echo()
        instance = raw_instance or f"{prefix}.{n}"
        ds = Dataset()
        ds.TransactionUID = f"{prefix}.{n}"
        status, _ = assoc.send_n_event_report(ds, 1, REPORT_CLASS, instance, msg_id=n)
        if "Status" not in status:
            assoc.join(timeout=2)  # let the A-ABORT, if that is what came, be noted
            print(
                json.dumps({"ended": "aborted" if assoc.is_aborted else "no response"}), flush=True
            )
            return 3
        print(
            json.dumps({"message_id": n, "instance": instance, "status": int(status.Status)}),
            flush=True,
        )
        if "--echo-between" in argv:
            assoc.send_c_echo()
        _reactor_caught_up(assoc)
    assoc.release()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
