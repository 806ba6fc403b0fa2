"""The three example shops (Starlette, Flask, Django) behave the same, through each framework's
own test client: every page and its widgets, the visitor cookie, the cart and its progress bar
to the cent, the EU market in euros, an order that lands in the profile and ends the cart
reminder, and bad input that never gives a 500 and is always escaped.
"""

from __future__ import annotations

import html
import re
import sys
from decimal import Decimal
from http.cookies import SimpleCookie

import pytest
from markupsafe import escape

from personalize_sdk.examples.shop import CAMPAIGNS, MAX_QUANTITY, load_products
from personalize_sdk.money import format_money

from .shops import Client, Reply, Shop

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRODUCTS = load_products()
CHEAP = "sku-152"  # the cheapest product: a few of them stay under either threshold
[FREE_SHIPPING] = [
    campaign
    for campaign in tomllib.loads(CAMPAIGNS.read_text(encoding="utf-8"))["campaigns"]
    if campaign["id"] == "free-shipping"
]
THRESHOLDS = {code: Decimal(str(amount)) for code, amount in FREE_SHIPPING["thresholds"].items()}
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"  # by Jinja and by the SDK alike
WIDGET = re.compile(r'data-pz-widget="([a-z_]+)"')
CAMPAIGN = re.compile(r'data-pz-campaign="([a-z0-9-]+)"')

# The widget kinds a new visitor sees on each page (more may show as the shop fills up).
EVERYWHERE = {"hello_bar", "floating_icon"}
PAGES = {
    "/": EVERYWHERE | {"countdown", "editorial", "exit_intent"},
    "/c/watches": EVERYWHERE | {"countdown", "editorial", "exit_intent", "side_coupon"},
    f"/p/{CHEAP}": EVERYWHERE | {"editorial", "exit_intent", "side_coupon"},
    "/search?q=watch": EVERYWHERE | {"exit_intent"},
    "/cart": EVERYWHERE | {"exit_intent", "scratch_coupon"},
    "/checkout": EVERYWHERE,
    "/signin": EVERYWHERE,
}


def kinds(reply: Reply) -> set[str]:
    return set(WIDGET.findall(reply.text))


def campaigns(reply: Reply) -> set[str]:
    return set(CAMPAIGN.findall(reply.text))


def cookies(reply: Reply) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in reply.set_cookies:
        jar.load(header)
    return jar


def page(client: Client, path: str, **params: str) -> Reply:
    reply = client.get(path, params or None)
    assert reply.status == 200, (path, reply.status, reply.text[:500])
    assert reply.headers["content-type"].startswith("text/html")
    return reply


def redirected(reply: Reply, to: str | None = None) -> str:
    assert reply.status == 303, (reply.status, reply.text[:500])
    if to is not None:
        assert reply.headers["location"] == to
    return reply.headers["location"]


def add(client: Client, product_id: str, quantity: object = 1) -> None:
    data = {"product_id": product_id, "quantity": str(quantity)}
    redirected(client.post("/cart/add", data), "/cart")


def cart_count(reply: Reply) -> int:
    found = re.search(r'data-cart-count="(\d+)"', reply.text)
    assert found, "no cart link"
    return int(found.group(1))


def visitor(shop: Shop, client: Client) -> str:
    cookie = client.cookie("pz_vid")
    assert cookie is not None
    found = shop.visitor(cookie)
    assert found is not None and found.startswith("v-")
    return found


def spend_more(currency: str, quantity: int, product_id: str = CHEAP) -> str:
    """The progress bar's text, from the catalog's price and the campaign's threshold."""
    remaining = THRESHOLDS[currency] - PRODUCTS[product_id].price(currency) * quantity
    assert remaining > 0
    return FREE_SHIPPING["text"].replace("{{ remaining }}", format_money(remaining, currency))


