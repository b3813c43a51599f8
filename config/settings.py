"""Settings for the HanVoice sponsorship case-management system.

One file, every deployment difference an environment variable (documented in
`.env.example`). Development defaults are embedded: SQLite and a filesystem
broker under `var/`, e-mail to the console and to files. Production secrets
have no default and stop the process with one line naming the variable.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)  # optional; absent is fine


def _fail(name: str, expects: str) -> None:
    """Stop at start with one line naming the variable: no traceback to read."""
    sys.stderr.write(f"Configuration error: {name} must be {expects}.\n")
    raise SystemExit(2)


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    _fail(name, "true or false")
    return default  # unreachable


def _int(name: str, default: int) -> int:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        _fail(name, "a whole number")
    return default  # unreachable


def _url(name: str, default: str | None, parse, schemes: str) -> dict:
    raw = env.str(name, default="") or default
    if not raw:
        _fail(name, f"set (a URL: {schemes})")
    try:
        parsed = parse(raw)
    except (ImproperlyConfigured, ValueError, KeyError):
        parsed = {}
    backend = next((parsed[k] for k in ("ENGINE", "BACKEND", "EMAIL_BACKEND") if k in parsed), "")
    # e.g. "mysqlx://" parses but names no backend; redis:// names django-redis when installed
    if not backend.startswith(("django.", "django_redis.")):
        _fail(name, f"a URL ({schemes}), not {str(raw).split('://')[0]!r}")
    return parsed


def _cache_url_config(raw: str) -> dict:
    """django-environ picks django-redis for redis:// when that package is installed (a
    dependency pulls it in): the project uses Django's own Redis backend (core/cache.py)."""
    config = env.cache_url_config(raw)
    if raw.startswith(("redis://", "rediss://")):
        config["BACKEND"] = "django.core.cache.backends.redis.RedisCache"
    return config


DEBUG = _bool("DJANGO_DEBUG", False)
# The benchmark suite (`make bench`) serves a trivial `/bench/noop` to compare pages against.
BENCH = _bool("DJANGO_BENCH", False)
# The test suite and the benchmark run with debug off but must not need production secrets.
TESTING = "pytest" in sys.modules or _bool("DJANGO_TESTING", False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "insecure-development-key-do-not-use-in-production-0123456789"
    else:
        _fail("DJANGO_SECRET_KEY", "set when DJANGO_DEBUG is off (50+ random characters)")
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=["127.0.0.1", "localhost", "[::1]", "testserver"] if (DEBUG or TESTING) else [],
)
if not ALLOWED_HOSTS:
    _fail("DJANGO_ALLOWED_HOSTS", "a comma-separated list of host names when debug is off")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Keys for the encrypted case-file fields (names, dates of birth, narratives, notes...).
# A comma-separated list, newest first: new writes use the first, reads try all
# (key rotation; `manage.py reencrypt` rewrites rows with the newest key). Independent of
# SECRET_KEY; how an entry becomes a Fernet key: core/encryption.py, docs/security.md.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if DEBUG or TESTING:
        FIELD_ENCRYPTION_KEYS = ["development-field-key-not-for-production"]
    else:
        _fail("FIELD_ENCRYPTION_KEYS", "set when DJANGO_DEBUG is off (one or more random keys)")

INSTALLED_APPS = [
    "config.apps.HanVoiceAdminConfig",  # replaces django.contrib.admin: custom AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "config.apps.LockoutsConfig",  # django-axes, with a translated name in the admin
    "core",
    "families",
    "sponsorship",
    "fundraising",
    "evidence",
    "config",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.UploadNamesMiddleware",  # before the CSRF check reads the form
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.CompiledOTPMiddleware",  # django_otp's, its device read compiled once
    "config.middleware.StaffSecondFactorMiddleware",
    "config.middleware.NoStoreWhenSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",  # turns Ratelimited into RATELIMIT_VIEW
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.charity",
            ],
        },
    },
]

VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": _url(
        "DATABASE_URL",
        f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        env.db_url_config,
        "postgres://user:password@host:5432/name or sqlite:////path/to/file",
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = _int("DATABASE_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # recover after a database restart
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let web, worker and beat share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    if TESTING:  # the test database is thrown away: no waiting for the disk
        DATABASES["default"]["OPTIONS"]["init_command"] = (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": _url(
        "CACHE_URL",
        f"filecache://{VAR_DIR / 'cache'}" if not TESTING else "locmemcache://",
        _cache_url_config,
        "redis://host:6379/1, filecache:///path or locmemcache://",
    )
}
REDIS_CACHE_BACKENDS = {
    "django.core.cache.backends.redis.RedisCache",
    "django_redis.cache.RedisCache",
}
if CACHES["default"]["BACKEND"] in REDIS_CACHE_BACKENDS:
    # Cached pages and counters must never cost a pledge: with django-redis'
    # IGNORE_EXCEPTIONS a Redis outage reads as a miss (get -> default, add/set/incr -> None,
    # which django-ratelimit with RATELIMIT_FAIL_OPEN lets through), and short socket
    # timeouts keep a dead Redis from holding a request (docs/architecture.md, "Cache").
    CACHES["default"]["BACKEND"] = "django_redis.cache.RedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
            "CONNECTION_POOL_KWARGS": {"health_check_interval": 30},
        }
    )
