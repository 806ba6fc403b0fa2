"""A Redis that is up but refuses every write for now (out of memory, a replica after a
failover) is a fault, not each profile's loss: the writes wait in the queue and land once it
takes them again, each once."""

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
    for command in refuse:
        admin.execute_command(*command)
    for number in range(5):
        pz.track(f"v{number}", "Product Viewed", view("sku-1"))
    assert store.flush(1.0) is False
    assert store.stats().get("write_errors", 0) == 0
    for command in accept:
        admin.execute_command(*command)
    assert store.flush(15.0) is True
    reader = RedisStore(server.url)
    for number in range(5):
        assert reader.load(f"v:v{number}").counters == {"Product Viewed": 1}
    assert store.stats().get("write_errors", 0) == 0
    pz.close()
    reader.close()
