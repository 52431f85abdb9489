"""``@frozen``: a dataclass that the type checker keeps immutable, cheap to create at start.

Records (:mod:`dcmreport.records`), option bundles (:mod:`dcmreport.config`)
and the other values dcmreport builds (settings, catalog entries, limits)
are built once and never assigned to. ``dataclass(frozen=True)`` would say so
at run time by compiling a ``__setattr__`` and a ``__delattr__`` for each
class, and by default an ``__eq__``, ``__hash__`` and ``__repr__`` too
(Python 3.11 compiles every generated method with ``exec`` at import): half a
millisecond to a millisecond per class on every start, and ``echo`` imports
about fifty. ``@frozen`` makes a plain dataclass without ``__eq__``,
``__hash__`` or ``__repr__`` (none of these is compared, hashed by value or
printed; a record's repr would quote patient data) and declares it frozen to
the type checker (PEP 681): mypy --strict, part of the suite, refuses an
assignment to a field, which is where a mistake would be made
(tests/test_lean_start.py pins both). ``dataclasses.replace``, ``fields`` and
``is_dataclass`` work as on any dataclass. Values that are compared or shown
(``Peer``, ``Status``, ``Key``) stay ``dataclass(frozen=True)``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TypeVar

_T = TypeVar("_T")

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - Python 3.10: the marker is for the type checker only
    from collections.abc import Callable
    from typing import Any

    def dataclass_transform(**_: Any) -> Callable[[_T], _T]:
        return lambda decorated: decorated


@dataclass_transform(frozen_default=True, eq_default=False, field_specifiers=(field,))
def frozen(cls: type[_T]) -> type[_T]:
    return dataclass(eq=False, repr=False)(cls)
