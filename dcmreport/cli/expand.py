"""Option bundles: one command parameter that stands for a group of options.

Several commands share groups of options (the association options, the output
options) that together build one configuration object. Written out, each
command would repeat every option, its default and the assembly of the object.
Instead a bundle is a frozen dataclass whose fields are the options (each an
``Annotated`` Typer option with its default) and whose methods build the
configuration object; a command takes the bundle as one parameter.

Typer builds a command's options from ``inspect.signature``, which honours
``__signature__``: :func:`expand` gives the command a signature in which each
bundle parameter is replaced by its fields, and rebuilds the bundle from those
options when the command runs.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_type_hints

_R = TypeVar("_R")
_B = TypeVar("_B")


@functools.cache  # several commands share a bundle: its hints are resolved once
def _fields(bundle: type[Any]) -> tuple[inspect.Parameter, ...]:
    """A bundle's fields as keyword parameters, with their Typer annotations and defaults."""
    hints = get_type_hints(bundle, include_extras=True)
    return tuple(
        inspect.Parameter(
            field.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty
            if field.default is dataclasses.MISSING
            else field.default,
            annotation=hints[field.name],
        )
        for field in dataclasses.fields(bundle)
    )


def collect(bundle: type[_B], values: Mapping[str, Any]) -> _B:
    """The bundle built from a command's parsed values (``ctx.params``), its fields picked out."""
    return bundle(**{field.name: values[field.name] for field in dataclasses.fields(bundle)})  # type: ignore[arg-type]


def expand(command: Callable[..., _R]) -> Callable[..., _R]:
    """Let Typer see each dataclass parameter of ``command`` as the options it bundles.

    Other parameters (arguments, single options, a ``typer.Context``) stay as
    they are. Two bundles of one command may not share a field name: that
    would be one option meaning two things, so it fails at import.
    """
    hints = get_type_hints(command, include_extras=True)
    parameters: list[inspect.Parameter] = []
    bundles: dict[str, tuple[type[Any], list[str]]] = {}
    for name, parameter in inspect.signature(command).parameters.items():
        kind = hints[name]
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            fields = _fields(kind)
            bundles[name] = (kind, [field.name for field in fields])
            parameters += fields
        else:
            parameters.append(
                parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=kind)
            )
    names = [parameter.name for parameter in parameters]
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise TypeError(f"{command.__name__}: options declared twice: {', '.join(twice)}")

    @functools.wraps(command)
    def with_bundles(**options: Any) -> _R:
        built = {name: collect(bundle, options) for name, (bundle, _) in bundles.items()}
        for _, fields in bundles.values():
            for field in fields:
                del options[field]
        return command(**options, **built)  # after: a bundle may share a field's name (tls)

    with_bundles.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    with_bundles.__annotations__ = {p.name: p.annotation for p in parameters}
    return with_bundles
