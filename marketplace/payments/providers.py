"""Payment providers behind one small interface.

A provider starts a payment for a newly placed order and says what the buyer sees on the
order page. The transfer provider is always there; the Stripe provider plugs in beside it
(``PROVIDERS``) when its keys are set.
"""

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.payments import promptpay, stripe_gateway
from marketplace.payments.models import Payment, PaymentStatus

STATUS_LABELS = {
    PaymentStatus.PENDING: _l("Waiting"),
    PaymentStatus.SUBMITTED: _l("Buyer says paid"),
    PaymentStatus.CONFIRMED: _l("Confirmed"),
    PaymentStatus.FAILED: _l("Failed"),
    PaymentStatus.CANCELLED: _l("Cancelled"),
}


class PaymentProvider:
    #: Stored on orders and payments.
    name = ""
    label = ""
    #: Template (under templates/payments/) showing the buyer how to pay.
    template = ""

    def available(self):
        return True

    def start(self, order):
        """Create the pending payment for a just-placed order (added to the session; the
        caller flushes it with the rest of the order)."""
        payment = Payment(order=order, provider=self.name, amount_satang=order.total_satang)
        db.session.add(payment)
        return payment

    def prepare(self, payment):
        """Get the payment ready to show the buyer (may write; the caller commits)."""

    def buyer_context(self, payment):
        """What the payment template needs (reads only)."""
        return {}

    def send_refund(self, refund, payment):
        """Pay a refund back through the provider; by default the admin does it by hand."""


class TransferProvider(PaymentProvider):
    """PromptPay QR or bank transfer to the marketplace; an admin confirms the money arrived."""

    name = "transfer"
    label = _l("PromptPay / bank transfer")
    template = "payments/transfer.html"

    def buyer_context(self, payment):
        config = current_app.config
        code = promptpay.payload(config["PROMPTPAY_ID"], payment.amount_satang)
        return {
            "promptpay_id": config["PROMPTPAY_ID"],
            "qr_payload": code,
            "qr_svg": promptpay.svg(code),
            "bank_name": config["BANK_NAME"],
            "bank_account_name": config["BANK_ACCOUNT_NAME"],
            "bank_account_number": config["BANK_ACCOUNT_NUMBER"],
            "can_submit": payment.status in (PaymentStatus.PENDING, PaymentStatus.SUBMITTED),
        }


class StripeProvider(PaymentProvider):
    """Card or PromptPay through Stripe's Payment Element. Only webhooks mark orders paid."""

    name = "stripe"
    label = _l("Card or PromptPay QR (Stripe)")
    template = "payments/stripe.html"

    def available(self):
        return stripe_gateway.enabled()

    def prepare(self, payment):
        """Create the PaymentIntent once: the payment row is locked while it is made."""
        db.session.execute(select(Payment.id).where(Payment.id == payment.id).with_for_update())
        db.session.refresh(payment)
        if payment.external_id or payment.status != PaymentStatus.PENDING:
            return
        order = payment.order
        payment.external_id = stripe_gateway.create_payment_intent(
            amount_satang=payment.amount_satang,
            order_id=order.id,
            order_number=order.number,
            idempotency_key=f"talat-payment-{payment.id}",
        )
        db.session.flush()

    def buyer_context(self, payment):
        context = {
            "publishable_key": current_app.config["STRIPE_PUBLISHABLE_KEY"],
            "client_secret": None,
            "intent_status": None,
        }
        if payment.external_id and payment.status == PaymentStatus.PENDING:
            intent = stripe_gateway.payment_intent(payment.external_id)
            context["client_secret"] = intent["client_secret"]
            context["intent_status"] = intent["status"]
        return context

    def send_refund(self, refund, payment):
        if not payment.external_id:
            return
        refund.provider_refund_id, _status = stripe_gateway.create_refund(
            intent_id=payment.external_id,
            amount_satang=refund.amount_satang,
            idempotency_key=f"talat-refund-{refund.id}",
        )
        db.session.flush()


PROVIDERS = {provider.name: provider for provider in (TransferProvider(), StripeProvider())}


def available():
    return [provider for provider in PROVIDERS.values() if provider.available()]


def label(name):
    provider = PROVIDERS.get(name)
    return provider.label if provider is not None else name


def get(name):
    provider = PROVIDERS.get(name)
    if provider is None or not provider.available():
        return None
    return provider
