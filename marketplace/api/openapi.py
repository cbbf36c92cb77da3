"""The OpenAPI 3.1 document of /api/v1, kept true by tests (every route documented, and
Schemathesis checks live responses against these schemas)."""

from marketplace.guards import MAX_ID

INT = {"type": "integer"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
SATANG = {"type": "integer", "description": "An amount in satang (1 baht = 100 satang)."}
TEXT = {"type": "string"}
NULLABLE_TEXT = {"type": ["string", "null"]}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties, required=None, additional=False):
    schema = {"type": "object", "properties": properties, "additionalProperties": additional}
    schema["required"] = list(properties) if required is None else required
    return schema


SCHEMAS = {
    "Error": _object(
        {
            "error": _object(
                {
                    "code": TEXT,
                    "message": TEXT,
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": TEXT},
                    },
                }
            )
        }
    ),
    "NewUser": _object(
        {
            "email": {"type": "string", "maxLength": 254},
            "password": {"type": "string", "maxLength": 200},
            "name": {"type": "string", "maxLength": 120},
            "language": {"type": "string", "enum": ["th", "en"]},
        },
        required=["email", "password", "name"],
    ),
    "RegistrationStarted": _object(
        {"email": TEXT, "status": {"type": "string", "enum": ["confirmation_sent"]}}
    ),
    "Credentials": _object(
        {
            "email": {"type": "string", "maxLength": 254},
            "password": {"type": "string", "maxLength": 200},
        }
    ),
    "Token": _object({"token": TEXT, "expires_at": {"type": "string", "format": "date-time"}}),
    "LevyBadge": _object(
        {
            "fund_id": {"type": ["integer", "null"]},
            "fund_name": NULLABLE_TEXT,
            "beneficiary": {"type": "string", "enum": ["fund", "buyer_fund"]},
            "kind": {"type": "string", "enum": ["per_unit", "per_kg", "percent"]},
            "amount_satang": SATANG,
            "basis_points": {"type": "integer", "minimum": 0, "maximum": 10000},
        },
        required=["fund_id", "fund_name", "beneficiary", "kind"],
    ),
    "Product": _object(
        {
            "id": ID,
            "name": TEXT,
            "name_en": TEXT,
            "description": TEXT,
            "category": TEXT,
            "unit": TEXT,
            "price_satang": SATANG,
            "stock": {"type": "integer", "minimum": 0},
            "weight_grams": {"type": "integer", "minimum": 1},
            "status": {"type": "string", "enum": ["draft", "active", "archived"]},
            "seller": _object({"id": ID, "name": TEXT, "province_code": TEXT}),
            "levies": {"type": "array", "items": _ref("LevyBadge")},
        }
    ),
    "ProductList": _object(
        {"items": {"type": "array", "items": _ref("Product")}, "next_cursor": NULLABLE_TEXT}
    ),
    "NewProduct": _object(
        {
            "seller_id": ID,
            "name": {"type": "string", "maxLength": 200},
            "name_en": {"type": "string", "maxLength": 200},
            "description": {"type": "string", "maxLength": 10000},
            "category": {"type": "string", "maxLength": 50},
            "unit": {"type": "string", "maxLength": 50},
            "price_satang": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
            "stock": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
            "weight_grams": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            "status": {"type": "string", "enum": ["draft", "active", "archived"]},
        },
        required=["name", "category", "unit", "price_satang", "stock", "weight_grams"],
    ),
    "LevyLine": _object({"fund_id": ID, "amount_satang": SATANG}),
    "OrderItem": _object(
        {
            "id": ID,
            "product_id": ID,
            "name": TEXT,
            "quantity": {"type": "integer", "minimum": 1},
            "refunded_quantity": {"type": "integer", "minimum": 0},
            "unit_price_satang": SATANG,
            "line_total_satang": SATANG,
            "levies": {"type": "array", "items": _ref("LevyLine")},
        }
    ),
    "Shipment": _object(
        {
            "id": ID,
            "seller_id": ID,
            "status": {
                "type": "string",
                "enum": ["preparing", "shipped", "delivered", "cancelled"],
            },
            "method": {"type": "string", "enum": ["delivery", "pickup"]},
            "shipping_satang": SATANG,
            "carrier": TEXT,
            "tracking_number": TEXT,
            "items": {"type": "array", "items": _ref("OrderItem")},
        }
    ),
    "Payment": {
        "type": ["object", "null"],
        "properties": {
            "provider": {"type": "string", "enum": ["transfer", "stripe"]},
            "status": TEXT,
            "stripe_payment_intent_id": NULLABLE_TEXT,
        },
        "required": ["provider", "status"],
        "additionalProperties": False,
    },
    "Order": _object(
        {
            "id": ID,
            "number": TEXT,
            "status": {
                "type": "string",
                "enum": ["pending_payment", "paid", "completed", "cancelled"],
            },
            "buyer_id": ID,
            "subtotal_satang": SATANG,
            "shipping_satang": SATANG,
            "total_satang": SATANG,
            "refunded_satang": SATANG,
            "levy_total_satang": SATANG,
            "shipments": {"type": "array", "items": _ref("Shipment")},
            "payment": _ref("Payment"),
        }
    ),
    "OrderList": _object(
        {"items": {"type": "array", "items": _ref("Order")}, "next_cursor": NULLABLE_TEXT}
    ),
    "NewOrder": _object(
        {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": 100,
                "items": _object(
                    {
                        "product_id": ID,
                        "quantity": {"type": "integer", "minimum": 1, "maximum": 999},
                    }
                ),
            },
            "shipping": _object(
                {
                    "name": {"type": "string", "maxLength": 120},
                    "phone": {"type": "string", "maxLength": 20},
                    "address_line": {"type": "string", "maxLength": 255},
                    "subdistrict_code": {"type": "string", "maxLength": 6},
                    "postal_code": {"type": "string", "maxLength": 5},
                }
            ),
            "payment_method": {"type": "string", "enum": ["transfer", "stripe"]},
        }
    ),
    "PaymentConfirmation": _object(
        {"reference": {"type": "string", "maxLength": 100}}, required=[]
    ),
    "RefundRequest": _object(
        {
            "items": {
                "type": "array",
                "maxItems": 200,
                "items": _object(
                    {
                        "order_item_id": ID,
                        "quantity": {"type": "integer", "minimum": 1, "maximum": 999},
                    }
                ),
            }
        },
        required=[],
    ),
    "Refund": _object(
        {
            "id": ID,
            "order_id": ID,
            "amount_satang": SATANG,
            "shipping_satang": SATANG,
            "items": {
                "type": "array",
                "items": _object({"order_item_id": ID, "quantity": INT, "amount_satang": SATANG}),
            },
        }
    ),
    "ShipRequest": _object(
        {
            "carrier": {"type": "string", "maxLength": 60},
            "tracking_number": {"type": "string", "maxLength": 60},
        }
    ),
    "Fund": _object(
        {
            "id": ID,
            "name": TEXT,
            "name_en": TEXT,
            "province_code": TEXT,
            "payable_satang": SATANG,
            "receivable_satang": SATANG,
            "balance_satang": SATANG,
        }
    ),
    "ReportRow": {
        "type": "object",
        "properties": {
            "product_id": ID,
            "seller_id": ID,
            "province_code": TEXT,
            "name": TEXT,
            "accrued_satang": SATANG,
            "reversed_satang": SATANG,
            "net_satang": SATANG,
        },
        "required": ["name", "accrued_satang", "reversed_satang", "net_satang"],
    },
    "LevyReport": _object(
        {
            "fund_id": ID,
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "accrued_satang": SATANG,
            "reversed_satang": SATANG,
            "net_satang": SATANG,
            "remitted_satang": SATANG,
            "balance_satang": SATANG,
            "by_product": {"type": "array", "items": _ref("ReportRow")},
            "by_seller": {"type": "array", "items": _ref("ReportRow")},
            "by_buyer_province": {"type": "array", "items": _ref("ReportRow")},
        }
    ),
    "LedgerEntry": _object(
        {
            "id": ID,
            "key": TEXT,
            "kind": TEXT,
            "chain": TEXT,
            "seq": INT,
            "prev_hash": TEXT,
            "hash": TEXT,
            "occurred_at": {"type": "string", "format": "date-time"},
            "local_date": {"type": "string", "format": "date"},
            "order_id": {"type": ["integer", "null"]},
            "levy_satang": SATANG,
            "lines": {
                "type": "array",
                "items": _object({"account": TEXT, "amount_satang": SATANG}),
            },
        }
    ),
    "LedgerPage": _object(
        {"items": {"type": "array", "items": _ref("LedgerEntry")}, "next_cursor": NULLABLE_TEXT}
    ),
}
SCHEMAS["NewOrder"]["example"] = {
    "items": [{"product_id": 1, "quantity": 1}],
    "shipping": {
        "name": "สมศรี ใจดี",
        "phone": "0812345601",
        "address_line": "45/2 หมู่ 3 ถนนวิเศษ",
        "subdistrict_code": "830107",
        "postal_code": "83130",
    },
    "payment_method": "transfer",
}
SCHEMAS["ProductChanges"] = {**SCHEMAS["NewProduct"], "required": []}
SCHEMAS["ProductChanges"]["properties"] = {
    k: v for k, v in SCHEMAS["NewProduct"]["properties"].items() if k != "seller_id"
}


