"""A plain pynetdicom PACS playing storage commitment SCP, for ``dcmreport commit``.

It never imports dcmreport: run as a separate process, it is pynetdicom as a
PACS vendor would use it. It answers each N-ACTION with ``--status``, then
(if that is Success, unless ``--report none``) sends the result for the
requested instances: on the same association, or on a new one to
``--to-port`` (called ``--to-aet``, proposing the SCP role as PS3.4 J.3.3
says), after ``--delay`` seconds, or once ``--report-after N`` N-ACTIONs have come
(pynetdicom takes whatever arrives while it waits for its report's answer as
that answer, an N-ACTION-RQ too). ``--fail N`` reports the last N instances
failed with 0x0112 (event 2); ``--other-first`` sends a report of another
Transaction UID first, ``--other-only`` only that one.

It misbehaves on request, each option one way PS3.4 J.3.3 forbids:
``--omit N`` leaves the last N requested instances out of the result,
``--add UID`` reports an instance never requested as committed, ``--both``
puts the first instance in Failed SOP Sequence too (the event still follows
``--fail`` alone), ``--event N`` sends that Event Type ID whatever failed,
``--reason CODE`` gives the ``--fail`` instances that Failure Reason,
``--wrong-class`` reports the first instance as MR Image Storage, and
``--no-role`` opens the new association without proposing the SCP role.

    python stgcmt_pacs.py [--status N] [--report same|new|none] [--to-port N]
                          [--to-aet AET] [--delay S] [--report-after N] [--fail N]
                          [--other-first] [--other-only] [--omit N] [--add UID]
                          [--both] [--event N] [--reason CODE] [--wrong-class]
                          [--no-role]

Prints ``{"port": N}`` once listening; when stdin closes, one JSON object
with what it received (each N-ACTION) and the status of each report it sent.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any

from pydicom import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
from pynetdicom import AE, build_role, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import StorageCommitmentPushModel, Verification

INSTANCE = "1.2.840.10008.1.20.1.1"
SYNTAXES = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]
NO_SUCH_OBJECT_INSTANCE = 0x0112
PROCESSING_FAILURE = 0x0110
CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"


def result(
    action: Dataset,
    args: argparse.Namespace,
    transaction_uid: str | None = None,
) -> Dataset:
    """The Event Information: the requested instances (but ``--omit``), the last ``--fail``
    failed, and the faults asked for."""
    items = [_copy(i) for i in action.get("ReferencedSOPSequence") or []]
    items = items[: len(items) - args.omit]
    if args.wrong_class and items:
        items[0].ReferencedSOPClassUID = MR
    cut = len(items) - args.fail
    committed, failed = items[:cut], items[cut:]
    for item in failed:
        item.FailureReason = args.reason
    if args.add:
        committed.append(_item(CT, args.add))
    if args.both and items:
        both = _copy(items[0])
        both.FailureReason = PROCESSING_FAILURE
        failed.append(both)
    ds = Dataset()
    ds.TransactionUID = transaction_uid or action.TransactionUID
    ds.RetrieveAETitle = "PACS"
    if committed:
        ds.ReferencedSOPSequence = Sequence(committed)
    if failed:
        ds.FailedSOPSequence = Sequence(failed)
    return ds


def _item(sop_class: str, sop_instance: str) -> Dataset:
    new = Dataset()
    new.ReferencedSOPClassUID = sop_class
    new.ReferencedSOPInstanceUID = sop_instance
    return new


def _copy(item: Dataset) -> Dataset:
    return _item(item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID)


class Pacs:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.seen: dict[str, Any] = {"actions": [], "reports_sent": []}
        self.threads: list[threading.Thread] = []
        self.one_at_a_time = threading.Lock()  # pynetdicom: one request at a time per association
        self.answered = threading.Condition()  # counts the N-ACTION-RSPs sent
        self.responses = 0

    def on_action(self, event: evt.Event) -> tuple[int, Dataset | None]:
        req, ds = event.request, event.action_information
        self.seen["actions"].append(
            {
                "message_id": req.MessageID,
                "action_type_id": req.ActionTypeID,
                "sop_class_uid": str(req.RequestedSOPClassUID),
                "sop_instance_uid": str(req.RequestedSOPInstanceUID),
                "calling_aet": event.assoc.requestor.ae_title,
                "dataset": ds.to_json_dict(),
            }
        )
        if self.args.status != 0x0000 or self.args.report == "none":
            return self.args.status, None
        ordinal = len(self.seen["actions"])
        thread = threading.Thread(target=self.report, args=(event.assoc, ds, ordinal))
        thread.start()
        self.threads.append(thread)
        return self.args.status, None

    def on_sent(self, event: evt.Event) -> None:
        if type(event.message).__name__ == "N_ACTION_RSP":
            with self.answered:
                self.responses += 1
                self.answered.notify_all()

    def report(self, assoc: Association, action: Dataset, ordinal: int) -> None:
        """After its N-ACTION-RSP (and those of ``--report-after`` requests) has gone, and
        ``--delay``: the result(s), here or on a new association."""
        wanted = max(ordinal, self.args.report_after)
        with self.answered:
            self.answered.wait_for(lambda: self.responses >= wanted, 60)
        time.sleep(self.args.delay)
        event_type = self.args.event or (2 if self.args.fail else 1)
        uid = str(generate_uid()) if self.args.other_only else None
        reports = [(event_type, result(action, self.args, uid))]
        if self.args.other_first:
            honest = argparse.Namespace(**{**vars(self.args), "fail": 0, "omit": 0, "add": None})
            reports.insert(0, (1, result(action, honest, str(generate_uid()))))
        if self.args.report == "same":
            self.send(assoc, reports)
            return
        ae = AE(ae_title="PACS")
        ae.add_requested_context(StorageCommitmentPushModel, SYNTAXES)
        roles = [] if self.args.no_role else [build_role(StorageCommitmentPushModel, scp_role=True)]
        new = ae.associate(
            "127.0.0.1", self.args.to_port, ae_title=self.args.to_aet, ext_neg=roles or None
        )
        if not new.is_established:
            self.seen["reports_sent"].append({"error": "association to the modality failed"})
            return
        self.send(new, reports)
        new.release()

    def send(self, assoc: Association, reports: list[tuple[int, Dataset]]) -> None:
        for event_type, ds in reports:
            with self.one_at_a_time:
                status, _ = assoc.send_n_event_report(
                    ds, event_type, StorageCommitmentPushModel, INSTANCE
                )
            self.seen["reports_sent"].append(
                {"event_type_id": event_type, "status": status.get("Status")}
            )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--status", type=lambda v: int(v, 0), default=0)
    parser.add_argument("--report", choices=("same", "new", "none"), default="same")
    parser.add_argument("--to-port", type=int, default=0)
    parser.add_argument("--to-aet", default="MODALITY")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--report-after", type=int, default=0)
    parser.add_argument("--fail", type=int, default=0)
    parser.add_argument("--other-first", action="store_true")
    parser.add_argument("--other-only", action="store_true")
    parser.add_argument("--omit", type=int, default=0)
    parser.add_argument("--add")
    parser.add_argument("--both", action="store_true")
    parser.add_argument("--event", type=int, default=0)
    parser.add_argument("--reason", type=lambda v: int(v, 0), default=NO_SUCH_OBJECT_INSTANCE)
    parser.add_argument("--wrong-class", action="store_true")
    parser.add_argument("--no-role", action="store_true")
    pacs = Pacs(parser.parse_args(argv))
    ae = AE(ae_title="PACS")
    ae.add_supported_context(Verification, SYNTAXES)
    ae.add_supported_context(StorageCommitmentPushModel, SYNTAXES)
    server = ae.start_server(
        ("127.0.0.1", 0),
        block=False,
        evt_handlers=[(evt.EVT_N_ACTION, pacs.on_action), (evt.EVT_DIMSE_SENT, pacs.on_sent)],
    )
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    sys.stdin.read()  # the test closes stdin to stop us
    for thread in pacs.threads:
        thread.join(30)
    server.shutdown()
    print(json.dumps(pacs.seen, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
