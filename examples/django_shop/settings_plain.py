"""The example Django shop without personalisation (the `http` benchmark's baseline): the same
settings without the personalize app and its middleware. The views then get a no-op handle and
the templates' slots render nothing.

    DJANGO_SETTINGS_MODULE=personalize_sdk.examples.django_shop.settings_plain
"""

from __future__ import annotations

from .settings import *  # noqa: F403
from .settings import MIDDLEWARE

INSTALLED_APPS: list[str] = []
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("personalize_sdk.")]
