"""UPS event subscriptions (PS3.4 Annex CC) between dcmreport and dcmjs-dimse peers.

``dcmreport watch`` -> ``peers/ups_scp.js``: watch subscribes (N-ACTION on UPS Watch,
Requested SOP Class UPS Push), receives the UPS State Reports the SCP pushes on a new
association to the Receiving AE, and unsubscribes when it stops.
``peers/ups_subscriber.js`` -> ``dcmreport listen --ups``: the subscriber receives the
State Report of an instance and the events given on ``--ups-events -``, then unsubscribes.
Each side checks what the other put on the wire: classes, instance, Action/Event Type,
Action and Event Information, AE titles.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
from helpers import Background, dcmreport, listen_argv, listening_port, unused_port

from interop.support import UpsScpJs, UpsSubscriberJs

pytestmark = pytest.mark.interop

UPS_PUSH = "1.2.840.10008.5.1.4.34.6.1"
UPS_WATCH = "1.2.840.10008.5.1.4.34.6.2"
UPS_EVENT = "1.2.840.10008.5.1.4.34.6.4"
GLOBAL = "1.2.840.10008.5.1.4.34.5"
ROOT = "1.2.826.0.1.3680043.9.9999.30.21"  # UIDs made by these tests
STATES = ["SCHEDULED", "IN PROGRESS", "COMPLETED"]
STATE = "00741000"  # Procedure Step State
READINESS = "00404041"  # Input Readiness State
SUBSCRIBE, UNSUBSCRIBE = 3, 4


def state_of(dataset: dict[str, Any] | None) -> str | None:
    if not dataset or STATE not in dataset:
        return None
    return str(dataset[STATE]["Value"][0])


def received_events(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """watch's records of the N-EVENT-REPORTs it received (its other lines left out)."""
    return [r for r in lines if r.get("event_type_id") is not None and "dataset" in r]


