from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace import transaction
from marketplace.accounts.roles import seller_member_required
from marketplace.cart import services as cart_services
from marketplace.errors import DomainError
from marketplace.forms import ActionForm, flash_errors
from marketplace.grouporders import services as grouporders
from marketplace.levies import services as levies
from marketplace.orders import services
from marketplace.orders.forms import CancelForm, CheckoutForm, ReferenceForm, ShipForm
from marketplace.orders.models import DeliveryMethod, OrderStatus, ShipmentStatus
from marketplace.orders.states import (
    SHIPMENT_STATUS_LABELS,
    order_label,
    shipment_state,
)
from marketplace.payments import providers
from marketplace.payments import services as payments
from marketplace.payouts import proceeds
from marketplace.sellers import services as sellers
from marketplace.transaction import attempt

bp = Blueprint("orders", __name__)


def _chosen_methods(cart_view):
    """The delivery method the form chose for each seller's parcel."""
    return {
        group.seller.id: DeliveryMethod.PICKUP
        if request.form.get(f"method-{group.seller.id}") == DeliveryMethod.PICKUP.value
        else DeliveryMethod.DELIVERY
        for group in cart_view.groups
    }


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    cart = cart_services.UserCart(current_user)
    cart_view = cart_services.view(cart)
    if cart_view.is_empty:
        flash(_("Your cart is empty."), "info")
        return redirect(url_for("cart.show"))
    form = CheckoutForm()
    form.load_payment_choices(providers.available())
    if request.method == "GET":
        form.prefill_from(current_user)
    form.load_address_choices()
    status = 200
    placing = request.method == "POST" and request.form.get("action") != "preview"
    if placing and form.validate_on_submit() and form.address_matches_chain():
        quotes, _total = services.quote_parcels(
            cart_view, form.postal_code.data, _chosen_methods(cart_view)
        )
        methods = {quote.group.seller.id: quote.method for quote in quotes}
        saved, result = attempt(
            lambda: services.place_order_from_cart(
                current_user,
                cart,
                address=form.address(),
                methods=methods,
                payment_method=form.payment_method.data,
            ),
            form.show_error,
        )
        if saved:
            flash(
                _("Order %(number)s is placed. Please pay below.", number=result.number), "success"
            )
            return redirect(url_for(".show", order_id=result.id), code=303)
        status = result.status
        cart_view = cart_services.view(cart)
    elif placing:
        status = 400
    quotes, shipping_total = services.quote_parcels(
        cart_view, form.postal_code.data, _chosen_methods(cart_view)
    )
    previews = levies.preview_cart(cart_view, current_user)
    return render_template(
        "orders/checkout.html",
        form=form,
        cart=cart_view,
        levies=previews,
        fund_shares=levies.shares_by_fund(line for lines in previews.values() for line in lines),
        quotes=quotes,
        shipping_total=shipping_total,
        total=cart_view.subtotal_satang + shipping_total,
    ), status


@bp.get("/orders")
@login_required
def history():
    orders = services.buyer_orders(current_user)
    return render_template(
        "orders/history.html",
        orders=orders,
        payments=services.payments_of(orders),
        order_label=order_label,
    )


def _order_page(order, reference_form=None, status=200):
    """The buyer's order page. It writes nothing (a GET, and the page a refused POST shows
    again): a Stripe payment's intent is made after checkout, or by :func:`prepare_payment`."""
    payment = services.payment_of(order)
    provider = providers.PROVIDERS.get(payment.provider) if payment else None
    payment_context = {}
    if provider is not None and order.status == OrderStatus.PENDING_PAYMENT:
        try:
            payment_context = provider.buyer_context(payment)
        except DomainError as error:
            flash(error.message, "error")
            provider = None
    return render_template(
        "orders/show.html",
        order=order,
        payment=payment,
        provider=provider,
        payment_context=payment_context,
        returning_from_provider=bool(request.args.get("payment_intent")),
        fund_shares=levies.shares_by_fund(lv for item in order.items for lv in item.levies),
        reference_form=reference_form or ReferenceForm(formdata=None),
        order_label=order_label(order, payment),
        shipment_state=shipment_state,
        group_order=grouporders.for_order(order.id),
    ), status


