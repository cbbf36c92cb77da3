"""The one module that talks to Stripe.

Amounts are satang (Stripe's smallest THB unit). Every call that creates something carries
an idempotency key derived from the marketplace's own ids, so the same call made again (a
retried task, a second click) gets the same object back. Errors from Stripe become
:class:`StripeUnavailable` (try again later), or for a refund Stripe will not make,
:class:`StripeRefused`; their messages are safe to show; keys never reach a log line.

No call is made with a database transaction open (``transaction.require_no_transaction``
refuses): a slow Stripe must hold neither a connection nor a row lock. Callers read what
they need, end that transaction, call, then record the answer.
"""

import json
import logging
import time
from datetime import UTC, datetime

import stripe
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace import transaction
from marketplace.errors import DomainError

log = logging.getLogger(__name__)
CURRENCY = "thb"
PAYMENT_METHOD_TYPES = ["card", "promptpay"]


class StripeUnavailable(DomainError):
    status = 503
    code = "unavailable"

    def __init__(self):
        super().__init__(
            _l("Card and PromptPay payments are not available right now; please try again soon.")
        )


class StripeRefused(DomainError):
    """Stripe answered, and will not do it (a refund beyond what is left, a disputed
    charge): asking again changes nothing. ``detail`` is Stripe's error code, for admins."""

    status = 409
    code = "refused"

    def __init__(self, detail):
        super().__init__(_l("Stripe refused the refund."))
        self.detail = detail


class BadSignature(Exception):
    """A webhook whose signature, timestamp or body does not check out."""


class MalformedEvent(Exception):
    """A signed webhook whose body is not shaped like the Stripe event the handlers read."""


def enabled(config=None):
    config = config or current_app.config
    return bool(
        config.get("STRIPE_SECRET_KEY")
        and config.get("STRIPE_PUBLISHABLE_KEY")
        and config.get("STRIPE_WEBHOOK_SECRET")
    )


def _client():
    config = current_app.config
    base = config.get("STRIPE_API_BASE") or None
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base} if base else None,
        max_network_retries=2,
    )


#: Stripe errors that are its final answer to a request (a retry gets the same).
REFUSALS = (stripe.InvalidRequestError, stripe.CardError)


def _call(what, function, *args, refusals=(), **kwargs):
    transaction.require_no_transaction(f"stripe: {what}")
    try:
        return function(*args, **kwargs)
    except refusals as error:
        log.warning(
            "stripe: %s refused: %s %s (request %s)",
            what,
            type(error).__name__,
            error.code,
            error.request_id,
        )
        raise StripeRefused(f"{type(error).__name__}: {error.code or 'refused'}") from None
    except stripe.StripeError as error:
        # The class and Stripe's request id say enough; the message may echo parameters.
        log.warning(
            "stripe: %s failed: %s (request %s)", what, type(error).__name__, error.request_id
        )
        raise StripeUnavailable() from None


def create_payment_intent(*, amount_satang, order_id, order_number, idempotency_key):
    """A PaymentIntent for card or PromptPay; returns its id."""
    intent = _call(
        "create payment intent",
        _client().v1.payment_intents.create,
        params={
            "amount": amount_satang,
            "currency": CURRENCY,
            "payment_method_types": PAYMENT_METHOD_TYPES,
            "metadata": {"order_id": str(order_id), "order_number": order_number},
        },
        options={"idempotency_key": idempotency_key},
    )
    return intent.id


def payment_intent(intent_id):
    """The intent's id, status, amounts, currency, client secret and metadata, as a dict."""
    intent = _call("read payment intent", _client().v1.payment_intents.retrieve, intent_id)
    return {
        "id": intent.id,
        "status": intent.status,
        "amount": intent.amount,
        "amount_received": _received(intent),
        "currency": intent.currency,
        "client_secret": intent.client_secret,
        "metadata": intent.metadata.to_dict() if intent.metadata else {},
    }


def _received(intent):
    """What a succeeded intent took (fakes that leave amount_received out: its amount)."""
    received = getattr(intent, "amount_received", None)
    if received is None and intent.status == "succeeded":
        return intent.amount
    return received or 0


