"""Widget markup (docs/markup.md): structure, accessibility hooks, escaping and URL checks.

Every render is parsed with `html.parser` into a small element tree (which also checks that every
opened element is closed in order), and the assertions are made on elements and attributes, never
on substrings of the HTML.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Mapping
from html.parser import HTMLParser
from typing import Any

import pytest
from markupsafe import Markup, escape

from personalize_sdk import ConfigError
from personalize_sdk.widgets import KINDS, RENDERERS, render_control, render_widget
from personalize_sdk.widgets._common import _product_card
from personalize_sdk.widgets._fields import escape_text
from personalize_sdk.widgets._urls import checked_url

# --- a parsed element tree ------------------------------------------------------------------

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}
)


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Element | str] = []

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"

    def iter(self) -> Iterator[Element]:
        """This element's descendants in document order."""
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    @property
    def elements(self) -> list[Element]:
        return [child for child in self.children if isinstance(child, Element)]

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def find_all(self, tag: str | None = None, **attrs: str | None) -> list[Element]:
        """Descendants with `tag` and these attributes (`data_pz_code=...` means `data-pz-code`;
        `...=True` only asks that the attribute is present)."""
        wanted = {name.replace("_", "-"): value for name, value in attrs.items()}
        found = []
        for element in self.iter():
            if tag is not None and element.tag != tag:
                continue
            if all(
                name in element.attrs and (value is True or element.attrs[name] == value)
                for name, value in wanted.items()
            ):
                found.append(element)
        return found

    def one(self, tag: str | None = None, **attrs: Any) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one {tag} {attrs}, found {found}"
        return found[0]

    def has_ancestor(self, ancestor: Element) -> bool:
        node = self.parent
        while node is not None:
            if node is ancestor:
                return True
            node = node.parent
        return False


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.document = Element("#document", {}, None)
        self.open = self.document

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        assert len(names) == len(set(names)), f"duplicate attribute in <{tag} {attrs}>"
        element = Element(tag, dict(attrs), self.open)
        self.open.children.append(element)
        if tag not in VOID:
            self.open = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        assert tag not in VOID, f"</{tag}> closes a void element"
        assert self.open.tag == tag, f"</{tag}> closes <{self.open.tag}>"
        assert self.open.parent is not None
        self.open = self.open.parent

    def handle_data(self, data: str) -> None:
        self.open.children.append(data)


