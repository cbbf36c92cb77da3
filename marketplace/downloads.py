"""Files a page offers to download."""

from flask import Response


def csv_download(text, filename):
    """``text`` (a CSV, its BOM included where wanted) as a UTF-8 attachment ``filename``."""
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_stream(chunks, filename):
    """CSV text given a chunk at a time (``chunks`` yields str) as a UTF-8 attachment, sent as
    it is made: for exports too long to hold in memory."""
    return Response(
        (chunk.encode("utf-8") for chunk in chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_text(value):
    """A value people typed (a name, a phone number) as a CSV cell that stays text: never a
    formula (Excel runs a cell that starts with = + - @, a tab or a return)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
