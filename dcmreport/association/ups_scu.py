"""UPS events, the subscriber's side (``watch``): subscribe, receive, unsubscribe.

Built on both sides of the association layer, as storage commitment's
modality side is (:mod:`dcmreport.association.commit_scu`): a
:class:`Listener` is started first, as the Receiving AE, so that the initial
UPS State Reports, which the SCP sends on new associations as soon as it has
answered the subscription (PS3.4 CC.2.3.3), find it; then
:func:`subscription_action` sends the N-ACTION (Subscribe, Unsubscribe or
Suspend Global Subscription, CC.2.3.1) on a UPS Watch presentation context
with UPS Push as the Requested SOP Class (CC.2.3.2, CC.3.1), and returns the
N-ACTION-RSP judged (PS3.7 10.1.4.1 and Table CC.2.3-3's statuses).
"""

from __future__ import annotations

import time

from pynetdicom import evt

from dcmreport.association.commit_scu import Received, action_response
from dcmreport.association.common import Settings, word_order
from dcmreport.association.internals import guards
from dcmreport.association.requestor import (
    associate,
    context_for,
    response_status,
)
from dcmreport.dicom import judge, ups
from dcmreport.dicom.address import Peer
from dcmreport.dicom.catalog import EXPLICIT_VR_BE
from dcmreport.dicom.records import Role
from dcmreport.dicom.ups import ActionResponse, SubscriptionAction
from dcmreport.errors import InputError


def subscription_action(
    peer: Peer, settings: Settings, action: SubscriptionAction
) -> ActionResponse:
    """Send one subscription N-ACTION and return its response, judged."""
    received = Received()
    contexts = [(ups.UPS_WATCH, Role.NONE)]
    with associate(peer, settings, contexts, [(evt.EVT_DIMSE_RECV, received)]) as opened:
        assoc = opened.assoc
        context = context_for(assoc, ups.UPS_WATCH)
        big_endian = context.transfer_syntax[0] == EXPLICIT_VR_BE
        start = time.perf_counter()
        try:
            guards.send_action_request(
                assoc,
                word_order(action.action_information(), big_endian),
                action.action_type_id,
                ups.UPS_PUSH,
                action.instance,
                msg_id=1,
                meta_uid=ups.UPS_WATCH,
            )
        except ValueError as exc:  # a matching key that cannot be encoded
            raise InputError(f"cannot encode the Action Information: {exc}") from None
        elapsed = (time.perf_counter() - start) * 1000
        command = action_response(opened, peer, settings, received, 0, 1)
        findings = judge.action_response_findings(
            command,
            action.action_type_id,
            (
                ups.UPS_PUSH,
                action.instance,
                judge.UPS_SUBSCRIPTION_STATUSES,
                "PS3.4 Table CC.2.3-3 does not list it for UPS Watch",
            ),
        )
        return ActionResponse(action, response_status(command), elapsed, findings)
