"""The profile reducer: a pure function of (profile, event, settings) -> profile.

Time is the event's timestamp, never the wall clock, so replays give the same profile. Every
rule is a small function in `_HANDLERS`, keyed by event name; the rules shared by all events
(session, counters, funnel stage, de-duplication) run first, in `reduce`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from . import affinity
from . import events as ev
from .config import Settings
from .events import Event
from .profile import FUNNEL_STAGES, Cart, CartItem, Profile, PurchaseHistory, Session, replace

MAX_COUNTERS = 100
"""Distinct event names counted per profile; names past it are not counted (bounded profile)."""
MAX_MESSAGE_IDS = 20
MAX_SESSION_PRODUCTS = 50

# Affinity weight each event adds to the product's category and brand.
WEIGHT_VIEW = 1.0
WEIGHT_LIST = 0.5
WEIGHT_ADD = 3.0
WEIGHT_ORDER = 5.0

_STAGE = {name: index for index, name in enumerate(FUNNEL_STAGES)}
PAGE_STAGES: Mapping[str, int] = {
    "home": _STAGE["home"],
    "category": _STAGE["browse"],
    "search": _STAGE["browse"],
    "product": _STAGE["product"],
    "cart": _STAGE["cart"],
    "checkout": _STAGE["checkout"],
    "confirmation": _STAGE["purchase"],
}
"""Funnel stage of each known page type; other page types are recorded but reach no stage."""

_EVENT_PAGES: Mapping[str, str] = {
    ev.PRODUCT_VIEWED: "product",
    ev.PRODUCT_LIST_VIEWED: "category",
    ev.PRODUCT_LIST_FILTERED: "category",
    ev.PRODUCTS_SEARCHED: "search",
    ev.CART_VIEWED: "cart",
    ev.CHECKOUT_STARTED: "checkout",
    ev.CHECKOUT_STEP_VIEWED: "checkout",
    ev.CHECKOUT_STEP_COMPLETED: "checkout",
    ev.PAYMENT_INFO_ENTERED: "checkout",
    ev.ORDER_COMPLETED: "confirmation",
}
_EVENT_STAGES: Mapping[str, int] = {ev.PRODUCT_ADDED: _STAGE["cart"]}

_intern = sys.intern
Changes = dict[str, Any]


def reduce(profile: Profile, event: Event, settings: Settings) -> Profile:
    """Fold `event` into `profile`; returns `profile` itself when the event is a replay."""
    if event.caller_message_id:
        if event.message_id in profile.message_ids:
            return profile
        message_ids = (event.message_id, *profile.message_ids[: MAX_MESSAGE_IDS - 1])
    else:
        message_ids = profile.message_ids
    ts = event.timestamp
    name = event.name
    props = event.properties
    counters = profile.counters
    if name in counters or len(counters) < MAX_COUNTERS:
        counters = dict(counters)
        counters[name] = counters.get(name, 0) + 1
    first_seen = profile.first_seen
    last_seen = profile.last_seen
    changes: Changes = {
        "counters": counters,
        "message_ids": message_ids,
        "first_seen": ts if first_seen is None or ts < first_seen else first_seen,
        "last_seen": ts if last_seen is None or ts > last_seen else last_seen,
    }
    session = profile.session
    if session is None or ts - session.last_at > settings.session_timeout:
        session = Session(started_at=ts, last_at=ts)
        changes["sessions"] = profile.sessions + 1
        session_changes: Changes = {"events": 1}
    else:
        session_changes = _continue_session(session, ts, settings)
    page_type = _EVENT_PAGES.get(name)
    if page_type is None and name == ev.PAGE_VIEWED:
        raw = props.get("page_type") or props.get("type")
        page_type = raw.lower()[:40] if isinstance(raw, str) else "other"
    stage = _EVENT_STAGES.get(name, 0)
    if page_type is not None:
        session_changes["page_type"] = page_type
        stage = max(stage, PAGE_STAGES.get(page_type, 0))
    if stage > session.deepest_stage:
        session_changes["deepest_stage"] = stage
    handler = _HANDLERS.get(name)
    if handler is not None:
        handler(changes, session_changes, profile, session, props, ts, settings)
    changes["session"] = replace(session, session_changes)
    return replace(profile, changes)


def _continue_session(session: Session, ts: float, settings: Settings) -> Changes:
    changes: Changes = {"events": session.events + 1}
    dwell = ts - session.last_at
    if dwell > 0:
        changes["last_at"] = ts
        if session.page_type == "product":
            changes["product_seconds"] = session.product_seconds + min(
                dwell, settings.product_dwell_cap_seconds
            )
    return changes


def _product_viewed(
    changes: Changes,
    session_changes: Changes,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    product_id = _product_id(props)
    if product_id is None:
        return
    changes["recently_viewed"] = _push_front(
        profile.recently_viewed, product_id, settings.recently_viewed_limit
    )
    changes["last_product_view_at"] = ts
    session_changes["products_viewed"] = _push_front(
        session.products_viewed, product_id, MAX_SESSION_PRODUCTS
    )
    price = props.get("price")
    if price is not None:
        price_min, price_max = session.price_min, session.price_max
        if price_min is None or price < price_min:
            session_changes["price_min"] = price
        if price_max is None or price > price_max:
            session_changes["price_max"] = price
    category = _key(props.get("category"))
    if category is not None:
        category_views = dict(session.category_views)
        category_views[category] = category_views.get(category, 0) + 1
        session_changes["category_views"] = category_views
    _add_affinity(changes, profile, category, _key(props.get("brand")), WEIGHT_VIEW, ts, settings)


def _product_list_viewed(
    changes: Changes,
    session_changes: Changes,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    _add_affinity(changes, profile, _key(props.get("category")), None, WEIGHT_LIST, ts, settings)


def _product_added(
    changes: Changes,
    session_changes: Changes,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    product_id = _product_id(props)
    if product_id is None:
        return
    quantity = props.get("quantity") or 1
    items = list(profile.cart.items)
    for index, item in enumerate(items):
        if item.product_id == product_id:
            price = props.get("price")
            items[index] = attrs.evolve(
                item,
                quantity=item.quantity + quantity,
                price=item.price if price is None else float(price),
            )
            break
    else:
        items.append(_cart_item(props, product_id, quantity))
        del items[: -settings.cart_limit]
    changes["cart"] = Cart(tuple(items), _currency(props, profile.cart), ts)
    changes["last_cart_add_at"] = ts
    _add_affinity(
        changes,
        profile,
        _key(props.get("category")),
        _key(props.get("brand")),
        WEIGHT_ADD,
        ts,
        settings,
    )


def _product_removed(
    changes: Changes,
    session_changes: Changes,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    product_id = _product_id(props)
    if product_id is None:
        return
    removed = props.get("quantity")
    items = []
    for item in profile.cart.items:
        if item.product_id == product_id:
            left = 0 if removed is None else item.quantity - removed
            if left > 0:
                items.append(attrs.evolve(item, quantity=left))
        else:
            items.append(item)
    changes["cart"] = Cart(tuple(items), profile.cart.currency if items else None, ts)


def _cart_snapshot(
    changes: Changes,
    session_changes: Changes,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    """`Cart Viewed` and `Checkout Started` carry the whole cart: it replaces what we had."""
    products = props.get("products")
    if not isinstance(products, (list, tuple)):
        return
    items = []
    for product in products[: settings.cart_limit]:
        product_id = _product_id(product)
        if product_id is not None:
            items.append(_cart_item(product, product_id, product.get("quantity") or 1))
    if tuple(items) != profile.cart.items:
        changes["cart"] = Cart(tuple(items), _currency(props, profile.cart) if items else None, ts)


def _order_completed(
    changes: Changes,
    session_changes: Changes,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    orders = profile.orders
    order_id = props.get("order_id")
    order_id = None if order_id is None else str(order_id)
    if order_id is not None and order_id in orders.order_ids:
        return  # the same order reported twice
    products = props.get("products")
    if not isinstance(products, (list, tuple)) or not products:
        products = [attrs.asdict(item) for item in profile.cart.items]
    total = props.get("total")
    if total is None:
        total = props.get("revenue")
    if total is None:
        total = sum((p.get("price") or 0) * (p.get("quantity") or 1) for p in products)
    categories, product_ids = orders.categories, orders.product_ids
    limit = settings.order_history_limit
    for product in products:
        category = _key(product.get("category"))
        if category is not None:
            categories = _push_front(categories, category, limit)
        product_id = _product_id(product)
        if product_id is not None:
            product_ids = _push_front(product_ids, product_id, limit)
        _add_affinity(
            changes, profile, category, _key(product.get("brand")), WEIGHT_ORDER, ts, settings
        )
    changes["orders"] = PurchaseHistory(
        count=orders.count + 1,
        total=orders.total + total,
        first_at=ts if orders.first_at is None else min(orders.first_at, ts),
        last_at=ts if orders.last_at is None else max(orders.last_at, ts),
        categories=categories,
        product_ids=product_ids,
        order_ids=orders.order_ids
        if order_id is None
        else (order_id, *orders.order_ids[: limit - 1]),
    )
    changes["cart"] = Cart(updated_at=ts)


Handler = Callable[[Changes, Changes, Profile, Session, Mapping[str, Any], float, Settings], None]
_HANDLERS: Mapping[str, Handler] = {
    ev.PRODUCT_VIEWED: _product_viewed,
    ev.PRODUCT_LIST_VIEWED: _product_list_viewed,
    ev.PRODUCT_LIST_FILTERED: _product_list_viewed,
    ev.PRODUCT_ADDED: _product_added,
    ev.WISHLIST_PRODUCT_ADDED_TO_CART: _product_added,
    ev.PRODUCT_REMOVED: _product_removed,
    ev.CART_VIEWED: _cart_snapshot,
    ev.CHECKOUT_STARTED: _cart_snapshot,
    ev.ORDER_COMPLETED: _order_completed,
}


def _add_affinity(
    changes: Changes,
    profile: Profile,
    category: str | None,
    brand: str | None,
    weight: float,
    ts: float,
    settings: Settings,
) -> None:
    half_life = settings.half_life
    if category is not None:
        scores = changes.get("category_affinity")
        if scores is None:
            scores = changes["category_affinity"] = dict(profile.category_affinity)
        scores[category] = affinity.add(scores.get(category), weight, ts, half_life)
    if brand is not None:
        scores = changes.get("brand_affinity")
        if scores is None:
            scores = changes["brand_affinity"] = dict(profile.brand_affinity)
        scores[brand] = affinity.add(scores.get(brand), weight, ts, half_life)


def _product_id(props: Mapping[str, Any]) -> str | None:
    product_id = props.get("product_id")
    if product_id is None:
        product_id = props.get("sku")
    if product_id is None or product_id == "":
        return None
    # Product ids come from a bounded catalog: interning shares one copy across all profiles.
    return _intern(product_id if type(product_id) is str else str(product_id))


_KEYS: dict[object, str | None] = {}
_MAX_KEYS = 50_000


def _key(value: object) -> str | None:
    """Affinity key: stripped, lower-cased and interned; None for missing or non-text values.

    Categories and brands repeat endlessly, so normalised keys are memoised (bounded).
    """
    try:
        return _KEYS[value]
    except (KeyError, TypeError):
        pass
    if type(value) is not str:
        return None
    key = _intern(value.strip().lower()) if value.strip() else None
    if len(_KEYS) >= _MAX_KEYS:
        _KEYS.clear()
    _KEYS[value] = key
    return key


def _push_front(items: tuple[str, ...], item: str, limit: int) -> tuple[str, ...]:
    if items and items[0] == item:
        return items
    if item in items:
        return (item, *(other for other in items if other != item))[:limit]
    return (item, *items[: limit - 1])


def _cart_item(props: Mapping[str, Any], product_id: str, quantity: int) -> CartItem:
    name = props.get("name")
    return CartItem(
        product_id=product_id,
        quantity=quantity,
        price=float(props.get("price") or 0.0),
        name=name if isinstance(name, str) else None,
        category=_key(props.get("category")),
        brand=_key(props.get("brand")),
    )


def _currency(props: Mapping[str, Any], cart: Cart) -> str | None:
    currency = props.get("currency")
    return currency.upper() if isinstance(currency, str) else cart.currency
