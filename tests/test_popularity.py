"""Global popularity counters: rolling windows, bounds, co-purchases, memoised top lists."""

from __future__ import annotations

import json
import random
from typing import Any

import msgpack
import pytest

from personalize_sdk import Personalizer
from personalize_sdk import events as ev
from personalize_sdk._exceptions import ConfigError, InvalidEvent
from personalize_sdk.popularity import PopularityCounters, Ranked
from tests.helpers import DAY, T0

MIDNIGHT = (T0 // DAY + 1) * DAY  # the first UTC midnight after T0


def counters(**settings: Any) -> PopularityCounters:
    return PopularityCounters(**settings)


def views(c: PopularityCounters, pid: str, n: int, now: float = T0, **facets: Any) -> None:
    for _ in range(n):
        c.record_view(pid, facets.get("category"), facets.get("brand"), now)


def ids(ranking: tuple[Ranked, ...]) -> list[str]:
    return [entry.product_id for entry in ranking]


# -- counting and ranking --------------------------------------------------------------------


def test_each_metric_ranks_its_own_counts_and_score_weighs_them() -> None:
    c = counters()
    views(c, "a", 10)
    views(c, "b", 3)
    c.record_add("b", None, None, 2, T0)
    c.record_add("c", None, None, 1, T0)
    c.record_order([("c", None, None, 1), ("b", None, None, 1)], T0)
    c.record_order([("c", None, None, 2)], T0)

    assert c.top_products(T0, metric="views") == (Ranked("a", 10), Ranked("b", 3))
    assert c.top_products(T0, metric="adds") == (Ranked("b", 2), Ranked("c", 1))
    assert c.top_products(T0) == (Ranked("c", 3), Ranked("b", 1))  # orders by default
    # score = orders * 5 + adds * 2 + views: c = 15 + 2, a = 10, b = 5 + 4 + 3
    assert c.top_products(T0, metric="score") == (Ranked("c", 17), Ranked("b", 12), Ranked("a", 10))
    assert c.top_products(T0, metric="score", limit=2) == (Ranked("c", 17), Ranked("b", 12))
    assert c.top_products(T0, limit=0) == ()


def test_ties_go_to_the_smaller_product_id() -> None:
    c = counters()
    for pid in ("m", "b", "z", "a"):
        views(c, pid, 2)
    views(c, "top", 3)
    assert ids(c.top_products(T0, metric="views")) == ["top", "a", "b", "m", "z"]
    assert ids(c.top_products(T0, metric="views", limit=3)) == ["top", "a", "b"]


def test_categories_and_brands_are_case_insensitive_filters() -> None:
    c = counters()
    views(c, "w1", 5, category="Watches", brand="Acme")
    views(c, "w2", 4, category=" watches ", brand="Other")
    views(c, "s1", 9, category="Shoes", brand="ACME")
    assert ids(c.top_products(T0, metric="views", category="WATCHES")) == ["w1", "w2"]
    assert ids(c.top_products(T0, metric="views", brand="acme")) == ["s1", "w1"]
    assert ids(c.top_products(T0, metric="views", category="watches", brand="acme")) == ["w1"]
    assert c.top_products(T0, metric="views", category="toys") == ()
    assert c.top_products(T0, metric="views", category="  ") == ()
    assert c.category_count("Watches", T0, metric="views") == 9
    assert c.brand_count("acme", T0, metric="views") == 14
    assert c.category_count("toys", T0, metric="views") == 0


def test_a_product_moves_with_its_counts_to_a_new_category() -> None:
    c = counters()
    views(c, "p", 3, category="Sale", brand="Acme")
    views(c, "p", 1, category=None, brand=None)  # unknown facets keep the current ones
    assert ids(c.top_products(T0, metric="views", category="sale")) == ["p"]
    views(c, "p", 1, category="Watches")
    assert c.top_products(T0, metric="views", category="sale") == ()
    assert c.top_products(T0, metric="views", category="watches") == (Ranked("p", 5),)
    assert c.top_products(T0, metric="views", brand="acme") == (Ranked("p", 5),)


def test_exclude_leaves_products_out_and_still_fills_the_list() -> None:
    c = counters()
    for n, pid in enumerate("abcde"):
        views(c, pid, 10 - n, category="Watches")
    assert ids(c.top_products(T0, metric="views", limit=3, exclude=["a", "c"])) == ["b", "d", "e"]
    # The same list without exclusions is unaffected by the excluded query before it.
    assert ids(c.top_products(T0, metric="views", limit=3)) == ["a", "b", "c"]
    with pytest.raises(ConfigError) as caught:
        c.top_products(T0, exclude="a")
    assert caught.value.field == "exclude"


def test_counts_query_helpers() -> None:
    c = counters()
    views(c, "a", 2, category="Watches")
    c.record_add("a", "Watches", None, 3, T0)
    c.record_order([("a", "Watches", None, 1)], T0)
    assert c.product_count("a", T0, metric="views") == 2
    assert c.product_count("a", T0, metric="adds") == 3
    assert c.product_count("a", T0) == 1
    assert c.product_count("a", T0, metric="score") == 2 + 6 + 5
    assert c.product_count("nope", T0) == 0
    assert c.category_count("watches", T0, metric="score") == 13


# -- windows and retention -------------------------------------------------------------------


def test_an_event_eight_days_old_drops_out_of_a_seven_day_window() -> None:
    c = counters()
    c.record_order([("old", None, None, 1)], T0)
    c.record_order([("recent", None, None, 1)], T0 + 2 * DAY)
    now = T0 + 8 * DAY
    assert ids(c.top_products(now, days=7)) == ["recent"]
    assert ids(c.top_products(now, days=9)) == ["old", "recent"]
    assert c.product_count("old", now, days=7) == 0
    assert c.product_count("old", now, days=9) == 1


def test_windows_are_whole_utc_days_including_today() -> None:
    c = counters()
    c.record_view("last-second", None, None, MIDNIGHT - 1)
    c.record_view("first-second", None, None, MIDNIGHT)
    assert ids(c.top_products(MIDNIGHT + 5, metric="views", days=1)) == ["first-second"]
    assert ids(c.top_products(MIDNIGHT + 5, metric="views", days=2)) == [
        "first-second",
        "last-second",
    ]
    # Six days later the day of "first-second" is still the first of a 7-day window.
    assert ids(c.top_products(MIDNIGHT + 6 * DAY + DAY - 1, metric="views")) == ["first-second"]


def test_retention_drops_old_buckets_and_forgets_idle_products() -> None:
    c = counters(retention_days=3)
    views(c, "idle", 1)
    views(c, "busy", 1)
    views(c, "busy", 1, now=T0 + 2 * DAY)
    assert len(c) == 2
    c.top_products(T0 + 3 * DAY, metric="views", days=3)  # time moves on through queries too
    assert "idle" not in c
    assert "busy" in c
    assert [bucket[0] for bucket in c.snapshot()["products"][0][3]] == [int(T0 // DAY) + 2]
    # An event older than the retention window is ignored, not counted into a dropped day.
    views(c, "late", 1, now=T0)
    assert "late" not in c
    with pytest.raises(ConfigError) as caught:
        c.top_products(T0 + 3 * DAY, days=4)
    assert caught.value.field == "days"


def test_late_events_within_retention_land_in_their_own_day() -> None:
    c = counters()
    views(c, "a", 1, now=T0 + 5 * DAY)
    views(c, "b", 1, now=T0)  # arrives later, but happened five days earlier
    assert ids(c.top_products(T0 + 5 * DAY, metric="views", days=1)) == ["a"]
    assert ids(c.top_products(T0 + 5 * DAY, metric="views", days=6)) == ["a", "b"]


# -- bounds ----------------------------------------------------------------------------------


def test_the_least_recently_counted_product_is_evicted() -> None:
    c = counters(max_products=3)
    for pid in ("a", "b", "c"):
        views(c, pid, 1, category="Watches")
    views(c, "a", 1)  # a is counted again: b is now the least recent
    views(c, "d", 1, category="Watches")
    assert len(c) == 3
    assert "b" not in c
    assert ids(c.top_products(T0, metric="views", category="watches")) == ["a", "c", "d"]
    assert c.category_count("watches", T0, metric="views") == 4


def test_memory_stays_bounded_under_a_flood_of_distinct_products() -> None:
    c = counters(max_products=100, max_partners=5)
    for n in range(5_000):
        c.record_view(f"flood-{n}", f"cat-{n}", f"brand-{n}", T0)
        if n % 10 == 0:
            c.record_order([(f"flood-{n - k}", None, None, 1) for k in range(3)], T0)
    snapshot = c.snapshot()
    assert len(c) == 100
    assert len(snapshot["products"]) == 100
    tracked = {entry[0] for entry in snapshot["products"]}
    assert all(a in tracked and b in tracked for _, a, b, _ in snapshot["pairs"])
    assert len(c._by_category) <= 100
    assert len(c._by_brand) <= 100


def test_one_line_counts_at_most_max_quantity_units() -> None:
    c = counters(max_quantity=10)
    c.record_order([("bulk", None, None, 10_000)], T0)
    c.record_add("forged", None, None, 10**9, T0)
    c.record_order([("a", None, None, 3), ("a", None, None, 4)], T0)  # lines merged: 7
    assert c.top_products(T0) == (Ranked("bulk", 10), Ranked("a", 7))
    assert c.top_products(T0, metric="adds") == (Ranked("forged", 10),)


def test_zero_quantities_count_nothing() -> None:
    c = counters()
    c.record_add("a", None, None, 0, T0)
    c.record_order([("b", None, None, 0), ("c", None, None, 1)], T0)
    assert len(c) == 1
    assert c.bought_together(["c"], T0) == ()


# -- co-purchases ----------------------------------------------------------------------------


def test_co_purchases_are_symmetric_and_ranked() -> None:
    c = counters()
    c.record_order([("phone", None, None, 1), ("case", None, None, 1)], T0)
    c.record_order(
        [("phone", None, None, 1), ("case", None, None, 2), ("charger", None, None, 1)], T0
    )
    c.record_order([("phone", None, None, 1), ("film", None, None, 1)], T0)
    c.record_order([("case", None, None, 1), ("film", None, None, 1)], T0)

    assert c.bought_together(["phone"], T0) == (
        Ranked("case", 2),
        Ranked("charger", 1),
        Ranked("film", 1),
    )
    assert c.bought_together(["case"], T0) == (
        Ranked("phone", 2),
        Ranked("charger", 1),
        Ranked("film", 1),
    )
    assert c.bought_together(["charger"], T0) == (Ranked("case", 1), Ranked("phone", 1))
    # A cart: partners of every item summed, the cart's own items left out.
    assert c.bought_together(["phone", "case"], T0) == (Ranked("charger", 2), Ranked("film", 2))
    assert c.bought_together(["phone"], T0, exclude=["case"], limit=1) == (Ranked("charger", 1),)
    assert c.bought_together(["unknown"], T0) == ()


def test_co_purchases_roll_out_of_their_window() -> None:
    c = counters(retention_days=10)
    c.record_order([("a", None, None, 1), ("old", None, None, 1)], T0)
    c.record_order([("a", None, None, 1), ("new", None, None, 1)], T0 + 5 * DAY)
    now = T0 + 6 * DAY
    assert ids(c.bought_together(["a"], now)) == ["new", "old"]
    assert ids(c.bought_together(["a"], now, days=3)) == ["new"]
    assert ids(c.bought_together(["a"], T0 + 10 * DAY)) == ["new"]


def test_only_the_first_products_of_a_huge_order_are_paired() -> None:
    c = counters(max_order_products=20)
    order = [(f"p{n:02d}", None, None, 1) for n in range(30)]
    c.record_order(order, T0)
    assert len(c.bought_together(["p00"], T0, limit=100)) == 19
    assert c.bought_together(["p25"], T0) == ()
    assert c.product_count("p25", T0) == 1  # still counted as sold
    assert len(c.snapshot()["pairs"]) == 20 * 19 // 2


def test_a_product_keeps_at_most_max_partners_per_day_on_both_sides() -> None:
    c = counters(max_partners=2)
    for partner in ("x", "y", "z"):
        c.record_order([("hub", None, None, 1), (partner, None, None, 1)], T0)
    assert ids(c.bought_together(["hub"], T0)) == ["x", "y"]
    assert c.bought_together(["z"], T0) == ()  # not one-sided either
    c.record_order([("hub", None, None, 1), ("x", None, None, 1)], T0)  # known partners still count
    assert c.bought_together(["hub"], T0)[0] == Ranked("x", 2)


def test_evicting_a_product_removes_its_co_purchases_on_both_sides() -> None:
    c = counters(max_products=3)
    c.record_order([("a", None, None, 1), ("b", None, None, 1)], T0)
    views(c, "b", 1)
    views(c, "c", 1)
    views(c, "d", 1)  # evicts a
    assert "a" not in c
    assert c.bought_together(["b"], T0) == ()
    assert c.snapshot()["pairs"] == []


# -- hostile input ---------------------------------------------------------------------------


def test_unicode_ids_are_opaque_text() -> None:
    c = counters()
    for pid in ("商品-1", "ß", "SS", "😀" * 255):
        views(c, pid, 1)
    assert set(ids(c.top_products(T0, metric="views"))) == {"商品-1", "ß", "SS", "😀" * 255}


@pytest.mark.parametrize(
    ("product_id", "kind"),
    [
        ("", "bad_id"),
        ("x" * 256, "bad_id"),
        (None, "type"),
        (42, "type"),
        ("a\ud800", "bad_unicode"),
    ],
)
def test_bad_product_ids_are_refused(product_id: object, kind: str) -> None:
    c = counters()
    with pytest.raises(InvalidEvent) as caught:
        c.record_view(product_id, None, None, T0)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.kind) == ("product_id", kind)
    with pytest.raises(InvalidEvent):
        c.record_order([("ok", None, None, 1), (product_id, None, None, 1)], T0)  # type: ignore[list-item]
    assert len(c) == 0  # an invalid order counts nothing at all


@pytest.mark.parametrize("now", [float("nan"), float("inf"), -1.0, 1e300, True, "1790000000", None])
def test_bad_times_are_refused(now: object) -> None:
    c = counters()
    with pytest.raises(InvalidEvent) as caught:
        c.record_view("a", None, None, now)  # type: ignore[arg-type]
    assert caught.value.field == "now"
    with pytest.raises(InvalidEvent):
        c.top_products(now)  # type: ignore[arg-type]
    assert len(c) == 0


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.record_add("a", None, None, -1, T0), "quantity"),
        (lambda c: c.record_add("a", None, None, 1.5, T0), "quantity"),
        (lambda c: c.record_add("a", None, None, True, T0), "quantity"),
        (
            lambda c: c.record_order([("a", None, None, 1), ("b", None, None, -2)], T0),
            "items[1].quantity",
        ),
        (lambda c: c.record_order([("a", None, None)], T0), "items[0]"),
        (lambda c: c.record_order(["abcd"], T0), "items[0]"),
        (lambda c: c.record_order("abcd", T0), "items"),
        (lambda c: c.record_order({"a": 1}, T0), "items"),
    ],
)
def test_bad_quantities_and_orders_are_refused(call: Any, field: str) -> None:
    c = counters()
    with pytest.raises(InvalidEvent) as caught:
        call(c)
    assert caught.value.field == field
    assert len(c) == 0


