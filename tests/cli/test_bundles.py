"""The option bundles: one default per option, and each option reaching its configuration.

An option's default is written once, on its bundle field. The configuration
classes it builds (``Settings``, ``ListenOptions``, ``DatasetLimits``,
``Reaction``, ``ReportRequest``) keep defaults of their own because other code
builds them too (the tests, commit's result listener, the requestor's limits
for an Event Reply); :func:`test_every_default_agrees_with_the_configuration_it_builds`
proves that each of those equals the option's. Classes that only a bundle builds
(``BatchOptions``, ``CommitmentOptions``) have no defaults at all.

A new bundle goes into :data:`BUILDS` (or :data:`BUILDS_NOTHING`); a new
option's way into its configuration object is a row of :data:`REACHES`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, get_type_hints

import pytest
import typer
from helpers import command_group, parse

from dcmreport.cli.bundles import configured
from dcmreport.cli.bundles.association import AcceptorAssociation, RequestorAssociation
from dcmreport.cli.bundles.commit import ActionInformation, ResultWaiting
from dcmreport.cli.bundles.judging import Judging
from dcmreport.cli.bundles.listen import Acceptance, Answering, Committing
from dcmreport.cli.bundles.output import Output, ReportOutput, Verbosity
from dcmreport.cli.bundles.report import Batching, Report
from dcmreport.cli.bundles.slots import Slots
from dcmreport.cli.bundles.tls import ListenTls, Tls
from dcmreport.cli.bundles.ups import Subscribing, UpsEvents
from dcmreport.cli.expand import collect
from dcmreport.dicom.address import Peer
from dcmreport.frozen import frozen
from dcmreport.output.render import make_renderer

GROUP = command_group()


class Given(dict[type, Any]):
    """The bundles of one command line, by class; a bundle not given has its defaults."""

    def __missing__(self, kind: type) -> Any:
        return kind()


# What each bundle builds, by name, from the bundles of one command line.
BUILDS: dict[type, Callable[[Given], dict[str, Any]]] = {
    RequestorAssociation: lambda given: {"settings": given[RequestorAssociation].settings()},
    AcceptorAssociation: lambda given: {"settings": given[AcceptorAssociation].settings()},
    Acceptance: lambda given: {
        "listen_options": given[Acceptance].listen_options(given[AcceptorAssociation], given[Slots])
    },
    Slots: lambda given: {"slot_limits": given[Slots].limits()},
    Answering: lambda given: {"reaction": given[Answering].reaction()},
    Committing: lambda given: {"commitment_options": given[Committing].options(given[ListenTls])},
    Report: lambda given: {
        "report_request": given[Report].request([], make_renderer("json", quiet=True))
    },
    Batching: lambda given: {"batch_options": given[Batching].options(given[Judging])},
    ResultWaiting: lambda given: {
        "new_associations": given[ResultWaiting].new_associations(
            given[RequestorAssociation], given[Tls], given[Slots]
        )
    },
    Subscribing: lambda given: {
        "event_associations": given[Subscribing].new_associations(
            given[RequestorAssociation], given[Tls], given[Slots]
        )
    },
    UpsEvents: lambda given: {
        "ups_options": given[UpsEvents].options(given[Committing], given[ListenTls])
    },
}
# Bundles whose values reach no configuration class with defaults of its own: the output
# (a renderer, the log level), TLS (an SSL context), commit's Action Information (the data set),
# send-report's judging (the exit code; it reaches BatchOptions through Batching).
BUILDS_NOTHING = {Verbosity, Output, ReportOutput, Tls, ListenTls, ActionInformation, Judging}

# Options that have no default, given a value for the defaults test: any will do.
REQUIRED = Given(
    {Report: Report(event="1", instance="1.2.3.4"), ResultWaiting: ResultWaiting(port=0)}
)

# Where a default command line builds something else than the class's default, and why.
DIFFERENT = {
    (AcceptorAssociation, "Settings.transfer_syntaxes"): "a listener accepts all it knows",
    (AcceptorAssociation, "Settings.connect_timeout"): "a listener connects to no one",
    (ResultWaiting, "Settings.transfer_syntaxes"): "commit's result listener accepts all",
    (ResultWaiting, "Settings.connect_timeout"): "commit's result listener connects to no one",
    (ResultWaiting, "ListenOptions.port"): "commit --port has no default (REQUIRED)",
    (Subscribing, "Settings.transfer_syntaxes"): "watch's event listener accepts all",
    (Subscribing, "Settings.connect_timeout"): "watch's event listener connects to no one",
    (Subscribing, "ListenOptions.port"): "watch listens on 11113, not listen's 11112",
}


def commands_bundles() -> set[type]:
    """Every bundle a command (or the group's callback) takes."""
    callbacks = [GROUP.callback, *(c.callback for c in GROUP.commands.values())]
    return {
        kind
        for callback in callbacks
        for kind in get_type_hints(inspect.unwrap(callback)).values()
        if isinstance(kind, type) and dataclasses.is_dataclass(kind)
    }


def defaults_of(built: Any) -> Iterator[tuple[str, Any, Any]]:
    """``(Class.field, value, the class's default)`` for each field of a built configuration
    object that has a default, nested configuration objects too."""
    for field in dataclasses.fields(built):
        value = getattr(built, field.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            yield from defaults_of(value)
        elif field.default is not dataclasses.MISSING:
            yield f"{type(built).__name__}.{field.name}", value, field.default
        elif field.default_factory is not dataclasses.MISSING:
            yield f"{type(built).__name__}.{field.name}", value, field.default_factory()


def test_every_bundle_is_walked() -> None:
    """A new bundle is listed here: what it builds, or that it builds nothing with defaults."""
    assert commands_bundles() == set(BUILDS) | BUILDS_NOTHING


@pytest.mark.parametrize("bundle", BUILDS, ids=lambda kind: kind.__name__)
def test_every_default_agrees_with_the_configuration_it_builds(bundle: type) -> None:
    """What a command line without options builds is what the classes build by default."""
    found = {
        where: (value, default)
        for built in BUILDS[bundle](REQUIRED).values()
        for where, value, default in defaults_of(built)
    }
    disagree = {
        where: f"{value!r} from the option, {default!r} in the class"
        for where, (value, default) in found.items()
        if value != default and (bundle, where) not in DIFFERENT
    }
    assert disagree == {}
    stale = [w for (b, w) in DIFFERENT if b is bundle and found[w][0] == found[w][1]]
    assert stale == [], "no longer different: remove from DIFFERENT"


def test_every_parser_and_completion_can_be_called() -> None:
    """A declaration that names a field of its own class (``parser=wrap(port)`` in a class with
    a field ``port``) gets the field's default, not the function: the class body has
    assigned it by then."""
    for command in [GROUP, *GROUP.commands.values()]:
        for param in command.params:
            info = param.type_descriptor.parameter_info
            if info.parser is not None:
                with contextlib.suppress(typer.BadParameter):  # refused, as a parser may
                    info.parser("1")
            assert info.autocompletion is None or callable(info.autocompletion), param.name


def test_classes_only_a_bundle_builds_have_no_defaults() -> None:
    """Their one default is the option's."""
    from dcmreport.association.batch import BatchOptions
    from dcmreport.association.commit_scp import CommitmentOptions

    for kind in (BatchOptions, CommitmentOptions):
        assert all(
            f.default is f.default_factory is dataclasses.MISSING for f in dataclasses.fields(kind)
        ), kind


# --- each option reaches its configuration object --------------------------------------------


def built(command_line: str) -> dict[str, Any]:
    """What a command line builds, by name (BUILDS): its command's bundles collected from the
    parsed values, as the command does, then asked for their configuration objects."""
    argv = command_line.split()
    params = parse(argv)
    command = GROUP.commands[argv[1]]
    kinds = [
        kind
        for kind in get_type_hints(inspect.unwrap(command.callback)).values()
        if isinstance(kind, type) and dataclasses.is_dataclass(kind)
    ]
    given = Given({kind: collect(kind, params) for kind in kinds})
    return {
        name: value
        for kind in kinds
        if kind in BUILDS
        for name, value in BUILDS[kind](given).items()
    }


# A row: a command line, what it builds (a name of BUILDS, then attributes), and the value.
REACHES = [
    ("dcmreport listen --max-depth 5", "listen_options.dataset_limits.max_depth", 5),
    ("dcmreport listen --max-dataset-size 1MiB", "listen_options.dataset_limits.max_size", 2**20),
    ("dcmreport listen --max-elements 9", "listen_options.dataset_limits.max_elements", 9),
    ("dcmreport listen --pdu-timeout 2.5", "listen_options.pdu_timeout", 2.5),
    ("dcmreport listen --async-ops 8", "listen_options.async_ops", 8),
    ("dcmreport listen --memory-budget 1GiB", "listen_options.memory_budget", 2**30),
    ("dcmreport listen -p 104 -b 127.0.0.1", "listen_options.bind", "127.0.0.1"),
    ("dcmreport listen --max-associations 3", "listen_options.slots.max_associations", 3),
    ("dcmreport listen --max-waiting 4", "listen_options.slots.max_waiting", 4),
    ("dcmreport listen --first-pdu-timeout 2", "listen_options.slots.first_pdu_timeout", 2.0),
    ("dcmreport listen --max-per-address 2", "listen_options.slots.max_per_address", 2),
    ("dcmreport listen --allow-calling-aet A", "listen_options.allowed_calling_aets", ("A",)),
    ("dcmreport listen -x implicit", "listen_options.own_transfer_syntax_order", True),
    ("dcmreport listen --reject congestion", "listen_options.reject", (2, 3, 1)),
    ("dcmreport listen --aet ME --max-pdu 0", "settings.ae_title", "ME"),
    ("dcmreport listen --network-timeout 5", "settings.network_timeout", 5.0),
    ("dcmreport listen --status 0x0110", "reaction.status", 0x0110),
    ("dcmreport listen --answer-findings no", "reaction.answer_findings", False),
    ("dcmreport listen --reply echo", "reaction.echo_reply", True),
    ("dcmreport listen --exec-timeout 3", "reaction.exec_timeout", 3.0),
    ("dcmreport listen --delay 1", "reaction.delay", 1.0),
    ("dcmreport listen --commitment-delay 4", "commitment_options.delay", 4.0),
    ("dcmreport listen --commitment-retries 0", "commitment_options.retries", 0),
    ("dcmreport echo -aet MODALITY", "settings.ae_title", "MODALITY"),
    ("dcmreport echo --aet MODALITY", "settings.ae_title", "MODALITY"),
    ("dcmreport echo --calling-aet MODALITY", "settings.ae_title", "MODALITY"),
    ("dcmreport send-report --aet M -e 1 -i 1.2.3", "settings.ae_title", "M"),
    ("dcmreport echo --connect-timeout 0", "settings.connect_timeout", None),
    ("dcmreport echo --max-pdu 0", "settings.max_pdu", 0),
    ("dcmreport echo --implementation-version V1", "settings.implementation_version", "V1"),
    ("dcmreport send-report -e 1 -i 1.2.3 --message-id 7", "report_request.message_id", 7),
    ("dcmreport send-report -e 1 -i 1.2.3 --role scu", "report_request.role.value", "scu"),
    ("dcmreport send-report --window 4 -e 1 -i 1.2.3", "batch_options.window", 4),
    (
        "dcmreport send-report --stop-on-failure -e 1 -i 1.2.3",
        "batch_options.stop_on_failure",
        True,
    ),
    (
        "dcmreport send-report --accept-findings -e 1 -i 1.2.3",
        "batch_options.accept_findings",
        True,
    ),
    ("dcmreport commit P@h --port 0 --aet M", "new_associations.settings.ae_title", "M"),
    ("dcmreport commit P@h --port 0 --aet M", "settings.ae_title", "M"),
    (
        "dcmreport commit P@h --port 0 --aet M --result-aet R",
        "new_associations.settings.ae_title",
        "R",
    ),
    ("dcmreport commit P@h --port 0 -b ::1", "new_associations.options.bind", "::1"),
    ("dcmreport watch P@h 1.2.3 --port 0 -b ::1", "event_associations.options.bind", "::1"),
    ("dcmreport watch P@h 1.2.3 -p 7 --aet W", "event_associations.options.port", 7),
    ("dcmreport watch P@h 1.2.3 --aet W", "event_associations.settings.ae_title", "W"),
    ("dcmreport watch P@h 1.2.3 --aet W", "settings.ae_title", "W"),
    ("dcmreport listen --ups --commitment-retries 0", "ups_options.retries", 0),
    (
        "dcmreport listen --ups --peer W=127.0.0.1:7",
        "ups_options.peers",
        {"W": Peer("W", "127.0.0.1", 7)},
    ),
    (
        "dcmreport commit P@h --port 0 --max-per-address 1",
        "new_associations.options.slots.max_per_address",
        1,
    ),
    (
        "dcmreport commit P@h --port 0 --first-pdu-timeout 1",
        "new_associations.options.slots.first_pdu_timeout",
        1.0,
    ),
    (
        "dcmreport commit P@h --port 0 --memory-budget 1GiB",
        "new_associations.options.memory_budget",
        2**30,
    ),
]


@pytest.mark.parametrize(("command_line", "where", "value"), REACHES, ids=[r[0] for r in REACHES])
def test_an_option_reaches_its_configuration(command_line: str, where: str, value: Any) -> None:
    name, *attributes = where.split(".")
    assert functools.reduce(getattr, attributes, built(command_line)[name]) == value


# --- configured: a configuration object from a bundle, field by field ------------------------


@frozen
class _Bundle:
    port: int = 1
    bind: str = "here"
    prefix_delay: float = 2.0
    unrelated: bool = True


@frozen
class _Configuration:
    port: int
    bind: str = "there"
    delay: float = 0.0
    own: str = "own"


def test_configured_takes_same_named_fields_and_keeps_its_own_defaults() -> None:
    made = configured(_Configuration, _Bundle())
    assert vars(made) == {"port": 1, "bind": "here", "delay": 0.0, "own": "own"}


def test_configured_given_values_win_and_a_prefix_is_dropped() -> None:
    made = configured(_Configuration, _Bundle(), prefix="prefix_", port=3, own="given")
    assert vars(made) == {"port": 3, "bind": "there", "delay": 2.0, "own": "given"}


def test_configured_refuses_what_the_configuration_has_no_field_for() -> None:
    with pytest.raises(TypeError, match="unexpected or repeated argument 'nothing'"):
        configured(_Configuration, _Bundle(), nothing=1)