def _json(schema_name):
    return {"content": {"application/json": {"schema": _ref(schema_name)}}}


def _errors(*statuses):
    text = {
        400: "Bad input: the fields say what",
        401: "No valid bearer token",
        403: "Not yours to see or change",
        404: "Not found",
        409: "Conflict with the current state",
        429: "Too many requests",
        503: "A payment provider is unavailable",
    }
    return {str(s): {"description": text[s], **_json("Error")} for s in statuses}


def _op(summary, ok, ok_schema=None, errors=(), body=None, params=(), secure=True):
    operation = {"summary": summary, "responses": {}}
    operation["responses"][str(ok)] = {"description": "OK"}
    if ok_schema:
        operation["responses"][str(ok)].update(_json(ok_schema))
    operation["responses"].update(_errors(*errors))
    if body:
        operation["requestBody"] = {"required": True, **_json(body)}
    if params:
        operation["parameters"] = list(params)
    operation["security"] = [{"bearer": []}] if secure else []
    return operation


def _path_id(name):
    return {"name": name, "in": "path", "required": True, "schema": ID, "example": 1}


def _query(name, schema=None):
    return {"name": name, "in": "query", "required": False, "schema": schema or TEXT}


PATHS = {
    "/users": {
        "post": _op(
            "Register: mails a link that creates the account",
            202,
            "RegistrationStarted",
            (400, 429),
            "NewUser",
            secure=False,
        ),
    },
    "/tokens": {
        "post": _op(
            "Get a bearer token", 201, "Token", (400, 401, 429), "Credentials", secure=False
        ),
    },
    "/tokens/current": {"delete": _op("Revoke this token", 204, errors=(401,))},
    "/products": {
        "get": _op(
            "List products on sale",
            200,
            "ProductList",
            (400,),
            params=[
                _query("q"),
                _query("category"),
                _query("province"),
                _query("region"),
                _query("seller", ID),
                _query("cursor"),
            ],
            secure=False,
        ),
        "post": _op(
            "Add a product (seller members, admins)",
            201,
            "Product",
            (400, 401, 403, 404),
            "NewProduct",
        ),
    },
    "/products/{product_id}": {
        "get": _op(
            "A product", 200, "Product", (404,), params=[_path_id("product_id")], secure=False
        ),
        "patch": _op(
            "Change a product, its status or stock",
            200,
            "Product",
            (400, 401, 403, 404),
            "ProductChanges",
            [_path_id("product_id")],
        ),
    },
    "/orders": {
        "get": _op("My orders", 200, "OrderList", (400, 401), params=[_query("cursor", ID)]),
        "post": {
            **_op("Place an order", 201, "Order", (400, 401, 404, 409, 503), "NewOrder"),
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": True,
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 200,
                        "pattern": "^[!-~]+$",
                    },
                    "example": "order-2569-0001",
                }
            ],
        },
    },
    "/orders/{order_id}": {
        "get": _op("An order", 200, "Order", (401, 403, 404), params=[_path_id("order_id")]),
    },
    "/orders/{order_id}/payment-confirmations": {
        "post": _op(
            "Confirm a transfer (admins)",
            200,
            "Order",
            (400, 401, 403, 404, 409),
            "PaymentConfirmation",
            [_path_id("order_id")],
        ),
    },
    "/orders/{order_id}/refunds": {
        "post": _op(
            "Refund items, or everything left (admins)",
            201,
            "Refund",
            (400, 401, 403, 404, 409, 503),
            "RefundRequest",
            [_path_id("order_id")],
        ),
    },
    "/shipments/{shipment_id}/ship": {
        "post": _op(
            "Mark a shipment shipped (its seller's members)",
            200,
            "Shipment",
            (400, 401, 403, 404, 409),
            "ShipRequest",
            [_path_id("shipment_id")],
        ),
    },
    "/funds/{fund_id}": {
        "get": _op(
            "A fund's balances (treasurers, admins)",
            200,
            "Fund",
            (401, 403, 404),
            params=[_path_id("fund_id")],
        ),
    },
    "/funds/{fund_id}/levy-report": {
        "get": _op(
            "A fund's levy report for a period",
            200,
            "LevyReport",
            (400, 401, 403, 404),
            params=[
                _path_id("fund_id"),
                _query("from", {"type": "string", "format": "date"}),
                _query("to", {"type": "string", "format": "date"}),
            ],
        ),
    },
    "/funds/{fund_id}/ledger": {
        "get": _op(
            "A fund's journal entries with lines and hashes",
            200,
            "LedgerPage",
            (400, 401, 403, 404),
            params=[_path_id("fund_id"), _query("cursor", ID)],
        ),
    },
}

