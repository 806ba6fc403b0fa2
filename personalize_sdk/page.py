"""`Page`: what the shop tells us about the page being rendered."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class Page:
    """The page a widget decision is made for.

    `type` is the shop's page type ("home", "category", "product", "search", "cart", "checkout",
    or its own); `path` the URL path. The other fields are optional context for targeting.
    """

    type: str = attrs.field(validator=attrs.validators.instance_of(str))
    path: str = attrs.field(default="/", validator=attrs.validators.instance_of(str))
    product_id: str | None = None
    category: str | None = None
    query: str | None = None
    device: str | None = None
    """"desktop", "mobile" or "tablet" when known."""
