"""Configuration classes, read from the environment.

``MARKETPLACE_CONFIG`` picks the class (``default``, ``testing``, ``production``).
``DATABASE_URL`` and ``CELERY_BROKER_URL`` override the database and the broker under
every class. Every setting is listed in README's configuration table.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


#: Islands and mountain districts Thai carriers commonly charge extra for.
DEFAULT_REMOTE_AREAS = (
    "20120,23170,58000,58110,58120,58130,58140,58150,63170,71240,"
    "81150,82160,84140,84280,84310,84320,84330,84360"
)


class ConfigError(Exception):
    """A required setting is missing or wrong; the message names it in one line."""


def _bool(value, default=False):
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env, name, default):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _seconds(env, name, default):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 60:
        raise ConfigError(f"{name} must be from 0 to 60 seconds, got {raw!r}")
    return value


def normalise_database_url(url):
    """Use the psycopg (3) driver for plain ``postgres://`` and ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """The embedded default: a SQLite file under ``instance/``, no broker."""

    name = "default"
    #: Settings that must come from the environment under this class.
    required = ()

    def __init__(self, env=None, **overrides):
        self.env = os.environ if env is None else env
        self.configure(self.env)
        for key, value in overrides.items():
            setattr(self, key, value)
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(self.SQLALCHEMY_DATABASE_URI)

    def configure(self, env):
        #: Which class is in use: default, testing or production.
        self.ENV_NAME = self.name
        self.SECRET_KEY = env.get("SECRET_KEY") or "dev-only-insecure-key-change-me"
        default_db = f"sqlite:///{INSTANCE_DIR / 'talat.sqlite3'}"
        self.SQLALCHEMY_DATABASE_URI = env.get("DATABASE_URL") or self.default_database_url(
            default_db
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        #: Empty means no broker: work handed to Celery runs in-process after commit.
        self.CELERY_BROKER_URL = env.get("CELERY_BROKER_URL", "")
        #: Name of the Celery queue the outbox publishes to.
        self.CELERY_DEFAULT_QUEUE = env.get("CELERY_DEFAULT_QUEUE", "celery")
        #: Seconds a broker publish may take in all before the outbox leaves the work to the
        #: sweep (a web request waits this long at most when Redis is down or hung).
        self.CELERY_PUBLISH_TIMEOUT = _seconds(env, "CELERY_PUBLISH_TIMEOUT", 1.0)
        #: An outbox row still undone this many seconds after its last dispatch is sent again.
        self.OUTBOX_REDISPATCH_AFTER = _int(env, "OUTBOX_REDISPATCH_AFTER", 60)
        #: With no broker, run the beat's tasks in the web process after responses.
        self.EMBEDDED_BEAT = _bool(env.get("EMBEDDED_BEAT"), True)
        #: How often the beat sweep looks for undone outbox rows.
        self.OUTBOX_SWEEP_INTERVAL = _int(env, "OUTBOX_SWEEP_INTERVAL", 30)
        self.MAIL_SERVER = env.get("MAIL_SERVER", "")
        self.MAIL_PORT = _int(env, "MAIL_PORT", 587)
        self.MAIL_USERNAME = env.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD", "")
        self.MAIL_USE_TLS = _bool(env.get("MAIL_USE_TLS"), True)
        self.MAIL_FROM = env.get("MAIL_FROM", "Talat Chumchon <no-reply@talat.local>")
        #: Where product pictures are stored (two sizes, random names).
        self.UPLOAD_FOLDER = env.get("UPLOAD_FOLDER") or str(INSTANCE_DIR / "uploads")
        #: Largest picture accepted, in bytes.
        self.MAX_IMAGE_BYTES = _int(env, "MAX_IMAGE_BYTES", 5 * 1024 * 1024)
        #: Largest request body; a bigger upload gets 413 before it is read.
        self.MAX_CONTENT_LENGTH = self.MAX_IMAGE_BYTES + 512 * 1024
        #: Postal codes that cost more to reach (islands, mountain districts), comma-separated.
        self.REMOTE_AREA_POSTAL_CODES = frozenset(
            code.strip()
            for code in env.get("REMOTE_AREA_POSTAL_CODES", DEFAULT_REMOTE_AREAS).split(",")
            if code.strip()
        )
        #: Added to a parcel's fee when it goes to one of those postal codes.
        self.REMOTE_AREA_SURCHARGE_SATANG = _int(env, "REMOTE_AREA_SURCHARGE_SATANG", 5000)
        #: An order not paid within this many hours is cancelled and its stock returned.
        self.ORDER_PAYMENT_TIMEOUT_HOURS = _int(env, "ORDER_PAYMENT_TIMEOUT_HOURS", 24)
        #: How often the beat looks for unpaid orders past their deadline, in seconds.
        self.ORDER_EXPIRY_SWEEP_INTERVAL = _int(env, "ORDER_EXPIRY_SWEEP_INTERVAL", 300)
        #: A shipped parcel the buyer has not confirmed counts as delivered after this many days.
        self.SHIPMENT_AUTO_DELIVER_DAYS = _int(env, "SHIPMENT_AUTO_DELIVER_DAYS", 14)
        #: The marketplace's PromptPay ID (mobile or tax ID) that buyers pay by QR.
        self.PROMPTPAY_ID = env.get("PROMPTPAY_ID", "0105561000000")
        #: The marketplace's bank account, shown for bank transfers.
        self.BANK_NAME = env.get("BANK_NAME", "ธนาคารกรุงไทย")
        self.BANK_ACCOUNT_NAME = env.get("BANK_ACCOUNT_NAME", "บริษัท ตลาดชุมชน จำกัด")
        self.BANK_ACCOUNT_NUMBER = env.get("BANK_ACCOUNT_NUMBER", "000-0-00000-0")
        #: API bearer tokens live this many hours.
        self.API_TOKEN_TTL_HOURS = _int(env, "API_TOKEN_TTL_HOURS", 24 * 30)
        #: Token requests allowed per client address (Flask-Limiter syntax).
        self.API_TOKEN_RATE_LIMIT = env.get("API_TOKEN_RATE_LIMIT", "10 per minute")
        #: Where rate-limit counters live: memory by default, Redis in production.
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI") or (
            self.default_rate_limit_storage(env)
        )
        self.RATELIMIT_HEADERS_ENABLED = True
        # Redis down: count in this process's memory rather than refuse every sign-in.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        #: Reverse proxies in front of the app whose X-Forwarded-* headers are believed.
        self.TRUSTED_PROXIES = _int(env, "TRUSTED_PROXIES", 0)
        #: Stripe, for card and PromptPay payments: all three keys, or none (transfer only).
        self.STRIPE_SECRET_KEY = env.get("STRIPE_SECRET_KEY", "")
        self.STRIPE_PUBLISHABLE_KEY = env.get("STRIPE_PUBLISHABLE_KEY", "")
        self.STRIPE_WEBHOOK_SECRET = env.get("STRIPE_WEBHOOK_SECRET", "")
        #: Another Stripe API address (a local fake Stripe for tests and demos); empty: Stripe's.
        self.STRIPE_API_BASE = env.get("STRIPE_API_BASE", "")
        #: Oldest webhook signature accepted, in seconds.
        self.STRIPE_WEBHOOK_TOLERANCE = _int(env, "STRIPE_WEBHOOK_TOLERANCE", 300)
        self.LOG_LEVEL = env.get("LOG_LEVEL", "INFO").upper()
        self.LOG_JSON = _bool(env.get("LOG_JSON"), False)
        self.SESSION_COOKIE_SECURE = _bool(env.get("SESSION_COOKIE_SECURE"), False)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.WTF_CSRF_ENABLED = True
        self.WTF_CSRF_TIME_LIMIT = None
        self.BABEL_DEFAULT_LOCALE = "th"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Bangkok"
        self.BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "marketplace" / "translations")
        #: Accept addresses under the special-use .local domain (the demo users' domain).
        self.ALLOW_LOCAL_EMAIL_DOMAINS = _bool(env.get("ALLOW_LOCAL_EMAIL_DOMAINS"), True)
        #: argon2 parameters: (time cost, memory cost in KiB, parallelism).
        self.PASSWORD_HASH_PARAMS = (3, 65536, 4)
        self.SQLALCHEMY_RECORD_QUERIES = False
        self.TESTING = False
        self.DEBUG = False

    def default_database_url(self, embedded):
        return embedded

    def default_rate_limit_storage(self, env):
        return "memory://"

    def validate(self):
        """Fail fast, naming the first missing or wrong setting."""
        for name in self.required:
            if not self.env.get(name):
                raise ConfigError(f"{name} must be set when MARKETPLACE_CONFIG={self.name}")
        stripe_keys = ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")
        given = [name for name in stripe_keys if getattr(self, name)]
        if given and len(given) < len(stripe_keys):
            missing = next(name for name in stripe_keys if name not in given)
            raise ConfigError(f"{missing} must be set too: Stripe needs all three keys")

    def as_dict(self):
        return {key: value for key, value in vars(self).items() if key.isupper()}


