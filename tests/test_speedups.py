"""speedups.py: what the switch means, which versions keep a trick off, what -v says."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dcmreport import speedups


@pytest.mark.parametrize(
    ("value", "meaning"),
    [
        ("on", (True, frozenset())),
        ("", (True, frozenset())),
        ("ON", (True, frozenset())),
        ("off", (False, frozenset(speedups.TRICKS))),
        ("0", (False, frozenset(speedups.TRICKS))),
        ("-lean-imports", (True, frozenset({"lean-imports"}))),
        (" -uid-check, -json-model ", (True, frozenset({"uid-check", "json-model"}))),
    ],
)
def test_what_a_value_means(value: str, meaning: tuple[bool, frozenset[str]]) -> None:
    assert speedups.parse(value) == meaning


@pytest.mark.parametrize("value", ["maybe", "lean-imports", "-no-such-trick", "-lean-imports,on"])
def test_a_value_that_means_nothing_names_the_choices(value: str) -> None:
    with pytest.raises(speedups.SwitchError, match=r"is not one of 'on', 'off'"):
        speedups.parse(value)


@pytest.mark.parametrize(
    ("found", "within"),
    [
        ("3.0.4", True),
        ("3.0.10", True),
        ("3.0.3", False),
        ("3.1.0", False),
        ("3.1.0rc1", False),
        ("3.0.5.dev2", True),
        ("4", False),
        ("unknown", False),
    ],
)
def test_a_version_within_a_range(found: str, within: bool) -> None:
    assert speedups._within(found, "3.0.4", "3.1") is within


@pytest.fixture
def a_trick(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A trick verified with a pydicom range the installed one is not in."""
    trick = speedups.Trick("nowhere.py", "nothing", (("pydicom", "0.1", "0.2"),))
    monkeypatch.setitem(speedups.TRICKS, "old-trick", trick)
    speedups.reread()
    yield "old-trick"
    speedups.outside.cache_clear()
    speedups.reread()


def test_a_library_outside_the_verified_range_keeps_the_trick_off(
    a_trick: str, speedups_mode: Any, caplog: pytest.LogCaptureFixture
) -> None:
    speedups_mode("on")
    assert not speedups.enabled(a_trick)
    found = speedups.version("pydicom")
    assert speedups.outside(a_trick) == f"verified with pydicom >=0.1,<0.2, found {found}"
    with caplog.at_level(logging.INFO, logger="dcmreport"):
        speedups.report()
    said = [record.getMessage() for record in caplog.records]
    assert said[0].startswith("speedups: on")
    assert f"speedups: {a_trick} off: verified with pydicom >=0.1,<0.2, found {found}" in said


def test_off_and_left_out(speedups_mode: Any, caplog: pytest.LogCaptureFixture) -> None:
    speedups_mode("off")
    assert not any(speedups.enabled(name) for name in speedups.TRICKS)
    assert not speedups.on()
    with caplog.at_level(logging.INFO, logger="dcmreport"):
        speedups.report()
    assert [r.getMessage() for r in caplog.records] == [
        "speedups: off (DCMREPORT_SPEEDUPS=off or --speedups off): the plain path of every library"
    ]  # and no line per trick: none runs
    speedups_mode("-one-pass-decoder")
    assert speedups.on() and not speedups.enabled("one-pass-decoder")
    assert speedups.describe() == "speedups: on, but for one-pass-decoder"
    speedups_mode("maybe")  # the CLI refuses it; meanwhile nothing runs
    assert not speedups.on() and not speedups.enabled("uid-check")
    assert speedups.describe().startswith("speedups: off (DCMREPORT_SPEEDUPS: 'maybe' is not")


def test_the_environment_is_read_once_until_switched(speedups_mode: Any) -> None:
    speedups_mode("on")
    assert speedups.enabled("uid-check")
    speedups_mode("off")
    assert not speedups.enabled("uid-check")  # speedups_mode rereads, as switch() does
    speedups.switch("on")
    assert speedups.enabled("uid-check")
    with pytest.raises(speedups.SwitchError):
        speedups.switch("maybe")
    assert speedups.enabled("uid-check")  # a refused value changes nothing


def test_an_unknown_trick_is_a_mistake_in_dcmreport() -> None:
    with pytest.raises(KeyError, match="no speed trick 'one-pass'"):
        speedups.enabled("one-pass")


def test_a_version_is_read_without_importing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the dist-info directory beside the package: none, one, or two (unknown)."""
    (tmp_path / "fakelib").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    assert speedups.version("fakelib") is None
    (tmp_path / "fakelib-1.2.3.dist-info").mkdir()
    assert speedups.version("fakelib") == "1.2.3"
    assert "fakelib" not in sys.modules
    (tmp_path / "fakelib-1.2.4.dist-info").mkdir()
    assert speedups.version("fakelib") is None
    assert speedups.version("no_such_library_here") is None


def test_every_trick_names_its_place_and_a_verified_range() -> None:
    for name, trick in speedups.TRICKS.items():
        assert trick.where.startswith("dcmreport/") and trick.what, name
        for distribution, lowest, beyond in trick.verified:
            assert distribution in ("pydicom", "pynetdicom", "typer"), name
            assert speedups._numbers(lowest) < speedups._numbers(beyond), name
