"""UPS events end to end: ``dcmreport watch`` against ``dcmreport listen --ups``.

Both as processes on 127.0.0.1, the worklist manager reading its events from
stdin (``--ups-events -``), so that the test writes each event once the
watcher has subscribed (``watch --ready-file``). Then the refusals of PS3.4
Table CC.2.3-3, each with watch's exit 4 and its sentence, and 0x0123 both
ways: answered by ``listen --ups``, explained by ``watch``.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from certs import Certs
from helpers import PEERS, Background, dcmreport, listen_argv, listening_port, unused_port
from pydicom import Dataset, dcmread
from pynetdicom import AE, evt

UPS_PUSH = "1.2.840.10008.5.1.4.34.6.1"
UPS_WATCH = "1.2.840.10008.5.1.4.34.6.2"
UPS = "1.2.826.0.1.3680043.9.9999.30.77"
OTHER_UPS = "1.2.826.0.1.3680043.9.9999.30.78"
_LINE = re.compile(r"--ups-events line (\d+)")


def event(instance: str, name: str, **data: Any) -> str:
    return json.dumps({"instance": instance, "event": name, "data": data}) + "\n"


def state(instance: str, value: str) -> str:
    return event(instance, "state-report", ProcedureStepState=value, InputReadinessState="READY")


class Worklist(Background):
    """``listen --ups --ups-events -`` with WATCHER known at ``watcher_port``."""

    def __init__(self, directory: Path, watcher_port: int, *args: str) -> None:
        argv = listen_argv(
            "-v",
            "--aet",
            "WORKLIST",
            "--ups",
            "--ups-events",
            "-",
            "--peer",
            f"WATCHER=127.0.0.1:{watcher_port}",
            "--commitment-retries",
            "0",
            "--output-dir",
            str(directory),
            *args,
        )
        super().__init__(argv, stdin=subprocess.PIPE)
        self.port = listening_port(self)
        self.directory = directory
        self._lines = 0

    def send(self, line: str) -> None:
        """Write an event line, and wait until the listener has read it."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line)
        self.proc.stdin.flush()
        self._lines += 1
        wanted = self._lines
        assert self.wait_until(
            lambda: any(m and int(m[1]) >= wanted for m in map(_LINE.search, self.stderr))
        ), "".join(self.stderr)

    def table(self) -> dict[str, Any]:
        table: dict[str, Any] = json.loads((self.directory / "ups-subscriptions.json").read_text())
        return table

    def deliveries(self) -> list[dict[str, Any]]:
        return [r for r in self.json_lines() if r.get("kind") == "ups-event-delivery"]


class Watch(Background):
    def __init__(self, worklist: Worklist, port: int, ready: Path | None, *args: str) -> None:
        argv = [
            sys.executable,
            "-m",
            "dcmreport",
            "watch",
            f"WORKLIST@127.0.0.1:{worklist.port}",
            "--aet",
            "WATCHER",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--format",
            "json",
            "--timeout",
            "60",
            *(["--ready-file", str(ready)] if ready else []),
            *args,
        ]
        super().__init__(argv)
        self.ready = ready

    def subscribed(self) -> None:
        assert self.ready is not None
        deadline = time.monotonic() + 60
        while not self.ready.exists():
            assert self.proc.poll() is None, "".join(self.stderr)
            assert time.monotonic() < deadline, "".join(self.stderr)
            time.sleep(0.05)

    def reports(self) -> list[dict[str, Any]]:
        return [r for r in self.json_lines() if r.get("kind") == "n-event-report"]

    def responses(self) -> list[dict[str, Any]]:
        return [r for r in self.json_lines() if r.get("kind") == "n-action-rsp"]


@pytest.fixture
def worklist(tmp_path: Path) -> Iterator[Any]:
    started: list[Background] = []
    port = unused_port()

    def start(*args: str) -> Worklist:
        started.append(Worklist(tmp_path / f"kept{len(started)}", port, *args))
        return started[-1]

    start.watcher_port = port  # type: ignore[attr-defined]
    yield start
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()


def _watch(worklist: Worklist, tmp_path: Path, *args: str, port: int) -> Watch:
    return Watch(worklist, port, tmp_path / "watch.ready", *args)


