"""RedisStore against real Redis servers: shared profiles across processes, no lost update,
invalidation within milliseconds, keys laid out for a cluster, forget, and an outage that
never reaches the page and loses nothing within the buffer."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
import uuid
from typing import Any

import pytest

from personalize_sdk import ConfigError, Page, Personalizer
from tests.helpers import view
from tests.stores.conftest import REDIS_URL, redis_client
from tests.stores.redis_helpers import (
    count_replays,
    gated,
    hearing,
    listening,
    sent_commands,
    wait_to_hear,
)

redis = pytest.importorskip("redis")
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

from personalize_sdk.redis_store import RedisStore  # noqa: E402

pytestmark = pytest.mark.redis


def test_a_write_in_one_process_shows_in_another_within_milliseconds(make):
    one, other = Personalizer(store=make(), strict=True), Personalizer(store=make(), strict=True)
    assert other.profile("v1").counters == {}  # the other process has it cached, empty
    delays = []
    for i in range(20):
        one.track("v1", "Product Viewed", view(f"sku-{i}"))
        started = time.perf_counter()
        while other.profile("v1").counters.get("Product Viewed", 0) != i + 1:
            assert time.perf_counter() - started < 2.0, "never became visible"
            time.sleep(0.0005)
        delays.append(time.perf_counter() - started)
    delays.sort()
    assert delays[len(delays) // 2] < 0.05, delays  # p50 within the 50 ms


def test_two_writers_on_one_shopper_lose_nothing(make):
    stores = [make(), make()]

    def work(store: RedisStore) -> None:
        pz = Personalizer(store=store, strict=True)
        for i in range(300):
            pz.track("shared", "Product Viewed", view(f"sku-{i % 9}"))

    threads = [threading.Thread(target=work, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(store.flush() for store in stores)
    fresh = make()
    assert fresh.load("v:shared").counters == {"Product Viewed": 600}


def test_a_customer_event_on_a_new_store_is_written_without_a_flush(make):
    # A webhook's event names only the customer: no visitor to resolve, the writer starts anyway
    # and writes it by itself (no flush() to wake it).
    store = make()
    Personalizer(store=store, strict=True).track(None, "Order Completed", user_id="u-hook")
    fresh = make()
    started = time.perf_counter()
    while fresh.load("u:u-hook") is None:
        assert time.perf_counter() - started < 2.0, "the writer never wrote it"
        time.sleep(0.005)
    assert fresh.load("u:u-hook").counters == {"Order Completed": 1}


def test_events_tracked_while_the_writer_writes_are_all_written(make):
    # The writer is woken only when its flag is down: events queued while it is busy must not
    # wait for a later event or a flush.
    store = make()
    pz = Personalizer(store=store, strict=True)
    for round_ in range(30):
        for i in range(20):
            pz.track(f"v{i}", "Product Viewed", view(f"sku-{round_}"))
    started = time.perf_counter()
    while store.stats()["pending"]:
        assert time.perf_counter() - started < 5.0, store.stats()
        time.sleep(0.005)
    fresh = make()
    assert [fresh.load(f"v:v{i}").counters for i in range(20)] == [{"Product Viewed": 30}] * 20


def _child(prefix: str, worker: int) -> None:
    store = RedisStore(REDIS_URL, prefix=prefix)
    pz = Personalizer(store=store, strict=True)
    for i in range(200):
        pz.track("shared", "Product Viewed", view(f"sku-{worker}-{i % 4}"))
    assert store.flush(timeout=30)


def test_processes_writing_one_shopper_lose_nothing(make, redis_prefix):
    parent = make()
    Personalizer(store=parent).track("shared", "Page Viewed")  # threads started before forking
    assert parent.flush()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_child, args=(redis_prefix, n)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    counters = make().load("v:shared").counters
    assert counters == {"Page Viewed": 1, "Product Viewed": 800}


def test_events_queued_behind_a_write_go_out_from_the_local_copy(make):
    """A shopper's events that wait for the writer are written from the local copy, never
    read back from Redis and folded in again: a batch takes the later queued events of its
    profiles too, and a copy with events newer than a write is built on the written version."""
    store = make(batch_size=1)
    listening(store)  # subscribed first: a first subscription drops the copies held
    replayed = count_replays(store)
    pz = Personalizer(store=store, strict=True)
    entered, release = gated(store, "_write")
    pz.track("x", "Page Viewed")  # the writer takes it and waits
    assert entered.wait(10)
    for shopper in ("a", "b", "a", "b", "a"):  # queued behind it, more than a batch
        pz.track(shopper, "Product Viewed", view("sku-1"))
    release.set()
    assert store.flush()
    entered, release = gated(store, "_cas_all")
    pz.track("a", "Page Viewed")  # its write waits after reading the local copy
    assert entered.wait(10)
    pz.track("a", "Product Viewed", view("sku-2"))  # newer than the write in flight
    release.set()
    assert store.flush()
    assert replayed == []
    assert store.stats().get("conflicts", 0) == 0
    fresh = make()
    assert fresh.load("v:a").counters == {"Product Viewed": 4, "Page Viewed": 1}
    assert fresh.load("v:b").counters == {"Product Viewed": 2}
    assert pz.profile("a") == fresh.load("v:a")


@pytest.mark.parametrize("script_loaded", [True, False], ids=["loaded", "flushed"])
def test_an_unknown_visitor_is_read_in_one_round_trip(make, script_loaded):
    writer = make()
    Personalizer(store=writer, strict=True).track("v1", "Page Viewed")
    assert writer.flush()
    Personalizer(store=make(), strict=True).identify("v2", user_id="u-2")
    store = make()
    listening(store)  # a read in flight while the listener subscribes is not kept: read again
    if not script_loaded:  # a restarted server: the script is sent again, by itself
        store.redis.script_flush()
    calls = sent_commands(store)
    pz = Personalizer(store=store, strict=True)
    first = ["EVALSHA"] if script_loaded else ["EVALSHA", "EVAL"]
    assert pz.profile("v1").counters == {"Page Viewed": 1}
    assert calls == first  # link and profile came in one command
    assert pz.profile("v2").user_id == "u-2"
    assert calls == [*first, "EVALSHA"]  # linked: the customer's came with the link


def test_writes_land_once_after_the_server_lost_its_scripts(make):
    store = make()
    pz = Personalizer(store=store, strict=True)
    pz.track("v0", "Page Viewed")
    assert store.flush()
    store.redis.script_flush()  # a restarted server: the writer's pipelined CAS finds none
    for visitor in ("v1", "v2"):
        for n in range(3):
            pz.track(visitor, "Product Viewed", view(f"sku-{n}"))
    assert store.flush()
    fresh = make()
    assert [fresh.load(f"v:{v}").counters for v in ("v1", "v2")] == [{"Product Viewed": 3}] * 2
    assert store.stats().get("write_errors", 0) == 0


def test_a_server_refusing_to_follow_the_link_gets_the_two_reads_from_then_on(make):
    Personalizer(store=make(), strict=True).identify("v2", user_id="u-2", traits={"a": 1})
    store = make()
    listening(store)  # a read in flight while the listener subscribes is not kept: read again
    # A cluster whose other node holds the customer's slot answers the script like this.
    refusing = "return redis.error_reply('ERR Script attempted to access a non local key')"
    store._shopper_script = store.redis.register_script(refusing)
    for script in (store._shopper_script, store._visitor_script):
        store.redis.script_load(script.script)  # loaded: one EVALSHA each
    calls = sent_commands(store)
    pz = Personalizer(store=store, strict=True)
    assert pz.profile("v2").traits == {"a": 1}
    assert not store.follows_links
    assert calls == ["EVALSHA", "EVALSHA", "HMGET"]  # refused once, then the two reads
    assert pz.profile("v3").counters == {}
    assert calls[3:] == ["EVALSHA"]  # not tried again


def test_a_link_key_holding_something_else_fails_that_shoppers_read_only(make):
    writer = Personalizer(store=make(), strict=True)
    writer.identify("v2", user_id="u-2", traits={"a": 1})
    store = make()
    store.redis.hset(store.keys.link("bad"), "d", "not a link")  # tampered: a hash
    pz = Personalizer(store=store, strict=False)
    assert pz.profile("bad").counters == {}  # that shopper degrades to an unknown one
    assert store.follows_links  # one shopper's data is no refusal of the one-round-trip read
    assert pz.profile("v2").traits == {"a": 1}


def test_the_asyncio_prefetch_of_a_linked_visitor_brings_the_customer_in_one_command(make):
    other = Personalizer(store=make(), strict=True)
    other.identify("v2", user_id="u-2", traits={"tier": "gold"})
    other.track("v2", "Page Viewed")
    assert other.store.flush()
    store = make()
    listening(store)  # a read in flight while the listener subscribes is not kept: read again
    store.redis.script_load(store._shopper_script.script)  # loaded, as another test may flush
    sent: list[str] = []

    async def prefetch() -> None:
        client = store._async_client()
        inner = client.execute_command

        async def counted(*args, **options):
            sent.append(args[0])
            return await inner(*args, **options)

        client.execute_command = counted
        await store.aprefetch("v2")

    asyncio.run(prefetch())
    assert sent == ["EVALSHA"]
    calls = sent_commands(store)
    profile = Personalizer(store=store, strict=True).profile("v2")
    assert (profile.user_id, profile.traits["tier"]) == ("u-2", "gold")
    assert profile.counters == {"Page Viewed": 1}
    assert calls == []  # the page reads nothing


def _refusing_reads(store: RedisStore) -> None:
    def refused(*args, **options):
        raise AssertionError("read from Redis")

    store._read_link = refused  # type: ignore[method-assign]
    store._read_visitor = refused  # type: ignore[method-assign]
    store.redis.hmget = refused  # type: ignore[method-assign]


def test_a_visitor_minted_here_is_tracked_without_a_read(make):
    store = make()
    store.note_new_visitor("v-new")
    _refusing_reads(store)
    pz = Personalizer(store=store, strict=True)
    pz.track("v-new", "Page Viewed")
    pz.track("v-new", "Product Viewed", view("p1"))
    assert store.flush(5) is True
    assert store.stats()["writes"] >= 1
    fresh = Personalizer(store=make(), strict=True)
    assert fresh.profile("v-new").counters == {"Page Viewed": 1, "Product Viewed": 1}


def test_a_visitor_noted_new_but_stored_after_all_loses_nothing(make):
    """Noting an id that another process had stored (it cannot happen to a minted one): the
    first write's compare-and-set finds the stored version, and the events are folded in."""
    before = Personalizer(store=make(), strict=True)
    before.track("v-old", "Page Viewed")
    before.track("v-old", "Page Viewed")
    assert before.store.flush(5) is True
    store = make()
    store.note_new_visitor("v-old")
    Personalizer(store=store, strict=True).track("v-old", "Page Viewed")
    assert store.flush(5) is True
    assert store.stats()["conflicts"] >= 1
    assert Personalizer(store=make(), strict=True).profile("v-old").counters == {"Page Viewed": 3}


