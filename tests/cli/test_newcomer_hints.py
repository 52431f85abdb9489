"""What a newcomer types wrong gets one line and a hint that fixes it, never a traceback.

In process where no peer is needed (:func:`helpers.invoke`); the listener's own
errors and answers through real processes.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from helpers import dcmreport, invoke


def test_host_and_port_as_two_words_hint_the_one_address() -> None:
    result = invoke("echo", "pacs", "104")
    assert result.exit_code == 2
    assert "got unexpected extra argument(s) (104)" in result.stderr
    assert "hint: give the peer as one word HOST:PORT: dcmreport echo pacs:104" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_mistyped_peer_name_hints_the_close_one(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[peers.pacs]\naddress = "PACS@127.0.0.1:1"\n')
    result = invoke("echo", "--format", "text", "--config", str(config), "pcas")
    assert result.exit_code == 3
    assert "cannot resolve host 'pcas', and no peer of the settings file is named so" in (
        result.stderr
    )
    assert "hint: did you mean pacs?" in result.stderr


def test_a_keyword_without_value_is_not_taken_for_the_peer() -> None:
    result = invoke(
        "send-report",
        "--format",
        "text",
        "--event",
        "1",
        "--instance",
        "1.2.3",
        "PatientID",
        env={"DCMREPORT_PEER": "127.0.0.1:1"},
    )
    assert result.exit_code == 2
    assert "'PatientID' looks like a DICOM keyword without a value, not a peer" in result.stderr
    assert "hint: PatientID=VALUE" in result.stderr


def test_a_port_in_use_hints_another_or_any_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = dcmreport("listen", "--format", "text", "--bind", "127.0.0.1", "--port", str(port))
    assert run.returncode == 2, run.stderr
    assert f"cannot listen on 127.0.0.1:{port}:" in run.stderr
    assert "hint: another port with --port N, or --port 0 for any free one" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_called_ae_rejection_hints_the_called_ae_title(listen: Any) -> None:
    listener = listen("--require-called-aet", "--aet", "LISTENER")
    run = dcmreport("echo", "--format", "text", f"127.0.0.1:{listener.port}")
    assert run.returncode == 3, run.stderr
    assert "called AE title not recognized" in run.stderr
    assert (
        f"hint: the peer is not called ANY-SCP: give its AE title as "
        f"AE@127.0.0.1:{listener.port} or with -aec AE"
    ) in run.stderr
    assert "-aet" not in run.stderr


def _status_after_killed_program(listen: Any, *decides: str) -> tuple[int, int]:
    """The answer's status and send-report's exit when --exec outlives --exec-timeout."""
    listener = listen("--exec", "sleep 30", "--exec-timeout", "0.5", *decides)
    run = dcmreport(
        "send-report",
        "--format",
        "json",
        f"127.0.0.1:{listener.port}",
        "--event",
        "1",
        "--instance",
        "1.2.3.4",
    )
    return json.loads(run.stdout)["status"], run.returncode


def test_a_killed_exec_program_leaves_the_answer_alone_without_exec_decides(listen: Any) -> None:
    """Without --exec-decides the program is a side job: killing it changes no answer."""
    assert _status_after_killed_program(listen) == (0x0000, 0)


def test_a_killed_exec_program_decides_0x0110_with_exec_decides(listen: Any) -> None:
    assert _status_after_killed_program(listen, "--exec-decides") == (0x0110, 4)


def test_a_peer_from_the_file_a_listener_wrote(listen: Any, tmp_path: Path) -> None:
    """``@FILE``: the address ``listen --ready-file`` wrote; ``echo --wait`` waits for it."""
    ready = tmp_path / "server.peer"
    listener = listen("--aet", "ServerTest", "--ready-file", str(ready), "--count", "1")
    assert dcmreport("echo", "--wait", "30", f"@{ready}").returncode == 0
    sent = dcmreport("send-report", f"@{ready}", "--event", "1", "--instance", "1.2.3")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["association"]["called_aet"] == "ServerTest"
    assert listener.finish(sig=None) == 0


def test_a_peer_file_that_is_not_there() -> None:
    """Without --wait a usage error saying what writes it; with --wait, a listener that never
    became ready: exit 3, as for a peer that never answers."""
    run = dcmreport("echo", "--format", "text", "@no-such.peer")
    assert run.returncode == 2
    assert "@no-such.peer: cannot read the peer's address: No such file or directory" in (
        run.stderr
    )
    assert "hint: listen --ready-file FILE writes it" in run.stderr
    run = dcmreport("echo", "--format", "text", "--wait", "0.5", "@no-such.peer")
    assert run.returncode == 3
    assert "@no-such.peer: no such file after waiting 0.5 s: the listener is not ready" in (
        run.stderr
    )
