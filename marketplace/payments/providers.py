"""Payment providers behind one small interface.

A provider starts a payment for a newly placed order and says what the buyer sees on the
order page. The transfer provider is always there; the Stripe provider plugs in beside it
(``PROVIDERS``) when its keys are set.

Nothing here calls Stripe inside the caller's transaction: the Stripe payment's
PaymentIntent is made after the order's commit (an outbox task, see
``payments.services.intent_to_create``), and a refund's money is sent after the refund's
commit (``payments.services.refund_to_send``).
"""

from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace import transaction
from marketplace.extensions import db
from marketplace.outbox import services as outbox
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

    def buyer_context(self, payment):
        """What the payment template needs (reads only)."""
        return {}

    def pays_back(self, payment):
        """Whether a refund of ``payment`` is paid back through the provider (after the
        refund's commit); otherwise the admin pays it back by hand."""
        return False


class TransferProvider(PaymentProvider):
    """PromptPay QR or bank transfer to the marketplace; an admin confirms the money arrived."""

    name = "transfer"
    label = _l("PromptPay / bank transfer")
    template = "payments/transfer.html"

    def buyer_context(self, payment):
        config = current_app.config
        return {
            "promptpay_id": config["PROMPTPAY_ID"],
            "bank_name": config["BANK_NAME"],
            "bank_account_name": config["BANK_ACCOUNT_NAME"],
            "bank_account_number": config["BANK_ACCOUNT_NUMBER"],
            "can_submit": self.takes_payment(payment),
            #: The buyer said they paid (a reference): the page says it is being checked.
            "checking": payment.status == PaymentStatus.SUBMITTED,
        }

    def takes_payment(self, payment):
        """Whether the buyer may (still) pay ``payment``: its QR and the reference form."""
        return payment.status in (PaymentStatus.PENDING, PaymentStatus.SUBMITTED)

    def qr_png(self, payment, order_number):
        """The PromptPay QR of exactly the payment's amount as a PNG, captioned with the
        amount and the order's number (Latin text: Pillow draws Thai marks badly)."""
        config = current_app.config
        code = promptpay.payload(config["PROMPTPAY_ID"], payment.amount_satang)
        baht, satang = divmod(payment.amount_satang, 100)
        font = Path(
            current_app.static_folder, "vendor", "sarabun", "sarabun-latin-600-normal.woff2"
        )
        return promptpay.png(
            code,
            caption=(f"PromptPay  THB {baht:,}.{satang:02d}", order_number),
            font_path=str(font) if font.exists() else None,
        )


class StripeProvider(PaymentProvider):
    """Card or PromptPay through Stripe's Payment Element. Only webhooks mark orders paid."""

    name = "stripe"
    label = _l("Card or PromptPay QR (Stripe)")
    template = "payments/stripe.html"

    def available(self):
        return stripe_gateway.enabled()

    def start(self, order):
        """The pending payment, and the outbox row that makes its PaymentIntent once this
        transaction has committed (never while the order's stock rows are locked)."""
        payment = super().start(order)
        db.session.flush()
        outbox.enqueue("tasks.payments.create_intent", payment_id=payment.id)
        return payment

    def buyer_context(self, payment):
        """The client secret of the payment's PaymentIntent, read from Stripe.

        Ends the page's read-only transaction first (its objects load again when the page
        uses them): Stripe's answer is awaited with no transaction open. With no intent yet
        (the task that makes it has not run), ``needs_intent`` asks the buyer to make it.
        """
        context = {
            "publishable_key": current_app.config["STRIPE_PUBLISHABLE_KEY"],
            "client_secret": None,
            "intent_status": None,
            "needs_intent": False,
        }
        if payment.status != PaymentStatus.PENDING:
            return context
        intent_id = payment.external_id
        if not intent_id:
            context["needs_intent"] = True
            return context
        transaction.end_reads()
        intent = stripe_gateway.payment_intent(intent_id)
        context["client_secret"] = intent["client_secret"]
        context["intent_status"] = intent["status"]
        return context

    def pays_back(self, payment):
        return bool(payment.external_id)


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