for operations in PATHS.values():
    for operation in operations.values():
        operation["responses"]["429"] = {"description": "Too many requests", **_json("Error")}

# What a new order's id leads to (clients, and Schemathesis's stateful tests, follow these).
PATHS["/orders"]["post"]["responses"]["201"]["links"] = {
    "GetOrder": {"operationId": "getOrder", "parameters": {"order_id": "$response.body#/id"}},
    "ConfirmPayment": {
        "operationId": "confirmPayment",
        "parameters": {"order_id": "$response.body#/id"},
    },
    "Refund": {"operationId": "refundOrder", "parameters": {"order_id": "$response.body#/id"}},
}
# The same Idempotency-Key and body again: the first order, unchanged.
PATHS["/orders"]["post"]["responses"]["200"] = {
    "description": "Already placed with this Idempotency-Key",
    **_json("Order"),
}
PATHS["/orders/{order_id}"]["get"]["operationId"] = "getOrder"
PATHS["/orders/{order_id}/payment-confirmations"]["post"]["operationId"] = "confirmPayment"
PATHS["/orders/{order_id}/refunds"]["post"]["operationId"] = "refundOrder"


def document(server_url=""):
    """The OpenAPI 3.1 document, with this server as its base."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Talat Chumchon API",
            "version": "1.0.0",
            "description": (
                "Products, orders and community welfare fund levies. Money is always integer "
                "satang. Send `Authorization: Bearer <token>` (POST /tokens). Errors are "
                '`{"error": {"code", "message", "fields"}}` with a 4xx status.'
            ),
        },
        "servers": [{"url": f"{server_url}/api/v1"}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
