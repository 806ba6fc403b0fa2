"""Coupons in a real browser: copying a code, scratching one free, dismissing, remembering."""

from __future__ import annotations

import pytest

from personalize_sdk.widgets import render_widget
from tests.browser.server import focused, root, touch_drag, widget

pytestmark = pytest.mark.browser

SIDE = root("gift")
SCRATCH = root("scratch")


def side_coupon_page(site) -> str:
    return site.page("/cart", [render_widget(widget("side_coupon", "gift", slot="side"))])


def test_copy_puts_the_code_on_the_clipboard_says_copied_and_sends_coupon_copied(
    site, context, page
):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url(""))
    page.goto(side_coupon_page(site))
    page.click(f"{SIDE} .pz-tab")
    page.click(f"{SIDE} [data-pz-copy]")
    assert page.evaluate("() => navigator.clipboard.readText()") == "WELCOME10"
    assert page.text_content(f"{SIDE} .pz-status") == "Copied"
    [copied] = site.wait_for(type="coupon_copied", campaign="gift")
    assert copied["kind"] == "side_coupon"
    assert copied["slot"] == "side"
    assert copied["path"] == "/cart"
    # "Copied" goes away again after two seconds.
    page.wait_for_function(
        "s => document.querySelector(s).textContent === ''", arg=f"{SIDE} .pz-status", timeout=4000
    )


def test_without_the_clipboard_api_the_code_is_selected_and_copied_the_old_way(site, page):
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.goto(side_coupon_page(site))
    page.click(f"{SIDE} .pz-tab")
    page.click(f"{SIDE} [data-pz-copy]")
    assert page.evaluate("() => getSelection().toString()") == "WELCOME10"
    site.wait_for(type="coupon_copied", campaign="gift")


def test_dismiss_removes_the_widget_sends_dismissed_and_is_remembered_after_reload(site, page):
    url = site.page(
        "/",
        [
            render_widget(widget("hello_bar", "hello")),
            render_widget(widget("side_coupon", "gift", slot="side")),
        ],
    )
    page.goto(url)
    page.click(f"{root('hello')} [data-pz-dismiss]")
    assert page.query_selector(root("hello")) is None
    [dismissed] = site.wait_for(type="dismissed", campaign="hello")
    assert dismissed["kind"] == "hello_bar"
    page.reload()
    page.wait_for_function("() => window.personalize !== undefined")
    assert page.query_selector(root("hello")) is None  # a cached page hides it too
    assert page.is_visible(SIDE)  # other campaigns are untouched
    assert page.evaluate("() => localStorage.getItem('pz:dismissed:hello')") is not None


def test_dismiss_still_works_when_local_storage_throws(site, page, errors):
    # Some private modes throw on any use of localStorage: remembering is best effort.
    page.add_init_script(
        "for (const m of ['getItem', 'setItem']) Storage.prototype[m] = () => {"
        " throw new DOMException('denied', 'SecurityError') }"
    )
    page.goto(side_coupon_page(site))
    page.click(f"{SIDE} .pz-tab")
    page.click(f"{SIDE} [data-pz-dismiss]")
    assert page.query_selector(SIDE) is None
    site.wait_for(type="dismissed", campaign="gift")


def scratch_page(site) -> str:
    return site.page("/", [render_widget(widget("scratch_coupon", "scratch"))])


def test_dragging_across_the_cover_reveals_the_code_before_the_pointer_is_released(site, page):
    page.goto(scratch_page(site))
    # The cover lies over the code.
    assert page.eval_on_selector(
        f"{SCRATCH} [data-pz-code]",
        """code => { const r = code.getBoundingClientRect();
          return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)
            .hasAttribute('data-pz-scratch-cover') }""",
    )
    box = page.locator(f"{SCRATCH} [data-pz-scratch-cover]").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 4, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2, y, steps=4)
    assert page.query_selector(f"{SCRATCH} [data-pz-scratch-cover]") is not None  # not yet
    page.mouse.move(box["x"] + box["width"] * 0.55, y, steps=6)
    assert page.eval_on_selector(SCRATCH, "el => el.classList.contains('pz-revealed')")
    assert page.query_selector(f"{SCRATCH} [data-pz-scratch-cover]") is None
    page.mouse.up()
    assert page.is_visible(f"{SCRATCH} [data-pz-code]")
    assert page.text_content(f"{SCRATCH} [data-pz-code]") == "SCRATCH15"
    assert focused(page) == "button.pz-copy[data-pz-copy]"
    assert len(site.wait_for(type="clicked", campaign="scratch")) == 1


@pytest.mark.parametrize("key", ["Enter", " "])
def test_the_keyboard_reveals_the_code_and_lands_on_copy(site, page, key):
    page.goto(scratch_page(site))
    page.focus("#search")
    for _ in range(5):  # the cover is a real tab stop before the page's search field
        page.keyboard.press("Shift+Tab")
        if focused(page) == "button.pz-scratch-cover[data-pz-scratch-cover]":
            break
    assert focused(page) == "button.pz-scratch-cover[data-pz-scratch-cover]"
    page.keyboard.press(key)
    assert page.eval_on_selector(SCRATCH, "el => el.classList.contains('pz-revealed')")
    assert focused(page) == "button.pz-copy[data-pz-copy]"
    page.keyboard.press("Enter")  # and copying works from there
    site.wait_for(type="coupon_copied", campaign="scratch")
    site.wait_for(type="clicked", campaign="scratch")


def test_a_finger_scratches_the_code_free_on_a_phone(site, mobile_page):
    page = mobile_page
    page.goto(scratch_page(site))
    box = page.locator(f"{SCRATCH} [data-pz-scratch-cover]").bounding_box()
    y = box["y"] + box["height"] / 2
    touch_drag(page, (box["x"] + 4, y), (box["x"] + box["width"] * 0.25, y))
    assert page.query_selector(f"{SCRATCH} [data-pz-scratch-cover]") is not None  # not enough
    touch_drag(page, (box["x"] + box["width"] * 0.25, y), (box["x"] + box["width"] - 4, y))
    assert page.eval_on_selector(SCRATCH, "el => el.classList.contains('pz-revealed')")
    assert page.is_visible(f"{SCRATCH} [data-pz-code]")
    site.wait_for(type="clicked", campaign="scratch")
