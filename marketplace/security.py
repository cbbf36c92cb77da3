"""Security headers on every response: a strict Content-Security-Policy, no framing,
no MIME sniffing, a referrer policy, and HSTS when ``HSTS_MAX_AGE`` is set (production).

Every page loads its scripts, styles, pictures and fonts from this host alone, with no
inline script, inline style or ``on…`` handler. Stripe.js is the one exception, and only
on the pages that render it: the template calls ``csp_allow_stripe()``, which adds
Stripe's script, frame and API hosts to that response's policy (as Stripe documents them).
"""

from flask import g

STRIPE_SCRIPT_SOURCES = ("https://js.stripe.com", "https://*.js.stripe.com")
STRIPE_FRAME_SOURCES = STRIPE_SCRIPT_SOURCES + ("https://hooks.stripe.com",)
STRIPE_CONNECT_SOURCES = ("https://api.stripe.com",)


def content_security_policy(stripe=False):
    """The policy for one response; ``stripe`` when the page loads Stripe.js."""
    script = ["'self'"]
    connect = ["'self'"]
    frame = ["'none'"]
    if stripe:
        script += STRIPE_SCRIPT_SOURCES
        connect += STRIPE_CONNECT_SOURCES
        frame = list(STRIPE_FRAME_SOURCES)
    directives = {
        "default-src": ["'self'"],
        "script-src": script,
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": connect,
        "frame-src": frame,
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def csp_allow_stripe():
    """Called by a template that loads Stripe.js: let this response's policy allow it."""
    g.csp_allow_stripe = True
    return ""


def install_security_headers(app):
    hsts_max_age = app.config["HSTS_MAX_AGE"]
    app.jinja_env.globals["csp_allow_stripe"] = csp_allow_stripe

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            content_security_policy(stripe=g.get("csp_allow_stripe", False)),
        )
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # Other sites (Stripe's frames too) learn this host, never the page's path.
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if hsts_max_age:
            headers.setdefault("Strict-Transport-Security", f"max-age={hsts_max_age}")
        return response