def create_refund(*, intent_id, amount_satang, idempotency_key, metadata):
    """Refund part or all of a PaymentIntent; returns ``(refund id, status)``.

    ``metadata`` (our refund's id) comes back in Stripe's refund events, so an event that
    arrives before the answer is recorded still finds its refund. Raises
    :class:`StripeRefused` when Stripe will not make it, :class:`StripeUnavailable` when
    the answer did not come (the same idempotency key then asks again safely).
    """
    refund = _call(
        "create refund",
        _client().v1.refunds.create,
        params={"payment_intent": intent_id, "amount": amount_satang, "metadata": metadata},
        options={"idempotency_key": idempotency_key},
        refusals=REFUSALS,
    )
    return refund.id, refund.status


def _since(objects, since):
    floor = int(datetime.combine(since, datetime.min.time(), tzinfo=UTC).timestamp())
    for obj in objects.auto_paging_iter():
        if obj.created >= floor:
            yield obj


def payment_intents_since(since):
    """``[{"id", "status", "amount_received", "currency"}]`` of intents created since the date."""
    listing = _call(
        "list payment intents", _client().v1.payment_intents.list, params={"limit": 100}
    )
    return [
        {
            "id": intent.id,
            "status": intent.status,
            "amount_received": _received(intent),
            "currency": intent.currency,
        }
        for intent in _since(listing, since)
    ]


def refunds_since(since):
    """``[{"id", "status", "amount", "payment_intent"}]`` of refunds created since the date."""
    listing = _call("list refunds", _client().v1.refunds.list, params={"limit": 100})
    return [
        {
            "id": refund.id,
            "status": refund.status,
            "amount": refund.amount,
            "payment_intent": getattr(refund, "payment_intent", None),
        }
        for refund in _since(listing, since)
    ]


def verified_event(payload, signature_header):
    """The event as a dict, once the signature over the raw body checks out.

    Signed more than ``STRIPE_WEBHOOK_TOLERANCE`` seconds ago, or ahead of now, is
    :class:`BadSignature`; an event whose parts are not what the handlers read is
    :class:`MalformedEvent`.
    """
    config = current_app.config
    tolerance = config["STRIPE_WEBHOOK_TOLERANCE"]
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature_header, config["STRIPE_WEBHOOK_SECRET"], tolerance
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
        raise BadSignature(type(error).__name__) from None
    # Stripe's check refuses only the past: a stamp ahead of the clock is refused here.
    if tolerance and _signed_at(signature_header) > time.time() + tolerance:
        raise BadSignature("timestamp in the future")
    _check_shape(event)
    return event


def _signed_at(header):
    """The ``t=`` of a Stripe-Signature header, read as Stripe's own check reads it."""
    items = [item.split("=", 2) for item in header.split(",")]
    return int([item[1] for item in items if item[0] == "t"][0])


#: The fields of an event's object (and of each refund in a charge's ``refunds.data``)
#: the handlers read, and the JSON type each must have when present and not null.
EVENT_OBJECT_FIELDS = {
    "id": str,
    "object": str,
    "status": str,
    "currency": str,
    "payment_intent": str,
    "amount": int,
    "amount_received": int,
    "metadata": dict,
    "refunds": dict,
}


def _check_shape(event):
    """Refuse an event whose id, type, ``data.object`` or fields read are not of their type."""
    if not isinstance(event, dict):
        raise MalformedEvent("not an object")
    for name in ("id", "type"):
        value = event.get(name)
        if not isinstance(value, str) or not 0 < len(value) <= 100:
            raise MalformedEvent(f"{name} is not a string of 1 to 100 characters")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEvent("data.object is not an object")
    _check_fields(data["object"], "data.object")
    refunds = (data["object"].get("refunds") or {}).get("data")
    if refunds is not None:
        if not isinstance(refunds, list):
            raise MalformedEvent("data.object.refunds.data is not a list")
        for n, refund in enumerate(refunds):
            if not isinstance(refund, dict):
                raise MalformedEvent(f"data.object.refunds.data[{n}] is not an object")
            _check_fields(refund, f"data.object.refunds.data[{n}]")


def _check_fields(obj, where):
    for name, kind in EVENT_OBJECT_FIELDS.items():
        value = obj.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise MalformedEvent(f"{where}.{name} is not a {kind.__name__}")
