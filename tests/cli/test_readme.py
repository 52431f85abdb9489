"""The README's commands: the demo works, and CI runs both test commands verbatim, in order."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
COMMANDS = re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)[:3]


def test_ci_runs_the_readme_test_commands() -> None:
    """The suite, then the suite in plain mode, each a line of .ci/run, the second right after
    the first (whose venv it runs in)."""
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    suite, plain = COMMANDS[1], COMMANDS[2]
    assert suite in ci and plain in ci
    assert ci.index(plain) == ci.index(suite) + 1
    assert plain.startswith('DCMREPORT_SPEEDUPS=off python -m pytest -m "not speedups" ')


def test_readme_demo_shows_both_sides() -> None:
    """The demo after its install step, with this environment's dcmreport on PATH."""
    install, demo = COMMANDS[0].split(" && pip install . && ", 1)
    assert install.startswith("python3 -m venv .venv")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(["bash", "-c", demo], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    received, response = (json.loads(line) for line in run.stdout.splitlines())
    patient = {
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "TEST"}]},
        "00100020": {"vr": "LO", "Value": ["ID"]},
        "00100040": {"vr": "CS", "Value": ["M"]},
    }
    assert (received["calling_aet"], received["called_aet"]) == ("ClientTest", "ServerTest")
    assert (received["sop_instance_uid"], received["event_type_id"]) == ("1.1.1.1.9999.2", 1)
    assert received["dataset"] == patient
    assert (response["status"], response["event_reply"]) == (0, patient)
