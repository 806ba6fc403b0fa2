"""Settings of the example Django shop: the personalize app, its middleware, its URLs and the
shared Jinja2 templates; nothing else (no database, sessions or accounts)."""

from __future__ import annotations

import os

from ..shop import CAMPAIGNS, CATALOG
from ..shop import TEMPLATES as SHOP_TEMPLATES

DEMO_SECRET = "example-shop-secret-not-for-production"

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-django-shop-key-not-for-production")
DEBUG = False  # the shop's own 404 page, not Django's technical one
# Local addresses (and the test client's); more, comma-separated, from the environment.
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"] + [
    host for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if host
]
USE_TZ = True
ROOT_URLCONF = "personalize_sdk.examples.django_shop.urls"
WSGI_APPLICATION = "personalize_sdk.examples.django_shop.wsgi.application"

INSTALLED_APPS = ["personalize_sdk.integrations.django"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "personalize_sdk.integrations.django.middleware.PersonalizeMiddleware",
]

DATABASES: dict[str, dict[str, str]] = {}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [str(SHOP_TEMPLATES)],
        "OPTIONS": {"environment": "personalize_sdk.integrations.django.jinja2.environment"},
    }
]

PERSONALIZE = {
    "config": str(CAMPAIGNS),
    "catalog": str(CATALOG),
    "secret": os.environ.get("PERSONALIZE_SECRET") or DEMO_SECRET,
}
