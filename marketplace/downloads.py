"""Files a page offers to download."""

from flask import Response


def csv_download(text, filename):
    """``text`` (a CSV, its BOM included where wanted) as a UTF-8 attachment ``filename``."""
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
