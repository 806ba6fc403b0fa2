"""Jinja2 templates (Django's ``django.template.backends.jinja2.Jinja2`` backend):
``personalize_slot("top")`` and ``personalize_assets()`` as globals.

    TEMPLATES = [{
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "OPTIONS": {"environment": "personalize_sdk.integrations.django.jinja2.environment"},
    }]

A project with its own environment function calls `install(env)` on it instead.
"""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup

from .._handle import RequestPersonalize
from .._jinja_context import context_value
from .templatetags.personalize import render_assets


def handle_in(context: jinja2.runtime.Context) -> RequestPersonalize | None:
    """The request's `RequestPersonalize`, if the middleware set one."""
    handle = getattr(context_value(context, "request"), "personalize", None)
    return handle if isinstance(handle, RequestPersonalize) else None


@jinja2.pass_context
def personalize_slot(context: jinja2.runtime.Context, slot: str = "top") -> Markup:
    handle = handle_in(context)
    # Jinja's string literals are plain str and `render` gives Markup: nothing to convert.
    return _NOTHING if handle is None else handle.render(slot)


_NOTHING = Markup("")


@jinja2.pass_context
def personalize_assets(context: jinja2.runtime.Context, nonce: str | None = None) -> Markup:
    return Markup(render_assets(handle_in(context), nonce))


def install(env: jinja2.Environment) -> jinja2.Environment:
    """Add the ``personalize_slot`` and ``personalize_assets`` globals to `env`."""
    env.globals.update(personalize_slot=personalize_slot, personalize_assets=personalize_assets)
    return env


def environment(**options: Any) -> jinja2.Environment:
    """A Jinja2 environment with the personalize globals (the backend's ``environment``)."""
    return install(jinja2.Environment(**options))
