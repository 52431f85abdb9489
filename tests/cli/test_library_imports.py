"""cli/library_imports.py: what pydicom and pynetdicom skip at import, and that it is safe.

The trick ``lean-imports`` itself, so marked ``speedups``; the last test, that
commands read and keep Part 10 files, holds in either mode.

Each check runs in a fresh interpreter (``python -c``), as the entry point
does, since this test process imported pydicom long ago. When an upgrade of
pydicom changes what its import takes from its pixel modules, or pynetdicom
what it validates, a test here fails first and names it.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from helpers import cli_env, dcmreport
from pydicom import Dataset, config, dcmread
from pydicom.uid import UID, generate_uid

from dcmreport.cli import library_imports

# What items 1, 2 and 4 keep out: the pixel machinery, example data, the download chain and
# importlib.metadata with the email package.
SKIPPED = re.compile(r"^(pydicom\.(pixels|pixel_data_handlers|examples|data)\b|urllib\.request$"
                     r"|http\.client$|importlib\.metadata$|email$)")  # fmt: skip


def fresh(code: str) -> str:
    """Run ``code`` in a new interpreter after :func:`install`; its stdout."""
    prelude = "from dcmreport.cli import library_imports\nlibrary_imports.install()\n"
    run = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(),
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.speedups
@pytest.mark.parametrize("first", ["pydicom", "pynetdicom"])
def test_the_libraries_import_without_the_pixel_machinery(first: str) -> None:
    """Items 1 and 2, whichever library comes first; then the finder is gone."""
    out = fresh(f"""
        import sys
        import {first}
        import pydicom, pynetdicom
        print(sorted(sys.modules))
        print([type(f).__name__ for f in sys.meta_path])
    """)
    modules, finders = out.splitlines()
    assert [m for m in eval(modules) if SKIPPED.match(m)] == []
    assert "_Imports" not in finders


@pytest.mark.speedups
def test_after_the_import_pixel_functions_are_pydicoms_own() -> None:
    """Forwarders reach the real functions; later imports and held stand-ins get real modules."""
    out = fresh("""
        import pydicom
        from pydicom import Dataset, dataset
        try:
            Dataset().pixel_array
        except AttributeError as exc:
            print(exc)
        import pydicom.pixels, pydicom.pixels.decoders.base
        print(type(pydicom.pixels).__name__, pydicom.pixels.get_decoder.__module__)
        print(dataset.compress.__name__, dataset.compress.__module__)
        handler = pydicom.config.pixel_data_handlers[0]
        print(handler.__name__, handler.supports_transfer_syntax.__module__)
        print(pydicom.examples.ct.Modality)
    """)
    assert out.splitlines() == [
        "Unable to decode the pixel data as the dataset's 'file_meta' has no (0002,0010) "
        "'Transfer Syntax UID' element",
        "module pydicom.pixels.decoders.base",
        "compress pydicom.pixels",
        "pydicom.pixel_data_handlers.numpy_handler pydicom.pixel_data_handlers.numpy_handler",
        "CT",
    ]


@pytest.mark.speedups
def test_every_forwarded_name_is_a_function_of_its_module() -> None:
    """A forwarder only calls: a class or a constant imported by name would be wrong."""
    import importlib

    for module, names in library_imports._FORWARDED.items():
        real = importlib.import_module(module)
        for name in names:
            assert inspect.isfunction(getattr(real, name)), (module, name)


@pytest.mark.speedups
def test_a_name_pydicom_imports_that_is_not_forwarded_fails_loudly() -> None:
    """As if pydicom started importing one more name from its pixel machinery."""
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            from dcmreport.cli import library_imports
            library_imports._FORWARDED["pydicom.pixels"] = ("compress",)
            library_imports.install()
            import pydicom
        """)],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(),
    )  # fmt: skip
    assert run.returncode == 1
    assert "'convert_color_space' is imported from pydicom.pixels while pydicom" in run.stderr


@pytest.mark.speedups
def test_uid_validation_is_back_after_pynetdicom_imports() -> None:
    """Item 3: what it relies on, and that an invalid UID warns again afterwards."""
    assert "config.settings.reading_validation_mode" in inspect.getsource(UID.__new__)
    assert config.settings._reading_validation_mode is None  # what the private attribute holds
    out = fresh("""
        import warnings
        import pynetdicom
        from pydicom import config
        from pydicom.uid import UID
        print(config.settings._reading_validation_mode)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            UID("1.02.x")
        print(len(caught))
    """)
    assert out.splitlines() == ["None", "1"]


@pytest.mark.speedups
def test_the_versions_are_those_importlib_metadata_gives() -> None:
    """Item 4: read from the dist-info directory names; afterwards the real module is there."""
    out = fresh("""
        import pydicom, pynetdicom
        print(pydicom.__version__, pynetdicom.__version__, pynetdicom.PYNETDICOM_IMPLEMENTATION_UID)
        import importlib.metadata
        print(type(importlib.metadata).__name__, importlib.metadata.version("typer"))
    """)
    assert out.splitlines() == [
        f"{version('pydicom')} {version('pynetdicom')} 1.2.826.0.1.3680043.9.3811."
        + version("pynetdicom"),
        f"module {version('typer')}",
    ]


@pytest.mark.speedups
def test_a_version_without_one_dist_info_directory_is_asked_of_importlib_metadata() -> None:
    """An editable or a system install: no NAME-VERSION.dist-info beside the package."""
    finder = library_imports._Imports()
    assert finder._installed_version("pytest") == version("pytest")  # a wheel's dist-info
    assert not finder._real_metadata
    assert finder._installed_version("dcmreport") == version("dcmreport")  # editable: asked
    assert finder._real_metadata


@pytest.mark.speedups
def test_nothing_changes_without_install() -> None:
    run = subprocess.run(
        [sys.executable, "-c", "import dcmreport.cli.app, pydicom, sys; print('pydicom.pixels' in "
         "sys.modules)"],
        capture_output=True, text=True, timeout=60, env=cli_env(),
    )  # fmt: skip
    assert run.stdout.strip() == "True"


def test_part10_files_are_read_and_kept_by_commands(tmp_path: Path, listen: Any) -> None:
    """send-report --commit reads a Part 10 file, listen --output-dir writes one: both through
    the entry point, so with items 1 to 3 applied while the trick is on, and without in plain
    mode."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = generate_uid()
    ds.PatientID = "P1"
    ds.PixelData = b"\0" * 8
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated = ds.BitsStored = 16
    ds.SamplesPerPixel = 1
    ds.PixelRepresentation = 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.HighBit = 15
    ds.save_as(tmp_path / "ct.dcm", implicit_vr=True, little_endian=True, enforce_file_format=True)
    kept = tmp_path / "kept"
    listener = listen("--count", "1", "--output-dir", str(kept))
    sent = dcmreport(
        "send-report", f"ANY-SCP@127.0.0.1:{listener.port}", "--commit", str(tmp_path / "ct.dcm"),
        "--format", "json",
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert listener.finish(sig=None) == 0
    [part10] = kept.glob("*.dcm")
    [item] = dcmread(part10).ReferencedSOPSequence
    assert item.ReferencedSOPInstanceUID == ds.SOPInstanceUID
