"""The one association layer: the only package that uses pynetdicom.

* :mod:`~dcmreport.association.common`: settings, the AE, describing a negotiation;
* :mod:`~dcmreport.association.requestor`: ``echo`` and ``send_report``;
* :mod:`~dcmreport.association.listener`: the ``Listener`` (SCP of every class);
* :mod:`~dcmreport.association.internals`: every use of pynetdicom's internals,
  each listed with its reason, applied to our own associations only.

Importing it changes nothing in pynetdicom for other code in the process.
"""

from dcmreport.association.common import Settings, association_info
from dcmreport.association.listener import Listener, ListenOptions, ReportHandler
from dcmreport.association.requestor import echo, send_report

__all__ = [
    "ListenOptions",
    "Listener",
    "ReportHandler",
    "Settings",
    "association_info",
    "echo",
    "send_report",
]