def test_a_new_visitors_first_page_reads_nothing_from_redis(make):
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from personalize_sdk.integrations.starlette import PersonalizeMiddleware

    store = make()
    pz = Personalizer(store=store, secret="s" * 32)
    _refusing_reads(store)

    async def home(request):
        return HTMLResponse("<html><body>home</body></html>")

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(PersonalizeMiddleware, personalizer=pz)
    with TestClient(app) as client:
        answer = client.get("/")
    assert answer.status_code == 200
    visitor = answer.cookies["pz_vid"].split(".")[0]
    assert pz.stats().get("errors.track", 0) == 0
    assert store.flush(5) is True
    fresh = Personalizer(store=make(), strict=True)
    assert fresh.profile(visitor).counters == {"Page Viewed": 1}


def test_a_forked_child_has_its_own_queue_cache_and_threads(make):
    store = make()
    pz = Personalizer(store=store, strict=True)
    pz.track("v1", "Page Viewed")
    assert store.flush()
    read, write = multiprocessing.get_context("fork").Pipe()
    context = multiprocessing.get_context("fork")

    def child() -> None:
        pz.track("v1", "Page Viewed")
        write.send((store.flush(timeout=10), store.stats()["pending"]))

    process = context.Process(target=child)
    process.start()
    process.join(timeout=30)
    assert read.recv() == (True, 0)
    assert store.flush()
    assert make().load("v:v1").counters == {"Page Viewed": 2}


