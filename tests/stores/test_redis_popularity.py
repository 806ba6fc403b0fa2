"""Popularity counters shared through Redis: what one process counts ranks in another's lists
after a sync, in day buckets that expire, and Redis being away never reaches the caller."""

from __future__ import annotations

import itertools

import pytest

from personalize_sdk.events import Event
from tests.helpers import DAY, T0
from tests.stores.conftest import REDIS_URL, redis_client

redis = pytest.importorskip("redis")
from personalize_sdk.redis_popularity import RedisPopularityFeed  # noqa: E402

pytestmark = pytest.mark.redis


def event(name: str, ts: float = T0, **properties) -> Event:
    return Event(visitor_id="v", name=name, properties=properties, timestamp=ts, message_id="m")


_ORDER_IDS = itertools.count()


def order(*lines: tuple[str, int], ts: float = T0) -> Event:
    """A new order (its own order id: one reported twice counts once)."""
    products = [{"product_id": pid, "category": "Watches", "brand": "Acme", "quantity": q}
                for pid, q in lines]  # fmt: skip
    return event("Order Completed", ts, order_id=f"o{next(_ORDER_IDS)}", products=products)


@pytest.fixture
def feeds(redis_prefix):
    made = []

    def build(**options) -> RedisPopularityFeed:
        client = redis.Redis.from_url(options.pop("url", REDIS_URL), socket_timeout=0.2,
                                      socket_connect_timeout=0.2)  # fmt: skip
        feed = RedisPopularityFeed(client, prefix=redis_prefix, clock=lambda: T0, **options)
        made.append(feed)
        return feed

    yield build
    for feed in made:
        feed._closed = True


def test_counts_of_one_process_rank_in_another(feeds):
    shop, other = feeds(), feeds()
    shop.record(order(("w-1", 2), ("w-2", 1)))
    shop.record(order(("w-1", 1), ("w-3", 1)))
    shop.record(event("Product Viewed", product_id="w-9", category="Watches", brand="Zen"))
    other.record(order(("w-2", 5)))  # counted here, not pushed yet
    assert shop.sync()
    assert other.sync()  # pushes its own, then reads everything back
    top = other.top_products(T0, category="watches", metric="orders")
    assert [(r.product_id, r.count) for r in top] == [("w-2", 6), ("w-1", 3), ("w-3", 1)]
    views = other.top_products(T0, brand="zen", metric="views")
    assert [(r.product_id, r.count) for r in views] == [("w-9", 1)]
    together = other.bought_together(["w-1"], T0)
    assert {(r.product_id, r.count) for r in together} == {("w-2", 1), ("w-3", 1)}
    assert shop.sync()
    assert shop.top_products(T0, category="watches")[0].product_id == "w-2"


def test_unpushed_counts_survive_a_pull(feeds):
    feed = feeds()
    feed.record(order(("w-1", 1)))
    assert feed.sync(pull=False)
    feed.record(order(("w-2", 3), ("w-1", 1)))
    with feed._lock:
        pending, feed._pending = feed._pending, {}
    feed._pull()  # Redis has w-1 x1 only; the local counts not pushed are kept on top
    with feed._lock:
        feed._pending = pending
        for day, delta in pending.items():
            delta.replay(feed.counters, day)
    ranked = feed.top_products(T0, category="watches")
    assert [(r.product_id, r.count) for r in ranked] == [("w-2", 3), ("w-1", 2)]


def test_day_buckets_expire_after_the_retention_window(feeds, redis_prefix):
    feed = feeds(retention_days=7)
    feed.record(order(("w-1", 1)))
    feed.record(order(("w-1", 1), ts=T0 - 3 * DAY))
    assert feed.sync()
    client = redis_client()
    keys = sorted(k.decode() for k in client.scan_iter(match=f"{redis_prefix}{{pop}}*"))
    assert len(keys) == 4  # counts and facets of two days (one-product orders pair nothing)
    assert all(7 * DAY < client.ttl(key) <= 8 * DAY for key in keys)
    assert feed.top_products(T0, category="watches", days=7)[0].count == 2
    assert feed.top_products(T0, category="watches", days=1)[0].count == 1


def test_quantities_are_capped_as_locally(feeds):
    shop, other = feeds(max_quantity=10), feeds(max_quantity=10)
    shop.record(order(("w-1", 500)))
    shop.record(event("Product Added", product_id="w-2", category="Watches", quantity=99))
    assert shop.sync() and other.sync()
    counts = {r.product_id: r.count for r in other.top_products(T0, metric="score")}
    assert counts == {"w-1": 50, "w-2": 20}


def test_redis_away_never_reaches_the_caller(feeds):
    feed = feeds(url="redis://127.0.0.1:1/0", max_pending=4)
    for n in range(10):
        feed.record(event("Product Viewed", product_id=f"w-{n}", category="Watches"))
    assert len(feed.top_products(T0, metric="views", limit=20)) == 10  # local counts answer
    assert feed.sync() is False
    assert feed.counts["faults"] == 1
    assert sum(len(d) for d in feed._pending.values()) <= 4
    assert feed.counts["dropped"] > 0


def test_bestsellers_count_the_orders_of_every_process(redis_prefix):
    from personalize_sdk import Page, Personalizer
    from personalize_sdk.redis_store import RedisStore

    config = {"campaigns": [{"id": "best", "kind": "recommendations",
                             "strategy": "category_bestsellers", "limit": 3}]}  # fmt: skip
    catalog = [{"id": f"w-{n}", "name": f"Watch {n}", "category": "Watches"} for n in range(4)]
    shops = [
        Personalizer(config, store=RedisStore(REDIS_URL, prefix=redis_prefix), catalog=catalog)
        for _ in range(2)
    ]
    lines = [{"product_id": "w-3", "category": "Watches", "quantity": 1}]
    for n in range(3):
        shops[0].track(f"buyer-{n}", "Order Completed", {"order_id": f"o-{n}", "products": lines})
    assert shops[0].popularity.sync() and shops[1].popularity.sync()
    page = Page(type="product", path="/p/w-0", product_id="w-0", category="Watches")
    html = shops[1].render("someone", page, "recommendations")
    assert "Watch 3" in html  # ordered in the other process
    for pz in shops:
        pz.close()
