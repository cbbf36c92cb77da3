"""PromptPay QR codes (EMVCo payload from the promptpay-qr package, drawn as SVG by segno)."""

from decimal import Decimal

import segno
from promptpay_qr import generate_payload


def payload(promptpay_id, amount_satang):
    """The EMVCo payload that makes a banking app pay ``amount_satang`` to ``promptpay_id``."""
    # A Decimal, never a float: the package formats the amount with "{:.2f}".
    return generate_payload(promptpay_id, amount=Decimal(amount_satang) / 100)


def svg(text, scale=5):
    """The QR code of ``text`` as an inline SVG element."""
    return segno.make(text, error="m").svg_inline(scale=scale, omitsize=False)
