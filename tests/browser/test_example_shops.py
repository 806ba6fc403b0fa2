"""The shopper's journey through each example shop, in real Chromium, served by
``personalize demo --shop NAME`` (a real server process on 127.0.0.1, embedded store):

browse products -> recently viewed shows them -> add to cart -> the progress bar shows the exact
remaining amount -> exit intent opens the popup -> dismiss -> it does not come back on the next
page -> checkout -> the cart reminder stops.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import Page as BrowserPage

from personalize_sdk.examples.shop import load_products
from personalize_sdk.money import format_money
from tests.browser.server import is_open, leave, root, wait_open

pytestmark = pytest.mark.browser

SHOPS = ("starlette", "django", "flask")
THRESHOLD_USD = Decimal(100)  # free-shipping in examples/data/personalize.toml
BEACON = "**/_personalize/beacon"
PRODUCTS = load_products()
BROWSED = ("sku-101", "sku-105", "sku-110")  # two watches and a shoe


def cheapest_under_threshold() -> str:
    fits = [p for p in PRODUCTS.values() if p.in_stock and p.price("USD") < THRESHOLD_USD]
    return min(fits, key=lambda p: p.price("USD")).id


@pytest.fixture(scope="module", params=SHOPS)
def shop_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The base URL of the example shop `request.param`, served by the CLI in its own process
    (Django's settings then stay out of this test process)."""
    command = [sys.executable, "-m", "personalize_sdk.cli", "demo", "--shop", request.param,
               "--port", "0"]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as server:
        try:
            line = server.stdout.readline() if server.stdout else ""
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            assert found, f"the {request.param} shop did not start: {line!r}"
            yield found.group()
        finally:
            server.terminate()
            server.wait(timeout=10)


def widget_kinds(page: BrowserPage) -> set[str]:
    return set(
        page.eval_on_selector_all("[data-pz-widget]", "els => els.map(e => e.dataset.pzWidget)")
    )


def text_of(page: BrowserPage, selector: str) -> str:
    return page.inner_text(selector).strip()


def test_the_journey_from_browsing_to_an_order(shop_url: str, page: BrowserPage) -> None:
    # Browse three products: each page shows the ones seen before it, newest first.
    for index, product_id in enumerate(BROWSED):
        page.goto(f"{shop_url}/p/{product_id}")
        assert page.inner_text("h1") == PRODUCTS[product_id].name
        if index:
            strip = text_of(page, root("recently-viewed"))
            for seen in BROWSED[:index]:
                assert PRODUCTS[seen].name in strip
            assert PRODUCTS[product_id].name not in strip  # not the product on the page
    page.goto(f"{shop_url}/c/watches")
    strip = text_of(page, root("recently-viewed"))
    names = [PRODUCTS[pid].name for pid in reversed(BROWSED)]
    assert [name for name in names if name in strip] == names
    assert strip.index(names[0]) < strip.index(names[1]) < strip.index(names[2])

    # Add the cheapest product under the free-shipping threshold: the bar says what is left.
    product = PRODUCTS[cheapest_under_threshold()]
    page.goto(f"{shop_url}{product.url}")
    page.click("text=Add to cart")
    page.wait_for_url(f"{shop_url}/cart")
    remaining = format_money(THRESHOLD_USD - product.price("USD"), "USD")
    bar = text_of(page, root("free-shipping"))
    assert f"Spend {remaining} more for free shipping" in bar
    assert product.name in text_of(page, "table")

    # The cart reminder follows the shopper to other pages while the cart holds something.
    page.goto(f"{shop_url}/")
    reminder = text_of(page, root("cart-reminder"))
    assert format_money(product.price("USD"), "USD") in reminder

    # Leaving through the top after the dwell time opens the exit popup; dismissing it is
    # reported to the server before the next page.
    page.goto(f"{shop_url}/p/{BROWSED[0]}")
    assert "exit_intent" in widget_kinds(page)
    page.wait_for_function("() => performance.now() > 2100")  # min_dwell_seconds = 2
    with page.expect_request(BEACON) as shown:
        leave(page, "top")
        wait_open(page, "exit-offer")
    assert '"shown"' in (shown.value.post_data or "")
    assert page.is_visible(f'{root("exit-offer")} [role="dialog"]')
    with page.expect_request(BEACON) as dismissed:
        page.keyboard.press("Escape")
    assert '"dismissed"' in (dismissed.value.post_data or "")
    assert not is_open(page, "exit-offer")
    dismissed.value.response()  # recorded: the beacon was answered

    page.goto(f"{shop_url}/p/{BROWSED[1]}")
    assert "exit_intent" not in widget_kinds(page)
    assert page.query_selector(root("exit-offer")) is None

    # Checkout: the order completes, the cart empties and the reminder stops.
    page.goto(f"{shop_url}/checkout")
    page.fill('input[name="email"]', "asha@example.com")
    page.click("text=Place order")
    page.wait_for_url(re.compile(r".*/order/o-[0-9a-f]+$"))
    assert "Thank you" in page.inner_text("h1")
    page.goto(f"{shop_url}/")
    assert page.query_selector(root("cart-reminder")) is None
    assert "hello_bar" in widget_kinds(page)  # the welcome bar has the slot back
    page.goto(f"{shop_url}/c/shoes")
    assert page.query_selector(root("cart-reminder")) is None
