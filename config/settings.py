"""Archway settings: one module, read from the environment.

Defaults suit a laptop (SQLite under var/, Redis on 127.0.0.1); production sets
SECRET_KEY, DEBUG=0, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from probes.egress import parse_allow_list

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ARCHWAY_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-dev-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_htmx",
    "template_partials",
    "patterns",
    "decisions",
    "probes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as axes asks: it turns a refused login into the lockout page.
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "decisions.teams.context_processors.teams",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'archway.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
# Separate test databases for test runs that overlap (set by tests/env.py).
_TEST_DB_SUFFIX = os.environ.get("ARCHWAY_TEST_DB_SUFFIX", "")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so a Celery worker process and the live test server
    # see the rows a test commits.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-archway{_TEST_DB_SUFFIX}.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}{_TEST_DB_SUFFIX}"}

# Sessions in the database, so a logout counts on every worker at once (ADR-0008).
SESSION_ENGINE = "django.contrib.sessions.backends.db"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: failures count per user name AND address together, so a stranger
# guessing alice's password locks only their own attempts, never alice out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = int(os.environ.get("ARCHWAY_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("ARCHWAY_LOGIN_COOLOFF_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.security.login_locked_out"
AXES_CLIENT_IP_CALLABLE = "config.security.client_ip"
# Proxies in front of the app that append to X-Forwarded-For (0: clients connect directly).
ARCHWAY_TRUSTED_PROXIES = int(os.environ.get("ARCHWAY_TRUSTED_PROXIES", "0"))
# Failed attempts are what throttling needs; a row per successful login is not.
AXES_DISABLE_ACCESS_LOG = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True  # no stale copies after editing a file in static/
MEDIA_ROOT = VAR_DIR / "media"

# Security headers (the Content-Security-Policy is config/security.py); the cookie and
# HSTS settings follow DEBUG so that `manage.py check --deploy` is clean with DEBUG=0 behind TLS.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Load balancers ask for /healthz over plain HTTP on the inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Browsers honour it only over TLS, so it is harmless on plain HTTP.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Celery: reliable by default -------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True  # job rows (ProbeRun, ExportJob) hold the state
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is redelivered...
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ...instead of being acked and lost
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long jobs: never hoard messages
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "600"))
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Must exceed the hard limit, or Redis hands a running task to a second worker.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT * 2,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("ARCHWAY_QUEUE", "archway")

# --- Probes -----------------------------------------------------------------
# Unset: the default policy (public addresses only). Set, even to "", it is
# the whole allow-list. Metadata addresses stay refused whatever it says.
PROBE_ALLOW_RAW = os.environ.get("ARCHWAY_PROBE_ALLOW")
PROBE_ALLOW = parse_allow_list(PROBE_ALLOW_RAW)
PROBE_MAX_RATE = float(os.environ.get("ARCHWAY_PROBE_MAX_RATE", "5000"))
PROBE_MAX_CONCURRENCY = int(os.environ.get("ARCHWAY_PROBE_MAX_CONCURRENCY", "64"))
PROBE_MAX_DURATION_S = float(os.environ.get("ARCHWAY_PROBE_MAX_DURATION_S", "120"))
PROBE_MAX_SHARDS = int(os.environ.get("ARCHWAY_PROBE_MAX_SHARDS", "8"))
PROBE_MAX_RUNNING_PER_TEAM = int(os.environ.get("ARCHWAY_PROBE_MAX_RUNNING_PER_TEAM", "1"))
# Broker logins are sealed with a key derived from this (probes/credentials.py).
PROBE_CREDENTIALS_KEY = os.environ.get("ARCHWAY_CREDENTIALS_KEY") or SECRET_KEY

# --- Whole-log exports ------------------------------------------------------------
# A log export above this many records is split into parts that several workers build
# at once and the last of them merges (docs/operations.md); parts grow beyond this size
# rather than number more than EXPORT_MAX_PARTS.
EXPORT_PART_RECORDS_PDF = int(os.environ.get("ARCHWAY_EXPORT_PART_RECORDS_PDF", "200"))
EXPORT_PART_RECORDS_ZIP = int(os.environ.get("ARCHWAY_EXPORT_PART_RECORDS_ZIP", "1000"))
EXPORT_MAX_PARTS = int(os.environ.get("ARCHWAY_EXPORT_MAX_PARTS", "8"))

# --- Living decisions -----------------------------------------------------------
# How long a scheduled check probes an endpoint, and the first pause before a failed
# webhook delivery is tried again (then twice as long each time).
LIVING_CHECK_DURATION_S = float(os.environ.get("ARCHWAY_CHECK_DURATION_S", "10"))
WEBHOOK_RETRY_BASE_S = float(os.environ.get("ARCHWAY_WEBHOOK_RETRY_BASE_S", "30"))
# Mail about decisions' health: printed on the console unless a real backend is set.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "archway@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
