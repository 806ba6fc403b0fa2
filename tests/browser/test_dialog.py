"""The exit-intent dialog with the keyboard alone, and its survey."""

from __future__ import annotations

import pytest

from personalize_sdk.widgets import render_widget
from tests.browser.server import (
    Site,
    focus_inside,
    focused,
    is_open,
    leave,
    root,
    wait_open,
    widget,
)

pytestmark = pytest.mark.browser

DIALOG = f'{root("bye")} [role="dialog"]'
SURVEY = {
    "question": "Why are you leaving?",
    "options": [
        {"value": "price", "label": "Too expensive"},
        {"value": "later", "label": "Just looking"},
        {"value": "other", "label": "Something else"},
    ],
}


def open_dialog(site: Site, page, **fields: object) -> None:
    data = widget("exit_intent", "bye", **fields)
    page.goto(site.page("/p/sku-1", [render_widget(data)]))
    page.focus("#search")
    leave(page, "top")
    wait_open(page, "bye")


def test_focus_moves_in_stays_in_with_tab_and_returns_on_escape(site, page):
    open_dialog(
        site,
        page,
        coupon={"code": "STAY10", "expires_at": None, "discount": "10% off"},
        link={"url": "/sale", "text": "See the sale"},
        survey=SURVEY,
    )
    # Focus starts on the first control: the coupon's copy button.
    assert focused(page) == "button.pz-copy[data-pz-copy]"
    stops = []
    for _ in range(5):  # link, radio group, send, close, then round again
        page.keyboard.press("Tab")
        stops.append(focused(page))
    assert stops == [
        "a.pz-cta[data-pz-click]",
        "input",
        "button.pz-submit",
        "button.pz-close[data-pz-dismiss]",
        "button.pz-copy[data-pz-copy]",  # wrapped round to the first
    ]
    page.keyboard.press("Shift+Tab")
    assert focused(page) == "button.pz-close[data-pz-dismiss]"  # and backwards round the end
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        assert focus_inside(page, DIALOG), f"Shift+Tab left the dialog for {focused(page)}"
    page.keyboard.press("Escape")
    assert not is_open(page, "bye")
    assert focused(page) == "input#search"
    site.wait_for(type="dismissed", campaign="bye")


def test_the_dialog_without_controls_but_close_takes_focus_and_closes_with_enter(site, page):
    open_dialog(site, page)
    assert focused(page) == "button.pz-close[data-pz-dismiss]"
    page.keyboard.press("Tab")
    assert focused(page) == "button.pz-close[data-pz-dismiss]"
    page.keyboard.press("Enter")
    assert not is_open(page, "bye")
    assert focused(page) == "input#search"
    [dismissed] = site.wait_for(type="dismissed", campaign="bye")
    assert dismissed["kind"] == "exit_intent"
    assert page.evaluate("() => localStorage.getItem('pz:dismissed:bye')") is not None


def test_the_dialog_is_a_named_modal_dialog_for_assistive_technology(site, page):
    open_dialog(site, page, title="Before you go")
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    dialogs = [node for node in nodes if node.get("role", {}).get("value") == "dialog"]
    assert len(dialogs) == 1
    [dialog] = dialogs
    assert dialog["name"]["value"] == "Before you go"
    properties = {p["name"]: p["value"].get("value") for p in dialog.get("properties", [])}
    assert properties.get("modal") is True


def test_the_survey_sends_the_answer_then_closes(site, page):
    open_dialog(site, page, survey=SURVEY)
    page.check(f'{DIALOG} input[value="later"]')
    page.click(f"{DIALOG} .pz-submit")
    assert not is_open(page, "bye")
    [answer] = site.wait_for(type="survey_answered", campaign="bye")
    assert answer["answer"] == "later"
    assert answer["kind"] == "exit_intent"
    site.wait_for(type="dismissed", campaign="bye")
    # The answer and the dismissal travel in one beacon.
    [beacon] = [b for b in site.beacons if any(e["type"] == "survey_answered" for e in b["events"])]
    assert [e["type"] for e in beacon["events"]] == ["survey_answered", "dismissed"]
    assert page.url.endswith("/p/sku-1")  # the form did not navigate


def test_the_survey_with_the_keyboard_and_no_answer_sends_no_answer(site, page):
    open_dialog(site, page, survey=SURVEY)
    assert focused(page) == "input"  # the first radio
    page.keyboard.press("Tab")
    assert focused(page) == "button.pz-submit"
    page.keyboard.press("Enter")
    assert not is_open(page, "bye")
    site.wait_for(type="dismissed", campaign="bye")
    assert site.events(type="survey_answered") == []