def test_non_text_facets_count_as_unknown() -> None:
    c = counters()
    c.record_view("a", 12, ["x"], T0)  # type: ignore[arg-type]
    assert c.top_products(T0, metric="views") == (Ranked("a", 1),)
    with pytest.raises(ConfigError) as caught:
        c.top_products(T0, category=12)  # type: ignore[arg-type]
    assert caught.value.field == "category"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"metric": "revenue"}, "metric"),
        ({"metric": None}, "metric"),
        ({"days": 0}, "days"),
        ({"days": 31}, "days"),
        ({"days": 7.0}, "days"),
        ({"limit": -1}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "10"}, "limit"),
        ({"brand": b"acme"}, "brand"),
    ],
)
def test_bad_query_arguments_name_the_argument(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        counters().top_products(T0, **kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"retention_days": 0}, "retention_days"),
        ({"max_products": 0}, "max_products"),
        ({"max_order_products": 1}, "max_order_products"),
        ({"max_partners": 0}, "max_partners"),
        ({"max_quantity": 0}, "max_quantity"),
        ({"memo_size": -1}, "memo_size"),
        ({"max_staleness": -1}, "max_staleness"),
        ({"max_staleness": float("nan")}, "max_staleness"),
    ],
)
def test_bad_settings_name_the_setting(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        PopularityCounters(**kwargs)
    assert caught.value.field == field


# -- memoised top lists ----------------------------------------------------------------------


def test_memoised_lists_change_as_soon_as_their_counts_do() -> None:
    c = counters()
    views(c, "a", 2, category="Watches")
    views(c, "b", 1, category="Watches")
    assert ids(c.top_products(T0, metric="views", category="watches")) == ["a", "b"]
    views(c, "b", 2, category="Watches")
    assert ids(c.top_products(T0, metric="views", category="watches")) == ["b", "a"]
    c.record_order([("a", "Watches", None, 1)], T0)
    assert ids(c.top_products(T0, category="watches")) == ["a"]
    c.record_order([("b", "Watches", None, 2)], T0)
    assert ids(c.top_products(T0, category="watches")) == ["b", "a"]


def test_views_do_not_invalidate_a_bestseller_list() -> None:
    c = counters()
    c.record_order([("a", "Watches", None, 1)], T0)
    first = c.top_products(T0, category="watches")
    views(c, "a", 3, category="Watches")
    views(c, "z", 3, category="Watches")
    assert c.top_products(T0, category="watches") is first  # served from the memo
    c.record_order([("z", "Watches", None, 1)], T0)
    assert c.top_products(T0, category="watches") == (Ranked("a", 1), Ranked("z", 1))


def test_max_staleness_lets_a_list_lag_behind_for_that_long() -> None:
    c = counters(max_staleness=60)
    views(c, "a", 2)
    assert ids(c.top_products(T0, metric="views")) == ["a"]
    views(c, "b", 5)
    assert ids(c.top_products(T0 + 59, metric="views")) == ["a"]
    assert ids(c.top_products(T0 + 60, metric="views")) == ["b", "a"]


def test_memoised_lists_always_equal_freshly_ranked_ones() -> None:
    # Random events, evictions, category moves and days passing: a memoising counter must
    # answer every query exactly as one that ranks afresh each time. A fixed set of queries,
    # asked again and again, keeps memoised answers around long enough to go stale.
    rng = random.Random(20240521)
    memo, fresh = counters(max_products=40), counters(max_products=40, memo_size=0)
    categories, brands = ["Watches", "shoes", "BAGS", None], ["Acme", "other", None]
    queries = [
        {"metric": metric, "days": days, "category": category, "brand": brand, "limit": 5}
        for metric in ("views", "orders", "score")
        for days in (1, 7)
        for category in categories
        for brand in brands
    ]
    now = T0
    for step in range(1_000):
        pid = f"p{rng.randrange(60)}"
        category, brand = rng.choice(categories), rng.choice(brands)
        kind, quantity = rng.random(), rng.randrange(3)
        order = [(f"p{rng.randrange(60)}", category, brand, 1) for _ in range(3)]
        for c in (memo, fresh):
            if kind < 0.6:
                c.record_view(pid, category, brand, now)
            elif kind < 0.8:
                c.record_add(pid, category, brand, quantity, now)
            else:
                c.record_order(order, now)
        if step % 50 == 49:
            now += rng.choice([3_600, DAY, 3 * DAY])
        exclude = rng.sample([f"p{n}" for n in range(60)], rng.randrange(3))
        for query in rng.sample(queries, 8):
            expected = fresh.top_products(now, exclude=exclude, **query)
            assert memo.top_products(now, exclude=exclude, **query) == expected, (step, query)
    assert memo.snapshot() == fresh.snapshot()


# -- snapshots -------------------------------------------------------------------------------


def busy_counters(**settings: Any) -> PopularityCounters:
    c = counters(**settings)
    views(c, "商品", 3, category="Watches", brand="Acme")
    views(c, "b", 1, now=T0 - 3 * DAY, category="Shoes")
    c.record_add("b", "Shoes", None, 2, T0)
    c.record_order([("商品", "Watches", "Acme", 1), ("b", "Shoes", None, 1)], T0 - DAY)
    c.record_order([("c", None, "Acme", 1), ("b", "Shoes", None, 1)], T0)
    return c


@pytest.mark.parametrize(
    "codec",
    [
        (json.dumps, json.loads),
        (msgpack.packb, msgpack.unpackb),
    ],
)
def test_a_snapshot_round_trips_through_json_and_msgpack(codec: Any) -> None:
    encode, decode = codec
    original = busy_counters()
    restored = PopularityCounters.from_snapshot(decode(encode(original.snapshot())))
    assert restored.snapshot() == original.snapshot()
    for metric in ("views", "adds", "orders", "score"):
        assert restored.top_products(T0, metric=metric) == original.top_products(T0, metric=metric)
    assert restored.bought_together(["b"], T0) == original.bought_together(["b"], T0)
    assert restored.top_products(T0, brand="acme") == original.top_products(T0, brand="acme")
    # The least recently counted product stays the first to go after a restore.
    views(restored, "new", 1)
    assert [entry[0] for entry in restored.snapshot()["products"]] == ["商品", "c", "b", "new"]


def test_a_snapshot_restored_with_tighter_bounds_keeps_the_most_recent() -> None:
    snapshot = busy_counters().snapshot()
    restored = PopularityCounters.from_snapshot(snapshot, max_products=2)
    assert [entry[0] for entry in restored.snapshot()["products"]] == ["c", "b"]
    assert restored.bought_together(["b"], T0) == (Ranked("c", 1),)
    shorter = PopularityCounters.from_snapshot(snapshot, retention_days=2)
    assert shorter.product_count("b", T0, days=2, metric="views") == 0
    assert shorter.product_count("商品", T0, days=2) == 1


def test_an_empty_snapshot_round_trips() -> None:
    restored = PopularityCounters.from_snapshot(counters().snapshot())
    assert len(restored) == 0
    assert restored.snapshot() == counters().snapshot()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s.update(version=2), ""),
        (lambda s: s.update(products={}), ""),
        (lambda s: s.update(latest_day="x"), "latest_day"),
        (lambda s: s["products"].append(["x", None, None, [[1, 2, 3]]]), "products[3]"),
        (lambda s: s["products"].append(["x", None, None, [[1, -2, 3, 4]]]), "products[3]"),
        (lambda s: s["products"].append(["", None, None, []]), "products[3]"),
        (lambda s: s["products"].append(list(s["products"][0])), "products[3]"),
        (lambda s: s["products"].append("x"), "products[3]"),
        (lambda s: s["pairs"].append([1, "a", "b", 0]), "pairs[2]"),
        (lambda s: s["pairs"].append([1, "a", 2, 1]), "pairs[2]"),
    ],
)
def test_malformed_snapshots_are_refused_with_the_entry(mutate: Any, field: str) -> None:
    snapshot = busy_counters().snapshot()
    mutate(snapshot)
    with pytest.raises(ConfigError) as caught:
        PopularityCounters.from_snapshot(snapshot)
    assert caught.value.field == field
    assert caught.value.source == "<snapshot>"


