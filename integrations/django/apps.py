"""The Django app: builds the `Personalizer` and the integration settings from
``settings.PERSONALIZE`` once, at startup, and wires the checks and the login and logout
signals.

A broken setting or config file does not crash ``ready()``: it is kept and reported by the
system checks (``manage.py check``, ``runserver``), and the middleware refuses to load with the
same message, so the site never starts half-configured.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from django.apps import AppConfig, apps
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from personalize_sdk import Personalizer
from personalize_sdk._exceptions import ConfigError

from .._beacon import RateLimiter
from .._framework import UserTraits, build_from_settings, default_user_traits
from .._pages import PageResolver
from .._settings import IntegrationSettings

logger = logging.getLogger("personalize_sdk.django")

APP_LABEL = "personalize"
SETTING = "settings.PERSONALIZE"

IMPORTABLE_KEYS = frozenset(
    {"personalizer", "catalog", "store", "clock", "page_type", "user_traits"}
)
"""Keys whose value may be a dotted path (``"shop.personalize.catalog"``), imported once the
apps are loaded: the objects they name may use the ORM."""

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_FILE_SUFFIXES = frozenset({".json", ".csv", ".toml"})


@attrs.frozen
class Runtime:
    """Everything the middleware, views and tags share, built once from the setting."""

    personalizer: Personalizer
    settings: IntegrationSettings
    limiter: RateLimiter
    pages: PageResolver
    user_traits: UserTraits = default_user_traits


def load_runtime(raw: object, secret_key: str = "") -> Runtime:
    """A `Runtime` from the value of ``settings.PERSONALIZE`` (None: all defaults).

    With no ``secret`` (and no ``PERSONALIZE_SECRET`` in the environment) the visitor cookies
    and coupons are signed with a key derived from Django's `SECRET_KEY`. Raises `ConfigError`
    naming the problem.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"expected a dict, got {type(raw).__name__}", source=SETTING)
    options = {key: _imported(key, value) for key, value in raw.items()}
    personalizer, settings, user_traits = build_from_settings(
        options, setting=SETTING, secret_key=secret_key
    )
    return Runtime(
        personalizer,
        settings,
        RateLimiter(settings.beacons_per_minute),
        PageResolver(settings),
        user_traits,
    )


def _imported(key: str, value: Any) -> Any:
    if key not in IMPORTABLE_KEYS or not isinstance(value, str) or not _DOTTED.match(value):
        return value
    if Path(value).suffix.lower() in _FILE_SUFFIXES:  # "catalog.json" is a file, not a module
        return value
    try:
        return import_string(value)
    except ImportError as error:
        raise ConfigError(f"cannot import {value!r}: {error}", source=SETTING, field=key) from error


class PersonalizeConfig(AppConfig):
    name = "personalize_sdk.integrations.django"
    label = APP_LABEL
    verbose_name = "Personalize"
    default = True

    runtime: Runtime | None = None
    error: ConfigError | None = None

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.core import checks as django_checks
        from django.core.signals import setting_changed

        from . import checks
        from .signals import identify_on_login, new_visitor_on_logout

        django_checks.register(checks.check_setting, APP_LABEL)
        django_checks.register(checks.check_wiring, APP_LABEL, django_checks.Tags.urls)
        user_logged_in.connect(identify_on_login, dispatch_uid="personalize.identify_on_login")
        user_logged_out.connect(
            new_visitor_on_logout, dispatch_uid="personalize.new_visitor_on_logout"
        )
        # Tests change settings with override_settings: follow them, as Django's own apps do.
        setting_changed.connect(self._setting_changed, dispatch_uid="personalize.setting_changed")
        self.reload()

    def reload(self) -> None:
        """(Re)build the runtime from the current settings; keep the error when it fails."""
        try:
            self.runtime = load_runtime(
                getattr(django_settings, "PERSONALIZE", None),
                getattr(django_settings, "SECRET_KEY", ""),
            )
            self.error = None
        except ConfigError as error:
            self.runtime, self.error = None, error
            logger.error("personalize is not configured: %s", error)

    def _setting_changed(self, *, setting: str, **_: Any) -> None:
        if setting in {"PERSONALIZE", "SECRET_KEY"}:
            self.reload()


def get_runtime() -> Runtime:
    """The app's `Runtime`; `ImproperlyConfigured` (naming the problem) when the app is not
    installed or its setting is broken."""
    try:
        config = apps.get_app_config(APP_LABEL)
    except LookupError:
        raise ImproperlyConfigured(
            'add "personalize_sdk.integrations.django" to INSTALLED_APPS'
        ) from None
    runtime = getattr(config, "runtime", None)
    if runtime is None:
        raise ImproperlyConfigured(f"personalize is not configured: {config.error}")
    return runtime
