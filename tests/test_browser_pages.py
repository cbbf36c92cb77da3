"""Every page of the marketplace in a real browser (tests/browser_kit.py), in Thai and in
English, on a 360 px phone and a 1280 px desktop: the pages no journey walks through
(accounts, public seller and fund pages, a seller's settings, a fund's rules, remittances
and audit trail, the back office), each signed in as the person who uses it, and checked
like every journey's page (no sideways scroll, nothing from another host, axe-core).

The demo marketplace is seeded once for the module (``flask demo seed``) and given a history
(orders paid, shipped, received and refunded, a payout run, a remittance) so that the pages
show what they show in use. One browser serves the module, one context per person, width
and language at a time. The pages render alike on both databases, so SQLite serves them.
"""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from marketplace import create_app
from marketplace.accounts import services as accounts
from marketplace.accounts.models import PendingRegistration
from marketplace.catalog.models import Product
from marketplace.dbtypes import utcnow
from marketplace.demo import services as demo
from marketplace.extensions import db as _db
from marketplace.funds.models import Fund
from marketplace.grouporders.models import GroupOrder
from marketplace.i18n import to_bangkok
from marketplace.ledger import services as ledger
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as orders
from marketplace.orders.models import DeliveryMethod
from marketplace.payouts import services as payouts
from marketplace.sellers import services as sellers
from marketplace.sellers.models import Seller, SellerKind
from tests.browser_kit import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    _with_axe,
    check_page,
    new_page,
    sign_in,
)
from tests.conftest import make_config, unavailable
from tests.test_api_http import DEMO_PASSWORD, free_port

PHUKET = {
    "name": "สมศรี ใจดี",
    "phone": "0812345601",
    "address_line": "45/2 หมู่ 3 ถนนวิเศษ",
    "subdistrict_code": "830107",
    "postal_code": "83130",
}
RICE_SELLER = "วิสาหกิจชุมชนข้าวหอมมะลิอินทรีย์บ้านเขว้า"
WEAVERS = "กลุ่มจักสานคลุ้มบ้านนาทอน"
RAWAI_FUND = "กองทุนสวัสดิการชุมชนตำบลราไวย์"
EMAILS = {
    "buyer": "buyer@demo.local",
    "seller": "seller@demo.local",
    "treasurer": "treasurer@demo.local",
    "admin": "admin@demo.local",
}


def _by_name(model, name):
    return _db.session.scalar(select(model).where(model.name_th == name))


def _product(seller, name_th):
    return _db.session.scalar(
        select(Product).where(Product.seller_id == seller.id, Product.name_th == name_th)
    )


def give_history():
    """Orders of the demo buyer paid, shipped, received and refunded, a payout run with a
    payout paid and one waiting, a remittance to the buyer's fund, a seller to verify, and
    live links to finish a registration and to set a new password; returns the ids."""
    admin = accounts.get_by_email(EMAILS["admin"])
    buyer = accounts.get_by_email(EMAILS["buyer"])
    member = accounts.get_by_email(EMAILS["seller"])
    weaver = accounts.get_by_email("weaver@demo.local")
    treasurer = accounts.get_by_email(EMAILS["treasurer"])
    rice_seller, weavers = _by_name(Seller, RICE_SELLER), _by_name(Seller, WEAVERS)
    rice = _product(rice_seller, "ข้าวหอมมะลิอินทรีย์ ถุง 5 กก.")
    brown_rice = _product(rice_seller, "ข้าวกล้องหอมมะลิอินทรีย์ ถุง 1 กก.")
    basket = _product(weavers, "ตะกร้าสานคลุ้ม ใบกลาง")
    fund = _by_name(Fund, RAWAI_FUND)

    # Received: rice by Thailand Post, a basket handed over at the weavers' place
    received = orders.place_order(
        buyer,
        [(rice.id, 3), (brown_rice.id, 2), (basket.id, 2)],
        address=PHUKET,
        methods={weavers.id: DeliveryMethod.PICKUP},
    )
    orders.confirm_transfer(admin, received)
    _db.session.commit()
    for shipment in received.shipments:
        if shipment.seller_id == rice_seller.id:
            orders.ship(member, shipment, carrier="Thailand Post", tracking_number="EX123456789TH")
            orders.confirm_delivery(buyer, shipment)
        else:
            orders.hand_over(weaver, shipment)
    _db.session.commit()

    # Paid, then a basket refunded: the fund's levy goes back (a negative amount)
    refunded = orders.place_order(buyer, [(rice.id, 1), (basket.id, 2)], address=PHUKET)
    orders.confirm_transfer(admin, refunded)
    _db.session.commit()
    basket_item = next(i for i in refunded.items if i.product_id == basket.id)
    order_refunds.refund(admin, refunded, [(basket_item.id, 1)], reason="ตะกร้าเสียหาย")
    _db.session.commit()

    # Waiting for the buyer's transfer
    waiting = orders.place_order(buyer, [(rice.id, 2)], address=PHUKET)
    _db.session.commit()

    # A payout run: the rice group paid, the weavers' payout waiting
    run = payouts.start_run(admin)
    _db.session.commit()
    for payout in run.payouts:
        if payout.seller_id == rice_seller.id:
            payouts.mark_paid(
                admin,
                payout,
                bank_reference="BAAC 2569-0042",
                paid_on=to_bangkok(utcnow()).date(),
            )
    _db.session.commit()

    # The treasurer sends part of what the fund is owed to its bank account
    owed = ledger.fund_payable(fund.id).balance_satang
    if owed > 100:
        ledger.record_remittance(
            treasurer,
            fund,
            amount_satang=owed // 2,
            remitted_on=to_bangkok(utcnow()).date() - timedelta(days=1),
            bank_reference="GSB 0203456789-17",
        )
    _db.session.commit()

    # A group waiting to be verified
    unverified = sellers.create_seller(
        admin,
        {
            "name_th": "กลุ่มแม่บ้านทอผ้าบ้านหนองบัว",
            "name_en": "Nong Bua Weaving Housewives Group",
            "kind": SellerKind.OTOP_GROUP,
            "description": "ผ้าฝ้ายทอมือย้อมคราม",
            "address_line": "7 หมู่ 5",
            "subdistrict_code": "360201",
            "postal_code": "36170",
            "contact_name": "บัวผัน ทอดี",
            "phone": "0812345699",
        },
    )
    _db.session.commit()

    # Live links from mail: finishing a registration, setting a new password
    accounts.start_registration("newcomer@example.com", "a-long-new-passphrase", "มานี ใหม่")
    _db.session.commit()
    pending = _db.session.scalar(
        select(PendingRegistration).where(PendingRegistration.email == "newcomer@example.com")
    )
    _, registration_token = accounts.registration_link_token(pending.id)
    reset_token = accounts.password_reset_token(buyer)
    _db.session.commit()

    group = _db.session.scalar(select(GroupOrder))
    return {
        "seller": rice_seller.id,
        "weavers": weavers.id,
        "unverified": unverified.id,
        "fund": fund.id,
        "product": rice.id,
        "received": received.id,
        "refunded": refunded.id,
        "waiting": waiting.id,
        "run": run.id,
        "group": group.id,
        "join": group.join_code,
        "registration_token": registration_token,
        "reset_token": reset_token,
    }


