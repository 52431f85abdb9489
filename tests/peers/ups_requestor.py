"""A plain pynetdicom UPS SCU asking a worklist manager for what ``listen --ups`` does not do.

It never imports dcmreport: run as a separate process, it is pynetdicom as a
worklist client would use it. Each operation goes on an association of its
own, proposing the SOP class the standard puts it on (PS3.4 CC.2, Table
CC.2-1): N-CREATE, N-SET and N-GET on UPS Push (Push has no N-SET: its
refusal is as much the point), C-FIND on UPS Pull, and N-ACTION Action Type
1 (Change State, which is UPS Pull's) on UPS Push.

    python ups_requestor.py PORT INSTANCE_UID [--malformed]

With ``--malformed``: Subscribe requests whose Action Information is missing,
incomplete or invalid (:func:`malformed`) instead.

Prints one JSON object: each operation's name and the status it was answered
(``null`` when no answer came).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from pydicom import Dataset
from pynetdicom import AE

UPS_PUSH = "1.2.840.10008.5.1.4.34.6.1"
UPS_PULL = "1.2.840.10008.5.1.4.34.6.3"


def operations(instance: str) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    """Name -> (the SOP class proposed, what to send on the association)."""
    attributes = Dataset()
    attributes.ProcedureStepState = "SCHEDULED"
    keys = Dataset()
    keys.ProcedureStepState = ""
    keys.SOPInstanceUID = ""
    change = Dataset()
    change.ProcedureStepState = "IN PROGRESS"
    change.TransactionUID = "1.2.826.0.1.3680043.9.9999.30.90"
    return {
        "N-CREATE": (UPS_PUSH, lambda a: a.send_n_create(attributes, UPS_PUSH, instance)),
        "N-SET": (UPS_PUSH, lambda a: a.send_n_set(attributes, UPS_PUSH, instance)),
        "N-GET": (UPS_PUSH, lambda a: a.send_n_get([0x00741000], UPS_PUSH, instance)),
        "C-FIND": (UPS_PULL, lambda a: next(iter(a.send_c_find(keys, UPS_PULL)))),
        "N-ACTION 1": (UPS_PUSH, lambda a: a.send_n_action(change, 1, UPS_PUSH, instance)),
    }


UPS_WATCH = "1.2.840.10008.5.1.4.34.6.2"
SUBSCRIBE = 3


def _information(**values: str) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def malformed(instance: str) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    """Subscriptions a careless or hostile subscriber sends, each on UPS Watch with UPS Push
    as the Requested SOP Class (CC.3.1): pynetdicom sends each as it is given."""
    cases = {
        "no Action Information": (instance, None),
        "no Receiving AE": (instance, _information(DeletionLock="FALSE")),
        "Deletion Lock MAYBE": (
            instance,
            _information(ReceivingAE="WATCHER", DeletionLock="MAYBE"),
        ),
        "a 40-character Receiving AE": (
            instance,
            _information(ReceivingAE="W" * 40, DeletionLock="FALSE"),
        ),
        "a UID that is not one": (
            "1.2.abc",
            _information(ReceivingAE="WATCHER", DeletionLock="FALSE"),
        ),
    }
    return {
        name: (
            UPS_WATCH,
            lambda a, uid=uid, info=info: a.send_n_action(info, SUBSCRIBE, UPS_PUSH, uid),
        )
        for name, (uid, info) in cases.items()
    }


def ask(port: int, sop_class: str, send: Callable[[Any], Any]) -> int | None:
    ae = AE(ae_title="UPSCLIENT")
    ae.add_requested_context(sop_class)
    assoc = ae.associate("127.0.0.1", port, ae_title="WORKLIST")
    if not assoc.is_established:
        return None
    answer = send(assoc)
    status = answer[0] if isinstance(answer, tuple) else answer
    assoc.release()
    return int(status.Status) if status is not None and "Status" in status else None


def main(argv: list[str]) -> int:
    port, instance = int(argv[0]), argv[1]
    asked = malformed(instance) if argv[2:] == ["--malformed"] else operations(instance)
    seen = {name: ask(port, *how) for name, how in asked.items()}
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
