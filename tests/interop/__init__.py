"""Interoperability tests against independent DICOM implementations (DCMTK, dcmjs-dimse).

A package on purpose: ``tests/interop/conftest.py`` then imports as ``interop.conftest``
and does not take the module name ``conftest`` that the tests in ``tests/`` import
their helpers from (``from conftest import dcmreport``).
"""