# Ignored cache errors are logged (once per half minute: core.logfilters.Throttle).
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "core.cache"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out sign-ins
    "config.auth.EmailBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3  # three days for a "forgot password" link

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only

# django-axes: lock an account+address pair after repeated failures; unlock by time or admin.
AXES_FAILURE_LIMIT = _int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = _int("AXES_COOLOFF_MINUTES", 30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = _bool("AXES_ENABLED", True)
RATELIMIT_VIEW = "sponsorship.views.ratelimited"  # django-ratelimit: a polite 429 page
# Lockouts and rate limits key on the client, not on the load balancer (TRUSTED_PROXY_COUNT).
AXES_CLIENT_IP_CALLABLE = "config.middleware.client_address"
RATELIMIT_IP_META_KEY = "config.middleware.client_address"
# While the cache (Redis) is unreachable the counters cannot be read: let requests through
# rather than refuse every pledge and sign-in (CSRF, the honeypot and django-axes' lockouts,
# which live in the database, still apply). Outages are logged as "core.cache".
RATELIMIT_FAIL_OPEN = True

# Staff must sign in to the admin with a second factor (TOTP) in production.
STAFF_REQUIRE_2FA = _bool("STAFF_REQUIRE_2FA", not (DEBUG or TESTING))
OTP_TOTP_ISSUER = "HanVoice Sponsorship"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Due dates are dates in the program's time zone: a sweep at 23:59 or 00:01 sees the same day.
TIME_ZONE = env.str("TIME_ZONE", default="America/Toronto")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The tests have a folder of their own that nothing collects into: WhiteNoise reads every
# file under STATIC_ROOT each time a middleware chain is built (every test client), and the
# files `make run` or `make bench` collected made the suite a third slower (docs/performance.md,
# "Test suite").
STATIC_ROOT = VAR_DIR / ("test-staticfiles" if TESTING else "staticfiles")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if (DEBUG or TESTING)
            else "config.staticfiles.StaticFilesStorage"
        )
    },
}

