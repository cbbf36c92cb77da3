"""The benchmark's data set, built on PostgreSQL with plain SQL (seconds, not hours).

At ``BENCH_SCALE=1`` (the default): 100,000 active products from 2,000 verified sellers in
all 77 provinces (a third of them with a picture), 200,000 paid orders, and 1,000,000
journal lines of levy postings; on top, the demo market (``flask demo seed``: users,
sellers, funds and agreed levies), which checkout and routing use. Smaller scales shrink
every count alike (``BENCH_SCALE=0.05`` builds in seconds).
"""

from sqlalchemy import text

from benchmarks import levy_report
from marketplace.catalog import services as catalog
from marketplace.demo import services as demo
from marketplace.extensions import db
from marketplace.geo import services as geo

SELLERS, PRODUCTS, ORDERS, JOURNAL_LINES = 2_000, 100_000, 200_000, 1_000_000
DEMO_PASSWORD = "bench-password-2569"  # noqa: S105 (the benchmark's own throwaway users)

#: Product names by kind; one in twelve holds "มะลิ", which the search figure looks for.
NAMES = [
    ("ข้าวหอมมะลิ", "Hom Mali rice", "ถุง 5 กก."),
    ("ข้าวไรซ์เบอร์รี่", "Riceberry rice", "ถุง 1 กก."),
    ("มังคุดคัด", "Mangosteen", "กล่อง 2 กก."),
    ("ต้นกล้ามังคุด", "Mangosteen seedling", "ต้น"),
    ("ตะกร้าสานไม้ไผ่", "Woven bamboo basket", "ใบ"),
    ("ผ้าไหมมัดหมี่", "Mudmee silk", "ผืน"),
    ("น้ำผึ้งป่า", "Wild honey", "ขวด"),
    ("กาแฟคั่วดอย", "Hill coffee", "ถุง 250 ก."),
    ("กล้วยตาก", "Sun-dried banana", "แพ็ค"),
    ("สบู่สมุนไพร", "Herbal soap", "ก้อน"),
    ("ปลาร้าบอง", "Pla ra relish", "กระปุก"),
    ("เมล็ดมะม่วงหิมพานต์", "Cashew nuts", "ถุง 500 ก."),
]


def scaled(count, scale):
    return max(1, round(count * scale))


def build(scale, log=print):
    """Fill the (migrated, empty) database of the current app context; return the counts."""
    geo.load_geography()
    catalog.ensure_default_categories()
    db.session.commit()
    demo.seed(DEMO_PASSWORD)
    db.session.commit()
    sellers, products = scaled(SELLERS, scale), scaled(PRODUCTS, scale)
    orders, lines = scaled(ORDERS, scale), scaled(JOURNAL_LINES, scale)
    log(f"data set: {sellers} sellers, {products} products, {orders} orders, {lines} lines")
    _sellers(sellers)
    _products(products)
    _orders(orders)
    _journal(lines)
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return {"sellers": sellers, "products": products, "orders": orders, "journal_lines": lines}


def _sellers(count):
    """Verified community groups, spread over all 77 provinces, one subdistrict each."""
    db.session.execute(
        text(
            """
            CREATE TEMPORARY TABLE bench_places AS
            SELECT s.code, dense_rank() OVER (ORDER BY d.province_code) AS province,
                   row_number() OVER (PARTITION BY d.province_code ORDER BY s.code) AS n,
                   count(*) OVER (PARTITION BY d.province_code) AS total
            FROM subdistricts s JOIN districts d ON d.code = s.district_code
            """
        )
    )
    db.session.execute(
        text(
            """
            INSERT INTO sellers (kind, promptpay_id, name_th, name_en, description, address_line,
                postal_code, contact_name, phone, email, bank_name, bank_account_name,
                bank_account_number, verified, verified_at, created_at, subdistrict_code,
                offers_pickup, pickup_note)
            SELECT 'community_enterprise', '', 'วิสาหกิจชุมชนบ้าน ' || g, 'Community group ' || g,
                'สินค้าชุมชนคุณภาพจากกลุ่มเกษตรกร', 'หมู่ ' || (1 + g % 12), '10200',
                'ประธานกลุ่ม ' || g, '0812345678', '', '', '', '', true, now(), now(), p.code,
                false, ''
            FROM generate_series(1, :count) g
            JOIN bench_places p ON p.province = 1 + g % 77
                AND p.n = 1 + (g / 77) % p.total
            """
        ),
        {"count": count},
    )
    db.session.execute(text("DROP TABLE bench_places"))


