"""Every widget kind, rendered for a realistic shopper of the sample shop (tests/data/shop.toml):
the data each widget carries, its HTML, and hostile strings rendering inert."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from personalize_sdk import Page, Personalizer, Widget
from tests.helpers import DAY, MINUTE, Clock
from tests.widget_helpers import CART, DATA, PRODUCT, SECRET, Elements, report


def product(pid: str, category: str, brand: str, price: float, **more: Any) -> dict[str, Any]:
    return {"product_id": pid, "category": category, "brand": brand, "price": price,
            "currency": "USD", **more}  # fmt: skip


W1 = product("w-1", "watches", "Acme", 249.0)
W2 = product("w-2", "watches", "Acme", 399.0)
W3 = product("w-3", "watches", "Borealis", 129.5)
S1 = product("s-1", "straps", "Acme", 19.99)
S2 = product("s-2", "straps", "Borealis", 12.0)


@pytest.fixture
def pz(clock: Clock) -> Personalizer:
    pz = Personalizer(
        DATA / "shop.toml", clock=clock, strict=True, secret=SECRET, catalog=DATA / "catalog.json"
    )
    # The rest of the shop: orders that make bestsellers and bought-together pairs.
    for i in range(5):
        pz.track(f"other-{i}", "Product Viewed", W2)
        pz.track(f"other-{i}", "Order Completed",
                 {"order_id": f"o{i}", "total": 418.99, "products": [W2, S1]})  # fmt: skip
    pz.track("other-9", "Order Completed", {"order_id": "o9", "total": 12.0, "products": [W3, S2]})
    clock.advance(DAY)
    pz.identify("asha", traits={"first_name": "Asha"})
    for item in (W3, W2, W1):
        pz.track("asha", "Product Viewed", item)
        clock.advance(MINUTE)
    return pz


def by_kind(widgets: list[Widget]) -> dict[str, Widget]:
    return {w.kind: w for w in widgets}


def test_a_product_page(pz: Personalizer) -> None:
    found = by_kind(pz.widgets("asha", PRODUCT))
    assert set(found) == {
        "hello_bar", "side_coupon", "exit_intent", "recently_viewed", "floating_icon",
        "recommendations", "editorial",
    }  # fmt: skip
    hello = found["hello_bar"]
    assert hello.data["text"] == "Hi Asha, free shipping on orders over $50"
    assert hello.slot == "top" and hello.variant == "default"
    assert "Hi Asha" in hello.html and 'data-pz-campaign="welcome-bar"' in hello.html

    recent = found["recently_viewed"].data
    # the current product is left out, most recent first
    assert [p["id"] for p in recent["products"]] == ["w-2", "w-3"]
    assert recent["products"][0] == {"id": "w-2", "name": "Pilot Chrono", "url": "/p/w-2",
                                     "image": "/img/w-2.jpg", "price": "$399.00"}  # fmt: skip

    side = found["side_coupon"].data
    assert side["text"] == "Your personal code for watches"
    assert side["coupon"]["code"].startswith("SIDE") and side["coupon"]["discount"] == "10%"
    assert pz.coupons.verify(side["coupon"]["code"], pz.clock()).valid

    exit_intent = found["exit_intent"]
    assert exit_intent.slot == "overlay"
    assert exit_intent.data["title"] == "Wait, Asha!"
    assert exit_intent.data["coupon"]["code"] == "STAY15"
    assert [o["value"] for o in exit_intent.data["survey"]["options"]] == [
        "too_expensive", "just_looking", "shipping_costs",
    ]  # fmt: skip
    assert exit_intent.data["trigger"]["min_dwell_ms"] == 5000
    assert 'role="dialog"' in exit_intent.html and "hidden" in exit_intent.html

    bestsellers = found["recommendations"].data
    assert bestsellers["strategy"] == "category_bestsellers"
    assert bestsellers["title"] == "Bestsellers in Watches"
    assert [p["id"] for p in bestsellers["products"]][:1] == ["w-2"]
    assert "w-1" not in [p["id"] for p in bestsellers["products"]]

    editorial = found["editorial"].data
    assert editorial["article"]["title"] == "How to choose a dive watch"


def test_the_brand_slot_shows_the_favourite_brand_trending(pz: Personalizer) -> None:
    (widget,) = pz.widgets("asha", PRODUCT, slot="brand")
    assert widget.data["strategy"] == "brand_trending"
    assert widget.data["title"] == "Trending from Acme"
    names = [p["name"] for p in widget.data["products"]]
    assert "Pilot Chrono" in names
    assert all(p["id"] != "w-1" for p in widget.data["products"])


def test_a_cart_page(pz: Personalizer, clock: Clock) -> None:
    pz.track("asha", "Product Added", {**W3, "quantity": 1})
    pz.track("asha", "Product Added", {**product("s-2", "straps", "Borealis", 12.0), "quantity": 2})
    found = by_kind(pz.widgets("asha", CART))
    progress = found["progress_bar"].data
    # 129.50 + 2 x 12.00 = 153.50: over the USD 50 threshold
    assert progress["unlocked"] is True and progress["percent"] == 100
    assert progress["text"] == "You've unlocked free shipping!"
    assert 'aria-live="polite"' in found["progress_bar"].html

    scratch = found["scratch_coupon"].data
    assert scratch["coupon"]["code"].startswith("WIN")
    # w-3 was only ever bought with s-2, which is in the cart already: no add-ins to offer
    assert pz.widgets("asha", CART, slot="addins") == []


def test_cart_add_ins_come_from_what_others_bought_together(pz: Personalizer) -> None:
    pz.track("asha", "Product Added", {**W2, "quantity": 1})
    (addins,) = pz.widgets("asha", CART, slot="addins")
    assert addins.data["title"] == "Complete your order"
    assert [p["id"] for p in addins.data["products"]] == ["s-1"]


def test_progress_is_exact_per_currency(pz: Personalizer) -> None:
    pz.track("bob", "Product Added", {**product("s-1", "straps", "Acme", 0.1), "quantity": 3})
    pz.track("bob", "Product Added", {**product("s-2", "straps", "Acme", 0.2), "quantity": 1})
    (bar,) = pz.widgets("bob", CART, slot="cart")
    # 0.1 x 3 + 0.2 = 0.50 exactly; 50 - 0.5 = 49.50 (floats would give 49.5000000001)
    assert bar.data["remaining"] == "$49.50" and bar.data["percent"] == 1
    assert bar.data["text"] == "Spend $49.50 more for free shipping"
    pz.track("yuki", "Product Added", {**product("s-9", "straps", "Acme", 1234.0),
                                        "currency": "JPY"})  # fmt: skip
    (yen,) = pz.widgets("yuki", CART, slot="cart")
    assert yen.data["remaining"] == "¥4,766" and yen.data["currency"] == "JPY"
    pz.track("lena", "Product Added", {**product("s-9", "straps", "Acme", 5.0), "currency": "CHF"})
    assert pz.widgets("lena", CART, slot="cart") == []  # no CHF threshold: nothing shown


def test_countdown_runs_from_the_first_exposure(clock: Clock) -> None:
    home = Page(type="home", path="/")
    countdown = {"id": "cd", "kind": "countdown", "title": "Hurry", "duration_minutes": 120}
    pz = Personalizer({"campaigns": [countdown]}, clock=clock, strict=True, secret=SECRET)
    (first,) = pz.widgets("asha", home)
    assert first.data["remaining_seconds"] == 120 * 60
    report(pz, "asha", first)
    clock.advance(30 * MINUTE)
    (later,) = pz.widgets("asha", home)
    assert later.data["deadline"] == first.data["deadline"]
    assert later.data["remaining_seconds"] == 90 * 60
    assert f'data-pz-deadline="{int(first.data["deadline"])}' in later.html
    clock.advance(91 * MINUTE)
    assert pz.widgets("asha", home) == []  # past its deadline: nothing to count down


def test_the_welcome_bar_gives_way_after_dismissal(pz: Personalizer) -> None:
    hello = by_kind(pz.widgets("asha", PRODUCT))["hello_bar"]
    report(pz, "asha", hello)
    report(pz, "asha", hello, "dismissed")
    top = [w for w in pz.widgets("asha", PRODUCT) if w.slot == "top"]
    assert [w.kind for w in top] == ["countdown"]


def test_hostile_names_render_inert(clock: Clock) -> None:
    pz = Personalizer(
        DATA / "shop.toml", clock=clock, strict=True, secret=SECRET, catalog=DATA / "catalog.json"
    )
    evil = '"><img src=x onerror=alert(1)>'
    pz.identify("mallory", traits={"first_name": evil})
    pz.track("mallory", "Product Viewed", product("x-1", "watches", "Acme", 9.99))
    pz.track("mallory", "Product Viewed", product("w-2", "watches", "Acme", 399.0))
    widgets = pz.widgets("mallory", Page(type="product", path='/p/"><script>', product_id="w-2"))
    kinds = {w.kind for w in widgets}
    assert {"hello_bar", "recently_viewed", "exit_intent"} <= kinds
    for widget in widgets:
        parsed = Elements(str(widget.html))
        assert "script" not in parsed.tags(), widget.kind
        assert not any(tag == "img" and a.get("src") == "x" for tag, a in parsed.found)
        assert not any(k.startswith("on") for _, a in parsed.found for k in a), widget.kind
    hello = next(w for w in widgets if w.kind == "hello_bar")
    assert evil in "".join(Elements(str(hello.html)).text)  # shown as text, not markup
    strip = next(w for w in widgets if w.kind == "recently_viewed")
    assert "<script>alert(1)</script>" in "".join(Elements(str(strip.html)).text)


def test_a_failing_copy_template_skips_that_campaign_only(clock: Clock, caplog: Any) -> None:
    campaigns = [
        {
            "id": "broken",
            "kind": "hello_bar",
            "priority": 2,
            "text": "{{ first_name.upper(1, 2) }}",
        },
        {"id": "fallback", "kind": "hello_bar", "priority": 1, "text": "Hello"},
    ]
    pz = Personalizer({"campaigns": campaigns}, clock=clock, secret=SECRET)
    pz.identify("v1", traits={"first_name": "Ann"})
    for _ in range(3):
        assert [w.campaign_id for w in pz.widgets("v1", Page(type="home"))] == ["fallback"]
    assert pz.stats()["errors.widgets.copy.broken"] == 3
    assert sum("broken" in r.getMessage() for r in caplog.records) == 1


def test_widget_data_is_json_ready(pz: Personalizer) -> None:
    import json

    for page in (PRODUCT, CART):
        for widget in pz.widgets("asha", page):
            assert json.loads(json.dumps(widget.data)) == widget.data
            assert not any(isinstance(v, Decimal) for v in widget.data.values())


def test_async_twins_keep_a_blocking_catalog_off_the_event_loop(clock: Clock) -> None:
    import threading

    from personalize_sdk.catalog import CallableCatalog, Product

    threads = []

    def fetch(ids: list[str]) -> list[Product]:  # the shop's ORM query, say
        threads.append(threading.get_ident())
        return [Product(id=i, name=f"Product {i}") for i in ids]

    strip = {"id": "rv", "kind": "recently_viewed"}
    pz = Personalizer(
        {"campaigns": [strip]}, clock=clock, strict=True, catalog=CallableCatalog(fetch)
    )
    pz.track("v1", "Product Viewed", product("w-1", "watches", "Acme", 10.0))

    async def page() -> tuple[list[Widget], str, int]:
        return (
            await pz.awidgets("v1", Page(type="home")),
            await pz.arender("v1", Page(type="home"), slot="recently_viewed"),
            threading.get_ident(),
        )

    widgets, html, loop_thread = run_async(page())
    assert widgets[0].data["products"][0]["name"] == "Product w-1"
    assert "Product w-1" in html
    assert threads and loop_thread not in threads

    plain = Personalizer({"campaigns": [strip]}, clock=clock, strict=True)
    plain.track("v1", "Product Viewed", product("w-1", "watches", "Acme", 10.0))
    assert run_async(plain.awidgets("v1", Page(type="home")))[0].kind == "recently_viewed"


def run_async(coroutine: Any) -> Any:
    """`asyncio.run` on a thread of its own: the browser tests' Playwright keeps a loop running
    on the main thread for the whole session."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.mark.parametrize("lookup", ["memory", "callable"])
