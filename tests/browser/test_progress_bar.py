"""The progress bar follows the cart: fresh HTML on `personalize:cart-changed`, patched in place."""

from __future__ import annotations

import pytest

from personalize_sdk.widgets import render_widget
from tests.browser.server import NONCE, root, widget

pytestmark = pytest.mark.browser

BAR = root("ship")
CART_CHANGED = "() => document.dispatchEvent(new CustomEvent('personalize:cart-changed'))"


def test_a_cart_change_refreshes_the_bar_in_place(site, page):
    url = "/_personalize/widgets/ship"
    answers = iter(
        [
            widget("progress_bar", "ship", percent=90, text="Spend $5.00 more for free shipping"),
            widget("progress_bar", "ship", percent=100, unlocked=True, text="Free shipping!"),
        ]
    )
    site.add(url, lambda: str(render_widget({**next(answers), "refresh_url": url})))
    first = widget("progress_bar", "ship", refresh_url=url)
    page.goto(site.page("/cart", [render_widget(first)]))
    # Mark the live region: it must be the same element afterwards, or nothing is announced.
    page.eval_on_selector(f"{BAR} [aria-live]", "el => { el.pzMark = 'kept' }")

    page.evaluate(CART_CHANGED)
    page.wait_for_function(
        "s => document.querySelector(s).textContent === 'Spend $5.00 more for free shipping'",
        arg=f"{BAR} [aria-live]",
    )
    assert page.get_attribute(f"{BAR} [role=progressbar]", "aria-valuenow") == "90"
    assert not page.eval_on_selector(BAR, "el => el.classList.contains('pz-unlocked')")

    page.evaluate(CART_CHANGED)
    page.wait_for_function(
        "s => document.querySelector(s).classList.contains('pz-unlocked')", arg=BAR
    )
    assert page.text_content(f"{BAR} [aria-live]") == "Free shipping!"
    assert page.get_attribute(f"{BAR} [role=progressbar]", "aria-valuenow") == "100"
    assert page.get_attribute(f"{BAR} [role=progressbar]", "aria-label") == "Free shipping!"
    page.wait_for_function(  # the width animates to the stylesheet's 100%
        "s => { const f = document.querySelector(s + ' .pz-fill');"
        " return f.getBoundingClientRect().width === f.parentElement.clientWidth; }",
        arg=BAR,
    )
    assert page.eval_on_selector(f"{BAR} [aria-live]", "el => el.pzMark") == "kept"
    assert len(page.query_selector_all(BAR)) == 1


def test_a_failing_refresh_leaves_the_bar_as_it_was(site, page, errors):
    first = widget("progress_bar", "ship", refresh_url="/_personalize/widgets/missing")
    page.goto(site.page("/cart", [render_widget(first)]))
    with page.expect_response("**/_personalize/widgets/missing") as answer:
        page.evaluate(CART_CHANGED)
    assert answer.value.status == 404
    page.wait_for_timeout(300)
    assert page.text_content(f"{BAR} [aria-live]") == "Spend $12.50 more for free shipping"
    assert [e for e in errors if "404" in e] == [
        "console: Failed to load resource: the server responded with a status of 404 (Not Found)"
    ]
    errors.clear()  # the browser's own report of the 404; the script itself stayed quiet


def test_the_meter_shows_under_a_strict_style_policy(site, page):
    # style-src without 'unsafe-inline' refuses style attributes: the markup has none.
    strict = f'<meta http-equiv="Content-Security-Policy" content="style-src \'nonce-{NONCE}\'">'
    bar = widget("progress_bar", "ship", percent=75)
    page.goto(site.page("/cart", [render_widget(bar)], head=strict))
    page.wait_for_function("() => window.personalize !== undefined")
    fill = f"{BAR} .pz-fill"
    width = page.eval_on_selector(fill, "el => el.getBoundingClientRect().width")
    track = page.eval_on_selector(f"{BAR} [role=progressbar]", "el => el.clientWidth")
    assert track > 0 and abs(width / track - 0.75) < 0.02