def _products(count):
    """Active products of the bench sellers, newest spread over a year; a third with a picture."""
    names = [name for name, _en, _unit in NAMES]
    english = [en for _name, en, _unit in NAMES]
    units = [unit for _name, _en, unit in NAMES]
    db.session.execute(
        text(
            """
            WITH bench_sellers AS (
                SELECT array_agg(id ORDER BY id) AS ids FROM sellers
                WHERE name_en LIKE 'Community group %'
            ), cats AS (
                SELECT array_agg(id ORDER BY position, id) AS ids FROM categories WHERE active
            )
            INSERT INTO products (seller_id, category_id, name_th, name_en, description, unit_label,
                price_satang, stock, weight_grams, status, search_text, created_at, updated_at)
            SELECT s.ids[1 + g % cardinality(s.ids)], c.ids[1 + g % cardinality(c.ids)],
                n.name || ' รุ่น ' || g, n.en || ' lot ' || g, 'ผลผลิตของกลุ่ม คัดสรรอย่างดี',
                n.unit, 2500 + (g * 7919) % 90000, (g * 31) % 200, 250 + (g * 13) % 5000, 'active',
                lower(n.name || ' รุ่น ' || g || ' ' || n.en || ' lot ' || g || ' ' || n.unit),
                now() - (g * interval '5 minutes'), now()
            FROM generate_series(1, :count) g
            CROSS JOIN bench_sellers s CROSS JOIN cats c
            CROSS JOIN LATERAL (
                SELECT (CAST(:names AS text[]))[1 + g % 12] AS name,
                       (CAST(:english AS text[]))[1 + g % 12] AS en,
                       (CAST(:units AS text[]))[1 + g % 12] AS unit
            ) n
            """
        ),
        {"count": count, "names": names, "english": english, "units": units},
    )
    db.session.execute(
        text(
            """
            INSERT INTO product_images (product_id, position, display_name, thumb_name, width,
                height, created_at)
            SELECT id, 0, 'bench-' || id || '.webp', 'bench-' || id || '-thumb.webp', 1200, 900,
                now()
            FROM products WHERE name_en LIKE '% lot %' AND id % 3 = 0
            """
        )
    )


def _orders(count):
    """Paid orders of the demo buyer, one bench product each, over the past year."""
    db.session.execute(
        text(
            """
            CREATE TEMPORARY TABLE bench_orders AS
            SELECT g, p.id AS product_id, p.seller_id, p.name_th, p.unit_label, p.price_satang,
                   p.weight_grams, 1 + g % 3 AS quantity
            FROM generate_series(1, :count) g
            JOIN products p ON p.id = (SELECT min(id) FROM products WHERE name_en LIKE '% lot %')
                + g % 1000
            """
        ),
        {"count": count},
    )
    db.session.execute(
        text(
            """
            INSERT INTO orders (number, buyer_id, status, subtotal_satang, shipping_satang,
                total_satang, ship_name, ship_phone, ship_address_line, ship_subdistrict_code,
                ship_postal_code, payment_method, placed_at, expires_at, paid_at, cancel_reason,
                refunded_satang)
            SELECT 'B' || lpad(g::text, 9, '0'), u.id, 'paid', price_satang * quantity, 5000,
                price_satang * quantity + 5000, 'ผู้ซื้อ', '0812345678', '1 หมู่ 1', '100101',
                '10200', 'transfer', now() - g * interval '2 minutes',
                now() - g * interval '2 minutes' + interval '1 day',
                now() - g * interval '2 minutes', '', 0
            FROM bench_orders
            CROSS JOIN (SELECT id FROM users WHERE email = 'buyer@demo.local') u
            """
        )
    )
    db.session.execute(
        text(
            """
            INSERT INTO shipments (order_id, seller_id, method, status, shipping_satang,
                weight_grams, subtotal_satang, carrier, tracking_number, shipped_at,
                delivered_at, shipping_refunded_satang)
            SELECT o.id, b.seller_id, 'delivery', 'delivered', 5000, b.weight_grams * b.quantity,
                b.price_satang * b.quantity, 'ไปรษณีย์ไทย', 'EX' || b.g || 'TH', o.paid_at,
                o.paid_at, 0
            FROM bench_orders b JOIN orders o ON o.number = 'B' || lpad(b.g::text, 9, '0')
            """
        )
    )
    db.session.execute(
        text(
            """
            INSERT INTO order_items (order_id, shipment_id, product_id, name_th, name_en,
                unit_label, unit_price_satang, quantity, line_total_satang, weight_grams,
                refunded_quantity)
            SELECT s.order_id, s.id, b.product_id, b.name_th, '', b.unit_label, b.price_satang,
                b.quantity, b.price_satang * b.quantity, b.weight_grams, 0
            FROM bench_orders b
            JOIN orders o ON o.number = 'B' || lpad(b.g::text, 9, '0')
            JOIN shipments s ON s.order_id = o.id
            """
        )
    )
    db.session.execute(text("DROP TABLE bench_orders"))


def _journal(lines):
    """Levy postings (two lines each) over the bench funds, sellers and products, a year of
    them, with the per-day and per-month totals the reports read."""
    db.session.execute(
        text(
            """
            INSERT INTO funds (name_th, name_en, description, address_line, postal_code,
                contact_name, phone, email, bank_name, bank_account_name, bank_account_number,
                verified, created_at, subdistrict_code)
            SELECT 'กองทุนสวัสดิการชุมชน ' || g, 'Welfare fund ' || g, '', '', '10200', '', '',
                '', '', '', '', true, now(), '100101'
            FROM generate_series(1, 20) g
            """
        )
    )
    ids = {
        name: db.session.scalars(text(query)).all()
        for name, query in (
            ("funds", "SELECT id FROM funds WHERE name_en LIKE 'Welfare fund %' ORDER BY id"),
            ("sellers", "SELECT id FROM sellers WHERE name_en LIKE 'Community group %' LIMIT 300"),
            ("products", "SELECT id FROM products WHERE name_en LIKE '% lot %' LIMIT 3000"),
        )
    }
    entries = max(1, lines // 2)
    levy_report.add_postings(1, entries, per_day=max(1, entries // 365), ids=ids)
