"""Server-side HTML of every widget kind: a pure function of `Widget.data`.

The markup is the contract of docs/markup.md, shared with `static/personalize.js` and
`personalize.css`. `RENDERERS` is the registry: one kind, one function taking the data and
returning escaped `Markup`. Every value is escaped, every URL checked (`_urls`), every number
formatted from a validated number; a bad field raises `ConfigError` (a `ValueError`) naming the
campaign and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from markupsafe import Markup

from .._exceptions import ConfigError
from ._common import identity
from ._fields import as_markup
from .bars import render_hello_bar, render_progress_bar
from .countdown import render_countdown
from .coupons import render_scratch_coupon, render_side_coupon
from .editorial import render_editorial
from .floating import render_floating_icon
from .overlays import render_exit_intent, trigger_attributes
from .products import render_recently_viewed, render_recommendations

__all__ = ["KINDS", "RENDERERS", "render_control", "render_widget"]

Renderer = Callable[[Mapping[str, Any]], Markup]

RENDERERS: Mapping[str, Renderer] = MappingProxyType(
    {
        "hello_bar": render_hello_bar,
        "side_coupon": render_side_coupon,
        "exit_intent": render_exit_intent,
        "progress_bar": render_progress_bar,
        "recently_viewed": render_recently_viewed,
        "recommendations": render_recommendations,
        "floating_icon": render_floating_icon,
        "scratch_coupon": render_scratch_coupon,
        "countdown": render_countdown,
        "editorial": render_editorial,
    }
)
KINDS: frozenset[str] = frozenset(RENDERERS)

CONTROL = "control"
"""The variant id of the holdout arm."""

OVERLAY_KINDS: frozenset[str] = frozenset({"exit_intent"})
"""Kinds rendered as overlays (`data-pz-overlay`): at most one of them per page."""


def render_widget(data: Mapping[str, Any]) -> Markup:
    """The widget's HTML. Raises `ConfigError` (a `ValueError`) for an unknown kind or a bad
    field, naming the campaign and the field (``campaign 'welcome' (hello_bar) link.url: ...``)."""
    kind = _kind(data)
    try:
        return RENDERERS[kind](data)
    except ConfigError as error:
        raise _located(error, data, kind) from None


def render_control(data: Mapping[str, Any]) -> Markup:
    """The holdout's empty, hidden marker, so the script records its exposure like a widget's.

    It takes the same `data` as the widget (only `kind` and the identity fields are read) and is
    always `data-pz-variant="control"`, whatever `variant` the data carries."""
    kind = _kind(data)
    try:
        attributes = identity(data, kind, CONTROL)
        if kind in OVERLAY_KINDS:
            # The holdout's exposure is recorded when the overlay's trigger fires: the same
            # trigger settings as the variants', or the two groups are not comparable.
            attributes += f" data-pz-overlay{trigger_attributes(data)}"
    except ConfigError as error:
        raise _located(error, data, kind) from None
    return as_markup(f'<div class="pz pz-control" hidden{attributes}></div>')


def _kind(data: Mapping[str, Any]) -> str:
    if not isinstance(data, Mapping):
        raise ConfigError(f"widget data must be a mapping, got {type(data).__name__}")
    kind = data.get("kind")
    if type(kind) is not str or kind not in RENDERERS:
        known = ", ".join(sorted(RENDERERS))
        raise ConfigError(
            f"unknown widget kind {kind!r:.60}; expected one of {known}", field="kind"
        )
    return kind


def _located(error: ConfigError, data: Mapping[str, Any], kind: str) -> ConfigError:
    """`error` naming the campaign and kind it happened in."""
    campaign = data.get("campaign_id")
    where = f"campaign {campaign!r:.60} ({kind})" if type(campaign) is str else f"({kind})"
    return ConfigError(error.message, source=where, field=error.field)
