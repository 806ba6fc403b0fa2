"""Django integration: ``INSTALLED_APPS += ["personalize_sdk.integrations.django"]``.

The app builds one `Personalizer` from ``settings.PERSONALIZE`` at startup; the middleware gives
every request its visitor (a signed cookie) as ``request.personalize`` and tracks page views; the
``personalize`` template tags (and the Jinja2 globals) render the widget slots; the URL include
answers the browser's beacon and serves the script and stylesheet. See docs/quickstart-django.md.
"""

from __future__ import annotations

try:
    import django
except ImportError as error:  # pragma: no cover - exercised only without Django installed
    raise ImportError(
        'personalize_sdk.integrations.django needs Django: pip install "personalize-sdk[django]"'
    ) from error

if django.VERSION < (4, 2):  # pragma: no cover
    raise ImportError(
        f"personalize_sdk.integrations.django needs Django 4.2 or later, found "
        f'{django.get_version()}: pip install -U "personalize-sdk[django]"'
    )

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from personalize_sdk import Personalizer

    from .._settings import IntegrationSettings

__all__ = ["get_personalizer", "get_settings"]


def get_personalizer() -> Personalizer:
    """The app's `Personalizer`, built from ``settings.PERSONALIZE`` at startup (for code
    outside a request: management commands, tasks, webhooks)."""
    from .apps import get_runtime

    return get_runtime().personalizer


def get_settings() -> IntegrationSettings:
    """The integration settings (prefix, cookie, page types ...) read from
    ``settings.PERSONALIZE``."""
    from .apps import get_runtime

    return get_runtime().settings
