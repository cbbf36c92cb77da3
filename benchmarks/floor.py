"""The floors the catalog is measured against: the least work that gives the same answer.

Served by gunicorn beside the marketplace in ``make bench`` (``benchmarks.floor:app``):

- ``/ok``: bare Flask, the text "ok";
- ``/catalog``: Flask and psycopg running one indexed query that returns the catalog's
  first page (24 newest products of verified sellers) with what a card shows (name, unit,
  price, stock, seller, province, category, cover picture), as JSON. One connection per
  worker process, opened once, with the statement prepared (a sync worker serves one
  request at a time, so this is a pool of one).
"""

import os

import psycopg
from flask import Flask, jsonify

CARDS = """
SELECT p.id, p.name_th, p.name_en, p.unit_label, p.price_satang, p.stock,
       s.name_th AS seller, pr.name_th AS province, c.name_th AS category,
       (SELECT i.thumb_name FROM product_images i WHERE i.product_id = p.id
        ORDER BY i.position, i.id LIMIT 1) AS cover
FROM products p
JOIN sellers s ON s.id = p.seller_id
JOIN subdistricts sd ON sd.code = s.subdistrict_code
JOIN districts d ON d.code = sd.district_code
JOIN provinces pr ON pr.code = d.province_code
JOIN categories c ON c.id = p.category_id
WHERE p.status = 'active' AND s.verified
ORDER BY p.created_at DESC, p.id DESC
LIMIT 24
"""

app = Flask(__name__)
_connection = None


def connection():
    global _connection
    if _connection is None or _connection.closed:
        url = os.environ["FLOOR_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        _connection = psycopg.connect(url, autocommit=True)
    return _connection


@app.get("/ok")
def ok():
    return "ok"


@app.get("/catalog")
def catalog():
    with connection().cursor() as cursor:
        cursor.execute(CARDS, prepare=True)
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return jsonify({"items": rows})
