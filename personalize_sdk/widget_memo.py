"""`WidgetMemo`: a widget whose content repeats across shoppers is built and rendered once per
distinct content, not once per page view.

A widget's data and HTML are a pure function of its campaign variant and the few values it
reads: the placeholders of its copy (a first name, the browsed category, the cart's value ...),
its coupon, and for some kinds the browsed category or the cart. `key` names exactly those
values, and the rendered result is kept under that key: the hello bar "Hi {{ first_name }}" is
rendered once per first name, a floating icon with fixed copy once. Kinds whose content also
depends on what changes by itself (shop-wide popularity, the clock: recommendations, countdown)
are never memoised, nor is copy that reads the page's product (it comes from the catalog). A
recently viewed strip is memoised by the products it could list when the catalog cannot change
(none, or a `MemoryCatalog`); with a catalog that can (a `CallableCatalog`), it is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .campaign import Campaign, Variant
from .copy import VariedCopy
from .widget_data import Scene, cart_value

MEMOISED_KINDS = frozenset(
    {"hello_bar", "side_coupon", "exit_intent", "floating_icon", "scratch_coupon", "editorial",
     "progress_bar"}
)  # fmt: skip
_TEXT_NAMES = frozenset({"first_name", "category", "brand", "segments"})
"""Copy context values used in a key as they are (text, None, or a frozenset)."""
_COVERED_NAMES = frozenset({"remaining", "threshold", "coupon"})
"""Copy context values a key covers through the cart or the coupon instead."""

Key = tuple[Any, ...]
Rendered = tuple[dict[str, Any], Any] | None
"""(data, html), or None for "nothing to show"."""


class WidgetMemo:
    def __init__(self, maxsize: int = 20_000, *, fixed_catalog: bool = False) -> None:
        self.maxsize = maxsize
        self.fixed_catalog = fixed_catalog
        """The catalog never changes: what reads it can be memoised."""
        self._results: dict[Key, Rendered] = {}
        # (campaign id, variant id) -> (copy names read, copy varies by category), or None
        # when the variant cannot be memoised.
        self._reads: dict[tuple[str, str], tuple[tuple[str, ...], bool] | None] = {}

    def key(
        self, campaign: Campaign, variant: Variant, scene: Scene, coupon: Callable[[], Any]
    ) -> Key | None:
        """The values this widget's content depends on, or None when it is not memoised.
        `coupon()` gives the shopper's coupon for the variant (None without one)."""
        kind = campaign.kind
        if kind not in MEMOISED_KINDS and not (kind == "recently_viewed" and self.fixed_catalog):
            return None
        ids = (campaign.id, variant.id)
        reads = self._reads.get(ids, False)
        if reads is False:
            reads = self._reads[ids] = _copy_reads(variant)
        if reads is None:
            return None
        names, by_category = reads
        parts: list[Any] = [ids]
        if names:
            context = scene.copy_context(names)
            for name in names:
                value = context[name]
                if name == "cart":
                    value = tuple(value.values())  # every entry copy can read
                elif name == "page":
                    value = (value["type"], value["path"])
                parts.append(value)
        if by_category or kind == "editorial":
            parts.append(scene.category)
        if kind == "progress_bar":
            cart = scene.profile.cart
            parts.append((cart_value(scene.profile), cart.currency, bool(cart)))
        if kind == "recently_viewed":
            profile = scene.profile
            parts.append(
                (profile.recently_viewed, profile.orders.product_ids, scene.page.product_id)
            )
        if "coupon" in variant.content:
            found = coupon()
            parts.append(None if found is None else tuple(found.values()))
        return tuple(parts)

    def get(self, key: Key) -> tuple[bool, Rendered]:
        found = self._results.get(key, _MISSING)
        return (False, None) if found is _MISSING else (True, found)  # type: ignore[return-value]

    def put(self, key: Key, rendered: Rendered) -> None:
        results = self._results
        if len(results) >= self.maxsize:
            results.clear()  # cheaper than an LRU, and refilled by the next pages
        results[key] = rendered


_MISSING = object()


def _copy_reads(variant: Variant) -> tuple[tuple[str, ...], bool] | None:
    names: set[str] = set()
    by_category = False
    for value in variant.content.values():
        if isinstance(value, VariedCopy):
            by_category = by_category or bool(value.by_category)
            for template in (value.default, *value.by_category.values()):
                names |= template.names
    if not names <= _TEXT_NAMES | _COVERED_NAMES | {"cart", "page"}:
        return None  # the product (catalog data) or something unknown: render every time
    return tuple(sorted(names - _COVERED_NAMES)), by_category
