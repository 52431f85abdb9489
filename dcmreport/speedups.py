"""The one switch for every speed trick, and the library versions each was verified against.

dcmreport is correct without any of what is listed in :data:`TRICKS`: each
makes pynetdicom, pydicom or Typer do the same work faster by reaching past
their public API, so each is one unit that can be turned off, and is turned
off by itself outside the library versions it was verified against. What
correctness and safety need (limits, deadlines, routing of requests, the
A-ABORT fixes; ``association/internals/guards.py``) is not a trick and is
never turned off.

The switch: ``DCMREPORT_SPEEDUPS=off`` in the environment, or ``dcmreport
--speedups off COMMAND`` (the option sets the same variable's value for the
process, before the command's options are read). ``on`` is the default. For
the benchmark, which pays for each trick with a figure of its own, the value
may also name tricks to leave out: ``DCMREPORT_SPEEDUPS=-one-pass-decoder``.
With ``-v`` the command says which mode runs, and names each trick that
turned itself off and why.

Nothing here imports the libraries: a version is read from the module when
it is imported, else from its ``NAME-VERSION.dist-info`` directory (what
pip writes), else it is unknown, which no range contains.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from dataclasses import dataclass

LOG = logging.getLogger("dcmreport")
ENV = "DCMREPORT_SPEEDUPS"


@dataclass(frozen=True)
class Trick:
    """A speed trick: where it lives, what it does, and the versions it was verified with."""

    where: str
    what: str
    verified: tuple[tuple[str, str, str], ...]  # (distribution, lowest, first one not verified)


TRICKS: dict[str, Trick] = {
    "association-fast-path": Trick(
        "dcmreport/association/internals/fast_path.py",
        "pynetdicom's threads wake on work instead of polling; a message is one write; "
        "command sets encoded and read by hand; requests served in order without a thread each",
        (("pynetdicom", "3.0.4", "3.1"),),
    ),
    "lean-imports": Trick(
        "dcmreport/cli/library_imports.py",
        "pydicom and pynetdicom import without what no command uses",
        (("pydicom", "3.0.1", "3.1"), ("pynetdicom", "3.0.4", "3.1")),
    ),
    "typer-values": Trick(
        "dcmreport/cli/coercion.py",
        "option values converted without pydantic",
        (("typer", "0.29", "0.30"),),
    ),
    "one-pass-decoder": Trick(
        "dcmreport/dicom/decoding.py",
        "a received data set decoded in one pass over its bytes",
        (("pydicom", "3.0.1", "3.1"),),
    ),
}


class SwitchError(ValueError):
    """``DCMREPORT_SPEEDUPS`` (or ``--speedups``) holds something it cannot mean."""


def _setting() -> tuple[bool, frozenset[str]]:
    """(on, tricks left out) from the environment."""
    value = os.environ.get(ENV, "on").strip().lower()
    if value in ("", "on", "1", "yes", "true"):
        return True, frozenset()
    if value in ("off", "0", "no", "false"):
        return False, frozenset(TRICKS)
    left_out = frozenset(name.strip().removeprefix("-") for name in value.split(","))
    unknown = sorted(left_out - set(TRICKS))
    if unknown or not all(name.strip().startswith("-") for name in value.split(",")):
        raise SwitchError(
            f"{ENV}={value!r}: give on, off, or tricks to leave out as -NAME,-NAME "
            f"(tricks: {', '.join(TRICKS)})"
        )
    return True, left_out


def on() -> bool:
    """Whether speed tricks are on at all (the mode ``-v`` reports)."""
    try:
        return _setting()[0]
    except SwitchError:
        return False


def enabled(name: str) -> bool:
    """Whether the trick ``name`` runs: the switch is on, it is not left out, and every
    library it bends is of a version it was verified with."""
    try:
        switched_on, left_out = _setting()
    except SwitchError:
        return False  # the command line reports the bad value; meanwhile, the plain path
    return switched_on and name not in left_out and _outside(name) is None


@functools.cache
def _outside(name: str) -> str | None:
    """Why a library's version keeps the trick ``name`` off, or None when none does."""
    for distribution, lowest, beyond in TRICKS[name].verified:
        found = version(distribution)
        if found is None or not _within(found, lowest, beyond):
            return (
                f"verified with {distribution} >={lowest},<{beyond}, "
                f"found {found or 'an unknown version'}"
            )
    return None


def report() -> None:
    """``-v``: the mode, and one line for each trick that a library's version turned off."""
    LOG.info("%s", describe())
    if not on():
        return
    for name in TRICKS:
        why = _outside(name)
        if why is not None:
            LOG.info("speedups: %s off: %s", name, why)


def version(distribution: str) -> str | None:
    """The installed version of ``distribution``, without importing it or importlib.metadata."""
    module = sys.modules.get(distribution)
    found = getattr(module, "__version__", None)
    if isinstance(found, str):
        return found
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        if distribution in names:  # the package itself: its dist-info is beside it, or nowhere
            prefix = f"{distribution}-"
            beside = [n for n in names if n.startswith(prefix) and n.endswith(".dist-info")]
            return beside[0][len(prefix) : -len(".dist-info")] if len(beside) == 1 else None
    return None


def _numbers(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split("."):
        digits = "".join(c for c in part if c.isdigit()) if part[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _within(found: str, lowest: str, beyond: str) -> bool:
    """``lowest <= found < beyond``, comparing release numbers (3.0.4, 0.29.2)."""
    number = _numbers(found)
    return bool(number) and _numbers(lowest) <= number < _numbers(beyond)


def describe() -> str:
    """The mode, for ``-v``: on, off, or on but for the tricks left out."""
    try:
        switched_on, left_out = _setting()
    except SwitchError as exc:
        return f"speedups: off ({exc})"
    if not switched_on:
        return f"speedups: off ({ENV}=off or --speedups off): the plain path of every library"
    if left_out:
        return f"speedups: on, but for {', '.join(sorted(left_out))}"
    return "speedups: on (DCMREPORT_SPEEDUPS=off or --speedups off for the plain path)"
