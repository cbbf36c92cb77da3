"""The API's JSON shapes: money always as integer ``*_satang`` fields."""

from marketplace.catalog.services import Card, card_of
from marketplace.ledger.models import AccountKind
from marketplace.levies.models import Beneficiary, LevyKind


def levy_badge(rule, buyer_fund=None):
    fund = rule.fund if rule.beneficiary == Beneficiary.FUND else buyer_fund
    entry = {
        "fund_id": fund.id if fund else None,
        "fund_name": fund.name_th if fund else None,
        "beneficiary": rule.beneficiary.value,
        "kind": rule.kind.value,
    }
    if rule.kind == LevyKind.PERCENT:
        entry["basis_points"] = rule.rate
    else:
        entry["amount_satang"] = rule.rate
    return entry


def product(item, rules=(), buyer_fund=None):
    """A product: a catalog card (catalog.services.Card) or a loaded Product."""
    card = item if isinstance(item, Card) else card_of(item)
    return {
        "id": card.id,
        "name": card.name_th,
        "name_en": card.name_en,
        "description": card.description,
        "category": card.category_slug,
        "unit": card.unit_label,
        "price_satang": card.price_satang,
        "stock": card.stock,
        "weight_grams": card.weight_grams,
        "status": card.status,
        "seller": {
            "id": card.seller_id,
            "name": card.seller_th,
            "province_code": card.province_code,
        },
        "levies": [levy_badge(rule, buyer_fund) for rule in rules],
    }


def order(item, payment=None, only_shipments=None):
    shipments = [s for s in item.shipments if only_shipments is None or s.id in only_shipments]
    body = {
        "id": item.id,
        "number": item.number,
        "status": item.status.value,
        "buyer_id": item.buyer_id,
        "subtotal_satang": item.subtotal_satang,
        "shipping_satang": item.shipping_satang,
        "total_satang": item.total_satang,
        "refunded_satang": item.refunded_satang,
        "levy_total_satang": sum(
            levy.amount_satang for s in shipments for i in s.items for levy in i.levies
        ),
        "shipments": [shipment(s) for s in shipments],
        "payment": None,
    }
    if payment is not None:
        body["payment"] = {"provider": payment.provider, "status": payment.status.value}
        if payment.provider == "stripe":
            body["payment"]["stripe_payment_intent_id"] = payment.external_id
    return body


def seller_order(item, shipment_ids, refunded_by_shipment):
    """An order as a member of some of its sellers sees it: their shipments, and figures
    that add up over those shipments only (never the other sellers' sales)."""
    body = order(item, None, shipment_ids)
    shipments = [s for s in item.shipments if s.id in shipment_ids]
    subtotal = sum(line.line_total_satang for s in shipments for line in s.items)
    shipping = sum(s.shipping_satang for s in shipments)
    body.update(
        subtotal_satang=subtotal,
        shipping_satang=shipping,
        total_satang=subtotal + shipping,
        refunded_satang=sum(refunded_by_shipment.get(s.id, 0) for s in shipments),
    )
    return body


def shipment(item):
    return {
        "id": item.id,
        "seller_id": item.seller_id,
        "status": item.status.value,
        "method": item.method.value,
        "shipping_satang": item.shipping_satang,
        "carrier": item.carrier,
        "tracking_number": item.tracking_number,
        "items": [
            {
                "id": line.id,
                "product_id": line.product_id,
                "name": line.name_th,
                "quantity": line.quantity,
                "refunded_quantity": line.refunded_quantity,
                "unit_price_satang": line.unit_price_satang,
                "line_total_satang": line.line_total_satang,
                "levies": [
                    {"fund_id": levy.fund_id, "amount_satang": levy.amount_satang}
                    for levy in line.levies
                ],
            }
            for line in item.items
        ],
    }


def refund(item):
    return {
        "id": item.id,
        "order_id": item.order_id,
        "amount_satang": item.amount_satang,
        "shipping_satang": item.shipping_satang,
        "items": [
            {
                "order_item_id": line.order_item_id,
                "quantity": line.quantity,
                "amount_satang": line.amount_satang,
            }
            for line in item.items
            if line.order_item_id is not None
        ],
    }


def fund(item, balances):
    payable = balances.get(AccountKind.FUND_PAYABLE, 0)
    receivable = balances.get(AccountKind.FUND_RECEIVABLE, 0)
    return {
        "id": item.id,
        "name": item.name_th,
        "name_en": item.name_en,
        "province_code": item.province_code,
        "payable_satang": payable,
        "receivable_satang": receivable,
        "balance_satang": payable - receivable,
    }


def ledger_entry(entry):
    return {
        "id": entry.id,
        "key": entry.key,
        "kind": entry.kind.value,
        "chain": entry.chain,
        "seq": entry.seq,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "occurred_at": entry.occurred_at.isoformat(),
        "local_date": entry.local_date.isoformat(),
        "order_id": entry.order_id,
        "levy_satang": entry.levy_satang,
        "lines": [
            {"account": line.account.code, "amount_satang": line.amount_satang}
            for line in entry.lines
        ],
    }
