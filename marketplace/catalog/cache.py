"""What every visitor sees of the catalog, cached (Flask-Caching: Redis in production).

Entries are filed under a catalog version. The services that change what a listing shows
(products and their pictures, sellers, categories) call ``changed()``, which moves the
version on once their transaction has committed: no reader can cache the old state after
the change is visible, and entries of older versions expire unread (``CACHE_TIMEOUT``).
Stock is never cached (``catalog.services.browse`` reads it fresh for each page).

When the cache is unreachable the catalog is read from the database as if nothing were
cached, and the cache is left alone for ``PAUSE`` seconds, so a hung Redis costs one
socket timeout, not one per request.
"""

import logging
import time

from flask import current_app

from marketplace import transaction
from marketplace.extensions import cache

log = logging.getLogger(__name__)

VERSION_KEY = "catalog:version"
PAUSE = 5.0


def _state():
    return current_app.extensions.setdefault("catalog_cache", {"down_until": 0.0})


def _usable():
    return time.monotonic() >= _state()["down_until"]


def _failed(what, error):
    _state()["down_until"] = time.monotonic() + PAUSE
    log.warning("catalog cache %s failed; reading the database for %gs: %s", what, PAUSE, error)


def cached(key, compute):
    """``compute()``'s value, from the cache when this version of the catalog has it."""
    if not _usable():
        return compute()
    try:
        name = f"catalog:{cache.get(VERSION_KEY) or 0}:{key}"
        value = cache.get(name)
    except Exception as error:  # noqa: BLE001 (any cache failure: read the database)
        _failed("read", error)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(name, value)
        except Exception as error:  # noqa: BLE001
            _failed("write", error)
    return value


def changed():
    """What listings show changes in this transaction: a new catalog version at commit."""
    transaction.on_commit(_next_version)


def _next_version():
    try:
        cache.cache.inc(VERSION_KEY)  # the backend: Flask-Caching does not proxy inc
    except Exception as error:  # noqa: BLE001
        _failed("version", error)
