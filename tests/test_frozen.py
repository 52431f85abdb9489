"""dcmreport.frozen: its one ``__init__`` builds an instance as dataclass's generated one would."""

from __future__ import annotations

import dataclasses
from dataclasses import field

import pytest

from dcmreport.cli.bundles import report, tls
from dcmreport.dicom import records
from dcmreport.frozen import frozen


@frozen
class Base:
    """A base with a required field and a default."""

    a: int
    b: str = "b"


@frozen
class Child(Base):
    """Fields after the base's, one from a factory."""

    c: list[int] = field(default_factory=list)
    d: bool = False


def test_positional_keyword_and_defaults_in_field_order() -> None:
    assert vars(Child(1)) == {"a": 1, "b": "b", "c": [], "d": False}
    assert vars(Child(1, "x", [2], d=True)) == {"a": 1, "b": "x", "c": [2], "d": True}
    assert vars(Child(d=True, a=3)) == {"a": 3, "b": "b", "c": [], "d": True}
    assert Child(1).c is not Child(1).c  # a fresh value from the factory each time


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((1, "b", [], True, 5), {}, "Child() takes 4 arguments, 5 given"),
        ((1,), {"e": 2}, "Child() got an unexpected or repeated argument 'e'"),
        ((1,), {"a": 2}, "Child() got an unexpected or repeated argument 'a'"),
        ((), {"b": "x"}, "Child() missing argument 'a'"),
    ],
)
def test_wrong_arguments_fail_as_a_generated_init_would(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Child(*args, **kwargs)  # type: ignore[arg-type]


def test_replace_fields_and_is_dataclass_work() -> None:
    changed = dataclasses.replace(Child(1, c=[1]), b="y")
    assert vars(changed) == {"a": 1, "b": "y", "c": [1], "d": False}
    assert [f.name for f in dataclasses.fields(Child)] == ["a", "b", "c", "d"]
    assert dataclasses.is_dataclass(Child)


def test_an_own_init_is_kept() -> None:
    @frozen
    class Own:
        """Builds its field itself."""

        x: int

        def __init__(self) -> None:
            self.__dict__["x"] = 7

    assert Own().x == 7


def test_no_method_is_compiled_per_class() -> None:
    """The point: records and bundles share one __init__ and generate nothing else."""
    kinds = [Base, Child, records.ReportResponse, records.ContextInfo, report.Report, tls.Tls]
    assert {vars(kind)["__init__"] for kind in kinds} == {vars(Base)["__init__"]}
    assert not {"__eq__", "__repr__", "__setattr__", "__delattr__"} & set(vars(Child))