def test_counts_and_pairs_made_elsewhere_are_added_as_they_are():
    counters = PopularityCounters(max_quantity=10)
    counters.add_counts("w-1", "Watches", "Acme", T0, views=3, orders=25)  # no cap: capped before
    counters.add_counts("w-2", "Watches", None, T0, adds=2)
    counters.add_pair("w-1", "w-2", 4, T0)
    counters.add_pair("w-1", "w-1", 4, T0)  # a product is never its own partner
    assert [(r.product_id, r.count) for r in counters.top_products(T0, metric="orders")] == [
        ("w-1", 25)
    ]
    assert counters.top_products(T0, category="watches", metric="adds")[0].product_id == "w-2"
    assert [(r.product_id, r.count) for r in counters.bought_together(["w-1"], T0)] == [("w-2", 4)]
    with pytest.raises(InvalidEvent):
        counters.add_counts("w-1", None, None, T0, views=-1)


def test_a_retried_event_and_an_order_reported_twice_are_counted_once(clock) -> None:
    bestsellers = {"id": "bs", "kind": "recommendations", "strategy": "category_bestsellers"}
    config = {"campaigns": [bestsellers]}
    pz = Personalizer(config, clock=clock, strict=True)

    def order(order_id: str, product_id: str, quantity: int, **options: Any) -> None:
        line = {"product_id": product_id, "category": "Shoes", "quantity": quantity, "price": 5}
        pz.track(None, ev.ORDER_COMPLETED, {"order_id": order_id, "products": [line]}, **options)

    for _ in range(5):  # a webhook retried with its message id
        order("o1", "retried", 1, user_id="u1", message_id="wh-1")
    for _ in range(3):  # the same order from the browser and the webhook, no message id
        order("o3", "twice", 1, user_id="u3")
    order("o2", "real", 3, user_id="u2")
    for _ in range(2):
        pz.track("v", ev.PRODUCT_VIEWED, {"product_id": "seen"}, message_id="view-1")
    assert pz.popularity is not None
    assert pz.popularity.top_products(clock(), metric="orders") == (
        Ranked("real", 3), Ranked("retried", 1), Ranked("twice", 1),
    )  # fmt: skip
    assert pz.popularity.top_products(clock(), metric="views") == (Ranked("seen", 1),)