# -- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(PAGES))
def test_every_page_answers_with_its_widgets(client: Client, path: str) -> None:
    target, _, query = path.partition("?")
    reply = page(client, target, **dict([query.split("=")]) if query else {})
    assert PAGES[path] <= kinds(reply), path
    assert "progress_bar" not in kinds(reply)  # an empty cart has nothing to make progress on
    assert "/_personalize/static/personalize.js" in reply.text
    assert "Cookie" in reply.headers["vary"]


def test_a_new_visitor_gets_the_signed_cookie(shop: Shop, client: Client) -> None:
    reply = page(client, "/")
    morsel = cookies(reply)["pz_vid"]
    assert morsel["httponly"] and morsel["samesite"].lower() == "lax" and morsel["path"] == "/"
    assert shop.visitor(morsel.value) == visitor(shop, client)
    assert visitor(shop, client) == visitor(shop, client)  # the same visitor on the next page
    page(client, "/cart")
    assert shop.visitor(client.cookie("pz_vid") or "") == shop.visitor(morsel.value)


def test_the_product_page_shows_the_product_and_views_are_remembered(client: Client) -> None:
    product = PRODUCTS[CHEAP]
    reply = page(client, f"/p/{CHEAP}")
    assert f"<h1>{escape(product.name)}</h1>" in reply.text
    assert format_money(product.price("USD"), "USD") in reply.text
    home = page(client, "/")
    assert "recently_viewed" in kinds(home)
    assert f'href="{product.url}"' in home.text


def test_a_category_lists_its_products(client: Client) -> None:
    reply = page(client, "/c/watches")
    listed = set(re.findall(r'data-product="([^"]+)"', reply.text))
    assert listed == {p.id for p in PRODUCTS.values() if p.category == "watches"}


def test_search_finds_by_name_and_echoes_the_query(client: Client) -> None:
    product = PRODUCTS[CHEAP]
    reply = page(client, "/search", q=product.name)
    assert f'data-product="{CHEAP}"' in reply.text
    assert f'value="{escape(product.name)}"' in reply.text


def test_the_product_image_is_an_svg(client: Client) -> None:
    reply = client.get(f"/img/{CHEAP}.svg")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("image/svg+xml")
    assert reply.headers["cache-control"] == "public, max-age=86400"
    assert reply.text.startswith("<svg")
    assert client.get("/img/sku-nope.svg").status == 404


@pytest.mark.parametrize("path", ["/nope", "/p/sku-nope", "/c/nope", "/order/o-nope"])
def test_an_unknown_page_is_the_shops_404_page(client: Client, path: str) -> None:
    reply = client.get(path)
    assert reply.status == 404
    assert "<h1>Not found</h1>" in reply.text
    assert "hello_bar" in kinds(reply)


def test_an_unknown_asset_is_a_plain_404(client: Client) -> None:
    reply = client.get("/_personalize/static/nope.js")
    assert reply.status == 404
    assert reply.headers["content-type"].startswith("text/plain")
    assert client.get("/_personalize/static/personalize.js").status == 200


def test_a_page_refuses_the_wrong_method(client: Client) -> None:
    assert client.get("/cart/add").status == 405
    assert client.post("/", {}).status == 405


# -- the cart and the progress bar -----------------------------------------------------------


def test_adding_to_the_cart_shows_the_exact_remaining_amount(client: Client) -> None:
    add(client, CHEAP, 2)
    cart = page(client, "/cart")
    assert cart_count(cart) == 2
    assert "progress_bar" in kinds(cart)
    assert spend_more("USD", 2) in html.unescape(cart.text)
    line_total = PRODUCTS[CHEAP].price("USD") * 2
    assert f'<strong class="cart-total">{format_money(line_total, "USD")}</strong>' in cart.text
    product = page(client, f"/p/{CHEAP}")
    assert spend_more("USD", 2) in html.unescape(product.text)
    assert "cart-reminder" in campaigns(page(client, "/"))


