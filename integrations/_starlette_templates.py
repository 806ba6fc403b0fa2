"""Jinja2 globals for ``starlette.templating.Jinja2Templates`` (and FastAPI's, the same class):
``{{ personalize_assets() }}`` in ``<head>`` and ``{{ personalize_slot("top") }}`` where a slot's
widgets go. Both read ``request`` from the template context (Starlette puts it there) and render
nothing on a request the middleware did not see.

Starlette renders templates synchronously, so `personalize_slot` calls the sync `render`. With
the embedded catalog that is all in memory; with a `CallableCatalog` (the shop's own database)
an ``async def`` view should pre-render: ``await request.state.personalize.arender("top")``.
"""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup

from ._handle import RequestPersonalize
from ._jinja_context import context_value
from ._static import asset_tags

STATIC_PREFIX_KEY = "personalize_sdk.static_prefix"
"""The ASGI scope key where the middleware leaves the URL prefix of its script and stylesheet."""


def handle_in(context: Any) -> RequestPersonalize | None:
    """The `RequestPersonalize` of the template context's request, if the middleware set one."""
    return handle_of(context_value(context, "request"))


def handle_of(request: Any) -> RequestPersonalize | None:
    """The request's `RequestPersonalize` (``request.state.personalize``), if the middleware set
    one."""
    # The scope's dict, not `request.state` (a new State object on every access).
    state = getattr(request, "scope", {}).get("state")
    handle = state.get("personalize") if isinstance(state, dict) else None
    return handle if isinstance(handle, RequestPersonalize) else None


@jinja2.pass_context
def personalize_slot(context: jinja2.runtime.Context, slot: str = "top") -> Markup:
    """The widgets of `slot` for this visitor and page, as HTML the SDK escaped."""
    handle = handle_in(context)
    if handle is None:
        return Markup("")
    return handle.render(slot)


@jinja2.pass_context
def personalize_assets(context: jinja2.runtime.Context, nonce: str | None = None) -> Markup:
    """``<link rel="stylesheet">`` and ``<script defer>`` for the widgets, served by the
    middleware; pass the page's CSP nonce as ``nonce=...`` when a Content-Security-Policy asks
    for one."""
    handle = handle_in(context)
    prefix = getattr(context_value(context, "request"), "scope", {}).get(STATIC_PREFIX_KEY)
    if handle is None or not isinstance(prefix, str):
        return Markup("")
    return Markup(asset_tags(prefix, nonce))  # built from escaped parts


def slot_of_request(request: Any) -> dict[str, Any]:
    """A `Jinja2Templates` context processor: ``personalize_slot`` as the request's own
    `RequestPersonalize.render`, which shadows the global for that response. A template renders
    several slots; this way each is one call, with no look-up of the request's handle."""
    handle = handle_of(request)
    return {} if handle is None else {"personalize_slot": handle.render}


def install_templates(templates: Any) -> Any:
    """Add the ``personalize_slot`` and ``personalize_assets`` globals to a `Jinja2Templates`
    (or to a bare ``jinja2.Environment``), and to a `Jinja2Templates` the `slot_of_request`
    context processor; returns what it was given."""
    env = templates if isinstance(templates, jinja2.Environment) else templates.env
    env.globals.update(personalize_slot=personalize_slot, personalize_assets=personalize_assets)
    processors = getattr(templates, "context_processors", None)
    if isinstance(processors, list) and slot_of_request not in processors:
        processors.append(slot_of_request)
    return templates
