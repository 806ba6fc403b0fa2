"""The async twins never block the event loop on a store: RedisStore reads through its asyncio
client before the synchronous call runs on a warm cache; SQLite runs in a worker thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from personalize_sdk import Page, Personalizer
from personalize_sdk.sqlite_store import SQLiteStore
from tests.helpers import view
from tests.stores.conftest import REDIS_URL

SEEN = {"id": "seen", "kind": "recently_viewed", "title": "Seen"}
CONFIG = {"campaigns": [{**SEEN, "audience": {"page_types": ["home"]}}]}
HOME = Page(type="home", path="/")


def test_redis_twins_read_with_asyncio_then_answer_from_the_cache(redis_prefix):
    pytest.importorskip("redis")
    from personalize_sdk.redis_store import RedisStore

    writer = Personalizer(CONFIG, store=RedisStore(REDIS_URL, prefix=redis_prefix), strict=True)
    writer.track("v1", "Product Viewed", view("sku-1"))
    writer.identify("v1", user_id="u-1")
    writer.track("v1", "Product Viewed", view("sku-2"))
    assert writer.store.flush()

    store = RedisStore(REDIS_URL, prefix=redis_prefix)
    reader = Personalizer(CONFIG, store=store, strict=True)
    blocking_reads = []
    for name in ("get", "hmget"):
        real = getattr(store.redis, name)
        setattr(
            store.redis,
            name,
            lambda *a, _real=real, **k: blocking_reads.append(a) or _real(*a, **k),
        )

    async def page() -> tuple[str, frozenset[str], int]:
        html = await reader.arender("v1", HOME, "recently_viewed")
        segments = await reader.asegments("v1")
        message = await reader.atrack("v1", "Page Viewed", {"path": "/"})
        assert message
        return html, segments, (await reader.aprofile("v1")).counters["Product Viewed"]

    html, segments, views = asyncio.run(page())
    assert "sku-1" in html and "sku-2" in html
    assert segments == reader.segments("v1") and segments
    assert views == 2
    assert blocking_reads == []  # every read went through the asyncio client
    assert store.flush()
    assert RedisStore(REDIS_URL, prefix=redis_prefix).load("u:u-1").counters["Page Viewed"] == 1
    writer.close()
    reader.close()


def test_sqlite_twins_run_in_a_worker_thread(tmp_path):
    store = SQLiteStore(tmp_path / "p.db")
    pz = Personalizer(CONFIG, store=store, strict=True)
    threads = []
    real = store.update

    def update(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    store.update = update  # type: ignore[method-assign]

    async def work() -> None:
        await pz.atrack("v1", "Product Viewed", view("sku-1"))
        assert (await pz.aidentify("v1", user_id="u-1", traits={"a": 1})) is not None
        assert "sku-1" not in await pz.arender("v1", Page(type="home", path="/"), "top")

    asyncio.run(work())
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert pz.profile(user_id="u-1").traits == {"a": 1}


def test_memory_twins_run_directly():
    pz = Personalizer(CONFIG, strict=True)

    async def work() -> str:
        await pz.atrack("v1", "Product Viewed", view("sku-1"))
        await pz.atrack("v1", "Product Viewed", view("sku-2"))
        return await pz.arender("v1", HOME, "recently_viewed")

    assert "sku-2" in asyncio.run(work())
