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
#: Refuse pictures larger than this many pixels (decompression bombs).
MAX_PIXELS = 40_000_000


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


def _open(data):
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
            image_format = probe.format
        image = Image.open(io.BytesIO(data))
        if image_format not in ACCEPTED_FORMATS:
            raise DomainError(_l("Upload a JPEG, PNG, WebP or GIF picture."), field="image")
        if image.width * image.height > MAX_PIXELS:
            raise DomainError(_l("The picture has too many pixels."), field="image")
        image.load()
        return image
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise DomainError(_l("This file is not a picture we can read."), field="image") from None


def _encode(image, size):
    copy = image.copy()
    copy.thumbnail((size, size))
    buffer = io.BytesIO()
    # Saved without exif= or icc_profile=: the stored file carries no metadata.
    copy.save(buffer, "JPEG", quality=85, optimize=True)
    return buffer.getvalue()


def process_upload(stream):
    """Read, check and re-encode an uploaded picture; return ``(display, thumb, w, h)`` bytes."""
    data = _read_limited(stream, current_app.config["MAX_IMAGE_BYTES"])
    image = _open(data)
    image = ImageOps.exif_transpose(image)  # keep the orientation the camera meant
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.split()[-1])
        image = background
    elif image.mode == "L":
        image = image.convert("RGB")
    display = _encode(image, DISPLAY_SIZE)
    thumb = _encode(image, THUMB_SIZE)
    with Image.open(io.BytesIO(display)) as stored:
        width, height = stored.size
    return display, thumb, width, height


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
