"""Pictures for the demo products, drawn with Pillow: a rice bag, a reed basket, a seedling…
in flat colours on a soft background, so that the demo shows what a catalog with photos
looks like (no grey boxes) without shipping photographs. Each becomes a JPEG that goes
through the same upload path as a seller's photo (marketplace/catalog/images.py).
"""

import io
import math

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 960, 720
CREAM = (250, 244, 228)
INK = (60, 52, 40)


def _background(top, bottom):
    image = Image.new("RGB", (WIDTH, HEIGHT), top)
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT):
        t = y / HEIGHT
        colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (WIDTH, y)], fill=colour)
    draw = ImageDraw.Draw(image, "RGBA")
    draw.ellipse([WIDTH * 0.22, HEIGHT * 0.82, WIDTH * 0.78, HEIGHT * 0.92], fill=(60, 40, 10, 45))
    return image, draw


def _leaf(draw, cx, cy, length, width, angle, colour):
    """A pointed leaf around (cx, cy), ``angle`` in degrees."""
    points = []
    for i in range(41):
        t = i / 40 * math.pi
        x = -length / 2 * math.cos(t)
        y = width / 2 * math.sin(t) * (1 - 0.3 * math.cos(t))
        points.append((x, y))
    points += [(x, -y) for x, y in reversed(points)]
    a = math.radians(angle)
    draw.polygon(
        [
            (cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a))
            for x, y in points
        ],
        fill=colour,
    )


def rice_bag(grain):
    image, draw = _background((236, 226, 200), (214, 198, 160))
    sack = (236, 214, 168)
    draw.rounded_rectangle(
        [290, 170, 670, 610], radius=60, fill=sack, outline=(180, 150, 100), width=6
    )
    draw.polygon(
        [(330, 175), (630, 175), (560, 110), (400, 110)], fill=sack, outline=(180, 150, 100)
    )
    draw.rectangle([430, 120, 530, 150], fill=(120, 84, 40))  # the tie
    draw.rounded_rectangle([320, 300, 640, 470], radius=18, fill=(47, 107, 59))
    for row in range(3):
        for col in range(7):
            x, y = 360 + col * 40, 335 + row * 42
            draw.ellipse([x, y, x + 22, y + 12], fill=grain)
    for i in range(60):  # spilled grains in front
        x = 300 + (i * 53) % 380
        y = 625 + (i * 29) % 40
        draw.ellipse([x, y, x + 16, y + 8], fill=grain)
    return image


def basket():
    image, draw = _background((232, 240, 226), (206, 220, 196))
    reed, dark = (196, 150, 88), (150, 104, 52)
    draw.pieslice([230, 170, 730, 650], 0, 180, fill=reed)
    for k in range(10):  # the weave: strips that cross
        draw.arc([230, 170 + k * 4, 730, 650 - k * 2], 10 + k, 170 - k, fill=dark, width=6)
        draw.line([(250 + k * 50, 420), (300 + k * 42, 640)], fill=dark, width=5)
    draw.ellipse([230, 380, 730, 460], fill=(168, 120, 64), outline=dark, width=8)
    return image


def handbag():
    image, draw = _background((246, 232, 226), (226, 204, 196))
    reed, dark = (190, 142, 80), (140, 96, 46)
    draw.arc([360, 130, 600, 420], 180, 360, fill=dark, width=18)
    draw.polygon([(300, 300), (660, 300), (700, 620), (260, 620)], fill=reed)
    for k in range(9):
        draw.line([(300 + k * 45, 300), (270 + k * 52, 620)], fill=dark, width=5)
    for k in range(8):
        y = 330 + k * 38
        draw.line(
            [(300 - (y - 300) * 0.12, y), (660 + (y - 300) * 0.12, y)],
            fill=(212, 170, 110),
            width=6,
        )
    draw.ellipse([450, 420, 510, 480], fill=(160, 40, 60))  # the pikul flower
    return image


