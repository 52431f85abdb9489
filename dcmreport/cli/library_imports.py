"""What a start keeps out of pydicom's and pynetdicom's imports, in one room.

The speed trick ``lean-imports`` (:mod:`dcmreport.speedups`, verified with
pydicom ``>=3.0.1,<3.1`` and pynetdicom ``>=3.0.4,<3.1``): ``import pydicom``
and ``import pynetdicom`` do work at import that dcmreport never needs.
``tests/cli/test_library_imports.py`` fails loudly when an upgrade changes
what an item relies on, and outside those versions the trick turns itself
off. :func:`install` applies them, explicitly, from the command line's one
error boundary (:func:`dcmreport.cli.app.run`), once the switch is known and
before either library is imported; importing this module or any other of
dcmreport's changes nothing. Each library is changed while it imports only:
afterwards it is the library as installed, with every function working.

1. pydicom's pixel machinery (``pydicom.pixels``, its decoders and encoders,
   ``pydicom.pixel_data_handlers`` and its six handler modules):
   ``pydicom/__init__``, ``pydicom.config`` and ``pydicom.dataset`` import it
   at import, and with it ``pydicom.data``, which imports ``urllib.request``,
   ``http.client`` and ``email`` for downloads: a large part of ``echo``'s
   start, for pixel data no command decodes. While ``import pydicom``
   runs, each of these modules is a :class:`_StandIn`; the names pydicom
   imports from them (:data:`_FORWARDED`, every one a function) are forwarders
   that import the real module when first called. Once pydicom is imported
   the stand-ins leave ``sys.modules``, so any later import (pydicom's own,
   inside a function) gets the real modules, and a stand-in still held as an
   attribute (``pydicom.config.pixel_data_handlers``, ``pydicom.pixels``)
   hands out the real module's attributes. A name pydicom imports from them
   that is not listed fails ``import pydicom`` at once, naming it.
2. ``pydicom.examples`` (the documentation's example data sets): imported by
   ``pydicom/__init__``, it looks up thirteen test files at import. A
   :class:`_StandIn` the same way, with no names forwarded.
3. pydicom's UID validation while pynetdicom imports: pynetdicom builds its
   tables of presentation contexts at import (hundreds of contexts of 4
   transfer syntaxes), and pydicom checks every one of these constant UIDs
   against a regular expression as it makes a ``UID``: work repeated at
   every start on UIDs that are known to be valid.
   ``config.settings.reading_validation_mode`` is IGNORE
   while ``import pynetdicom`` runs, then set back as it was (the private
   ``Settings._reading_validation_mode``, whose None means "derived from
   ``enforce_valid_values``", which the public setter cannot restore).
4. ``importlib.metadata`` while either library imports: ``pydicom._version``
   and ``pynetdicom._version`` ask it for their own version, and importing it
   imports ``email``, ``zipfile`` and ``csv`` for two strings. A
   :class:`_StandIn` whose ``version`` reads the version from the
   name of the ``NAME-VERSION.dist-info`` directory beside the package (the
   layout of a wheel install, PEP 427), and asks the real module whenever
   that is not exactly one directory (an editable or a system package).
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

_HANDLERS = ("numpy", "rle", "pillow", "jpeg_ls", "gdcm", "pylibjpeg")

# Item 1: the functions pydicom's own modules import, by name, from its pixel machinery.
_FORWARDED: dict[str, tuple[str, ...]] = {
    "pydicom.pixels": ("compress", "convert_color_space", "decompress", "pixel_array"),
    "pydicom.pixels.utils": (
        "get_image_pixel_ids",
        "iter_pixels",
        "pixel_array",
        "reshape_pixel_array",
        "set_pixel_data",
    ),
    "pydicom.pixel_data_handlers": (),
    **{f"pydicom.pixel_data_handlers.{name}_handler": () for name in _HANDLERS},
    "pydicom.examples": (),  # item 2
}
_PACKAGES = {"pydicom.pixels", "pydicom.pixel_data_handlers"}
_METADATA = "importlib.metadata"  # item 4


class _StandIn(types.ModuleType):
    """A module's place while a library imports (items 1, 2 and 4); afterwards, the real
    module's attributes."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system's probes: a plain module's answer
            raise AttributeError(name)
        if sys.modules.get(self.__name__) is self:
            raise ImportError(
                f"dcmreport.cli.library_imports: {name!r} is imported from {self.__name__} while "
                f"pydicom or pynetdicom imports, and no item provides it (a changed library?)"
            )
        return getattr(importlib.import_module(self.__name__), name)


