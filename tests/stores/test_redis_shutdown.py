"""`Personalizer.flush(timeout)` and `close()` keep their time bounds with Redis away, and say
whether the writes got there."""

from __future__ import annotations

import socket
import time

import pytest

from personalize_sdk import Personalizer
from tests.helpers import view
from tests.stores.conftest import REDIS_URL

redis = pytest.importorskip("redis")

from personalize_sdk.redis_store import RedisStore  # noqa: E402

pytestmark = pytest.mark.redis


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there now


def test_flush_waits_at_most_its_timeout_and_says_the_writes_are_pending() -> None:
    pz = Personalizer(store=RedisStore(_closed_port_url()), strict=False)
    pz.track("v1", "Product Viewed", view("sku-1"))
    started = time.monotonic()
    assert pz.flush(timeout=0.5) is False
    assert time.monotonic() - started < 1.5
    started = time.monotonic()
    pz.close()
    assert time.monotonic() - started < pz.config.delivery.drain_timeout + 2.0


def test_flush_says_true_once_everything_is_in_redis(redis_prefix) -> None:
    pz = Personalizer(store=RedisStore(REDIS_URL, prefix=redis_prefix), strict=True)
    pz.track("v1", "Product Viewed", view("sku-1"))
    assert pz.flush(timeout=5.0) is True
    assert RedisStore(REDIS_URL, prefix=redis_prefix).load("v:v1").counters == {"Product Viewed": 1}
    pz.close()
