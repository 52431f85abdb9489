"""The switch as users see it (``--speedups``, ``DCMREPORT_SPEEDUPS``), and the versions check.

A library version outside a trick's verified range is presented as a user
would have it installed: a directory first on PYTHONPATH holding the real
package (a symlink; for Typer, whose ``__version__`` is written in its
``__init__``, a copy saying the version) and a ``NAME-3.1.0.dist-info``, so
that dcmreport's version check and the library's own ``__version__``
(importlib.metadata) both say 3.1.0. The command must work, with the trick
off and ``-v`` saying why.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import cli_env, dcmreport
from typer.testing import CliRunner

from dcmreport import speedups
from dcmreport.cli.app import app

ECHO = ["echo", "--format", "json"]
REPORT = ["--event", "1", "--instance", "1.2.3", "--format", "json", "PatientID=X"]


def env_with(value: str | None) -> dict[str, str]:
    """The CLI's environment with ``DCMREPORT_SPEEDUPS`` set to ``value`` (None: unset)."""
    env = {k: v for k, v in cli_env().items() if k != speedups.ENV}
    return env if value is None else {**env, speedups.ENV: value}


def said(stderr: str) -> list[str]:
    """The -v lines about speedups."""
    return re.findall(r"^I: (speedups: .*)$", stderr, re.M)


def test_a_bad_value_is_a_usage_error_naming_the_choices() -> None:
    run = dcmreport("--speedups", "maybe", "echo")
    assert run.returncode == 2
    assert "invalid value for '--speedups'" in run.stderr
    assert "'maybe' is not one of 'on', 'off'" in run.stderr
    run = dcmreport("echo", env=env_with("maybe"))
    assert run.returncode == 2
    assert "'DCMREPORT_SPEEDUPS'" in run.stderr and "is not one of 'on', 'off'" in run.stderr


def test_verbose_says_which_mode_runs(listen: Any) -> None:
    peer = f"ANY-SCP@127.0.0.1:{listen().port}"
    cases = [
        ([], None, "speedups: on (DCMREPORT_SPEEDUPS=off or --speedups off for the plain path)"),
        (["--speedups", "off"], None, "speedups: off (DCMREPORT_SPEEDUPS=off or --speedups off)"),
        ([], "off", "speedups: off (DCMREPORT_SPEEDUPS=off or --speedups off)"),
        (["--speedups", "off"], "on", "speedups: off"),  # the command line wins
        (["--speedups", "on"], "off", "speedups: on"),
        ([], "-one-pass-decoder", "speedups: on, but for one-pass-decoder"),
    ]
    for before, value, line in cases:
        run = dcmreport(*before, "-v", *ECHO, peer, env=env_with(value))
        assert run.returncode == 0, run.stderr
        [mode] = said(run.stderr)  # once, and no trick turned off by a version
        assert mode.startswith(line), (before, value, mode)


