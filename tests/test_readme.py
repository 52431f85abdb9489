"""The README, run: every block it offers for pasting, against real processes, as pasted.

How blocks are read and run is in ``readme_blocks.py``. Each README section is one test:
its sh blocks in order, in a fresh directory and network namespace, each on a terminal,
each checked for its exit status, its output (where the README shows it) and for
processes it left running. The one liberty taken: the quick start's install step
(``python3 -m venv .venv && . .venv/bin/activate && pip install .``) is this environment,
already installed; ``.ci/run`` runs the two test commands after it verbatim.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cli_env
from readme_blocks import Block, Namespace, blocks, matches, normalised

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
BLOCKS = blocks(README)
INSTALL = "python3 -m venv .venv && . .venv/bin/activate && pip install . && "
SECTIONS = list(dict.fromkeys(b.section for b in BLOCKS if b.language == "sh"))
TIMEOUT = 180


def runnable(block: Block) -> bool:
    return block.language == "sh" and not block.directive.startswith("not run:")


def expected_status(block: Block) -> int:
    return int(block.directive.split()[1]) if block.directive.startswith("exit ") else 0


def script(block: Block) -> str:
    return block.text.removeprefix(INSTALL) if block.text.startswith(INSTALL) else block.text


def environment() -> dict[str, str]:
    """A newcomer's shell: this environment's dcmreport first on PATH, no settings of ours."""
    env = cli_env()
    del env["COLUMNS"]  # the terminal's width decides, as on a user's terminal
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["TERM"] = "xterm"
    return env


@pytest.fixture
def section(tmp_path: Path) -> Iterator[Namespace]:
    namespace = Namespace(tmp_path, environment())
    try:
        yield namespace
    finally:
        namespace.close()


def no_process_left(namespace: Namespace, block: Block) -> None:
    """What a block started has ended. A process on its way out (a listener sent SIGTERM
    drains and exits) is waited for, however busy the machine: one left running (waiting
    for a --timeout of a minute) is still there when the wait ends."""
    deadline = time.monotonic() + 30
    while (left := namespace.left_running()) and time.monotonic() < deadline:
        time.sleep(0.05)
    namespace.kill_all()
    assert not left, f"{block.name}: left running: {left}"


def run_block(namespace: Namespace, block: Block) -> None:
    if block.directive == "background":
        namespace.background.append(namespace.start(script(block)))
        return
    status, shown = namespace.run(script(block), TIMEOUT)
    assert status == expected_status(block), f"{block.name}: exit {status}\n{shown}"
    if block.output is not None:
        expected, actual = normalised(block.output), normalised(shown)
        assert matches(expected, actual), (
            f"{block.name}: output differs\n--- README\n"
            + "\n".join(expected)
            + "\n--- shown\n"
            + "\n".join(actual)
        )
    no_process_left(namespace, block)


@pytest.mark.parametrize("name", SECTIONS)
def test_section_runs_as_pasted(section: Namespace, name: str) -> None:
    for block in (b for b in BLOCKS if b.section == name and runnable(b)):
        run_block(section, block)
    for terminal in section.background:
        assert terminal.interrupt(30) == 0, f"{name}: background block\n{terminal.shown()}"


def test_every_block_is_run_or_says_why() -> None:
    """A block offered for pasting runs; one kept out names why, and a transcript (a ``$``
    prompt) that is not run says so too."""
    for block in BLOCKS:
        if block.directive.startswith("not run:"):
            assert block.directive.removeprefix("not run:").strip(), block.name
        elif block.language == "" and block.text.startswith("$ "):
            pytest.fail(f"{block.name}: a transcript no test runs, without <!-- readme-test -->")
        else:
            assert block.directive in ("", "background") or block.directive.startswith("exit "), (
                f"{block.name}: unknown directive {block.directive!r}"
            )


def test_ci_runs_the_readme_test_commands() -> None:
    """The suite, then the suite in plain mode, each a line of .ci/run, the second right after
    the first (whose venv it runs in)."""
    commands = [b.text.strip() for b in BLOCKS if b.section == "Quick start"]
    suite, plain = commands[1], commands[2]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert suite in ci and plain in ci
    assert ci.index(plain) == ci.index(suite) + 1
    assert plain.startswith('DCMREPORT_SPEEDUPS=off python -m pytest -m "not speedups" ')


def test_the_quick_start_fails_visibly_and_stops_its_listener(tmp_path: Path) -> None:
    """A part that fails (here the report: a dcmreport whose send-report exits 4) ends the
    quick start with that part's status, and its listener is not left running."""
    shim = tmp_path / "bin" / "dcmreport"
    shim.parent.mkdir()
    real = Path(sys.executable).parent / "dcmreport"
    shim.write_text(f'#!/bin/sh\n[ "$1" = send-report ] && exit 4\nexec {real} "$@"\n')
    shim.chmod(0o755)
    [quick] = [b for b in BLOCKS if b.text.startswith(INSTALL)]
    env = environment()
    env["PATH"] = f"{shim.parent}{os.pathsep}{env['PATH']}"
    namespace = Namespace(tmp_path, env)
    try:
        status, shown = namespace.run(script(quick), TIMEOUT)
        assert status == 4, shown
        no_process_left(namespace, quick)
    finally:
        namespace.close()
