"""RedisStore's circuit breaker against real servers: a probe always reports (a server that
answers with an error is up; a cancelled probe lets the next call probe), and with Redis away
`identify` and `forget` fail at once instead of waiting for the queue."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from personalize_sdk import Personalizer, StoreUnavailable
from tests.helpers import view

redis = pytest.importorskip("redis")

from personalize_sdk.redis_store import RedisStore  # noqa: E402

pytestmark = pytest.mark.redis


@pytest.fixture
def hung_url() -> Iterator[str]:
    """A server that takes connections and never answers (a hung Redis)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def _opened(store: RedisStore, pz: Personalizer) -> None:
    """Reads that fail until the breaker opens."""
    for n in range(store.breaker.failures):
        pz.profile(f"nobody-{n}")
    assert store.breaker.is_open


def _past_the_cool_down(store: RedisStore) -> None:
    deadline = time.monotonic() + 5
    while store.breaker.is_open:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_probe_the_server_answers_with_an_error_closes_the_breaker(server):
    # The probe read a key of another type (WRONGTYPE): neither a success nor a fault was
    # reported, and the breaker let no call through again, though Redis was up.
    store = RedisStore(server.url, prefix="t:")
    pz = Personalizer(store=store)
    server.kill()
    _opened(store, pz)
    server.start()
    client = redis.Redis(port=server.port)
    client.set(store.keys.profile("v:bad"), b"tampered")
    elsewhere = Personalizer(store=RedisStore(server.url, prefix="t:"))
    elsewhere.track("seen", "Page Viewed")
    assert elsewhere.store.flush()
    _past_the_cool_down(store)
    assert pz.profile("bad").counters == {}  # the probe: refused, the page goes on
    assert pz.profile("seen").counters == {"Page Viewed": 1}  # read from Redis at once
    pz.track("later", "Page Viewed")
    assert store.flush(timeout=5), store.stats()
    store.close()
    elsewhere.close()


def test_a_cancelled_probe_lets_the_next_call_probe_at_once(hung_url):
    store = RedisStore(hung_url, prefix="t:")
    pz = Personalizer(store=store)
    _opened(store, pz)
    _past_the_cool_down(store)

    async def cancelled_prefetch() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(store.aprefetch("v1"), 0.01)  # the probe, cancelled

    asyncio.run(cancelled_prefetch())
    tried = store.stats()["faults.read"]
    pz.profile("v2")  # probes: tries the server (and times out) rather than wait its turn
    assert store.stats()["faults.read"] == tried + 1
    store.close(timeout=0.1)


def test_with_the_breaker_open_identify_and_forget_fail_at_once(server):
    store = RedisStore(server.url, prefix="t:")
    pz = Personalizer(store=store)
    strict = Personalizer(store=store, strict=True)
    pz.track("v1", "Page Viewed")
    assert store.flush()
    server.kill()
    _opened(store, pz)
    pz.track("v1", "Product Viewed", view("sku-1"))  # queued: identify used to wait for it
    started = time.perf_counter()
    assert pz.identify("v1", user_id="u1") is None  # the login page goes on
    with pytest.raises(StoreUnavailable):
        strict.identify("v1", user_id="u1")
    with pytest.raises(StoreUnavailable):
        pz.forget("v1")  # an erasure raises rather than pass silently
    assert time.perf_counter() - started < 0.1  # the queue's 5 s wait before
    assert pz.stats()["errors.identify.store"] == 1
    server.start()
    assert store.flush(timeout=10), store.stats()
    assert pz.identify("v1", user_id="u1") is not None
    assert pz.profile("v1").counters == {"Page Viewed": 1, "Product Viewed": 1}
    store.close()


def test_on_a_hung_server_identify_and_forget_wait_for_the_breaker_at_most(hung_url):
    # Redis taking connections and never answering: the breaker is closed at first, and the
    # writer's 50 ms timeouts open it; the wait for the queue ends there, not after 5 s.
    store = RedisStore(hung_url, prefix="t:")
    pz = Personalizer(store=store)
    pz.track("v9", "Page Viewed")
    started = time.perf_counter()
    assert pz.identify("v1", user_id="u1") is None
    assert time.perf_counter() - started < 1.0
    other = RedisStore(hung_url, prefix="t:")
    forgetting = Personalizer(store=other)
    forgetting.track("v9", "Page Viewed")
    started = time.perf_counter()
    with pytest.raises(StoreUnavailable):
        forgetting.forget("v1")
    assert time.perf_counter() - started < 2.0
    store.close(timeout=0.1)
    other.close(timeout=0.1)
