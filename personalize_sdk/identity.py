"""Merging an anonymous visitor's profile into a customer's (E2): pure and idempotent.

`merge(customer, visitor)` folds the visitor's history into the customer profile and records the
visitor id in `aliases`; merging the same visitor again returns the customer unchanged, so a
repeated `identify()` never double counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import affinity
from .config import Settings
from .profile import Cart, Profile, PurchaseHistory

MAX_ALIASES = 100


def merge(customer: Profile, visitor: Profile, settings: Settings) -> Profile:
    """The customer profile with the anonymous `visitor` profile folded in."""
    visitor_id = visitor.visitor_id
    if visitor_id is None or visitor_id in customer.aliases or visitor is customer:
        return customer
    # The more recently active profile's ordering wins for recency lists and session.
    visitor_newer = (visitor.last_seen or 0.0) >= (customer.last_seen or 0.0)
    recent, older = (visitor, customer) if visitor_newer else (customer, visitor)
    return customer._replace(
        visitor_id=visitor_id,
        aliases=_union((visitor_id,), visitor.aliases, customer.aliases)[:MAX_ALIASES],
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
        message_ids=_union(customer.message_ids, visitor.message_ids)[:20],
    )


def _merge_orders(a: PurchaseHistory, b: PurchaseHistory, limit: int) -> PurchaseHistory:
    if not b.count:
        return a
    if not a.count:
        return b
    newer, older = (b, a) if (b.last_at or 0) >= (a.last_at or 0) else (a, b)
    return PurchaseHistory(
        count=a.count + b.count,
        total=a.total + b.total,
        first_at=_min(a.first_at, b.first_at),
        last_at=_max(a.last_at, b.last_at),
        categories=_union(newer.categories, older.categories)[:limit],
        product_ids=_union(newer.product_ids, older.product_ids)[:limit],
        order_ids=_union(newer.order_ids, older.order_ids)[:limit],
    )


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
    return merged


def _add_counts(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    merged = dict(a)
    for key, value in b.items():
        merged[key] = merged.get(key, 0) + value
    return merged


def _union(*parts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for part in parts for item in part))


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def with_traits(profile: Profile, traits: Mapping[str, Any]) -> Profile:
    """Traits merged over the existing ones; a trait set to None is removed."""
    if not traits:
        return profile
    merged = {**profile.traits, **traits}
    return profile._replace(traits={k: v for k, v in merged.items() if v is not None})