def test_one_instance_until_completed_then_unsubscribed(worklist: Any, tmp_path: Path) -> None:
    scp = worklist()
    scp.send(state(UPS, "SCHEDULED"))
    watcher = _watch(scp, tmp_path, UPS, "--until-state", "COMPLETED", port=worklist.watcher_port)
    watcher.subscribed()
    assert scp.table() == {
        "WATCHER": {"global": None, "instances": {UPS: {"deletion_lock": False}}}
    }
    scp.send(state(UPS, "IN PROGRESS"))
    scp.send(event(UPS, "progress-report", ProcedureStepProgressInformationSequence=[{}]))
    scp.send(state(UPS, "COMPLETED"))
    assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    states = [r["dataset"].get("00741000", {}).get("Value", [None])[0] for r in watcher.reports()]
    assert states == ["SCHEDULED", "IN PROGRESS", None, "COMPLETED"]  # the initial one first
    assert [r["event_type_id"] for r in watcher.reports()] == [1, 1, 3, 1]
    assert [r["action_type_id"] for r in watcher.responses()] == [3, 4]
    assert all(r["status"]["code"] == 0 for r in watcher.responses())
    assert "unsubscribing WATCHER from" in "".join(watcher.stderr)
    assert scp.table() == {}
    assert scp.finish() == 0
    assert [d["delivered"] for d in scp.deliveries()] == [True] * 4
    actions = [r for r in scp.json_lines() if r.get("kind") == "n-action"]
    assert [(a["action_type_id"], a["action_name"]) for a in actions] == [
        (3, "Subscribe to Receive UPS Event Reports"),
        (4, "Unsubscribe from Receiving UPS Event Reports"),
    ]


def test_global_with_deletion_lock_gets_an_initial_report_of_each(
    worklist: Any, tmp_path: Path
) -> None:
    scp = worklist()
    scp.send(state(UPS, "IN PROGRESS"))
    scp.send(state(OTHER_UPS, "SCHEDULED"))
    watcher = _watch(
        scp, tmp_path, "--global", "--deletion-lock", "--count", "2", port=worklist.watcher_port
    )
    assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    assert sorted(r["sop_instance_uid"] for r in watcher.reports()) == [UPS, OTHER_UPS]
    assert watcher.responses()[-1]["instance"] == "1.2.840.10008.5.1.4.34.5"  # unsubscribed
    assert scp.table() == {}


def test_global_without_lock_gets_no_initial_report_but_new_instances(
    worklist: Any, tmp_path: Path
) -> None:
    """Table CC.2.3-2: no initial events for existing instances without the lock; a UPS
    created later is subscribed, its first State Report the initial event."""
    scp = worklist()
    scp.send(state(UPS, "IN PROGRESS"))
    watcher = _watch(scp, tmp_path, "--global", "--count", "1", port=worklist.watcher_port)
    watcher.subscribed()
    scp.send(state(OTHER_UPS, "SCHEDULED"))
    assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    assert [r["sop_instance_uid"] for r in watcher.reports()] == [OTHER_UPS]


def test_filtered_global_subscription_matches_keys(worklist: Any, tmp_path: Path) -> None:
    scp = worklist()
    scp.send(state(UPS, "IN PROGRESS"))
    scp.send(state(OTHER_UPS, "SCHEDULED"))
    watcher = _watch(
        scp,
        tmp_path,
        "--filter",
        "ProcedureStepState=SCHEDULED",
        "--deletion-lock",
        "--count",
        "1",
        port=worklist.watcher_port,
    )
    watcher.subscribed()
    assert list(scp.table()["WATCHER"]["instances"]) == [OTHER_UPS]
    assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    assert [r["sop_instance_uid"] for r in watcher.reports()] == [OTHER_UPS]
    assert scp.table() == {}


def test_deletion_lock_refused_is_a_warning_explained(worklist: Any, tmp_path: Path) -> None:
    scp = worklist("--ups-deletion-lock", "refuse")
    scp.send(state(UPS, "SCHEDULED"))
    watcher = _watch(
        scp, tmp_path, UPS, "--deletion-lock", "--count", "1", port=worklist.watcher_port
    )
    assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    assert watcher.responses()[0]["status"]["code"] == 0xB301
    assert "did not grant the Deletion Lock" in "".join(watcher.stderr)