def test_a_strip_lists_products_in_stock_in_order_up_to_its_limit(
    clock: Clock, lookup: str
) -> None:
    from personalize_sdk.catalog import CallableCatalog, MemoryCatalog, Product

    products = [Product(id=f"p{n}", name=f"Product {n}", in_stock=n % 3 != 1) for n in range(9)]
    asked: list[list[str]] = []

    def fetch(ids: list[str]) -> list[Product]:
        asked.append(list(ids))
        return [p for p in products if p.id in ids]

    catalog = MemoryCatalog(products) if lookup == "memory" else CallableCatalog(fetch)
    strip = {"id": "rv", "kind": "recently_viewed", "limit": 3}
    pz = Personalizer({"campaigns": [strip]}, clock=clock, strict=True, catalog=catalog)
    for pid in ("p0", "gone", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"):  # p8 last: first
        pz.track("v1", "Product Viewed", product(pid, "watches", "Acme", 10.0))
        clock.now += 1
    (widget,) = pz.widgets("v1", Page(type="product", path="/p/p8", product_id="p8"))
    # Newest first, without the page's own product, the unknown id, or those out of stock.
    assert [card["id"] for card in widget.data["products"]] == ["p6", "p5", "p3"]
    if lookup == "callable":
        assert asked[-1] == ["p7", "p6", "p5", "p4", "p3", "p2", "p1", "gone", "p0"]
