"""How the command line presents itself: help that reads like a manual, one style of error.

Typer 0.29 shows a Python type where a manual shows what a value is
(``<bool>`` after a flag, ``<list[str]>`` after an argument, ``<float range>
[x>=0]``), prints usage errors in a box of its own, and suggests commands by
spelling only. :class:`Command` and :class:`Group` correct that in one place:

* every value shows its metavar (``SECONDS``, ``UID``, ``AE@HOST:PORT``),
  a choice its choices, a flag nothing;
* each command's help ends with the exit codes that command can return
  (:data:`dcmreport.errors.COMMAND_EXIT_CODES`);
* a mistyped command gets a "did you mean" (``send`` -> ``send-report``);
* a usage error is printed like every other error, ``dcmreport: error: ...``
  and a hint naming ``--help``, and exits 2;
* values are converted by :mod:`dcmreport.cli.coercion`, without pydantic,
  while the speed trick ``typer-values`` is on (:mod:`dcmreport.speedups`);
  otherwise by Typer itself.

Typer vendors click as ``typer._click``, and the help's presentation builds
on Typer's parameter classes (``TyperOption``, ``_TyperParameter``): what
Typer pins below 0.30 in pyproject.toml, apart from any speed trick.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import typer
from typer._click import Context as ClickContext
from typer._click import Parameter
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer._click.utils import _escape_control_characters
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption, _TyperParameter

from dcmreport import speedups
from dcmreport.errors import COMMAND_EXIT_CODES, EXIT_CODE_HELP, ExitCode

if TYPE_CHECKING:
    from typer._coercion import RuntimeParam

PROG = "dcmreport"


def error(message: str, hint: str | None = None) -> None:
    """The one form of every error dcmreport prints."""
    typer.secho(f"{PROG}: error: {message}", fg="red", err=True)
    if hint:
        typer.secho(f"  hint: {hint}", err=True)


def metavar(param: Parameter, ctx: ClickContext) -> str | None:
    """What a parameter's value is, as help and man pages show it; None for a flag."""
    if getattr(param, "is_flag", False):
        return None
    if param.metavar:
        return param.metavar
    if isinstance(param, (TyperOption, TyperArgument)) and param.type_descriptor.is_choice:
        return param.display_type(ctx).strip("<>")  # auto|text|json
    return (param.name or "value").upper()


def exit_codes(codes: Iterable[ExitCode]) -> str:
    """An "Exit codes" section, one code a line (rich markup)."""
    rows = "\n".join(f"{code.value:<4} {EXIT_CODE_HELP[code]}" for code in codes)
    return f"[b]Exit codes[/b]\n{rows}"


class _PlainValues(_TyperParameter):
    """Values converted by :mod:`dcmreport.cli.coercion` where it knows their kind, while the
    trick ``typer-values`` is on; Typer's own conversion (pydantic) otherwise."""

    def get_runtime_param(self) -> RuntimeParam:
        if self._runtime_param is None and speedups.enabled("typer-values"):
            from dcmreport.cli import coercion  # reads Typer's internals: only for the trick

            self._runtime_param = coercion.runtime_param(self.type_descriptor)
        return self._runtime_param or super().get_runtime_param()


class _Option(_PlainValues, TyperOption):
    def display_type_rich(self, ctx: ClickContext) -> str | None:
        return metavar(self, ctx)

    def _get_number_range_help_str(self) -> str | None:
        return None  # "[x>=0]": the help text says what the range is where it matters


class _Argument(_PlainValues, TyperArgument):
    """An argument's metavar is written as the usage line shows it: ``[AE@HOST:PORT]``."""

    def display_type_rich(self, ctx: ClickContext) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        return self.metavar or super()._usage_display_name()


def _parse(
    parse: Callable[[ClickContext, list[str]], list[str]], ctx: ClickContext, args: list[str]
) -> list[str]:
    """Parse, naming the command in every usage error (so the hint names its --help).

    Typer's parser raises "requires an argument" without the context.
    """
    try:
        return parse(ctx, args)
    except UsageError as exc:
        exc.ctx = exc.ctx or ctx
        raise


