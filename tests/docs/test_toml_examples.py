"""Every TOML example in the README and docs/ is valid TOML (a shop copies them as they are),
and a valid config: a whole one as it is, a piece of a campaign inside one.

TOML 1.0 wants an inline table on one line: an example spread over several lines fails in
`tomllib` the moment a shop pastes it. A block of alternatives (one per line, each a complete
`key = value`) may set the same key twice; each of its lines must then parse on its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from personalize_sdk import Config, ConfigError
from personalize_sdk.config import tomllib  # tomli before Python 3.11

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"```toml\n(.*?)```", re.S)


def _blocks() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            line = text[: match.start()].count("\n") + 1
            found.append((f"{path.relative_to(ROOT)}:{line}", match.group(1)))
    return found


def test_the_docs_have_toml_examples() -> None:
    assert len(_blocks()) >= 10


@pytest.mark.parametrize(("where", "block"), _blocks(), ids=[w for w, _ in _blocks()])
def test_a_toml_example_parses(where: str, block: str) -> None:
    try:
        tomllib.loads(block)
    except tomllib.TOMLDecodeError as error:
        if "overwrite" not in str(error):
            raise AssertionError(f"{where}: {error}") from None
        for line in block.splitlines():  # alternatives, one per line
            tomllib.loads(line)


_SECTIONS = {"settings", "segments", "campaigns", "widgets", "store", "forwarders", "delivery",
             "collector"}  # fmt: skip


def _as_config(data: dict) -> dict:
    """A whole config as it is; a piece of one campaign (`[campaigns.audience]`, a `caps = ...`
    line, a coupon) inside a side coupon, which takes every common field and a coupon, so that
    it is checked as the campaign it belongs to."""
    if set(data) <= _SECTIONS and not isinstance(data.get("campaigns", []), dict):
        return data
    piece = data["campaigns"] if isinstance(data.get("campaigns"), dict) else data
    campaign = {"id": "example", "kind": "side_coupon", "text": "Hi",
                "coupon": {"code": "HELLO", "discount": "5%"}, **piece}  # fmt: skip
    return {"campaigns": [campaign]}


@pytest.mark.parametrize(("where", "block"), _blocks(), ids=[w for w, _ in _blocks()])
def test_a_toml_example_is_a_valid_config(where: str, block: str) -> None:
    try:
        pieces = [tomllib.loads(block)]
    except tomllib.TOMLDecodeError:  # alternatives, one per line: each on its own
        pieces = [tomllib.loads(line) for line in block.splitlines() if line.strip()]
    for data in pieces:
        try:
            Config.from_dict(_as_config(data), source=where)
        except ConfigError as error:
            raise AssertionError(str(error)) from None
