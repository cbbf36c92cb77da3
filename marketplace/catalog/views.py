from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.roles import seller_member_required
from marketplace.catalog import fragments, images, services
from marketplace.catalog.forms import STATUS_LABELS, ProductForm
from marketplace.catalog.models import ProductStatus
from marketplace.forms import status_for
from marketplace.guards import MAX_ID
from marketplace.levies import services as levies
from marketplace.sellers import services as sellers
from marketplace.transaction import attempt

bp = Blueprint("catalog", __name__)


def _int_arg(name, default, minimum=1, maximum=10_000):
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, minimum), maximum)


def catalog_query():
    """The catalog filters from the query string; anything odd is ignored, never an error."""
    args = request.args
    province = args.get("province", "")
    return services.CatalogQuery(
        q=args.get("q", "").strip()[:100],
        category=args.get("category", "")[:50],
        province=province if province.isdigit() and len(province) == 2 else "",
        region=args.get("region", "")[:16],
        seller=_int_arg("seller", None, maximum=MAX_ID) if args.get("seller") else None,
        sort=args.get("sort", "newest") if args.get("sort") in services.SORTS else "newest",
        page=_int_arg("page", 1),
        per_page=_int_arg("per_page", services.PER_PAGE, maximum=services.MAX_PER_PAGE),
    )


@bp.get("/products")
def browse():
    params = catalog_query()
    seller = sellers.find_verified(params.seller) if params.seller else None

    def render():
        page = services.browse(params)
        html = render_template(
            "catalog/_listing.html",
            page=page,
            badges=levies.badges_for(page.items),
            params=params,
            query_args=services.query_args(params),
            choices=services.filter_choices(),
            seller=seller,
        )
        return html, page.items

    key = services.listing_key(params)
    if key is not None:  # a page reached by links: in the shared cache
        listing = fragments.cached(key, render)
    else:  # a search, a seller's list, a far page: in this worker's memory only
        listing = fragments.cached(services.query_key(params), render, shared=False)
    return render_template("catalog/browse.html", listing=listing, seller=seller)


@bp.get("/products/<int:product_id>")
def product(product_id):
    item = services.visible_product(product_id, current_user)
    return render_template(
        "catalog/product.html", product=item, badges=levies.badges_for([item]).get(item.id, [])
    )


@bp.get("/uploads/products/<name>")
def upload(name):
    return send_from_directory(images.upload_dir(), name, max_age=31536000)


# Seller members manage their products.


@bp.get("/sellers/<int:seller_id>/products")
@seller_member_required
def manage(seller_id):
    seller = sellers.get(seller_id)
    return render_template(
        "catalog/manage.html",
        seller=seller,
        products=services.seller_products(seller_id),
        status_labels=STATUS_LABELS,
    )


def _product_form(seller, product=None):
    form = ProductForm(product=product)
    if request.method == "GET":
        if product is not None:
            form.prefill(product)
        else:
            form.status.data = services.default_status(seller).value
    form.load_categories(services.categories())
    return form


def _owned(seller_id, product_id):
    """The seller's product, or 404: a member never reaches another seller's product."""
    product = services.get_product(product_id)
    if product.seller_id != seller_id:
        abort(404)
    return product


def _save(form, seller, product):
    """The form's fields and pictures through the catalog service, as one unit of work."""
    return attempt(
        lambda: services.save_product(
            current_user,
            seller,
            product,
            form.draft(),
            pictures=form.new_pictures(),
            removed_image_ids=form.removed_image_ids(),
        ),
        form.show_error,
    )


@bp.route("/sellers/<int:seller_id>/products/new", methods=["GET", "POST"])
@seller_member_required
def new_product(seller_id):
    seller = sellers.get(seller_id)
    form = _product_form(seller)
    if form.validate_on_submit():
        saved, product = _save(form, seller, None)
        if saved:
            if product.status != ProductStatus.ACTIVE:
                flash(_("The product is saved as a draft: buyers do not see it yet."), "success")
            elif not seller.verified:
                flash(
                    _("The product is saved: buyers see it once your group is verified."), "success"
                )
            else:
                flash(_("The product is on sale."), "success")
            return redirect(_in_centre(product))
    return _form_page(form, seller, None)


@bp.route("/sellers/<int:seller_id>/products/<int:product_id>/edit", methods=["GET", "POST"])
@seller_member_required
def edit_product(seller_id, product_id):
    product = _owned(seller_id, product_id)
    form = _product_form(product.seller, product)
    if form.validate_on_submit():
        saved, _product = _save(form, product.seller, product)
        if saved:
            flash(_("The product is saved."), "success")
            return redirect(_in_centre(product))
    return _form_page(form, product.seller, product)


def _in_centre(product):
    """The product's line in its seller's centre, where its stock and status show."""
    return url_for("sellers.centre", seller_id=product.seller_id, _anchor=f"product-{product.id}")


def _form_page(form, seller, product):
    return render_template(
        "catalog/product_form.html",
        form=form,
        seller=seller,
        product=product,
        max_images=services.MAX_IMAGES,
        refused=request.method == "POST",
        photos_sent=request.method == "POST" and bool(form.new_pictures()),
    ), status_for()