def watch(scp: UpsScpJs, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return dcmreport(
        *("watch", f"UPS-SCP@127.0.0.1:{scp.port}", *args),
        *("--aet", "WATCHER", "--port", str(port), "--bind", "127.0.0.1"),
        *("--timeout", "30", "--format", "json", "-v"),
    )


# ------------------------------------------------------------- dcmreport watch -> ups_scp.js


@pytest.mark.parametrize("role", ["none", "scp"])
def test_watch_one_instance_until_completed(role: str, ups_scp_js: Any) -> None:
    """watch subscribes to one UPS with Deletion Lock, is told SCHEDULED (the initial State
    Report), IN PROGRESS and COMPLETED on a new association (with or without an SCP role
    item for UPS Event), exits 0 at COMPLETED and unsubscribes."""
    instance, port = f"{ROOT}.1.{['none', 'scp'].index(role) + 1}", unused_port()
    scp: UpsScpJs = ups_scp_js(
        *("--aet", "UPS-SCP", "--report-port", str(port), "--role", role, "--count", "2")
    )
    run = watch(scp, port, instance, "--deletion-lock", "--until-state", "COMPLETED")
    assert run.returncode == 0, run.stderr + "".join(scp.stderr)
    assert "Traceback" not in run.stderr
    assert scp.finish(sig=None) == 0, "".join(scp.stderr)

    # the dcmjs side: Subscribe then Unsubscribe, both as CC.2.3 / CC.3.1 say
    subscribe, unsubscribe = scp.lines("action")
    for action, action_type in ((subscribe, SUBSCRIBE), (unsubscribe, UNSUBSCRIBE)):
        assert action["action_type_id"] == action_type
        assert action["abstract_syntax"] == UPS_WATCH  # negotiated for UPS Watch ...
        assert action["sop_class_uid"] == UPS_PUSH  # ... but the Requested SOP Class is UPS Push
        assert action["sop_instance_uid"] == instance
        assert (action["calling_aet"], action["called_aet"]) == ("WATCHER", "UPS-SCP")
        assert action["receiving_aet"] == "WATCHER"
    assert subscribe["deletion_lock"] == "TRUE"
    assert subscribe["dataset"]["00741230"]["vr"] == "LO"  # PS3.6: Deletion Lock is LO
    [pushed] = scp.lines("report_association")
    assert (pushed["calling_aet"], pushed["called_aet"]) == ("UPS-SCP", "WATCHER")
    [context] = pushed["contexts"]
    assert (context["abstract_syntax"], context["result"]) == (UPS_EVENT, 0)
    assert [(s["state"], s["status"]) for s in scp.lines("report_sent")] == [
        (state, 0) for state in STATES
    ]
    assert {s["affected_sop_class_uid"] for s in scp.lines("report_sent")} == {UPS_PUSH}

    # the dcmreport side: each State Report as decoded
    events = received_events([json.loads(x) for x in run.stdout.splitlines() if x.strip()])
    assert [state_of(e["dataset"]) for e in events] == STATES, run.stdout
    for event in events:
        assert (event["sop_class_uid"], event["sop_instance_uid"]) == (UPS_PUSH, instance)
        assert event["event_type_id"] == 1
        assert (event["calling_aet"], event["called_aet"]) == ("UPS-SCP", "WATCHER")
        assert event["dataset"][READINESS]["Value"] == ["READY"]
        assert event.get("findings", []) == []  # a State Report as Annex CC has it


def test_watch_global_subscription_counts_reports(ups_scp_js: Any) -> None:
    """``--global``: the Requested SOP Instance is the Global Subscription instance; the
    events are about a UPS the SCP picks; ``--count 3`` stops the watch, which unsubscribes
    from the global instance."""
    port = unused_port()
    scp: UpsScpJs = ups_scp_js(
        *("--aet", "UPS-SCP", "--report-port", str(port), "--count", "2"),
        *("--ups-instance", f"{ROOT}.2"),
    )
    run = watch(scp, port, "--global", "--deletion-lock", "--count", "3")
    assert run.returncode == 0, run.stderr + "".join(scp.stderr)
    assert scp.finish(sig=None) == 0
    actions = scp.lines("action")
    assert [(a["action_type_id"], a["sop_instance_uid"]) for a in actions] == [
        (SUBSCRIBE, GLOBAL),
        (UNSUBSCRIBE, GLOBAL),
    ]
    events = received_events([json.loads(x) for x in run.stdout.splitlines() if x.strip()])
    assert [(e["sop_instance_uid"], state_of(e["dataset"])) for e in events] == [
        (f"{ROOT}.2", state) for state in STATES
    ]


def test_watch_subscription_refused(ups_scp_js: Any) -> None:
    """The SCP answers the Subscribe 0xC308 (Receiving AE unknown to it): watch exits 4,
    says so, and sends no Unsubscribe; nothing is pushed."""
    port = unused_port()
    scp: UpsScpJs = ups_scp_js(
        *("--aet", "UPS-SCP", "--report-port", str(port), "--action-status", "0xC308")
    )
    run = watch(scp, port, f"{ROOT}.3", "--until-state", "COMPLETED")
    assert run.returncode == 4, run.stderr
    assert "Traceback" not in run.stderr
    assert re.search(r"(?i)c308|receiving ae", run.stderr), run.stderr
    scp.finish()
    [action] = scp.lines("action")
    assert action["action_type_id"] == SUBSCRIBE
    assert scp.lines("report_sent") == [] and scp.lines("report_association") == []


# ------------------------------------------------------- ups_subscriber.js -> listen --ups


def event_line(instance: str, state: str) -> str:
    """One ``--ups-events`` line: a UPS State Report (event 1) of ``instance``."""
    data = {STATE: {"vr": "CS", "Value": [state]}, READINESS: {"vr": "CS", "Value": ["READY"]}}
    return json.dumps({"instance": instance, "event": 1, "data": data}) + "\n"


class WorklistManager(Background):
    """``dcmreport listen --ups --ups-events -`` as UPS-SCP, its events fed on stdin."""

    def __init__(self, *args: str) -> None:
        super().__init__(
            listen_argv("--aet", "UPS-SCP", "--ups", "--ups-events", "-", "-v", *args),
            stdin=subprocess.PIPE,
        )
        self.port = listening_port(self)


def feed(manager: WorklistManager, *lines: str) -> None:
    assert manager.proc.stdin is not None
    manager.proc.stdin.write("".join(lines))
    manager.proc.stdin.flush()


@pytest.mark.parametrize("to", ["instance", "global"])
def test_subscriber_gets_initial_state_report_and_events(to: str, ups_subscriber_js: Any) -> None:
    """ups_subscriber.js subscribes with Deletion Lock to ``listen --ups``, to the one UPS
    it manages or globally, once that UPS is known (its first ``--ups-events`` line, read);
    it gets the initial State Report (SCHEDULED: Table CC.2.3-2, with lock also for a global
    subscription), then the IN PROGRESS and COMPLETED written to ``--ups-events`` after it,
    each on a new association to its Receiving AE; after the third it unsubscribes."""
    instance, port = f"{ROOT}.4.{['instance', 'global'].index(to) + 1}", unused_port()
    subscribed_to = instance if to == "instance" else GLOBAL
    manager = WorklistManager("--peer", f"WATCHER=127.0.0.1:{port}")
    try:
        feed(manager, event_line(instance, "SCHEDULED"))
        manager.wait_for(re.compile(r"--ups-events line 1\b"))
        subscriber: UpsSubscriberJs = ups_subscriber_js(
            *("--port", str(manager.port), "--called-aet", "UPS-SCP", "--aet", "WATCHER"),
            *("--listen-port", str(port), "--instance", subscribed_to, "--deletion-lock"),
            *("--count", "3", "--timeout", "20"),
        )
        assert subscriber.wait_until(lambda: bool(subscriber.lines("event")), timeout=30), (
            subscriber.stdout,
            "".join(manager.stderr),
        )
        feed(manager, event_line(instance, "IN PROGRESS"), event_line(instance, "COMPLETED"))
        assert subscriber.finish(sig=None) == 0, (subscriber.stdout, "".join(manager.stderr))
    finally:
        manager.finish()

    [subscribed] = subscriber.lines("subscribe_response")
    assert subscribed["status"] == 0
    assert (subscribed["sop_class_uid"], subscribed["sop_instance_uid"]) == (
        UPS_PUSH,
        subscribed_to,
    )
    assert subscribed["action_type_id"] == SUBSCRIBE
    events = subscriber.lines("event")
    assert [e["procedure_step_state"] for e in events] == STATES
    for event in events:
        assert (event["calling_aet"], event["called_aet"]) == ("UPS-SCP", "WATCHER")
        assert event["abstract_syntax"] == UPS_EVENT
        assert (event["sop_class_uid"], event["sop_instance_uid"]) == (UPS_PUSH, instance)
        assert event["event_type_id"] == 1
        assert event["dataset"][READINESS]["Value"] == ["READY"]
    [unsubscribed] = subscriber.lines("unsubscribe_response")
    assert (unsubscribed["status"], unsubscribed["action_type_id"]) == (0, UNSUBSCRIBE)
    assert unsubscribed["sop_instance_uid"] == subscribed_to

    # the dcmreport side: the two N-ACTIONs as it decoded them, and three events delivered
    records = manager.json_lines()
    actions = [r for r in records if r.get("action_type_id") is not None]
    assert [(a["action_type_id"], a["sop_instance_uid"]) for a in actions] == [
        (SUBSCRIBE, subscribed_to),
        (UNSUBSCRIBE, subscribed_to),
    ]
    for action in actions:
        assert action["sop_class_uid"] == UPS_PUSH and action["calling_aet"] == "WATCHER"
        assert action.get("findings", []) == []
    deliveries = [r for r in records if r.get("kind") == "ups-event-delivery"]
    assert [(d["receiving_ae"], d["instance"], d["delivered"]) for d in deliveries] == [
        ("WATCHER", instance, True)
    ] * 3


def test_subscriber_with_unknown_receiving_ae_is_refused(ups_subscriber_js: Any) -> None:
    """A Receiving AE that no ``--peer`` names: listen --ups cannot reach it and answers
    0xC308 (Table CC.2.3-3); the subscriber exits 4 and no event comes."""
    port = unused_port()
    manager = WorklistManager("--peer", f"SOMEONE=127.0.0.1:{unused_port()}")
    try:
        subscriber: UpsSubscriberJs = ups_subscriber_js(
            *("--port", str(manager.port), "--called-aet", "UPS-SCP", "--aet", "WATCHER"),
            *("--listen-port", str(port), "--count", "1", "--timeout", "20"),
        )
        assert subscriber.finish(sig=None) == 4, (subscriber.stdout, "".join(manager.stderr))
    finally:
        manager.finish()
    [refused] = subscriber.lines("subscribe_response")
    # the Action Type ID travels only in a Success or Warning N-ACTION-RSP (PS3.7 10.1.4.1)
    assert (refused["status"], refused["action_type_id"]) == (0xC308, None)
    assert refused["sop_class_uid"] == UPS_PUSH
    assert subscriber.lines("event") == []
