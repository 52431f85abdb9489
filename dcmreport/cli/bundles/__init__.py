"""The option bundles of the commands, one module per area, and what they share.

A bundle is a frozen dataclass whose fields are options: each field is
declared once, ``Annotated`` with its ``typer.Option`` (names, help, metavar,
panel, parser) and followed by its default, the only default the option has
on the command line. :mod:`dcmreport.cli.expand` turns a command's bundle
parameters into Typer options; the field's name is the option's key in the
settings file and its name in ``ctx.params``. Methods build the configuration
objects the rest of dcmreport works with (``Settings``, ``ListenOptions``,
``Reaction``, a ``ReportRequest``, ...) with :func:`configured`, which takes
every field of the same name from the bundle, so a field is not restated
there. Values that need checking against each other or against files are
checked there and fail as :class:`~dcmreport.errors.InputError` (exit 2),
before any association is opened.

Adding an option to a command is three code sites in two files:

1. its field in the bundle: ``max_depth: Annotated[int, typer.Option("--max-depth",
   ...)] = 32``;
2. the field of the same name in the configuration class it configures
   (``DatasetLimits.max_depth``), which :func:`configured` fills;
3. where that value is used.

Then ``python -m dcmreport.cli.generate`` for the man pages. A configuration
class that other code builds too keeps a default of its own;
``tests/cli/test_bundles.py`` proves that every such default equals the option's.

The modules: :mod:`.output`, :mod:`.association`, :mod:`.tls`, :mod:`.listen`,
:mod:`.slots` (listen's and commit's), :mod:`.report`, :mod:`.commit`. None
declares ``from __future__ import annotations``: the option declarations are
built once, when the module is imported, not compiled from strings at every
start. Nothing here imports pynetdicom or pydicom at import time: ``--help``
stays fast. Bundles are built once per run and never compared, hashed or
printed: :func:`~dcmreport.frozen.frozen` dataclasses, immutable to the type
checker and cheap to create at every start (tests/cli/test_startup.py pins
it).
"""

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from dcmreport.errors import InputError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_T = TypeVar("_T")
_R = TypeVar("_R")
_C = TypeVar("_C", bound="DataclassInstance")


def configured(
    kind: type[_C], bundle: "DataclassInstance", /, prefix: str = "", **given: Any
) -> _C:
    """A ``kind`` configuration object: each field ``bundle`` has by the same name, and ``given``.

    ``given`` are the values converted on the way (a status name to its code,
    a list to a tuple) or named otherwise in the configuration; they win over
    the bundle's. With ``prefix``, the bundle's field ``prefix + name`` fills
    ``name`` (``commitment_delay`` is a ``CommitmentOptions.delay``). A field
    the bundle has no option for keeps the class's own default; a ``given``
    name that is no field of ``kind`` is a TypeError, as in any constructor.
    """
    options = {
        field.name.removeprefix(prefix): field.name
        for field in dataclasses.fields(bundle)
        if field.name.startswith(prefix)
    }
    taken = {
        field.name: getattr(bundle, options[field.name])
        for field in dataclasses.fields(kind)
        if field.name in options and field.name not in given
    }
    return kind(**taken, **given)


def parsed(what: str, parse: Callable[[_T], _R], value: _T) -> _R:
    """``parse(value)``, its ValueError a usage error (exit 2) that names the option."""
    try:
        return parse(value)
    except ValueError as exc:
        raise InputError(f"{what}: {exc}") from None
