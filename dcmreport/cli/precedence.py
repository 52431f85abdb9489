"""Where each option's value comes from: the command line, the environment, the settings file.

A value's source, highest first: the command line, the environment
(``DCMREPORT_<OPTION>``), the named peer's table, ``[defaults]``, the built-in
default. Click resolves the command line and the environment itself and
consults a context's ``default_map`` before the built-in default
(``ParameterSource.DEFAULT_MAP``), so :class:`ConfiguredCommand` only has to
build that map from the settings file (:mod:`dcmreport.cli.settings_file`), each
value checked by its option's own parser. The peer's table depends on the
PEER argument, which is known only once the command line is parsed: a first,
resilient parse (no callbacks, no errors) finds it and ``--config``.

A broken file is bad input like any other, so it is reported by the one error
boundary (``cli.app.run``, which gives scripts their JSON): the error is kept in
the context and raised by :func:`applied` when the command runs. The same
function logs, with ``-v``, each effective association setting and its source.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typer._click import Context as ClickContext
from typer._click.core import ParameterSource
from typer._click.exceptions import BadParameter, UsageError
from typer._click.globals import get_current_context

from dcmreport.cli.manual import Command
from dcmreport.cli.options import PANEL_ASSOC
from dcmreport.cli.settings_file import ADDRESS, ConfigFile, Table, load
from dcmreport.dicom.address import DEFAULT_PEER
from dcmreport.errors import DcmreportError, InputError
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    pass

LOG = logging.getLogger("dcmreport")
META = "dcmreport.settings"
_SOURCES = {
    ParameterSource.COMMANDLINE: "command line",
    ParameterSource.ENVIRONMENT: "environment",
    ParameterSource.DEFAULT: "built-in",
}


def peer_word(params: Mapping[str, Any]) -> str | None:
    """What stands for the peer: the PEER argument (send-report's first non-assignment)."""
    if params.get("peer"):
        return str(params["peer"])
    arguments = params.get("arguments") or []
    if arguments:
        key, is_assignment, _ = arguments[0].partition("=")
        if not is_assignment or "@" in key:
            return str(arguments[0])
    return None


def peer_file(word: str) -> str:
    """``@FILE``: the address ``listen --ready-file FILE`` wrote, so a job that let the
    listener pick its port (``--port 0``) calls it without reading the file in the shell."""
    path = Path(word[1:])
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InputError(
            f"{word}: cannot read the peer's address: {exc.strerror or exc}",
            "listen --ready-file FILE writes it once the listener accepts connections; "
            "echo --wait SECONDS @FILE waits for it",
        ) from None


def default_peer() -> str:
    return os.environ.get("DCMREPORT_PEER") or DEFAULT_PEER


@frozen
class Applied:
    """What the settings file gave a command: option values and where each came from."""

    default_map: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    error: DcmreportError | None = None


def settable(ctx: ClickContext) -> frozenset[str]:
    """Every option of every command, by name: what a table may set (``config`` excepted).

    Read from the command tree ``ctx`` belongs to, so an option added later
    (TLS settings) can be set in the file without a change here.
    """
    group = ctx.find_root().command
    commands = getattr(group, "commands", {}).values()
    return frozenset(
        param.name
        for command in commands
        for param in command.params
        if param.param_type_name == "option" and param.name and param.name != "config"
    )


class ConfiguredCommand(Command):
    """A command whose defaults come from the settings file: [defaults], then the peer's table."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: ClickContext | None = None,
        **extra: Any,
    ) -> ClickContext:
        if extra.get("resilient_parsing") or (parent is not None and parent.resilient_parsing):
            return super().make_context(info_name, args, parent, **extra)
        applied = self._apply(info_name, args, parent)
        ctx = super().make_context(
            info_name, args, parent, default_map=applied.default_map, **extra
        )
        ctx.meta[META] = applied
        return ctx

    def _apply(
        self, info_name: str | None, args: list[str], parent: ClickContext | None
    ) -> Applied:
        try:
            pre = super().make_context(info_name, list(args), parent, resilient_parsing=True)
        except UsageError:  # the real parse says what is wrong
            return Applied()
        try:
            config = load(pre.params.get("config"))
            config.check_keys(settable(pre))
            word = peer_word(pre.params) or default_peer()
            return _defaults(pre, config, config.peer(word))
        except DcmreportError as exc:
            return Applied(error=exc)


def _defaults(pre: ClickContext, config: ConfigFile, peer: Table | None) -> Applied:
    """The default map of [defaults] overlaid with the peer's table, each value checked."""
    options = {p.name: p for p in pre.command.get_params(pre) if p.param_type_name == "option"}
    applied = Applied()
    for table in (config.defaults, peer) if peer else (config.defaults,):
        for setting in table.settings:
            param = options.get(setting.key)
            if param is None:  # another command's option, or the peer's address
                continue
            value = setting.value
            if param.multiple and not isinstance(value, list):
                value = [value]
            try:
                param.process_value(pre, _as_text(value))
            except BadParameter as exc:
                raise config.error(setting, exc.message) from None
            applied.default_map[setting.key] = _as_text(value)
            applied.origins[setting.key] = f"{table.title} {config.where(setting.line)}"
    return applied


def _as_text(value: Any) -> Any:
    """TOML numbers as the command line gives them: text, which every parser takes."""
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return value if isinstance(value, (str, bool)) else str(value)


def applied() -> None:
    """At the start of a command: raise the settings file's error, else log each setting.

    With -v, each association option (and every option set by the environment
    or the file) is logged with its source; a value named like a password
    never is.
    """
    ctx = get_current_context(silent=True)
    if ctx is None:
        return
    settings: Applied = ctx.meta.get(META, Applied())
    if settings.error is not None:
        raise settings.error
    if not LOG.isEnabledFor(logging.INFO):
        return
    for param in ctx.command.get_params(ctx):
        name = param.name or ""
        source = ctx.get_parameter_source(name)
        shown = getattr(param, "rich_help_panel", None) == PANEL_ASSOC or source in (
            ParameterSource.ENVIRONMENT,
            ParameterSource.DEFAULT_MAP,
        )
        if param.param_type_name != "option" or not shown:
            continue
        where = (
            settings.origins.get(name)
            if source is ParameterSource.DEFAULT_MAP
            else _SOURCES.get(source)
            if source
            else None
        )
        value = "***" if "password" in name else ctx.params.get(name)
        LOG.info("setting %s = %s (%s)", name, value, where or "built-in")


@frozen
class Address:
    """The peer to call as written, what to call it in an error, and where it came from."""

    text: str
    what: str
    origin: str


def resolve_peer(given: str | None, config_path: Path | None) -> Address:
    """The PEER argument, else $DCMREPORT_PEER, else the built-in; a named peer's address."""
    env = os.environ.get("DCMREPORT_PEER")
    word = given or env or DEFAULT_PEER
    if word.startswith("@"):
        return Address(peer_file(word), word, f"file {word[1:]}")
    config = load(config_path)
    named = config.peer(word)
    if named is not None:
        address = named.get(ADDRESS)
        assert address is not None  # configfile checks that every peer has one
        where = config.where(address.line)
        return Address(str(address.value), f"{where}: address", f"{named.title} {where}")
    if given:
        return Address(word, "PEER", "command line")
    return Address(word, "DCMREPORT_PEER", "environment") if env else Address(word, "", "built-in")
