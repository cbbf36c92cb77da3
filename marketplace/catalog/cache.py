"""What every visitor sees of the catalog, cached (Flask-Caching: Redis in production).

Entries are filed under a catalog version. The services that change what a listing shows
(products and their pictures, sellers, categories) call ``changed()``, which moves the
version on once their transaction has committed: no reader can cache the old state after
the change is visible, and entries of older versions expire unread (``CACHE_TIMEOUT``).
Stock is never cached (``catalog.services.browse`` reads it fresh for each page).

Each process also keeps the entries it used last in memory (``LOCAL_ENTRIES``, an LRU),
filed under the same version: a request reads the version from the cache once, and an
entry of that version it already holds costs no round trip and no unpickling. A version
moved on by any process makes every older local entry unreachable.

Keys also carry the release: a digest of the templates and the compiled catalogues this
process renders with, so a deploy that changes the pages never serves HTML cached by the
one before.

When the cache is unreachable the catalog is read from the database as if nothing were
cached, and the cache is left alone for ``PAUSE`` seconds, so a hung Redis costs one
socket timeout, not one per request. Without a cache (``NullCache``) nothing is kept.
"""

import hashlib
import logging
import threading
import time
from pathlib import Path

from cachetools import LRUCache
from flask import current_app, g
from flask_caching.backends.nullcache import NullCache

from marketplace import transaction
from marketplace.extensions import cache

log = logging.getLogger(__name__)

VERSION_KEY = "catalog:version"
PAUSE = 5.0
LOCAL_ENTRIES = 512


def _release():
    """A short digest of what cached HTML is made from: the templates and the compiled
    translations (their paths and contents)."""
    digest = hashlib.sha256()
    roots = [
        Path(current_app.root_path).parent / "templates",
        Path(current_app.root_path) / "translations",
    ]
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".html", ".txt", ".mo")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _state():
    state = current_app.extensions.get("catalog_cache")
    if state is None:
        state = current_app.extensions["catalog_cache"] = {
            "down_until": 0.0,
            "local": LRUCache(maxsize=LOCAL_ENTRIES),
            "lock": threading.Lock(),
            "release": _release(),
        }
    return state


def _usable():
    return time.monotonic() >= _state()["down_until"]


def _failed(what, error):
    _state()["down_until"] = time.monotonic() + PAUSE
    log.warning("catalog cache %s failed; reading the database for %gs: %s", what, PAUSE, error)


def _version():
    """The catalog version, read from the cache once a request (or app context)."""
    if "catalog_version" not in g:
        g.catalog_version = cache.get(VERSION_KEY) or 0
    return g.catalog_version


def cached(key, compute, *, shared=True):
    """``compute()``'s value, from the cache when this version of the catalog has it.

    With ``shared=False`` the value is kept in this process's memory only, never in the
    shared cache: for keys a visitor makes up (searches), which must not fill Redis.
    Values are shared between requests: treat them as read-only."""
    if isinstance(cache.cache, NullCache) or not _usable():
        return compute()
    state = _state()
    try:
        name = f"catalog:{state['release']}:{_version()}:{key}"
        with state["lock"]:
            value = state["local"].get(name)
        if value is not None:
            return value
        value = cache.get(name) if shared else None
    except Exception as error:  # noqa: BLE001 (any cache failure: read the database)
        _failed("read", error)
        return compute()
    if value is None:
        value = compute()
        try:
            if shared:
                cache.set(name, value)
        except Exception as error:  # noqa: BLE001
            _failed("write", error)
            return value
    with state["lock"]:
        state["local"][name] = value
    return value


def changed():
    """What listings show changes in this transaction: a new catalog version at commit."""
    transaction.on_commit(_next_version)


def _next_version():
    g.pop("catalog_version", None)  # this context reads the new version from now on
    try:
        cache.cache.inc(VERSION_KEY)  # the backend: Flask-Caching does not proxy inc
    except Exception as error:  # noqa: BLE001
        _failed("version", error)
