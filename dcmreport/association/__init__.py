"""The one association layer: the only package that uses pynetdicom.

* :mod:`~dcmreport.association.common`: settings, the AE, describing a negotiation;
* :mod:`~dcmreport.association.requestor`: ``echo`` and ``send_report``;
* :mod:`~dcmreport.association.command`: N-EVENT-REPORT command sets encoded
  and read by hand, for the fast path alone;
* :mod:`~dcmreport.association.batch`: ``send_batch``, many reports over one
  association (``send-report --batch``/``--repeat``);
* :mod:`~dcmreport.association.listener`: the ``Listener`` (SCP of every class);
* :mod:`~dcmreport.association.commit_scu` and
  :mod:`~dcmreport.association.commit_scp`: storage commitment's two halves
  (the modality's request and its result; the PACS's delivery of results);
* :mod:`~dcmreport.association.budget`: the memory budget shared by the data
  sets in flight across an acceptor's associations;
* :mod:`~dcmreport.association.internals`: every use of pynetdicom's internals,
  each listed with its reason, applied to our own associations only: the
  guards (``internals/guards.py``, always) and the fast path
  (``internals/fast_path.py``, only with ``DCMREPORT_SPEEDUPS`` on).

Import each name from its module: this package imports none of them, so
``echo`` and ``send-report`` load the requestor alone, not the listener
(lean start, issue 11). Importing it changes nothing in pynetdicom for other
code in the process.
"""