def _as_manual(params: list[Parameter]) -> list[Parameter]:
    """Typer's own parameter objects, shown as a manual shows them (see the module docstring)."""
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = _Option
        elif type(param) is TyperArgument:
            param.__class__ = _Argument
    return params


class Command(TyperCommand):
    """A command whose help ends with its own exit codes."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.epilog = exit_codes(COMMAND_EXIT_CODES[self.name or ""])

    def get_params(self, ctx: ClickContext) -> list[Parameter]:
        return _as_manual(super().get_params(ctx))

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        """Parse; words left over are an error of ours, whose hint may fix what was typed."""
        allowed, ctx.allow_extra_args = ctx.allow_extra_args, True
        try:
            rest = _parse(super().parse_args, ctx, args)
        finally:
            ctx.allow_extra_args = allowed
        if rest and not allowed and not ctx.resilient_parsing:
            raise ExtraArguments(ctx, rest)
        return rest


class ExtraArguments(UsageError):
    """Words no parameter takes. ``echo pacs 104`` is DCMTK's habit (host and port as two
    words), so its hint is the one address ``pacs:104``."""

    def __init__(self, ctx: ClickContext, rest: list[str]) -> None:
        shown = " ".join(_escape_control_characters(word) for word in rest)  # as click shows them
        super().__init__(f"got unexpected extra argument(s) ({shown})", ctx)
        peer = ctx.params.get("peer")
        port = rest[0] if len(rest) == 1 and rest[0].isdigit() else None
        self.hint = (
            f"give the peer as one word HOST:PORT: {ctx.command_path} {peer}:{port}"
            if peer and port and ":" not in peer
            else None
        )


class UnknownCommand(typer.TyperException):
    """A command name that is none of ours; the hint suggests the nearest ones."""

    exit_code = ExitCode.USAGE

    def __init__(self, ctx: ClickContext, name: str, commands: Sequence[str]) -> None:
        super().__init__(f"no such command {name!r}")
        self.ctx = ctx
        near = [c for c in commands if c.startswith(name)] or difflib.get_close_matches(
            name, commands
        )
        help_ = f"'{ctx.command_path} --help'"
        guess = f"did you mean {' or '.join(map(repr, near))}? See " if near else "see "
        self.hint = guess + help_


class Group(TyperGroup):
    """The ``dcmreport`` command: suggests commands, prints usage errors as ours."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.epilog = exit_codes(ExitCode)

    def get_params(self, ctx: ClickContext) -> list[Parameter]:
        return _as_manual(super().get_params(ctx))

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        return _parse(super().parse_args, ctx, args)

    def resolve_command(
        self, ctx: ClickContext, args: list[str]
    ) -> tuple[str | None, TyperCommand | None, list[str]]:
        name = args[0]
        unknown = self.get_command(ctx, name) is None and not name.startswith("-")
        if unknown and not ctx.resilient_parsing:  # completing a name is no error
            raise UnknownCommand(ctx, name, self.list_commands(ctx))
        return super().resolve_command(ctx, args)  # type: ignore[return-value]

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Typer's main, with usage errors printed by :func:`usage_error` instead of a box."""
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:
            if not isinstance(exc, NoArgsIsHelpError):  # that one has printed the help
                usage_error(exc)
            code = exc.exit_code
        except typer.Abort:
            error("aborted")
            code = ExitCode.ERROR
        if not standalone_mode:
            return code
        sys.exit(int(code) if isinstance(code, int) else ExitCode.OK)


def usage_error(exc: typer.TyperException) -> None:
    """``dcmreport: error: no such option: --bogus`` and a hint naming the command's --help."""
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    hint = getattr(exc, "hint", None)
    if hint is None and isinstance(ctx, ClickContext):
        hint = f"see '{ctx.command_path} --help'"
    error(message[:1].lower() + message[1:].removesuffix("."), hint)
