"""Reading rendered pages in tests."""

import html
import re


def field_errors(page, name):
    """The errors shown inside the form field ``name``'s block (the ``field`` macro of
    templates/_forms.html, or its ``day_selects``), unescaped; [] when it shows none."""
    blocks = re.findall(
        r'<div class="field[^"]*">(.*?)</div>|<fieldset class="date-selects[^"]*">(.*?)</fieldset>',
        page,
        re.S,
    )
    for block in ("".join(parts) for parts in blocks):
        # (a day's three selects are named name_day, name_month and name_year)
        if re.search(rf'name="{re.escape(name)}(_day)?"', block):
            found = re.findall(r'<p class="error"[^>]*role="alert">([^<]*)</p>', block)
            return [html.unescape(error) for error in found]
    raise AssertionError(f"no field {name!r} on the page")