@bp.get("/orders/<int:order_id>/promptpay.png")
@login_required
def promptpay_qr(order_id):
    """The PromptPay QR of the buyer's own unpaid order as a PNG, to save on the phone: a
    banking app cannot scan the phone's own screen, but reads a QR from its photos.
    ``?download=1`` asks the browser to save it rather than show it."""
    order = services.order_for_buyer(current_user, order_id)
    payment = services.payment_of(order)
    provider = providers.PROVIDERS["transfer"]
    if (
        order.status != OrderStatus.PENDING_PAYMENT
        or payment is None
        or payment.provider != provider.name
        or not provider.takes_payment(payment)
    ):
        abort(404)
    response = Response(provider.qr_png(payment, order.number), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    if request.args.get("download"):
        response.headers["Content-Disposition"] = (
            f'attachment; filename="promptpay-{order.number}.png"'
        )
    return response


@bp.get("/orders/<int:order_id>")
@login_required
def show(order_id):
    return _order_page(services.order_for_buyer(current_user, order_id))


@bp.post("/orders/<int:order_id>/payment")
@login_required
def prepare_payment(order_id):
    """Make the Stripe payment's PaymentIntent now, when the task that makes it after
    checkout has not (yet): Stripe was down, or the worker is behind.

    Stripe is called with no transaction open, with the payment's own idempotency key (the
    task and this give the same intent); its id is then stored in one commit.
    """
    order = services.order_for_buyer(current_user, order_id)
    form = ActionForm()
    if form.validate_on_submit():
        payment = services.payment_of(order)
        wanted = payments.intent_to_create(payment.id) if payment else None
        transaction.end_reads()
        if wanted is not None:
            try:
                intent_id = payments.create_intent(wanted)
            except DomainError as error:
                flash(error.message, "error")
            else:
                attempt(
                    lambda: payments.record_intent(wanted.payment_id, intent_id), form.show_error
                )
    flash_errors(form)
    return redirect(url_for(".show", order_id=order_id), code=303)


@bp.post("/orders/<int:order_id>/reference")
@login_required
def submit_reference(order_id):
    order = services.order_for_buyer(current_user, order_id)
    form = ReferenceForm()
    if form.validate_on_submit():
        saved, _payment = attempt(
            lambda: services.submit_transfer_reference(current_user, order, form.reference.data),
            form.show_error,
        )
        if saved:
            flash(_("Thank you. We will confirm your payment soon."), "success")
            return redirect(url_for(".show", order_id=order.id), code=303)
    return _order_page(order, reference_form=form, status=400)


@bp.post("/orders/<int:order_id>/cancel")
@login_required
def cancel(order_id):
    order = services.order_for_buyer(current_user, order_id)
    form = CancelForm()
    if form.validate_on_submit():
        saved, _order = attempt(
            lambda: services.cancel_order(current_user, order, form.reason.data), form.show_error
        )
        if saved:
            flash(_("The order is cancelled."), "success")
    flash_errors(form)
    return redirect(url_for(".show", order_id=order.id), code=303)


@bp.post("/orders/<int:order_id>/shipments/<int:shipment_id>/received")
@login_required
def received(order_id, shipment_id):
    order = services.order_for_buyer(current_user, order_id)
    shipment = next((s for s in order.shipments if s.id == shipment_id), None)
    if shipment is None:
        abort(404)
    form = ActionForm()
    if form.validate_on_submit():
        saved, _shipment = attempt(
            lambda: services.confirm_delivery(current_user, shipment), form.show_error
        )
        if saved:
            flash(_("Thank you for confirming."), "success")
    flash_errors(form)
    return redirect(url_for(".show", order_id=order.id), code=303)


# Seller members fulfil their shipments.


@bp.get("/sellers/<int:seller_id>/shipments")
@seller_member_required
def seller_shipments(seller_id):
    status = request.args.get("status", "")
    status = status if status in {s.value for s in ShipmentStatus} else ""
    shipments = services.seller_shipments(seller_id, status or None)
    return render_template(
        "orders/seller_shipments.html",
        seller=sellers.get(seller_id),
        shipments=shipments,
        # What each paid parcel earned after refunds, as the statement counts it.
        earned=proceeds.earned(seller_id, {s.order_id for s in shipments}),
        status=status,
        shipment_labels=SHIPMENT_STATUS_LABELS,
        ship_form=lambda shipment_id: ShipForm(prefix=f"ship{shipment_id}", formdata=None),
    )


@bp.post("/sellers/<int:seller_id>/shipments/<int:shipment_id>/ship")
@seller_member_required
def ship(seller_id, shipment_id):
    shipment = services.shipment_for_seller(seller_id, shipment_id)
    form = ShipForm(prefix=f"ship{shipment_id}")
    if form.validate_on_submit():
        saved, _shipment = attempt(
            lambda: services.ship(
                current_user,
                shipment,
                carrier=form.carrier_name(),
                tracking_number=form.tracking_number.data,
            ),
            form.show_error,
        )
        if saved:
            flash(_("Marked as shipped; the buyer is told."), "success")
            return redirect(url_for(".seller_shipments", seller_id=seller_id), code=303)
    flash_errors(form)
    return redirect(url_for(".seller_shipments", seller_id=seller_id), code=303)


@bp.post("/sellers/<int:seller_id>/shipments/<int:shipment_id>/handed-over")
@seller_member_required
def hand_over(seller_id, shipment_id):
    shipment = services.shipment_for_seller(seller_id, shipment_id)
    form = ActionForm()
    if form.validate_on_submit():
        saved, _shipment = attempt(
            lambda: services.hand_over(current_user, shipment), form.show_error
        )
        if saved:
            flash(_("Handed over."), "success")
    flash_errors(form)
    return redirect(url_for(".seller_shipments", seller_id=seller_id), code=303)
