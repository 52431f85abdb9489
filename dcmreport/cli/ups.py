"""UPS events end to end: ``watch`` until it is done, and ``listen --ups``'s event feed.

``watch`` accepts associations first (as the Receiving AE), then subscribes,
shows the N-ACTION-RSP (a Warning or Failure explained in a sentence, PS3.4
Table CC.2.3-3), waits for ``--count``, ``--until-state``, ``--timeout`` or
a signal while the events are shown as ``listen`` shows reports, and
unsubscribes on the way out unless ``--keep-subscription``. Its exit code:
0 when the stop condition was met (or on the first Ctrl-C / SIGTERM, as
``listen``), 5 on timeout, 4 when the subscription was refused, 3 for an
association that failed (the unsubscribe's too), 7 when an event report or
the N-ACTION-RSP broke the standard (``--accept-findings``: not).

``listen --ups`` reads ``--ups-events`` in a thread of its own: a regular
file is read and checked whole at start (a bad line is exit 2, nothing
sent), ``-`` and a FIFO line by line as they are written (a bad line is an
error line, skipped). Each event goes through the
:class:`~dcmreport.dicom.ups.Worklist` (which creates the UPS and subscribes
the global subscribers) to the :class:`~dcmreport.association.ups_scp.EventPusher`.
"""

from __future__ import annotations

import logging
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dcmreport.cli import readiness
from dcmreport.cli.batch_file import Line, parse_line
from dcmreport.cli.serve import StopOnSignal
from dcmreport.dicom import catalog, ups
from dcmreport.dicom.status import SUCCESS, WARNING, Status, category
from dcmreport.errors import AssociationError, ExitCode, FailureStatusError, InputError

if TYPE_CHECKING:
    from pydicom import Dataset

    from dcmreport.association.commit_scu import NewAssociations
    from dcmreport.association.common import Settings
    from dcmreport.association.ups_scp import EventPusher
    from dcmreport.dicom.address import Peer
    from dcmreport.dicom.ups import ActionResponse, SubscriptionAction
    from dcmreport.listen.watch import Watching
    from dcmreport.output.render import Renderer

LOG = logging.getLogger("dcmreport")


# --- watch ---------------------------------------------------------------------------------


def _show_action(renderer: Renderer, rsp: ActionResponse, peer: Peer) -> bool:
    """Show the N-ACTION-RSP and explain a Warning or Failure; True if it was accepted."""
    action, code = rsp.action, rsp.status.code
    explanation = ups.explain(code, action.receiving_ae, str(peer), action.instance)
    for finding in rsp.findings:
        renderer.warn(str(finding))
    renderer.subscription_response(rsp, explanation)
    accepted = category(code) in (SUCCESS, WARNING)
    if explanation and accepted:
        renderer.warn(explanation)
    return accepted


def one_action(
    peer: Peer, settings: Settings, action: SubscriptionAction, renderer: Renderer
) -> tuple[ExitCode, bool]:
    """``watch --unsubscribe`` or ``--suspend-global``: (exit code, findings seen)."""
    from dcmreport.association.ups_scu import subscription_action

    rsp = subscription_action(peer, settings, action)
    if _show_action(renderer, rsp, peer):
        return ExitCode.OK, bool(rsp.findings)
    raise _refused(rsp, peer)


def _refused(rsp: ActionResponse, peer: Peer) -> FailureStatusError:
    action = rsp.action
    why = ups.explain(rsp.status.code, action.receiving_ae, str(peer), action.instance)
    return FailureStatusError(f"{peer} refused the {action.name}: {Status(rsp.status.code)}", why)


def watch(
    peer: Peer,
    settings: Settings,
    action: SubscriptionAction,
    where: NewAssociations,
    watching: Watching,
    renderer: Renderer,
    timeout: float | None,
    keep: bool,
    ready_file: Path | None,
) -> tuple[ExitCode, bool]:
    """Accept, subscribe, wait, unsubscribe: (exit code, whether findings were seen)."""
    from dcmreport.association import commit_scu
    from dcmreport.association.ups_scu import subscription_action
    from dcmreport.dicom.ups import SubscriptionAction

    stop = StopOnSignal()
    stop.install()
    with commit_scu.accepting(where, watching) as accepting:  # type: ignore[arg-type]
        assert accepting is not None
        bind = where.options.bind
        renderer.note(
            f"dcmreport: accepting UPS event reports on {bind}:{accepting.port} as "
            f"{where.settings.ae_title}"
        )
        rsp = subscription_action(peer, settings, action)
        if not _show_action(renderer, rsp, peer):
            raise _refused(rsp, peer)
        findings = bool(rsp.findings)
        with readiness.ready_file(ready_file, where.settings.ae_title, bind) as ready:
            ready(accepting.port)
            met = _wait(watching, stop, timeout)
        if stop.requested.is_set():
            renderer.note("dcmreport: stopping (again to abort)")
        if not keep:
            undo = SubscriptionAction(ups.UNSUBSCRIBE, _unsubscribed(action), action.receiving_ae)
            renderer.note(f"dcmreport: unsubscribing {action.receiving_ae} from {undo.instance}")
            try:
                findings |= bool(one_action(peer, settings, undo, renderer)[1])
            except (AssociationError, FailureStatusError) as exc:
                renderer.warn(f"could not unsubscribe: {exc}")
                return ExitCode(exc.exit_code), findings
        else:
            renderer.note(f"dcmreport: keeping the subscription of {action.receiving_ae}")
    if met or stop.requested.is_set():
        return ExitCode.OK, findings or watching.broken > 0
    return ExitCode.NO_REPORT, findings or watching.broken > 0


