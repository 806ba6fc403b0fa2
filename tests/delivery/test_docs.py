"""Every TOML example in docs/forwarding.md is a valid config, so the page cannot drift from
what the loader accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from personalize_sdk.config import Config

PAGE = Path(__file__).resolve().parents[2] / "docs" / "forwarding.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def test_the_page_has_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_each_toml_example_loads(block):
    config = Config.from_text(block, source=str(PAGE))
    assert config.forwarders or config.delivery
