"""A minimal Django project for tests/integrations/test_django.py (set up by its fixture only)."""

from __future__ import annotations

from pathlib import Path

import jinja2

DATA = Path(__file__).resolve().parents[2] / "data"

SECRET_KEY = "django-tests-secret-key-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "shop.example"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "tests.integrations.django_project.urls"
LOGIN_REDIRECT_URL = "/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "personalize_sdk.integrations.django",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "personalize_sdk.integrations.django.middleware.PersonalizeMiddleware",
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

PAGE = """{% load personalize %}<!doctype html><html><head>{% personalize_assets %}</head>
<body>{% personalize_slot "top" %}<main>{{ title }}</main>{% personalize_slot "bottom" %}
</body></html>"""

JINJA_PAGE = """<!doctype html><html><head>{{ personalize_assets(nonce="abc123") }}</head>
<body>{{ personalize_slot("top") }}<main>{{ title }}</main></body></html>"""

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {
                        "page.html": PAGE,
                        "bare.html": "{% load personalize %}[{% personalize_slot 'top' %}]"
                        "[{% personalize_assets %}]",
                        "registration/login.html": "<form method=post>{{ form }}</form>",
                        "csp.html": "{% load personalize %}"
                        "{% personalize_assets nonce=request.csp_nonce %}",
                    },
                )
            ],
        },
    },
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "OPTIONS": {
            "environment": "personalize_sdk.integrations.django.jinja2.environment",
            "loader": jinja2.DictLoader(
                {
                    "page.jinja": JINJA_PAGE,
                    "csp.jinja": "{{ personalize_assets(nonce=request.csp_nonce) }}",
                }
            ),
        },
    },
]

PERSONALIZE = {
    "config": str(DATA / "shop.toml"),
    "catalog": str(DATA / "catalog.json"),
    "secret": "personalize-tests-secret-0123456789",
}
