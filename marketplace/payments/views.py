"""Stripe's webhook: the only way a card or PromptPay payment marks an order paid."""

import logging

from flask import Blueprint, abort, jsonify, request

from marketplace import transaction
from marketplace.extensions import csrf
from marketplace.payments import services, stripe_gateway

log = logging.getLogger(__name__)
bp = Blueprint("payments", __name__)


@bp.post("/webhooks/stripe")
@csrf.exempt
def stripe_webhook():
    """Verify the signature on the raw body, store the event once, apply it, commit once.

    What the event needs from Stripe (a refund that comes before its payment) is read
    first, with no transaction open; Stripe down then answers 503 and Stripe sends the
    event again later.
    """
    if not stripe_gateway.enabled():
        abort(404)
    signature = request.headers.get("Stripe-Signature")
    if not signature:
        return jsonify({"error": {"status": 400, "code": "signature_missing"}}), 400
    try:
        event = stripe_gateway.verified_event(request.get_data(), signature)
    except stripe_gateway.BadSignature:
        return jsonify({"error": {"status": 400, "code": "signature_invalid"}}), 400
    except stripe_gateway.MalformedEvent as error:
        log.warning("stripe event refused: %s", error)
        return jsonify({"error": {"status": 400, "code": "event_invalid"}}), 400
    needed = services.intents_to_read(event)
    transaction.end_reads()
    intents = {intent_id: stripe_gateway.payment_intent(intent_id) for intent_id in needed}
    with transaction.unit_of_work():
        outcome = services.handle_stripe_event(event, intents)
    log.info("stripe event %s %s: %s", event.get("id"), event.get("type"), outcome)
    return jsonify({"received": True, "outcome": outcome})
