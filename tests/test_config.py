"""Config loading: TOML and dicts, defaults, and ConfigError naming file, section and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from personalize_sdk import Config, ConfigError, Personalizer, Settings
from personalize_sdk import events as ev
from personalize_sdk.config import load_config

GOOD = """
[settings]
recently_viewed_limit = 5
affinity_half_life_days = 3.5
dormant_days = 120

[[segments]]
name = "gold_india"
description = "Gold tier in India or Sri Lanka"
condition = { "traits.tier" = "gold", "traits.country" = { "$in" = ["IN", "LK"] } }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "personalize.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_from_file_reads_settings_and_compiles_segments(tmp_path):
    pz = Personalizer.from_file(write(tmp_path, GOOD), clock=lambda: 1_790_000_000.0)
    settings = pz.config.settings
    assert (
        settings.recently_viewed_limit,
        settings.affinity_half_life_days,
        settings.dormant_days,
    ) == (5, 3.5, 120)
    assert settings.at_risk_days == Settings().at_risk_days  # untouched defaults stay
    [segment] = pz.config.segments
    assert segment.name == "gold_india"
    assert segment.description == "Gold tier in India or Sri Lanka"
    assert segment.matches({"traits": {"tier": "gold", "country": "LK"}})
    assert not segment.matches({"traits": {"tier": "gold", "country": "US"}})
    pz.identify("v", user_id="u", traits={"tier": "gold", "country": "IN"})
    assert "gold_india" in pz.segments("v")


def test_from_file_passes_overrides_to_the_constructor(tmp_path):
    pz = Personalizer.from_file(write(tmp_path, GOOD), strict=True)
    assert pz.strict is True
    with pytest.raises(Exception, match="visitor_id"):
        pz.track("", ev.PAGE_VIEWED)


def test_config_accepts_a_path_a_mapping_a_config_or_nothing(tmp_path):
    path = write(tmp_path, GOOD)
    assert load_config(str(path)).settings.recently_viewed_limit == 5
    assert load_config(path).settings.recently_viewed_limit == 5
    assert (
        load_config({"settings": {"recently_viewed_limit": 7}}).settings.recently_viewed_limit == 7
    )
    config = Config()
    assert load_config(config) is config
    assert load_config(None) == Config()
    with pytest.raises(ConfigError, match="expected a Config, mapping or path"):
        load_config(42)  # type: ignore[arg-type]