def test_a_child_forked_while_the_writer_held_the_breaker_does_not_hang(make):
    """The breaker's lock, taken by the writer thread as it records a fault or a recovery,
    was inherited locked by a child forked at that moment: the child's first call that
    touched the breaker waited forever. Each process now has a breaker of its own."""
    store = make()
    pz = Personalizer(store=store, strict=True)
    pz.track("v1", "Page Viewed")
    assert store.flush()
    store.breaker._failed = 1  # a fault was recorded: the next success takes the lock
    held, release = threading.Event(), threading.Event()

    def writer_inside_the_breaker() -> None:
        with store.breaker._lock:
            held.set()
            release.wait(30)

    thread = threading.Thread(target=writer_inside_the_breaker, daemon=True)
    thread.start()
    assert held.wait(10)
    context = multiprocessing.get_context("fork")
    read, write = context.Pipe()

    def child() -> None:
        pz.track("v1", "Page Viewed")
        write.send(store.flush(timeout=5))

    process = context.Process(target=child)
    process.start()
    try:
        process.join(timeout=15)
        hung = process.exitcode is None
        if hung:
            process.kill()
            process.join()
    finally:
        release.set()
        thread.join()
    assert not hung, "the child hung on the breaker's lock"
    assert read.recv() is True
    assert make().load("v:v1").counters == {"Page Viewed": 2}


