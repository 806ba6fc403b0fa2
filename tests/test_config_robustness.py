"""Any value in any place of a config is a `ConfigError` or accepted: never another exception.

The example shop's config (every campaign kind) plus a forwarder of each type, a `[delivery]`,
a `[collector]`, `[settings]` and a custom segment; every value in it is replaced, one at a
time, by a value of the wrong sort, and every table gets two keys it does not know (an int and
a str: a config built in Python can have both, and sorting them together raises TypeError).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from personalize_sdk import Config, ConfigError
from personalize_sdk.config import tomllib  # tomli before Python 3.11
from personalize_sdk.examples.shop import CAMPAIGNS

WRONG = ([], 7, None, float("nan"), 10**400, {7: 1, "zz": 1})

Path = tuple[str | int, ...]


def _full_config() -> dict[str, Any]:
    config = tomllib.loads(CAMPAIGNS.read_text(encoding="utf-8"))
    config["forwarders"] = [
        {"type": "http", "url": "http://127.0.0.1:9/events"},
        {"type": "segment", "write_key": "key"},
        {"type": "file", "path": "/tmp/personalize-events.jsonl"},
        {"type": "redis_stream", "url": "redis://127.0.0.1:6379/15"},
    ]
    config["delivery"] = {"memory_bytes": 1 << 20, "drain_timeout": 5.0}
    config["collector"] = {
        "write_keys": ["key"],
        "server_keys": ["backend"],
        "dedup_window_hours": 24,
    }
    config["campaigns"] += [
        {
            "id": "near-the-store",
            "kind": "hello_bar",
            "text": "Pick it up today",
            "audience": {"geo": {"lat": 51.5, "lon": -0.12, "radius_km": 2}},
        },
        {"id": "sale-ends", "kind": "countdown", "title": "Ends soon", "deadline": 1_800_000_000},
    ]
    config["settings"] = {"dormant_days": 120}
    config["segments"] = [
        {"name": "gold", "condition": {"traits.tier": "gold", "orders.count": {"$gte": 2}}}
    ]
    return config


FULL = _full_config()


def _paths(node: Any, prefix: Path = ()) -> Iterator[Path]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _node(tree: Any, path: Path) -> Any:
    for step in path:
        tree = tree[step]
    return tree


def _load_or_config_error(config: dict[Any, Any]) -> None:
    try:
        Config.from_dict(config, source="shop.toml")
    except ConfigError as error:
        assert "shop.toml" in str(error)


def test_the_full_config_loads() -> None:
    assert Config.from_dict(FULL).campaigns


@pytest.mark.parametrize("section", sorted(FULL))
def test_a_wrong_value_anywhere_is_a_config_error(section: str) -> None:
    paths = [(section,), *_paths(FULL[section], (section,))]
    for path in paths:
        for wrong in WRONG:
            config = copy.deepcopy(FULL)
            _node(config, path[:-1])[path[-1]] = wrong
            _load_or_config_error(config)


@pytest.mark.parametrize("section", sorted(FULL))
def test_unknown_keys_of_mixed_types_in_any_table_are_a_config_error(section: str) -> None:
    for path in [(section,), *_paths(FULL[section], (section,))]:
        config = copy.deepcopy(FULL)
        table = _node(config, path)
        if isinstance(table, dict):
            table[7] = 1
            table["zz"] = 1
            _load_or_config_error(config)
