"""Lean start (issue 11): each command imports only what it needs.

The CLI runs as a user runs it, under ``python -X importtime``, which names on
stderr every module the process imports. In either mode of the speedups
switch, JSON output imports no rich, ``echo`` and ``send-report`` import no
listener, and a TAB on a closed set of values neither pydicom nor pynetdicom.
The speed tricks' own checks are marked ``speedups`` (not run in plain mode):
no command imports pydantic (Typer 0.29 converts values with it;
:mod:`dcmreport.cli.coercion` does instead, the trick ``typer-values``),
``echo`` and ``send-report`` import none of what
:mod:`dcmreport.cli.library_imports` keeps out of pydicom and pynetdicom
(``lean-imports``), and a TAB on DICOM keywords no pydicom
(``keyword-completion``).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer
from helpers import cli_env, dcmreport, unused_port

from dcmreport.cli import coercion
from dcmreport.cli.app import app
from dcmreport.cli.bundles import association, commit, listen, output, report, tls
from dcmreport.dicom import records

LISTENER_SIDE = {"dcmreport.association.listener", "dcmreport.association.commit_scu"}
# What only the real modules import (their stand-ins are imported too, and listed).
SKIPPED_BY_LIBRARY_IMPORTS = {"pydicom.pixels.decoders", "pydicom.data", "urllib.request", "email"}


def imports(*args: str, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    """Exit code of ``python -X importtime -m dcmreport ARGS`` and the modules it imported."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dcmreport", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or cli_env(),
    )
    return run.returncode, set(re.findall(r"^import time:.*\| +(\S+)$", run.stderr, re.M))


def echo_and_send_report(listen: Any) -> list[tuple[list[str], set[str]]]:
    """The modules that ``echo`` and ``send-report`` (JSON output) import, with each command."""
    peer = f"ANY-SCP@127.0.0.1:{listen().port}"
    found = []
    for command in (
        ["echo", peer],
        ["send-report", peer, "--event", "1", "--instance", "1.2.3", "PatientID=X"],
    ):
        code, modules = imports(*command, "--format", "json")
        assert code == 0, command
        assert "dcmreport.association.requestor" in modules  # what it needs, it imports
        found.append((command, modules))
    return found


@pytest.mark.parametrize("args", [["--help"], ["echo", "--help"], ["peers", "--help"]])
def test_help_imports_neither_dicom_library(args: list[str]) -> None:
    """The commands import pydicom and pynetdicom when they run, not to describe themselves."""
    code, modules = imports(*args)
    assert code == 0
    assert not {"pydicom", "pynetdicom"} & modules


def test_echo_and_send_report_import_neither_rich_nor_the_listener(listen: Any) -> None:
    (_, echo), (_, send_report) = echo_and_send_report(listen)
    for modules in (echo, send_report):
        assert not {"rich", *LISTENER_SIDE} & modules
    assert "dcmreport.dicom.dataset" not in echo  # no data set


@pytest.mark.speedups
def test_echo_and_send_report_import_no_pydantic_nor_what_the_lean_imports_skip(
    listen: Any,
) -> None:
    for command, modules in echo_and_send_report(listen):
        assert "pydantic" not in modules, command
        assert not SKIPPED_BY_LIBRARY_IMPORTS & modules, command  # run() applied them


def listen_json() -> set[str]:
    code, modules = imports("listen", "--port", "0", "--timeout", "0.1", "--format", "json")
    assert code == 5  # no report within --timeout
    assert "dcmreport.association.listener" in modules
    return modules


def test_listen_json_imports_no_rich() -> None:
    assert "rich" not in listen_json()


@pytest.mark.speedups
def test_listen_imports_no_pydantic() -> None:
    assert "pydantic" not in listen_json()


@pytest.mark.speedups
def test_a_bad_value_is_refused_without_pydantic() -> None:
    code, modules = imports("echo", "--max-pdu", "abc", f"127.0.0.1:{unused_port()}")
    assert code == 2
    assert "pydantic" not in modules


def tab(line: str) -> tuple[str, set[str]]:
    """What a TAB at the end of ``line`` offers, and the modules it imported."""
    env = {
        **cli_env(),
        "_DCMREPORT_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(line.split()) - 1),
    }
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dcmreport"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    modules = set(re.findall(r"^import time:.*\| +(\S+)$", run.stderr, re.M))
    assert "dcmreport.cli.completion" in modules
    return run.stdout, modules


def test_tab_on_a_closed_set_imports_neither_dicom_library() -> None:
    offered, modules = tab("dcmreport listen --status pro")
    assert "processing-failure" in offered
    assert not {"pydicom", "pynetdicom"} & modules


