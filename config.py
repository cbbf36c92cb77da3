"""Configuration classes, read from the environment.

``MARKETPLACE_CONFIG`` picks the class (``default``, ``testing``, ``production``).
``DATABASE_URL`` and ``CELERY_BROKER_URL`` override the database and the broker under
every class. Every setting is listed in README's configuration table.
"""

import contextlib
import os
import re
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
#: Where a development install keeps the secret key it generated for itself.
SECRET_KEY_FILE = INSTANCE_DIR / "secret_key"


#: Islands and mountain districts Thai carriers commonly charge extra for.
DEFAULT_REMOTE_AREAS = (
    "20120,23170,58000,58110,58120,58130,58140,58150,63170,71240,"
    "81150,82160,84140,84280,84310,84320,84330,84360"
)


#: A weekly moment: a weekday and a 24-hour time ("mon 09:00").
WEEKLY = re.compile(r"(mon|tue|wed|thu|fri|sat|sun) ([01][0-9]|2[0-3]):([0-5][0-9])")


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


def instance_secret_key(path=SECRET_KEY_FILE):
    """The key kept in ``instance/secret_key``, made (random, readable by the owner only)
    the first time: a development install without ``SECRET_KEY`` gets a key of its own that
    survives restarts, and no key anybody else knows. Processes starting at once agree:
    the key is written to a file of its own and linked into place, and the first wins."""
    key = _read_key(path)
    if key:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_hex(32) + "\n")
    try:
        if path.exists():  # a key too short to use: replace it
            os.replace(draft, path)
        else:
            # Another process may have linked its key first: then that one is used.
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path):
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        return ""
    return key if len(key) >= 32 else ""


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
        self.SECRET_KEY = env.get("SECRET_KEY") or self.default_secret_key()
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
        #: Most pixels (width x height) a picture may decode to; above it, the upload is
        #: refused. Baseline JPEGs decode at 1/2, 1/4 or 1/8 scale when that still gives
        #: the stored size, so larger ones pass; decoding takes 4 to 9 bytes a pixel.
        self.MAX_IMAGE_PIXELS = _int(env, "MAX_IMAGE_PIXELS", 16_000_000)
        #: Largest request body; a bigger upload gets 413 before it is read. The product
        #: form carries its photos with it: up to a product's 5 (catalog.models.MAX_IMAGES).
        self.MAX_CONTENT_LENGTH = 5 * self.MAX_IMAGE_BYTES + 512 * 1024
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
        #: How often the beat closes group orders whose closing time has passed, in seconds.
        self.GROUP_ORDER_CLOSE_SWEEP_INTERVAL = _int(env, "GROUP_ORDER_CLOSE_SWEEP_INTERVAL", 60)
        #: A shipped parcel the buyer has not confirmed counts as delivered after this many days.
        self.SHIPMENT_AUTO_DELIVER_DAYS = _int(env, "SHIPMENT_AUTO_DELIVER_DAYS", 14)
        #: The marketplace's fee on goods sold, in basis points (1% = 100), unless an admin
        #: set another rate for the seller; fixed on each order item when the order is placed.
        self.PLATFORM_FEE_BPS = _int(env, "PLATFORM_FEE_BPS", 0)
        #: A delivered shipment's proceeds become available to pay out this many days after
        #: delivery (0: at once).
        self.PAYOUT_HOLD_DAYS = _int(env, "PAYOUT_HOLD_DAYS", 3)
        #: A payout run pays a seller only this much available money or more (satang).
        self.PAYOUT_MINIMUM = _int(env, "PAYOUT_MINIMUM", 10_000)
        #: When the beat starts a payout run by itself: "mon 09:00" (a weekday and a
        #: Bangkok time), or empty for never (runs are then started by an admin).
        self.PAYOUT_RUN_SCHEDULE = env.get("PAYOUT_RUN_SCHEDULE", "").strip().lower()
        #: The marketplace's PromptPay ID (mobile or tax ID) that buyers pay by QR.
        self.PROMPTPAY_ID = env.get("PROMPTPAY_ID", "0105561000000")
        #: The marketplace's bank account, shown for bank transfers.
        self.BANK_NAME = env.get("BANK_NAME", "ธนาคารกรุงไทย")
        self.BANK_ACCOUNT_NAME = env.get("BANK_ACCOUNT_NAME", "บริษัท ตลาดชุมชน จำกัด")
        self.BANK_ACCOUNT_NUMBER = env.get("BANK_ACCOUNT_NUMBER", "000-0-00000-0")
        #: API bearer tokens live this many hours.
        self.API_TOKEN_TTL_HOURS = _int(env, "API_TOKEN_TTL_HOURS", 24 * 30)
        #: Failed sign-ins (web and API together) allowed before 429, in Flask-Limiter
        #: syntax; successful ones are never counted. Per account from one client address,
        #: per account from anywhere (high enough that one address cannot reach it alone),
        #: and per client address whichever accounts.
        self.SIGN_IN_FAILURES_PER_ACCOUNT_AND_ADDRESS = env.get(
            "SIGN_IN_FAILURES_PER_ACCOUNT_AND_ADDRESS", "10 per 15 minutes"
        )
        self.SIGN_IN_FAILURES_PER_ACCOUNT = env.get("SIGN_IN_FAILURES_PER_ACCOUNT", "100 per hour")
        self.SIGN_IN_FAILURES_PER_ADDRESS = env.get(
            "SIGN_IN_FAILURES_PER_ADDRESS", "100 per 15 minutes"
        )
        #: The marketplace's address as people reach it, for links in mail.
        self.PUBLIC_URL = env.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
        #: How long the links that finish a registration and reset a password work.
        self.REGISTRATION_LINK_HOURS = _int(env, "REGISTRATION_LINK_HOURS", 48)
        self.PASSWORD_RESET_LINK_HOURS = _int(env, "PASSWORD_RESET_LINK_HOURS", 2)
        #: Registrations and password-reset requests (web and API) allowed per client
        #: address, before 429.
        self.REGISTRATIONS_PER_ADDRESS = env.get("REGISTRATIONS_PER_ADDRESS", "200 per hour")
        #: Registration and password mails sent to one address; past it, silently none.
        self.MAILS_PER_EMAIL = env.get("MAILS_PER_EMAIL", "5 per hour")
        #: Where rate-limit counters live: memory by default, Redis in production.
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI") or (
            self.default_rate_limit_storage(env)
        )
        self.RATELIMIT_HEADERS_ENABLED = True
        # Redis counters answer at once or not at all: a hung Redis costs a request at most
        # this long per check before the in-memory fallback counts instead.
        self.RATELIMIT_STORAGE_OPTIONS = {"socket_timeout": 0.25, "socket_connect_timeout": 0.25}
        #: Where the catalog cache lives (what every visitor sees of product lists, see
        #: marketplace/catalog/cache.py): a Redis URL, by default the broker's; empty caches
        #: nothing. Shared by every web process, so a change shows everywhere at once.
        self.CACHE_URL = env.get("CACHE_URL", self.default_cache_url(env))
        #: Seconds a cached catalog page lives at most (changes replace it at once).
        self.CACHE_DEFAULT_TIMEOUT = _int(env, "CACHE_TIMEOUT", 300)
        self.CACHE_KEY_PREFIX = "talat:"
        if self.CACHE_URL:
            self.CACHE_TYPE = "RedisCache"
            self.CACHE_REDIS_URL = self.CACHE_URL
            # Short timeouts: a hung Redis costs one request a fraction of a second, and the
            # catalog then reads the database for a while (catalog/cache.py).
            self.CACHE_OPTIONS = {"socket_timeout": 0.25, "socket_connect_timeout": 0.25}
        else:
            self.CACHE_TYPE = "NullCache"
            self.CACHE_NO_NULL_WARNING = True
        # Redis down: count in this process's memory rather than refuse every sign-in.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        #: Reverse proxies in front of the app whose X-Forwarded-* headers are believed.
        self.TRUSTED_PROXIES = _int(env, "TRUSTED_PROXIES", 0)
        #: Strict-Transport-Security max-age in seconds; 0 sends no HSTS header.
        self.HSTS_MAX_AGE = _int(env, "HSTS_MAX_AGE", 0)
        #: Stripe, for card and PromptPay payments: all three keys, or none (transfer only).
        self.STRIPE_SECRET_KEY = env.get("STRIPE_SECRET_KEY", "")
        self.STRIPE_PUBLISHABLE_KEY = env.get("STRIPE_PUBLISHABLE_KEY", "")
        self.STRIPE_WEBHOOK_SECRET = env.get("STRIPE_WEBHOOK_SECRET", "")
        #: Another Stripe API address (a local fake Stripe for tests and demos); empty: Stripe's.
        self.STRIPE_API_BASE = env.get("STRIPE_API_BASE", "")
        #: How far a webhook signature's time may be from now (past or future), in seconds.
        self.STRIPE_WEBHOOK_TOLERANCE = _int(env, "STRIPE_WEBHOOK_TOLERANCE", 300)
        self.LOG_LEVEL = env.get("LOG_LEVEL", "INFO").upper()
        self.LOG_JSON = _bool(env.get("LOG_JSON"), False)
        self.SESSION_COOKIE_SECURE = _bool(env.get("SESSION_COOKIE_SECURE"), False)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        #: "Keep me signed in" lasts this many days (ended sooner by signing out anywhere).
        self.REMEMBER_COOKIE_DURATION = _int(env, "REMEMBER_COOKIE_DAYS", 30) * 86400
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

    def default_secret_key(self):
        return instance_secret_key(SECRET_KEY_FILE)

    def default_rate_limit_storage(self, env):
        return "memory://"

    def default_cache_url(self, env):
        return env.get("CELERY_BROKER_URL", "")

    def validate(self):
        """Fail fast, naming the first missing or wrong setting."""
        for name in self.required:
            if not self.env.get(name):
                raise ConfigError(f"{name} must be set when MARKETPLACE_CONFIG={self.name}")
        if not 0 <= self.PLATFORM_FEE_BPS <= 10_000:
            raise ConfigError(
                "PLATFORM_FEE_BPS must be from 0 to 10000 (basis points), "
                f"got {self.PLATFORM_FEE_BPS}"
            )
        if not 0 <= self.PAYOUT_HOLD_DAYS <= 365:
            raise ConfigError(
                f"PAYOUT_HOLD_DAYS must be from 0 to 365, got {self.PAYOUT_HOLD_DAYS}"
            )
        if not 1 <= self.PAYOUT_MINIMUM <= 10**12:
            raise ConfigError(
                f"PAYOUT_MINIMUM must be from 1 to 10^12 satang, got {self.PAYOUT_MINIMUM}"
            )
        if self.PAYOUT_RUN_SCHEDULE and not WEEKLY.fullmatch(self.PAYOUT_RUN_SCHEDULE):
            raise ConfigError(
                "PAYOUT_RUN_SCHEDULE must be a weekday and a time, such as 'mon 09:00', "
                f"got {self.PAYOUT_RUN_SCHEDULE!r}"
            )
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

    def default_database_url(self, embedded):
        return f"sqlite:///{INSTANCE_DIR / 'testing.sqlite3'}"

    def default_cache_url(self, env):
        # Tests write rows directly (factories): a cache would show them stale. The tests
        # of the cache itself ask for one (CACHE_TYPE="SimpleCache").
        return ""


class ProductionConfig(Config):
    """PostgreSQL, Redis and a real secret: refuses to start without them."""

    name = "production"
    required = ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL")

    def default_secret_key(self):
        return ""  # required: validate() names it

    def default_rate_limit_storage(self, env):
        # Shared by every web process: the broker's Redis.
        return env.get("CELERY_BROKER_URL") or "memory://"

    def configure(self, env):
        super().configure(env)
        self.SESSION_COOKIE_SECURE = _bool(env.get("SESSION_COOKIE_SECURE"), True)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.LOG_JSON = _bool(env.get("LOG_JSON"), True)
        self.PREFERRED_URL_SCHEME = "https"
        self.HSTS_MAX_AGE = _int(env, "HSTS_MAX_AGE", 365 * 86400)
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