def test_login_in_another_process_moves_later_events_to_the_customer(make):
    browser, login = (
        Personalizer(store=make(), strict=True),
        Personalizer(store=make(), strict=True),
    )
    browser.track("v1", "Product Viewed", view("sku-1"))
    assert browser.store.flush()
    login.identify("v1", user_id="u-1", traits={"first_name": "Asha"})
    browser.track("v1", "Product Viewed", view("sku-2"))
    assert browser.store.flush()
    customer = make().load("u:u-1")
    assert customer.counters == {"Product Viewed": 2}
    assert customer.traits == {"first_name": "Asha"}
    assert make().load("v:v1") is None


def test_keys_are_prefixed_hash_tagged_and_anonymous_ones_expire(make, redis_prefix):
    pz = Personalizer(store=make(anonymous_ttl=3600), strict=True)
    pz.track("v1", "Page Viewed")
    pz.track("v2", "Page Viewed")
    pz.identify("v2", user_id="u-1")
    assert pz.store.flush()
    client = redis_client()
    keys = sorted(key.decode() for key in client.scan_iter(match=f"{redis_prefix}*"))
    assert keys == [f"{redis_prefix}{{u:u-1}}:p", f"{redis_prefix}{{u:u-1}}:vs",
                    f"{redis_prefix}{{v:v1}}:p", f"{redis_prefix}{{v:v2}}:l"]  # fmt: skip
    assert 3500 < client.ttl(f"{redis_prefix}{{v:v1}}:p") <= 3600
    assert client.ttl(f"{redis_prefix}{{u:u-1}}:p") == -1  # customers do not expire
    pz.forget("u-1")
    left = sorted(key.decode() for key in client.scan_iter(match=f"{redis_prefix}*"))
    assert left == [f"{redis_prefix}{{v:v1}}:p"]
    assert Personalizer(store=make()).profile("v2").counters == {}


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="prefix"):
        RedisStore(REDIS_URL, prefix="{bad}")
    with pytest.raises(ConfigError, match="anonymous_ttl"):
        RedisStore(REDIS_URL, anonymous_ttl=0)
    with pytest.raises(ConfigError, match="url"):
        RedisStore("http://127.0.0.1:6379")
    for bad in ({"local_size": 0}, {"local_size": 1.5}, {"local_ttl": 0}, {"local_ttl": "30"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            RedisStore(REDIS_URL, **bad)


# -- a server of the test's own (the `server` fixture), killed and restarted ----------------


def test_a_unix_socket_url_works(server):
    store = RedisStore(f"unix://{server.socket}?db=0", prefix="t:")
    pz = Personalizer(store=store, strict=True)
    pz.track("v1", "Page Viewed")
    assert store.flush()
    assert RedisStore(server.url, prefix="t:").load("v:v1").counters == {"Page Viewed": 1}
    store.close()


def test_an_outage_never_reaches_the_page_and_loses_nothing(server):
    config = {"campaigns": [{"id": "bar", "kind": "hello_bar", "text": "Hi"}]}
    store = RedisStore(server.url, prefix="t:")
    pz = Personalizer(config, store=store)
    page = Page(type="home", path="/")
    for i in range(50):
        pz.track(f"v{i % 5}", "Page Viewed")
    assert store.flush()
    server.kill()
    slowest = 0.0
    for i in range(300):
        started = time.perf_counter()
        pz.track(f"v{i % 5}", "Page Viewed")
        assert "pz-hello-bar" in pz.render(f"new-{i}", page, "top")  # never a failure
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 0.25, slowest  # connect timeouts are 50 ms, then the breaker opens
    assert store.stats()["pending"] == 300
    assert store.breaker.opened >= 1
    assert not store.flush(timeout=0.3)  # bounded: nothing waits on a dead server
    server.start()
    assert store.flush(timeout=10), store.stats()
    fresh = RedisStore(server.url, prefix="t:")
    assert sum(fresh.load(f"v:v{n}").counters["Page Viewed"] for n in range(5)) == 350
    store.close()


def test_past_the_buffer_the_oldest_events_leave_the_queue_and_are_counted(server):
    store = RedisStore(server.url, prefix="t:", max_pending=100)
    pz = Personalizer(store=store)
    pz.track("v1", "Page Viewed")
    assert store.flush()
    # The invalidation listener, once subscribed, forgets the copies it may have missed news
    # of; on a busy machine it may subscribe after the flush above. Wait for it, then read the
    # copy back, so that what follows starts from a local copy built on the stored version.
    listening(store)
    assert pz.profile("v1").counters == {"Page Viewed": 1}
    server.kill()
    for _ in range(250):
        pz.track("v1", "Page Viewed")
    deadline = time.monotonic() + 5  # the writer may still be trying the dead server
    while store.stats().get("dropped", 0) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = store.stats()
    assert stats["pending"] == 100 and stats["dropped"] == 150
    server.start()
    assert store.flush(timeout=10)
    # Nobody else wrote the profile meanwhile, so this process's copy (which has every event)
    # is written as is: the dropped events could not be replayed, but were not needed.
    stored = RedisStore(server.url, prefix="t:").load("v:v1")
    assert stored.counters == {"Page Viewed": 251}, store.stats()
    store.close()


def test_in_an_outage_a_copy_with_unwritten_events_outlives_its_ttl_and_the_size(server):
    # The local copy is the only place the shopper's unwritten events show: were it let go
    # (its time to live out, more shoppers than local_size), their pages would show a profile
    # of the later events only, until Redis is back.
    store = RedisStore(server.url, prefix="t:", local_ttl=0.3, local_size=2)
    pz = Personalizer(store=store, strict=True)
    listening(store)  # subscribed first: it forgets the copies it may have missed news of
    pz.track("v1", "Page Viewed")
    assert store.flush()
    server.kill()
    for _ in range(3):
        pz.track("v1", "Product Viewed", {"product_id": "p1"})
    for n in range(5):  # more shoppers than the cache holds
        pz.track(f"other-{n}", "Page Viewed")
    time.sleep(0.4)  # past local_ttl
    assert pz.profile("v1").counters == {"Page Viewed": 1, "Product Viewed": 3}
    assert pz.profile("v1").recently_viewed == ("p1",)
    pz.track("v1", "Page Viewed")
    assert pz.profile("v1").counters == {"Page Viewed": 2, "Product Viewed": 3}
    assert pz.profile("other-0").counters == {"Page Viewed": 1}
    server.start()
    assert store.flush(timeout=10), store.stats()
    fresh = RedisStore(server.url, prefix="t:")
    assert fresh.load("v:v1").counters == {"Page Viewed": 2, "Product Viewed": 3}
    assert [fresh.load(f"v:other-{n}").counters for n in range(5)] == [{"Page Viewed": 1}] * 5
    # Written, they are copies like any other again: the cache keeps to its size.
    for n in range(5):
        pz.track(f"later-{n}", "Page Viewed")
    assert store.flush(timeout=10)
    assert len(store._cache) <= 2
    store.close()
    fresh.close()


def test_after_its_connection_drops_the_listener_forgets_what_it_may_have_missed(make):
    # A shop's own client, with redis-py's retries (which would mend the subscription silently,
    # and the news of the gap would be lost). The notice of the other process's write is lost
    # here on purpose: only the listener's own catching up can bring the write in.
    name = f"pz-listener-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL, client_name=name, socket_timeout=0.5,
                                  retry=Retry(NoBackoff(), 3))  # fmt: skip
    store = make(client=client, local_ttl=600.0)
    reader = Personalizer(store=store, strict=True)
    listening(store)
    assert reader.profile("v1").counters == {}  # a local copy now, kept for 600 s
    admin = redis_client()
    other = make()
    other._publish = lambda *keys: None  # its notice never arrives
    Personalizer(store=other, strict=True).track("v1", "Product Viewed", view("sku-1"))
    assert other.flush()
    killed = [admin.client_kill_filter(_id=entry["id"]) for entry in admin.client_list()
              if entry["name"] == name and int(entry.get("sub", 0))]  # fmt: skip
    assert killed == [1]
    deadline = time.monotonic() + 10
    while reader.profile("v1").counters != {"Product Viewed": 1}:
        assert time.monotonic() < deadline, "the missed write never showed"
        time.sleep(0.01)
    assert store.stats()["faults.listen"] == 1


def _hold_answers(store: RedisStore, customer: bool) -> tuple[threading.Event, threading.Event]:
    """Hold the store's next read of Redis after its answer came: a customer's profile is read
    by HMGET, a visitor's link and profile by one script."""
    answered, release = threading.Event(), threading.Event()

    def holding(call):
        def held(*args, **options):
            answer = call(*args, **options)
            if not release.is_set():
                answered.set()
                assert release.wait(10)
            return answer

        return held

    if customer:
        store.redis.hmget = holding(store.redis.hmget)
    else:
        store._read_visitor = holding(store._read_visitor)
    return answered, release


@pytest.mark.parametrize("customer", [False, True], ids=["visitor", "customer"])
def test_an_invalidation_during_a_read_keeps_the_answer_from_being_kept(make, customer):
    # A read answered before another process's write, whose invalidation arrives before the
    # answer is put in the cache: without care, the old answer would be served for local_ttl.
    store = make(local_ttl=600.0)
    listening(store)
    heard = hearing(store)
    key, who = ("u:c1", {"user_id": "c1"}) if customer else ("v:v1", {"visitor_id": "v1"})
    answered, release = _hold_answers(store, customer)
    seen: list[Any] = []
    thread = threading.Thread(target=lambda: seen.append(store.load(key) if customer else
                                                         store.resolve("v1")))  # fmt: skip
    thread.start()
    assert answered.wait(10)
    writer = Personalizer(store=make(), strict=True)
    writer.track(who.get("visitor_id"), "Product Viewed", view("sku-1"),
                 user_id=who.get("user_id"))  # fmt: skip
    assert writer.store.flush()
    wait_to_hear(heard, key)
    release.set()
    thread.join(10)
    assert seen == [None]  # the call that began before the write: nothing stored, no link
    assert store.load(key).counters == {"Product Viewed": 1}  # read again, not kept


def test_an_invalidation_between_a_write_and_its_bookkeeping_keeps_the_copy_from_being_kept(
    make,
):
    # This process's write is in Redis; another process writes the same shopper and announces
    # it before this writer updates its local copy: that copy must not be kept as current.
    store = make(local_ttl=600.0)
    listening(store)
    heard = hearing(store)
    pz = Personalizer(store=store, strict=True)
    entered, release = gated(store, "_committed")
    pz.track("v1", "Product Viewed", view("sku-1"))
    assert entered.wait(10)
    other = Personalizer(store=make(), strict=True)
    other.track("v1", "Product Viewed", view("sku-2"))
    assert other.store.flush()
    wait_to_hear(heard, "v:v1")
    release.set()
    assert store.flush()
    assert pz.profile("v1").counters == {"Product Viewed": 2}


def test_events_moved_to_a_customer_mid_batch_are_pending_once(make):
    # The writer finds v1 linked by another process's login: its event goes back in the queue,
    # for the customer, while the rest of the batch (v2's event) is still being written.
    store = make()
    browser, login = Personalizer(store=store, strict=True), Personalizer(store=make(), strict=True)
    browser.track("v1", "Page Viewed")
    assert store.flush()
    held, release = gated(store, "_cas_all")
    browser.track("v0", "Page Viewed")  # the writer takes this one, and waits
    assert held.wait(10)
    browser.track("v1", "Product Viewed", view("sku-1"))
    browser.track("v2", "Page Viewed")  # these two wait in the queue: the next batch
    login.identify("v1", user_id="u-1")
    relinked, go_on = threading.Event(), threading.Event()
    relink = store._relink

    def relinked_then_held(ops):
        relink(ops)
        relinked.set()
        assert go_on.wait(10)

    store._relink = relinked_then_held
    release.set()
    assert relinked.wait(10)
    assert store.stats()["pending"] == 2  # v1's event in the queue again, v2's in flight
    go_on.set()
    assert store.flush()
    assert store.stats()["pending"] == 0
    assert make().load("u:u-1").counters == {"Page Viewed": 1, "Product Viewed": 1}
    assert make().load("v:v2").counters == {"Page Viewed": 1}


def test_a_write_announced_while_identify_finishes_keeps_its_copy_from_being_kept(make):
    store, other = make(local_ttl=600.0), make()
    listening(store)
    heard = hearing(store)
    pipeline = store.redis.pipeline

    def racing_pipeline(*args, **options):
        pipe = pipeline(*args, **options)
        execute = pipe.execute

        def then_another_write(*a, **k):
            last = any(command[0][0] == "SADD" for command in pipe.command_stack)
            answer = execute(*a, **k)
            if last:  # identify's last step: another process writes the customer now
                Personalizer(store=other, strict=True).track(None, "Page Viewed", user_id="u1")
                assert other.flush()
                wait_to_hear(heard, "u:u1")
            return answer

        pipe.execute = then_another_write
        return pipe

    store.redis.pipeline = racing_pipeline
    Personalizer(store=store, strict=True).identify("v1", user_id="u1", traits={"tier": "gold"})
    store.redis.pipeline = pipeline
    customer = store.load("u:u1")
    assert customer.counters == {"Page Viewed": 1} and customer.traits == {"tier": "gold"}


def test_a_link_forgotten_here_during_a_read_is_not_kept(make):
    store = make(local_ttl=600.0)
    listening(store)
    Personalizer(store=store, strict=True).identify("v1", user_id="u1")
    with store._lock:
        store._links.clear()
    read = store._read_visitor

    def read_then_forget(*args, **options):
        answer = read(*args, **options)  # a request thread has read the link ...
        store.unlink("v1")  # ... and another thread forgets it meanwhile
        return answer

    store._read_visitor = read_then_forget
    assert store.resolve("v1") == "u1"  # the call that began before the forget
    store._read_visitor = read
    assert store.resolve("v1") is None
