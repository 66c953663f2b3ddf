"""A plain Django site as its users run it: django.contrib.auth, its login
form with CSRF, database sessions in SQLite.  Nothing in it knows about
session sharing.  The database lives in data/ next to this package (the
tests copy the site into a directory of their own)."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# every site that shares the session runs with the same key and store
SECRET_KEY = "test-only-secret-key-shared-by-every-site-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "ssapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "ssapp.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
    ]},
}]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(BASE_DIR / "data" / "db.sqlite3"),
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

SESSION_ENGINE = "django.contrib.sessions.backends.db"
# the session cookie is re-sent on every response (an unchanged value)
SESSION_SAVE_EVERY_REQUEST = True
# Django's default (same-origin) sends no Referer to the other sites, which
# they need to tell where a visitor comes from
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
USE_TZ = True
