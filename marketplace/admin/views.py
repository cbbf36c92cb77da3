"""The back office: sellers, funds, their people, and users. Admins only."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace.accounts import services as accounts
from marketplace.accounts.roles import admin_required
from marketplace.admin import services
from marketplace.admin.forms import PersonForm, UserSearchForm
from marketplace.catalog import services as catalog
from marketplace.catalog.forms import CategoryForm
from marketplace.forms import ActionForm, flash_errors, status_for
from marketplace.funds import services as funds
from marketplace.funds.forms import FundForm
from marketplace.levies import services as levies
from marketplace.money import format_satang
from marketplace.orders import refunds as order_refunds
from marketplace.orders import services as order_services
from marketplace.orders.forms import CancelForm, ReferenceForm
from marketplace.orders.models import RefundStatus
from marketplace.orders.states import ORDER_STATUS_LABELS, order_label, shipment_state
from marketplace.outbox import services as outbox
from marketplace.payments import services as payment_services
from marketplace.sellers import services as sellers
from marketplace.sellers.forms import SellerForm
from marketplace.transaction import attempt

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: A refund quantity as typed: ASCII digits, at most six of them.
REFUND_QUANTITY = re.compile(r"[0-9]{1,6}")


@bp.before_request
@admin_required
def only_admins():
    """Every page of the back office is for admins."""


@bp.get("/")
def dashboard():
    return render_template(
        "admin/dashboard.html",
        waiting=services.waiting(),
        user_count=accounts.user_count(),
        outbox_pending=outbox.pending_count(),
        issue_labels=payment_services.ISSUE_LABELS,
        confirm_form=ActionForm(formdata=None),
    )


@bp.post("/payment-issues/<int:issue_id>/resolve")
def resolve_payment_issue(issue_id):
    form = ActionForm()
    if form.validate_on_submit():
        saved, _issue = attempt(
            lambda: payment_services.resolve_issue(current_user, issue_id), form.show_error
        )
        if saved:
            flash(_("Marked as resolved."), "success")
    flash_errors(form)
    return redirect(url_for(".dashboard"), code=303)


@dataclass(frozen=True)
class OrganisationAdmin:
    """Back-office pages for one kind of organisation (sellers or funds)."""

    slug: str
    title: str
    person_title: str
    form: type
    all: Callable
    get: Callable
    create: Callable
    update: Callable
    set_verified: Callable
    add_person: Callable
    remove_person: Callable
    people: Callable

    def register(self, blueprint):
        rules = [
            ("", "list", self.list_view, ["GET"]),
            ("/new", "new", self.new_view, ["GET", "POST"]),
            ("/<int:org_id>", "edit", self.edit_view, ["GET", "POST"]),
            ("/<int:org_id>/verify", "verify", self.verify_view, ["POST"]),
            ("/<int:org_id>/people", "add_person", self.add_person_view, ["POST"]),
            (
                "/<int:org_id>/people/<int:user_id>/remove",
                "remove_person",
                self.remove_person_view,
                ["POST"],
            ),
        ]
        for rule, name, view, methods in rules:
            blueprint.add_url_rule(
                f"/{self.slug}{rule}", f"{self.slug}_{name}", view, methods=methods
            )

    def endpoint(self, name):
        return f"admin.{self.slug}_{name}"

    def list_view(self):
        """All of them, or (``?verified=no``) those waiting to be verified."""
        unverified = request.args.get("verified") == "no"
        organisations = self.all()
        if unverified:
            organisations = [o for o in organisations if not o.verified]
        return render_template(
            "admin/organisations.html",
            admin=self,
            organisations=organisations,
            unverified=unverified,
        )

    def _render_edit(self, form, organisation=None, person_form=None, status=200):
        return (
            render_template(
                "admin/organisation_edit.html",
                admin=self,
                form=form,
                organisation=organisation,
                people=self.people(organisation) if organisation else [],
                person_form=person_form or PersonForm(formdata=None),
            ),
            status,
        )

    def new_view(self):
        form = self.form.for_page()
        if form.submitted_and_valid():
            saved, organisation = attempt(
                lambda: self.create(current_user, form.to_data()), form.show_error
            )
            if saved:
                flash(_("Created. Add its people below, then verify it."), "success")
                return redirect(url_for(self.endpoint("edit"), org_id=organisation.id))
        return self._render_edit(form, status=status_for())

    def edit_view(self, org_id):
        organisation = self.get(org_id)
        form = self.form.for_page(organisation)
        if form.submitted_and_valid():
            saved, _org = attempt(
                lambda: self.update(current_user, organisation, form.to_data()), form.show_error
            )
            if saved:
                flash(_("The profile is saved."), "success")
                return redirect(url_for(self.endpoint("edit"), org_id=org_id))
        return self._render_edit(form, organisation, status=status_for())

    def verify_view(self, org_id):
        organisation = self.get(org_id)
        form = ActionForm()
        if form.validate_on_submit():
            verified = request.form.get("verified") == "1"
            saved, _none = attempt(
                lambda: self.set_verified(current_user, organisation, verified), form.show_error
            )
            if saved:
                flash(_("Verified.") if verified else _("No longer verified."), "success")
        return redirect(url_for(self.endpoint("edit"), org_id=org_id))

    def add_person_view(self, org_id):
        organisation = self.get(org_id)
        person_form = PersonForm()
        if person_form.validate_on_submit():
            saved, _link = attempt(
                lambda: self.add_person(current_user, organisation, person_form.email.data),
                person_form.show_error,
            )
            if saved:
                flash(_("Added %(email)s.", email=person_form.email.data), "success")
                return redirect(url_for(self.endpoint("edit"), org_id=org_id))
        form = self.form(formdata=None)
        form.prefill(organisation)
        form.load_address_choices()
        return self._render_edit(form, organisation, person_form=person_form, status=400)

    def remove_person_view(self, org_id, user_id):
        organisation = self.get(org_id)
        form = ActionForm()
        if form.validate_on_submit():
            saved, _none = attempt(
                lambda: self.remove_person(current_user, organisation, user_id), form.show_error
            )
            if saved:
                flash(_("Removed."), "success")
        return redirect(url_for(self.endpoint("edit"), org_id=org_id))


SELLERS = OrganisationAdmin(
    slug="sellers",
    title=_l("Sellers"),
    person_title=_l("Members"),
    form=SellerForm,
    all=sellers.all_sellers,
    get=sellers.get,
    create=sellers.create_seller,
    update=sellers.update_seller,
    set_verified=sellers.set_seller_verified,
    add_person=sellers.add_member,
    remove_person=sellers.remove_member,
    people=lambda seller: [m.user for m in seller.members],
)
FUNDS = OrganisationAdmin(
    slug="funds",
    title=_l("Welfare funds"),
    person_title=_l("Treasurers"),
    form=FundForm,
    all=funds.all_funds,
    get=funds.get,
    create=funds.create_fund,
    update=funds.update_fund,
    set_verified=funds.set_fund_verified,
    add_person=funds.add_treasurer,
    remove_person=funds.remove_treasurer,
    people=lambda fund: [t.user for t in fund.treasurers],
)
SELLERS.register(bp)
FUNDS.register(bp)


@bp.get("/users")
def users():
    form = UserSearchForm(request.args)
    found = accounts.find_users(form.q.data if form.validate() else "")
    return render_template("admin/users.html", form=form, users=found)


@bp.post("/users/<int:user_id>/admin")
def set_admin(user_id):
    form = ActionForm()
    user = accounts.get_user(user_id)
    if form.validate_on_submit():
        make_admin = request.form.get("is_admin") == "1"
        saved, _none = attempt(
            lambda: accounts.set_admin(current_user, user, make_admin), form.show_error
        )
        if saved:
            flash(_("Saved."), "success")
    return redirect(url_for(".users"))


@bp.route("/categories", methods=["GET", "POST"])
@bp.route("/categories/<int:category_id>", methods=["POST"])
def categories(category_id=None):
    """List the categories; POST without an id adds one, with an id edits it."""
    category = catalog.get_category(category_id) if category_id else None
    form = CategoryForm()
    if form.validate_on_submit():
        saved, _category = attempt(
            lambda: catalog.save_category(
                current_user,
                category,
                name_th=form.name_th.data,
                name_en=form.name_en.data,
                position=form.position.data or 0,
                active=form.active.data,
            ),
            form.show_error,
        )
        if saved:
            flash(_("Saved."), "success")
            return redirect(url_for(".categories"))
    return render_template(
        "admin/categories.html",
        categories=catalog.categories(include_inactive=True),
        form=form if category is None else CategoryForm(formdata=None),
        failed_id=category_id if request.method == "POST" else None,
        failed_form=form if category is not None else None,
    ), status_for()


#: The lists of orders that wait for an admin (``/admin/orders?waiting=…``).
WAITING_FILTERS = {
    order_services.WAITING_PAYMENT_CHECK: _l("Payments to confirm"),
    order_services.WAITING_REFUND: _l("Refunds on their way"),
}


@bp.get("/orders")
def orders():
    status = request.args.get("status", "")
    status = status if status in ORDER_STATUS_LABELS else ""
    waiting = request.args.get("waiting", "")
    waiting = waiting if waiting in WAITING_FILTERS else ""
    found = order_services.all_orders(status or None, waiting=waiting or None)
    payments = order_services.payments_of(found)
    return render_template(
        "admin/orders.html",
        rows=[(order, payments.get(order.id)) for order in found],
        status=status,
        waiting=waiting,
        status_labels=ORDER_STATUS_LABELS,
        waiting_filters=WAITING_FILTERS,
        order_label=order_label,
    )


def _admin_order_page(order, status=200):
    payment = order_services.payment_of(order)
    return render_template(
        "admin/order.html",
        order=order,
        payment=payment,
        pending_refund=order_refunds.pending_refund_of(order),
        order_label=order_label(order, payment),
        shipment_state=shipment_state,
        confirm_form=ReferenceForm(formdata=None),
        fund_shares=levies.shares_by_fund(lv for item in order.items for lv in item.levies),
        cancel_form=CancelForm(formdata=None),
    ), status


@bp.get("/orders/<int:order_id>")
def order(order_id):
    return _admin_order_page(order_services.get_order(order_id))


@bp.post("/orders/<int:order_id>/confirm-payment")
def confirm_payment(order_id):
    order = order_services.get_order(order_id)
    form = ActionForm()
    if form.validate_on_submit():
        saved, _order = attempt(
            lambda: order_services.confirm_transfer(
                current_user, order, request.form.get("reference", "")
            ),
            form.show_error,
        )
        if saved:
            flash(
                _(
                    "Payment for order %(number)s confirmed; the sellers are told to ship.",
                    number=order.number,
                ),
                "success",
            )
    if request.form.get("back") == "overview":
        return redirect(url_for(".dashboard"), code=303)
    return redirect(url_for(".order", order_id=order_id), code=303)


@bp.post("/orders/<int:order_id>/refund")
def refund_order(order_id):
    """Refund units of items (``qty-<item id>`` fields), or everything left (``full``)."""
    order = order_services.get_order(order_id)
    form = ActionForm()
    if form.validate_on_submit():
        if request.form.get("full") == "1":
            items = None
        else:
            items = []
            for item in order.items:
                raw = (request.form.get(f"qty-{item.id}") or "0").strip()
                if not REFUND_QUANTITY.fullmatch(raw):
                    flash(_("Refund a whole number of units."), "error")
                    return redirect(url_for(".order", order_id=order_id), code=303)
                items.append((item.id, int(raw)))
        already = (request.form.get("provider_refund_id") or "").strip()[:100] or None
        saved, refund = attempt(
            lambda: order_refunds.refund(
                current_user,
                order,
                items,
                reason=request.form.get("reason", ""),
                provider_refund_id=already,
            ),
            form.show_error,
        )
        if saved and refund is not None:
            _flash_refund(refund)
        elif saved:
            flash(_("Nothing is left to refund."), "info")
    flash_errors(form)
    return redirect(url_for(".order", order_id=order_id), code=303)


def _flash_refund(refund):
    """Say how the refund stands after the commit: paid back through Stripe already (the
    task ran at once), on its way, refused, or to pay back by hand."""
    amount = format_satang(refund.amount_satang)
    if refund.status == RefundStatus.PENDING:
        message = _(
            "Refund of %(amount)s recorded; Stripe pays it back to the buyer.", amount=amount
        )
        flash(message, "info")
    elif refund.status == RefundStatus.FAILED:
        message = _(
            "Stripe did not pay back the refund of %(amount)s; see the payment issues.",
            amount=amount,
        )
        flash(message, "error")
    elif refund.provider_refund_id:
        flash(_("Refunded %(amount)s through Stripe.", amount=amount), "success")
    else:
        flash(_("Refunded %(amount)s; pay it back to the buyer.", amount=amount), "success")


@bp.post("/orders/<int:order_id>/cancel")
def cancel_order(order_id):
    order = order_services.get_order(order_id)
    form = CancelForm()
    if form.validate_on_submit():
        saved, _order = attempt(
            lambda: order_services.cancel_order(current_user, order, form.reason.data),
            form.show_error,
        )
        if saved:
            flash(_("The order is cancelled and its stock returned."), "success")
    flash_errors(form)
    return redirect(url_for(".order", order_id=order_id), code=303)
