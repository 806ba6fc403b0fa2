"""RedisStore on a real Redis Cluster of three nodes, started here: a shopper's keys share one
slot, the visitor's and the customer's may live on different nodes, and the store works the same
through redis-py's `RedisCluster` client (`RedisStore(url, client=RedisCluster(...))`)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from personalize_sdk import Personalizer
from tests.helpers import view
from tests.stores.redis_helpers import listening

redis = pytest.importorskip("redis")
from personalize_sdk.redis_store import RedisStore  # noqa: E402

pytestmark = pytest.mark.redis
SLOTS = 16384


def _free_port(taken: list[int]) -> int:
    """A port free on 127.0.0.1 whose cluster bus port (10000 above) is free too, both below
    the ephemeral range (32768 and up on Linux): no client connection takes them meanwhile."""
    for port in random.sample(range(20_000, 22_700), 200):
        if port in taken:
            continue
        try:
            for candidate in (port, port + 10_000):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free ports for a Redis cluster")


class Cluster:
    """Three redis-server processes in cluster mode (append-only, so a node restarted keeps
    its data), the slots shared out, joined into one cluster."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ports: list[int] = []
        for _ in range(3):
            self.ports.append(_free_port(self.ports))
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def start(self) -> Cluster:
        for port in self.ports:
            self._start(port)
        nodes = [redis.Redis(host="127.0.0.1", port=port, socket_timeout=2) for port in self.ports]
        share = SLOTS // len(nodes)
        for index, node in enumerate(nodes):
            last = SLOTS - 1 if index == len(nodes) - 1 else (index + 1) * share - 1
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", index * share, last)
        for port in self.ports[1:]:
            nodes[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port)
        self.wait_ok()
        return self

    def _start(self, port: int) -> None:
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "yes", "--appenddirname", f"aof-{port}", "--cluster-enabled",
                   "yes", "--dir", str(self.folder), "--cluster-config-file",
                   f"nodes-{port}.conf"]  # fmt: skip
        self.processes[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        _wait(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping)

    def wait_ok(self) -> None:
        for port in self.ports:
            node = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
            _wait(lambda node=node: node.cluster("info")["cluster_state"] == "ok", 30.0)

    def kill(self, port: int) -> None:
        process = self.processes.pop(port)
        process.kill()
        process.wait()

    def restart(self, port: int) -> None:
        self._start(port)
        self.wait_ok()

    def stop(self) -> None:
        for port in list(self.processes):
            self.kill(port)


def _own_cluster(folder: Path) -> Cluster:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed (CI=true: the cluster tests must run)")
        pytest.skip("redis-server is not installed")
    return Cluster(folder)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    """A cluster shared by the module's tests (each under its own prefix); yields its ports."""
    own = _own_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield own.start().ports
    finally:
        own.stop()


def _wait(ready: Callable[[], Any], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the Redis cluster did not come up")
        time.sleep(0.05)


@pytest.fixture
def make(cluster: list[int]) -> Iterator[Callable[[], RedisStore]]:
    """RedisStores on the cluster under this test's own prefix, closed (and their keys deleted
    on every node) afterwards."""
    prefix = f"pztest-{uuid.uuid4().hex[:10]}:"
    made: list[RedisStore] = []

    def build() -> RedisStore:
        client = redis.RedisCluster(host="127.0.0.1", port=cluster[0], socket_timeout=2)
        store = RedisStore(f"redis://127.0.0.1:{cluster[0]}/0", prefix=prefix, client=client)
        made.append(store)
        return store

    yield build
    for store in made:
        store.close(timeout=1)
    for port in cluster:
        node = redis.Redis(host="127.0.0.1", port=port)
        keys = list(node.scan_iter(match=f"{prefix}*"))
        for key in keys:
            node.delete(key)


def apart(store: RedisStore, visitor: str, prefix: str = "u-") -> str:
    """A user id whose profile lives on another node than `visitor`'s keys."""
    client = store.redis
    node = client.get_node_from_key(store.keys.link(visitor))
    for n in range(1000):
        user_id = f"{prefix}{n}"
        if client.get_node_from_key(store.keys.profile(f"u:{user_id}")) != node:
            return user_id
    raise AssertionError("no user id on another node")


def test_what_one_process_tracks_another_reads_exactly(make):
    writer = Personalizer(store=make(), strict=True)
    for n in range(5):
        for visitor in ("v1", "v2", "v3"):
            writer.track(visitor, "Product Viewed", view(f"sku-{n}"))
    assert writer.store.flush()
    reader = Personalizer(store=make(), strict=True)
    for visitor in ("v1", "v2", "v3"):
        profile = reader.profile(visitor)
        assert profile.counters == {"Product Viewed": 5}
        assert profile.recently_viewed[:2] == ("sku-4", "sku-3")
    assert writer.store.stats().get("write_errors", 0) == 0


def test_identify_links_a_visitor_to_a_customer_on_another_node(make):
    store = make()
    pz = Personalizer(store=store, strict=True)
    user_id = apart(store, "v1")
    pz.track("v1", "Product Viewed", view("sku-1"))
    pz.identify("v1", user_id=user_id, traits={"tier": "gold"})
    pz.track("v1", "Page Viewed")
    assert store.flush()
    other = make()
    profile = Personalizer(store=other, strict=True).profile("v1")
    assert (profile.user_id, profile.traits["tier"]) == (user_id, "gold")
    assert profile.counters == {"Product Viewed": 1, "Page Viewed": 1}
    assert not other.follows_links  # the node refused the other node's key: read apart


def test_another_process_drops_its_copy_when_a_profile_changes(make):
    writer = Personalizer(store=make(), strict=True)
    writer.track("v1", "Page Viewed")
    assert writer.store.flush()
    store = make()
    listening(store)
    reader = Personalizer(store=store, strict=True)
    assert reader.profile("v1").counters == {"Page Viewed": 1}
    writer.track("v1", "Product Viewed", view("sku-1"))
    assert writer.store.flush()
    deadline = time.monotonic() + 5
    while reader.profile("v1").counters.get("Product Viewed") != 1:
        assert time.monotonic() < deadline, "the change never reached the other process"
        time.sleep(0.01)


def test_writes_land_once_after_every_node_lost_its_scripts(make):
    store = make()
    pz = Personalizer(store=store, strict=True)
    pz.track("v0", "Page Viewed")
    assert store.flush()  # the scripts are loaded where this shopper lives
    store.redis.script_flush()  # every node forgets them (a restart, a new node)
    for visitor in ("v1", "v2", "v3", "v4"):
        for n in range(3):
            pz.track(visitor, "Product Viewed", view(f"sku-{n}"))
    assert store.flush()
    fresh = make()
    for visitor in ("v1", "v2", "v3", "v4"):
        assert fresh.load(f"v:{visitor}").counters == {"Product Viewed": 3}
    assert store.stats().get("write_errors", 0) == 0


def test_forget_deletes_the_shoppers_keys_on_every_node(make, cluster):
    store = make()
    pz = Personalizer(store=store, strict=True)
    user_id = apart(store, "v1")
    pz.track("v1", "Product Viewed", view("sku-1"))
    pz.identify("v1", user_id=user_id)
    pz.track("v2", "Page Viewed")
    pz.identify("v2", user_id=user_id)
    assert store.flush()
    pz.forget(user_id)
    left = [
        key
        for port in cluster
        for key in redis.Redis(host="127.0.0.1", port=port).scan_iter(match=f"{store.keys.prefix}*")
        if b"v1" in key or b"v2" in key or user_id.encode() in key
    ]
    assert left == []


def test_forgetting_a_customer_leaves_a_shared_device_to_the_other_customer(make):
    # Each link is checked as it is deleted, by a script of the visitor's slot alone: the
    # customers' keys are on other nodes.
    store = make()
    pz = Personalizer(store=store, strict=True)
    first = apart(store, "shared", prefix="first-")
    second = apart(store, "shared", prefix="second-")
    pz.track("shared", "Page Viewed")
    pz.identify("shared", user_id=first)
    pz.identify("shared", user_id=second)
    pz.forget(first)
    assert make().resolve("shared") == second
    pz.track("shared", "Page Viewed")
    assert store.flush()
    assert make().load(f"u:{second}").counters == {"Page Viewed": 1}


def test_the_asyncio_prefetch_reads_through_the_cluster(make):
    store = make()
    pz = Personalizer(store=store, strict=True)
    user_id = apart(store, "v1")
    pz.identify("v1", user_id=user_id, traits={"tier": "gold"})
    assert store.flush()
    reader = make()
    listening(reader)

    async def prefetch() -> None:
        await reader.aprefetch("v1")
        await reader._async_client().aclose()

    asyncio.run(prefetch())
    with reader._lock:
        cached = reader._cache.get(f"u:{user_id}")
    assert cached is not None and cached.profile.traits["tier"] == "gold"


def test_popularity_counts_meet_in_the_cluster(make):
    from personalize_sdk.events import Event

    feeds = [make().popularity_feed(clock=lambda: 1_000_000.0) for _ in range(2)]
    lines = [{"product_id": "w-1", "category": "Watches", "quantity": 2}]
    feeds[0].record(Event("v", "Order Completed", {"order_id": "o", "products": lines},
                          1_000_000.0, "m"))  # fmt: skip
    assert feeds[0].sync() and feeds[1].sync()
    top = feeds[1].top_products(1_000_000.0, category="watches", metric="orders")
    assert [(r.product_id, r.count) for r in top] == [("w-1", 2)]
    for feed in feeds:
        feed._closed = True


def test_a_config_published_through_the_cluster_switches_a_live_personalizer(cluster):
    from personalize_sdk.config_redis import publish_config
    from tests.config_sources.support import HOME, sale, wait_until

    channel = f"pztest-{uuid.uuid4().hex[:10]}:config"
    client = redis.RedisCluster(host="127.0.0.1", port=cluster[0])
    listener = redis.RedisCluster(host="127.0.0.1", port=cluster[1])
    with Personalizer(config_redis=listener, config_channel=channel) as pz:
        wait_until(lambda: pz.stats().get("config.redis.subscribed", 0) >= 1)
        assert pz.render("v1", HOME) == ""
        started = time.monotonic()
        publish_config(client, sale(), channel=channel)
        wait_until(lambda: "Flash sale on" in pz.render("v1", HOME), timeout=1.0)
        assert time.monotonic() - started < 1.0
    client.delete(channel)


def test_the_collector_claims_message_ids_across_the_cluster(make):
    from personalize_sdk.collector.dedup import dedup_for

    dedup = dedup_for(make(), window=60)
    ids = [f"m-{n}" for n in range(12)]  # spread over the nodes' slots
    assert dedup.claim(ids) == [True] * 12
    assert dedup.claim([*ids[:6], "m-new"]) == [False] * 6 + [True]
    dedup.release(ids[:3])
    assert dedup.claim(ids[:4]) == [True, True, True, False]


def test_a_cluster_url_names_the_store(cluster):
    from personalize_sdk.store_url import open_store

    prefix = f"pztest-{uuid.uuid4().hex[:10]}:"
    url = f"redis+cluster://127.0.0.1:{cluster[1]}/0"
    writer = Personalizer(store=open_store(url, prefix=prefix), strict=True)
    assert isinstance(writer.store.redis, redis.RedisCluster)
    for visitor in ("v1", "v2", "v3"):
        writer.track(visitor, "Page Viewed")
    assert writer.store.flush()
    reader = RedisStore(url, prefix=prefix)
    assert reader.url == f"redis://127.0.0.1:{cluster[1]}/0"
    assert [reader.load(f"v:{v}").counters for v in ("v1", "v2", "v3")] == [{"Page Viewed": 1}] * 3
    writer.close()
    reader.close()
    for port in cluster:
        node = redis.Redis(host="127.0.0.1", port=port)
        for key in node.scan_iter(match=f"{prefix}*"):
            node.delete(key)


def test_a_cluster_none_of_whose_nodes_answers_is_unavailable_at_once(tmp_path):
    from personalize_sdk import StoreUnavailable

    port = _free_port([])  # nothing listens there
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"Redis Cluster at redis://127\.0\.0\.1"):
        RedisStore(f"redis+cluster://127.0.0.1:{port}/0")
    assert time.monotonic() - started < 2.0


def test_a_node_down_mid_traffic_never_reaches_the_page_and_loses_nothing(tmp_path):
    from personalize_sdk import Page

    own = _own_cluster(tmp_path).start()
    try:
        url = f"redis+cluster://127.0.0.1:{own.ports[0]}/0"
        store = RedisStore(url, prefix="t:")
        pz = Personalizer(store=store)
        shoppers = [f"v{n}" for n in range(30)]  # on every node
        for visitor in shoppers:
            pz.track(visitor, "Page Viewed")
        assert store.flush()
        down = own.ports[1]
        own.kill(down)
        page = Page(type="home", path="/")
        slowest = slowest_cold = 0.0
        for visitor in shoppers:
            started = time.monotonic()
            pz.track(visitor, "Product Viewed", view("sku-1"))
            pz.widgets(visitor, page)
            slowest = max(slowest, time.monotonic() - started)
        cold = Personalizer(store=RedisStore(url, prefix="t:"))  # holds no copies: it reads
        for visitor in shoppers:
            started = time.monotonic()
            cold.widgets(visitor, page)
            slowest_cold = max(slowest_cold, time.monotonic() - started)
        for pz_ in (pz, cold):
            assert pz_.stats().get("errors.profile.internal", 0) == 0
        assert store.stats()["pending"] > 0  # the down node's shoppers wait
        own.restart(down)
        deadline = time.monotonic() + 20
        while not store.flush(timeout=1):
            assert time.monotonic() < deadline, store.stats()
        fresh = RedisStore(url, prefix="t:")
        counts = [fresh.load(f"v:{visitor}").counters for visitor in shoppers]
        assert counts == [{"Page Viewed": 1, "Product Viewed": 1}] * len(shoppers)
        assert store.stats().get("write_errors", 0) == 0
        assert max(slowest, slowest_cold) < 1.0, (slowest, slowest_cold)
        store.close(timeout=1)
        fresh.close(timeout=1)
    finally:
        own.stop()


def test_a_forked_child_writes_through_the_cluster(make):
    import multiprocessing

    store = make()
    pz = Personalizer(store=store, strict=True)
    for visitor in ("v1", "v2", "v3"):
        pz.track(visitor, "Page Viewed")
    assert store.flush()  # threads and connections made before the fork
    context = multiprocessing.get_context("fork")
    read, write = context.Pipe()

    def child() -> None:
        for visitor in ("v1", "v2", "v3"):
            pz.track(visitor, "Page Viewed")
        write.send((store.flush(timeout=10), store.stats().get("write_errors", 0)))

    process = context.Process(target=child)
    process.start()
    process.join(timeout=30)
    assert read.poll(0) and read.recv() == (True, 0)
    fresh = make()
    assert [fresh.load(f"v:{v}").counters for v in ("v1", "v2", "v3")] == [{"Page Viewed": 2}] * 3