def test_sigint_unsubscribes(worklist: Any, tmp_path: Path) -> None:
    scp = worklist()
    scp.send(state(UPS, "SCHEDULED"))
    watcher = _watch(scp, tmp_path, UPS, port=worklist.watcher_port)
    watcher.subscribed()
    assert scp.table() != {}
    assert watcher.finish(sig=signal.SIGINT) == 0, "".join(watcher.stderr)
    assert "unsubscribing WATCHER" in "".join(watcher.stderr)
    assert scp.table() == {}


def test_keep_subscription_leaves_it_and_unsubscribe_cleans_up(
    worklist: Any, tmp_path: Path
) -> None:
    scp = worklist()
    scp.send(state(UPS, "SCHEDULED"))
    watcher = _watch(
        scp, tmp_path, UPS, "--count", "1", "--keep-subscription", port=worklist.watcher_port
    )
    assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    assert list(scp.table()) == ["WATCHER"]
    cleanup = Watch(scp, worklist.watcher_port, None, "--global", "--unsubscribe")
    assert cleanup.finish(sig=None) == 0, "".join(cleanup.stderr)
    assert scp.table() == {}


@pytest.mark.parametrize(
    ("aet", "instance", "status", "sentence"),
    [
        ("STRANGER", UPS, 0xC308, "does not know AE STRANGER as a receiver: configure STRANGER"),
        ("WATCHER", OTHER_UPS, 0xC307, f"manages no UPS instance {OTHER_UPS}"),
    ],
    ids=["unknown-receiving-ae", "unknown-instance"],
)
def test_a_refused_subscription_is_exit_4_with_its_sentence(
    worklist: Any, tmp_path: Path, aet: str, instance: str, status: int, sentence: str
) -> None:
    scp = worklist()
    scp.send(state(UPS, "SCHEDULED"))
    watcher = _watch(scp, tmp_path, instance, "--aet", aet, port=worklist.watcher_port)
    assert watcher.finish(sig=None) == 4, "".join(watcher.stderr)
    assert watcher.responses()[0]["status"]["code"] == status
    assert sentence in "".join(watcher.stderr)
    assert scp.finish() == 0
    refused = next(r for r in scp.json_lines() if r.get("kind") == "n-action")
    assert refused["status"] == status


def test_listen_ups_answers_an_undefined_action_type_0123(worklist: Any) -> None:
    scp = worklist()
    ae = AE(ae_title="WATCHER")
    ae.add_requested_context(UPS_WATCH)
    assoc = ae.associate("127.0.0.1", scp.port, ae_title="WORKLIST")
    assert assoc.is_established
    info = Dataset()
    info.ReceivingAE = "WATCHER"
    status, _ = assoc.send_n_action(info, 7, UPS_PUSH, UPS, meta_uid=UPS_WATCH)
    assoc.release()
    assert status.Status == 0x0123
    assert scp.finish() == 0


def test_watch_explains_0123_from_an_scp_without_the_action(tmp_path: Path) -> None:
    """An SCP that does not support an Action Type (here: every one) answers 0x0123."""

    def refuse(event: evt.Event) -> tuple[int, None]:
        return 0x0123, None

    ae = AE(ae_title="WORKLIST")
    ae.add_supported_context(UPS_WATCH)
    server = ae.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_N_ACTION, refuse)]
    )
    try:
        port = server.server_address[1]
        result = dcmreport(
            "watch", f"WORKLIST@127.0.0.1:{port}", "--global", "--suspend-global", "--aet", "W"
        )
    finally:
        server.shutdown()
    assert result.returncode == 4, result.stderr
    assert "does not support this Action Type on UPS Watch" in result.stderr


