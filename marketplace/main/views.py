from flask import Blueprint, current_app, jsonify, redirect, render_template, session
from flask_login import current_user

from marketplace.accounts import services as accounts
from marketplace.catalog import fragments
from marketplace.catalog import services as catalog
from marketplace.forms import ActionForm
from marketplace.funds import services as funds
from marketplace.health import check_health
from marketplace.i18n import LANGUAGES
from marketplace.levies import services as levies
from marketplace.sellers import services as sellers
from marketplace.sellers.forms import KIND_LABELS
from marketplace.transaction import unit_of_work
from marketplace.urls import next_url

bp = Blueprint("main", __name__)

#: How many of the newest products the home page shows.
HOME_PRODUCTS = 8
#: How many sellers and funds it shows, with links to their whole lists.
HOME_ORGANISATIONS = 6


@bp.get("/")
def home():
    def render():
        newest = catalog.browse(catalog.CatalogQuery(per_page=HOME_PRODUCTS))
        html = render_template(
            "main/_home.html",
            products=newest.items,
            badges=levies.badges_for(newest.items),
            categories=catalog.filter_choices().categories,
            sellers=sellers.verified_sellers_page(per_page=HOME_ORGANISATIONS),
            funds=funds.verified_funds_page(per_page=HOME_ORGANISATIONS),
            kind_labels=KIND_LABELS,
        )
        return html, newest.items

    return render_template("main/home.html", content=fragments.cached("home", render))


@bp.get("/about")
def about():
    return render_template("main/about.html")


@bp.post("/language/<lang>")
def set_language(lang):
    """Switch the language for this browser, and for the signed-in user's account."""
    form = ActionForm()
    if lang in LANGUAGES and form.validate_on_submit():
        session["lang"] = lang
        if current_user.is_authenticated:
            with unit_of_work():
                accounts.set_language(current_user, lang)
    return redirect(next_url())


@bp.get("/healthz")
def healthz():
    report = check_health(current_app)
    return jsonify(report), 200 if report["status"] == "ok" else 503