def _forwarder(module: str, name: str) -> Callable[..., Any]:
    """``module.name`` as pydicom binds it at import: the real function, imported at the call."""

    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    forward.__module__, forward.__name__, forward.__qualname__ = module, name, name
    return forward


# The finder and loaders are duck-typed, as the import system takes them: subclassing
# importlib.abc's classes would import importlib.resources on every start.
class _Imports:
    """Stands in for modules while pydicom and pynetdicom import, and switches UID validation
    off during ``import pynetdicom``; leaves ``sys.meta_path`` once both are in."""

    def __init__(self) -> None:
        self.unfinished = {"pydicom", "pynetdicom"} - set(sys.modules)
        self._found: set[str] = set()
        self._loading: list[str] = []
        self._real_metadata = False

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> ModuleSpec | None:
        if self._stands_in_for(name):
            return ModuleSpec(name, cast("Loader", self), is_package=name in _PACKAGES)
        if name not in self.unfinished or name in self._found:
            return None
        self._found.add(name)
        spec = _real_spec(self, name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = cast("Loader", _Around(spec.loader, self._loaded(name)))
        return spec

    def _stands_in_for(self, name: str) -> bool:
        if name == _METADATA:
            return bool(self._loading) and not self._real_metadata
        return name in _FORWARDED and "pydicom" in self._loading

    def create_module(self, spec: ModuleSpec) -> types.ModuleType:
        module = _StandIn(spec.name)
        if spec.name == _METADATA:
            module.version = self._installed_version  # type: ignore[attr-defined]
        for name in _FORWARDED.get(spec.name, ()):
            setattr(module, name, _forwarder(spec.name, name))
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """A stand-in runs no code."""

    def _loaded(self, library: str) -> Callable[[Callable[[], None]], None]:
        """How ``library`` is imported: with the stand-ins, which then leave sys.modules."""

        def load(run: Callable[[], None]) -> None:
            self._loading.append(library)
            try:
                if library == "pynetdicom":
                    _without_uid_validation(run)
                else:
                    run()
            finally:
                self._loading.remove(library)
                for name in (*_FORWARDED, _METADATA):
                    if isinstance(sys.modules.get(name), _StandIn):
                        del sys.modules[name]
                self.unfinished.discard(library)
                if not self.unfinished and self in sys.meta_path:
                    sys.meta_path.remove(self)

        return load

    def _installed_version(self, distribution: str) -> str:
        """Item 4: the version in ``DISTRIBUTION-VERSION.dist-info`` beside the package, else
        the real ``importlib.metadata.version``."""
        package = getattr(sys.modules.get(distribution), "__file__", None)
        prefix, suffix = f"{distribution}-", ".dist-info"
        beside: list[str]
        try:
            beside = os.listdir(os.path.dirname(os.path.dirname(package))) if package else []
        except OSError:
            beside = []
        found = [entry for entry in beside if entry.startswith(prefix) and entry.endswith(suffix)]
        if len(found) == 1:
            return found[0][len(prefix) : -len(suffix)]
        self._real_metadata = True
        if isinstance(sys.modules.get(_METADATA), _StandIn):
            del sys.modules[_METADATA]
        return str(importlib.import_module(_METADATA).version(distribution))


def _without_uid_validation(run: Callable[[], None]) -> None:
    """Item 3: pynetdicom imports without pydicom checking its constant UIDs."""
    from pydicom import config

    before = config.settings._reading_validation_mode
    config.settings.reading_validation_mode = config.IGNORE
    try:
        run()
    finally:
        config.settings._reading_validation_mode = before


def _real_spec(
    skip: object, name: str, path: Sequence[str] | None, target: types.ModuleType | None
) -> ModuleSpec | None:
    """The spec the other finders give ``name``: the library as installed."""
    for finder in sys.meta_path:
        if finder is not skip:
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                return spec
    return None


class _Around:
    """The library's own loader, its module executed inside ``around``."""

    def __init__(self, loader: Loader, around: Callable[[Callable[[], None]], None]) -> None:
        self._loader = loader
        self._around = around

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        # The module keeps its real loader (resources, source, reloads), as if installed plainly.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._around(lambda: self._loader.exec_module(module))


def install() -> None:
    """Apply items 1 to 4 to the imports still to come; nothing when both libraries are in."""
    finder = _Imports()
    if finder.unfinished:
        sys.meta_path.insert(0, finder)
