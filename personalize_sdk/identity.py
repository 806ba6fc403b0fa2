"""Merging an anonymous visitor's profile into a customer's (E2): pure and idempotent.

`merge(customer, visitor)` folds the visitor's history into the customer profile, records the
visitor id in `aliases` and the visitor profile's `origin` in `merged`; merging the same visitor
profile again returns the customer unchanged, so a repeated `identify()` never double counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import affinity
from ._exceptions import InvalidEvent
from .config import Settings
from .profile import Cart, Profile, PurchaseHistory
from .reducer import MAX_AFFINITY_KEYS, MAX_COUNTERS, MAX_MESSAGE_IDS

MAX_ALIASES = 100
MAX_TRAITS = 200


def merge(customer: Profile, visitor: Profile, settings: Settings) -> Profile:
    """The customer profile with the anonymous `visitor` profile folded in (once)."""
    mark = visitor.origin or visitor.visitor_id
    if visitor is customer or mark is None or mark in customer.merged:
        return customer
    visitor_id = visitor.visitor_id
    # The more recently active profile's ordering wins for recency lists and session.
    visitor_newer = (visitor.last_seen or 0.0) >= (customer.last_seen or 0.0)
    recent, older = (visitor, customer) if visitor_newer else (customer, visitor)
    aliases = customer.aliases
    if visitor_id is not None:
        aliases = _union((visitor_id,), visitor.aliases, aliases)[:MAX_ALIASES]
    return customer._replace(
        visitor_id=visitor_id or customer.visitor_id,
        aliases=aliases,
        merged=_union((mark,), visitor.merged, customer.merged)[:MAX_ALIASES],
        traits={**visitor.traits, **customer.traits},
        first_seen=_min(customer.first_seen, visitor.first_seen),
        last_seen=_max(customer.last_seen, visitor.last_seen),
        sessions=customer.sessions + visitor.sessions,
        session=recent.session or older.session,
        recently_viewed=_union(recent.recently_viewed, older.recently_viewed)[
            : settings.recently_viewed_limit
        ],
        category_affinity=_combine(customer.category_affinity, visitor.category_affinity),
        brand_affinity=_combine(customer.brand_affinity, visitor.brand_affinity),
        orders=_merge_orders(customer.orders, visitor.orders, settings.order_history_limit),
        cart=_merge_carts(recent.cart, older.cart, settings.cart_limit),
        counters=_add_counts(customer.counters, visitor.counters),
        last_product_view_at=_max(customer.last_product_view_at, visitor.last_product_view_at),
        last_cart_add_at=_max(customer.last_cart_add_at, visitor.last_cart_add_at),
        message_ids=_union(customer.message_ids, visitor.message_ids)[:MAX_MESSAGE_IDS],
    )


def _merge_orders(a: PurchaseHistory, b: PurchaseHistory, limit: int) -> PurchaseHistory:
    if not b.count:
        return a
    if not a.count:
        return b
    # An order both profiles saw (tracked in the browser and by a server-side webhook) counts once.
    known = dict(a.recent_orders)
    twice = [(order_id, total) for order_id, total in b.recent_orders if order_id in known]
    newer, older = (b, a) if (b.last_at or 0) >= (a.last_at or 0) else (a, b)
    return PurchaseHistory(
        count=a.count + b.count - len(twice),
        total=max(a.total + b.total - sum(total for _, total in twice), 0.0),
        first_at=_min(a.first_at, b.first_at),
        last_at=_max(a.last_at, b.last_at),
        categories=_union(newer.categories, older.categories)[:limit],
        product_ids=_union(newer.product_ids, older.product_ids)[:limit],
        recent_orders=_union_orders(newer.recent_orders, older.recent_orders)[:limit],
    )


def _union_orders(*parts: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
    """Orders of all parts, in order, each order id once (its first occurrence)."""
    seen: dict[str, float] = {}
    for part in parts:
        for order_id, total in part:
            seen.setdefault(order_id, total)
    return tuple(seen.items())


def _merge_carts(recent: Cart, older: Cart, limit: int) -> Cart:
    """Union by product; for a product in both, the more recent cart's line wins."""
    if not older.items:
        return recent
    if not recent.items:
        return older
    in_recent = {item.product_id for item in recent.items}
    items = recent.items + tuple(i for i in older.items if i.product_id not in in_recent)
    return Cart(
        items[:limit], recent.currency or older.currency, _max(recent.updated_at, older.updated_at)
    )


def _combine(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    merged = dict(a)
    for key, value in b.items():
        merged[key] = affinity.combine(merged[key], value) if key in merged else value
    return affinity.strongest(merged, MAX_AFFINITY_KEYS)


def _add_counts(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    merged = dict(a)
    for key, value in b.items():
        if key in merged or len(merged) < MAX_COUNTERS:
            merged[key] = merged.get(key, 0) + value
    return merged


def _union(*parts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for part in parts for item in part))


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def with_traits(profile: Profile, traits: Mapping[str, Any]) -> Profile:
    """Traits merged over the existing ones; a trait set to None is removed.

    Raises `InvalidEvent` when the profile would hold more than `MAX_TRAITS` traits.
    """
    if not traits:
        return profile
    merged = {**profile.traits, **traits}
    merged = {key: value for key, value in merged.items() if value is not None}
    if len(merged) > MAX_TRAITS:
        raise InvalidEvent(
            f"a profile holds at most {MAX_TRAITS} traits", field="traits", kind="too_many_traits"
        )
    return profile._replace(traits=merged)
