"""Settings for Open iKBT, read from the environment (see ``ikbt.env`` and the README)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from ikbt.env import env_bool, env_choice, env_int, env_list, env_str

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("IKBT_DATA_DIR") or Path.cwd() / "var")

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG:
        # Only with DEBUG on: production refuses to start without SECRET_KEY.
        SECRET_KEY = "insecure-development-key-only-for-debug-mode"  # noqa: S105  # nosec B105
    elif os.environ.get("IKBT_OFFLINE_COMMAND") == "1":
        # Set by ``ikbt`` for commands that serve no request and sign nothing (``ikbt score``).
        SECRET_KEY = secrets.token_urlsafe(50)
    else:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "ikbt.core.views.csrf_failure"
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "ikbt.accounts",
    "ikbt.organisations",
    "ikbt.patients",
    "ikbt.audit",
    "ikbt.measurement",
    "ikbt.programs",
    "ikbt.treatment",
    "ikbt.intake",
    "ikbt.messaging",
    "ikbt.reporting",
    "ikbt.research",
    "ikbt.notifications",
    "ikbt.core",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "mozilla_django_oidc",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "ikbt.core.middleware.RefuseNullCharactersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ikbt.core.middleware.SignedInPagesNotStoredMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "ikbt.accounts.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ikbt.urls"
WSGI_APPLICATION = "ikbt.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ikbt.core.context_processors.navigation",
            ],
        },
    },
    {
        # E-mail and SMS texts (``render_to_string(..., using="text")``): plain text, so a
        # name like O'Brien is written as it is, not HTML-escaped.
        "NAME": "text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"autoescape": False},
    },
]

# Databases: SQLite by default, PostgreSQL in production through DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'ikbt.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:staff_login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:home"

# Sessions: a new id at every sign-in (Django's login()), signed out after 30 idle minutes
# and at the latest 12 hours after signing in (ikbt.accounts.middleware).
SESSION_IDLE_TIMEOUT = timedelta(minutes=env_int("SESSION_IDLE_MINUTES", 30))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=env_int("SESSION_ABSOLUTE_HOURS", 12))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Messages can give back what someone typed (a report not saved, a note a colleague beat her
# to): kept in the session on the server, never in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Lock-out after repeated failed sign-ins (django-axes).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
# Locked by account, not by address: a health centre's staff share one address behind NAT, so
# locking the address would let one mistyped password lock out the whole clinic. Hence
# axes.W006 (which asks for the address) is silenced below.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env_int("PROXY_COUNT", 0)

OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Open iKBT")

# Patients sign in with the region's e-identification (OpenID Connect) where configured,
# otherwise with a one-time code sent by SMS or e-mail.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid profile")  # profile: her name
OIDC_PERSONAL_NUMBER_CLAIM = env_str("OIDC_PERSONAL_NUMBER_CLAIM", "personal_identity_number")
# A provider whose signing key carries no key id (the demo's stand-in, `ikbt demo_eid`).
OIDC_VERIFY_KID = env_bool("OIDC_VERIFY_KID", True)
OIDC_CREATE_USER = True  # a first-time patient gets an account (see ikbt.accounts.oidc)
PATIENT_OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID and OIDC_OP_AUTHORIZATION_ENDPOINT)
if PATIENT_OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("ikbt.accounts.oidc.PatientOIDCBackend")
OIDC_CALLBACK_CLASS = "ikbt.accounts.oidc.PatientCallbackView"  # says why, back at sign-in

# The waiting time from registration to start the statistics measure against (days): the
# national goal the regions report on.
WAITING_TARGET_DAYS = env_int("WAITING_TARGET_DAYS", 14)

# Internationalisation: Swedish first, English second; times shown in Stockholm time.
LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", _("Swedish")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

# Program media (images, audio, video) uploaded by authors or imported with a package.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or DATA_DIR / "media")
MEDIA_URL = "media/"

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or DATA_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Background work: Django's Tasks API (django-tasks backport) with a database-backed worker.
TASKS = {
    "default": {
        "BACKEND": env_choice(
            "TASKS_BACKEND",
            "database",
            {
                "database": "django_tasks_db.DatabaseBackend",
                "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            },
        )
    }
}
# Task workers (``ikbt worker``) beat every TASK_WORKER_HEARTBEAT_SECONDS; a task still marked
# running when its worker has been silent for TASK_WORKER_GRACE_SECONDS (the worker was killed,
# its machine lost power) is queued again for another worker. See docs/deploy.md.
TASK_WORKER_HEARTBEAT_SECONDS = env_int("TASK_WORKER_HEARTBEAT_SECONDS", 5)
TASK_WORKER_GRACE_SECONDS = env_int("TASK_WORKER_GRACE_SECONDS", 30)
if TASK_WORKER_HEARTBEAT_SECONDS < 1:
    raise ImproperlyConfigured("TASK_WORKER_HEARTBEAT_SECONDS must be at least 1.")
if TASK_WORKER_GRACE_SECONDS < 3 * TASK_WORKER_HEARTBEAT_SECONDS:
    # A worker that misses a beat or two (a slow database) must not have its task run twice.
    raise ImproperlyConfigured(
        "TASK_WORKER_GRACE_SECONDS must be at least three times TASK_WORKER_HEARTBEAT_SECONDS."
    )

# E-mail and SMS. Neither ever carries health content (see ikbt.notifications).
EMAIL_BACKEND = env_choice(
    "EMAIL_BACKEND",
    "console" if DEBUG else "smtp",
    {
        "console": "django.core.mail.backends.console.EmailBackend",
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "file": "django.core.mail.backends.filebased.EmailBackend",
    },
)
# Where the "file" backends write (one file per message): e-mail and SMS.
OUTBOX_DIR = Path(env_str("OUTBOX_DIR") or DATA_DIR / "outbox")
EMAIL_FILE_PATH = OUTBOX_DIR / "email"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
# Senders a lock screen shows: they do not say what care the person has (no "iKBT").
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Vården <no-reply@localhost>")
SMS_BACKEND = env_choice(
    "SMS_BACKEND",
    "console" if DEBUG else "http",
    {
        "console": "ikbt.notifications.sms.ConsoleBackend",
        "locmem": "ikbt.notifications.sms.LocmemBackend",
        "http": "ikbt.notifications.sms.HttpBackend",
        "file": "ikbt.notifications.sms.FileBackend",
    },
)
SMS_HTTP_URL = env_str("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env_str("SMS_HTTP_TOKEN", "")
SMS_SENDER = env_str("SMS_SENDER", "Varden")

# Security headers. Production (DEBUG off) is HTTPS only.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# A strict Content Security Policy: no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
