"""Merging an anonymous visitor's profile into a customer's (E2): pure and idempotent.

`merge(customer, visitor)` folds the visitor's history into the customer profile, records the
visitor id in `aliases` and the visitor profile's `origin` in `merged`; merging the same visitor
profile again returns the customer unchanged, so a repeated `identify()` never double counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import affinity
from .config import Settings
from .exposure import merge_exposures
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
    orders = _merge_orders(customer.orders, visitor.orders, settings.order_history_limit)
    aliases = customer.aliases
    if visitor_id is not None:
        aliases = _union((visitor_id,), visitor.aliases, aliases)[:MAX_ALIASES]
    return customer._replace(
        visitor_id=visitor_id or customer.visitor_id,
        aliases=aliases,
        merged=_union((mark,), visitor.merged, customer.merged)[:MAX_ALIASES],
        traits=_capped(
            dict(customer.traits),
            {k: v for k, v in visitor.traits.items() if k not in customer.traits},
        ),
        first_seen=_min(customer.first_seen, visitor.first_seen),
        last_seen=_max(customer.last_seen, visitor.last_seen),
        sessions=customer.sessions + visitor.sessions - _overlap(customer, visitor, settings),
        session=recent.session or older.session,
        recently_viewed=_union(recent.recently_viewed, older.recently_viewed)[
            : settings.recently_viewed_limit
        ],
        **_merged_affinities(customer, visitor),
        orders=orders,
        cart=_merge_carts(customer.cart, visitor.cart, orders.last_at, settings.cart_limit),
        counters=_add_counts(customer.counters, visitor.counters),
        last_product_view_at=_max(customer.last_product_view_at, visitor.last_product_view_at),
        last_cart_add_at=_max(customer.last_cart_add_at, visitor.last_cart_add_at),
        message_ids=_union(customer.message_ids, visitor.message_ids)[:MAX_MESSAGE_IDS],
        exposures=merge_exposures(customer.exposures, visitor.exposures),
    )


def _merge_orders(a: PurchaseHistory, b: PurchaseHistory, limit: int) -> PurchaseHistory:
    if not b.count and not b.cancelled:
        return a
    if not a.count and not a.cancelled:
        return b
    # An order both profiles saw (tracked in the browser and by a server-side webhook) counts
    # once, with what remains of it after the refunds either side saw (both totals hold it:
    # the larger share comes off); an order one side saw cancelled does not count at all.
    known = dict(a.recent_orders)
    twice = [
        (order_id, max(total, known[order_id]))
        for order_id, total in b.recent_orders
        if order_id in known
    ]
    cancelled = _union(a.cancelled, b.cancelled)[:limit]
    gone = [o for o in a.recent_orders if o[0] in b.cancelled] + [
        o for o in b.recent_orders if o[0] in a.cancelled
    ]
    newer, older = (b, a) if (b.last_at or 0) >= (a.last_at or 0) else (a, b)
    recent = _union_orders(newer.recent_orders, older.recent_orders)
    return PurchaseHistory(
        count=max(a.count + b.count - len(twice) - len(gone), 0),
        total=max(a.total + b.total - sum(t for _, t in twice) - sum(t for _, t in gone), 0.0),
        first_at=_min(a.first_at, b.first_at),
        last_at=_max(a.last_at, b.last_at),
        categories=_union(newer.categories, older.categories)[:limit],
        product_ids=_union(newer.product_ids, older.product_ids)[:limit],
        recent_orders=tuple(o for o in recent if o[0] not in cancelled)[:limit],
        cancelled=cancelled,
    )


def _union_orders(*parts: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
    """Orders of all parts, in order, each order id once (where it first comes), with the
    least that remains of it in any part (a part may have seen a refund the others did not)."""
    seen: dict[str, float] = {}
    for part in parts:
        for order_id, total in part:
            seen[order_id] = min(total, seen.get(order_id, total))
    return tuple(seen.items())


def _merge_carts(a: Cart, b: Cart, last_order: float | None, limit: int) -> Cart:
    """The more recently changed cart, with the other's lines that no order bought since.

    A cart emptied by an order stays empty: the lines the other profile held before that order
    were bought (or given up) by then.
    """
    newer, older = (b, a) if (b.updated_at or 0) >= (a.updated_at or 0) else (a, b)
    if not older.items or (last_order is not None and last_order >= (older.updated_at or 0)):
        return newer
    if not newer.items and newer.updated_at is not None:
        return newer  # emptied after the other cart's last change
    in_newer = {item.product_id for item in newer.items}
    items = newer.items + tuple(i for i in older.items if i.product_id not in in_newer)
    return Cart(
        items[:limit], newer.currency or older.currency, _max(newer.updated_at, older.updated_at)
    )


def _overlap(a: Profile, b: Profile, settings: Settings) -> int:
    """1 when the two profiles' latest sessions are one browsing session seen twice, else 0."""
    x, y = a.session, b.session
    if x is None or y is None:
        return 0
    gap = settings.session_timeout
    return int(x.started_at <= y.last_at + gap and y.started_at <= x.last_at + gap)


def _merged_affinities(customer: Profile, visitor: Profile) -> dict[str, Any]:
    """Both profiles' affinities summed, in the customer's half-life (the visitor's rebased to
    it, as of the later of their last events, when a config changed it in between)."""
    ours, theirs = customer.affinity_half_life, visitor.affinity_half_life
    categories, brands = visitor.category_affinity, visitor.brand_affinity
    if ours is not None and theirs is not None and ours != theirs:
        at = _max(customer.last_seen, visitor.last_seen) or 0.0
        categories = affinity.rebased(categories, at, theirs, ours)
        brands = affinity.rebased(brands, at, theirs, ours)
    return {
        "category_affinity": _combine(customer.category_affinity, categories),
        "brand_affinity": _combine(customer.brand_affinity, brands),
        "affinity_half_life": ours if ours is not None else theirs,
    }


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
    """Traits merged over the existing ones; a trait set to None is removed. New traits past
    `MAX_TRAITS` are not kept: a login must never fail because of a trait."""
    if not traits:
        return profile
    kept = {
        key: value for key, value in profile.traits.items() if traits.get(key, value) is not None
    }
    return profile._replace(traits=_capped(kept, traits))


def _capped(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`base` updated by `extra` (None values skipped), adding new keys only up to MAX_TRAITS."""
    for key, value in extra.items():
        if value is not None and (key in base or len(base) < MAX_TRAITS):
            base[key] = value
    return base