def _unsubscribed(action: SubscriptionAction) -> str:
    """What undoes the subscription: the instance, or the Global Subscription instance for
    a global or filtered one (Table CC.2.3-2: "Unsubscribes Globally" ends both)."""
    return ups.GLOBAL_INSTANCE if action.instance == ups.FILTERED_INSTANCE else action.instance


def _wait(watching: Watching, stop: StopOnSignal, timeout: float | None) -> bool:
    """Until the stop condition (True), a signal or the timeout (False)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not watching.done():
        if stop.requested.wait(0.05):
            return False
        if deadline is not None and time.monotonic() >= deadline:
            return False
    return True


# --- listen --ups -------------------------------------------------------------------------


def read_events(source: str) -> Iterable[Line] | None:
    """A regular file's events, read and checked now; None for ``-`` or a FIFO (streamed)."""
    if source == "-":
        return None
    try:
        mode = Path(source).stat().st_mode
    except OSError as exc:
        raise InputError(f"--ups-events {source}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        return None
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--ups-events {source}: {exc}") from None
    lines = [
        parse_line(raw, n, f"--ups-events line {n}") for n, raw in enumerate(text.splitlines(), 1)
    ]
    return [_checked(line) for line in lines if line is not None]


def _checked(line: Line) -> Line:
    """A UPS Push event with an instance (the class may be left out)."""
    where = f"--ups-events line {line.number}"
    if line.sop_class is not None and catalog.resolve_class(line.sop_class) != ups.UPS_PUSH:
        raise InputError(f"{where}: a UPS event's class is ups-push, not {line.sop_class}")
    if not line.instance or not line.event:
        raise InputError(f'{where}: give "instance" and "event"')
    catalog.check_uid(line.instance, f"{where}: instance")
    catalog.resolve_event(ups.UPS_PUSH, line.event)
    return line


def feed(
    source: str,
    checked: Iterable[Line] | None,
    worklist: ups.Worklist,
    pusher: EventPusher,
    stopped: threading.Event,
    kept: Callable[[ups.Worklist], None],
) -> threading.Thread:
    """Push the events in a thread of their own, as they are read; ``kept`` is told of
    each change of the instances (--output-dir keeps them)."""

    def run() -> None:
        lines = checked if checked is not None else _streamed(source)
        for line in lines:
            if stopped.is_set():
                return
            ds = line.data if line.data is not None else _empty()
            event = catalog.resolve_event(ups.UPS_PUSH, str(line.event))
            deliveries = worklist.event(str(line.instance), event, ds)
            LOG.info(
                "--ups-events line %d: event %d of %s, %d report(s) to send",
                line.number,
                event,
                line.instance,
                len(deliveries),
            )
            kept(worklist)
            pusher.push(deliveries)

    thread = threading.Thread(target=run, name="ups-events", daemon=True)
    thread.start()
    return thread


def _streamed(source: str) -> Iterable[Line]:
    """Lines of stdin or a FIFO as written; a bad one is an error line, skipped."""
    stream: TextIO = sys.stdin if source == "-" else open(source, encoding="utf-8")  # noqa: SIM115
    with stream:
        for number, raw in enumerate(stream, 1):
            try:
                line = parse_line(raw, number, f"--ups-events line {number}")
                if line is not None:
                    yield _checked(line)
            except (InputError, ValueError) as exc:
                LOG.error("%s; skipped", exc)


def _empty() -> Dataset:
    from pydicom import Dataset

    return Dataset()


def status_change(worklist: ups.Worklist, pusher: EventPusher, restarted: bool, kept: bool) -> None:
    """SCP Status Change (event 4, PS3.4 CC.2.4.3) to every subscriber: RESTARTED at a
    start that read the table back (both lists kept: WARM START), GOING DOWN at the end,
    saying whether the next start will have them (``kept``: --output-dir)."""
    from pydicom import Dataset

    ds = Dataset()
    ds.SCPStatus = "RESTARTED" if restarted else "GOING DOWN"
    # the Enumerated Values as the catalog has them (CC.2.4.3): WARM START, else COLD START(ED)
    ds.SubscriptionListStatus = "WARM START" if kept else "COLD STARTED"
    ds.UnifiedProcedureStepListStatus = "WARM START" if kept else "COLD START"
    deliveries = worklist.status_change(ds)
    LOG.info(
        "SCP Status Change (%s) to %d subscriber(s)", ds.SCPStatus, len(worklist.subscribers())
    )
    pusher.push(deliveries)
