"""Widgets rendered once per distinct content: never one shopper's content for another."""

from __future__ import annotations

import pytest

from personalize_sdk.campaign import CONTROL
from tests.helpers import Clock, view
from tests.widget_helpers import CART, HOME, bar, shop


def test_copy_is_per_first_name_and_shared_only_when_equal(clock: Clock) -> None:
    pz = shop(clock, bar(text="Hi {{ first_name or 'there' }}"))
    for visitor, name in (("a", "Ann"), ("b", "Bob"), ("c", "Ann"), ("d", None)):
        pz.identify(visitor, traits={"first_name": name} if name else {"tier": "x"})
    html = {visitor: pz.widgets(visitor, HOME)[0].html for visitor in "abcd"}
    assert "Hi Ann" in html["a"] and "Hi Bob" in html["b"] and "Hi there" in html["d"]
    assert html["a"] == html["c"]


def test_unique_coupons_stay_unique(clock: Clock) -> None:
    coupon = {"unique": True, "prefix": "U", "valid_hours": 24}
    pz = shop(clock, {"id": "side", "kind": "side_coupon", "text": "Yours", "coupon": coupon})
    codes = {v: pz.widgets(v, HOME)[0].data["coupon"]["code"] for v in ("a", "b", "a")}
    assert codes["a"] != codes["b"]
    assert pz.widgets("a", HOME)[0].data["coupon"]["code"] == codes["a"]


def test_widget_data_is_read_only_and_a_copy_is_the_callers(clock: Clock) -> None:
    import copy
    import json

    pz = shop(clock, bar(text="Hello", link_url="/sale"))
    first = pz.widgets("a", HOME)[0]
    with pytest.raises(TypeError):
        first.data["text"] = "tampered"  # type: ignore[index]
    with pytest.raises(TypeError):
        first.data["link"]["url"] += "?utm_source=a"  # type: ignore[index]
    mine = copy.deepcopy(first.data)
    mine["link"]["url"] += "?utm_source=a"
    assert pz.widgets("b", HOME)[0].data["link"]["url"] == "/sale"
    assert json.loads(json.dumps(first.data)) == first.data


def test_the_holdout_check_does_not_leave_an_empty_widget_for_the_others(clock: Clock) -> None:
    pz = shop(clock, bar(text="Hello", holdout=0.5))
    variants = [pz.widgets(f"v{i}", HOME)[0] for i in range(30)]
    assert {w.variant for w in variants} == {"default", CONTROL}
    for widget in variants:
        assert ("Hello" in widget.html) is (widget.variant != CONTROL)


def test_progress_follows_each_cart(clock: Clock) -> None:
    pz = shop(clock, {"id": "p", "kind": "progress_bar", "thresholds": {"EUR": 50}})
    pz.track("a", "Product Added", {**view("x", price=10.0), "quantity": 1})
    pz.track("b", "Product Added", {**view("x", price=20.0), "quantity": 1})
    assert pz.widgets("a", CART)[0].data["remaining"] == "€40.00"
    assert pz.widgets("b", CART)[0].data["remaining"] == "€30.00"
    pz.track("a", "Product Added", {**view("y", price=15.0), "quantity": 1})
    assert pz.widgets("a", CART)[0].data["remaining"] == "€25.00"


def test_recently_viewed_follows_the_shopper_and_a_changing_catalog(clock: Clock) -> None:
    from personalize_sdk import Page, Personalizer
    from personalize_sdk.catalog import CallableCatalog, Product

    strip = {"id": "rv", "kind": "recently_viewed"}
    pz = shop(clock, strip)
    page = Page(type="product", path="/p/b-1", product_id="b-1")
    pz.track("a", "Product Viewed", view("w-1"))
    assert [p["id"] for p in pz.widgets("a", page)[0].data["products"]] == ["w-1"]
    pz.track("a", "Product Viewed", view("w-2"))
    assert [p["id"] for p in pz.widgets("a", page)[0].data["products"]] == ["w-2", "w-1"]
    pz.track("a", "Order Completed", {"order_id": "o", "total": 1.0, "products": [view("w-2")]})
    assert [p["id"] for p in pz.widgets("a", page)[0].data["products"]] == ["w-1"]

    names = {"w-1": "Old name"}
    catalog = CallableCatalog(lambda ids: [Product(id=i, name=names[i]) for i in ids if i in names])
    pz = Personalizer({"campaigns": [strip]}, clock=clock, strict=True, catalog=catalog)
    pz.track("a", "Product Viewed", view("w-1"))
    assert pz.widgets("a", page)[0].data["products"][0]["name"] == "Old name"
    names["w-1"] = "New name"
    catalog.invalidate()
    assert pz.widgets("a", page)[0].data["products"][0]["name"] == "New name"


def test_copy_reading_the_cart_is_per_cart(clock: Clock) -> None:
    text = "{{ cart.items }} lines, {{ cart.quantity }} items"
    pz = shop(clock, bar(text=text))
    pz.track("a", "Product Added", {**view("x"), "quantity": 2})
    pz.track("b", "Product Added", {**view("x"), "quantity": 1})
    pz.track("b", "Product Added", {**view("y"), "quantity": 1})
    assert pz.widgets("a", HOME)[0].data["text"] == "1 lines, 2 items"
    assert pz.widgets("b", HOME)[0].data["text"] == "2 lines, 2 items"


def test_a_catalog_products_card_is_made_once_and_shared_read_only(clock: Clock) -> None:
    from personalize_sdk import Page
    from personalize_sdk.widgets import render_widget

    pz = shop(clock, {"id": "rv", "kind": "recently_viewed", "min_items": 1})
    page = Page(type="product", path="/p/b-1", product_id="b-1")
    pz.track("a", "Product Viewed", view("w-1"))
    pz.track("b", "Product Viewed", view("w-2"))
    pz.track("b", "Product Viewed", view("w-1"))
    (mine,), (theirs,) = pz.widgets("a", page), pz.widgets("b", page)
    card = mine.data["products"][0]
    assert [p["id"] for p in theirs.data["products"]] == ["w-1", "w-2"]
    assert card["id"] == "w-1" and theirs.data["products"][0] is card
    with pytest.raises(TypeError):
        card["name"] = "tampered"  # type: ignore[index]
    # The card's markup, made once, is the markup made afresh from a plain copy of the data.
    plain = {**theirs.data, "products": [dict(p) for p in theirs.data["products"]]}
    assert render_widget(plain) == theirs.html