class DefaultConfig(Config):
    name = "default"


class TestingConfig(Config):
    """Used by the test suite; the suite passes its own ``DATABASE_URL``."""

    name = "testing"

    def configure(self, env):
        super().configure(env)
        self.TESTING = True
        self.PASSWORD_HASH_PARAMS = (1, 1024, 1)
        # Tests run beat tasks themselves, when they mean to.
        self.EMBEDDED_BEAT = False
        # Tests create many tokens; the rate-limit test sets its own limit.
        self.API_TOKEN_RATE_LIMIT = "1000 per minute"  # noqa: S105 - a rate, not a secret

    def default_database_url(self, embedded):
        return f"sqlite:///{INSTANCE_DIR / 'testing.sqlite3'}"


class ProductionConfig(Config):
    """PostgreSQL, Redis and a real secret: refuses to start without them."""

    name = "production"
    required = ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL")

    def default_rate_limit_storage(self, env):
        # Shared by every web process: the broker's Redis.
        return env.get("CELERY_BROKER_URL") or "memory://"

    def configure(self, env):
        super().configure(env)
        self.SESSION_COOKIE_SECURE = _bool(env.get("SESSION_COOKIE_SECURE"), True)
        self.LOG_JSON = _bool(env.get("LOG_JSON"), True)
        self.PREFERRED_URL_SCHEME = "https"
        self.ALLOW_LOCAL_EMAIL_DOMAINS = _bool(env.get("ALLOW_LOCAL_EMAIL_DOMAINS"), False)

    def validate(self):
        super().validate()
        if not self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            raise ConfigError("DATABASE_URL must point at PostgreSQL (postgresql://...)")
        if not self.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
            raise ConfigError("CELERY_BROKER_URL must point at Redis (redis://...)")


CONFIGS = {
    "default": DefaultConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name=None, env=None):
    """Build the configuration named by ``name`` or ``MARKETPLACE_CONFIG``, validated."""
    env = os.environ if env is None else env
    name = name or env.get("MARKETPLACE_CONFIG") or "default"
    try:
        cls = CONFIGS[name]
    except KeyError:
        choices = ", ".join(CONFIGS)
        raise ConfigError(f"MARKETPLACE_CONFIG must be one of {choices}, got {name!r}") from None
    config = cls(env)
    config.validate()
    return config
