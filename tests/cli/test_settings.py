"""Named peers and settings, waiting for a peer, and JSON on failure: the CLI as a user runs it.

A settings file that is refused never reaches a peer: those cases run in this
process (``helpers.invoke``), each a row; the rest are real runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import Background, cli_env, dcmreport, eventually, invoke, listen_argv, unused_port

REPORT = ["--event", "1", "--instance", "1.1.1.1.9999.2"]
ROOT = Path(__file__).parent.parent.parent


def settings_env(path: Path, **extra: str) -> dict[str, str]:
    return {**cli_env(), "DCMREPORT_CONFIG": str(path), **extra}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def settings_log(stderr: str) -> dict[str, tuple[str, str]]:
    """``-v``'s ``setting NAME = VALUE (SOURCE)`` lines."""
    return {
        m[1]: (m[2], m[3]) for m in re.finditer(r"setting (\w+) = (.*) \((.*)\)$", stderr, re.M)
    }


# --- precedence ------------------------------------------------------------------------------


def test_each_source_in_its_place(listen: Any, tmp_path: Path) -> None:
    """command line > environment > the peer's table > [defaults] > built-in, each shown by -v."""
    listener = listen()
    path = write(
        tmp_path,
        f"""[defaults]
connect_timeout = 9
acse_timeout = 11
dimse_timeout = 12
max_pdu = 10000

[peers.p]
address = "P@127.0.0.1:{listener.port}"
acse_timeout = 21
dimse_timeout = 22
max_pdu = 20000
""",
    )
    env = settings_env(path, DCMREPORT_DIMSE_TIMEOUT="32", DCMREPORT_MAX_PDU="30000")
    run = dcmreport("echo", "p", "--max-pdu", "40000", "-v", "--format", "json", env=env)
    assert run.returncode == 0, run.stderr
    seen = settings_log(run.stderr)
    assert seen["max_pdu"] == ("40000", "command line")
    assert seen["dimse_timeout"] == ("32.0", "environment")
    assert seen["acse_timeout"] == ("21.0", f"[peers.p] {path}:9")
    assert seen["connect_timeout"] == ("9.0", f"[defaults] {path}:2")
    assert seen["network_timeout"] == ("60.0", "built-in")
    assert seen["peer"] == (f"P@127.0.0.1:{listener.port}", f"[peers.p] {path}:8")
    assert json.loads(run.stdout)["association"]["called_aet"] == "P"


def test_config_option_wins_over_the_environment(tmp_path: Path) -> None:
    chosen = write(tmp_path, '[peers.p]\naddress = "P@127.0.0.1:1"\n')
    other = tmp_path / "other.toml"
    other.write_text("broken = [")
    run = dcmreport("echo", "p", "--config", str(chosen), "-v", env=settings_env(other))
    assert run.returncode == 3  # it reached for the peer of --config, not the broken file
    assert "setting peer = P@127.0.0.1:1" in run.stderr


def test_default_file_is_read_from_xdg_config_home(listen: Any, tmp_path: Path) -> None:
    listener = listen("--require-called-aet", "--aet", "NAMED")
    folder = tmp_path / "dcmreport"
    folder.mkdir()
    (folder / "config.toml").write_text(f'[peers.p]\naddress = "NAMED@127.0.0.1:{listener.port}"\n')
    run = dcmreport("echo", "p", env={**cli_env(), "XDG_CONFIG_HOME": str(tmp_path)})
    assert run.returncode == 0, run.stderr


def test_peer_name_in_dcmreport_peer(listen: Any, tmp_path: Path) -> None:
    listener = listen("--require-called-aet", "--aet", "NAMED")
    path = write(tmp_path, f'[peers.pacs]\naddress = "NAMED@127.0.0.1:{listener.port}"\n')
    run = dcmreport("send-report", *REPORT, env=settings_env(path, DCMREPORT_PEER="pacs"))
    assert run.returncode == 0, run.stderr


# --- a broken file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "key", "why"),
    [
        ("[defaults]\nacse_timout = 5\n", 2, "acse_timout", "did you mean acse_timeout"),
        ('[defaults]\ncalling_aet = "A"\nacse_timeout = "ten"\n', 3, "acse_timeout", "number"),
        (
            '[peers.p]\naddress = "P@h:104"\ncalling_aet = "' + "A" * 17 + '"\n',
            3,
            "calling_aet",
            "longer than 16",
        ),
        ('[peers.p]\n\naddress = "P@h:99999"\n', 3, "address", "out of range"),
        ("[peers.p]\ncalling_aet = 'A'\n", 1, "peers.p", "needs its address"),
        ("[defaults]\ntransfer_syntax = ['explicit', 'jpeg']\n", 2, "transfer_syntax", "jpeg"),
    ],
)
def test_broken_file_names_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, why: str
) -> None:
    path = write(tmp_path, text)
    result = invoke("echo", "p", env={"DCMREPORT_CONFIG": str(path)})
    assert result.exit_code == 2, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"dcmreport: error: {path}:{line}: {key}: "), first
    assert why in first
    assert "Traceback" not in result.stderr