def test_a_subscriber_gone_is_retried_then_recorded_and_the_listener_serves_on(
    worklist: Any, tmp_path: Path
) -> None:
    """The watcher kept its subscription and left: each event to it is tried
    --commitment-retries more times, then recorded as not delivered, with why; the
    listener goes on answering (a new subscription, its initial report delivered)."""
    scp = worklist("--commitment-retries", "2", "--peer", f"OTHER=127.0.0.1:{unused_port()}")
    scp.send(state(UPS, "SCHEDULED"))
    watcher = _watch(
        scp, tmp_path, UPS, "--count", "1", "--keep-subscription", port=worklist.watcher_port
    )
    assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    scp.send(state(UPS, "IN PROGRESS"))
    assert scp.wait_until(  # both streams: each is drained by a thread of its own
        lambda: len(scp.deliveries()) == 2 and any("gave up" in line for line in scp.stderr),
        timeout=60,
    ), "".join(scp.stderr)
    failed = scp.deliveries()[1]
    assert failed["delivered"] is False and failed["attempts"] == 3, failed
    assert failed["receiving_ae"] == "WATCHER" and failed["event_type_id"] == 1
    assert "127.0.0.1" in failed["reason"], failed
    log = "".join(scp.stderr)
    assert log.count("cannot deliver the UPS event 1") == 3, log
    assert "gave up delivering the UPS event 1" in log
    again = _watch(scp, tmp_path, UPS, "--count", "1", port=worklist.watcher_port)
    assert again.finish(sig=None) == 0, "".join(again.stderr)
    assert [r["sop_instance_uid"] for r in again.reports()] == [UPS]
    assert scp.finish() == 0, "".join(scp.stderr)
    assert [d["delivered"] for d in scp.deliveries()] == [True, False, True]


def _status(report: dict[str, Any]) -> list[str]:
    """SCP Status, Subscription List Status, UPS List Status of an event 4 record."""
    ds = report["dataset"]
    return [ds.get(tag, {}).get("Value", [None])[0] for tag in ("00741242", "00741244", "00741246")]


def test_scp_status_change_going_down_then_restarted_from_the_kept_table(
    worklist: Any, tmp_path: Path
) -> None:
    """--ups-status-events: GOING DOWN to the subscriber at stop; a listener started again
    on the same --output-dir reads the table back and sends it RESTARTED, WARM START."""
    kept = tmp_path / "kept"
    first = Worklist(kept, worklist.watcher_port, "--ups-status-events")
    try:
        first.send(state(UPS, "IN PROGRESS"))
        watcher = _watch(
            first, tmp_path, UPS, "--count", "2", "--keep-subscription", port=worklist.watcher_port
        )
        watcher.subscribed()
        assert first.finish() == 0, "".join(first.stderr)
        assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    finally:
        first.proc.kill()
    initial, going = watcher.reports()
    assert initial["event_type_id"] == 1
    assert (going["event_type_id"], going["sop_instance_uid"]) == (4, UPS)
    assert _status(going) == ["GOING DOWN", "WARM START", "WARM START"]
    assert going["findings"] == []
    receiver = Background(
        listen_argv("--aet", "WATCHER", "--port", str(worklist.watcher_port), "--count", "1")
    )
    listening_port(receiver)
    second = Worklist(kept, worklist.watcher_port, "--ups-status-events")
    try:
        assert receiver.finish(sig=None) == 0, "".join(receiver.stderr)
        [restarted] = receiver.json_lines()
        assert (restarted["event_type_id"], restarted["sop_instance_uid"]) == (4, UPS)
        assert _status(restarted) == ["RESTARTED", "WARM START", "WARM START"]
        assert second.table() == {
            "WATCHER": {"global": None, "instances": {UPS: {"deletion_lock": False}}}
        }
        again = _watch(second, tmp_path, UPS, "--count", "1", port=worklist.watcher_port)
        assert again.finish(sig=None) == 0, "".join(again.stderr)
        [current] = again.reports()  # the state the first run was told, kept
        assert current["dataset"]["00741000"]["Value"] == ["IN PROGRESS"]
        assert second.finish() == 0, "".join(second.stderr)
    finally:
        second.proc.kill()
        receiver.proc.kill()


