"""The levy report as a PDF made by WeasyPrint: A4, one report section a page, in the
Sarabun font served from static/vendor.

WeasyPrint reads stylesheets and fonts through a fetcher that opens files of the static
folder and nothing else: no other host, no other file. It needs Pango, HarfBuzz and
fontconfig from the system (.ci/run installs them); it is imported when a PDF is asked for,
so the rest of the marketplace starts without them.

The browser's Sarabun comes in two files a weight (Thai and Latin letters, chosen by
``unicode-range``). WeasyPrint embeds two fonts of one name as one and mixes up their
glyphs, so the PDF's stylesheet names ``sarabun:400`` (600, 700) instead: the fetcher
answers with the two files merged into one font (fontTools, once per process).
"""

import io
import logging
import mimetypes
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Response

#: Where the browser's subsets of Sarabun are, under the static folder.
SARABUN = Path("vendor", "sarabun")
FONT_SCHEME = "sarabun"
WEIGHTS = ("400", "600", "700")


@cache
def merged_sarabun(static_root, weight):
    """One TrueType font of Sarabun's Thai and Latin subsets of ``weight``."""
    from fontTools.merge import Merger
    from fontTools.ttLib import TTFont

    parts = []
    for subset in ("thai", "latin"):
        font = TTFont(Path(static_root, SARABUN, f"sarabun-{subset}-{weight}-normal.woff2"))
        font.flavor = None  # woff2 → plain sfnt, which the merger reads
        buffer = io.BytesIO()
        font.save(buffer)
        buffer.seek(0)
        parts.append(buffer)
    merged = io.BytesIO()
    Merger().merge(parts).save(merged)
    return merged.getvalue()


def _fetcher(static_root):
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = Path(static_root).resolve()

    class StaticFilesOnly(URLFetcher):
        """Files under ``root`` by their ``file:`` URL; anything else is refused."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme == FONT_SCHEME and parts.path in WEIGHTS:
                return URLFetcherResponse(
                    url, body=merged_sarabun(root, parts.path), headers={"Content-Type": "font/ttf"}
                )
            if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
                raise ValueError(f"not a static file: {url}")
            path = Path(unquote(parts.path)).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                raise ValueError(f"not a static file: {url}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(
                path.as_uri(), body=path.read_bytes(), headers={"Content-Type": kind}
            )

    return StaticFilesOnly()


def render(html, static_root):
    """``(pdf bytes, page count)`` of ``html``, whose links (``css/report-pdf.css``) are
    relative to the static folder ``static_root``."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    static_root = Path(static_root)
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line a step
    fonts = FontConfiguration()
    document = HTML(
        string=html,
        base_url=static_root.resolve().as_uri() + "/",
        url_fetcher=_fetcher(static_root),
    ).render(font_config=fonts)
    return document.write_pdf(), len(document.pages)


def download(body, filename):
    """``body`` (PDF bytes) as an attachment ``filename``."""
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
