"""End to end: a real Personalizer decides and renders the page on every request, the real
script reports what the shopper saw and did, and the next page reflects it (caps, dismissal)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page as BrowserPage

from personalize_sdk import Page, Personalizer
from tests.browser.server import Site, document, root

VISITOR = "v-browser"
CAMPAIGNS = [
    {
        "id": "welcome",
        "kind": "hello_bar",
        "text": "Hi {{ first_name or 'there' }}!",
        "caps": {"after_dismiss": "never"},
    },
    {
        "id": "once",
        "kind": "side_coupon",
        "text": "Your code",
        "coupon": {"code": "ONCE10"},
        "caps": {"per_session": 1},
    },
]

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(site: Site) -> Personalizer:
    pz = Personalizer({"campaigns": CAMPAIGNS}, strict=True, secret="browser-test-secret-0001")
    pz.identify(VISITOR, traits={"first_name": "Asha"})
    site.on_beacon = lambda body: pz.beacon(VISITOR, body)
    home = Page(type="home", path="/")
    site.add(
        "/", lambda: document(pz.render(VISITOR, home, "top") + pz.render(VISITOR, home, "side"))
    )
    return pz


def wait_until(check: Callable[[], bool], timeout: float = 6.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_exposures_reach_the_profile_and_caps_apply_on_the_next_page(
    shop: Personalizer, site: Site, page: BrowserPage
) -> None:
    page.goto(site.url("/"))
    assert page.locator(root("welcome")).inner_text().startswith("Hi Asha!")
    wait_until(lambda: "once" in shop.profile(VISITOR).exposures)
    assert shop.profile(VISITOR).exposures["welcome"].shown == 1
    page.reload()
    assert page.locator(root("welcome")).count() == 1
    assert page.locator(root("once")).count() == 0  # seen once this session: capped


def test_a_dismissal_persists_on_the_server(
    shop: Personalizer, site: Site, page: BrowserPage
) -> None:
    page.goto(site.url("/"))
    page.locator(f"{root('welcome')} [data-pz-dismiss]").click()
    wait_until(
        lambda: (
            shop.profile(VISITOR).exposures.get("welcome") is not None
            and shop.profile(VISITOR).exposures["welcome"].dismissed_at is not None
        )
    )
    page.evaluate("localStorage.clear()")  # not the browser's memory: the server's decision
    page.reload()
    assert "Hi Asha" not in page.content()
    assert page.locator(root("welcome")).count() == 0
