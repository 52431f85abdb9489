"""``@frozen``: a dataclass that the type checker keeps immutable, cheap to create at start.

Records (:mod:`dcmreport.dicom.records`), option bundles (:mod:`dcmreport.cli.bundles`)
and the other values dcmreport builds (settings, catalog entries, limits)
are built once and never assigned to. ``dataclass(frozen=True)`` would
compile, with ``exec`` at every start (Python 3.11), an ``__init__``, a
``__setattr__`` and a ``__delattr__`` for each class, and by default an
``__eq__``, ``__hash__`` and ``__repr__`` too, for each of the dozens of
classes ``echo`` imports.

``@frozen`` makes a dataclass that generates no method: all share one
``__init__`` (:func:`_init`, compiled once into this module's bytecode, which
takes arguments as the generated one would), and none has ``__eq__``,
``__hash__`` or ``__repr__`` (none of these values is compared, hashed by
value or printed; a record's repr would quote patient data). It is frozen to
the type checker (PEP 681): mypy --strict, part of the suite, refuses an
assignment to a field and checks every call against the fields, which is
where a mistake would be made. ``dataclasses.replace``, ``fields`` and
``is_dataclass`` work as on any dataclass. tests/test_frozen.py and
tests/cli/test_startup.py pin all of it. Values that are compared or shown
(``Peer``, ``Status``, ``Key``) stay ``dataclass(frozen=True)``.
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

_T = TypeVar("_T")

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - Python 3.10: the marker is for the type checker only
    from collections.abc import Callable

    def dataclass_transform(**_: Any) -> Callable[[_T], _T]:
        return lambda decorated: decorated


@dataclass_transform(frozen_default=True, eq_default=False, field_specifiers=(field,))
def frozen(cls: type[_T]) -> type[_T]:
    if cls.__doc__ is None:  # else dataclass writes one from inspect.signature: tokenize's regexes
        cls.__doc__ = cls.__name__
    made = dataclass(eq=False, repr=False, init=False)(cls)
    plan = tuple((f.name, f.default, f.default_factory) for f in fields(made))  # type: ignore[arg-type]
    made._init_plan = (plan, frozenset(name for name, _, _ in plan))  # type: ignore[attr-defined]
    if "__init__" not in vars(cls):
        made.__init__ = _init  # type: ignore[method-assign]
    return made


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    """The ``__init__`` of every :func:`frozen` class, as dataclass would generate it.

    One function, compiled once into the module's bytecode: dataclass would
    compile an ``__init__`` per class at every start. The type checker checks
    every call against the fields (PEP 681); this checks them again at run
    time, as the generated one would.
    """
    kind = type(self)
    plan, names = kind._init_plan
    if len(args) > len(plan):
        raise TypeError(f"{kind.__name__}() takes {len(plan)} arguments, {len(args)} given")
    values = self.__dict__
    for (name, _, _), value in zip(plan, args, strict=False):  # the first len(args) fields
        values[name] = value
    for name, value in kwargs.items():
        if name in values or name not in names:
            raise TypeError(f"{kind.__name__}() got an unexpected or repeated argument {name!r}")
        values[name] = value
    for name, default, factory in plan[len(args) :]:
        if name in values:
            continue
        if default is not MISSING:
            values[name] = default
        elif factory is not MISSING:
            values[name] = factory()
        else:
            raise TypeError(f"{kind.__name__}() missing argument {name!r}")
