"""PromptPay QR codes (EMVCo payload from the promptpay-qr package, drawn by segno: SVG for
the page, PNG for the buyer to save and pick from their photos in a banking app)."""

import io
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


def png(text, *, caption=(), font_path=None, scale=10, border=4):
    """The QR code of ``text`` as PNG bytes, with ``caption`` lines (Latin text) under it, so
    that the picture is recognisable in a phone's gallery. ``font_path`` is a font Pillow
    reads (the site's Sarabun); without it Pillow's own font is used."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=border)
    if not caption:
        return buffer.getvalue()
    # Pillow only when a caption is drawn (an import of a few milliseconds).
    from PIL import Image, ImageDraw, ImageFont

    code = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    size = 3 * scale
    font = ImageFont.truetype(font_path, size) if font_path else ImageFont.load_default(size)
    line_height = int(size * 1.5)
    width = max(code.width, 48 * scale)
    picture = Image.new("L", (width, code.height + line_height * len(caption) + 2 * scale), 255)
    picture.paste(code, ((width - code.width) // 2, 0))
    draw = ImageDraw.Draw(picture)
    top = code.height - scale
    for line in caption:
        draw.text((width // 2, top), line, fill=0, font=font, anchor="ma")
        top += line_height
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()
