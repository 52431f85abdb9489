"""``peers --check``: C-ECHO every named peer at once, each with its own settings.

Imported by the ``peers`` command only: it brings the requestor, and pynetdicom with it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from typer._click import Context as ClickContext

from dcmreport.association import requestor
from dcmreport.cli.bundles.association import RequestorAssociation
from dcmreport.cli.expand import collect
from dcmreport.cli.precedence import META, Applied, resolve_peer
from dcmreport.cli.settings_file import ConfigFile
from dcmreport.dicom.records import PeerCheck
from dcmreport.errors import DcmreportError


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
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(contexts)))) as pool:
        return list(pool.map(lambda item: _check(config, *item), contexts.items()))


def _check(config: ConfigFile, name: str, sub: ClickContext) -> PeerCheck:
    address = resolve_peer(name, config.path).text
    try:
        error = sub.meta.get(META, Applied()).error
        if error is not None:
            raise error
        association = collect(RequestorAssociation, sub.params)
        rsp = requestor.echo(association.peer(name), association.settings())
    except DcmreportError as exc:
        return PeerCheck(name, address, None, exc)
    return PeerCheck(name, address, rsp, None)
