"""One shop app per framework and test module; a fresh client (a new visitor) per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .shops import NAMES, Client, Shop, open_shop


@pytest.fixture(scope="module", params=NAMES)
def shop(request: pytest.FixtureRequest) -> Iterator[Shop]:
    opened = open_shop(request.param)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def client(shop: Shop) -> Client:
    return shop.client()
