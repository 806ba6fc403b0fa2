"""The shop's ASGI application (what ``personalize demo --shop django`` serves)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "personalize_sdk.examples.django_shop.settings")

application = get_asgi_application()
