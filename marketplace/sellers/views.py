from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from marketplace.accounts.roles import can_manage_seller, seller_member_required
from marketplace.catalog import services as catalog
from marketplace.catalog.forms import SHORT_STATUS_LABELS, StockForm
from marketplace.fields import query_days
from marketplace.forms import ActionForm, page_number, status_for
from marketplace.funds import reports
from marketplace.i18n import current_language
from marketplace.orders import carriers
from marketplace.orders import services as orders
from marketplace.orders.forms import ShipForm
from marketplace.payouts import services as payouts
from marketplace.sellers import centre as centre_overview
from marketplace.sellers import services
from marketplace.sellers.forms import KIND_LABELS, SellerForm
from marketplace.transaction import attempt

bp = Blueprint("sellers", __name__, url_prefix="/sellers")
bp.add_app_template_filter(carriers.carrier_name, "carrier")


@bp.get("")
def index():
    """Every verified seller, a page at a time."""
    page = services.verified_sellers_page(page_number())
    return render_template("sellers/index.html", page=page, kind_labels=KIND_LABELS)


@bp.get("/<int:seller_id>")
def show(seller_id):
    seller = services.get(seller_id)
    can_edit = can_manage_seller(current_user, seller_id)
    if not seller.verified and not can_edit:
        abort(404)
    return render_template(
        "sellers/show.html", seller=seller, kind_labels=KIND_LABELS, can_edit=can_edit
    )


@bp.route("/<int:seller_id>/edit", methods=["GET", "POST"])
@seller_member_required
def edit(seller_id):
    seller = services.get(seller_id)
    form = SellerForm.for_page(seller)
    if form.submitted_and_valid():
        saved, _seller = attempt(
            lambda: services.update_seller(current_user, seller, form.to_data()), form.show_error
        )
        if saved:
            flash(_("The profile is saved."), "success")
            return redirect(url_for(".show", seller_id=seller.id))
    return render_template("sellers/edit.html", form=form, seller=seller), status_for()


@bp.get("/<int:seller_id>/levies")
@seller_member_required
def levies(seller_id):
    """The levies deducted from this seller's sales, per fund, for a period."""
    seller = services.get(seller_id)
    start, end = reports.period(*query_days(request.args, "from", "to"))
    return render_template(
        "sellers/levies.html",
        seller=seller,
        start=start,
        end=end,
        rows=reports.seller_levies(seller_id, start, end, current_language()),
        fees=payouts.fee_totals(seller_id, start, end),
    )


# The seller centre: orders to ship, products, levies and fees, the balance.


def _ship_form(shipment_id, formdata=None):
    """The ship form of one parcel; prefixed, so that a page holds one per parcel."""
    if formdata is None:
        return ShipForm(prefix=f"ship{shipment_id}", formdata=None)
    return ShipForm(prefix=f"ship{shipment_id}")


def _centre_page(seller, *, ship_forms=None, stock_form=None, error=None):
    found = centre_overview.overview(seller.id, current_language())
    forms = {shipment.id: _ship_form(shipment.id) for shipment in found.to_ship}
    forms.update(ship_forms or {})
    if stock_form is None:
        stock_form = StockForm(formdata=None)
        stock_form.prefill(found.products)
    return render_template(
        "sellers/centre.html",
        seller=seller,
        centre=found,
        ship_forms=forms,
        stock_form=stock_form,
        products_by_id={product.id: product for product in found.products},
        status_labels=SHORT_STATUS_LABELS,
        has_payout_details=payouts.has_payout_details(seller),
        payout_minimum=current_app.config["PAYOUT_MINIMUM"],
    ), status_for(error)


def _back_to_centre(seller_id, anchor):
    return redirect(url_for(".centre", seller_id=seller_id, _anchor=anchor), code=303)


@bp.get("/<int:seller_id>/centre")
@seller_member_required
def centre(seller_id):
    return _centre_page(services.get(seller_id))


@bp.post("/<int:seller_id>/centre/shipments/<int:shipment_id>/ship")
@seller_member_required
def centre_ship(seller_id, shipment_id):
    seller = services.get(seller_id)
    shipment = orders.shipment_for_seller(seller_id, shipment_id)
    form = _ship_form(shipment_id, formdata=True)
    if form.validate_on_submit():
        saved, result = attempt(
            lambda: orders.ship(
                current_user,
                shipment,
                carrier=form.carrier_name(),
                tracking_number=form.tracking_number.data,
            ),
            form.show_error,
        )
        if saved:
            flash(
                _("%(number)s is marked shipped; the buyer is told.", number=result.order.number),
                "success",
            )
            return _back_to_centre(seller_id, "to-ship")
        if result.field is None:  # shipped already, cancelled meanwhile: the page says how
            return _back_to_centre(seller_id, "to-ship")
    return _centre_page(seller, ship_forms={shipment_id: form})


@bp.post("/<int:seller_id>/centre/shipments/<int:shipment_id>/handed-over")
@seller_member_required
def centre_hand_over(seller_id, shipment_id):
    shipment = orders.shipment_for_seller(seller_id, shipment_id)
    form = ActionForm()
    if form.validate_on_submit():
        saved, _shipment = attempt(
            lambda: orders.hand_over(current_user, shipment), form.show_error
        )
        if saved:
            flash(
                _("%(number)s is handed over to the buyer.", number=shipment.order.number),
                "success",
            )
    else:
        flash(
            _(
                "The form has expired or was not sent from this site. "
                "Please go back, reload and try again."
            ),
            "error",
        )
    return _back_to_centre(seller_id, "to-ship")


@bp.post("/<int:seller_id>/centre/products")
@seller_member_required
def centre_stock(seller_id):
    seller = services.get(seller_id)
    form = StockForm()
    changed = None  # the service's refusal, if it refuses
    if form.validate_on_submit():
        changes = form.changes()
        if not changes:
            flash(_("Nothing was changed."), "info")
            return _back_to_centre(seller_id, "products")
        saved, changed = attempt(
            lambda: catalog.set_stock_and_status(current_user, seller_id, changes),
            form.show_error,
        )
        if saved:
            flash(
                ngettext(
                    "%(num)d product is updated.", "%(num)d products are updated.", len(changed)
                ),
                "success",
            )
            return _back_to_centre(seller_id, "products")
    return _centre_page(seller, stock_form=form, error=changed)