def test_over_tls_subscription_events_and_unsubscribe(
    worklist: Any, tmp_path: Path, tls_certs: Certs
) -> None:
    """Each side's TLS options serve both its roles: watch subscribes over TLS and accepts
    the events under its certificate; listen --ups pushes them over TLS, checking it (both
    accept nothing but TLS: a plain association would have failed)."""
    tls = ("--tls", "--tls-ca", str(tls_certs.ca))
    identity = ("--tls-cert", str(tls_certs.server.cert), "--tls-key", str(tls_certs.server.key))
    scp = worklist(*tls, *identity)
    scp.send(state(UPS, "SCHEDULED"))
    watcher = _watch(
        scp, tmp_path, UPS, "--until-state", "COMPLETED", *tls, *identity,
        port=worklist.watcher_port,
    )  # fmt: skip
    watcher.subscribed()
    scp.send(state(UPS, "COMPLETED"))
    assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    assert [r["event_type_id"] for r in watcher.reports()] == [1, 1]
    assert [r["action_type_id"] for r in watcher.responses()] == [3, 4]
    assert scp.finish() == 0, "".join(scp.stderr)
    assert [d["delivered"] for d in scp.deliveries()] == [True, True]


def test_watch_over_tls_needs_a_certificate_to_accept_the_events(tls_certs: Certs) -> None:
    run = dcmreport(
        "watch", "WORKLIST@127.0.0.1:1", "--global", "--aet", "W", "--tls", "--tls-ca",
        str(tls_certs.ca), "--format", "text",
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "watch --tls needs --tls-cert" in run.stderr
    assert "the SCP sends the UPS events on a new association to a TLS server" in run.stderr


def test_watch_output_dir_keeps_each_event_as_listen_does(worklist: Any, tmp_path: Path) -> None:
    scp = worklist()
    scp.send(state(UPS, "SCHEDULED"))
    out = tmp_path / "events"
    watcher = _watch(
        scp, tmp_path, UPS, "--count", "2", "--output-dir", str(out), port=worklist.watcher_port
    )
    watcher.subscribed()
    scp.send(state(UPS, "IN PROGRESS"))
    assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    records = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    assert records == watcher.reports()  # the record is the JSON line, as listen's
    assert [r["kind"] for r in records] == ["n-event-report", "n-event-report"]
    for record in records:
        part10 = Path(record["files"][0])
        assert part10.parent == out and part10.suffix == ".dcm"
        kept = dcmread(part10)
        assert kept.file_meta.MediaStorageSOPClassUID == UPS_PUSH
        assert kept.file_meta.MediaStorageSOPInstanceUID == UPS
    assert [dcmread(r["files"][0]).ProcedureStepState for r in records] == [
        "SCHEDULED",
        "IN PROGRESS",
    ]


def test_watch_exec_runs_for_each_event_with_the_report_in_its_environment(
    worklist: Any, tmp_path: Path
) -> None:
    log = tmp_path / "exec.jsonl"
    hook = tmp_path / "hook.py"
    hook.write_text(
        "import json, os, sys\n"
        "with open(sys.argv[1], 'a') as log:\n"
        "    env = {k: v for k, v in os.environ.items() if k.startswith('DCMREPORT_')}\n"
        "    log.write(json.dumps(env) + '\\n')\n"
    )
    scp = worklist()
    scp.send(state(UPS, "SCHEDULED"))
    watcher = _watch(
        scp, tmp_path, UPS, "--count", "2", "--exec", f"{sys.executable} {hook} {log}",
        port=worklist.watcher_port,
    )  # fmt: skip
    watcher.subscribed()
    scp.send(event(UPS, "progress-report", ProcedureStepProgressInformationSequence=[{}]))
    assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["DCMREPORT_EVENT_TYPE_ID"] for r in runs] == ["1", "3"]
    assert {r["DCMREPORT_SOP_CLASS_UID"] for r in runs} == {UPS_PUSH}
    assert {r["DCMREPORT_SOP_INSTANCE_UID"] for r in runs} == {UPS}
    assert {r["DCMREPORT_CALLING_AET"] for r in runs} == {"WORKLIST"}
    assert {r["DCMREPORT_CALLED_AET"] for r in runs} == {"WATCHER"}