def test_the_installed_script_runs_every_trick(listen: Any) -> None:
    """The console script, whose folder (first on sys.path) holds pydicom's and pynetdicom's
    scripts too: those are not the libraries, so no trick is turned off for them."""
    script = Path(sys.executable).parent / "dcmreport"
    assert (script.parent / "pydicom").is_file()  # the premise: pydicom's script beside ours
    run = subprocess.run(
        [str(script), "-v", *ECHO, f"ANY-SCP@127.0.0.1:{listen().port}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_with("on"),
    )
    assert run.returncode == 0, run.stderr
    assert said(run.stderr) == [
        "speedups: on (DCMREPORT_SPEEDUPS=off or --speedups off for the plain path)"
    ]


def imports(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dcmreport", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    return run, set(re.findall(r"^import time:.*\| +(\S+)$", run.stderr, re.M))


def test_off_is_the_plain_path_from_the_first_option_on(listen: Any) -> None:
    """Typer converts the command's own options (pydantic), pydicom imports as installed
    (its download chain, email, comes with it), and the report is answered."""
    listener = listen("--count", "1")
    peer = f"ANY-SCP@127.0.0.1:{listener.port}"
    run, modules = imports("--speedups", "off", "send-report", peer, *REPORT, env=env_with(None))
    assert run.returncode == 0, run.stderr
    assert {"pydantic", "email", "dcmreport.association.requestor"} <= modules
    assert "dcmreport.cli.library_imports" not in modules
    assert listener.finish(sig=None) == 0
    run = dcmreport("--speedups", "off", "echo", "--max-pdu", "abc", env=env_with(None))
    assert run.returncode == 2
    assert "Input should be a valid integer" in run.stderr  # pydantic's words, not ours


def test_the_option_sets_the_switch_for_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """What speedups.py and any program the command runs (--exec) read."""
    monkeypatch.delenv(speedups.ENV, raising=False)
    result = CliRunner().invoke(app, ["--speedups", "off", "--version"])
    assert result.exit_code == 0
    assert os.environ[speedups.ENV] == "off" and not speedups.on()
    # (tests/conftest.py puts the switch back as the run began)


# --- a library version outside a trick's verified range --------------------------------------


def presented_as(tmp_path: Path, distribution: str, version: str = "3.1.0") -> dict[str, str]:
    """The CLI's environment (switch on) with ``distribution`` installed as ``version``."""
    spec = importlib.util.find_spec(distribution)
    assert spec is not None and spec.origin is not None
    real = Path(spec.origin).parent
    where = tmp_path / f"{distribution}-as-{version}"
    where.mkdir(parents=True)
    if distribution == "typer":  # its __version__ is a literal of its __init__
        shutil.copytree(real, where / distribution, ignore=shutil.ignore_patterns("__pycache__"))
        init = where / distribution / "__init__.py"
        text, count = re.subn(
            r'^__version__ = "[^"]*"', f'__version__ = "{version}"', init.read_text(), flags=re.M
        )
        assert count == 1
        init.write_text(text)
    else:
        (where / distribution).symlink_to(real, target_is_directory=True)
    info = where / f"{distribution}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    )
    path = os.pathsep.join(p for p in (str(where), os.environ.get("PYTHONPATH")) if p)
    return {**env_with("on"), "PYTHONPATH": path}


def off_line(trick: str, distribution: str, lowest: str, beyond: str) -> str:
    return f"speedups: {trick} off: verified with {distribution} >={lowest},<{beyond}, found 3.1.0"


def test_the_library_reports_the_presented_version(tmp_path: Path) -> None:
    """The premise of the tests below: the library itself says 3.1.0."""
    for distribution in ("pydicom", "pynetdicom", "typer"):
        env = presented_as(tmp_path / distribution, distribution)
        run = subprocess.run(
            [sys.executable, "-c", f"import {distribution}; print({distribution}.__version__)"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert run.stdout.strip() == "3.1.0", (distribution, run.stderr)


def test_pydicom_outside_the_range(
    tmp_path: Path, listen: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lean-imports and one-pass-decoder off; a report sent and received, decoded by pydicom."""
    env = presented_as(tmp_path, "pydicom")
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the listener's too (helpers.cli_env)
    listener = listen("--count", "1", "-v")
    sent = dcmreport("-v", "send-report", f"ANY-SCP@127.0.0.1:{listener.port}", *REPORT, env=env)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["status"] == 0
    assert listener.finish(sig=None) == 0
    for stderr in (sent.stderr, "".join(listener.stderr)):
        lines = said(stderr)
        assert off_line("lean-imports", "pydicom", "3.0.1", "3.1") in lines
        assert off_line("one-pass-decoder", "pydicom", "3.0.1", "3.1") in lines
        assert off_line("json-model", "pydicom", "3.0.1", "3.1") in lines
    [received] = listener.json_lines()[-1:]
    assert received["dataset"]["00100020"] == {"vr": "LO", "Value": ["X"]}


def test_pynetdicom_outside_the_range(
    tmp_path: Path, listen: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """association-fast-path (and lean-imports, which bends pynetdicom too) off; C-ECHO
    answered by a listener of the same pynetdicom."""
    env = presented_as(tmp_path, "pynetdicom")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    listener = listen("-v")
    run = dcmreport("-v", *ECHO, f"ANY-SCP@127.0.0.1:{listener.port}", env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == 0
    for stderr in (run.stderr, "".join(listener.stderr)):
        lines = said(stderr)
        assert off_line("association-fast-path", "pynetdicom", "3.0.4", "3.1") in lines
        assert off_line("lean-imports", "pynetdicom", "3.0.4", "3.1") in lines


def test_typer_outside_the_range(tmp_path: Path, listen: Any) -> None:
    """typer-values off: Typer converts the values itself (pydantic), the command works."""
    peer = f"ANY-SCP@127.0.0.1:{listen().port}"
    env = presented_as(tmp_path, "typer")
    run = dcmreport("-v", *ECHO, peer, env=env)
    assert run.returncode == 0, run.stderr
    assert off_line("typer-values", "typer", "0.29", "0.30") in said(run.stderr)
    bad = dcmreport(*ECHO, "--max-pdu", "abc", peer, env=env)
    assert bad.returncode == 2
    assert "Input should be a valid integer" in bad.stderr
