"""One settings module, configured by environment variables.

Every variable has a development default so that `make run` and `make test` work on a fresh
machine with no server. With DEBUG off, the development secrets are refused at start-up.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LEDGER_VAR_DIR", BASE_DIR / "var"))

DEV_SECRET_KEY = "dev-only-secret-key-never-use-in-production"  # noqa: S105
DEV_PSEUDONYM_SECRET = "dev-only-pseudonym-secret-never-use-in-production"  # noqa: S105


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name} must be a finite number, got {raw!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
# Keys the HMAC that turns a platform's account and content ids into public pseudonyms.
# Changing it changes every pseudonym, so it is set once per deployment and kept.
PSEUDONYM_SECRET = os.environ.get("LEDGER_PSEUDONYM_SECRET", DEV_PSEUDONYM_SECRET)

if not DEBUG:
    for _name, _value, _dev in (
        ("SECRET_KEY", SECRET_KEY, DEV_SECRET_KEY),
        ("LEDGER_PSEUDONYM_SECRET", PSEUDONYM_SECRET, DEV_PSEUDONYM_SECRET),
    ):
        if _value == _dev or len(_value) < 32:
            raise ImproperlyConfigured(
                f"{_name} is the development default or shorter than 32 characters; "
                "set a real secret in the environment when DEBUG is off"
            )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The absolute base of the notice links handed to creators, e.g. https://ledger.example.org.
# Empty means "the host of the request that recorded the decision".
PUBLIC_BASE_URL = os.environ.get("LEDGER_PUBLIC_BASE_URL", "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # /health/'s HTML page (ledger.health).
    "health_check",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "ledger",
    "moderation",
    "appeals",
    "ledger.public",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ledger.health.IntakeMetricsMiddleware",
    # Innermost, so that only the view's own reads of a public read go to a replica.
    "ledger.replica.PublicReadMiddleware",
]

ROOT_URLCONF = "ledger.urls"
WSGI_APPLICATION = "ledger.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ledger.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
# On PostgreSQL each process keeps a bounded pool of connections (Django's psycopg pool), so
# the number of connections is at most DATABASE_POOL_MAX per process whatever the number of
# threads: without it, every runserver thread opened its own persistent connection and 20
# concurrent clients exhausted PostgreSQL's max_connections. A request waits up to
# DATABASE_POOL_TIMEOUT seconds for a free connection. DATABASE_POOL_MAX=0 turns the pool off
# (then DATABASE_CONN_MAX_AGE applies, e.g. behind PgBouncer).
DATABASE_POOL_MIN = env_int("DATABASE_POOL_MIN", 1)
DATABASE_POOL_MAX = env_int("DATABASE_POOL_MAX", 10)
DATABASE_POOL_TIMEOUT = env_int("DATABASE_POOL_TIMEOUT", 30)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_MAX > 0:
    if not 0 <= DATABASE_POOL_MIN <= DATABASE_POOL_MAX:
        raise ImproperlyConfigured(
            f"DATABASE_POOL_MIN ({DATABASE_POOL_MIN}) must be between 0 and DATABASE_POOL_MAX "
            f"({DATABASE_POOL_MAX})"
        )
    # Django refuses a pool together with persistent connections: the pool keeps them.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": DATABASE_POOL_MIN,
        "max_size": DATABASE_POOL_MAX,
        "timeout": DATABASE_POOL_TIMEOUT,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server read while the Celery worker writes; the busy timeout makes a
    # second writer wait for the lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# A streaming replica of the primary for the public, anonymous reads (ledger.replica says
# which): same engine, options and pool as the primary, never migrated; tests mirror it onto
# the default.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    _replica = dj_database_url.parse(DATABASE_REPLICA_URL)
    if _replica["ENGINE"] != DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must name the same kind of database as DATABASE_URL (a "
            f"streaming replica of it), got {_replica['ENGINE']} beside "
            f"{DATABASES['default']['ENGINE']}"
        )
    _replica["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    _replica["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        **_replica.get("OPTIONS", {}),
    }
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["ledger.replica.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# A batch of 1,000 statements with long explanations is several megabytes.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("LEDGER_MAX_BODY_BYTES", 16 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["moderation.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["moderation.auth.IsPlatformClient"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["moderation.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "moderation.api.exception_handler",
    # The EU's limits for its API, per key here (per token there); counted in the default
    # cache, so per process unless REDIS_URL puts it on Redis (CACHES below).
    "DEFAULT_THROTTLE_RATES": {
        "dsa_second": os.environ.get("LEDGER_DSA_RATE_PER_SECOND", "200/s"),
        "dsa_minute": os.environ.get("LEDGER_DSA_RATE_PER_MINUTE", "12000/m"),
    },
    "UNAUTHENTICATED_USER": None,
}


def redis_cache(url: str, key_prefix: str = "ledger") -> dict[str, object]:
    """The default cache on Redis, shared by every process that names the same URL."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            # Not the URL itself: it may carry the Redis password.
            "REDIS_URL / CACHE_URL must be a redis://, rediss:// or unix:// URL, got one "
            f"starting {url.split(':', 1)[0]!r}"
        )
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        # Several ledgers (or a ledger and its tests) can share one Redis under other prefixes.
        "KEY_PREFIX": key_prefix,
    }