def requested(scp: Worklist, *args: str) -> dict[str, int | None]:
    """What tests/peers/ups_requestor.py (plain pynetdicom, a process) was answered."""
    run = subprocess.run(
        [sys.executable, str(PEERS / "ups_requestor.py"), str(scp.port), UPS, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    answered: dict[str, int | None] = json.loads(run.stdout)
    return answered


def test_other_ups_operations_are_refused_with_the_standards_status(worklist: Any) -> None:
    """listen --ups serves only UPS Watch's subscriptions: every other UPS operation, sent
    by plain pynetdicom, gets the status PS3.7 gives an operation not served, and a line."""
    scp = worklist()
    scp.send(state(UPS, "SCHEDULED"))
    assert requested(scp) == {
        "N-CREATE": 0x0211,
        "N-SET": 0x0211,
        "N-GET": 0x0211,
        "C-FIND": 0x0122,
        "N-ACTION 1": 0x0211,  # UPS Push's operations are not served: as N-CREATE
    }
    assert scp.finish() == 0
    refusals = [line for line in scp.stderr if line.startswith("W: refused ")]
    assert [line.split()[2] for line in refusals] == [
        "N-CREATE", "N-SET", "N-GET", "C-FIND", "N-ACTION",
    ], scp.stderr  # fmt: skip
    assert all("from UPSCLIENT (127.0.0.1:" in line for line in refusals)


def test_malformed_subscriptions_are_refused_and_the_worklist_serves_on(
    worklist: Any, tmp_path: Path
) -> None:
    """A subscriber's careless or hostile Action Information gets a status, one line each
    and no traceback; nobody is subscribed by it, and a proper watcher is served after."""
    scp = worklist()
    scp.send(state(UPS, "SCHEDULED"))
    assert requested(scp, "--malformed") == {
        "no Action Information": 0x0115,
        "no Receiving AE": 0x0115,
        "Deletion Lock MAYBE": 0x0115,
        "a 40-character Receiving AE": 0xC308,  # no --peer names it
        "a UID that is not one": 0xC307,
    }
    assert scp.table() == {}
    watcher = _watch(scp, tmp_path, UPS, "--count", "1", port=worklist.watcher_port)
    assert watcher.finish(sig=None) == 0
    assert scp.finish() == 0
    assert not [line for line in scp.stderr if "Traceback" in line], scp.stderr


def test_text_output_of_both_sides(worklist: Any, tmp_path: Path) -> None:
    """--format text, as on a terminal: watch shows the N-ACTION-RSPs and each event as
    listen shows a report; listen --ups one line per delivery. No traceback either side."""
    scp = worklist("--format", "text")
    scp.send(state(UPS, "SCHEDULED"))
    watcher = _watch(
        scp, tmp_path, UPS, "--count", "1", "--format", "text", port=worklist.watcher_port
    )
    assert watcher.finish(sig=None) == 0, "".join(watcher.stderr)
    assert scp.finish() == 0, "".join(scp.stderr)
    shown = "".join(watcher.stdout + watcher.stderr)
    assert f"Subscribe to Receive UPS Event Reports ({UPS}, Receiving AE WATCHER)" in shown
    assert f"Unsubscribe from Receiving UPS Event Reports ({UPS}, Receiving AE WATCHER)" in shown
    assert "╭─ N-EVENT-REPORT" in shown and "Event Type    1 UPS State Report" in shown, shown
    assert "ProcedureStepState  'SCHEDULED'" in shown
    listed = "".join(scp.stdout + scp.stderr)
    assert f"UPS event 1 UPS State Report of {UPS} to WATCHER: delivered" in listed, listed
    for output in (shown, listed):
        assert "Traceback" not in output
        assert not output.lstrip().startswith("{"), output


def test_a_kept_table_not_as_written_is_exit_2_before_listening(tmp_path: Path) -> None:
    (tmp_path / "ups-subscriptions.json").write_text('{"WATCHER": []}')
    run = dcmreport(
        "listen", "--ups", "--port", "0", "--bind", "127.0.0.1", "--timeout", "1",
        "--output-dir", str(tmp_path), "--peer", "WATCHER=127.0.0.1:1", "--format", "text",
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "ups-subscriptions.json or ups-instances.json: not as dcmreport wrote it" in run.stderr
    assert "hint: move them away" in run.stderr and "Traceback" not in run.stderr
