"""The settings file: ``[defaults]`` and named ``[peers.NAME]`` tables in TOML.

Integrators keep a handful of peers and switch between them all day; retyping
the address, the calling AE title and the timeouts on every command is where
mistakes come from. One TOML file names them once::

    [defaults]
    calling_aet = "DCMREPORT"

    [peers.pacs]
    address = "PACS@pacs.example:104"
    calling_aet = "MODALITY1"
    acse_timeout = 10

A key is the name of any option of any command (its bundle field name:
``acse_timeout`` for ``--acse-timeout``), so options added later can be set
here without touching this module; a peer table also has its ``address``.
This module only reads and checks the file's shape: which keys exist and on
which line. Whether a value suits its option is checked by the option's own
parser when a command applies it (:mod:`dcmreport.cli.precedence`), and every error
names the file, the line and the key (exit 2).

:mod:`tomllib` gives no positions, so a small scan of the text finds the line
of each table and key; the file is read once per process.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path
from typing import Any

from dcmreport.dicom.status import close_names
from dcmreport.errors import InputError
from dcmreport.frozen import frozen

ADDRESS = "address"
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER = re.compile(r"^\s*\[\s*([^\[\]#]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*["']?([A-Za-z0-9_-]+)["']?\s*=""")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def default_path() -> Path:
    """``$XDG_CONFIG_HOME/dcmreport/config.toml`` (``~/.config`` when it is unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "dcmreport" / "config.toml"


@frozen
class Setting:
    """One value of the file and the line it is on."""

    key: str
    value: Any
    line: int


@frozen
class Table:
    """``[defaults]`` or one ``[peers.NAME]``: its settings in file order."""

    title: str
    line: int
    settings: tuple[Setting, ...]

    def get(self, key: str) -> Setting | None:
        return next((s for s in self.settings if s.key == key), None)


@frozen
class ConfigFile:
    """The settings file as read; without a file, no defaults and no peers."""

    path: Path | None
    defaults: Table
    peers: dict[str, Table]

    def where(self, line: int) -> str:
        return f"{self.path}:{line}"

    def error(self, setting: Setting, message: str) -> InputError:
        """The one form of a bad value: ``FILE:LINE: KEY: why``."""
        return InputError(f"{self.where(setting.line)}: {setting.key}: {message}")

    def check_keys(self, known: frozenset[str]) -> None:
        """Every key is an option of some command (``known``), or a peer's address."""
        for table in (self.defaults, *self.peers.values()):
            for setting in table.settings:
                if setting.key in known or (setting.key == ADDRESS and table is not self.defaults):
                    continue
                near = close_names(setting.key, known)
                raise self.error(
                    setting,
                    f"unknown key in {table.title}"
                    + (f" (did you mean {' or '.join(near)}?)" if near else "")
                    + "; a key is an option's name with _ for -, as in acse_timeout",
                )

    def peer(self, word: str | None) -> Table | None:
        """The named peer ``word`` stands for, if it names one."""
        return self.peers.get(word) if word else None


_EMPTY = Table("[defaults]", 0, ())


@functools.lru_cache(maxsize=8)
def load(path: Path | None) -> ConfigFile:
    """The file given (``--config``, ``$DCMREPORT_CONFIG``), else the default one if it exists.

    A file named explicitly must exist; the default one is optional. Cached:
    the commands and their option bundles share one reading.
    """
    chosen = path or default_path()
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        if path is None:
            return ConfigFile(None, _EMPTY, {})
        raise InputError(f"{chosen}: no such settings file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{chosen}: cannot read the settings file: {exc}") from None
    return _parse(chosen, text)


def _parse(path: Path, text: str) -> ConfigFile:
    # Imported here: most runs have no settings file, and tomllib compiles its regexes on import.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_POSITION.search(message)
        where = f"{path}:{found[1]}" if found else str(path)
        raise InputError(
            f"{where}: not valid TOML: {_TOML_POSITION.sub('', message)}",
            "see the example in 'dcmreport peers --help'",
        ) from None
    lines = _Lines(text)
    config = ConfigFile(path, _EMPTY, {})
    for key, value in data.items():
        if key not in ("defaults", "peers") or not isinstance(value, dict):
            raise config_error(
                config,
                lines.table(key),
                key,
                "unknown key: the file holds a [defaults] table and [peers.NAME] tables",
            )
    defaults = _table(config, lines, "defaults", data.get("defaults", {}))
    peers = {
        name: _table(config, lines, f"peers.{name}", table)
        for name, table in data.get("peers", {}).items()
    }
    return ConfigFile(path, defaults, peers)


def config_error(config: ConfigFile, line: int, key: str, message: str) -> InputError:
    return InputError(f"{config.where(line)}: {key}: {message}")


def _table(config: ConfigFile, lines: _Lines, title: str, values: Any) -> Table:
    """One table and the line of each of its keys."""
    peer = title != "defaults"
    line = lines.table(title)
    name = title.removeprefix("peers.")
    if peer and (not isinstance(values, dict) or not _NAME.match(name)):
        raise config_error(
            config, line, title, "a peer is a table [peers.NAME], NAME of letters, digits, - and _"
        )
    settings: list[Setting] = []
    for key, value in values.items():
        where = lines.key(title, key)
        if key == ADDRESS and peer and not isinstance(value, str):
            raise config_error(config, where, key, "must be a string, AET@HOST:PORT")
        settings.append(Setting(key, value, where))
    if peer and not any(s.key == ADDRESS for s in settings):
        raise config_error(config, line, title, 'a peer needs its address = "AET@HOST:PORT"')
    return Table(f"[{title}]", line, tuple(settings))


class _Lines:
    """Where each table and key of a TOML text is: the first line that declares it."""

    def __init__(self, text: str) -> None:
        self._tables: dict[str, int] = {}
        self._keys: dict[tuple[str, str], int] = {}
        current = ""
        for number, line in enumerate(text.splitlines(), 1):
            header = _HEADER.match(line)
            if header:
                current = re.sub(r"""\s|["']""", "", header[1])
                self._tables.setdefault(current, number)
                continue
            key = _KEY.match(line)
            if key:
                self._keys.setdefault((current, key[1]), number)
                if not current:
                    self._tables.setdefault(key[1], number)

    def table(self, title: str) -> int:
        return self._tables.get(title, 1)

    def key(self, title: str, key: str) -> int:
        return self._keys.get((title, key), self.table(title))
