"""The shopper profile: immutable values, folded from events by `reducer.reduce`.

`Profile` and `Session` are rebuilt on every event, so they are `NamedTuple`s: building one costs
a quarter of an attrs frozen class of the same width (0.4 vs 1.4 us for 19 fields, measured
here), and that is most of `track()`'s budget. The rarely rebuilt parts (cart, purchase history)
are attrs frozen classes. Mappings inside a profile are never mutated: the reducer copies a
mapping before changing it, and empty defaults are read-only, so a profile can be shared freely
between threads and caches.

Affinities are stored in a decay-free form: for each key, ``log2(score) + t / half_life`` as of
the last update at time ``t`` (see `affinity.py`); read the decayed scores with
`Personalizer.affinities()` or `affinity.scores()`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import attrs

from .exposure import Exposure

FUNNEL_STAGES: tuple[str, ...] = (
    "none",
    "home",
    "browse",
    "product",
    "cart",
    "checkout",
    "purchase",
)
"""Funnel stages in order; `Session.deepest_stage` indexes this tuple."""

EMPTY: Mapping[str, Any] = MappingProxyType({})

MAX_AMOUNT = sys.float_info.max
"""Where sums of money saturate: every price is a finite float, but two of 1e308 add up past
the floats, and an infinite total (or `inf - inf`, NaN, after a refund) would break every
segment and every JSON view of the profile."""

MAX_QUANTITY = 2**63 - 1
"""Where sums of quantities saturate: the largest quantity an event may carry, and what the
stores' encoding (msgpack) holds."""


def finite_amount(amount: float) -> float:
    """`amount` as a float, at most `MAX_AMOUNT` (NaN, from sums of saturated amounts such as
    inf - inf, is taken as saturated too)."""
    try:
        value = float(amount)
    except OverflowError:  # an int past the floats
        return MAX_AMOUNT
    return value if value <= MAX_AMOUNT else MAX_AMOUNT


@attrs.frozen(slots=True)
class CartItem:
    product_id: str
    quantity: int = 1
    price: float = 0.0
    name: str | None = None
    category: str | None = None
    brand: str | None = None
    added_at: float | None = None
    """When the line was last added to: a removal from before that (delivered late) leaves it."""


@attrs.frozen(slots=True)
class Cart:
    items: tuple[CartItem, ...] = ()
    currency: str | None = None
    updated_at: float | None = None

    @property
    def value(self) -> float:
        """What the cart is worth, at most `MAX_AMOUNT`."""
        try:
            return finite_amount(math.fsum(item.price * item.quantity for item in self.items))
        except OverflowError:  # fsum's "intermediate overflow": the sum is past the floats
            return MAX_AMOUNT

    @property
    def quantity(self) -> int:
        return min(sum(item.quantity for item in self.items), MAX_QUANTITY)

    def __bool__(self) -> bool:
        return bool(self.items)


@attrs.frozen(slots=True)
class PurchaseHistory:
    count: int = 0
    total: float = attrs.field(default=0.0, converter=finite_amount)
    """Money spent, at most `MAX_AMOUNT` (however it was summed: by the reducer, or a merge)."""
    first_at: float | None = None
    last_at: float | None = None
    categories: tuple[str, ...] = ()
    """Lower-cased categories bought, most recent first, distinct."""
    product_ids: tuple[str, ...] = ()
    """Products bought, most recent first, distinct, bounded."""
    recent_orders: tuple[tuple[str, float], ...] = ()
    """(order id, total) of recent orders, most recent first: a replayed `Order Completed` is
    not counted twice, a refund or cancellation can take its total back, and a merge does not
    count an order that both profiles saw."""

    cancelled: tuple[str, ...] = ()
    """Recently cancelled order ids: a completion delivered late or again stays cancelled."""

    @property
    def order_ids(self) -> tuple[str, ...]:
        return tuple(order_id for order_id, _ in self.recent_orders)

    @property
    def average_order_value(self) -> float:
        return self.total / self.count if self.count else 0.0


class Session(NamedTuple):
    """Browsing signals of the current (or last) session (P2)."""

    started_at: float
    last_at: float
    events: int = 0
    products_viewed: tuple[str, ...] = ()
    """Distinct products viewed this session, in the order first viewed."""
    product_seconds: float = 0.0
    """Time spent on product pages, each dwell capped (see `Settings.product_dwell_cap`)."""
    price_min: float | None = None
    price_max: float | None = None
    deepest_stage: int = 0
    page_type: str | None = None
    """Type of the last page seen: where the shopper dropped off if the session ended here."""
    category_views: Mapping[str, int] = EMPTY

    @property
    def stage(self) -> str:
        return FUNNEL_STAGES[self.deepest_stage]

    @property
    def price_spread(self) -> float:
        """(max - min) / max of the prices of products viewed, 0 with fewer than two prices."""
        if not self.price_max or self.price_min is None:
            return 0.0
        return (self.price_max - self.price_min) / self.price_max

    @property
    def category_focus(self) -> float:
        """Share of product views in the most viewed category (1.0: one category only)."""
        total = sum(self.category_views.values())
        return max(self.category_views.values()) / total if total else 0.0

    @property
    def top_category(self) -> str | None:
        views = self.category_views
        return max(views, key=views.__getitem__) if views else None


class Profile(NamedTuple):
    """Everything known about one shopper (anonymous visitor or identified customer)."""

    visitor_id: str | None = None
    user_id: str | None = None
    aliases: tuple[str, ...] = ()
    """Visitor ids merged into this profile (identify), most recent first."""
    traits: Mapping[str, Any] = EMPTY
    first_seen: float | None = None
    last_seen: float | None = None
    sessions: int = 0
    session: Session | None = None
    recently_viewed: tuple[str, ...] = ()
    category_affinity: Mapping[str, float] = EMPTY
    """Log-form scores: read them with `Personalizer.affinities()` or `affinity.scores()`."""
    brand_affinity: Mapping[str, float] = EMPTY
    orders: PurchaseHistory = PurchaseHistory()
    cart: Cart = Cart()
    counters: Mapping[str, int] = EMPTY
    """Number of events of each name."""
    last_product_view_at: float | None = None
    last_cart_add_at: float | None = None
    message_ids: tuple[str, ...] = ()
    """Recent caller-supplied message ids, to drop replays (generated ids never repeat)."""
    origin: str | None = None
    """A unique id given when the profile was created."""
    merged: tuple[str, ...] = ()
    """`origin` of every profile merged into this one, so merging is idempotent."""
    exposures: Mapping[str, Exposure] = EMPTY
    """Campaign id -> what the shopper saw of it (see `exposure`); frequency caps read it."""
    affinity_half_life: float | None = None
    """The half-life (seconds) the affinity values are in (they are read with it); a config
    with another one converts them when they next change (`affinity.rebased`)."""

    @property
    def key(self) -> str:
        """Storage key: customers by user id, anonymous visitors by visitor id."""
        return profile_key(self.visitor_id, self.user_id)

    @property
    def known(self) -> bool:
        return self.user_id is not None


def profile_key(visitor_id: str | None, user_id: str | None) -> str:
    return f"u:{user_id}" if user_id is not None else f"v:{visitor_id}"