def mat():
    image, draw = _background((228, 236, 240), (200, 214, 222))
    light, dark = (214, 176, 110), (166, 110, 58)
    draw.polygon([(160, 520), (700, 420), (820, 560), (280, 660)], fill=light)
    for k in range(12):
        t = k / 12
        draw.line(
            [(160 + 540 * t, 520 - 100 * t), (280 + 540 * t, 660 - 100 * t)], fill=dark, width=7
        )
    draw.ellipse([120, 300, 300, 540], fill=light, outline=dark, width=8)  # the rolled end
    draw.rectangle([210, 300, 760, 540], fill=light)
    draw.ellipse([670, 300, 850, 540], fill=(190, 144, 80), outline=dark, width=8)
    for k in range(6):
        draw.line([(230 + k * 90, 300), (230 + k * 90, 540)], fill=dark, width=6)
    return image


def seedling(leaf):
    image, draw = _background((230, 242, 232), (200, 224, 204))
    draw.polygon([(360, 430), (600, 430), (570, 640), (390, 640)], fill=(40, 40, 40))  # nursery bag
    draw.rectangle([360, 430, 600, 455], fill=(60, 60, 60))
    draw.line([(480, 440), (480, 170)], fill=(110, 80, 50), width=12)
    for i, (y, side) in enumerate(((380, -1), (330, 1), (280, -1), (235, 1), (195, -1))):
        _leaf(draw, 480 + side * 80, y, 170 - i * 12, 62 - i * 4, -20 * side, leaf)
    _leaf(draw, 480, 160, 110, 44, 90, leaf)
    return image


def tree():
    image, draw = _background((234, 240, 224), (210, 222, 196))
    draw.polygon([(380, 500), (580, 500), (560, 640), (400, 640)], fill=(150, 90, 60))
    draw.line([(480, 510), (480, 300)], fill=(110, 78, 48), width=26)
    for cx, cy, r in ((480, 230, 150), (380, 280, 100), (580, 280, 100), (480, 330, 110)):
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(70, 128, 70))
    for cx, cy in ((420, 250), (530, 210), (560, 320), (440, 340), (500, 290)):
        draw.ellipse([cx - 14, cy - 14, cx + 14, cy + 14], fill=(210, 160, 60))
    return image


def jar():
    image, draw = _background((246, 238, 222), (228, 212, 186))
    draw.rounded_rectangle(
        [340, 250, 620, 620], radius=40, fill=(200, 220, 230), outline=(150, 170, 180), width=6
    )
    draw.rounded_rectangle([356, 320, 604, 604], radius=30, fill=(120, 70, 40))  # the paste
    draw.rounded_rectangle([360, 190, 600, 260], radius=14, fill=(47, 107, 59))  # the lid
    draw.rounded_rectangle([380, 400, 580, 500], radius=10, fill=CREAM)
    _leaf(draw, 480, 450, 120, 40, 0, (70, 128, 70))
    return image


#: What to draw for each demo product (by its English name).
RECIPES = {
    "Organic jasmine rice, 5 kg bag": lambda: rice_bag((252, 250, 240)),
    "Organic brown jasmine rice, 1 kg bag": lambda: rice_bag((190, 140, 90)),
    "Organic riceberry, 1 kg bag": lambda: rice_bag((90, 40, 90)),
    "Khlum reed basket, medium": basket,
    "Khlum reed handbag, pikul pattern": handbag,
    "Khlum reed mat, 90 x 180 cm": mat,
    "Grafted mangosteen seedling, 60 cm": lambda: seedling((52, 120, 64)),
    "Khiri Wong longkong seedling": lambda: seedling((92, 140, 60)),
    "Ma-sang tree, 1 m": tree,
    "Ma-sang paste, 250 g jar": jar,
}


def picture(name_en):
    """The demo picture of the product named ``name_en`` as JPEG bytes, or None."""
    recipe = RECIPES.get(name_en)
    if recipe is None:
        return None
    buffer = io.BytesIO()
    recipe().save(buffer, "JPEG", quality=88)
    buffer.seek(0)
    return buffer
