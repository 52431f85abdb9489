"""N-EVENT-REPORT round trips on loopback: Nagle on (pynetdicom's default) versus dcmreport.

    python tests/benchmarks/bench_roundtrip.py [REPORTS]

Three runs in one process, each REPORTS reports to a listener:
  1. baseline: plain pynetdicom requestor and acceptor, one association, Nagle on;
  2. the same with TCP_NODELAY on both sockets (what dcmreport's association layer does);
  3. dcmreport's ``Listener`` and ``send_report``: one whole association per report.
Prints the mean milliseconds per report and the ratio to the baseline.
"""

from __future__ import annotations

import socket
import sys
import time

from pydicom import Dataset
from pynetdicom import AE, evt

from dcmreport.association.common import Settings
from dcmreport.association.listener import Listener, ListenOptions
from dcmreport.association.requestor import send_report
from dcmreport.peer import Peer
from dcmreport.records import Answer, ReceivedReport, ReportRecord, ReportRequest, ResponseStatus

STGCMT = "1.2.840.10008.1.20.1"


class _Answering:
    """A handler that answers Success and keeps nothing: the association layer alone."""

    def decide(self, report: ReceivedReport) -> ReportRecord:
        return ReportRecord(report, Answer(ResponseStatus(0)))

    def finish(self, record: ReportRecord) -> None:
        pass


def _nodelay(event: evt.Event) -> None:
    event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def dataset() -> Dataset:
    ds = Dataset()
    ds.TransactionUID = "1.2.3.4"
    ds.PatientID = "X"
    return ds


def pynetdicom_one_association(reports: int, nodelay: bool) -> float:
    handlers = [(evt.EVT_N_EVENT_REPORT, lambda e: (0, None))]
    if nodelay:
        handlers.append((evt.EVT_CONN_OPEN, _nodelay))
    scp = AE()
    scp.add_supported_context(STGCMT)
    server = scp.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    scu = AE()
    scu.add_requested_context(STGCMT)
    assoc = scu.associate(
        "127.0.0.1",
        server.server_address[1],
        evt_handlers=[(evt.EVT_CONN_OPEN, _nodelay)] if nodelay else [],
    )
    start = time.perf_counter()
    for i in range(reports):
        status, _ = assoc.send_n_event_report(dataset(), 1, STGCMT, "1.2.3", msg_id=i + 1)
        assert status.Status == 0
    elapsed = time.perf_counter() - start
    assoc.release()
    server.shutdown()
    return elapsed * 1000 / reports


def dcmreport_association_per_report(reports: int) -> float:
    listener = Listener(
        Settings(),
        ListenOptions(port=0, bind="127.0.0.1"),
        _Answering(),
    )
    listener.start()
    peer = Peer("ANY-SCP", "127.0.0.1", listener.port)
    start = time.perf_counter()
    for i in range(reports):
        rsp = send_report(peer, Settings(), ReportRequest(STGCMT, "1.2.3", 1, i + 1, dataset()))
        assert rsp.status.code == 0
    elapsed = time.perf_counter() - start
    listener.stop(grace=1)
    return elapsed * 1000 / reports


def main(reports: int) -> None:
    results = {
        "pynetdicom, 1 association, Nagle on (baseline)": pynetdicom_one_association(
            reports, False
        ),
        "pynetdicom, 1 association, TCP_NODELAY": pynetdicom_one_association(reports, True),
        "dcmreport send_report, 1 association each": dcmreport_association_per_report(reports),
    }
    base = next(iter(results.values()))
    print(f"{'case':50} {'ms/report':>10} {'x baseline':>11}   ({reports} reports)")
    for name, ms in results.items():
        print(f"{name:50} {ms:10.2f} {ms / base:11.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
