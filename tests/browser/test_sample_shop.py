"""The sample shop (tests/data/shop.toml, one campaign of every kind) served by a real
Personalizer to real Chromium: every kind arrives in the first paint, causes no layout shift and
no page error, reports itself shown, and the profile records it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page as BrowserPage

from personalize_sdk import Page, Personalizer
from tests.browser.server import Site, document, root
from tests.browser.test_layout import MEASURE

pytestmark = pytest.mark.browser

DATA = Path(__file__).parent.parent / "data"
VISITOR = "asha"
PRODUCT = Page(type="product", path="/p/w-1", product_id="w-1", category="watches")
CART = Page(type="cart", path="/cart")
SCREENSHOTS = Path("/tmp/personalize-screenshots")
PICTURE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160">'
    '<rect width="160" height="160" fill="#c9d6df"/></svg>'
)


def shop_page(pz: Personalizer, page: Page) -> Callable[[], str]:
    """A storefront template: each slot where a shop would put it."""

    def render() -> str:
        slot = lambda name: pz.render(VISITOR, page, name)  # noqa: E731
        main = (
            f"<main><h1>{page.type}</h1>{slot('cart')}{slot('scratch_coupon')}"
            f"{slot('recently_viewed')}{slot('recommendations')}{slot('brand')}{slot('addins')}"
            f"{slot('editorial')}</main>"
        )
        return document(slot("top") + main + slot("side") + slot("floating") + slot("overlay"))

    return render


@pytest.fixture
def shop(site: Site) -> Personalizer:
    pz = Personalizer(
        DATA / "shop.toml", strict=True, secret="browser-test-secret-0002",
        catalog=DATA / "catalog.json",
    )  # fmt: skip
    w2 = {"product_id": "w-2", "category": "watches", "brand": "Acme", "price": 399.0}
    s1 = {"product_id": "s-1", "category": "straps", "brand": "Acme", "price": 19.99}
    for i in range(3):  # the rest of the shop: bestsellers and bought-together pairs
        pz.track(f"other-{i}", "Order Completed",
                 {"order_id": f"o{i}", "total": 418.99, "products": [w2, s1]})  # fmt: skip
    pz.identify(VISITOR, traits={"first_name": "Asha"})
    for product_id in ("w-3", "w-2"):
        pz.track(VISITOR, "Product Viewed", {"product_id": product_id, "category": "watches",
                                               "brand": "Acme", "price": 100.0})  # fmt: skip
    site.on_beacon = lambda body: pz.beacon(VISITOR, body)
    for product in pz.catalog:  # type: ignore[union-attr]
        if product.image:
            site.add(product.image, PICTURE, "image/svg+xml")
    site.add("/img/dive.jpg", PICTURE, "image/svg+xml")
    site.add("/p/w-1", shop_page(pz, PRODUCT))
    site.add("/cart", shop_page(pz, CART))
    return pz


def wait_until(check: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_product_page_with_every_kind_it_targets(
    shop: Personalizer, site: Site, page: BrowserPage
) -> None:
    page.add_init_script(MEASURE)
    page.goto(site.url("/p/w-1"))
    page.wait_for_function("() => window.personalize !== undefined")
    expected = {"welcome-bar", "side-coupon", "exit-offer", "recently-viewed", "gift-icon",
                "bestsellers", "brand-trending", "watch-guide"}  # fmt: skip
    for campaign in expected:
        assert page.locator(root(campaign)).count() == 1, campaign
    assert page.locator(f"{root('welcome-bar')} .pz-text").inner_text().startswith("Hi Asha")
    strip = page.locator(f"{root('recently-viewed')} a.pz-card")
    assert strip.count() == 2  # w-2 and w-3: the page's own product is left out
    # everything visible in the viewport reports itself shown, and the profile records it
    wait_until(lambda: {"welcome-bar", "gift-icon"} <= set(shop.profile(VISITOR).exposures))
    page.mouse.wheel(0, 3000)
    wait_until(lambda: "watch-guide" in shop.profile(VISITOR).exposures)
    assert page.evaluate("() => window.pzShift") == 0
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "product-desktop.png"), full_page=True)


def test_a_cart_page_on_a_phone(shop: Personalizer, site: Site, mobile_page: BrowserPage) -> None:
    for product_id, price in (("w-3", 129.5), ("s-2", 12.0)):
        shop.track(VISITOR, "Product Added", {"product_id": product_id, "price": price,
                                               "quantity": 1, "currency": "USD"})  # fmt: skip
    mobile_page.goto(site.url("/cart"))
    mobile_page.wait_for_function("() => window.personalize !== undefined")
    bar = mobile_page.locator(f"{root('free-shipping')} [role=progressbar]")
    assert bar.get_attribute("aria-valuenow") == "100"
    assert "unlocked" in mobile_page.locator(root("free-shipping")).inner_text()
    cover = mobile_page.locator(f"{root('scratch-win')} [data-pz-scratch-cover]")
    cover.click()
    code = mobile_page.locator(f"{root('scratch-win')} [data-pz-code]").inner_text()
    assert shop.coupons.verify(code, time.time()).valid
    SCREENSHOTS.mkdir(exist_ok=True)
    mobile_page.screenshot(path=str(SCREENSHOTS / "cart-mobile.png"), full_page=True)
