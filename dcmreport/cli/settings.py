"""Named peers and settings applied to the commands; waiting for a peer; checking them all.

A value's source, highest first: the command line, the environment
(``DCMREPORT_<OPTION>``), the named peer's table, ``[defaults]``, the built-in
default. Click resolves the command line and the environment itself and
consults a context's ``default_map`` before the built-in default
(``ParameterSource.DEFAULT_MAP``), so :class:`ConfiguredCommand` only has to
build that map from the settings file (:mod:`dcmreport.configfile`), each
value checked by its option's own parser. The peer's table depends on the
PEER argument, which is known only once the command line is parsed: a first,
resilient parse (no callbacks, no errors) finds it and ``--config``.

A broken file is bad input like any other, so it is reported by the one error
boundary (``cli.run``, which gives scripts their JSON): the error is kept in
the context and raised by :func:`applied` when the command runs. The same
function logs, with ``-v``, each effective association setting and its source.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typer._click import Context as ClickContext
from typer._click.core import ParameterSource
from typer._click.exceptions import BadParameter, UsageError
from typer._click.globals import get_current_context

from dcmreport.cli.manual import Command
from dcmreport.cli.options import PANEL_ASSOC
from dcmreport.cli.settings_file import ADDRESS, ConfigFile, Table, load
from dcmreport.dicom.address import DEFAULT_PEER, Peer
from dcmreport.errors import AssociationError, DcmreportError
from dcmreport.frozen import frozen

if TYPE_CHECKING:
    from dcmreport.association.common import Settings
    from dcmreport.dicom.records import EchoResponse, PeerCheck

LOG = logging.getLogger("dcmreport")
_META = "dcmreport.settings"
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


def default_peer() -> str:
    return os.environ.get("DCMREPORT_PEER") or DEFAULT_PEER


@frozen
class Applied:
    """What the settings file gave a command: option values and where each came from."""

    default_map: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    error: DcmreportError | None = None


def settable() -> frozenset[str]:
    """Every option of every command, by name: what a table may set (``config`` excepted).

    Read from the commands' declarations (:func:`dcmreport.cli.option_names`),
    so a bundle added later (TLS settings) can be set in the file without a
    change here; not from the click tree, which holds only the command run.
    """
    from dcmreport.cli.app import option_names  # the table of commands, imported by now

    return option_names() - {"config"}


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
        ctx.meta[_META] = applied
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
            config.check_keys(settable())
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
    settings: Applied = ctx.meta.get(_META, Applied())
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


# --- echo --wait -----------------------------------------------------------------------------


def echo_until(
    echo: Callable[[Peer, Settings], EchoResponse], peer: Peer, settings: Settings, wait: float
) -> EchoResponse:
    """C-ECHO until the peer answers or ``wait`` seconds have passed; then its last error.

    For a CI job that starts an SCP: every attempt is short (its connect
    timeout capped to the time left), and attempts come every 0.2 s at most.
    """
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        timeout = min(settings.connect_timeout or left, left)
        try:
            return echo(peer, replace(settings, connect_timeout=max(timeout, 0.1)))
        except AssociationError as exc:
            if time.monotonic() + 0.2 >= deadline:
                raise AssociationError(
                    f"{exc} (still, after waiting {wait:g} s: --wait)", exc.hint
                ) from None
            LOG.info("no answer yet: %s", exc)
            time.sleep(0.2)


@contextmanager
def ready_file(path: Path | None, aet: str, bind: str) -> Iterator[Callable[[int], None]]:
    """``listen --ready-file``: gives ``ready(port)``, which writes ``AET@HOST:PORT`` there.

    A stale file from an earlier run must not say "ready", so it is removed
    first, and again at exit. It is written whole (a temporary file renamed
    into place), so a job polling for it never reads half an address. HOST is
    the bound address, loopback for a wildcard, so the line is a peer to call.
    """
    if path is None:
        yield lambda port: None
        return
    path.unlink(missing_ok=True)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(bind, bind)

    def ready(port: int) -> None:
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(f"{Peer(aet, host, port)}\n", encoding="utf-8")
        partial.replace(path)

    try:
        yield ready
    finally:
        path.unlink(missing_ok=True)


# --- peers --check ---------------------------------------------------------------------------


def check_all(ctx: ClickContext, config: ConfigFile) -> list[PeerCheck]:
    """Echo every named peer at once, each as ``dcmreport echo NAME`` would call it.

    Each peer's options are resolved by the echo command itself (same
    precedence, same checks); a dead peer costs its own timeouts, not the others'.
    """
    group = ctx.find_root().command
    echo_command = group.get_command(ctx, "echo")  # type: ignore[attr-defined]
    config_args = ["--config", str(config.path)] if config.path else []
    contexts = {
        name: echo_command.make_context("echo", [name, *config_args], parent=ctx.find_root())
        for name in config.peers
    }
    from concurrent.futures import ThreadPoolExecutor  # only peers --check: not on every start

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(contexts)))) as pool:
        return list(pool.map(lambda item: _check(config, *item), contexts.items()))


def _check(config: ConfigFile, name: str, sub: ClickContext) -> PeerCheck:
    from dcmreport.association import requestor
    from dcmreport.cli.bundles import RequestorAssociation
    from dcmreport.cli.expand import collect
    from dcmreport.dicom.records import PeerCheck

    address = resolve_peer(name, config.path).text
    try:
        error = sub.meta.get(_META, Applied()).error
        if error is not None:
            raise error
        association = collect(RequestorAssociation, sub.params)
        rsp = requestor.echo(association.peer(name), association.settings())
    except DcmreportError as exc:
        return PeerCheck(name, address, None, exc)
    return PeerCheck(name, address, rsp, None)