def test_past_the_threshold_the_bar_says_free_shipping(client: Client) -> None:
    add(client, "sku-101")  # $346.99
    cart = page(client, "/cart")
    assert "progress_bar" in kinds(cart)
    assert FREE_SHIPPING["unlocked_text"] in html.unescape(cart.text)


def test_removing_empties_the_cart(client: Client) -> None:
    add(client, CHEAP)
    redirected(client.post("/cart/remove", {"product_id": CHEAP}), "/cart")
    cart = page(client, "/cart")
    assert cart_count(cart) == 0 and "Your cart is empty." in cart.text
    assert "cart-reminder" not in campaigns(page(client, "/"))


def test_quantities_add_up_to_the_cap(client: Client) -> None:
    add(client, CHEAP, MAX_QUANTITY)
    add(client, CHEAP, 3)
    assert cart_count(page(client, "/cart")) == MAX_QUANTITY


# -- markets ----------------------------------------------------------------------------------


def test_the_eu_market_prices_and_measures_in_euros(client: Client) -> None:
    back = "http://testserver/p/" + CHEAP
    reply = client.post("/market", {"market": "eu"}, Referer=back)
    redirected(reply, back)
    morsel = cookies(reply)["market"]
    assert morsel.value == "eu" and int(morsel["max-age"]) == 365 * 86_400
    product = page(client, f"/p/{CHEAP}")
    assert format_money(PRODUCTS[CHEAP].price("EUR"), "EUR") in product.text
    assert "Prices in EUR" in product.text
    add(client, CHEAP, 3)
    cart = page(client, "/cart")
    assert spend_more("EUR", 3) in html.unescape(cart.text)
    total = format_money(PRODUCTS[CHEAP].price("EUR") * 3, "EUR")
    assert f'<strong class="cart-total">{total}</strong>' in cart.text


@pytest.mark.parametrize("market", ["us", "xx", HOSTILE, ""])
def test_any_other_market_is_the_us_one(client: Client, market: str) -> None:
    reply = client.post("/market", {"market": market})
    redirected(reply, "/")
    assert cookies(reply)["market"].value == "us"
    assert "Prices in USD" in page(client, "/").text


# -- orders -----------------------------------------------------------------------------------


def test_checkout_completes_an_order_and_ends_the_cart_reminder(shop: Shop, client: Client) -> None:
    add(client, CHEAP, 2)
    assert "cart-reminder" in campaigns(page(client, "/"))
    checkout = page(client, "/checkout")
    assert "Place order" in checkout.text
    to = redirected(client.post("/checkout", {"email": "asha@example.com"}))
    order_id = to.removeprefix("/order/")
    assert to.startswith("/order/o-")
    order = page(client, to)
    assert f'data-order="{order_id}"' in order.text
    assert f"2 \u00d7 {escape(PRODUCTS[CHEAP].name)}" in order.text
    profile = shop.profile(visitor(shop, client))
    assert profile["order_ids"] == [order_id] and profile["order_count"] == 1
    assert profile["user_id"] == "asha@example.com"  # the e-mail identified the shopper
    assert profile["cart_quantity"] == 0
    home = page(client, "/")
    assert "cart-reminder" not in campaigns(home)
    assert cart_count(home) == 0
    assert "Your cart is empty." in page(client, "/checkout").text


def test_checkout_of_an_empty_cart_goes_back_to_it(shop: Shop, client: Client) -> None:
    page(client, "/")
    redirected(client.post("/checkout", {"email": "asha@example.com"}), "/cart")
    assert shop.profile(visitor(shop, client))["order_count"] == 0


