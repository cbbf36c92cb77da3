"""What the browser tests share: Debian's Chromium driven by Playwright for Python (never a
downloaded browser), the app served on a free port, screenshots, and the checks every page
gets (no sideways scroll, nothing loaded from another host, axe-core's accessibility rules).

Screenshots are kept under tests/screenshots/ (CI artefacts, not committed), or under
``BROWSER_SHOTS`` when it names a directory.
"""

import json
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, unavailable
from tests.test_api_http import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("BROWSER_SHOTS") or ROOT / "tests" / "screenshots")
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}
#: axe-core's impacts that fail a page.
BLOCKING = ("critical", "serious")


@pytest.fixture
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        unavailable(f"Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-core)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


#: Where the served app also answers with axe-core, so that a page loads it from its own
#: host (the Content-Security-Policy allows scripts from 'self' only, and stays on).
AXE_PATH = "/__tests__/axe.min.js"


def _with_axe(app):
    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") == AXE_PATH and AXE.exists():
            body = AXE.read_bytes()
            start_response(
                "200 OK",
                [("Content-Type", "text/javascript"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return app(environ, start_response)

    return wsgi


@pytest.fixture
def live(app):
    """The app over HTTP on a free port (threaded, like production's workers)."""
    port = free_port()
    httpd = make_server("127.0.0.1", port, _with_axe(app), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()


class Watched:
    """A page whose requests are watched: ``foreign`` lists every request to another host."""

    def __init__(self, page, base):
        self.page = page
        self.host = urlsplit(base).netloc
        self.foreign = []
        page.on("request", self._seen)

    def _seen(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https") and parts.netloc != self.host:
            self.foreign.append(request.url)


def new_page(browser, base, viewport=PHONE, **options):
    """A page in a fresh context (its own cookies), watched for requests to other hosts."""
    context = browser.new_context(
        viewport=viewport,
        is_mobile=viewport["width"] < 600,
        has_touch=viewport["width"] < 600,
        **options,
    )
    page = context.new_page()
    page.watched = Watched(page, base)
    return page


def sign_in(page, base, email, password=PASSWORD):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def shot(page, name):
    """Keep a full-page screenshot named ``name`` (with the viewport's width)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


def axe_violations(page):
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.exists():
        unavailable(f"axe-core at {AXE} (npm ci)")
    page.add_script_tag(url=AXE_PATH)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def check_page(page, name, *, loaded=False):
    """What every page of a journey must hold: a screenshot kept, no sideways scroll, no
    request to another host, no serious or critical accessibility violation.

    The page is first let settle: half a second with no request, or, when ``loaded`` says
    the caller has seen its load event (a plain ``goto``: pictures and stylesheets are in),
    just its web fonts.
    """
    if loaded:
        page.evaluate("document.fonts.ready.then(() => true)")
    else:
        page.wait_for_load_state("networkidle")
    shot(page, name)
    no_sideways_scroll(page)
    assert page.watched.foreign == [], page.watched.foreign
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False, indent=1)
