"""Every store keeps the `Store` contract: the same calls give the same profiles, links and
atomicity, whichever store is behind the Personalizer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from personalize_sdk import MemoryStore, Personalizer, Profile
from personalize_sdk.sqlite_store import SQLiteStore
from tests.helpers import DAY, T0, Clock, view
from tests.stores.conftest import REDIS_URL


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "p.db")
    else:
        from personalize_sdk.redis_store import RedisStore

        made = RedisStore(REDIS_URL, prefix=request.getfixturevalue("redis_prefix"))
    yield made
    made.close()


def put(store, visitor_id: str) -> Profile:
    return store.update(
        visitor_id, None, lambda current, v, u: current or Profile(visitor_id=v, user_id=u)
    )


def test_update_resolves_the_link_and_a_user_id_wins(store):
    seen = []
    change = lambda current, v, u: seen.append((v, u)) or Profile(visitor_id=v, user_id=u)  # noqa: E731
    store.update("anon", None, change)
    assert store.load("v:anon") == Profile(visitor_id="anon")
    store.identify("anon", "u1", lambda customer, visitor: Profile(user_id="u1"))
    store.update("anon", None, change)
    store.update(None, "u2", change)
    assert seen == [("anon", None), ("anon", "u1"), (None, "u2")]
    assert store.load("v:anon") is None  # taken by identify
    assert {store.load("u:u1").user_id, store.load("u:u2").user_id} == {"u1", "u2"}


def test_a_failing_change_changes_nothing(store):
    put(store, "anon")

    def failing(*_):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.identify("anon", "u1", failing)
    with pytest.raises(RuntimeError):
        store.update("anon", None, failing)
    assert store.load("v:anon") == Profile(visitor_id="anon")
    assert store.resolve("anon") is None
    handed = []
    store.identify("anon", "u1", lambda c, v: handed.append((c, v)) or Profile(user_id="u1"))
    assert handed == [(None, Profile(visitor_id="anon"))]
    assert store.resolve("anon") == "u1"


def test_pop_unlink_and_unlink_user(store):
    for visitor in ("a", "b"):
        store.identify(visitor, "u1", lambda customer, v: Profile(user_id="u1"))
    store.identify("c", "u2", lambda customer, v: Profile(user_id="u2"))
    assert store.unlink_user("u1") == ["a", "b"]
    assert store.resolve("a") is None and store.resolve("c") == "u2"
    store.unlink("c")
    assert store.resolve("c") is None
    assert store.pop("u:u1") == Profile(user_id="u1")
    assert store.pop("u:u1") is None


def test_forgetting_a_customer_leaves_a_shared_device_to_whoever_signed_in_since(store):
    # A device signed in as u1, then as u2: it is u2's. Redis kept it in u1's set of visitors
    # and forget("u1") deleted its link, to u2 by then.
    pz = Personalizer(store=store, strict=True)
    pz.track("shared", "Page Viewed")
    pz.identify("shared", user_id="u1")
    pz.identify("shared", user_id="u2")
    pz.forget("u1")
    assert store.resolve("shared") == "u2"
    pz.track("shared", "Product Viewed", view("sku-1"))
    pz.flush()
    assert pz.profile("shared").user_id == "u2"
    assert pz.profile(user_id="u2").counters == {"Product Viewed": 1}
    assert store.load("u:u1") is None
    assert store.unlink_user("u2") == ["shared"]


def test_a_whole_journey_gives_the_same_profile_as_the_embedded_store(store):
    def journey(pz: Personalizer, clock: Clock) -> Profile:
        pz.track("v1", "Product Viewed", view("sku-1"))
        pz.track("v1", "Product Added", {**view("sku-1"), "quantity": 2})
        clock.advance(600)
        pz.identify("v1", user_id="u-1", traits={"first_name": "Asha", "tags": ["a", 1]})
        pz.track("v2", "Product Viewed", view("sku-2", category="Bags"))
        pz.identify("v2", user_id="u-1")
        clock.advance(DAY)
        pz.track(None, "Order Completed", {"order_id": "o-1", "total": 240.0}, user_id="u-1")
        pz.track("v1", "Widget Shown", {"campaign_id": "c", "variant": "a", "kind": "hello_bar"})
        return pz.profile("v2")

    clock = Clock(T0)
    expected = journey(Personalizer(clock=clock, strict=True), clock)
    clock = Clock(T0)
    pz = Personalizer(store=store, clock=clock, strict=True)
    got = journey(pz, clock)
    unique = {"origin": None, "merged": ()}  # ids made up afresh for every profile
    assert got._replace(**unique) == expected._replace(**unique)
    assert len(got.merged) == len(expected.merged) == 2
    assert pz.segments("v1") == pz.segments("v2")
    pz.forget("u-1")
    assert pz.profile("v1").counters == {} and store.resolve("v1") is None


@pytest.mark.parametrize(
    ("url", "kind"),
    [("memory://", MemoryStore), ("sqlite:///{tmp}/p.db", SQLiteStore),
     ("sqlite:///p.db", SQLiteStore)],
)  # fmt: skip
def test_a_store_from_a_url(url, kind, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pz = Personalizer(store=url.format(tmp=tmp_path))
    assert type(pz.store) is kind
    pz.track("v1", "Page Viewed")
    assert pz.profile("v1").counters == {"Page Viewed": 1}
    pz.close()
    if kind is SQLiteStore:
        assert (tmp_path / "p.db").exists()


def test_a_redis_url_makes_a_redis_store(redis_prefix):
    from personalize_sdk.redis_store import RedisStore
    from personalize_sdk.store_url import open_store

    store = open_store(REDIS_URL, prefix=redis_prefix)
    assert type(store) is RedisStore and store.url == REDIS_URL
    store.close()


@pytest.mark.parametrize(
    "url", ["postgres://x", "sqlite://", "nothing", "redis://[::1", "redis+cluster://[bad"]
)
def test_an_unknown_store_url_is_a_config_error(url):
    from personalize_sdk import ConfigError
    from personalize_sdk.store_url import open_store

    with pytest.raises(ConfigError, match="store"):
        Personalizer(store=url)
    with pytest.raises(ConfigError, match="store URL"):
        open_store(42)  # type: ignore[arg-type]
