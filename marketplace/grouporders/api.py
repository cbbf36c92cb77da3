"""/api/v1 for group orders: open one, pledge with the join code, read it, close it, tick a
member's pledge settled. The routes join the API's blueprint (marketplace/api/views.py) and
follow it: a schema per body and answer, a token, the caller authorised, one service call
with typed values, one commit."""

from flask import g, url_for
from flask_babel import lazy_gettext as _l

from marketplace.api import schemas
from marketplace.api.base import api_field_names
from marketplace.api.views import ORDER_FIELDS, bp, token_required
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.grouporders import services
from marketplace.orders.models import DeliveryMethod

#: Service field names → the API's.
GROUP_FIELDS = {**ORDER_FIELDS, "quantity": "items", "method": "method"}


def seen(group, user):
    """The group order as ``user`` may see it (schemas.GroupOrderOut)."""
    summary = services.summary(group)
    sees_all = services.can_see(user, group)
    pledges = [
        {
            "id": share.pledge.id,
            "name": share.pledge.user.name,
            "mine": share.pledge.user_id == user.id,
            "items": [
                {"product_id": item.product_id, "quantity": item.quantity}
                for item in share.pledge.items
            ],
            "goods_satang": share.goods_satang,
            "shipping_share_satang": share.shipping_satang,
            "levy_satang": share.levy_satang,
            "levies": [
                {"fund_id": fund.id, "fund_name": fund.name, "amount_satang": amount}
                for fund, amount in share.levies.items()
            ],
            "total_satang": share.total_satang,
            "settled": share.pledge.settled,
        }
        for share in summary.shares
        if sees_all or share.pledge.user_id == user.id
    ]
    answer = {
        "id": group.id,
        "status": group.status,
        "title": group.title,
        "seller_id": group.seller_id,
        "fund_id": group.fund_id,
        "closes_at": group.closes_at,
        "method": group.method,
        "note": group.note,
        "order_id": group.order_id,
        "order_number": group.order.number if group.order else None,
        "final": summary.final,
        "products": [
            {
                "product_id": p.product.id,
                "name": p.product.name,
                "unit": p.product.unit,
                "units": p.units,
                "unit_price_satang": p.unit_price_satang,
                "next_tier": (
                    {
                        "min_quantity": p.next_tier.min_quantity,
                        "price_satang": p.next_tier.price_satang,
                        "units_short": p.next_tier.units_short,
                    }
                    if p.next_tier
                    else None
                ),
            }
            for p in summary.products
        ],
        "pledges": pledges,
        "totals": {
            "units": {str(pid): n for pid, n in summary.units.items()},
            "members": summary.members,
            "goods_satang": summary.goods_satang,
            "shipping_satang": summary.shipping_satang,
            "levy_satang": summary.levy_satang,
            "total_satang": summary.total_satang,
        },
    }
    if sees_all:
        answer["join_code"] = group.join_code
        answer["join_url"] = url_for("grouporders.join", join_code=group.join_code, _external=True)
    return answer


def _visible(group_id):
    """The group order, for its organiser, admins and members who pledged; 404 for others
    (a join code is needed to see one without a pledge)."""
    group = services.get(group_id)
    if services.can_see(g.api_user, group) or services.pledge_of(group, g.api_user):
        return group
    raise NotFound(_l("No such group order."))


def _organised(group_id):
    group = services.get(group_id)
    if not services.can_see(g.api_user, group):
        raise NotFound(_l("No such group order."))
    return group


@bp.route("/group-orders", methods=["POST"])
@token_required
@bp.arguments(schemas.NewGroupOrder)
@bp.response(201, schemas.GroupOrderOut)
@bp.errors(400)
def create_group_order(body):
    """Open a group order with one seller: members pledge through its join link until
    ``closes_at``"""
    terms = services.GroupOrderTerms(
        seller_id=body["seller_id"],
        title=body["title"],
        closes_at=body["closes_at"],
        product_ids=tuple(body["product_ids"]),
        address=body["shipping"],
        method=body.get("method", DeliveryMethod.DELIVERY),
        fund_id=body.get("fund_id"),
        note=body.get("note", ""),
        payment_method=body.get("payment_method", "transfer"),
    )
    with api_field_names(GROUP_FIELDS):
        group = services.open_group_order(g.api_user, terms)
    answer = seen(group, g.api_user)
    db.session.commit()
    return answer, 201, {"Location": url_for(".get_group_order", group_id=group.id)}


@bp.route("/group-orders/<int:group_id>", methods=["GET"])
@token_required
@bp.response(200, schemas.GroupOrderOut)
@bp.errors(404)
def get_group_order(group_id):
    """A group order: the organiser sees every pledge, a member their own and the totals"""
    return seen(_visible(group_id), g.api_user)


@bp.route("/group-orders/<int:group_id>/pledge", methods=["PUT"])
@token_required
@bp.arguments(schemas.PledgeIn)
@bp.response(200, schemas.GroupOrderOut)
@bp.errors(400, 404, 409)
def put_pledge(body, group_id):
    """Create or replace my pledge (``items: []`` withdraws it); the join code is needed.
    After the closing time: 409"""
    code = body.get("join_code")
    group = services.for_member(group_id, code if isinstance(code, str) else "")
    items = [(line["product_id"], line["quantity"]) for line in body["items"]]
    services.pledge(g.api_user, group, items)
    answer = seen(group, g.api_user)
    db.session.commit()
    return answer


@bp.route("/group-orders/<int:group_id>/close", methods=["POST"])
@token_required
@bp.response(201, schemas.GroupOrderOut)
@bp.alt_response(200, schema=schemas.GroupOrderOut, description="Closed before: the same order")
@bp.errors(403, 404, 409)
def close_group_order(group_id):
    """Close it and place the one order (organiser): 201 the first time, 200 with the same
    order after; nothing pledged or stock short: 409 (``fields`` names each short product
    by id)"""
    group = _organised(group_id)
    _order, placed = services.close(g.api_user, group)
    answer = seen(group, g.api_user)
    db.session.commit()
    return answer, 201 if placed else 200


@bp.route("/group-orders/<int:group_id>/pledges/<int:pledge_id>/settled", methods=["POST"])
@token_required
@bp.response(200, schemas.PledgeOut)
@bp.errors(403, 404, 409)
def pledge_settled(group_id, pledge_id):
    """The member paid the organiser their share (organiser)"""
    group = _organised(group_id)
    pledge = services.settle(g.api_user, group, pledge_id)
    answer = next(p for p in seen(group, g.api_user)["pledges"] if p["id"] == pledge.id)
    db.session.commit()
    return answer