#: (person, page name, path with {ids}); None is someone not signed in.
PAGES = [
    (None, "about", "/about"),
    (None, "login", "/login"),
    (None, "register", "/register"),
    (None, "register-confirm", "/register/confirm/{registration_token}"),
    (None, "password-forgot", "/password/forgot"),
    (None, "password-reset", "/password/reset/{reset_token}"),
    (None, "link-invalid", "/password/reset/not-a-live-link"),
    (None, "sellers", "/sellers"),
    (None, "seller-public", "/sellers/{seller}"),
    (None, "funds", "/funds"),
    (None, "fund-public", "/funds/{fund}"),
    (None, "group-orders-anonymous", "/group-orders"),
    (None, "not-found", "/no-such-page"),
    ("buyer", "account", "/account"),
    ("buyer", "orders", "/orders"),
    ("buyer", "order-received", "/orders/{received}"),
    ("buyer", "order-refunded", "/orders/{refunded}"),
    ("buyer", "group-orders", "/group-orders"),
    ("buyer", "group-order-pledge", "/g/{join}"),
    ("seller", "seller-centre", "/sellers/{seller}/centre"),
    ("seller", "seller-public-member", "/sellers/{seller}"),
    ("seller", "seller-products", "/sellers/{seller}/products"),
    ("seller", "seller-edit", "/sellers/{seller}/edit"),
    ("seller", "seller-shipping", "/sellers/{seller}/shipping"),
    ("seller", "seller-shipments", "/sellers/{seller}/shipments"),
    ("seller", "seller-levy-rules", "/sellers/{seller}/levy-rules"),
    ("seller", "seller-levies", "/sellers/{seller}/levies"),
    ("seller", "seller-statement", "/sellers/{seller}/statement"),
    ("seller", "seller-audit", "/sellers/{seller}/audit"),
    ("treasurer", "fund-dashboard", "/funds/{fund}/dashboard"),
    ("treasurer", "fund-levy-report", "/funds/{fund}/levies"),
    ("treasurer", "fund-levy-items", "/funds/{fund}/levies/items"),
    ("treasurer", "fund-remittances", "/funds/{fund}/remittances"),
    ("treasurer", "fund-levy-rules", "/funds/{fund}/levy-rules"),
    ("treasurer", "fund-edit", "/funds/{fund}/edit"),
    ("treasurer", "fund-audit", "/funds/{fund}/audit"),
    ("treasurer", "group-order-organiser", "/group-orders/{group}"),
    ("treasurer", "group-order-sheet", "/group-orders/{group}/sheet"),
    ("admin", "admin-overview", "/admin/"),
    ("admin", "admin-orders", "/admin/orders"),
    ("admin", "admin-order-refunded", "/admin/orders/{refunded}"),
    ("admin", "admin-order-waiting", "/admin/orders/{waiting}"),
    ("admin", "admin-users", "/admin/users"),
    ("admin", "admin-sellers", "/admin/sellers"),
    ("admin", "admin-seller-new", "/admin/sellers/new"),
    ("admin", "admin-seller-edit", "/admin/sellers/{seller}"),
    ("admin", "admin-seller-unverified", "/admin/sellers/{unverified}"),
    ("admin", "admin-platform-fee", "/admin/sellers/{seller}/platform-fee"),
    ("admin", "admin-funds", "/admin/funds"),
    ("admin", "admin-fund-new", "/admin/funds/new"),
    ("admin", "admin-fund-edit", "/admin/funds/{fund}"),
    ("admin", "admin-categories", "/admin/categories"),
    ("admin", "admin-shipping", "/admin/shipping"),
    ("admin", "admin-levy-rules", "/admin/levy-rules"),
    ("admin", "admin-payouts", "/admin/payouts"),
    ("admin", "admin-payout-run", "/admin/payout-runs/{run}"),
    ("admin", "admin-audit", "/admin/audit"),
]
LANGUAGES = ("th", "en")
SCREENS = {"phone": PHONE, "desktop": DESKTOP}
#: Every page in each language on each screen, a context's pages one after the other.
VISITS = [
    pytest.param(language, screen, who, name, path, id=f"{language}-{screen}-{name}")
    for language in LANGUAGES
    for screen in SCREENS
    for who in (None, "buyer", "seller", "treasurer", "admin")
    for (person, name, path) in PAGES
    if person == who
]


