"""Reading rendered pages in tests."""

import html
import re


def field_errors(page, name):
    """The errors shown inside the form field ``name``'s block (the ``field`` macro of
    templates/_forms.html), unescaped; [] when it shows none."""
    for block in re.findall(r'<div class="field[^"]*">(.*?)</div>', page, re.S):
        if re.search(rf'name="{re.escape(name)}"', block):
            found = re.findall(r'<p class="error" role="alert">([^<]*)</p>', block)
            return [html.unescape(error) for error in found]
    raise AssertionError(f"no field {name!r} on the page")
