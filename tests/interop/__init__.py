"""Interoperability tests against independent DICOM implementations (DCMTK, dcmjs-dimse).

A package on purpose: ``tests/interop/conftest.py`` then imports as ``interop.conftest``
and does not take the module name ``conftest`` of ``tests/conftest.py``.
"""
