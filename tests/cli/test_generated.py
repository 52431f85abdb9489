"""Generated files stay in step with the CLI, and every command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from dcmreport.cli.app import app
from dcmreport.cli.generate import completions, man_pages

ROOT = Path(__file__).parent.parent.parent
COMMANDS = list(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_man_pages_are_current() -> None:
    for name, text in man_pages().items():
        assert (ROOT / "man" / name).read_text() == text, (
            f"man/{name} is stale: run python -m dcmreport.cli.generate"
        )


def test_completions_are_current() -> None:
    for name, text in completions().items():
        assert (ROOT / "completions" / name).read_text() == text, (
            f"completions/{name} is stale: run python -m dcmreport.cli.generate"
        )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_a_man_page(command: str) -> None:
    assert set(COMMANDS) == {"echo", "send-report", "commit", "listen", "watch", "peers", "samples"}
    page = man_pages()[f"dcmreport-{command}.1"]
    assert ".SH OPTIONS" in page and ".SH EXIT STATUS" in page
    roff_name = command.replace("-", "\\-")
    assert f"dcmreport\\-{roff_name}(1)" in man_pages()["dcmreport.1"]


def _exit_status(page: str) -> set[str]:
    return set(re.findall(r"^\.B (\d+)$", page.split(".SH EXIT STATUS", 1)[1], re.M))


def test_man_pages_list_each_commands_own_exit_codes() -> None:
    pages = man_pages()
    assert _exit_status(pages["dcmreport-listen.1"]) == {"0", "1", "2", "5", "130"}
    assert _exit_status(pages["dcmreport-echo.1"]) == {"0", "1", "2", "3", "4", "130"}
    assert _exit_status(pages["dcmreport-send-report.1"]) == {"0", "1", "2", "3", "4", "7", "130"}
    every = {"0", "1", "2", "3", "4", "5", "6", "7", "130"}
    assert _exit_status(pages["dcmreport-commit.1"]) == every
    assert _exit_status(pages["dcmreport.1"]) == every


def test_man_pages_name_values_not_python_types() -> None:
    for name, page in man_pages().items():
        for line in page.splitlines():
            assert not re.search(r"\\fI(bool|str|int|float|list\[.*\])\\fR", line), (
                name,
                line,
            )
