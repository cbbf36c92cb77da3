"""Parts of pages that every visitor sees alike (the catalog's listings, the home page),
rendered once per catalog version, language and Bangkok day, and kept in the catalog cache
(catalog/cache.py): a cached part costs no template rendering and no query but one.

What must be fresh on every view is left as a hole in the rendered HTML and filled in per
request: the stock of each product card (``<!--stock:ID-->``, see catalog/_card.html),
read in one query.
"""

import re

from flask import render_template
from flask_babel import get_locale
from markupsafe import Markup

from marketplace.catalog import cache as catalog_cache
from marketplace.catalog import services
from marketplace.levies import services as levies

_STOCK_HOLE = re.compile(r"<!--stock:(\d+)-->")


def cached(key, render, *, shared=True):
    """The HTML ``render()`` makes, cached under ``key``, with the stock filled in.

    ``render()`` returns ``(html, the cards on it)``. The levy badges on cards depend on the
    day and the names on the language, so both are part of the key. ``shared=False`` keeps
    it in this worker's memory only (see catalog/cache.py)."""

    fresh = {}

    def rendered():
        html, cards = render()
        fresh.update((card.id, card.stock) for card in cards)
        return str(html), [card.id for card in cards]

    html, product_ids = catalog_cache.cached(
        f"html:{get_locale()}:{levies.today()}:{key}", rendered, shared=shared
    )
    # Rendered just now: its cards' stock was read with them.
    return with_stock(html, fresh if fresh else services.stock_of(product_ids))


def with_stock(html, stock):
    """``html`` with every card's stock hole filled: an "out of stock" badge, or nothing."""
    badge = []

    def fill(match):
        if stock.get(int(match[1]), 0) > 0:
            return ""
        if not badge:
            badge.append(render_template("catalog/_out_of_stock.html"))
        return badge[0]

    return Markup(_STOCK_HOLE.sub(fill, html))  # noqa: S704 (rendered by autoescaping templates)