def parse(html: str) -> Element:
    """The single root element of `html`, every element closed in order."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.open is builder.document, f"<{builder.open.tag}> is never closed"
    [root] = builder.document.children
    assert isinstance(root, Element)
    return root


def render(data: Mapping[str, Any]) -> Element:
    html = render_widget(data)
    assert isinstance(html, Markup)
    return parse(str(html))


# --- realistic data for every kind ------------------------------------------------------------

DEADLINE = 1_731_283_200.0  # 2024-11-11T00:00:00Z
COUPON = {"code": "WELCOME10", "expires_at": 1_731_369_599.0, "discount": "10% off"}
PRODUCTS = [
    {
        "id": f"sku-{n}",
        "name": f"Linen shirt {n}",
        "url": f"/p/sku-{n}",
        "image": f"https://cdn.example/img/sku-{n}.jpg",
        "price": "$49.00",
    }
    for n in range(4)
]
SAMPLES: dict[str, dict[str, Any]] = {
    "hello_bar": {
        "text": "Welcome back, Asha!",
        "link": {"url": "/sale", "text": "Shop the sale"},
        "dismissible": True,
    },
    "side_coupon": {
        "tab": "10% off",
        "text": "Your welcome gift",
        "coupon": COUPON,
        "position": "left",
    },
    "exit_intent": {
        "title": "Before you go",
        "text": "Take 10% off your first order",
        "coupon": COUPON,
        "link": {"url": "/cart", "text": "Back to cart"},
        "survey": {
            "question": "Why are you leaving?",
            "options": [
                {"value": "price", "label": "Too expensive"},
                {"value": "browsing", "label": "Just browsing"},
            ],
        },
        "trigger": {
            "sensitivity": 30,
            "delay_ms": 250,
            "min_dwell_ms": 4000,
            "mobile": ["scroll", "idle"],
            "idle_ms": 20000,
        },
    },
    "progress_bar": {
        "text": "Spend $12.50 more for free shipping",
        "unlocked": False,
        "percent": 75.0,
        "remaining": "$12.50",
        "threshold": "$50.00",
        "currency": "USD",
        "refresh_url": "/_personalize/widgets/free-shipping",
    },
    "recently_viewed": {"title": "Recently viewed", "products": PRODUCTS},
    "recommendations": {
        "title": "Bestsellers in Shirts",
        "products": PRODUCTS[:2],
        "strategy": "bestsellers",
    },
    "floating_icon": {
        "label": "Chat with us",
        "icon": "\N{SPEECH BALLOON}",
        "link": {"url": "/help", "text": "Help"},
        "position": "right",
    },
    "scratch_coupon": {
        "title": "Scratch & win",
        "text": "A surprise for you",
        "cover_text": "Scratch here",
        "coupon": COUPON,
    },
    "countdown": {
        "title": "Flash sale",
        "text": "Ends in",
        "deadline": DEADLINE,
        "remaining_seconds": 93_784.0,  # 1 day 02:03:04
        "expired_text": "The sale is over",
        "link": {"url": "/sale", "text": "Shop the sale"},
    },
    "editorial": {
        "title": "From our journal",
        "article": {
            "title": "How to style linen",
            "url": "/journal/linen",
            "image": "https://cdn.example/journal/linen.jpg",
            "summary": "Five looks for summer",
        },
    },
}
IDENTITY = {
    "campaign_id": "welcome",
    "variant": "a",
    "slot": "top",
    "beacon": "/_personalize/beacon",
}
URL_KEYS = frozenset({"url", "image", "refresh_url"})


def widget_data(kind: str, **changes: Any) -> dict[str, Any]:
    """A deep copy of the sample of `kind`, with top-level `changes` (None deletes the key)."""
    data = {"kind": kind, **copy.deepcopy(IDENTITY), **copy.deepcopy(SAMPLES[kind])}
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def replace_strings(value: Any, new: Callable[[str, str], Any], key: str = "") -> Any:
    """`value` with every string under a key replaced by `new(key, string)`."""
    if isinstance(value, Mapping):
        return {k: replace_strings(v, new, k) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_strings(v, new, key) for v in value]
    if isinstance(value, str):
        return new(key, value)
    return value


every_kind = pytest.mark.parametrize("kind", sorted(KINDS))


# --- the registry and the root ------------------------------------------------------------------


def test_every_kind_has_one_renderer_and_a_sample_here():
    assert set(RENDERERS) == KINDS == set(SAMPLES)
    assert "hello_bar" in KINDS and len(KINDS) == 10
    with pytest.raises(TypeError):
        RENDERERS["hello_bar"] = RENDERERS["countdown"]  # type: ignore[index]


@every_kind
def test_root_names_the_widget_for_the_script_and_the_beacons(kind):
    root = render(widget_data(kind))
    assert root.tag == "div"
    assert {"pz", f"pz-{kind.replace('_', '-')}"} <= root.classes()
    assert root.attrs["data-pz-widget"] == kind
    assert root.attrs["data-pz-campaign"] == "welcome"
    assert root.attrs["data-pz-variant"] == "a"
    assert root.attrs["data-pz-slot"] == "top"
    assert root.attrs["data-pz-beacon"] == "/_personalize/beacon"
    assert ("data-pz-overlay" in root.attrs) == (kind == "exit_intent")
    assert ("hidden" in root.attrs) == (kind == "exit_intent")


@every_kind
def test_renderers_in_the_registry_give_the_same_markup(kind):
    data = widget_data(kind)
    assert RENDERERS[kind](data) == render_widget(data)


@every_kind
def test_the_result_is_safe_markup_that_templates_do_not_escape_again(kind):
    html = render_widget(widget_data(kind))
    assert isinstance(html, Markup)
    assert escape(html) == html


@every_kind
def test_every_aria_labelledby_points_to_one_element_and_ids_are_unique(kind):
    root = render(widget_data(kind))
    ids = [element.attrs["id"] for element in root.find_all(id=True)]
    assert len(ids) == len(set(ids))
    for element in root.find_all(aria_labelledby=True):
        target = root.one(id=element.attrs["aria-labelledby"])
        assert target.text.strip()


@every_kind
def test_buttons_are_typed_and_named(kind):
    root = render(widget_data(kind))
    for button in root.find_all("button"):
        assert button.attrs.get("type") in {"button", "submit"}
        assert (button.attrs.get("aria-label") or button.text).strip()
    for dismiss in root.find_all("button", data_pz_dismiss=True):
        assert dismiss.attrs["aria-label"] in {"Dismiss", "Close"}


@every_kind
def test_images_reserve_their_space_and_have_alt_text(kind):
    root = render(widget_data(kind))
    for image in root.find_all("img"):
        assert int(image.attrs["width"]) > 0 and int(image.attrs["height"]) > 0
        assert "alt" in image.attrs


# --- each kind -------------------------------------------------------------------------------


def test_hello_bar_is_a_named_region_with_call_to_action_and_dismiss():
    root = render(widget_data("hello_bar"))
    assert root.attrs["role"] == "region"
    assert root.attrs["aria-label"] == "Announcement"
    assert root.one("p", **{"class": "pz-text"}).text == "Welcome back, Asha!"
    cta = root.one("a", data_pz_click=True)
    assert cta.classes() == {"pz-cta"}
    assert (cta.attrs["href"], cta.text) == ("/sale", "Shop the sale")
    dismiss = root.one("button", data_pz_dismiss=True)
    assert dismiss.classes() == {"pz-dismiss"}
    assert dismiss.attrs["aria-label"] == "Dismiss"


def test_hello_bar_dismiss_button_can_be_turned_off():
    root = render(widget_data("hello_bar", dismissible=False))
    assert root.find_all("button") == []


def test_side_coupon_is_a_details_drawer_with_code_copy_and_dismiss():
    root = render(widget_data("side_coupon"))
    assert "pz-left" in root.classes()
    drawer = root.one("details")
    assert drawer.classes() == {"pz-drawer"}
    tab = drawer.elements[0]
    assert (tab.tag, tab.classes(), tab.text) == ("summary", {"pz-tab"}, "10% off")
    code = root.one("code", data_pz_code=True)
    assert code.text == "WELCOME10"
    assert code.has_ancestor(drawer)
    copy_button = root.one("button", data_pz_copy=True)
    status = copy_button.one(**{"class": "pz-status"})
    assert status.attrs["aria-live"] == "polite"
    assert root.one("button", data_pz_dismiss=True).has_ancestor(drawer)
    assert root.one(**{"class": "pz-discount"}).text == "10% off"
    expiry = root.one("time")
    assert expiry.attrs["datetime"] == "2024-11-11T23:59:59Z"
    assert expiry.text == "2024-11-11 23:59 UTC"


def test_side_coupon_defaults_to_the_right_edge():
    assert "pz-right" in render(widget_data("side_coupon", position=None)).classes()


def test_exit_intent_is_a_hidden_labelled_modal_dialog_with_its_trigger_settings():
    root = render(widget_data("exit_intent"))
    assert root.attrs["data-pz-sensitivity"] == "30"
    assert root.attrs["data-pz-delay"] == "250"
    assert root.attrs["data-pz-min-dwell"] == "4000"
    assert root.attrs["data-pz-idle"] == "20000"
    assert root.attrs["data-pz-mobile"] == "scroll,idle"
    backdrop, dialog = root.elements
    assert backdrop.classes() == {"pz-backdrop"} and "data-pz-dismiss" in backdrop.attrs
    assert dialog.attrs["role"] == "dialog"
    assert dialog.attrs["aria-modal"] == "true"
    assert dialog.attrs["tabindex"] == "-1"
    title = dialog.one(id=dialog.attrs["aria-labelledby"])
    assert (title.tag, title.text) == ("h2", "Before you go")
    assert dialog.one("code", data_pz_code=True).text == "WELCOME10"
    assert dialog.one("a", data_pz_click=True).attrs["href"] == "/cart"
    close = dialog.one("button", data_pz_dismiss=True)
    assert close.classes() == {"pz-close"} and close.attrs["aria-label"] == "Close"


def test_exit_intent_survey_is_a_form_with_a_legend_and_one_radio_group():
    root = render(widget_data("exit_intent"))
    form = root.one("form", data_pz_survey=True)
    fieldset = form.one("fieldset")
    assert fieldset.one("legend").text == "Why are you leaving?"
    radios = fieldset.find_all("input", type="radio")
    assert [radio.attrs["value"] for radio in radios] == ["price", "browsing"]
    assert len({radio.attrs["name"] for radio in radios}) == 1
    assert [radio.parent.text.strip() for radio in radios] == ["Too expensive", "Just browsing"]
    assert all(radio.parent.tag == "label" for radio in radios)
    assert form.one("button").attrs["type"] == "submit"


def test_exit_intent_trigger_defaults_follow_the_documented_example():
    root = render(widget_data("exit_intent", trigger=None))
    assert root.attrs["data-pz-sensitivity"] == "20"
    assert root.attrs["data-pz-delay"] == "0"
    assert root.attrs["data-pz-min-dwell"] == "5000"
    assert root.attrs["data-pz-idle"] == "30000"
    assert root.attrs["data-pz-mobile"] == "scroll,back,idle"


def test_exit_intent_mobile_triggers_can_be_none_and_repeats_count_once():
    root = render(widget_data("exit_intent", trigger={"mobile": []}))
    assert root.attrs["data-pz-mobile"] == ""
    root = render(widget_data("exit_intent", trigger={"mobile": ("back", "back", "scroll")}))
    assert root.attrs["data-pz-mobile"] == "back,scroll"


def test_progress_bar_has_live_text_and_a_labelled_progressbar():
    root = render(widget_data("progress_bar"))
    assert root.attrs["data-pz-refresh"] == "/_personalize/widgets/free-shipping"
    assert "pz-unlocked" not in root.classes()
    text = root.one("p")
    assert text.attrs["aria-live"] == "polite"
    assert text.text == "Spend $12.50 more for free shipping"
    meter = root.one(role="progressbar")
    assert meter.classes() == {"pz-meter"}
    assert (meter.attrs["aria-valuemin"], meter.attrs["aria-valuemax"]) == ("0", "100")
    assert meter.attrs["aria-valuenow"] == "75"
    assert meter.attrs["aria-label"] == "Spend $12.50 more for free shipping"
    assert meter.one("span").attrs["data-pz-percent"] == "75"
    assert "style" not in meter.one("span").attrs  # a strict CSP refuses style attributes


@pytest.mark.parametrize(
    ("percent", "shown", "width"),
    [
        (62.5, "62.5", "62"),
        (0, "0", "0"),
        (100, "100", "100"),
        (33.3333, "33.33", "33"),
        (150.0, "100", "100"),
        (-5, "0", "0"),
        (99.6, "99.6", "100"),
    ],
)
def test_progress_percent_is_a_clamped_formatted_number(percent, shown, width):
    meter = render(widget_data("progress_bar", percent=percent)).one(role="progressbar")
    assert meter.attrs["aria-valuenow"] == shown
    assert meter.one("span").attrs["data-pz-percent"] == width


def test_unlocked_progress_bar_gets_its_class():
    root = render(widget_data("progress_bar", unlocked=True, percent=100))
    assert "pz-unlocked" in root.classes()


@pytest.mark.parametrize("kind", ["recently_viewed", "recommendations"])
def test_product_strip_is_a_labelled_section_of_linked_cards(kind):
    data = widget_data(kind)
    section = render(data).one("section")
    title = section.one(id=section.attrs["aria-labelledby"])
    assert (title.tag, title.text) == ("h2", data["title"])
    items = section.one("ul", **{"class": "pz-products"}).elements
    assert [item.tag for item in items] == ["li"] * len(data["products"])
    for item, product in zip(items, data["products"], strict=True):
        card = item.one("a", data_pz_click=True)
        assert card.attrs["href"] == product["url"]
        image = card.one("img")
        assert image.attrs["src"] == product["image"]
        assert image.attrs["alt"] == product["name"]
        assert image.attrs["loading"] == "lazy"
        assert card.one(**{"class": "pz-name"}).text == product["name"]
        assert card.one(**{"class": "pz-price"}).text == "$49.00"


def test_floating_icon_is_a_named_link_with_a_decorative_icon_and_dismiss():
    root = render(widget_data("floating_icon"))
    assert "pz-right" in root.classes()
    fab = root.one("a", data_pz_click=True)
    assert fab.classes() == {"pz-fab"}
    assert (fab.attrs["href"], fab.attrs["aria-label"]) == ("/help", "Chat with us")
    [icon] = fab.elements
    assert icon.attrs == {"class": "pz-icon", "aria-hidden": "true"}
    assert icon.text == "\N{SPEECH BALLOON}"
    assert root.one("button", data_pz_dismiss=True).attrs["aria-label"] == "Dismiss"


def test_floating_icon_without_icon_shows_its_label():
    fab = render(widget_data("floating_icon", icon=None)).one("a")
    assert fab.find_all(**{"class": "pz-icon"}) == []
    assert fab.one(**{"class": "pz-label"}).text == "Chat with us"


def test_scratch_coupon_holds_the_code_under_a_cover_and_a_copy_button():
    root = render(widget_data("scratch_coupon"))
    scratch = root.one(data_pz_scratch=True)
    assert scratch.one("code", data_pz_code=True).text == "WELCOME10"
    cover = scratch.one("button", data_pz_scratch_cover=True)
    assert (cover.attrs["type"], cover.text) == ("button", "Scratch here")
    copy_button = root.one("button", data_pz_copy=True)
    assert copy_button.one(aria_live="polite")
    assert root.one(**{"class": "pz-title"}).text == "Scratch & win"


def test_countdown_shows_the_server_computed_remaining_time():
    root = render(widget_data("countdown"))
    assert root.attrs["data-pz-deadline"] == "1731283200"
    timer = root.one("time", data_pz_timer=True)
    assert timer.attrs["datetime"] == "2024-11-11T00:00:00Z"
    assert timer.text == "1:02:03:04"
    expired = root.one(data_pz_expired_text=True)
    assert "hidden" in expired.attrs and expired.text == "The sale is over"
    assert "pz-expired" not in root.classes()
    cta = root.one("a", data_pz_click=True)
    assert (cta.attrs["href"], cta.text) == ("/sale", "Shop the sale")


@pytest.mark.parametrize(
    ("remaining", "shown"),
    [
        (7384.0, "02:03:04"),
        (7383.1, "02:03:04"),  # rounded up, as the script does
        (59, "00:00:59"),
        (0.5, "00:00:01"),
        (86_400, "1:00:00:00"),
        (12 * 86_400 + 1, "12:00:00:01"),
    ],
)
def test_countdown_format_is_the_scripts(remaining, shown):
    root = render(widget_data("countdown", remaining_seconds=remaining))
    assert root.one("time").text == shown
    assert "pz-expired" not in root.classes()


@pytest.mark.parametrize("remaining", [0, -0.5, -30])
def test_countdown_already_over_renders_expired(remaining):
    root = render(widget_data("countdown", remaining_seconds=remaining))
    assert "pz-expired" in root.classes()
    assert root.one("time").text == "00:00:00"
    assert "hidden" not in root.one(data_pz_expired_text=True).attrs


def test_countdown_takes_now_when_remaining_seconds_is_absent():
    root = render(widget_data("countdown", remaining_seconds=None, now=DEADLINE - 3661))
    assert root.one("time").text == "01:01:01"


def test_countdown_without_any_now_shows_the_deadline_date():
    root = render(widget_data("countdown", remaining_seconds=None))
    timer = root.one("time")
    assert timer.text == "2024-11-11 00:00 UTC"
    assert timer.attrs["datetime"] == "2024-11-11T00:00:00Z"
    assert "hidden" in root.one(data_pz_expired_text=True).attrs


def test_editorial_is_an_aside_named_by_its_title_over_a_linked_article_card():
    aside = render(widget_data("editorial")).one("aside")
    title = aside.one(id=aside.attrs["aria-labelledby"])
    assert (title.tag, title.text, title.parent) == ("h2", "From our journal", aside)
    card = aside.one("a", data_pz_click=True)
    assert card.attrs["href"] == "/journal/linen"
    assert card.one("h3").text == "How to style linen"
    assert card.one("img").attrs["alt"] == ""  # the title next to it says it
    assert card.one("p").text == "Five looks for summer"


def test_editorial_without_a_section_title_is_named_by_the_article_title():
    aside = render(widget_data("editorial", title=None)).one("aside")
    title = aside.one(id=aside.attrs["aria-labelledby"])
    assert (title.tag, title.text) == ("h2", "How to style linen")
    assert title.has_ancestor(aside.one("a", data_pz_click=True))
    assert aside.find_all("h3") == []


# --- the holdout marker ----------------------------------------------------------------------


@every_kind
def test_control_marker_is_hidden_empty_and_carries_the_beacon_attributes(kind):
    root = parse(str(render_control(widget_data(kind))))
    assert root.classes() == {"pz", "pz-control"}
    assert "hidden" in root.attrs
    assert root.children == []
    assert root.attrs["data-pz-widget"] == kind
    assert root.attrs["data-pz-campaign"] == "welcome"
    assert root.attrs["data-pz-variant"] == "control"
    assert root.attrs["data-pz-slot"] == "top"
    assert root.attrs["data-pz-beacon"] == "/_personalize/beacon"


def test_control_marker_needs_only_the_identity_fields():
    marker = render_control({"kind": "countdown", **IDENTITY})
    assert parse(str(marker)).attrs["data-pz-widget"] == "countdown"


# --- escaping --------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
QUOTES = "' onmouseover='alert(1)' x=\""


def hostile(kind: str, payload: str) -> dict[str, Any]:
    """The sample with every piece of copy, every identity value but the beacon, and every URL
    set to `payload` (enumerations such as `position` and `mobile` keep their values)."""
    keep = {"kind", "position", "mobile", "beacon"}
    return replace_strings(widget_data(kind), lambda key, s: s if key in keep else payload)


def assert_inert(root: Element) -> None:
    elements = [root, *root.iter()]
    assert not [e for e in elements if e.tag == "script"]
    assert not [e for e in elements if e.tag == "img" and e.attrs.get("src") == "x"]
    assert not [name for e in elements for name in e.attrs if name.startswith("on")]


@every_kind
@pytest.mark.parametrize("payload", [SCRIPT, BREAKOUT, QUOTES])
def test_hostile_copy_renders_inert_in_every_text_and_attribute_position(kind, payload):
    root = render(hostile(kind, payload))
    assert_inert(root)
    assert root.attrs["data-pz-campaign"] == payload
    assert root.attrs["data-pz-variant"] == payload
    assert root.attrs["data-pz-slot"] == payload
    assert payload in root.text  # copy shows as text, intact
    for element in root.find_all(id=True):
        assert element.attrs["id"].isprintable()
        assert not any(c.isspace() or c in "\"'<>" for c in element.attrs["id"])
    for element in root.find_all(aria_labelledby=True):
        root.one(id=element.attrs["aria-labelledby"])


def test_hostile_product_names_stay_text_and_alt_text():
    products = [{**PRODUCTS[0], "name": SCRIPT}, {**PRODUCTS[1], "name": BREAKOUT}]
    root = render(widget_data("recently_viewed", products=products))
    assert_inert(root)
    assert [img.attrs["alt"] for img in root.find_all("img")] == [SCRIPT, BREAKOUT]
    assert [n.text for n in root.find_all(**{"class": "pz-name"})] == [SCRIPT, BREAKOUT]


def test_long_product_names_are_escaped_like_short_ones():
    name = SCRIPT * 200  # past the size of cached cards
    root = render(widget_data("recently_viewed", products=[{"name": name, "url": "/p/1"}]))
    assert_inert(root)
    assert root.one(**{"class": "pz-name"}).text == name


def test_hostile_survey_values_and_first_names_are_escaped():
    survey = {"question": BREAKOUT, "options": [{"value": BREAKOUT, "label": SCRIPT}]}
    root = render(widget_data("exit_intent", survey=survey, title=f"Wait, {BREAKOUT}!"))
    assert_inert(root)
    assert root.one("input").attrs["value"] == BREAKOUT
    assert root.one("h2").text == f"Wait, {BREAKOUT}!"


def test_markup_objects_in_the_data_are_escaped_as_plain_text():
    root = render(widget_data("hello_bar", text=Markup("<b>bold</b> & more")))
    assert root.find_all("b") == []
    assert root.one("p").text == "<b>bold</b> & more"


@pytest.mark.parametrize(
    "value", ["", "plain", "<&>\"'", "&amp;", "Zoë 🍰 東京", "\x00\x1f", "a" * 1000, "'\"'\"<<>>"]
)
def test_the_fast_escape_is_markupsafe_escape(value):
    assert escape_text(value) == str(escape(value))
    assert type(escape_text(value)) is str


# --- URLs -------------------------------------------------------------------------------------

UNSAFE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\x01javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\u00a0javascript:alert(1)",
    "jav&#x09;ascript:alert(1)",
    "javascript&colon;alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:image/svg+xml;base64,PHN2Zz4=",
    "vbscript:msgbox(1)",
    "VBSCRIPT:msgbox(1)",
    "\\\\evil.example/x",
    "file:///etc/passwd",
    "\uff4a\uff41\uff56\uff41\uff53\uff43\uff52\uff49\uff50\uff54:alert(1)",  # fullwidth letters
    "/o\x00k",
    "x" * 5000,
]


def unsafe_urls(kind: str, url: str) -> dict[str, Any]:
    return replace_strings(widget_data(kind), lambda key, s: url if key in URL_KEYS else s)


@every_kind
@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_unsafe_urls_become_hash_links_and_images_are_dropped(kind, url):
    root = render(unsafe_urls(kind, url))
    assert_inert(root)
    assert [a.attrs["href"] for a in root.find_all("a")] == ["#"] * len(root.find_all("a"))
    assert root.find_all("img") == []
    assert "data-pz-refresh" not in root.attrs
    for element in [root, *root.iter()]:
        for value in element.attrs.values():
            squashed = "".join((value or "").split()).lower()
            assert not squashed.startswith(("javascript:", "data:", "vbscript:"))


@pytest.mark.parametrize(
    ("url", "rendered"),
    [
        ("https://shop.example/p/1?a=1&b=2", "https://shop.example/p/1?a=1&b=2"),
        ("HTTP://shop.example/", "HTTP://shop.example/"),
        ("/p/sku-1", "/p/sku-1"),
        ("./p/sku-1", "./p/sku-1"),
        ("?page=2", "?page=2"),
        ("#reviews", "#reviews"),
        ("//cdn.example/a.jpg", "//cdn.example/a.jpg"),
        ("  https://shop.example/x\n", "https://shop.example/x"),
        ('/p/"><script>', '/p/"><script>'),
        ("/caf\u00e9", "/caf\u00e9"),
    ],
)
def test_http_and_relative_urls_are_kept(url, rendered):
    product = {"id": "1", "name": "Mug", "url": url, "image": url}
    root = render(widget_data("recommendations", products=[product]))
    assert_inert(root)
    assert root.one("a").attrs["href"] == rendered
    assert root.one("img").attrs["src"] == rendered


def test_long_urls_are_checked_as_well_as_short_ones():
    long_path = "/p/" + "a" * 1500
    products = [
        {"name": "Kept", "url": long_path, "image": long_path},
        {"name": "Unsafe", "url": "javascript:" + "a" * 1500, "image": "data:" + "a" * 1500},
        {"name": "Too long", "url": "/p/" + "a" * 3000},
    ]
    root = render(widget_data("recommendations", products=products))
    assert [a.attrs["href"] for a in root.find_all("a")] == [long_path, "#", "#"]
    assert [img.attrs["src"] for img in root.find_all("img")] == [long_path]


@pytest.mark.parametrize(("kind", "key"), [("hello_bar", "link"), ("exit_intent", "link")])
def test_unsafe_call_to_action_keeps_its_text(kind, key):
    data = widget_data(kind, **{key: {"url": "javascript:alert(1)", "text": "Go"}})
    cta = render(data).one("a", **{"class": "pz-cta"})
    assert (cta.attrs["href"], cta.text) == ("#", "Go")


# --- unicode and optional fields ----------------------------------------------------------------

UNICODE = "Zoë\u2019s \u201ccafé\u201d 🍰 — 東京 — مرحبا — e\u0301"


@every_kind
def test_unicode_copy_survives(kind):
    keep = {"kind", "position", "mobile", "beacon", *URL_KEYS}
    data = replace_strings(widget_data(kind), lambda key, s: s if key in keep else UNICODE)
    root = render(data)
    assert root.attrs["data-pz-campaign"] == UNICODE
    labels = [e.attrs["aria-label"] for e in root.find_all(aria_label=True)]
    assert UNICODE in root.text or UNICODE in labels
    for element in root.find_all(aria_labelledby=True):
        assert root.one(id=element.attrs["aria-labelledby"]).text == UNICODE


MINIMAL = {
    "hello_bar": {"text": "Hi"},
    "side_coupon": {"tab": "Gift", "coupon": {"code": "X"}},
    "exit_intent": {"title": "Wait"},
    "progress_bar": {"text": "Almost there", "percent": 10},
    "recently_viewed": {"title": "Seen", "products": [{"id": "1", "name": "Mug"}]},
    "recommendations": {"title": "For you", "products": []},
    "floating_icon": {"label": "Help", "link": {"url": "/help", "text": "Help"}},
    "scratch_coupon": {"cover_text": "Scratch", "coupon": {"code": "X", "expires_at": None}},
    "countdown": {"deadline": DEADLINE, "expired_text": "Over"},
    "editorial": {"article": {"title": "Linen"}},
}


@every_kind
def test_missing_optional_fields_render_cleanly(kind):
    root = render({"kind": kind, **IDENTITY, **MINIMAL[kind]})
    elements = [root, *root.iter()]
    assert not [e for e in elements if e.tag == "img"]
    assert not [e for e in elements if e.attrs.get("href") == "#"]
    meant_empty = {"pz-status", "pz-fill"}  # filled by the script, or by CSS width
    assert not [
        e
        for e in elements
        if e.tag in {"p", "span", "h2"} and not e.text and not e.classes() & meant_empty
    ]
    assert "None" not in root.text


def test_without_optional_parts_their_markup_is_absent():
    assert render({"kind": "hello_bar", **IDENTITY, "text": "Hi"}).find_all("a") == []
    dialog = render({"kind": "exit_intent", **IDENTITY, "title": "Wait"})
    assert [e.tag for e in dialog.one(role="dialog").elements] == ["h2", "button"]
    card = render(widget_data("recently_viewed", products=[{"id": "1", "name": "Mug"}]))
    product = card.one("li")
    assert [(e.tag, e.classes()) for e in product.iter()] == [
        ("div", {"pz-card"}),
        ("span", {"pz-name"}),
    ]
    coupon = render(widget_data("side_coupon", coupon={"code": "X"}))
    assert coupon.find_all("time") == [] and coupon.find_all(**{"class": "pz-discount"}) == []
    assert "data-pz-refresh" not in render(widget_data("progress_bar", refresh_url=None)).attrs


# --- ids ----------------------------------------------------------------------------------------


def test_campaign_ids_become_distinct_id_safe_tokens():
    ids = {}
    for campaign in ["welcome", "summer sale", "a:b", "a-b", "a b", "été", 'x"y']:
        data = widget_data("exit_intent", campaign_id=campaign)
        dialog = render(data).one(role="dialog")
        ids[campaign] = dialog.attrs["aria-labelledby"]
        assert ids[campaign].startswith("pz-title-")
        assert all(c.isascii() and (c.isalnum() or c in "-_") for c in ids[campaign])
    assert ids["welcome"] == "pz-title-welcome"
    assert len(set(ids.values())) == len(ids)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["banner", "", "HELLO_BAR", None, 3, ["hello_bar"]])
def test_unknown_kind_is_a_clear_value_error(kind):
    with pytest.raises(ValueError, match=r"unknown widget kind .*expected one of .*hello_bar"):
        render_widget({**IDENTITY, "kind": kind})
    with pytest.raises(ValueError, match="unknown widget kind"):
        render_control({**IDENTITY, "kind": kind})


def test_data_that_is_not_a_mapping_is_a_clear_error():
    with pytest.raises(ConfigError, match="widget data must be a mapping, got list"):
        render_widget(["hello_bar"])  # type: ignore[arg-type]


BAD_FIELDS = [
    ("hello_bar", {"text": None}, "text", "expected text"),
    ("hello_bar", {"text": 42}, "text", "expected text"),
    ("hello_bar", {"dismissible": "yes"}, "dismissible", "true or false"),
    ("hello_bar", {"link": "/sale"}, "link", "expected an object"),
    ("hello_bar", {"link": {"url": 5, "text": "Go"}}, "link.url", "expected text"),
    ("hello_bar", {"link": {"url": "/x"}}, "link.text", "expected text"),
    ("hello_bar", {"campaign_id": ""}, "campaign_id", "must not be empty"),
    ("hello_bar", {"campaign_id": ["a"]}, "campaign_id", "expected text"),
    ("hello_bar", {"variant": None}, "variant", "expected text"),
    ("hello_bar", {"beacon": "javascript:alert(1)"}, "beacon", "http(s) or relative"),
    ("side_coupon", {"coupon": None}, "coupon", "is required"),
    ("side_coupon", {"coupon": ["X"]}, "coupon", "expected an object"),
    ("side_coupon", {"coupon": {"code": 10}}, "coupon.code", "expected text"),
    ("side_coupon", {"coupon": {"code": "X", "expires_at": "soon"}}, "coupon.expires_at", "number"),
    ("side_coupon", {"coupon": {"code": "X", "expires_at": 1e30}}, "coupon.expires_at", "finite"),
    ("side_coupon", {"position": "top"}, "position", "expected one of 'right', 'left'"),
    ("progress_bar", {"percent": "50"}, "percent", "expected a number"),
    ("progress_bar", {"percent": True}, "percent", "expected a number"),
    ("progress_bar", {"percent": math.nan}, "percent", "finite"),
    ("progress_bar", {"percent": math.inf}, "percent", "finite"),
    ("progress_bar", {"percent": 10**400}, "percent", "finite"),
    ("progress_bar", {"unlocked": 1}, "unlocked", "true or false"),
    ("progress_bar", {"refresh_url": 7}, "refresh_url", "expected text"),
    ("recently_viewed", {"products": "sku-1"}, "products", "expected a list"),
    ("recently_viewed", {"products": [PRODUCTS[0], 1]}, "products.1", "expected an object"),
    ("recently_viewed", {"products": [{"name": None}]}, "products.0.name", "expected text"),
    ("recently_viewed", {"products": [{"name": "a", "price": 9.5}]}, "products.0.price", "text"),
    ("recently_viewed", {"products": [{"name": "a", "url": ["/x"]}]}, "products.0.url", "text"),
    ("recently_viewed", {"title": None}, "title", "expected text"),
    ("exit_intent", {"title": None}, "title", "expected text"),
    ("exit_intent", {"trigger": {"mobile": ["fly"]}}, "trigger.mobile", "scroll, back, idle"),
    ("exit_intent", {"trigger": {"mobile": "scroll"}}, "trigger.mobile", "expected a list"),
    ("exit_intent", {"trigger": {"sensitivity": -1}}, "trigger.sensitivity", "from 0"),
    ("exit_intent", {"trigger": {"idle_ms": True}}, "trigger.idle_ms", "expected a number"),
    ("exit_intent", {"trigger": {"delay_ms": [1]}}, "trigger.delay_ms", "expected a number"),
    ("exit_intent", {"survey": {"question": "Why?", "options": []}}, "survey.options", "at least"),
    (
        "exit_intent",
        {"survey": {"question": "Why?", "options": [{"value": "a"}]}},
        "survey.options.0.label",
        "text",
    ),
    (
        "exit_intent",
        {"survey": {"options": [{"value": "a", "label": "A"}]}},
        "survey.question",
        "text",
    ),
    ("floating_icon", {"link": None}, "link", "is required"),
    ("floating_icon", {"icon": 3}, "icon", "expected text"),
    ("countdown", {"deadline": "2024-11-11"}, "deadline", "expected a number"),
    ("countdown", {"deadline": 1e300}, "deadline", "finite"),
    ("countdown", {"remaining_seconds": math.nan}, "remaining_seconds", "finite"),
    ("countdown", {"remaining_seconds": None, "now": "now"}, "now", "expected a number"),
    ("countdown", {"expired_text": None}, "expired_text", "expected text"),
    ("scratch_coupon", {"cover_text": None}, "cover_text", "expected text"),
    ("scratch_coupon", {"coupon": {"code": None}}, "coupon.code", "expected text"),
    ("editorial", {"article": None}, "article", "is required"),
    ("editorial", {"article": {"title": "T", "image": {}}}, "article.image", "expected text"),
]


@pytest.mark.parametrize(("kind", "changes", "field", "message"), BAD_FIELDS)
def test_bad_fields_raise_config_error_naming_campaign_and_field(kind, changes, field, message):
    data = {**widget_data(kind), **changes}
    with pytest.raises(ConfigError) as caught:
        render_widget(data)
    assert isinstance(caught.value, ValueError)
    assert caught.value.field == field
    assert message in caught.value.message
    if field != "campaign_id":
        assert caught.value.source == f"campaign 'welcome' ({kind})"


def test_errors_never_echo_a_huge_value_in_full():
    with pytest.raises(ConfigError) as caught:
        render_widget(widget_data("progress_bar", percent="9" * 100_000))
    assert len(str(caught.value)) < 200


# --- caches never change what is rendered -----------------------------------------------------


def test_a_changed_product_is_rendered_afresh():
    first = render(widget_data("recommendations", products=[{**PRODUCTS[0], "price": "$1"}]))
    second = render(widget_data("recommendations", products=[{**PRODUCTS[0], "price": "$2"}]))
    assert first.one(**{"class": "pz-price"}).text == "$1"
    assert second.one(**{"class": "pz-price"}).text == "$2"


def test_big_products_and_long_urls_stay_out_of_the_caches():
    def sizes() -> tuple[int, int]:
        return _product_card.cache_info().currsize, checked_url.cache_info().currsize

    before = sizes()
    product = {"name": "x" * 5000, "url": "/" + "y" * 1000, "image": "/" + "z" * 1000}
    assert render(widget_data("recommendations", products=[product])).one("img")
    assert sizes() == before


def test_a_bool_is_refused_even_where_an_equal_number_was_rendered_before():
    render(widget_data("exit_intent", trigger={"sensitivity": 1}))
    with pytest.raises(ConfigError, match="expected a number"):
        render_widget(widget_data("exit_intent", trigger={"sensitivity": True}))


def test_a_bad_field_is_refused_every_time_not_only_the_first():
    for _ in range(2):
        with pytest.raises(ConfigError):
            render_widget(widget_data("recommendations", products=[{"name": 1}]))
        with pytest.raises(ConfigError):
            render_widget(widget_data("hello_bar", beacon="vbscript:x"))


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@every_kind
def test_bidi_controls_in_copy_and_product_names_never_reach_the_page(kind):
    """A name ending in RIGHT-TO-LEFT OVERRIDE would reverse the shop's sentence after it."""
    # Not the campaign, variant and slot ids: the config allows no such characters in them.
    keep = {"kind", "position", "mobile", "beacon", "campaign_id", "variant", "slot"}
    data = replace_strings(widget_data(kind), lambda key, s: s if key in keep else f"{s}\u202e")
    root = render(data)
    shown = [root.text] + [
        value or ""
        for element in [root, *root.iter()]
        for name, value in element.attrs.items()
        if name in {"alt", "title", "aria-label", "placeholder", "value"}
    ]
    assert not [text for text in shown if any(control in text for control in BIDI_CONTROLS)]


def test_right_to_left_names_keep_their_letters_and_marks():
    name = "\u05e9\u05e2\u05d5\u05df \u05e6\u05dc\u05d9\u05dc\u05d4\u200f"  # Hebrew, with RLM
    products = [{**PRODUCTS[0], "name": f"\u202b{name}\u202c"}]
    root = render(widget_data("recently_viewed", products=products))
    assert root.one(**{"class": "pz-name"}).text == name
