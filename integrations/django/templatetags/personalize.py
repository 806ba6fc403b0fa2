"""Template tags: ``{% load personalize %}``, then ``{% personalize_assets %}`` in ``<head>``
and ``{% personalize_slot "top" %}`` where the widgets of a slot go.

Both read ``request`` from the context (the ``django.template.context_processors.request``
context processor, on by default) and render nothing on a request the middleware did not see.
Their output is marked safe because the SDK escapes everything it renders.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..._handle import RequestPersonalize
from ..._static import asset_tags
from ..apps import get_runtime

register = template.Library()


def handle_in(context: Any) -> RequestPersonalize | None:
    """The request's `RequestPersonalize`, if the middleware set one."""
    request = context.get("request")
    handle = getattr(request, "personalize", None)
    return handle if isinstance(handle, RequestPersonalize) else None


def render_slot(handle: RequestPersonalize | None, slot: object) -> SafeString:
    if handle is None:
        return mark_safe("")
    # A template's string literal is a SafeString; the SDK takes a plain str (anything else is
    # refused by the SDK and renders nothing).
    name = str.__str__(slot) if isinstance(slot, str) else slot
    return mark_safe(str(handle.render(name)))  # type: ignore[arg-type]  # escaped by the SDK


def render_assets(handle: RequestPersonalize | None, nonce: str | None = None) -> SafeString:
    """The stylesheet and the deferred script, served by the URL include under the prefix."""
    if handle is None:
        return mark_safe("")
    prefix = get_runtime().settings.static_prefix
    return mark_safe(asset_tags(prefix, nonce))  # escaped parts


@register.simple_tag(takes_context=True)
def personalize_slot(context: Any, slot: str = "top") -> SafeString:
    """The widgets of `slot` for this visitor and page, as HTML."""
    return render_slot(handle_in(context), slot)


@register.simple_tag(takes_context=True)
def personalize_assets(context: Any, nonce: str | None = None) -> SafeString:
    """``<link>`` and ``<script defer>`` for the widgets' stylesheet and script; pass the
    page's CSP nonce as ``nonce=...`` when a Content-Security-Policy asks for one."""
    return render_assets(handle_in(context), nonce)
