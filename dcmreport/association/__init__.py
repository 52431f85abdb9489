"""The one association layer: the only package that uses pynetdicom.

* :mod:`~dcmreport.association.common`: settings, the AE, describing a negotiation;
* :mod:`~dcmreport.association.requestor`: ``echo``, ``send_report`` and
  ``request_commitment`` (storage commitment, the modality side);
* :mod:`~dcmreport.association.batch`: ``send_batch``, many reports over one
  association (``send-report --batch``/``--repeat``);
* :mod:`~dcmreport.association.listener`: the ``Listener`` (SCP of every class);
* :mod:`~dcmreport.association.results`: where a storage commitment result
  arrives (the ``ResultInbox``, on the request's association or a new one);
* :mod:`~dcmreport.association.internals`: every use of pynetdicom's internals,
  each listed with its reason, applied to our own associations only.

Importing it changes nothing in pynetdicom for other code in the process.
"""

from dcmreport.association.batch import BatchOptions, send_batch
from dcmreport.association.common import Settings, association_info
from dcmreport.association.listener import (
    CommitmentService,
    Listener,
    ListenOptions,
    ReportHandler,
    ResultHandler,
)
from dcmreport.association.requestor import echo, request_commitment, send_report
from dcmreport.association.results import NewAssociations, ResultInbox, accepting

__all__ = [
    "BatchOptions",
    "CommitmentService",
    "ListenOptions",
    "Listener",
    "NewAssociations",
    "ReportHandler",
    "ResultHandler",
    "ResultInbox",
    "Settings",
    "accepting",
    "association_info",
    "echo",
    "request_commitment",
    "send_batch",
    "send_report",
]
