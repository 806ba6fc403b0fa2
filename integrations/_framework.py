"""What the Django and Flask adapters share when they build from their framework's settings
mapping (``settings.PERSONALIZE``, ``app.config["PERSONALIZE"]``): the traits recorded at login,
the framework's own secret as the signing key, errors that name the setting, and the warning
about a beacon served where the widgets will not send it."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from personalize_sdk import Personalizer
from personalize_sdk._exceptions import ConfigError

from ._settings import IntegrationSettings, build

logger = logging.getLogger("personalize_sdk.integrations")

UserTraits = Callable[[Any], Mapping[str, Any]]


def default_user_traits(user: Any) -> dict[str, str]:
    """The traits recorded at login: the user's non-empty ``first_name``, ``last_name`` and
    ``email`` attributes, when the user model has them."""
    traits: dict[str, str] = {}
    for name in ("first_name", "last_name", "email"):
        value = getattr(user, name, None)
        if isinstance(value, str) and value:
            traits[name] = value
    return traits


def build_from_settings(
    options: dict[str, Any], *, setting: str, secret_key: object
) -> tuple[Personalizer, IntegrationSettings, UserTraits]:
    """(Personalizer, IntegrationSettings, user_traits) from a framework's settings mapping.

    With no ``secret`` (and no ``PERSONALIZE_SECRET``) the framework's `secret_key` signs, when
    it is long enough: an unset secret would sign for this process only, and every restart and
    every worker would forget the visitors. Raises `ConfigError` naming `setting`.
    """
    user_traits = options.pop("user_traits", default_user_traits)
    if not callable(user_traits):
        raise ConfigError(
            f"expected a callable user -> dict, got {type(user_traits).__name__}",
            source=setting,
            field="user_traits",
        )
    if _wants_secret_key(options, secret_key):
        options["secret"] = secret_key
    try:
        personalizer, settings = build(options)
    except ConfigError as error:
        raise ConfigError(
            error.message, source=error.source or setting, field=error.field
        ) from error
    except (TypeError, ValueError, OSError) as error:
        raise ConfigError(str(error), source=setting) from error
    # A warning, not an error: a shop may serve the beacon elsewhere on purpose (a proxy).
    if personalizer.config.widgets.beacon_url != settings.beacon_path:
        logger.warning(
            "[widgets] beacon_url is %r but the beacon is served at %r (prefix %r): the "
            "widgets' beacons will miss it",
            personalizer.config.widgets.beacon_url,
            settings.beacon_path,
            settings.prefix,
        )
    return personalizer, settings, user_traits


def _wants_secret_key(options: Mapping[str, Any], secret_key: object) -> bool:
    if "secret" in options or "personalizer" in options or os.environ.get("PERSONALIZE_SECRET"):
        return False
    if isinstance(secret_key, str):
        secret_key = secret_key.encode("utf-8")
    return isinstance(secret_key, bytes) and len(secret_key) >= 16
