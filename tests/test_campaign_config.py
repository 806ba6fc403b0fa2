"""Campaigns in the config: every kind loads, and every mistake is a ConfigError that names the
campaign and the field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from personalize_sdk import Config, ConfigError
from personalize_sdk.campaign import CONTROL, Campaign
from personalize_sdk.campaign_kinds import KINDS

SHOP = Path(__file__).parent / "data" / "shop.toml"


def campaign(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "c1", "kind": "hello_bar", "text": "Hello"}
    base.update(fields)
    return base


def load(*campaigns: dict[str, Any]) -> Config:
    return Config.from_dict({"campaigns": list(campaigns)})


def error_of(*campaigns: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(*campaigns)
    return caught.value


def test_the_sample_shop_config_has_a_campaign_of_every_kind() -> None:
    config = Config.from_file(SHOP)
    assert {c.kind for c in config.campaigns} == set(KINDS)
    assert config.source == str(SHOP)


def test_defaults_of_a_minimal_campaign() -> None:
    (c,) = load(campaign()).campaigns
    assert (c.slot, c.priority, c.holdout, c.seed) == ("top", 0, 0.0, "c1")
    assert [v.id for v in c.variants] == ["default"]
    assert c.variants[0].content["dismissible"] is True
    assert c.caps.after_dismiss == "never"


def test_variants_override_content_and_keep_the_rest() -> None:
    (c,) = load(
        campaign(
            link_url="/sale",
            variants=[{"id": "a"}, {"id": "b", "weight": 3, "text": "Bonjour"}],
        )
    ).campaigns
    a, b = c.variants
    assert a.content["text"].for_category(None).render({}) == "Hello"
    assert b.content["text"].for_category(None).render({}) == "Bonjour"
    assert b.content["link_url"] == "/sale"
    assert b.weight == 3.0


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"id": "bad id!"}, "campaigns[0].id", "id:"),
        ({"kind": "banner"}, "campaign 'c1'.kind", "unknown kind"),
        ({"colour": "red"}, "campaign 'c1'.colour", "unknown field"),
        ({"text": 5}, "campaign 'c1'.text", ""),
        ({"text": "{{ oops"}, "campaign 'c1'.text", ""),
        ({"slot": "Top Bar"}, "campaign 'c1'.slot", "slot"),
        ({"priority": 1.5}, "campaign 'c1'.priority", "whole number"),
        ({"priority": True}, "campaign 'c1'.priority", "whole number"),
        ({"holdout": 1}, "campaign 'c1'.holdout", "fraction"),
        ({"holdout": -0.1}, "campaign 'c1'.holdout", "fraction"),
        ({"link_url": "javascript:alert(1)"}, "campaign 'c1'.link_url", "URL"),
        ({"dismissible": "yes"}, "campaign 'c1'.dismissible", "true or false"),
        ({"caps": {"per_day": 0}}, "campaign 'c1'.caps.per_day", ">= 1"),
        ({"caps": {"per_session": 50}}, "campaign 'c1'.caps.per_session", "at most"),
        ({"caps": {"after_dismiss": "later"}}, "campaign 'c1'.caps.after_dismiss", "one of"),
        ({"caps": {"weekly": 1}}, "campaign 'c1'.caps.weekly", "unknown"),
        ({"audience": {"devices": ["watch"]}}, "campaign 'c1'.audience.devices", "device"),
        ({"audience": {"visitor": "old"}}, "campaign 'c1'.audience.visitor", "one of"),
        ({"audience": {"paths": ["sale/*"]}}, "campaign 'c1'.audience.paths[0]", "/"),
        ({"audience": {"segments_any": "repeat_buyer"}}, None, None),  # a text: a list of one
        (
            {"audience": {"segments_any": ["cart_abandoners"]}},
            "campaign 'c1'.audience.segments_any",
            "no such segment",
        ),
        ({"audience": {"segments_none": ["vipp"]}}, "campaign 'c1'.audience.segments_none", "no"),
        (
            {"audience": {"segments_all": ["browser", "x"]}},
            "campaign 'c1'.audience.segments_all",
            "",
        ),
        (
            {"audience": {"segments_any": ["category_affine:Watches"]}},
            "campaign 'c1'.audience.segments_any",
            "'category_affine:watches'",
        ),
        ({"audience": {"segments_any": ["brand_affine:"]}}, "campaign 'c1'.audience", "key"),
        ({"audience": {"segments_any": ["brand_affine:acme", "dormant"]}}, None, None),
        ({"audience": {"segments_any": [1]}}, "campaign 'c1'.audience.segments_any", "texts"),
        ({"audience": {"condition": {"x": {"$nope": 1}}}}, "campaign 'c1'.audience.condition", ""),
        (
            {"audience": {"geo": {"lat": 95, "lon": 0, "radius_km": 1}}},
            "campaign 'c1'.audience.geo",
            "",
        ),
        ({"audience": {"shoe_size": 9}}, "campaign 'c1'.audience.shoe_size", "unknown"),
        ({"schedule": {"timezone": "Mars/Olympus"}}, "campaign 'c1'.schedule", ""),
        ({"variants": []}, "campaign 'c1'.variants", "1 to 20"),
        ({"variants": [{"id": "control"}]}, "campaign 'c1'.variants[0].id", "control"),
        ({"variants": [{"id": "a"}, {"id": "a"}]}, "campaign 'c1'.variants", "same id"),
        ({"variants": [{"id": "a", "weight": 0}]}, "campaign 'c1'.variants['a'].weight", "above 0"),
        ({"variants": [{"id": "a", "slot": "x"}]}, "campaign 'c1'.variants['a'].slot", "content"),
    ],
)
def test_mistakes_name_the_campaign_and_field(
    fields: dict[str, Any], field: str | None, words: str | None
) -> None:
    if field is None:
        assert load(campaign(**fields)).campaigns
        return
    error = error_of(campaign(**fields))
    assert error.field is not None and error.field.startswith(field), error.field
    assert words in error.message


def test_kind_specific_requirements() -> None:
    assert error_of({"id": "c", "kind": "hello_bar"}).field == "campaign 'c'.text"
    assert error_of({"id": "c", "kind": "side_coupon", "text": "x"}).field == "campaign 'c'.coupon"
    assert error_of({"id": "c", "kind": "progress_bar"}).field == "campaign 'c'.thresholds"
    assert error_of({"id": "c", "kind": "recommendations"}).field == "campaign 'c'.strategy"
    countdown = error_of({"id": "c", "kind": "countdown", "title": "Hurry"})
    assert countdown.field == "campaign 'c'.deadline"
    overlay = error_of({"id": "c", "kind": "exit_intent", "title": "Wait", "slot": "top"})
    assert overlay.field == "campaign 'c'.slot" and "at most one" in overlay.message


def test_thresholds_are_exact_decimals_per_currency() -> None:
    (c,) = load(
        {"id": "p", "kind": "progress_bar", "thresholds": {"usd": 50, "JPY": "6000", "EUR": 45.1}}
    ).campaigns
    assert c.variants[0].content["thresholds"] == {
        "USD": Decimal(50),
        "JPY": Decimal(6000),
        "EUR": Decimal("45.1"),
    }
    bad = error_of({"id": "p", "kind": "progress_bar", "thresholds": {"USD": -1}})
    assert bad.field == "campaign 'p'.thresholds.USD"
    bad = error_of({"id": "p", "kind": "progress_bar", "thresholds": {"DOLLARS": 5}})
    assert bad.field == "campaign 'p'.thresholds.DOLLARS"


def test_survey_options_get_stable_values() -> None:
    (c,) = load(
        {
            "id": "x",
            "kind": "exit_intent",
            "title": "Wait!",
            "survey": {
                "question": "Why are you leaving?",
                "options": ["Too expensive", {"value": "later", "label": "Just looking"}],
            },
        }
    ).campaigns
    survey = c.variants[0].content["survey"]
    assert survey.values == {"too_expensive", "later"}
    one = error_of(
        {
            "id": "x",
            "kind": "exit_intent",
            "title": "W",
            "survey": {"question": "Q", "options": ["a"]},
        }
    )
    assert one.field == "campaign 'x'.survey.options"


def test_campaign_ids_are_unique_and_the_file_is_named(tmp_path: Path) -> None:
    error = error_of(campaign(), campaign())
    assert error.field == "campaign 'c1'.id" and "twice" in error.message
    path = tmp_path / "shop.toml"
    path.write_text('[[campaigns]]\nid = "a"\nkind = "hello_bar"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Config.from_file(path)
    assert caught.value.source == str(path)
    assert caught.value.field == "campaign 'a'.text"
    assert str(path) in str(caught.value)


def test_widgets_settings() -> None:
    config = Config.from_dict({"widgets": {"beacon_url": "/pz/b", "currency": "eur"}})
    assert (config.widgets.beacon_url, config.widgets.currency) == ("/pz/b", "EUR")
    for bad in ({"beacon_url": "javascript:x"}, {"currency": "euro"}, {"theme": "dark"}):
        with pytest.raises(ConfigError) as caught:
            Config.from_dict({"widgets": bad})
        assert caught.value.field is not None and caught.value.field.startswith("widgets.")


class TestAssignment:
    def make(self, **fields: Any) -> Campaign:
        return load(campaign(**fields)).campaigns[0]

    def test_split_follows_weights_and_holdout(self) -> None:
        c = self.make(holdout=0.2, variants=[{"id": "a", "weight": 1}, {"id": "b", "weight": 3}])
        counts = {"a": 0, "b": 0, CONTROL: 0}
        for i in range(20_000):
            counts[c.assign(f"v-{i}")] += 1
        assert abs(counts[CONTROL] / 20_000 - 0.2) < 0.015
        assert abs(counts["a"] / 20_000 - 0.2) < 0.015
        assert abs(counts["b"] / 20_000 - 0.6) < 0.015

    def test_is_growthbook_hash_v2_of_seed_and_unit(self) -> None:
        from personalize_sdk.bucketing import hash as gb_hash

        c = self.make(seed="s1", variants=[{"id": "a"}, {"id": "b"}])
        for unit in ("v-1", "v-2", "u-42", "ü-7"):
            n = gb_hash("s1", unit, 2)
            assert c.assign(unit) == ("a" if n < 0.5 else "b")

    def test_different_campaigns_split_independently(self) -> None:
        one = self.make(id="one", variants=[{"id": "a"}, {"id": "b"}])
        two = self.make(id="two", variants=[{"id": "a"}, {"id": "b"}])
        same = sum(one.assign(f"v-{i}") == two.assign(f"v-{i}") for i in range(4000))
        assert 0.45 < same / 4000 < 0.55


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"kind": "recently_viewed", "limit": 3, "min_items": 4},
         "campaign 'c1'.min_items", "could never show"),
        ({"kind": "recommendations", "strategy": "cart_addins", "limit": 2, "min_items": 1,
          "variants": [{"id": "a", "min_items": 3}]},
         "campaign 'c1'.variants['a'].min_items", "could never show"),
        ({"kind": "countdown", "title": "Hurry", "deadline": "2026-12-01T00:00:00Z",
          "duration_minutes": 60}, "campaign 'c1'.duration_minutes", "not both"),
        ({"kind": "progress_bar", "thresholds": {"usd": 10, "USD": 50}},
         "campaign 'c1'.thresholds.USD", "twice"),
        ({"kind": "recommendations", "strategy": "brand_trending", "days": 60},
         "campaign 'c1'.days", "1 to 30"),
        ({"kind": "hello_bar", "text": "Hi", "enabled": "no"}, "campaign 'c1'.enabled",
         "true or false"),
    ],
)  # fmt: skip
def test_fields_that_contradict_each_other(fields: dict[str, Any], field: str, words: str) -> None:
    base = {"id": "c1", **fields}
    error = error_of(base)
    assert error.field == field and words in error.message, (error.field, error.message)


def test_a_disabled_campaign_is_checked_but_never_shown(clock: Any) -> None:
    from personalize_sdk import Page, Personalizer

    with pytest.raises(ConfigError):
        load(campaign(enabled=False, text="{{ broken"))
    pz = Personalizer({"campaigns": [campaign(enabled=False)]}, clock=clock, strict=True)
    assert pz.widgets("v1", Page(type="home")) == []
    result = pz.beacon("v1", {"type": "shown", "campaign": "c1", "variant": "default"})
    assert not result.ok


def test_a_countdown_deadline_is_local_to_the_schedule_time_zone() -> None:
    (c,) = load(
        {
            "id": "cd",
            "kind": "countdown",
            "title": "Ends at midnight",
            "deadline": "2026-11-12T00:00:00",
            "schedule": {"timezone": "Asia/Shanghai"},
        }
    ).campaigns
    from datetime import datetime
    from zoneinfo import ZoneInfo

    midnight = datetime(2026, 11, 12, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    assert c.variants[0].content["deadline"] == midnight
