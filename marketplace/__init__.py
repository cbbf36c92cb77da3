"""Talat Chumchon: a marketplace for Thai community producer groups and welfare funds."""

import sys

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import BASE_DIR, INSTANCE_DIR, Config, ConfigError, load_config
from marketplace.logs import install_request_ids
from marketplace.security import install_security_headers


def create_app(config=None):
    """Build the app: ``config`` is a Config, a class name (``default``...) or None (env)."""
    if not isinstance(config, Config):
        config = load_config(config)
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.config.from_mapping(config.as_dict())
    install_request_ids(app)  # first: its hooks wrap every other one
    register_extensions(app)
    register_request_guards(app)
    register_blueprints(app)
    register_error_handlers(app)
    install_security_headers(app)
    register_template_helpers(app)
    register_commands(app)
    register_celery(app)
    trust_proxies(app)
    return app


def trust_proxies(app):
    """Behind ``TRUSTED_PROXIES`` reverse proxies, take the client's address and scheme
    from their X-Forwarded-* headers (rate limits count per client, URLs say https)."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def create_app_or_exit():
    """For entry points: a configuration error ends the process with one line naming it."""
    try:
        return create_app()
    except ConfigError as error:
        sys.exit(f"configuration error: {error}")


def register_extensions(app):
    from marketplace import (
        models,  # noqa: F401  (every model on the metadata)
        transaction,
    )
    from marketplace.accounts import services as accounts
    from marketplace.audit import services as audit
    from marketplace.extensions import babel, cache, csrf, db, login_manager, migrate
    from marketplace.i18n import select_locale
    from marketplace.ledger import services as ledger

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {}).setdefault("connect_timeout", 5)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    cache.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(session_id):
        return accounts.user_for_session(session_id)

    transaction.install()
    ledger.install()
    audit.install()


def _is_sqlite(dbapi_connection):
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, connection_record):
    """SQLite enforces foreign keys only when asked, per connection."""
    if _is_sqlite(dbapi_connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_begin_before_savepoint(connection, name):
    """Python's sqlite3 driver opens a transaction only at the first write. A SAVEPOINT
    taken before any write would otherwise start a transaction of its own, and releasing
    it would commit at once (an idempotency key or webhook event stored before the work
    it guards). Open the outer transaction first, as PostgreSQL has."""
    dbapi_connection = connection.connection.dbapi_connection
    if _is_sqlite(dbapi_connection) and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")


def register_request_guards(app):
    from marketplace.audit.context import install as install_audit_context
    from marketplace.guards import IdConverter, reject_nul_bytes

    app.url_map.converters["int"] = IdConverter
    app.before_request(reject_nul_bytes)
    install_audit_context(app)  # the client address audit records carry


def register_blueprints(app):
    from marketplace.accounts import throttle
    from marketplace.accounts.views import bp as accounts_bp
    from marketplace.admin.views import bp as admin_bp
    from marketplace.api.views import bp as api_bp
    from marketplace.audit.views import bp as audit_bp
    from marketplace.cart.views import bp as cart_bp
    from marketplace.catalog.views import bp as catalog_bp
    from marketplace.funds.views import bp as funds_bp
    from marketplace.geo.views import bp as geo_bp
    from marketplace.grouporders.views import bp as grouporders_bp
    from marketplace.levies.views import bp as levies_bp
    from marketplace.main.views import bp as main_bp
    from marketplace.orders.views import bp as orders_bp
    from marketplace.payments.views import bp as payments_bp
    from marketplace.payouts.views import bp as payouts_bp
    from marketplace.sellers.views import bp as sellers_bp
    from marketplace.shipping.views import bp as shipping_bp

    for blueprint in (
        main_bp,
        accounts_bp,
        geo_bp,
        catalog_bp,
        cart_bp,
        orders_bp,
        payments_bp,
        shipping_bp,
        sellers_bp,
        funds_bp,
        levies_bp,
        admin_bp,
        audit_bp,
        payouts_bp,
        grouporders_bp,
    ):
        app.register_blueprint(blueprint)
    import marketplace.grouporders.api  # noqa: F401  (its routes join /api/v1)
    import marketplace.payouts.api  # noqa: F401  (its routes join /api/v1)

    register_api(app, api_bp)
    throttle.install(app)


def register_api(app, blueprint):
    """/api/v1 through flask-smorest, which also serves its OpenAPI document."""
    from marketplace.api.base import SETTINGS, Api
    from marketplace.guards import MAX_ID, IdConverter

    for name, value in SETTINGS.items():
        app.config.setdefault(name, value)
    api = Api(app)
    api.register_converter(
        IdConverter, lambda converter: {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    )
    api.register_blueprint(blueprint)


def register_error_handlers(app):
    from marketplace.error_handlers import register_error_handlers as register

    register(app)


def register_template_helpers(app):
    from marketplace.cart.views import cart_count
    from marketplace.fields import day_choices, sent_day_parts
    from marketplace.forms import csrf_form
    from marketplace.guards import language_next
    from marketplace.i18n import (
        LANGUAGES,
        current_language,
        format_date,
        format_datetime,
        format_month,
    )
    from marketplace.icons import icon
    from marketplace.levies.forms import describe_rate, levy_per_unit, percent_text
    from marketplace.money import format_count, format_satang, format_signed_satang
    from marketplace.payments import providers as payment_providers
    from marketplace.shipping.services import kg_text

    app.jinja_env.filters["money"] = format_satang
    app.jinja_env.filters["signed_money"] = format_signed_satang
    app.jinja_env.filters["signed_count"] = format_count
    app.jinja_env.filters["kg"] = kg_text
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    # Globals, not the context processor's: macros imported without context use them.
    app.jinja_env.globals["day_choices"] = day_choices
    app.jinja_env.globals["sent_day_parts"] = sent_day_parts
    app.jinja_env.globals["icon"] = icon

    @app.context_processor
    def globals_for_templates():
        return {
            "current_language": current_language(),
            "languages": LANGUAGES,
            "csrf_form": csrf_form,
            "language_next": language_next,
            "cart_count": cart_count,
            "describe_rate": describe_rate,
            "month_label": format_month,
            "percent_text": percent_text,
            "levy_per_unit": levy_per_unit,
            "payment_provider_label": payment_providers.label,
            "payment_status_labels": payment_providers.STATUS_LABELS,
        }


def register_commands(app):
    from marketplace.accounts.cli import users_cli
    from marketplace.demo.cli import demo_cli
    from marketplace.geo.cli import geo_cli
    from marketplace.ledger.cli import ledger_cli
    from marketplace.levies.cli import levy_cli
    from marketplace.outbox.cli import outbox_cli
    from marketplace.payments.cli import stripe_cli
    from marketplace.payouts.cli import payouts_cli

    for group in (
        users_cli,
        geo_cli,
        demo_cli,
        outbox_cli,
        ledger_cli,
        levy_cli,
        stripe_cli,
        payouts_cli,
    ):
        app.cli.add_command(group)


def register_celery(app):
    from tasks import celery_init_app

    celery_init_app(app)
