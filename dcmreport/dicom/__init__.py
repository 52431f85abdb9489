"""DICOM data, no network: catalog, statuses, data sets, validation, storage commitment's
data, the records the layers exchange."""
