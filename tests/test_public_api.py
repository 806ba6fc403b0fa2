"""The public surface is curated: this test fails when something is exported by accident."""

from __future__ import annotations

import inspect

import personalize_sdk
from personalize_sdk import Personalizer, Widget

EXPORTED = {
    "BeaconResult",
    "CallableCatalog",
    "CampaignVerdict",
    "Cart",
    "CartItem",
    "Catalog",
    "CatalogError",
    "CatalogUnavailable",
    "Config",
    "ConfigError",
    "CopyError",
    "EventLimits",
    "Explanation",
    "IntentExplanation",
    "IntentFactor",
    "InvalidEvent",
    "MemoryCatalog",
    "MemoryStore",
    "Page",
    "PersonalizeError",
    "Personalizer",
    "Product",
    "Profile",
    "PurchaseHistory",
    "SQLiteStore",
    "SegmentDefinition",
    "Session",
    "Settings",
    "Store",
    "StoreUnavailable",
    "Widget",
    "__version__",
}


def test_exported_members_are_exactly_the_curated_set():
    assert set(personalize_sdk.__all__) == EXPORTED
    public = {name for name in vars(personalize_sdk) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(personalize_sdk, name))}
    assert public - modules == EXPORTED - {"__version__"}


def test_every_error_is_a_personalize_error():
    for name in (
        "InvalidEvent",
        "ConfigError",
        "StoreUnavailable",
        "CatalogError",
        "CatalogUnavailable",
        "CopyError",
    ):
        assert issubclass(getattr(personalize_sdk, name), personalize_sdk.PersonalizeError)


def test_facade_signatures_follow_the_contract():
    init = inspect.signature(Personalizer.__init__).parameters
    assert list(init)[:2] == ["self", "config"]
    for keyword in ("store", "catalog", "clock", "strict"):
        assert init[keyword].kind is inspect.Parameter.KEYWORD_ONLY
    track = inspect.signature(Personalizer.track).parameters
    assert list(track)[1:4] == ["visitor_id", "event", "properties"]
    for keyword in ("timestamp", "message_id", "context"):
        assert track[keyword].kind is inspect.Parameter.KEYWORD_ONLY
    identify = inspect.signature(Personalizer.identify).parameters
    assert {"user_id", "traits"} <= set(identify)


def test_widget_inserts_as_safe_markup_in_autoescaping_templates():
    from jinja2 import Environment
    from markupsafe import Markup, escape

    widget = Widget(
        kind="hello_bar",
        campaign_id="c",
        variant="a",
        slot="top",
        html=Markup("<div>Hi &amp; welcome</div>"),
    )
    assert widget.__html__() == "<div>Hi &amp; welcome</div>"
    assert escape(widget) == "<div>Hi &amp; welcome</div>"
    template = Environment(autoescape=True).from_string("{{ w }}|{{ raw }}")
    assert template.render(w=widget, raw="<b>") == "<div>Hi &amp; welcome</div>|&lt;b&gt;"
