"""The one association layer: the only package that uses pynetdicom.

* :mod:`~dcmreport.association.common`: settings, the AE, describing a negotiation;
* :mod:`~dcmreport.association.requestor`: ``echo``, ``send_report`` and
  ``request_commitment`` (storage commitment, the modality side);
* :mod:`~dcmreport.association.command`: N-EVENT-REPORT command sets encoded
  and read by hand, the hot path's;
* :mod:`~dcmreport.association.batch`: ``send_batch``, many reports over one
  association (``send-report --batch``/``--repeat``);
* :mod:`~dcmreport.association.listener`: the ``Listener`` (SCP of every class);
* :mod:`~dcmreport.association.results`: where a storage commitment result
  arrives (the ``ResultInbox``, on the request's association or a new one);
* :mod:`~dcmreport.association.internals`: every use of pynetdicom's internals,
  each listed with its reason, applied to our own associations only.

Import each name from its module: this package imports none of them, so
``echo`` and ``send-report`` load the requestor alone, not the listener
(lean start, issue 11). Importing it changes nothing in pynetdicom for other
code in the process.
"""
