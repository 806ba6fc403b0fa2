"""`PopularityFeed`: the shop-wide popularity counters, fed by tracked events and read by the
recommendation widgets, safe to share between threads (an edge around the pure
`PopularityCounters`, which are not thread-safe: queries roll days over and memoise).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from cachetools import TTLCache

from . import events as ev
from .events import Event
from .popularity import CountedOrder, PopularityCounters, Ranked

COUNTED_EVENTS = frozenset({ev.PRODUCT_VIEWED, ev.PRODUCT_ADDED, ev.ORDER_COMPLETED})

Counted = CountedOrder | tuple[str, str, str | None, str | None, int] | None
"""What one event counted: an order's lines and pairs, or (metric, product id, category,
brand, amount) for a view or an add, or None for nothing."""

REMEMBERED = 100_000
"""Caller message ids and order ids remembered (for a day) so a retry is not counted again."""


class PopularityFeed:
    def __init__(self, counters: PopularityCounters | None = None) -> None:
        self.counters = counters if counters is not None else PopularityCounters()
        self._lock = threading.Lock()
        self._counted: TTLCache[tuple[str, str], bool] = TTLCache(REMEMBERED, 86_400.0)
        """What was counted and may come again: a retried event (the caller's message id),
        an order reported twice (its order id). In this process: one another process counted
        may be counted here too."""

    def record(self, event: Event) -> None:
        """Count a view, an add to cart or an order, at the event's time (validation has
        already taken a time in the future as now). Raises `InvalidEvent` for an event the
        counters cannot take; the caller decides what that costs."""
        if event.name not in COUNTED_EVENTS:
            return
        with self._lock:
            self._record(event)

    def _again(self, key: tuple[str, str]) -> bool:
        """Was this counted already? (Remembered from now on, if not.)"""
        counted = self._counted
        if key in counted:
            return True
        counted[key] = True
        return False

    def _record(self, event: Event) -> Counted:
        """`record` with the lock held; what was counted, for a subclass that shares it."""
        props = event.properties
        ts = event.timestamp
        counters = self.counters
        if event.caller_message_id and self._again(("message", event.message_id)):
            return None
        if event.name == ev.ORDER_COMPLETED:
            order_id = props.get("order_id")
            if order_id is not None and self._again(("order", str(order_id))):
                return None
            items = _order_lines(props.get("products"))
            return counters.record_order(items, ts) if items else None
        product_id = _product_id(props)
        if product_id is None:
            return None
        category, brand = _text(props.get("category")), _text(props.get("brand"))
        if event.name == ev.PRODUCT_VIEWED:
            counted = counters.record_view(product_id, category, brand, ts)
            return ("views", product_id, category, brand, 1) if counted else None
        quantity = props.get("quantity")
        if quantity is None:
            quantity = 1
        if quantity <= 0:
            return None
        units = counters.record_add(product_id, category, brand, quantity, ts)
        return ("adds", product_id, category, brand, units) if units else None

    def top_products(self, now: float, **query: Any) -> tuple[Ranked, ...]:
        with self._lock:
            return self.counters.top_products(now, **query)

    def bought_together(
        self, product_ids: Iterable[str], now: float, **query: Any
    ) -> tuple[Ranked, ...]:
        with self._lock:
            return self.counters.bought_together(product_ids, now, **query)


def _product_id(props: Mapping[str, Any]) -> str | None:
    product_id = props.get("product_id")
    if product_id is None:
        product_id = props.get("sku")
    if product_id is None or product_id == "":
        return None
    return product_id if isinstance(product_id, str) else str(product_id)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _order_lines(products: Any) -> list[tuple[str, str | None, str | None, int]]:
    if not isinstance(products, (list, tuple)):
        return []
    lines = []
    for product in products:
        if not isinstance(product, Mapping):
            continue
        product_id = _product_id(product)
        quantity = product.get("quantity")
        if quantity is None:
            quantity = 1
        if product_id is not None and quantity > 0:
            lines.append(
                (product_id, _text(product.get("category")), _text(product.get("brand")), quantity)
            )
    return lines
