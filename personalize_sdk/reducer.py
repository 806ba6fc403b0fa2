"""The profile reducer: a pure function of (profile, event, settings) -> profile.

Time is the event's timestamp, never the wall clock, so replays give the same profile. Every
rule is a small function in `_HANDLERS`, keyed by event name; the rules shared by all events
(session, counters, funnel stage, de-duplication) run first, in `reduce`.

This runs on every `track()`, so the new profile is built the cheap way: `reduce` copies the
old profile's and session's fields into two lists (`p` and `s`), the rules overwrite the
entries they change (indexed by the `_P_*` / `_S_*` constants), and each list becomes the new
immutable value once. The input profile is never modified.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import attrs

from . import affinity
from . import events as ev
from . import exposure as exp
from .config import Settings
from .events import Event
from .profile import (
    FUNNEL_STAGES,
    MAX_QUANTITY,
    Cart,
    CartItem,
    Profile,
    PurchaseHistory,
    Session,
    finite_amount,
)
from .segments import AFFINE_KEY_LENGTH

MAX_COUNTERS = 100
"""Distinct event names counted per profile; names past it are not counted (bounded profile)."""
MAX_MESSAGE_IDS = 20
MAX_SESSION_PRODUCTS = 50
MAX_CATEGORY_VIEWS = 50
"""Distinct categories counted per session."""
MAX_AFFINITY_KEYS = 50
"""Categories (and, apart, brands) with an affinity per profile; the weakest goes first."""
MAX_KEY_LENGTH = AFFINE_KEY_LENGTH
"""Categories and brands are cut to this many characters (they become segment names)."""

# Affinity weight each event adds to the product's category and brand.
WEIGHT_VIEW = 1.0
WEIGHT_LIST = 0.5
WEIGHT_ADD = 3.0
WEIGHT_ORDER = 5.0
_LOG_VIEW, _LOG_LIST, _LOG_ADD, _LOG_ORDER = (
    math.log2(weight) for weight in (WEIGHT_VIEW, WEIGHT_LIST, WEIGHT_ADD, WEIGHT_ORDER)
)
"""The weights as the affinity sums take them (log2), worked out once."""

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


def _page_and_stage(name: str) -> tuple[str | None, int]:
    page = _EVENT_PAGES.get(name)
    return page, max(_EVENT_STAGES.get(name, 0), PAGE_STAGES.get(page, 0) if page else 0)


_PAGE_AND_STAGE = {name: _page_and_stage(name) for name in (*_EVENT_PAGES, *_EVENT_STAGES)}
"""The page type and funnel stage of each event name that has either, worked out once."""

_SHARED: dict[str, str] = {}
_MAX_SHARED = 100_000


def _shared(text: str) -> str:
    """One copy of each product id and key for all profiles: they come from a bounded catalog.

    Not `sys.intern`, which keeps strings forever on newer Pythons: ids sent by bots are
    unbounded, and this table is cleared when full instead.
    """
    found = _SHARED.get(text)
    if found is not None:
        return found
    if len(_SHARED) >= _MAX_SHARED:
        _SHARED.clear()
    _SHARED[text] = text
    return text


_log2 = math.log2
_new_tuple = tuple.__new__

_p = Profile._fields.index
_P_SESSIONS, _P_SESSION, _P_RECENTLY_VIEWED = _p("sessions"), _p("session"), _p("recently_viewed")
_P_FIRST_SEEN, _P_LAST_SEEN, _P_COUNTERS = _p("first_seen"), _p("last_seen"), _p("counters")
_P_CATEGORY_AFFINITY, _P_BRAND_AFFINITY = _p("category_affinity"), _p("brand_affinity")
_P_ORDERS, _P_CART, _P_MESSAGE_IDS = _p("orders"), _p("cart"), _p("message_ids")
_P_LAST_PRODUCT_VIEW_AT, _P_LAST_CART_ADD_AT = _p("last_product_view_at"), _p("last_cart_add_at")
_P_EXPOSURES, _P_AFFINITY_HALF_LIFE = _p("exposures"), _p("affinity_half_life")
_s = Session._fields.index
_S_STARTED_AT, _S_LAST_AT = _s("started_at"), _s("last_at")
_S_EVENTS, _S_PRODUCTS_VIEWED = _s("events"), _s("products_viewed")
_S_PRODUCT_SECONDS, _S_PRICE_MIN, _S_PRICE_MAX = (
    _s("product_seconds"),
    _s("price_min"),
    _s("price_max"),
)
_S_DEEPEST_STAGE, _S_PAGE_TYPE, _S_CATEGORY_VIEWS = (
    _s("deepest_stage"),
    _s("page_type"),
    _s("category_views"),
)
del _p, _s

Draft = list[Any]
"""A profile or session being built: its fields in order, overwritten by the rules."""


def reduce(profile: Profile, event: Event, settings: Settings) -> Profile:
    """Fold `event` into `profile`; returns `profile` itself when the event is a replay."""
    p: Draft = list(profile)
    _, name, props, ts, message_id, _, caller_message_id, _ = event  # one unpacking, no lookups
    if caller_message_id:
        if message_id in profile.message_ids:
            return profile
        p[_P_MESSAGE_IDS] = (message_id, *profile.message_ids[: MAX_MESSAGE_IDS - 1])
    # Fields are read from the drafts: a list index costs a third of a NamedTuple attribute
    # (which CPython does not specialise), and the drafts hold the old values until a rule
    # overwrites them.
    counters = p[_P_COUNTERS]
    if name in counters or len(counters) < MAX_COUNTERS:
        try:  # `copy()`: dict's and MappingProxyType's, twice as fast as dict()
            counters = counters.copy()  # type: ignore[attr-defined]
        except AttributeError:  # another kind of Mapping, in a profile made outside the SDK
            counters = dict(counters)
        counters[name] = counters.get(name, 0) + 1
        p[_P_COUNTERS] = counters
    first_seen = p[_P_FIRST_SEEN]
    if first_seen is None or ts < first_seen:
        p[_P_FIRST_SEEN] = ts
    last_seen = p[_P_LAST_SEEN]
    if last_seen is None or ts > last_seen:
        p[_P_LAST_SEEN] = ts

    session = p[_P_SESSION]
    # An event from before the current session (delivered late) is history: it changes
    # counters, affinities, cart and orders, but not the session's signals.
    timeout = settings.session_timeout
    if session is not None:
        s: Draft = list(session)
        last_at = s[_S_LAST_AT]
        late = ts < s[_S_STARTED_AT] - timeout
    if session is None or (not late and ts - last_at > timeout):
        session = Session(ts, ts)
        s = list(session)
        p[_P_SESSIONS] += 1
        late, last_at = False, ts
    s[_S_EVENTS] += 1
    dwell = ts - last_at
    if dwell > 0:
        s[_S_LAST_AT] = ts
        if s[_S_PAGE_TYPE] == "product":
            s[_S_PRODUCT_SECONDS] += min(dwell, settings.product_dwell_cap_seconds)
    known = _PAGE_AND_STAGE.get(name)
    if known is not None:
        page_type, stage = known
    elif name == ev.PAGE_VIEWED:
        raw = props.get("page_type") or props.get("type")
        page_type = raw.lower()[:40] if isinstance(raw, str) else "other"
        stage = PAGE_STAGES.get(page_type, 0)
    else:
        page_type, stage = None, 0
    if page_type is not None and dwell >= 0:  # a late event is not where the shopper is now
        s[_S_PAGE_TYPE] = page_type
    deepest = s[_S_DEEPEST_STAGE]
    if stage > deepest:  # not max(): most events go no deeper, and leave the draft as it is
        s[_S_DEEPEST_STAGE] = stage

    handler = _HANDLERS.get(name)
    if handler is not None:
        handler(p, s, profile, session, props, ts, settings)
    if not late:
        p[_P_SESSION] = _new_tuple(Session, s)
    return _new_tuple(Profile, p)


def _product_viewed(
    p: Draft,
    s: Draft,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    product_id = _product_id(props)
    if product_id is None:
        return
    recently_viewed = p[_P_RECENTLY_VIEWED]
    last_view = p[_P_LAST_PRODUCT_VIEW_AT]
    if last_view is None or ts >= last_view:
        p[_P_RECENTLY_VIEWED] = _push_front(
            recently_viewed, product_id, settings.recently_viewed_limit
        )
        p[_P_LAST_PRODUCT_VIEW_AT] = ts
    elif (
        product_id not in recently_viewed and len(recently_viewed) < settings.recently_viewed_limit
    ):
        p[_P_RECENTLY_VIEWED] = (*recently_viewed, product_id)  # older than all we know
    viewed = s[_S_PRODUCTS_VIEWED]
    if product_id not in viewed and len(viewed) < MAX_SESSION_PRODUCTS:
        s[_S_PRODUCTS_VIEWED] = viewed + (product_id,)  # noqa: RUF005 - faster than unpacking
    price = props.get("price")
    if price is not None:
        low, high = s[_S_PRICE_MIN], s[_S_PRICE_MAX]
        if low is None or price < low:
            s[_S_PRICE_MIN] = price
        if high is None or price > high:
            s[_S_PRICE_MAX] = price
    category = _key(props.get("category"))
    views = s[_S_CATEGORY_VIEWS]
    if category is not None and (category in views or len(views) < MAX_CATEGORY_VIEWS):
        try:  # as the counters above
            category_views = views.copy()  # type: ignore[attr-defined]
        except AttributeError:
            category_views = dict(views)
        category_views[category] = category_views.get(category, 0) + 1
        s[_S_CATEGORY_VIEWS] = category_views
    _add_affinity(p, profile, category, _key(props.get("brand")), _LOG_VIEW, ts, settings)


def _product_list_viewed(
    p: Draft,
    s: Draft,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    _add_affinity(p, profile, _key(props.get("category")), None, _LOG_LIST, ts, settings)


def _product_added(
    p: Draft,
    s: Draft,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    product_id = _product_id(props)
    quantity = props.get("quantity")
    if quantity is None:
        quantity = 1
    if product_id is None or quantity == 0 or _before_last_order(profile, ts):
        _add_affinity(
            p,
            profile,
            _key(props.get("category")),
            _key(props.get("brand")),
            _LOG_ADD,
            ts,
            settings,
        )
        return
    cart = profile.cart
    currency = _currency(props, cart)
    # A cart is in one currency: a line in another (the shopper switched market) starts it
    # afresh, rather than adding yen to dollars in the cart's value.
    items = list(cart.items) if currency == cart.currency or cart.currency is None else []
    for index, item in enumerate(items):
        if item.product_id == product_id:
            price = props.get("price")
            items[index] = attrs.evolve(
                item,
                quantity=min(item.quantity + quantity, MAX_QUANTITY),
                price=item.price if price is None else float(price),
                added_at=ts if item.added_at is None else max(item.added_at, ts),
            )
            break
    else:
        items.append(_cart_item(props, product_id, quantity, ts))
        del items[: -settings.cart_limit]
    p[_P_CART] = Cart(tuple(items), currency, _latest(cart, ts))
    p[_P_LAST_CART_ADD_AT] = max(ts, profile.last_cart_add_at or ts)
    _add_affinity(
        p, profile, _key(props.get("category")), _key(props.get("brand")), _LOG_ADD, ts, settings
    )


def _product_removed(
    p: Draft,
    s: Draft,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    product_id = _product_id(props)
    if product_id is None or _before_last_order(profile, ts):
        return
    removed = props.get("quantity")
    items = []
    found = False
    for item in profile.cart.items:
        # A removal from before the line's last add was delivered late: the add stands.
        if item.product_id == product_id and (item.added_at is None or ts >= item.added_at):
            found = True
            left = 0 if removed is None else item.quantity - removed
            if left > 0:
                items.append(attrs.evolve(item, quantity=left))
        else:
            items.append(item)
    if not found:
        return  # nothing in the cart changed (a product not in it)
    p[_P_CART] = Cart(
        tuple(items), profile.cart.currency if items else None, _latest(profile.cart, ts)
    )


def _cart_snapshot(
    p: Draft,
    s: Draft,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    """`Cart Viewed` and `Checkout Started` carry the whole cart: it replaces what we had."""
    products = props.get("products")
    updated_at = profile.cart.updated_at
    if not isinstance(products, (list, tuple)) or (updated_at is not None and ts < updated_at):
        return  # no snapshot, or an older one than what we know
    items = []
    for product in products[: settings.cart_limit]:
        product_id = _product_id(product)
        quantity = product.get("quantity")
        if quantity is None:
            quantity = 1
        if product_id is not None and quantity > 0:
            items.append(_cart_item(product, product_id, quantity, ts))
    if tuple(items) != profile.cart.items:
        p[_P_CART] = Cart(
            tuple(items),
            _currency(props, profile.cart) if items else None,
            _latest(profile.cart, ts),
        )


def _order_completed(
    p: Draft,
    s: Draft,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
) -> None:
    orders = profile.orders
    order_id = props.get("order_id")
    order_id = None if order_id is None else str(order_id)
    if order_id is not None and (order_id in orders.order_ids or order_id in orders.cancelled):
        return  # the same order reported twice, or one cancelled already
    products = props.get("products")
    if not isinstance(products, (list, tuple)) or not products:
        products = [attrs.asdict(item) for item in profile.cart.items]
    total = props.get("total")
    if total is None:
        total = props.get("revenue")
    if total is None:
        total = sum(
            (p.get("price") or 0) * (1 if p.get("quantity") is None else p["quantity"])
            for p in products
        )
    categories, product_ids = orders.categories, orders.product_ids
    limit = settings.order_history_limit
    for product in products:
        category = _key(product.get("category"))
        if category is not None:
            categories = _push_front(categories, category, limit)
        product_id = _product_id(product)
        if product_id is not None:
            product_ids = _push_front(product_ids, product_id, limit)
        _add_affinity(p, profile, category, _key(product.get("brand")), _LOG_ORDER, ts, settings)
    p[_P_ORDERS] = PurchaseHistory(
        count=orders.count + 1,
        total=orders.total + total,
        first_at=ts if orders.first_at is None else min(orders.first_at, ts),
        last_at=ts if orders.last_at is None else max(orders.last_at, ts),
        categories=categories,
        product_ids=product_ids,
        recent_orders=orders.recent_orders
        if order_id is None
        else ((order_id, finite_amount(total)), *orders.recent_orders[: limit - 1]),
        cancelled=orders.cancelled,
    )
    cart_changed = profile.cart.updated_at
    if cart_changed is None or ts >= cart_changed:  # a late order leaves a newer cart alone
        p[_P_CART] = Cart(updated_at=ts)
    if profile.exposures:
        p[_P_EXPOSURES] = exp.converted(profile.exposures, ts, settings.attribution_days * 86_400.0)


def _take_back(
    p: Draft,
    s: Draft,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
    *,
    cancelled: bool,
) -> None:
    """Refunds and cancellations take money back from the purchase history.

    A refund takes back the amount given (`total`, else `revenue`, else `value`) or, when none
    is, what remains of the order; never more than remains of a known order. A cancellation
    takes back what remains of the order and its count, and remembers the order id, so a
    completion delivered late or again does not bring it back. An order cancelled already
    gives nothing more back (a webhook retried, a refund after the cancellation). For an order
    we have no record of, the amount given is taken from the total only when it may be one
    counted earlier whose record made room for newer ones; else it is one whose completion
    has not arrived yet (and, cancelled, never will count).
    """
    orders = profile.orders
    order_id = props.get("order_id")
    order_id = None if order_id is None else str(order_id)
    if order_id is not None and order_id in orders.cancelled:
        return
    recent = dict(orders.recent_orders)
    remaining = recent.get(order_id) if order_id is not None else None
    given = next(
        (props[key] for key in ("total", "revenue", "value") if props.get(key) is not None), None
    )
    count = orders.count
    cancelled_ids = orders.cancelled
    if remaining is None and order_id is not None and count <= len(recent):
        given = None  # every order counted has its record here: this one was not counted
    if cancelled:
        amount = remaining if remaining is not None else given
        if order_id is not None and remaining is not None:
            del recent[order_id]
            count = max(count - 1, 0)
        if order_id is not None and order_id not in cancelled_ids:
            cancelled_ids = (order_id, *cancelled_ids[: settings.order_history_limit - 1])
    else:
        amount = given if given is not None else remaining
        if amount is not None and order_id is not None and remaining is not None:
            amount = min(amount, remaining)
            recent[order_id] = remaining - amount
    if amount is None and cancelled_ids is orders.cancelled:
        return
    p[_P_ORDERS] = attrs.evolve(
        orders,
        count=count,
        total=max(orders.total - (amount or 0.0), 0.0),
        recent_orders=tuple(recent.items()),
        cancelled=cancelled_ids,
    )


def _widget_event(
    p: Draft,
    s: Draft,
    profile: Profile,
    session: Session,
    props: Mapping[str, Any],
    ts: float,
    settings: Settings,
    *,
    record: Callable[[exp.Exposure | None, str, float], exp.Exposure],
) -> None:
    """A widget shown, clicked or dismissed (reported by the browser) updates its campaign's
    exposure record, which frequency caps read."""
    named = exp.campaign_of(props)
    if named is None:
        return
    campaign, variant = named
    exposures = profile.exposures
    exposure = record(exposures.get(campaign), variant, ts)
    if exposure.issued_to is None and exposure.first_shown is not None:
        exposure = exposure._replace(issued_to=profile.key)
    p[_P_EXPOSURES] = exp.with_exposure(exposures, campaign, exposure)


Handler = Callable[[Draft, Draft, Profile, Session, Mapping[str, Any], float, Settings], None]
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
    ev.ORDER_REFUNDED: partial(_take_back, cancelled=False),
    ev.ORDER_CANCELLED: partial(_take_back, cancelled=True),
    ev.WIDGET_SHOWN: partial(_widget_event, record=exp.shown),
    ev.WIDGET_CLICKED: partial(_widget_event, record=exp.clicked),
    ev.COUPON_COPIED: partial(_widget_event, record=exp.clicked),
    ev.WIDGET_DISMISSED: partial(_widget_event, record=exp.dismissed),
}


def _add_affinity(
    p: Draft,
    profile: Profile,
    category: str | None,
    brand: str | None,
    log_weight: float,
    ts: float,
    settings: Settings,
) -> None:
    """Add the weight (given as its log2), at time `ts`, to the category's and the brand's
    affinity (see `affinity`)."""
    half_life = settings.half_life
    kept = p[_P_AFFINITY_HALF_LIFE]
    if kept is not half_life and kept != half_life:  # the same float object, mostly
        if kept is not None:  # a config changed the half-life: the scores as of now, rebased
            at = p[_P_LAST_SEEN]
            for index in (_P_CATEGORY_AFFINITY, _P_BRAND_AFFINITY):
                p[index] = affinity.rebased(p[index], at, kept, half_life)
        p[_P_AFFINITY_HALF_LIFE] = half_life
    added = log_weight + ts / half_life
    if category is not None:
        p[_P_CATEGORY_AFFINITY] = _bump(
            p[_P_CATEGORY_AFFINITY], profile.category_affinity, category, added
        )
    if brand is not None:
        p[_P_BRAND_AFFINITY] = _bump(p[_P_BRAND_AFFINITY], profile.brand_affinity, brand, added)


def _bump(
    scores: Mapping[str, float], original: Mapping[str, float], key: str, added: float
) -> dict[str, float]:
    """`scores` (copied once per event) with `added` summed into `key`, bounded in size.

    The sum is `affinity.combine`, inlined: it stays exact however old either side is.
    """
    if scores is original:
        try:  # as the counters in `reduce`
            scores = scores.copy()  # type: ignore[attr-defined]
        except AttributeError:
            scores = dict(scores)
    old = scores.get(key)
    if old is None:
        scores[key] = added  # type: ignore[index]
        if len(scores) > MAX_AFFINITY_KEYS:
            del scores[min(scores, key=scores.__getitem__)]  # type: ignore[attr-defined]
    else:
        high, low = (old, added) if old >= added else (added, old)
        scores[key] = high + _log2(1.0 + 2.0 ** (low - high))  # type: ignore[index]
    return scores  # type: ignore[return-value]


def _product_id(props: Mapping[str, Any]) -> str | None:
    product_id = props.get("product_id")
    if type(product_id) is str:  # the common case: an id seen before, shared already
        found = _SHARED.get(product_id)
        if found is not None:
            return found
    elif product_id is None:
        product_id = props.get("sku")
    if product_id is None or product_id == "":
        return None
    return _shared(product_id if type(product_id) is str else str(product_id))


_KEYS: dict[object, str | None] = {}
_MAX_MEMO = 10_000


def _key(value: object) -> str | None:
    """Category or brand key: stripped, lower-cased, cut to `MAX_KEY_LENGTH`, shared; None
    for missing or non-text values. They repeat endlessly, so short ones are memoised."""
    try:
        return _KEYS[value]
    except (KeyError, TypeError):
        pass
    if type(value) is not str:
        return None
    key = _shared(value.strip().lower()[:MAX_KEY_LENGTH].strip()) or None
    if len(value) <= MAX_KEY_LENGTH:
        if len(_KEYS) >= _MAX_MEMO:
            _KEYS.clear()
        _KEYS[value] = key
    return key


def _before_last_order(profile: Profile, ts: float) -> bool:
    """A cart change from before the last order belongs to the cart that order bought."""
    last_order = profile.orders.last_at
    return last_order is not None and ts < last_order


def _latest(cart: Cart, ts: float) -> float:
    """A cart's change time never goes back (an event may arrive late)."""
    return ts if cart.updated_at is None or ts > cart.updated_at else cart.updated_at


def _push_front(items: tuple[str, ...], item: str, limit: int) -> tuple[str, ...]:
    """`item` first, then `items` without it, at most `limit` long (C-level slices only)."""
    if not items:
        return (item,)
    if items[0] == item:
        return items
    if item in items:
        at = items.index(item)
        return (item,) + items[:at] + items[at + 1 : limit]  # noqa: RUF005 - faster than unpacking
    return (item,) + items[: limit - 1]  # noqa: RUF005


def _cart_item(props: Mapping[str, Any], product_id: str, quantity: int, ts: float) -> CartItem:
    name = props.get("name")
    return CartItem(
        product_id=product_id,
        quantity=quantity,
        price=float(props.get("price") or 0.0),
        name=name if isinstance(name, str) else None,
        category=_key(props.get("category")),
        brand=_key(props.get("brand")),
        added_at=ts,
    )


def _currency(props: Mapping[str, Any], cart: Cart) -> str | None:
    currency = props.get("currency")
    return currency.upper() if isinstance(currency, str) else cart.currency
