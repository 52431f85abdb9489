"""A plain pynetdicom storage commitment SCP for batches: it can abort once, and answer
asynchronous operations for a window.

    python batch_peer.py [--abort-at K | --release-at K] [--window N] [--gather N]
                         [--delay SECONDS]

``--abort-at K`` aborts the first association when its K-th report arrives,
without answering it; later associations are answered. ``--release-at K``
answers the first association's first K reports, then releases the
association from this side when the next one arrives, without answering it
(an acceptor may: PS3.8 9.2, the release collision states): however fast the
sender, the release comes mid-batch. ``--window N`` answers
an Asynchronous Operations Window proposal with N operations performed
(PS3.7 D.3.3.3; pynetdicom alone answers 1). ``--gather N`` holds each answer
until N reports are held at once (a minute at most), so that a window's
reports overlap whatever the machine's speed; ``--delay`` waits before each
answer. Prints ``{"port": N}``, and
when stdin closes what it received: ``[association, message ID]`` pairs in
order and the most reports it held at once. It never imports dcmreport.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.pdu_primitives import AsynchronousOperationsWindowNegotiation

STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.lock = threading.Condition()
        self.associations: dict[int, int] = {}  # id(assoc) -> its number
        self.received: list[list[int]] = []
        self.holding = 0
        self.most_held = 0

    def requested(self, event: evt.Event) -> None:
        with self.lock:
            self.associations[id(event.assoc)] = len(self.associations) + 1
        if self.args.window:
            item = AsynchronousOperationsWindowNegotiation()
            item.maximum_number_operations_invoked = 1
            item.maximum_number_operations_performed = self.args.window
            event.assoc.acceptor.add_negotiation_item(item)

    def report(self, event: evt.Event) -> Any:
        with self.lock:
            number = self.associations[id(event.assoc)]
            self.received.append([number, int(event.request.MessageID)])
            count = sum(1 for n, _ in self.received if n == number)
            self.holding += 1
            self.most_held = max(self.most_held, self.holding)
            self.lock.notify_all()
            self.lock.wait_for(lambda: self.most_held >= self.args.gather, 60)
        try:
            if number == 1 and count == self.args.abort_at:
                event.assoc.abort()
                return 0x0110, None
            if number == 1 and self.args.release_at and count == self.args.release_at + 1:
                event.assoc.release()  # waits for the A-RELEASE-RP; this report stays unanswered
                return 0x0110, None  # not sent: the association is released by now
            time.sleep(self.args.delay)
            return 0x0000, None
        finally:
            with self.lock:
                self.holding -= 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--abort-at", type=int, default=0)
    parser.add_argument("--release-at", type=int, default=0)
    parser.add_argument("--window", type=int, default=0)
    parser.add_argument("--gather", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    peer = Peer(parser.parse_args())
    ae = AE(ae_title="BATCHPEER")
    ae.add_supported_context(STORAGE_COMMITMENT)
    server = ae.start_server(
        ("127.0.0.1", 0),
        block=False,
        evt_handlers=[
            (evt.EVT_REQUESTED, peer.requested),
            (evt.EVT_N_EVENT_REPORT, peer.report),
        ],
    )
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    sys.stdin.read()
    server.shutdown()
    print(json.dumps({"received": peer.received, "most_held": peer.most_held}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
