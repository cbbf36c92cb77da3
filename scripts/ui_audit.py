"""``make ui-audit``: Lighthouse (npm, run with Debian's Chromium) on the pages people use
most, in mobile mode, against the demo marketplace served by gunicorn.

It builds a fresh SQLite database with the demo data and one order, serves it on a free
port, signs in where a page needs it (the session cookie goes to Lighthouse as a header),
and prints one line per page::

    lighthouse home performance=0.93 accessibility=1.00 best_practices=1.00

Budget: accessibility ≥ 0.95, best practices ≥ 0.95, performance ≥ 0.90; a page below it is
marked MISS and the command exits 1. Reports are kept in ``UI_AUDIT_DIR`` (default
/tmp/ui-audit) as JSON.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PASSWORD = "talat-demo-2569"
BUDGET = {"performance": 0.90, "accessibility": 0.95, "best-practices": 0.95}
OUT = Path(os.environ.get("UI_AUDIT_DIR", "/tmp/ui-audit"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(env):
    """Demo data and one order of the demo buyer (for the order page); the ids the pages
    need."""
    script = """
import json
from marketplace import create_app
from marketplace.extensions import db
from marketplace.accounts import services as accounts
from marketplace.catalog.models import Product, ProductStatus
from marketplace.funds.models import Fund
from marketplace.orders import services as orders
from sqlalchemy import select
import flask_migrate

app = create_app()
with app.app_context():
    flask_migrate.upgrade()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    buyer = accounts.get_by_email("buyer@demo.local")
    seller_member = accounts.get_by_email("seller@demo.local")
    product = db.session.scalar(
        select(Product).where(Product.seller_id == seller_member.sellers[0].id,
                              Product.status == ProductStatus.ACTIVE).order_by(Product.id))
    order = orders.place_order(buyer, [(product.id, 2)], address={
        "name": "สมศรี ใจดี", "phone": "0812345601", "address_line": "45/2 หมู่ 3 ถนนวิเศษ",
        "subdistrict_code": "830107", "postal_code": "83130"})
    db.session.commit()
    fund = accounts.get_by_email("treasurer.chaiyaphum@demo.local").funds[0]
    print(json.dumps({"order": order.id, "product": product.id,
                      "seller": seller_member.sellers[0].id, "fund": fund.id}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def cookie_for(base, email):
    """Sign in as ``email`` and return the Cookie header the browser would send."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": PASSWORD})
    opener.open(f"{base}/login", data=data.encode()).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def wait_for(base):
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2).read()  # noqa: S310
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the marketplace did not start at {base}")


def audit(name, url, cookie=None):
    report = OUT / f"{name}.json"
    command = [
        str(LIGHTHOUSE),
        url,
        f"--chrome-path={CHROMIUM}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        "--only-categories=performance,accessibility,best-practices",
        "--form-factor=mobile",
        "--output=json",
        f"--output-path={report}",
        "--quiet",
    ]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    try:
        subprocess.run(command, check=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        print(f"lighthouse {name} ERROR {error}", flush=True)
        return False
    categories = json.loads(report.read_text())["categories"]
    scores = {key: categories[key]["score"] or 0 for key in BUDGET}
    missed = [key for key, floor in BUDGET.items() if scores[key] < floor]
    line = " ".join(f"{key.replace('-', '_')}={scores[key]:.2f}" for key in BUDGET)
    print(f"lighthouse {name} {line}{'  MISS ' + ','.join(missed) if missed else ''}", flush=True)
    return not missed


def main():
    if not LIGHTHOUSE.exists():
        sys.exit("Lighthouse is not installed: npm ci")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        sys.exit(f"Chromium is not at {CHROMIUM}: apt-get install chromium")
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="ui-audit-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'audit.sqlite3'}",
        "UPLOAD_FOLDER": str(workdir / "uploads"),
    }
    ids = prepare(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(base)
        buyer = cookie_for(base, "buyer@demo.local")
        seller = cookie_for(base, "seller@demo.local")
        treasurer = cookie_for(base, "treasurer.chaiyaphum@demo.local")
        pages = [
            ("home", "/", None),
            ("catalog", "/products", None),
            ("product", f"/products/{ids['product']}", None),
            ("cart", "/cart", buyer),
            ("order", f"/orders/{ids['order']}", buyer),
            ("seller-centre", f"/sellers/{ids['seller']}/centre", seller),
            ("fund-report", f"/funds/{ids['fund']}/levies", treasurer),
        ]
        results = [audit(name, base + path, cookie) for name, path, cookie in pages]
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