@pytest.fixture(scope="module")
def site(database):
    """The demo marketplace with its history, served on a free port: ``(base, ids)``."""
    app = create_app(make_config(database["url"], PAYOUT_HOLD_DAYS=0, PLATFORM_FEE_BPS=250))
    with app.app_context():
        demo.seed(DEMO_PASSWORD)
        _db.session.commit()
        ids = give_history()
    port = free_port()
    httpd = make_server("127.0.0.1", port, _with_axe(app), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", ids
    httpd.shutdown()
    with app.app_context():
        _db.engine.dispose()
    database["cleaner"].clean()


@pytest.fixture(scope="module")
def module_browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
        except Exception as exc:  # noqa: BLE001 - no Chromium here
            unavailable(f"Chromium at {CHROMIUM} ({exc.__class__.__name__})")
        yield browser
        browser.close()


class Contexts:
    """One page (and its context) for a person, screen and language at a time."""

    def __init__(self, browser, base):
        self.browser, self.base = browser, base
        self.key = self.page = None

    def page_for(self, who, language, screen):
        key = (who, language, screen)
        if key != self.key:
            self.close()
            page = new_page(self.browser, self.base, SCREENS[screen])
            page.on("dialog", lambda dialog: dialog.dismiss())
            self.watch(page)
            if who:
                sign_in(page, self.base, EMAILS[who], DEMO_PASSWORD)
            else:
                page.goto(f"{self.base}/about")
            # The session's language, whatever the account says
            if page.evaluate("document.documentElement.lang") != language:
                page.click(".language-switch button")
                page.wait_for_load_state()
            assert page.evaluate("document.documentElement.lang") == language
            self.key, self.page = key, page
        return self.page

    def watch(self, page):
        """Count the page's requests in flight: a full-page screenshot loads lazy pictures,
        and leaving the page before they arrive drops them half sent."""
        page.in_flight = set()
        page.on("request", lambda request: page.in_flight.add(request))
        page.on("requestfinished", lambda request: page.in_flight.discard(request))
        page.on("requestfailed", lambda request: page.in_flight.discard(request))

    def settle(self):
        """Wait (a few seconds at most) until nothing the page asked for is still coming."""
        for _ in range(200):
            if not self.page.in_flight:
                return
            self.page.wait_for_timeout(20)

    def close(self):
        if self.page is not None:
            self.settle()
            self.page.context.close()
        self.key = self.page = None


@pytest.fixture(scope="module")
def contexts(module_browser, site):
    opened = Contexts(module_browser, site[0])
    yield opened
    opened.close()


#: The pages render alike on PostgreSQL (their journeys run on both): SQLite serves them.
pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.mark.parametrize(("language", "screen", "who", "name", "path"), VISITS)
def test_every_page_holds_on_a_phone_and_a_desktop(
    site, contexts, language, screen, who, name, path
):
    base, ids = site
    page = contexts.page_for(who, language, screen)
    response = page.goto(base + path.format(**ids))
    expected = {"not-found": 404, "link-invalid": 400}.get(name, 200)
    assert response.status == expected, f"{path}: {response.status}"
    assert page.evaluate("document.documentElement.lang") == language
    check_page(page, f"pages-{language}-{name}", loaded=True)
    contexts.settle()
