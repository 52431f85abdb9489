"""Option values converted from text by dcmreport itself, without pydantic.

The speed trick ``typer-values`` (:mod:`dcmreport.speedups`, verified with
Typer ``>=0.29,<0.30``; :class:`dcmreport.cli.manual._PlainValues` asks
whether it is on). Typer 0.29 converts every value through a pydantic
``TypeAdapter``: the first value a command parses imports pydantic, a large
part of ``echo``'s whole run and more than all of ``--help`` for a TAB
(issue 11). Typer 0.28 has no pydantic but neither the parameter objects
:mod:`dcmreport.cli.manual` builds on. dcmreport's values are of a few plain
kinds (text, text through the option's own parser, a choice, a number in a
range, a path, a flag, a list of one of these), which :func:`runtime_param`
converts as Typer's adapters do; it gives None for any other kind, which
Typer then converts itself, as it converts everything with the trick off.

Typer's ``RuntimeParam`` (what ``get_runtime_param`` returns) and its choice
and path checks are Typer internals; ``tests/cli/test_startup.py`` checks
that every option of every command is converted here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import RuntimeParam, TypeDescriptor
from typer._param_types import choice_coercion_annotation, coerce_cli_choice, coerce_cli_path
from typer.core import _TyperParameter
from typer.models import ParameterInfo

# One value to its Python form; a ValueError says why it is not one.
Convert = Callable[[Any, _TyperParameter, Context], Any]

# As pydantic reads a flag's value from the environment or the settings file.
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"", "0", "off", "f", "false", "n", "no"})


@dataclass(frozen=True)
class _Plain(RuntimeParam):
    convert: Convert

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        try:
            return self.convert(value, param, ctx)
        except ValueError as exc:
            raise BadParameter(str(exc), ctx=ctx, param=param) from None


def runtime_param(descriptor: TypeDescriptor) -> RuntimeParam | None:
    """How to convert a parameter's values; None for a kind dcmreport does not use."""
    convert = _converter(descriptor.annotation, descriptor.parameter_info)
    if convert is None:
        return None
    return _Plain(descriptor.parameter_info, descriptor.annotation, convert)


def _converter(annotation: Any, info: ParameterInfo) -> Convert | None:
    if get_origin(annotation) is list:
        item = _converter(get_args(annotation)[0], info)
        return None if item is None else _each(item)
    parser = info.parser
    if parser is not None:
        return lambda value, param, ctx: parser(value)
    choice = choice_coercion_annotation(annotation, info)
    if choice is not None:
        choices, case_sensitive = choice
        return lambda value, param, ctx: coerce_cli_choice(
            value, choices=choices, case_sensitive=case_sensitive, ctx=ctx
        )
    if annotation is bool:
        return _flag
    if annotation is str:
        return lambda value, param, ctx: str(value)
    if annotation in (int, float) and not info.clamp:
        return _number(annotation, info.min, info.max)
    if isinstance(annotation, type) and issubclass(annotation, Path) and info.path_type is None:
        return _path(annotation, info)
    return None


def _each(item: Convert) -> Convert:
    def convert(value: Any, param: _TyperParameter, ctx: Context) -> list[Any]:
        values = value if isinstance(value, list | tuple) else [value]
        return [item(v, param, ctx) for v in values]

    return convert


def _flag(value: Any, param: _TyperParameter, ctx: Context) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(f"{value!r} is not a boolean (true/false, yes/no, 1/0, on/off)")


def _number(kind: type[int] | type[float], low: float | None, high: float | None) -> Convert:
    what = "an integer" if kind is int else "a number"

    def convert(value: Any, param: _TyperParameter, ctx: Context) -> int | float:
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not {what}") from None
        if low is not None and not number >= low:  # not >=: NaN is out of every range
            raise ValueError(f"must be at least {low} (not {value})")
        if high is not None and not number <= high:
            raise ValueError(f"must be at most {high} (not {value})")
        return number

    return convert


def _path(kind: type[Path], info: ParameterInfo) -> Convert:
    """Typer's own checks (file or directory, exists); the Path built here, not by pydantic."""

    def convert(value: Any, param: _TyperParameter, ctx: Context) -> Any:
        path = value if isinstance(value, kind) else kind(value)
        return coerce_cli_path(path, info, path_type=kind, param=param, ctx=ctx)

    return convert
