"""A Redis that is up but refuses every write for now (out of memory, a replica after a
failover) loses nothing: the writes wait in the queue and land once it takes them again, each
once; and the breaker stays closed, so pages go on reading what Redis has meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from personalize_sdk import Personalizer
from tests.helpers import view

redis = pytest.importorskip("redis")

from personalize_sdk.redis_store import RedisStore  # noqa: E402

pytestmark = pytest.mark.redis


@pytest.mark.parametrize(
    ("refuse", "accept"),
    [
        (
            [
                ("CONFIG", "SET", "maxmemory-policy", "noeviction"),
                ("CONFIG", "SET", "maxmemory", "1"),
            ],
            [("CONFIG", "SET", "maxmemory", "0")],
        ),
        ([("REPLICAOF", "127.0.0.1", "1")], [("REPLICAOF", "NO", "ONE")]),
    ],
    ids=["out-of-memory", "read-only-replica"],
)
def test_writes_wait_while_the_server_refuses_them_all(server: Any, refuse, accept) -> None:
    admin = redis.Redis(port=server.port)
    store = RedisStore(server.url)
    pz = Personalizer(store=store, strict=True)
    pz.track("earlier", "Product Viewed", view("sku-1"))
    assert store.flush(5.0) is True
    for command in refuse:
        admin.execute_command(*command)
    for number in range(5):
        pz.track(f"v{number}", "Product Viewed", view("sku-1"))
    assert store.flush(1.5) is False
    assert store.stats().get("write_errors", 0) == 0
    assert not store.breaker.is_open
    other_process = Personalizer(store=RedisStore(server.url), strict=True)
    assert other_process.profile("earlier").counters == {"Product Viewed": 1}  # reads go on
    other_process.close()
    for command in accept:
        admin.execute_command(*command)
    assert store.flush(15.0) is True
    reader = RedisStore(server.url)
    for number in range(5):
        assert reader.load(f"v:v{number}").counters == {"Product Viewed": 1}
    assert store.stats().get("write_errors", 0) == 0
    pz.close()
    reader.close()
