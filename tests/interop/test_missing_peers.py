"""A missing peer skips its tests locally (saying how to install it) and fails them in CI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from interop.support import (
    INSTALL_DCMJS,
    INSTALL_DCMTK,
    dcmjs_problem,
    dcmtk_problem,
    require_dcmjs,
    require_dcmtk,
)

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")


def fake_tool(path: Path, version_output: str) -> None:
    path.write_text(f"#!/bin/sh\necho '{version_output}'\n")
    path.chmod(0o755)


def test_dcmtk_missing_locally_skips_with_the_install_command(local: None, tmp_path: Path) -> None:
    assert dcmtk_problem(tmp_path) == f"DCMTK's {tmp_path}/echoscu not found"
    with pytest.raises(pytest.skip.Exception, match=INSTALL_DCMTK):
        require_dcmtk(tmp_path)


def test_dcmtk_missing_in_ci_fails(ci: None, tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=f"CI=true.*{INSTALL_DCMTK}"):
        require_dcmtk(tmp_path)


def test_pynetdicom_echoscu_is_not_taken_for_dcmtk(local: None, tmp_path: Path) -> None:
    """pynetdicom's console scripts of the same names must not pass for DCMTK."""
    for tool in ("echoscu", "storescp", "dcm2json"):
        fake_tool(tmp_path / tool, "echoscu.py v3.0.4")
    assert dcmtk_problem(tmp_path) == (
        f"{tmp_path}/echoscu is not DCMTK's (its --version does not say dcmtk)"
    )


def test_dcmjs_not_installed_locally_skips_with_the_install_command(
    local: None, tmp_path: Path
) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"dcmjs-dimse": "0.3.3"}}))
    assert dcmjs_problem(tmp_path) == (
        f"the npm package dcmjs-dimse is not installed in {tmp_path}/node_modules"
    )
    with pytest.raises(pytest.skip.Exception, match=re.escape(INSTALL_DCMJS)):
        require_dcmjs(tmp_path)


def test_dcmjs_wrong_version_in_ci_fails(ci: None, tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"dcmjs-dimse": "0.3.3"}}))
    installed = tmp_path / "node_modules" / "dcmjs-dimse"
    installed.mkdir(parents=True)
    (installed / "package.json").write_text(json.dumps({"version": "0.2.0"}))
    with pytest.raises(pytest.fail.Exception, match=re.escape("dcmjs-dimse 0.2.0 is installed")):
        require_dcmjs(tmp_path)


@pytest.mark.parametrize(("ci_value", "outcome"), [(None, "1 skipped"), ("true", "1 error")])
def test_a_run_without_node(ci_value: str | None, outcome: str) -> None:
    """The whole path, in a pytest run whose PATH has no node.

    In CI the fixture's ``pytest.fail`` makes the test an error at setup: the run fails.
    """
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(Path(sys.executable).parent)
    if ci_value:
        env["CI"] = ci_value
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rsf",
            "tests/interop/test_dcmjs.py::test_n_event_report[reference-dcmreport-to-dcmjs]",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome in run.stdout, run.stdout + run.stderr
    assert f"install it with: {INSTALL_DCMJS}" in run.stdout
    assert run.returncode == (1 if ci_value else 0)
