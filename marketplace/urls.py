from urllib.parse import urlsplit

from flask import request, url_for


def is_safe_next(target):
    """Only a path on this host: no scheme, no host, no protocol-relative ``//``."""
    if not target or not isinstance(target, str):
        return False
    if any(ch in target for ch in "\\\r\n\t") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/")


def next_url(default_endpoint="main.home"):
    """The ``next`` argument (query or form) when it is safe, else ``default_endpoint``."""
    target = request.args.get("next") or request.form.get("next")
    return target if is_safe_next(target) else url_for(default_endpoint)
