"""Group order pages: open one, the join link members pledge through, the organiser's
page (progress, close, trim, cancel, settled ticks) and the distribution sheet."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.catalog.models import Product, ProductStatus
from marketplace.dbtypes import utcnow
from marketplace.downloads import csv_download
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.forms import ActionForm, flash_errors, status_for
from marketplace.grouporders import services
from marketplace.grouporders.forms import OpenGroupOrderForm, PledgeForm
from marketplace.grouporders.models import GroupOrderStatus
from marketplace.levies import services as levies
from marketplace.levies.models import Beneficiary
from marketplace.payments import promptpay, providers
from marketplace.sellers import services as sellers
from marketplace.sellers.models import Seller
from marketplace.transaction import attempt

bp = Blueprint("grouporders", __name__)


@bp.get("/group-orders")
@login_required
def index():
    return render_template(
        "grouporders/index.html",
        organised=services.organised_by(current_user),
        joined=services.joined_by(current_user),
        sellers=_sellers_with_products(),
    )


def _sellers_with_products():
    return db.session.scalars(
        select(Seller)
        .where(
            Seller.verified.is_(True),
            Seller.id.in_(select(Product.seller_id).where(Product.status == ProductStatus.ACTIVE)),
        )
        .order_by(Seller.name_th)
    ).all()


def _active_products(seller):
    return db.session.scalars(
        select(Product)
        .where(Product.seller_id == seller.id, Product.status == ProductStatus.ACTIVE)
        .order_by(Product.name_th, Product.id)
    ).all()


@bp.route("/group-orders/new", methods=["GET", "POST"])
@login_required
def new():
    seller_id = request.args.get("seller_id", type=int)
    seller = sellers.find_verified(seller_id) if seller_id else None
    if seller is None:
        if seller_id:
            flash(_("Choose a verified seller."), "error")
        return redirect(url_for(".index"))
    products = _active_products(seller)
    form = OpenGroupOrderForm()
    form.load_payment_choices(providers.available())
    form.load_choices(products, current_user.funds)
    if not form.is_submitted():
        form.prefill_from(current_user)
        form.product_ids.data = [p.id for p in products]
        form.closes_at.data = services.default_closing_time()
    form.load_address_choices()
    if form.validate_on_submit() and form.address_matches_chain():
        terms = services.GroupOrderTerms(
            seller_id=seller.id,
            title=form.title.data,
            closes_at=form.closes_at.data,
            product_ids=tuple(form.product_ids.data),
            address=form.address(),
            method=form.delivery_method(),
            fund_id=form.fund_id.data,
            note=form.note.data or "",
            payment_method=form.payment_method.data,
        )
        saved, group = attempt(
            lambda: services.open_group_order(current_user, terms), form.show_error
        )
        if saved:
            flash(_("The group order is open. Share its link with your members."), "success")
            return redirect(url_for(".show", group_id=group.id), code=303)
    return render_template(
        "grouporders/new.html", form=form, seller=seller, products=products
    ), status_for()


def _organised(group_id):
    group = services.get(group_id)
    if not services.can_see(current_user, group):
        if services.pledge_of(group, current_user) is not None:
            return None, redirect(url_for(".join", join_code=group.join_code))
        abort(404)
    return group, None


def _join_url(group):
    return url_for(".join", join_code=group.join_code, _external=True)


@bp.get("/group-orders/<int:group_id>")
@login_required
def show(group_id):
    group, elsewhere = _organised(group_id)
    if elsewhere:
        return elsewhere
    join_url = _join_url(group)
    return render_template(
        "grouporders/show.html",
        group=group,
        summary=services.summary(group),
        shortfalls=services.shortfalls(group) if group.status == GroupOrderStatus.OPEN else [],
        join_url=join_url,
        qr_svg=promptpay.svg(join_url, scale=4),
        open_for_pledges=services.accepts_pledges(group),
        action=ActionForm(formdata=None),
    )


def _organiser_action(group_id, call, done):
    group, elsewhere = _organised(group_id)
    if elsewhere:
        abort(403)
    form = ActionForm()
    if form.validate_on_submit():
        saved, result = attempt(lambda: call(group), lambda error: _flash_refusal(error))
        if saved:
            flash(done(result), "success")
    else:
        flash_errors(form)
    return redirect(url_for(".show", group_id=group.id), code=303)


def _flash_refusal(error):
    flash(error.message, "error")
    for messages in (getattr(error, "fields", None) or {}).values():
        for message in messages:
            flash(message, "error")


@bp.post("/group-orders/<int:group_id>/close")
@login_required
def close(group_id):
    return _organiser_action(
        group_id,
        lambda group: services.close(current_user, group),
        lambda result: _(
            "Order %(number)s is placed for the whole group. Pay it below.", number=result[0].number
        ),
    )


@bp.post("/group-orders/<int:group_id>/trim")
@login_required
def trim(group_id):
    return _organiser_action(
        group_id,
        lambda group: services.trim(current_user, group),
        lambda trimmed: _(
            "%(count)d units taken back from the last pledges; those members are told by mail.",
            count=sum(units for _user, _product, units in trimmed),
        ),
    )


@bp.post("/group-orders/<int:group_id>/cancel")
@login_required
def cancel(group_id):
    return _organiser_action(
        group_id,
        lambda group: services.cancel(current_user, group),
        lambda _group: _("The group order is cancelled; members are told by mail."),
    )


@bp.post("/group-orders/<int:group_id>/pledges/<int:pledge_id>/settled")
@login_required
def settled(group_id, pledge_id):
    settle = request.form.get("settled", "1") == "1"
    return _organiser_action(
        group_id,
        lambda group: services.settle(current_user, group, pledge_id, settled=settle),
        lambda pledge: (
            _("%(name)s has paid.", name=pledge.user.name)
            if pledge.settled
            else _("%(name)s is marked as not paid yet.", name=pledge.user.name)
        ),
    )


# The join link


@bp.route("/g/<join_code>", methods=["GET", "POST"])
def join(join_code):
    try:
        group = services.by_code(join_code)
    except DomainError:
        abort(404)
    mine = services.pledge_of(group, current_user) if current_user.is_authenticated else None
    products = group.products
    current = {item.product_id: item.quantity for item in mine.items} if mine else {}
    form = PledgeForm.for_products(products, current=current)
    status = 200
    if request.method == "POST":
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.path))
        if form.validate_on_submit():
            saved, result = attempt(
                lambda: services.pledge(current_user, group, form.items()),
                lambda error: _show_pledge_error(form, error),
            )
            if saved:
                flash(
                    _("Your pledge is saved.") if result else _("Your pledge is withdrawn."),
                    "success",
                )
                return redirect(url_for(".join", join_code=group.join_code), code=303)
            status = result.status
            group = services.by_code(join_code)
            mine = services.pledge_of(group, current_user)
        else:
            status = 400
    summary = services.summary(group)
    fund = services.levy_fund(group)
    badges = {
        # "The buyer's own fund" is the group's fund; without one, that levy is not taken.
        product_id: [
            r for r in rules if fund is not None or r.beneficiary != Beneficiary.BUYER_FUND
        ]
        for product_id, rules in levies.badges_for(group.products).items()
    }
    return render_template(
        "grouporders/join.html",
        badges=badges,
        buyer_fund_name=fund.name if fund else None,
        group=group,
        summary=summary,
        form=form,
        mine=mine,
        share=summary.share_of(mine) if mine else None,
        open_for_pledges=services.accepts_pledges(group),
        is_organiser=services.is_organiser(current_user, group),
    ), status


def _show_pledge_error(form, error):
    flash(error.message, "error")


# The distribution sheet


@bp.get("/group-orders/<int:group_id>/sheet")
@login_required
def sheet(group_id):
    group, elsewhere = _organised(group_id)
    if elsewhere:
        abort(403)
    summary = services.summary(group)
    return render_template(
        "grouporders/sheet.html",
        group=group,
        summary=summary,
        printed_at=utcnow(),
    )


@bp.get("/group-orders/<int:group_id>/sheet.csv")
@login_required
def sheet_csv(group_id):
    group, elsewhere = _organised(group_id)
    if elsewhere:
        abort(403)
    body = services.distribution_csv(
        services.summary(group),
        {
            "number": _("No."),
            "member": _("Member"),
            "phone": _("Phone"),
            "goods": _("Goods (baht)"),
            "shipping": _("Shipping share (baht)"),
            "total": _("To pay (baht)"),
            "levy": _("Of which levies (baht)"),
            "settled": _("Settled"),
            "signature": _("Signature"),
            "yes": _("yes"),
            "no": _("no"),
            "sum": _("Total"),
        },
    )
    return csv_download(body, f"group-order-{group.id}.csv")
