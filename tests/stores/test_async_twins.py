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
from tests.stores.redis_helpers import listening

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
    listening(store)  # a read in flight while the listener subscribes is done again
    blocking_reads = _blocking_commands(store)

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


def _blocking_commands(store) -> list[tuple]:
    """The commands the event loop's thread sends through the store's synchronous client
    from now on (the writer's own thread may: it is not the event loop)."""
    sent: list[tuple] = []
    real = store.redis.execute_command
    loop_thread = threading.current_thread()

    def watched(*args, **options):
        if threading.current_thread() is loop_thread:
            sent.append(args)
        return real(*args, **options)

    store.redis.execute_command = watched
    return sent


@pytest.mark.parametrize("script_loaded", [True, False], ids=["loaded", "flushed"])
def test_an_unknown_visitor_is_prefetched_in_one_round_trip(redis_prefix, script_loaded):
    pytest.importorskip("redis")
    from personalize_sdk.redis_store import RedisStore

    writer = Personalizer(CONFIG, store=RedisStore(REDIS_URL, prefix=redis_prefix), strict=True)
    writer.track("v1", "Product Viewed", view("sku-1"))
    assert writer.store.flush()
    store = RedisStore(REDIS_URL, prefix=redis_prefix)
    reader = Personalizer(CONFIG, store=store, strict=True)
    listening(store)
    if not script_loaded:  # a restarted server: the script is loaded again by itself
        store.redis.script_flush()
    blocking = _blocking_commands(store)

    async def page() -> tuple[str, list[tuple]]:
        client = store._async_client()
        sent: list[tuple] = []
        real = client.execute_command

        async def counted(*args, **options):
            sent.append(args[0])
            return await real(*args, **options)

        client.execute_command = counted
        return await reader.arender("v1", HOME, "recently_viewed"), sent

    html, sent = asyncio.run(page())
    assert "sku-1" in html
    assert sent == (["EVALSHA"] if script_loaded else ["EVALSHA", "EVAL"])
    assert blocking == []
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
