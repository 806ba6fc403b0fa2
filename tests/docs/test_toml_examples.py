"""Every TOML example in the README and docs/ is valid TOML (a shop copies them as they are).

TOML 1.0 wants an inline table on one line: an example spread over several lines fails in
`tomllib` the moment a shop pastes it. A block of alternatives (one per line, each a complete
`key = value`) may set the same key twice; each of its lines must then parse on its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