def test_tab_offers_dicom_keywords() -> None:
    offered, modules = tab("dcmreport send-report PatientNa")
    assert "PatientName=" in offered.split()
    assert "pynetdicom" not in modules


@pytest.mark.speedups
def test_tab_imports_neither_pydantic_nor_pydicom() -> None:
    for line in ("dcmreport listen --status pro", "dcmreport send-report PatientNa"):
        _, modules = tab(line)
        assert not {"pydantic", "pydicom"} & modules, line


@pytest.mark.speedups
def test_every_option_is_converted_by_dcmreport() -> None:
    """A new kind of option that coercion does not know would bring pydantic back."""
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    commands = [group, *(group.get_command(ctx, name) for name in group.list_commands(ctx))]  # type: ignore[attr-defined]
    params = [param for command in commands for param in command.get_params(ctx)]
    assert len(params) > 100
    unknown = [p.name for p in params if coercion.runtime_param(p.type_descriptor) is None]
    assert unknown == []


def test_values_from_the_environment_are_converted() -> None:
    """DCMREPORT_FORMAT in capitals is a choice (case-insensitive). Bad values, from the
    command line or the environment, are tables of tests/cli/test_commands.py (in process)."""
    env = {**cli_env(), "DCMREPORT_FORMAT": "JSON"}
    run = dcmreport("echo", f"127.0.0.1:{unused_port()}", env=env)
    assert run.returncode == 3 and run.stdout.startswith("{")  # JSON, a connection refused


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["-q", "send-report", "--help"], "Send an N-EVENT-REPORT"),
        (["--help", "echo"], "send-report"),  # the group's help lists every command
        (["-v", "lsiten"], "did you mean 'listen'?"),
    ],
)
def test_help_and_suggestions_still_see_the_commands(args: list[str], shown: str) -> None:
    run = dcmreport(*args)
    assert shown in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


BUNDLES = (association, commit, listen, output, report, tls)


@pytest.mark.parametrize(("modules", "count"), [(BUNDLES, 17), ((records,), 17)])
def test_bundles_and_records_generate_no_eq_hash_repr_or_setattr(
    modules: tuple[ModuleType, ...], count: int
) -> None:
    """Each generated method is compiled at every start; these are never compared or printed,
    and are frozen to the type checker (dcmreport.frozen), not by a generated __setattr__."""
    classes = [
        kind
        for module in modules
        for kind in vars(module).values()
        if isinstance(kind, type)
        and dataclasses.is_dataclass(kind)
        and kind.__module__ == module.__name__
    ]
    assert len(classes) >= count  # found them all; one added later is checked too
    for kind in classes:
        assert not {"__eq__", "__hash__", "__repr__", "__setattr__", "__delattr__"} & set(
            vars(kind)
        ), kind


def test_bundles_and_records_are_frozen_to_the_type_checker(tmp_path: Path) -> None:
    """mypy --strict (tests/test_lint.py) refuses an assignment to a field of either."""
    code = tmp_path / "assign.py"
    code.write_text(
        "from dcmreport.cli.bundles.tls import Tls\n"
        "from dcmreport.dicom.records import ResponseStatus\n\n\n"
        "def change(status: ResponseStatus, tls: Tls) -> None:\n"
        "    status.code = 1\n"
        "    tls.tls = True\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", str(code)],
        cwd=Path(__file__).parent.parent.parent,  # the project's mypy cache
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert 'Property "code" defined in "ResponseStatus" is read-only' in run.stdout
    assert 'Property "tls" defined in "Tls" is read-only' in run.stdout


def test_a_setting_of_another_command_is_no_unknown_key(listen: Any, tmp_path: Path) -> None:
    """echo builds only echo's options; [defaults] may still set listen's --reply."""
    settings = tmp_path / "config.toml"
    settings.write_text('[defaults]\nreply = "echo"\nrepl = 1\n')
    env = {**cli_env(), "DCMREPORT_CONFIG": str(settings)}
    peer = f"ANY-SCP@127.0.0.1:{listen().port}"
    run = dcmreport("echo", peer, "--format", "json", env=env)
    assert run.returncode == 2  # the misspelt key, not the other command's
    assert "repl: unknown key in [defaults] (did you mean reply or repeat?)" in run.stderr
    settings.write_text('[defaults]\nreply = "echo"\n')
    run = dcmreport("echo", peer, "--format", "json", env=env)
    assert run.returncode == 0, run.stderr
