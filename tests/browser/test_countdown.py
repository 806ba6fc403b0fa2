"""The countdown ticks every second and expires at its deadline."""

from __future__ import annotations

import re
import time

import pytest

from personalize_sdk.widgets import render_widget
from tests.browser.server import root, widget

pytestmark = pytest.mark.browser

SALE = root("sale")
TIMER = f"{SALE} [data-pz-timer]"
EXPIRED_TEXT = f"{SALE} [data-pz-expired-text]"


def countdown_page(site, deadline: float) -> str:
    return site.page("/", [render_widget(widget("countdown", "sale", deadline=deadline))])


def test_it_ticks_every_second_in_hh_mm_ss(site, page):
    page.goto(countdown_page(site, time.time() + 3 * 3600 + 125))
    first = page.text_content(TIMER)
    assert re.fullmatch(r"03:02:0[0-5]", first), first
    page.wait_for_function(
        "([s, first]) => document.querySelector(s).textContent !== first",
        arg=[TIMER, first],
        timeout=1500,
    )
    assert re.fullmatch(r"03:0[12]:[0-5]\d", page.text_content(TIMER))
    assert not page.is_visible(EXPIRED_TEXT)


def test_a_day_or_more_shows_days_first(site, page):
    page.goto(countdown_page(site, time.time() + 2 * 86400 + 3600 + 30))
    assert re.fullmatch(r"2:01:00:(2\d|30)", page.text_content(TIMER))


def test_at_the_deadline_it_expires_and_shows_the_expired_text(site, page):
    page.goto(countdown_page(site, time.time() + 2))
    assert not page.eval_on_selector(SALE, "el => el.classList.contains('pz-expired')")
    assert not page.is_visible(EXPIRED_TEXT)
    page.wait_for_function(
        "s => document.querySelector(s).classList.contains('pz-expired')", arg=SALE, timeout=4000
    )
    assert page.text_content(TIMER) == "00:00:00"
    assert page.is_visible(EXPIRED_TEXT)
    assert page.text_content(EXPIRED_TEXT) == "The sale has ended"


def test_already_over_when_the_page_loads_it_is_expired_at_once(site, page):
    page.goto(countdown_page(site, time.time() - 30))
    page.wait_for_function("() => window.personalize !== undefined")
    assert page.eval_on_selector(SALE, "el => el.classList.contains('pz-expired')")
    assert page.text_content(TIMER) == "00:00:00"
    assert page.is_visible(EXPIRED_TEXT)
