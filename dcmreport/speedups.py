"""The one switch for every speed trick, and the library versions each was verified against.

dcmreport is correct without any of what is listed in :data:`TRICKS`: each
makes pynetdicom, pydicom or Typer do the same work faster by reaching past
their public API, so each is one unit that can be turned off, and is turned
off by itself outside the library versions it was verified against. Each
place that has a trick asks :func:`enabled` and otherwise takes the plain
path: the library's own public way of doing the same thing. What
correctness and safety need (limits, deadlines, routing of requests, the
A-ABORT fixes; ``association/internals/guards.py``) is not a trick and is
never turned off.

``@frozen`` (:mod:`dcmreport.frozen`) is not a trick either: it makes
dcmreport's own dataclasses cheap to define and bends no library, so there
is nothing for a library's new version to break and nothing to turn off.

The switch: ``DCMREPORT_SPEEDUPS=off`` in the environment, or ``dcmreport
--speedups off COMMAND`` (the option calls :func:`switch`, which sets the
same variable for the process before the command's own options are read).
``on`` is the default. For the benchmark, which pays for each trick with a
figure of its own, the value may also name tricks to leave out:
``DCMREPORT_SPEEDUPS=-one-pass-decoder,-lean-imports``. With ``-v`` the
command says which mode runs, and names each trick that a library's version
turned off and why (:func:`report`).

The environment is read once, at the first question, because some tricks
are asked about once per value on hot paths; :func:`switch` (the option)
and :func:`reread` (tests that change the variable) make the next question
read it again.

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
_ON = ("", "on", "1", "yes", "true")
_OFF = ("off", "0", "no", "false")


@dataclass(frozen=True)
class Trick:
    """A speed trick: where it lives, what it saves, and the versions it was verified with."""

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
        "pydicom and pynetdicom import without what no command uses (pixel machinery, "
        "example data, importlib.metadata, the validation of pynetdicom's constant UIDs)",
        (("pydicom", "3.0.1", "3.1"), ("pynetdicom", "3.0.4", "3.1")),
    ),
    "typer-values": Trick(
        "dcmreport/cli/coercion.py",
        "option values converted by dcmreport, without Typer's pydantic adapters "
        "(no command imports pydantic)",
        (("typer", "0.29", "0.30"),),
    ),
    "one-pass-decoder": Trick(
        "dcmreport/dicom/decoding.py",
        "a received data set decoded in one pass over its bytes, not read lazily and then "
        "converted element by element",
        (("pydicom", "3.0.1", "3.1"),),
    ),
    "json-model": Trick(
        "dcmreport/dicom/dataset.py (_from_model)",
        "the text and sequence elements of a DICOM JSON model built directly, not through "
        "Dataset.from_json's converter and value checks",
        (("pydicom", "3.0.1", "3.1"),),
    ),
    "uid-check": Trick(
        "dcmreport/dicom/dataset.py (is_valid_uid)",
        "a UI value checked with pydicom's own UID pattern and length at once, not through "
        "pydicom's validator's calls",
        (("pydicom", "3.0.1", "3.1"),),
    ),
    "keyword-completion": Trick(
        "dcmreport/cli/completion.py (_keywords)",
        "TAB's DICOM keywords read from pydicom's private _dicom_dict.py alone, without "
        "importing pydicom",
        (("pydicom", "3.0.1", "3.1"),),
    ),
}


class SwitchError(ValueError):
    """``DCMREPORT_SPEEDUPS`` (or ``--speedups``) holds something it cannot mean."""


def parse(value: str) -> tuple[bool, frozenset[str]]:
    """(on, tricks left out) that ``value`` means; SwitchError naming the choices otherwise."""
    text = value.strip().lower()
    if text in _ON:
        return True, frozenset()
    if text in _OFF:
        return False, frozenset(TRICKS)
    words = [word.strip() for word in text.split(",")]
    left_out = frozenset(word.removeprefix("-") for word in words)
    if not all(word.startswith("-") for word in words) or left_out - set(TRICKS):
        raise SwitchError(
            f"{value!r} is not one of 'on', 'off' (or tricks to leave out, -NAME,-NAME, "
            f"of {', '.join(TRICKS)})"
        )
    return True, left_out


@functools.cache
def _setting() -> tuple[bool, frozenset[str]] | SwitchError:
    """What the environment says, read once (:func:`switch` and :func:`reread` forget it)."""
    try:
        return parse(os.environ.get(ENV, "on"))
    except SwitchError as exc:
        return exc


def switch(value: str) -> None:
    """Set the switch for this process and its children (``--speedups``); SwitchError when
    ``value`` means nothing."""
    parse(value)
    os.environ[ENV] = value
    reread()


def reread() -> None:
    """Forget the environment's value: the next question reads it again."""
    _setting.cache_clear()
    enabled.cache_clear()


def on() -> bool:
    """Whether speed tricks are on at all (the mode ``-v`` reports)."""
    setting = _setting()
    return not isinstance(setting, SwitchError) and setting[0]


@functools.cache
def enabled(name: str) -> bool:
    """Whether the trick ``name`` runs: the switch is on, it is not left out, and every
    library it bends is of a version it was verified with. A value the switch cannot
    mean gives the plain path (the command line reports it as a usage error)."""
    if name not in TRICKS:
        raise KeyError(f"no speed trick {name!r} in speedups.TRICKS")
    setting = _setting()
    if isinstance(setting, SwitchError):
        return False
    switched_on, left_out = setting
    return switched_on and name not in left_out and outside(name) is None


@functools.cache
def outside(name: str) -> str | None:
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
        why = outside(name)
        if why is not None:
            LOG.info("speedups: %s off: %s", name, why)


def version(distribution: str) -> str | None:
    """The installed version of ``distribution``, without importing it or importlib.metadata
    (which costs what the lean imports save)."""
    module = sys.modules.get(distribution)
    found = getattr(module, "__version__", None)
    if isinstance(found, str):
        return found
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        # The package itself (a directory: the console script's own folder, first on sys.path,
        # holds a script of the same name): its dist-info is beside it, or nowhere.
        if distribution in names and os.path.isdir(os.path.join(entry or ".", distribution)):
            prefix = f"{distribution}-"
            beside = [n for n in names if n.startswith(prefix) and n.endswith(".dist-info")]
            return beside[0][len(prefix) : -len(".dist-info")] if len(beside) == 1 else None
    return None


def _numbers(text: str) -> tuple[int, ...]:
    """The release numbers of a version, up to the first part that is not one (3.1.0rc1: 3.1.0)."""
    parts = []
    for part in text.split("."):
        digits = part[: len(part) - len(part.lstrip("0123456789"))]
        if not digits:
            break
        parts.append(int(digits))
        if digits != part:
            break
    return tuple(parts)


def _within(found: str, lowest: str, beyond: str) -> bool:
    """``lowest <= found < beyond``, comparing release numbers (3.0.4, 0.29.2)."""
    number = _numbers(found)
    return bool(number) and _numbers(lowest) <= number < _numbers(beyond)


def describe() -> str:
    """The mode, for ``-v``: on, off, or on but for the tricks left out."""
    setting = _setting()
    if isinstance(setting, SwitchError):
        return f"speedups: off ({ENV}: {setting})"
    switched_on, left_out = setting
    if not switched_on:
        return f"speedups: off ({ENV}=off or --speedups off): the plain path of every library"
    if left_out:
        return f"speedups: on, but for {', '.join(sorted(left_out))}"
    return f"speedups: on ({ENV}=off or --speedups off for the plain path)"
