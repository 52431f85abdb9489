"""dcmreport: send and receive DICOM N-EVENT-REPORT messages from the command line."""

__version__ = "0.1.0"