# The EU rate limits (DSA throttles) and anything else counted in the default cache must be
# shared by every web process, or each process counts alone. REDIS_URL (or CACHE_URL) puts the
# default cache on Redis; without it the cache is per process (development, tests).
_CACHE_URL = os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL") or ""
CACHES: dict[str, dict[str, object]] = {
    "default": redis_cache(_CACHE_URL, os.environ.get("CACHE_KEY_PREFIX", "ledger"))
    if _CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Moderation decision ledger API",
    "DESCRIPTION": (
        "Record moderation decisions (flags, visibility restrictions including shadowbans, "
        "removals, suspensions, bans) with their policy, reason and model version."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # A decision's `decision_ground` and a policy's `ground` are one choice set: one name.
    "ENUM_NAME_OVERRIDES": {
        "GroundEnum": "moderation.vocabulary.Ground",
        # The disputes API's choices, named once (appeals.dispute_api).
        "AppellantEnum": "appeals.models.Appellant",
        "DisputeOutcomeEnum": "appeals.models.DisputeOutcome",
        # Review items, appeals and audits (appeals.review_api, appeals.api, known_api).
        "AppealStatusEnum": "appeals.models.AppealStatus",
        "LabelEnum": "appeals.models.Label",
        "AppealOutcomeEnum": ["upheld", "overturned", "modified"],
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKey": {"type": "http", "scheme": "bearer", "description": "A platform API key"}
        }
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "moderation.openapi.add_msgspec_components",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery. The default broker keeps messages in files under var/, so `make run` needs no
# server; production sets CELERY_BROKER_URL to Redis or RabbitMQ.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _control_dir = VAR_DIR / "celery" / "control"
    for _dir in (_queue_dir, _processed_dir, _control_dir):
        _dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "seal-checkpoint": {
        "task": "ledger.tasks.seal_checkpoint",
        "schedule": env_int("LEDGER_SEAL_EVERY_SECONDS", 5),
    },
    "forward-dsa-statements": {
        "task": "moderation.tasks.forward_dsa_statements",
        "schedule": env_int("LEDGER_EU_FORWARD_EVERY_SECONDS", 10),
    },
    # Webhooks are also sent right after the commit that queues them; this sends the retries
    # (the first is due 5 seconds after a failure) and whatever a lost kick left behind.
    "deliver-webhooks": {
        "task": "moderation.tasks.deliver_webhooks",
        "schedule": env_int("LEDGER_WEBHOOK_EVERY_SECONDS", 5),
    },
    # Expired leases back to their queues, near-deadline escalation, breaches counted.
    "watch-review-queues": {
        "task": "appeals.tasks.watch_review_queues",
        "schedule": env_int("LEDGER_REVIEW_WATCH_EVERY_SECONDS", 30),
    },
    # Public statistics read roll-ups (ledger.public.rollups): this counts what the log gained.
    "catch-up-rollups": {
        "task": "ledger.public.tasks.catch_up_rollups",
        "schedule": env_int("LEDGER_ROLLUP_EVERY_SECONDS", 10),
    },
    # Yesterday's public dump (ledger.public.dumps), and any complete day not cut yet.
    "export-daily-dumps": {
        "task": "ledger.public.tasks.export_daily_dumps",
        "schedule": crontab(minute=5, hour=0),
    },
}

# Batches larger than this are refused with a 400 naming the limit.
LEDGER_MAX_BATCH = env_int("LEDGER_MAX_BATCH", 1000)
# The transparency log: its origin (the checkpoint's first line, C2SP tlog-checkpoint) and its
# Ed25519 signing key as a note "skey" (PRIVATE+KEY+name+id+key). Without a key, development
# generates one into LEDGER_LOG_KEY_FILE (under var/, out of git); with DEBUG off it is required.
LEDGER_LOG_ORIGIN = os.environ.get("LEDGER_LOG_ORIGIN", "localhost/moderation-ledger")
LEDGER_LOG_SIGNING_KEY = os.environ.get("LEDGER_LOG_SIGNING_KEY", "")
LEDGER_LOG_KEY_FILE = os.environ.get("LEDGER_LOG_KEY_FILE", str(VAR_DIR / "log-signing.key"))
if not DEBUG and not LEDGER_LOG_SIGNING_KEY:
    raise ImproperlyConfigured("LEDGER_LOG_SIGNING_KEY must be set when DEBUG is off")

# Where forwarded statements go, unless a platform names another (e.g. the EU's sandbox).
LEDGER_EU_API_URL = os.environ.get(
    "LEDGER_EU_API_URL", "https://transparency.dsa.ec.europa.eu/api/v1"
)
# Forwarding sends the platform's EU token to its endpoint, so by default only https endpoints
# whose host resolves to public (globally routable) addresses are accepted, at PUT and again
# at each send. On for tests against a local fake of the EU and for private deployments.
LEDGER_EU_ALLOW_PRIVATE_ENDPOINTS = env_bool("LEDGER_EU_ALLOW_PRIVATE_ENDPOINTS", False)
# The same rule for the platforms' webhook URLs (moderation.webhooks): the ledger must not be
# made to post to its own network. On for tests with a local receiver and private deployments.
LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS = env_bool("LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS", False)
# The EU takes 1 to 100 statements per call; a ledger may allow more.
LEDGER_DSA_MAX_BATCH = env_int("LEDGER_DSA_MAX_BATCH", 100)

# How long after a decision (or its notification, if later) the affected person and the notifier
# may appeal it. DSA Article 20(1) requires at least six months; 184 days covers the longest
# six calendar months, and anything below 183 is refused.
LEDGER_APPEAL_WINDOW_DAYS = env_int("LEDGER_APPEAL_WINDOW_DAYS", 184)
if LEDGER_APPEAL_WINDOW_DAYS < 183:
    raise ImproperlyConfigured(
        "LEDGER_APPEAL_WINDOW_DAYS must be at least 183 (six months, DSA Article 20), "
        f"got {LEDGER_APPEAL_WINDOW_DAYS}"
    )
# How long a reviewer's claim on an item lasts without a heartbeat.
LEDGER_REVIEW_LEASE_SECONDS = env_int("LEDGER_REVIEW_LEASE_SECONDS", 300)
if LEDGER_REVIEW_LEASE_SECONDS < 10:
    raise ImproperlyConfigured(
        f"LEDGER_REVIEW_LEASE_SECONDS must be at least 10, got {LEDGER_REVIEW_LEASE_SECONDS}"
    )
# The default time a platform has to decide an appeal, from its filing.
LEDGER_APPEAL_DECISION_DAYS = env_int("LEDGER_APPEAL_DECISION_DAYS", 14)
if LEDGER_APPEAL_DECISION_DAYS < 1:
    raise ImproperlyConfigured(
        f"LEDGER_APPEAL_DECISION_DAYS must be at least 1, got {LEDGER_APPEAL_DECISION_DAYS}"
    )
# /metrics asks for this as a Bearer token when set (empty: open, as /health/ is).
LEDGER_METRICS_TOKEN = os.environ.get("LEDGER_METRICS_TOKEN", "")

# Public statistics show a count smaller than this as "<N" (and no rate built on it), so that a
# small cell cannot single out the few people behind it (DESIGN.md, "Core rules").
LEDGER_MIN_CELL = env_int("LEDGER_MIN_CELL", 10)
if LEDGER_MIN_CELL < 1:
    raise ImproperlyConfigured(f"LEDGER_MIN_CELL must be at least 1, got {LEDGER_MIN_CELL}")
# The daily dumps served at /data/ (ledger.public.dumps). With several servers, shared storage
# that every one of them reads (and one exporter writes: beat's task or export_dumps).
LEDGER_DUMP_DIR = Path(os.environ.get("LEDGER_DUMP_DIR", VAR_DIR / "dumps"))
# A model version whose audited precision (correct over reviewed samples) has a 95% Wilson
# upper bound below this is flagged in the admin (appeals.quality): even the most favourable
# reading of its sample says it is right less often than this (at 0.5: wrong more often).
LEDGER_MIN_PRECISION = env_float("LEDGER_MIN_PRECISION", 0.5)
if not 0 <= LEDGER_MIN_PRECISION <= 1:
    raise ImproperlyConfigured(
        f"LEDGER_MIN_PRECISION must be from 0 to 1, got {LEDGER_MIN_PRECISION}"
    )
# The time reviewers have to label a blind audit sample, from its sampling (the deadline of each
# platform's audit queue, made on first need).
LEDGER_AUDIT_DEADLINE_HOURS = env_int("LEDGER_AUDIT_DEADLINE_HOURS", 168)
if LEDGER_AUDIT_DEADLINE_HOURS < 1:
    raise ImproperlyConfigured(
        f"LEDGER_AUDIT_DEADLINE_HOURS must be at least 1, got {LEDGER_AUDIT_DEADLINE_HOURS}"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

if not DEBUG:
    # Production serves HTTPS only, behind a TLS-terminating proxy (gunicorn listens on
    # 127.0.0.1). Each of these depends on that deployment, so each is an environment setting;
    # the defaults are the safe ones for it.
    # The proxy says which scheme the client used; trusted only because nothing else can reach
    # gunicorn. Off (TRUST_X_FORWARDED_PROTO=0) when clients can reach the server directly.
    if env_bool("TRUST_X_FORWARDED_PROTO", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # A load balancer's health probe and a Prometheus scrape come over plain HTTP from inside.
    SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^metrics$"]
    # HSTS: a year by default. SECURE_HSTS_INCLUDE_SUBDOMAINS and SECURE_HSTS_PRELOAD commit
    # every subdomain (and, once preloaded, browsers) to HTTPS: only on the operator's word.
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    if SECURE_HSTS_SECONDS < 0:
        raise ImproperlyConfigured(
            f"SECURE_HSTS_SECONDS must be 0 or more, got {SECURE_HSTS_SECONDS}"
        )
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
