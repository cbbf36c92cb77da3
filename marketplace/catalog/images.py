"""Product photos: check the upload really is an image, drop its metadata, store two sizes."""

import io
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.errors import DomainError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
DISPLAY_SIZE = 1200
THUMB_SIZE = 400
#: Modes Pillow resizes well; others (palette, 1-bit, 16-bit) become RGBA first.
RESIZABLE_MODES = {"RGB", "RGBA", "L", "LA", "CMYK"}


def upload_dir():
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "products"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_limited(stream, limit):
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise DomainError(
            _l("The picture is larger than %(mb)d MB.", mb=limit // (1024 * 1024)), field="image"
        )
    if not data:
        raise DomainError(_l("Choose a picture to upload."), field="image")
    return data


def _too_many_pixels(limit):
    return DomainError(
        _l(
            "The picture has too many pixels: at most %(megapixels)s million "
            "(width × height). Save it smaller and upload it again.",
            megapixels=f"{limit / 1_000_000:g}",
        ),
        field="image",
    )


def _open(data, max_pixels):
    """Decode the picture within the pixel budget ``max_pixels``.

    A JPEG decodes at 1/2, 1/4 or 1/8 scale when that still gives the display size
    (Pillow's ``draft``): a baseline JPEG's budget counts the reduced size. PNG, WebP and
    GIF decode whole, and a progressive JPEG's decoder holds the whole picture's
    coefficients whatever the scale: their full size counts. The size comes from the
    header, so a picture over the budget is refused before any pixel is decoded.
    """
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
            image_format = probe.format
        if image_format not in ACCEPTED_FORMATS:
            raise DomainError(_l("Upload a JPEG, PNG, WebP or GIF picture."), field="image")
        image = Image.open(io.BytesIO(data))
        pixels = image.width * image.height
        if image_format == "JPEG":
            image.draft(None, (DISPLAY_SIZE, DISPLAY_SIZE))
            if not image.info.get("progressive"):
                pixels = image.width * image.height
        if pixels > max_pixels:
            raise _too_many_pixels(max_pixels)
        image.load()
        return image
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise DomainError(_l("This file is not a picture we can read."), field="image") from None


def first_look(stream):
    """What can be told of an upload without decoding it: a message when it is too large
    or not a picture we take, else None. Reads the header only and rewinds the stream, so
    a form can name every bad file along with its other errors before anything is saved."""
    config = current_app.config
    try:
        stream.seek(0, io.SEEK_END)
        size = stream.tell()
        stream.seek(0)
    except (AttributeError, OSError, ValueError):
        return None  # not seekable: process_upload will tell
    limit = config["MAX_IMAGE_BYTES"]
    if size > limit:
        return _l("The picture is larger than %(mb)d MB.", mb=limit // (1024 * 1024))
    if size == 0:
        return _l("This file is not a picture we can read.")
    try:
        with Image.open(stream) as probe:
            image_format = probe.format
    except Image.DecompressionBombError:
        return None  # process_upload names the pixel budget
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        image_format = None
    finally:
        stream.seek(0)
    if image_format is None:
        return _l("This file is not a picture we can read.")
    if image_format not in ACCEPTED_FORMATS:
        return _l("Upload a JPEG, PNG, WebP or GIF picture.")
    return None


def _to_display_rgb(image):
    """Shrink to the display size first (the full-size picture is freed as soon as it can
    be), then turn the orientation the camera meant upright and flatten on white."""
    if image.mode not in RESIZABLE_MODES:
        image = image.convert("RGBA")
    image.thumbnail((DISPLAY_SIZE, DISPLAY_SIZE))
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.split()[-1])
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _encode(image, size):
    copy = image.copy()
    copy.thumbnail((size, size))
    buffer = io.BytesIO()
    # Saved without exif= or icc_profile=: the stored file carries no metadata.
    copy.save(buffer, "JPEG", quality=85, optimize=True)
    return buffer.getvalue()


def process_upload(stream):
    """Read, check and re-encode an uploaded picture; return ``(display, thumb, w, h)`` bytes."""
    config = current_app.config
    data = _read_limited(stream, config["MAX_IMAGE_BYTES"])
    image = _open(data, config["MAX_IMAGE_PIXELS"])
    try:
        image = _to_display_rgb(image)
    except (OSError, ValueError):  # a truncated picture, a mode Pillow cannot convert
        raise DomainError(_l("This file is not a picture we can read."), field="image") from None
    display = _encode(image, DISPLAY_SIZE)
    thumb = _encode(image, THUMB_SIZE)
    return display, thumb, image.width, image.height


def store(display, thumb):
    """Write both sizes under random names; return ``(display_name, thumb_name)``."""
    folder = upload_dir()
    stem = secrets.token_hex(16)
    names = (f"{stem}.jpg", f"{stem}-thumb.jpg")
    for name, content in zip(names, (display, thumb), strict=True):
        (folder / name).write_bytes(content)
    return names


def delete(*names):
    folder = upload_dir()
    for name in names:
        (folder / name).unlink(missing_ok=True)