def test_invalid_toml_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[defaults]\ncalling_aet = "A"\n[peers.p\n')
    result = invoke("peers", env={"DCMREPORT_CONFIG": str(path)})
    assert result.exit_code == 2
    assert f"{path}:3: not valid TOML" in result.stderr


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    result = invoke("echo", "--config", str(tmp_path / "none.toml"))
    assert result.exit_code == 2
    assert "no such settings file" in result.stderr


# --- named peers on the wire -----------------------------------------------------------------


def test_named_peer_calls_with_its_own_calling_aet(listen: Any, tmp_path: Path) -> None:
    listener = listen("--allow-calling-aet", "MODALITY1", "--count", "1")
    path = write(
        tmp_path,
        f"""[defaults]
calling_aet = "NOBODY"

[peers.modality]
address = "ANY-SCP@127.0.0.1:{listener.port}"
calling_aet = "MODALITY1"
""",
    )
    env = settings_env(path)
    refused = dcmreport("echo", f"127.0.0.1:{listener.port}", env=env)  # [defaults] only
    assert refused.returncode == 3
    assert "calling AE title not recognized" in refused.stderr
    run = dcmreport("send-report", "modality", *REPORT, "PatientID=X", env=env)
    assert run.returncode == 0, run.stderr
    assert listener.finish(sig=None) == 0
    assert listener.json_lines()[0]["calling_aet"] == "MODALITY1"


def test_peers_check_against_a_live_and_a_dead_peer(listen: Any, tmp_path: Path) -> None:
    listener = listen("--aet", "LIVE")
    path = write(
        tmp_path,
        f"""[peers.live]
address = "LIVE@127.0.0.1:{listener.port}"

[peers.dead]
address = "DEAD@127.0.0.1:{unused_port()}"
""",
    )
    listed = dcmreport("peers", "--format", "json", env=settings_env(path))
    assert listed.returncode == 0
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == ["live", "dead"]
    run = dcmreport("peers", "--check", "--format", "json", env=settings_env(path))
    assert run.returncode == 3, run.stderr
    live, dead = (json.loads(line) for line in run.stdout.splitlines())
    assert (live["status"], live["error"], live["exit_code"]) == (0, None, 0)
    assert live["round_trip_ms"] > 0
    assert dead["round_trip_ms"] is None and dead["exit_code"] == 3
    assert "Connection refused" in dead["error"]
    text = dcmreport("peers", "--check", "--format", "text", env=settings_env(path))
    assert re.search(
        r"^live\s+LIVE@127\.0\.0\.1:\d+\s+[\d.]+ ms\s+0x0000 Success", text.stdout, re.M
    )
    assert re.search(r"^dead\s+DEAD@127\.0\.0\.1:\d+\s+failed \(exit 3\)", text.stdout, re.M)


# --- waiting ---------------------------------------------------------------------------------


def test_echo_waits_for_a_listener_started_a_second_later(listen: Any) -> None:
    port = unused_port()
    echo = subprocess.Popen(
        [sys.executable, "-m", "dcmreport", "echo", "--wait", "30", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    time.sleep(1)
    assert echo.poll() is None, echo.communicate()
    listen("--port", str(port))
    out, err = echo.communicate(timeout=30)
    assert echo.returncode == 0, err
    assert json.loads(out)["status"] == 0


def test_echo_wait_gives_up_with_exit_3() -> None:
    start = time.monotonic()
    run = dcmreport("echo", "--wait", "1", f"127.0.0.1:{unused_port()}")
    assert run.returncode == 3
    assert "after waiting 1 s: --wait" in run.stderr
    assert 1 <= time.monotonic() - start < 20


def test_ready_file_holds_a_peer_to_call(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    ready.write_text("stale\n")
    listener = Background(listen_argv("--aet", "READY", "--ready-file", str(ready)))
    assert eventually(lambda: ready.exists() and ready.read_text() != "stale\n", 30)
    address = ready.read_text().strip()
    assert re.fullmatch(r"READY@127\.0\.0\.1:\d+", address)
    run = dcmreport("echo", address)
    assert run.returncode == 0, run.stderr
    assert listener.finish() == 0
    assert not ready.exists()


# --- JSON on failure -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["echo", f"127.0.0.1:{unused_port()}"], 3),
        (["send-report", *REPORT, "PatientNme=X", f"127.0.0.1:{unused_port()}"], 2),
        (["send-report", "--event", "1"], 2),
    ],
)
def test_failure_prints_one_json_object(args: list[str], code: int) -> None:
    run = dcmreport(*args, "--format", "json")
    assert run.returncode == code
    failure = json.loads(run.stdout)
    assert failure["status"] is None
    assert failure["exit_code"] == code
    assert failure["error"] and failure["error"] in run.stderr
    assert failure["association"] is None


def test_broken_file_is_json_too(tmp_path: Path) -> None:
    path = write(tmp_path, "[defaults]\nnope = 1\n")
    result = invoke("echo", env={"DCMREPORT_CONFIG": str(path), "DCMREPORT_FORMAT": "json"})
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"].startswith(f"{path}:2: nope: unknown key")


def test_text_output_prints_no_json_on_failure() -> None:
    run = dcmreport("echo", f"127.0.0.1:{unused_port()}", "--format", "text")
    assert run.returncode == 3
    assert run.stdout == ""


def test_no_option_reads_a_variable_that_listen_exec_sets() -> None:
    """A --exec program that runs dcmreport must not inherit the report's AE titles as options."""
    import typer

    from dcmreport.cli.app import app

    hook_vars = set(
        re.findall(r'"(DCMREPORT_[A-Z_]+)"', (ROOT / "dcmreport/listen/hooks.py").read_text())
    )
    assert "DCMREPORT_CALLING_AET" in hook_vars
    group = typer.main.get_command(app)
    envvars = {
        param.envvar
        for command in group.commands.values()  # type: ignore[attr-defined]
        for param in command.params
        if param.envvar
    }
    assert "DCMREPORT_ACSE_TIMEOUT" in envvars
    assert not envvars & hook_vars