# Documents (receipts, leases, photos: docs/documents.md). Their bytes are encrypted with
# the case-file keys before they reach storage. By default a folder under var/; with
# DOCUMENTS_S3_BUCKET set, an S3-compatible bucket (django-storages), so web processes on
# several hosts share it. Never served from a URL of the storage: only through the app.
DOCUMENTS_S3_BUCKET = env.str("DOCUMENTS_S3_BUCKET", default="")
if DOCUMENTS_S3_BUCKET:
    STORAGES["documents"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": DOCUMENTS_S3_BUCKET,
            "endpoint_url": env.str("DOCUMENTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("DOCUMENTS_S3_REGION", default="") or None,
            "access_key": env.str("DOCUMENTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("DOCUMENTS_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("DOCUMENTS_S3_PREFIX", default="documents"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    STORAGES["documents"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.str("DOCUMENTS_ROOT", default=str(VAR_DIR / "documents")),
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
# Largest accepted upload (bytes, before encryption). clamd's StreamMaxLength (25 MB by
# default) must be at least this.
DOCUMENT_MAX_BYTES = _int("DOCUMENT_MAX_BYTES", 20 * 1024 * 1024)
# clamd's socket: a path, unix:///path or tcp://host:3310. Empty: uploads are not scanned
# (development only; README.md says so). Set in production.
CLAMAV_SOCKET = env.str("CLAMAV_SOCKET", default="")
CLAMAV_TIMEOUT = _int("CLAMAV_TIMEOUT_SECONDS", 30)

# E-mail: SMTP in production (EMAIL_URL=smtp+tls://user:pass@host:587); by default the
# console and one file per message under var/mail so nothing sent in development is lost.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    _email = _url("EMAIL_URL", None, env.email_url_config, "smtp://, smtp+tls://, consolemail://")
    vars().update(_email)
else:
    EMAIL_BACKEND = "core.mail.ConsoleAndFileBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="HanVoice <no-reply@hanvoice.ca>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# The charity, as it appears on CRA official receipts and on payment instructions.
CHARITY = {
    "name": env.str("CHARITY_NAME", default="HanVoice Pioneer Project"),
    "address": env.str(
        "CHARITY_ADDRESS", default="100 King Street West, Suite 5600, Toronto ON M5X 1C9"
    ),
    "registration_number": env.str("CHARITY_REGISTRATION_NUMBER", default="000000000RR0001"),
    "receipt_location": env.str("CHARITY_RECEIPT_LOCATION", default="Toronto, Ontario"),
    "etransfer_email": env.str("CHARITY_ETRANSFER_EMAIL", default="give@hanvoice.ca"),
    "signatory": env.str("CHARITY_SIGNATORY", default="Treasurer, HanVoice"),
}

# Celery: Redis in production; by default kombu's filesystem transport under var/ so that
# `make run` has a real worker and beat on a bare machine with no broker server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or env.str("REDIS_URL", default="")
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Without it kombu writes its exchange table to ./control in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.split("://")[0] not in {"redis", "rediss", "amqp", "memory", "filesystem"}:
    _fail("CELERY_BROKER_URL", "a broker URL such as redis://127.0.0.1:6379/0")
else:
    # Fail fast when the broker is down: the row in the database is the promise, not the task.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The worker keeps its database connection between tasks, as the web does between requests
# (CONN_MAX_AGE, CONN_HEALTH_CHECKS; config/celery.py closes a broken or old one around each
# task): Celery's Django fixup would close it after every task, so every e-mail paid for a new
# PostgreSQL session. With this it closes it itself only every 500 tasks.
CELERY_DB_REUSE_MAX = 500
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# The public pledge form: limits on one online gift, and pledges per IP (django-ratelimit,
# counted in the cache).
FUNDRAISING_MIN_AMOUNT = env.str("FUNDRAISING_MIN_AMOUNT", default="5")
FUNDRAISING_MAX_ONLINE_AMOUNT = env.str("FUNDRAISING_MAX_ONLINE_AMOUNT", default="100000")
FUNDRAISING_PLEDGE_RATE = env.str("FUNDRAISING_PLEDGE_RATE", default="20/h")
# Card gifts through Stripe (docs/fundraising.md). Both keys set: the page offers Checkout
# (one-time) and Billing (monthly); either empty: pledges are paid later by e-Transfer/cheque.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Another address for Stripe's API (a local stand-in for demos and tests); empty: Stripe's own.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
# Stripe's fee for Canadian cards, used when the donor chooses to cover it.
STRIPE_FEE_PERCENT = env.str("STRIPE_FEE_PERCENT", default="2.9")
STRIPE_FEE_FIXED = env.str("STRIPE_FEE_FIXED", default="0.30")
# Donor sign-in links asked for, per address and per IP (django-ratelimit).
FUNDRAISING_DONOR_LINK_RATE = env.str("FUNDRAISING_DONOR_LINK_RATE", default="5/h")
# Days a pledge waits for the donor's confirmation (the e-mailed link) before it expires.
FUNDRAISING_PLEDGE_CONFIRM_DAYS = _int("FUNDRAISING_PLEDGE_CONFIRM_DAYS", 7)
# Seconds each web process keeps its own copy of the rendered public page (0: off; tests).
FUNDRAISING_PAGE_LOCAL_SECONDS = _int("FUNDRAISING_PAGE_LOCAL_SECONDS", 0 if TESTING else 5)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Security headers. Production is HTTPS only; `check --deploy` is clean with these.
SECURE_SSL_REDIRECT = _bool("DJANGO_SECURE_SSL_REDIRECT", not (DEBUG or TESTING))
BEHIND_PROXY = _bool("DJANGO_BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# How many proxies (load balancer, CDN...) append to X-Forwarded-For in front of the app: the
# client's address, which sign-in lockouts and rate limits key on, is the entry that many
# places from the right (config/middleware.py: client_address). 0: use the socket's address.
TRUSTED_PROXY_COUNT = _int("DJANGO_TRUSTED_PROXY_COUNT", 1 if BEHIND_PROXY else 0)
SECURE_HSTS_SECONDS = _int("DJANGO_HSTS_SECONDS", 0 if (DEBUG or TESTING) else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
# Cookies are Secure whenever debug is off, whether or not this process redirects to HTTPS
# (a proxy may do the redirecting): DJANGO_SECURE_COOKIES=false only for a plain-HTTP test.
SESSION_COOKIE_SECURE = _bool("DJANGO_SECURE_COOKIES", not (DEBUG or TESTING))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# Django's database sessions, read with SQL compiled once (docs/performance.md).
SESSION_ENGINE = "config.sessions"
SESSION_COOKIE_AGE = 60 * 60 * 8  # a working day
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"half_minute": {"()": "core.logfilters.Throttle", "seconds": 30}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "core.cache": {"filters": ["half_minute"]},
    },
}

# Content Security Policy (django-csp): no inline script anywhere, no third-party origin.
# The donation widget is embeddable on purpose: its view relaxes frame-ancestors itself.
INSTALLED_APPS.append("csp")
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.clickjacking.XFrameOptionsMiddleware"),
    "csp.middleware.CSPMiddleware",
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Retention policy (SECURITY.md; applied by `manage.py apply_retention`, safe to run daily).
# CRA: receipt copies 2 years after the calendar year, financial records 6 years; donor
# identity is anonymised after DONOR_RETENTION_YEARS without activity, amounts are kept.
RETENTION = {
    "case_file_years": _int("CASE_FILE_RETENTION_YEARS", 6),
    "access_log_years": _int("ACCESS_LOG_RETENTION_YEARS", 6),
    "donor_years": _int("DONOR_RETENTION_YEARS", 7),
}

# Need-to-know (docs/security.md): a case worker opens a family not assigned to them only by
# stating a reason ("break the glass"); the file then stays open to them for this many hours.
CASE_FILE_BREAK_GLASS_HOURS = _int("CASE_FILE_BREAK_GLASS_HOURS", 8)
