"""Product strips: recently viewed (W5) and recommendations (W6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from ._common import product_list, root, title_id
from ._fields import as_markup, items, text


def _strip(data: Mapping[str, Any], kind: str) -> Markup:
    """A titled `<section>` (a named region) holding the product cards."""
    labelled_by = title_id(data)
    return as_markup(
        f"{root(data, kind)}"
        f'<section class="pz-strip" aria-labelledby="{labelled_by}">'
        f'<h2 class="pz-title" id="{labelled_by}">{text(data, "title")}</h2>'
        f"{product_list(items(data, 'products'))}</section></div>"
    )


def render_recently_viewed(data: Mapping[str, Any]) -> Markup:
    return _strip(data, "recently_viewed")


def render_recommendations(data: Mapping[str, Any]) -> Markup:
    """`strategy` (bestsellers, trending, add-ins ...) is for headless front ends and analytics;
    the markup is the same strip."""
    return _strip(data, "recommendations")
