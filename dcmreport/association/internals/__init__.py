"""Every use of pynetdicom's internals, in two rooms: the guards and the fast path.

pynetdicom 3.0 has no public way to do several things a test tool must do,
and does others slower than dcmreport needs. Each use is listed here with its
reason and the internal it reads; ``tests/association/test_internals.py``
fails loudly when a pinned internal moves (pynetdicom is pinned to
``>=3.0.4,<3.1``). All of them are applied to dcmreport's own associations,
one at a time, when the listener or the requestor sets them up: importing
dcmreport changes nothing in pynetdicom for other code in the same process.

:mod:`~dcmreport.association.internals.guards` holds what correctness and
safety need: always applied, never switched off.
:mod:`~dcmreport.association.internals.fast_path` holds what exists only for
speed: applied when :func:`fast_path_on` (``DCMREPORT_SPEEDUPS`` is not
``off``, the trick ``association-fast-path`` is not left out, and pynetdicom
is within the versions :data:`dcmreport.speedups.TRICKS` gives it). With it
off, nothing imports or calls the fast path, and pynetdicom does that work
its own way: a thread per N-EVENT-REPORT, its command sets built by pydicom,
a command and its data set as two PDUs, its polling loops, Nagle's algorithm.

The guards
----------

1. ``Association._serve_request`` (per association,
   :func:`~guards.serve_requests`): pynetdicom picks the service for a
   request from its Affected SOP Class UID, so an N-EVENT-REPORT about a
   storage class gets a C-STORE-RSP and one about an unknown class aborts the
   association. We take every request before that lookup (the listener
   serves N-EVENT-REPORT, storage commitment's N-ACTION and refuses the rest)
   and leave C-ECHO to pynetdicom. It reads ``_accepted_cx`` for the context
   and sets ``_is_paused`` as pynetdicom does while a service runs on the
   association's own thread (only there: pynetdicom's thread per
   N-EVENT-REPORT must not clear a pause the loop is really in). A response
   that pynetdicom's loop takes while our sender waits for it goes back on
   ``dimse.msg_queue`` (item 14's race, for ``send_n_event_report`` and
   ``send_n_action``); and ``dimse.get_msg``: a request that such a sender
   takes off ``msg_queue`` as its response (a requester's next N-ACTION while
   the listener waits for the answer to a storage commitment result) is served
   in a thread of its own, and the sender waits on for its response.
2. ``DULServiceProvider.send_pdu`` (per association,
   :class:`~guards.DeliveryTracker`): to learn whether an answer reached the
   socket we count the P-DATA primitives queued for the peer, and
   ``EVT_DATA_SENT`` (public) counts those written.
3. ``DIMSEServiceProvider.send_msg`` and the ``N_EVENT_REPORT`` primitive
   (:func:`~guards.send_response`, :func:`~guards.send_message`): we build
   and send the response ourselves, so the status is exactly the one decided
   (pynetdicom's service classes rewrite unknown ones). On the plain path the
   response is pynetdicom's primitive, sent by ``send_msg``; so is a batch's
   request. ``send_msg`` queues a message PDU by PDU, and several threads may
   send on one association (pynetdicom's thread per report, a storage
   commitment result, an answer): it holds a lock per association while it
   queues one message (:func:`~guards.whole_messages`), so that no fragment of
   another message comes between (PS3.8 9.3.5, Annex E).
5. ``ACSE.send_reject`` and ``Association.kill`` (:func:`~guards.reject`):
   pynetdicom rejects only for its own reasons; ``--reject`` needs any result,
   source and reason, sent from ``EVT_REQUESTED`` as pynetdicom itself does.
6. pynetdicom's log text (:class:`~guards.Diagnostics`): why a connection
   failed or which timeout expired is only logged ("TCP Initialisation
   Error", "ACSE timeout", "DIMSE timeout", "No accepted presentation
   contexts"). It also keeps the A-ASSOCIATE-RJ as it is decoded (the public
   ``EVT_PDU_RECV``): a rejection that closes the connection before
   pynetdicom's requestor checks it is taken by pynetdicom for a failed
   connection.
7. ``Association.send_n_event_report`` reads ``EventReply`` off whatever
   response arrives, and ``send_n_action`` ``ActionReply``; a C-ECHO-RSP
   instead raises AttributeError (:func:`~guards.send_report_request` and
   :func:`~guards.send_action_request` turn that into "no status"). Each takes
   the next response as its own, so they go one at a time per association
   (storage commitment results are delivered from threads of their own).
8. ``DULServiceProvider._read_pdu_data``, ``_decode_pdu``, ``_recv_pdu``,
   ``event_queue``, ``to_user_queue`` and ``_kill_thread``
   (:class:`~guards.BoundedReader`): pynetdicom reads whatever length a PDU
   header claims, blocking without a deadline; ours refuses an oversized PDU
   from its header, gives a whole PDU one deadline and counts data set bytes
   as they arrive. A connection that closes before its A-ASSOCIATE-RQ, seen
   by our reader or closed by pynetdicom itself (``EVT_CONN_CLOSE``: after an
   A-ABORT for a PDU out of turn), ends the acceptor's wait for one at once
   (``to_user_queue.put(None)`` is what an ACSE timeout looks like to it), so
   it frees its slot. An A-ASSOCIATE-RQ or A-ABORT whose primitive pynetdicom
   cannot make (``to_primitive``, which it calls in its own thread and dies
   of) is answered with an A-ABORT (2, 6) here instead. Also
   ``DIMSEServiceProvider.receive_primitive`` and ``StateMachine.do_action``
   (:func:`~guards.bound_reading`): a command pynetdicom cannot decode, or an
   event its state table does not allow, kills the reader's thread without an
   A-ABORT; we send one. For an acceptor's memory budget, the same
   ``receive_primitive`` gets each data set fragment paid for first
   (:func:`~guards.bound_reading`, ``dcmreport.association.budget``): the
   buffer ``DIMSEMessage.decode_msg`` writes fragments into,
   ``message.data_set``, is replaced by one that pays for what is written, and
   a fragment that does not fit goes on as its control header alone.
9. ``negotiate_as_acceptor`` indexes the first transfer syntax of every
   proposed context it rejects, and fails in its thread, answering nothing,
   on a context that proposes none (:func:`~guards.placeholder_transfer_syntax`).
10. The TLS handshake (:func:`~guards.tls_handshake`, DICOM over TLS):
    pynetdicom runs a listener's handshake in ``AssociationServer.get_request``,
    its accept loop, where a peer that connects and stays silent holds up
    every other connection and a failed handshake is dropped without a word
    (socketserver swallows the OSError); and a requestor's inside
    ``AssociationSocket.connect``, where it reads as "cannot connect". Our
    contexts wrap sockets without the handshake (``dcmreport.association.tls``);
    we run it from ``EVT_CONN_OPEN`` on the raw socket,
    ``AssociationSocket.socket``, which pynetdicom triggers before the
    association reads or writes a byte. pynetdicom logs a TLS error that ends
    an association later (a TLS 1.3 peer refusing our certificate after the
    handshake) with its exception, which :class:`~guards.Diagnostics` keeps
    (item 6).
14. ``DIMSEServiceProvider.receive_primitive``, ``message`` and
    ``DIMSEMessage.decode_msg`` (:class:`~guards.Responses`,
    :func:`~guards.receive_messages`): the requestor's association loop takes
    messages off ``msg_queue`` with ``get_msg(block=False)`` while
    ``send_n_event_report`` waits on the same queue; its pause between two
    requests is racy, so back to back it sometimes takes the next response
    itself and the sender waits out its timeout (pynetdicom 3.0.4); and a
    window of more than one outstanding request cannot use
    ``send_n_event_report`` at all. So a batch reads its responses itself:
    each message is decoded as pynetdicom does, ``EVT_DIMSE_RECV`` triggered,
    and its command set and data set handed to the batch in the reader's
    thread, never to ``msg_queue``. On the plain path the command set is read
    as pydicom decoded it (``message.command_set``); the fast path reads its
    bytes by hand (below).
18. ``AssociationSocket.socket`` (:func:`~guards.close_unassociated`): a
    connection that has not sent its A-ASSOCIATE-RQ within the first-PDU
    deadline, or that makes room for a newcomer, is closed
    (:mod:`dcmreport.association.admission`). pynetdicom has no public way to
    end an acceptor before its request (``abort`` sends an A-ABORT the state
    machine refuses in Sta2); we shut its raw socket down, and our reader
    (item 8) sees the close and ends the acceptor's wait for the request.

The fast path
-------------

4. ``AssociationSocket.socket`` (:func:`~fast_path.no_delay`): the raw
   socket, to turn Nagle's algorithm off. pynetdicom writes a command and its
   data set as separate writes, so with Nagle each round trip waits for the
   peer's delayed ACK.
11. ``Association.kill`` and ``StateMachine.transition``
    (:func:`~fast_path.prompt_close`): ``kill`` (every release and abort ends
    in it) polls every 10 ms until the DUL's state machine is idle (Sta1). A
    release wakes it as soon as the A-RELEASE-RP is queued, microseconds
    before the same action closes the connection and moves to Sta1, so most
    releases slept a poll for nothing. The transition to Sta1 wakes us
    instead, then pynetdicom's ``kill`` runs and finds Sta1 at once.
12. The DUL reactor's polling (:class:`~fast_path.Reactor`):
    ``DULServiceProvider.run_reactor`` sleeps ``_run_loop_delay`` (1 ms)
    whenever a pass finds nothing to do, so every PDU waits up to that long to
    be read and every message we queue to be written: two or more such waits
    per round trip on each side. We set the delay to 0 and make
    ``_is_transport_event`` wait in ``select`` on the socket and a wake-up
    pipe that ``send_pdu``, ``kill_dul`` and ``stop_dul`` write to: the thread
    sleeps until there is something to do (lower latency, and less CPU for an
    idle association than polling). The pipe is closed from the reactor's own
    thread once the connection has closed (``EVT_CONN_CLOSE``); after that the
    reactor polls as pynetdicom does until it stops.
13. ``DIMSEMessage.primitive_to_message`` and ``encode_msg``, the tables
    ``_RQ_TO_MESSAGE``/``_RSP_TO_MESSAGE`` (:func:`~fast_path.send_message`):
    pynetdicom's ``send_msg`` queues each fragment as its own P-DATA-TF PDU,
    so a command and its data set are two PDUs, two writes and two wake-ups
    of the reactor. We pack the same fragments (PDVs) into as few PDUs as the
    peer's maximum length allows (PS3.8 9.3.5: a P-DATA-TF carries one or
    more PDVs): a report or an answer of ordinary size is one PDU, one write
    (:func:`~fast_path.send_encoded`). N-EVENT-REPORT answers and a batch's
    requests skip pynetdicom's message classes altogether: their command sets
    are encoded by :mod:`~dcmreport.association.command` (which only the fast
    path imports), without building the primitive (whose setters check each
    UID again) or a pydicom Dataset encoded twice.
14. (the fast part) ``DIMSEMessage.encoded_command_set``
    (:func:`~fast_path.read_fields`): a batch's responses are read from the
    command set's bytes by hand, not converted element by element off
    pynetdicom's pydicom Dataset; anything unusual is left to pydicom.
15. ``pynetdicom._handlers.standard_dimse_recv_handler`` and its three
    siblings (:func:`~fast_path.no_debug_handlers`): every association binds
    them to describe each PDU and message in pynetdicom's debug log, and they
    build that text (decoding the command set again) whether or not anything
    logs it. dcmreport shows pynetdicom's log only with ``-d``; otherwise we
    unbind them from our associations.
16. ``Association._run_reactor``'s polling (:class:`~fast_path.AssociationWake`):
    besides the DUL's reactor (item 12), each association runs a loop of its
    own that sleeps 1 ms, then looks for a message
    (``dimse.get_msg(block=False)``), a release or abort
    (``dul.to_user_queue``), a dead DUL or an expired idle timer: on shared
    cores every idle association's loop costs CPU, and a request it serves
    waits for its next pass. Our ``get_msg`` waits for an event instead, up to
    ``_IDLE_WAIT`` (the idle timer's granularity): a put on ``msg_queue`` or
    ``to_user_queue``, the connection's close, a ``kill`` (it sets ``_kill``
    first) or a pause (``release`` and the ``send_*`` methods clear
    ``_reactor_checkpoint`` and poll ``_is_paused``, which the loop sets only
    after ``get_msg`` returns).
17. ``DIMSEServiceProvider.receive_primitive`` and ``message``
    (:func:`~fast_path.serve_in_order`, through the guards'
    :func:`~guards.receive_messages`): pynetdicom starts a thread per
    N-EVENT-REPORT request (so a requestor can be told of events while it
    waits for its own answer), and queues every other message for the
    association's loop. A listener's thread start per report is a good part
    of its CPU. Ours queues every request for the association's own loop
    (item 16 wakes it), which serves them one at a time, in order (item 1),
    and keeps a C-CANCEL as pynetdicom does; a message that does not make a
    primitive raises into item 8's guard (an A-ABORT, as pynetdicom's own
    Evt19); an N-EVENT-REPORT-RQ's primitive is made from its hand-read
    command set (``_context_id`` set as ``message_to_primitive`` does).
    Installed before :func:`~guards.bound_reading`, whose guard wraps it.

:func:`fast_path.install` applies items 4, 11, 12, 13 (responses), 15, 16 and,
on a listener, 17; a batch takes items 13 (requests) and 14 (reading) from
:class:`fast_path.ReportRequests` and :func:`fast_path.read_fields`.
"""

from __future__ import annotations

from dcmreport import speedups

FAST_PATH = "association-fast-path"  # the trick's name in dcmreport.speedups.TRICKS


def fast_path_on() -> bool:
    """Whether new associations take the fast path: asked once per association (or listener),
    so one association never mixes the two."""
    return speedups.enabled(FAST_PATH)
