"""System checks (``manage.py check``, run by ``runserver`` and ``migrate``): a broken
``PERSONALIZE`` setting or config file is an Error naming the problem, and wiring that would
silently lose the widgets' beacons is a Warning."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning
from django.urls import Resolver404, get_script_prefix, resolve

from .apps import APP_LABEL, Runtime

DOCS = "see docs/quickstart-django.md"
MIDDLEWARE = "personalize_sdk.integrations.django.middleware.PersonalizeMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
URLS = "personalize_sdk.integrations.django.urls"


def _runtime_or_error() -> tuple[Runtime | None, Exception | None]:
    config = apps.get_app_config(APP_LABEL)
    return getattr(config, "runtime", None), getattr(config, "error", None)


def check_setting(app_configs: Any = None, **_: Any) -> list[CheckMessage]:
    """The setting and the config file it names load; the beacon URLs agree; a secret is set."""
    runtime, error = _runtime_or_error()
    if runtime is None:
        return [
            Error(
                f"personalize is not configured: {error}",
                hint=f"fix settings.PERSONALIZE or the config file it names ({DOCS})",
                id="personalize.E001",
            )
        ]
    messages: list[CheckMessage] = []
    beacon_url = runtime.personalizer.config.widgets.beacon_url
    if beacon_url != runtime.settings.beacon_path:
        messages.append(
            Warning(
                f"[widgets] beacon_url is {beacon_url!r} but the beacon is served at "
                f"{runtime.settings.beacon_path!r}: the widgets' beacons would be lost",
                hint=f'set beacon_url = "{runtime.settings.beacon_path}" in the config file, or '
                f"PERSONALIZE['prefix'] to match it",
                id="personalize.W001",
            )
        )
    if runtime.personalizer.secret_is_ephemeral:
        messages.append(
            Warning(
                "no secret: visitor cookies and coupons are signed with a key of this process "
                "only, so every restart and every worker forgets the visitors",
                hint="set PERSONALIZE['secret'] (or the PERSONALIZE_SECRET environment "
                "variable, or a SECRET_KEY of 16 characters or more)",
                id="personalize.W002",
            )
        )
    return messages


def check_wiring(app_configs: Any = None, **_: Any) -> list[CheckMessage]:
    """The URL include sits at the prefix, and the middleware runs after authentication."""
    runtime, _error = _runtime_or_error()
    if runtime is None:
        return []  # check_setting reports it
    messages: list[CheckMessage] = []
    beacon_path = runtime.settings.beacon_path
    if not _resolves_to_beacon(beacon_path):
        prefix = runtime.settings.prefix.strip("/")
        messages.append(
            Warning(
                f"{beacon_path} is not the personalize beacon: widgets' beacons would be lost",
                hint=f'add path("{prefix}/", include("{URLS}")) to the root URLconf, or set '
                "PERSONALIZE['prefix'] to where it is included",
                id="personalize.W003",
            )
        )
    middleware = list(getattr(django_settings, "MIDDLEWARE", None) or [])
    if MIDDLEWARE not in middleware:
        messages.append(
            Warning(
                "PersonalizeMiddleware is not in MIDDLEWARE: no visitor cookie, no "
                "request.personalize, and the template tags render nothing",
                hint=f"add {MIDDLEWARE!r} after {AUTH_MIDDLEWARE!r}",
                id="personalize.W004",
            )
        )
    elif AUTH_MIDDLEWARE in middleware and middleware.index(AUTH_MIDDLEWARE) > middleware.index(
        MIDDLEWARE
    ):
        messages.append(
            Warning(
                "PersonalizeMiddleware runs before AuthenticationMiddleware: it cannot see the "
                "logged-in customer",
                hint=f"move {MIDDLEWARE!r} after {AUTH_MIDDLEWARE!r}",
                id="personalize.W005",
            )
        )
    return messages


def _resolves_to_beacon(path: str) -> bool:
    from .views import beacon

    script_prefix = get_script_prefix()
    if script_prefix != "/" and path.startswith(script_prefix):
        path = "/" + path[len(script_prefix) :]
    try:
        return resolve(path).func is beacon
    except Resolver404:
        return False