def test_a_json_file_is_read_as_json_like_the_file_watcher_reads_it(tmp_path):
    path = tmp_path / "personalize.json"
    path.write_text(json.dumps({"settings": {"recently_viewed_limit": 9}}), encoding="utf-8")
    assert Config.from_file(path).settings.recently_viewed_limit == 9
    pz = Personalizer.from_file(path)
    assert pz.config.settings.recently_viewed_limit == 9
    pz.close()
    path.write_text("[settings]\nrecently_viewed_limit = 9\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        Config.from_file(path)


def test_defaults_are_documented_values():
    s = Settings()
    assert (s.recently_viewed_limit, s.affinity_half_life_days, s.dormant_days, s.max_profiles) == (
        20,
        7.0,
        180.0,
        100_000,
    )
    assert s.half_life == 7 * 86_400


@pytest.mark.parametrize(
    ("text", "message", "field"),
    [
        ("[settings]\nrecently_viewed_limit = 0\n", ">= 1", "settings.recently_viewed_limit"),
        ("[settings]\nrecently_viewed_limit = 2.5\n", "integer", "settings.recently_viewed_limit"),
        ("[settings]\ndormant_days = 'soon'\n", "number", "settings.dormant_days"),
        ("[settings]\ndormant_days = true\n", "number", "settings.dormant_days"),
        (
            "[settings]\naffinity_half_life_days = nan\n",
            "finite",
            "settings.affinity_half_life_days",
        ),
        ("[settings]\ndormant_dayz = 3\n", "unknown setting", "settings.dormant_dayz"),
        ("[campaign]\nx = 1\n", "unknown section", "campaign"),
        ("settings = 3\n", "expected a table", "settings"),
        ("segments = 3\n", "array of tables", "segments"),
        ("[[segments]]\nname = 'Bad Name'\ncondition = {}\n", "lower-case", "segments[0].name"),
        ("[[segments]]\ncondition = {}\n", "name must be", "segments[0].name"),
        ("[[segments]]\nname = 'dormant'\ncondition = {}\n", "built-in", "segment 'dormant'.name"),
        (
            "[[segments]]\nname = 'brand_affine:x'\ncondition = {}\n",
            "built-in",
            "segment 'brand_affine:x'.name",
        ),
        (
            "[[segments]]\nname = 'a'\ncondition = {}\n[[segments]]\nname = 'a'\ncondition = {}\n",
            "defined twice",
            "segment 'a'.name",
        ),
        ("[[segments]]\nname = 'a'\n", "condition must be a table", "segment 'a'.condition"),
        (
            "[[segments]]\nname = 'a'\ncondition = {}\ncolour = 1\n",
            "unknown field",
            "segment 'a'.colour",
        ),
        (
            "[[segments]]\nname = 'a'\ncondition = {}\ndescription = 3\n",
            "expected text",
            "segment 'a'.description",
        ),
        (
            "[[segments]]\nname = 'vip'\ncondition = { x = { '$bogus' = 1 } }\n",
            "unknown operator '\\$bogus'",
            "segment 'vip'.condition.x.$bogus",
        ),
        (
            "[[segments]]\nname = 'vip'\ncondition = { x = { '$regex' = '(' } }\n",
            "invalid regular expression",
            "segment 'vip'.condition.x.$regex",
        ),
    ],
)
def test_every_problem_is_a_config_error_naming_file_and_field(tmp_path, text, message, field):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as raised:
        Config.from_file(path)
    error = raised.value
    assert error.source == str(path)
    assert error.field == field
    assert str(path) in str(error) and field in str(error)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read") as raised:
        Config.from_file(tmp_path / "missing.toml")
    assert raised.value.source.endswith("missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Config.from_file(write(tmp_path, "[settings\n"))
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Config.from_file(binary)


def test_a_constructor_given_a_bad_config_raises_at_once():
    with pytest.raises(ConfigError, match=r"settings\.max_profiles"):
        Personalizer({"settings": {"max_profiles": -1}})


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({7: {}, "zz": {}}, "7"),
        ({"settings": {"dormant_days": 30, 7: 1, "zz": 1}}, "settings.7"),
        ({"widgets": {"currency": "EUR", 7: 1, "zz": 1}}, "widgets.7"),
        ({"segments": [{"name": "a", "condition": {}, 7: 1, "zz": 1}]}, "segment 'a'.7"),
        (
            {"campaigns": [{"id": "bar", "kind": "hello_bar", "text": "Hi", 7: 1, "zz": 1}]},
            "campaign 'bar'.7",
        ),
        (
            {
                "campaigns": [
                    {"id": "bar", "kind": "hello_bar", "text": "Hi", "caps": {7: 1, "zz": 1}}
                ]
            },
            "campaign 'bar'.caps.7",
        ),
        (
            {
                "campaigns": [
                    {"id": "bar", "kind": "hello_bar", "text": "Hi", "audience": {7: 1, "zz": 1}}
                ]
            },
            "campaign 'bar'.audience.7",
        ),
        ({"delivery": {"memory_bytes": 1024, 7: 1, "zz": 1}}, "delivery.7"),
        ({"collector": {"dedup_window_hours": 1, 7: 1, "zz": 1}}, "collector.7"),
    ],
)
def test_a_key_that_is_not_text_is_named_not_a_type_error(
    config: dict[Any, Any], field: str
) -> None:
    """A config built in Python (not read from TOML) can have keys of any type; sorting the
    unknown ones (here an int and a str) must not end in a TypeError instead of the error
    naming the first of them."""
    with pytest.raises(ConfigError) as caught:
        Config.from_dict(config)
    assert caught.value.field == field