def test_signing_in_greets_the_shopper(shop: Shop, client: Client) -> None:
    page(client, "/")
    form = {"email": "Asha@Example.com", "first_name": "Asha"}
    redirected(client.post("/signin", form), "/")
    home = page(client, "/")
    assert "Hi Asha," in home.text  # the welcome bar, from the trait the sign-in recorded
    profile = shop.profile(visitor(shop, client))
    assert profile["user_id"] == "asha@example.com"
    assert profile["traits"]["first_name"] == "Asha"


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("product_id", "quantity"),
    [
        ("sku-nope", "1"),
        (HOSTILE, "1"),
        ("", "1"),
        (CHEAP, "abc"),
        (CHEAP, "-1"),
        (CHEAP, "0"),
        (CHEAP, str(10**9)),
        (CHEAP, "1e3"),
        (CHEAP, ""),
        (CHEAP, "1" * 5000),
    ],
)
def test_a_bad_add_changes_nothing(client: Client, product_id: str, quantity: str) -> None:
    add(client, product_id, quantity)
    cart = page(client, "/cart")
    assert cart_count(cart) == 0 and "progress_bar" not in kinds(cart)


def test_a_sold_out_product_cannot_be_added(client: Client) -> None:
    sold_out = next(p.id for p in PRODUCTS.values() if not p.in_stock)
    assert "Sold out" in page(client, f"/p/{sold_out}").text
    add(client, sold_out)
    assert cart_count(page(client, "/cart")) == 0


def test_a_form_without_fields_changes_nothing(client: Client) -> None:
    redirected(client.post("/cart/add", {}), "/cart")
    redirected(client.post("/cart/remove", {}), "/cart")
    redirected(client.post("/signin", {}), "/")
    redirected(client.post("/market", {}), "/")
    assert cart_count(page(client, "/cart")) == 0


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        (HOSTILE, f"Nothing matches “{ESCAPED}”"),
        ('"><img src=x onerror=alert(1)>', "&gt;&lt;img src=x onerror=alert(1)&gt;"),
        ("x" * 10_000, f"Nothing matches “{'x' * 100}”"),
        ("  ", "<h1>Search</h1>"),
    ],
)
def test_a_hostile_search_is_escaped(client: Client, query: str, shown: str) -> None:
    reply = page(client, "/search", q=query)
    assert "<script>alert" not in reply.text and "<img src=x" not in reply.text
    assert shown in reply.text


@pytest.mark.parametrize("path", [f"/p/{HOSTILE}", f"/c/{HOSTILE}", f"/order/{HOSTILE}"])
def test_a_hostile_path_is_a_404(client: Client, path: str) -> None:
    reply = client.get(path)
    assert reply.status == 404
    assert "<script>alert" not in reply.text


def test_a_hostile_name_is_escaped_in_the_widgets(shop: Shop, client: Client) -> None:
    page(client, "/")
    form = {"email": f"{HOSTILE}@example.com", "first_name": HOSTILE}
    redirected(client.post("/signin", form), "/")
    add(client, CHEAP)
    home = page(client, "/")
    assert "<script>alert" not in home.text
    assert "cart-reminder" in campaigns(home)
    assert f"{ESCAPED}, your cart is waiting" in home.text  # the widget
    assert shop.profile(visitor(shop, client))["traits"]["first_name"] == HOSTILE


def test_a_hostile_checkout_email_is_escaped(client: Client) -> None:
    add(client, CHEAP)
    to = redirected(client.post("/checkout", {"email": f"{HOSTILE}@example.com"}))
    assert "<script>alert" not in page(client, to).text
    assert "<script>alert" not in page(client, "/").text


@pytest.mark.parametrize("forged", ["garbage", "v-attacker.AAAA", HOSTILE, "x" * 4000])
def test_a_forged_cookie_is_a_new_visitor(shop: Shop, forged: str) -> None:
    client = shop.client()
    reply = client.get("/", None, Cookie=f"pz_vid={forged}; market={forged}")
    assert reply.status == 200
    assert "Prices in USD" in reply.text
    fresh = cookies(reply)["pz_vid"].value
    assert fresh != forged and (shop.visitor(fresh) or "").startswith("v-")
