"""Identity (E2, E3): merging the anonymous visitor into the customer, once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from personalize_sdk import InvalidEvent, MemoryStore, Personalizer, Settings
from personalize_sdk import events as ev
from personalize_sdk.affinity import score
from personalize_sdk.identity import merge
from personalize_sdk.sqlite_store import SQLiteStore
from tests.helpers import DAY, MINUTE, Clock, view


def browse_then_login(pz: Personalizer, clock: Clock) -> None:
    pz.track("anon-1", ev.PRODUCT_VIEWED, view("a", category="Shoes", brand="Nike"))
    clock.advance(MINUTE)
    pz.track("anon-1", ev.PRODUCT_ADDED, {**view("a", "Shoes", "Nike", 40.0), "quantity": 2})
    clock.advance(MINUTE)
    pz.identify("anon-1", user_id="u-1", traits={"first_name": "Asha"})


def test_login_merges_recently_viewed_affinities_counters_and_cart(pz, clock):
    pz.track("phone", ev.PRODUCT_VIEWED, view("old", category="Shoes"))
    pz.track("phone", ev.ORDER_COMPLETED, {"order_id": "o1", "total": 10.0})
    pz.identify("phone", user_id="u-1")
    clock.advance(DAY)
    browse_then_login(pz, clock)
    p = pz.profile("anon-1")
    assert p.user_id == "u-1"
    assert p.recently_viewed == ("a", "old")
    assert p.counters[ev.PRODUCT_VIEWED] == 2
    assert p.counters[ev.PRODUCT_ADDED] == 1
    assert [(i.product_id, i.quantity) for i in p.cart.items] == [("a", 2)]
    assert p.orders.count == 1
    # shoes: 1 view a day ago (decayed) + view and add today (1 + 3)
    shoes = score(p.category_affinity["shoes"], clock(), Settings().half_life)
    assert shoes == pytest.approx(4 + 2 ** (-1 / 7), rel=1e-3)
    assert p.traits["first_name"] == "Asha"
    assert set(p.aliases) == {"phone", "anon-1"}


def test_after_login_the_visitor_id_resolves_to_the_customer(pz, clock):
    browse_then_login(pz, clock)
    assert pz.store.load("v:anon-1") is None  # the anonymous profile is gone
    pz.track("anon-1", ev.PRODUCT_VIEWED, view("b"))
    assert pz.profile("anon-1").recently_viewed == ("b", "a")
    assert pz.store.load("u:u-1").recently_viewed == ("b", "a")


def test_identify_twice_does_not_double_count(pz, clock):
    browse_then_login(pz, clock)
    once = pz.profile("anon-1")
    pz.identify("anon-1", user_id="u-1", traits={"first_name": "Asha"})
    pz.identify("anon-1", user_id="u-1")
    assert pz.profile("anon-1") == once


def test_merge_is_idempotent_as_a_function(pz, clock):
    pz.track("c", ev.PRODUCT_VIEWED, view("x"))
    pz.identify("c", user_id="u-9")
    customer = pz.store.load("u:u-9")
    pz.track("v", ev.PRODUCT_ADDED, view("y"))
    visitor = pz.store.load("v:v")
    once = merge(customer, visitor, Settings())
    assert merge(once, visitor, Settings()) is once
    assert once.counters == {ev.PRODUCT_VIEWED: 1, ev.PRODUCT_ADDED: 1}


def test_two_devices_both_merge_into_one_customer(pz, clock):
    pz.track("laptop", ev.PRODUCT_VIEWED, view("l"))
    pz.track("phone", ev.PRODUCT_VIEWED, view("p"))
    clock.advance(MINUTE)
    pz.identify("laptop", user_id="u-1")
    pz.identify("phone", user_id="u-1")
    assert pz.profile("laptop") == pz.profile("phone")
    assert pz.profile("phone").recently_viewed == ("p", "l")


def test_identify_without_user_id_sets_traits_on_the_visitor(pz):
    pz.identify(
        "anon", traits={"email_opt_in": True, "location": {"city": "Pune", "latitude": 18.5}}
    )
    p = pz.profile("anon")
    assert p.user_id is None
    assert p.traits["email_opt_in"] is True
    assert p.traits["location"]["city"] == "Pune"


def test_traits_merge_over_existing_and_none_removes(pz):
    pz.identify("v", user_id="u", traits={"first_name": "A", "tier": "gold", "sms_opt_in": True})
    pz.identify(
        "v",
        user_id="u",
        traits={
            "tier": "silver",
            "sms_opt_in": None,
            "crm_score": 7,
            "push_enabled": False,
            "whatsapp_opt_in": True,
            "home_store": "Pune-1",
        },
    )
    assert pz.profile("v").traits == {
        "first_name": "A",
        "tier": "silver",
        "crm_score": 7,
        "push_enabled": False,
        "whatsapp_opt_in": True,
        "home_store": "Pune-1",
    }


@pytest.mark.parametrize(
    ("traits", "field"),
    [
        ({"push_enabled": "yes"}, "traits.push_enabled"),
        ({"email_opt_in": 1}, "traits.email_opt_in"),
        ({"first_name": 5}, "traits.first_name"),
        ({"location": {"latitude": 91.0}}, "traits.location.latitude"),
        ({"location": "Pune"}, "traits.location"),
        ({"score": float("nan")}, "traits.score"),
    ],
)
def test_bad_traits_are_rejected_and_change_nothing(pz, traits, field):
    pz.identify("v", user_id="u", traits={"first_name": "A"})
    before = pz.profile("v")
    with pytest.raises(InvalidEvent) as raised:
        pz.identify("v", user_id="u", traits=traits)
    assert raised.value.field == field
    assert pz.profile("v") == before


def test_bad_ids_are_rejected_in_production_without_raising(clock):
    pz = Personalizer(clock=clock)
    assert pz.identify("v", user_id="") is None
    assert pz.identify("v", user_id="x" * 256) is None
    assert pz.identify(42, user_id="u") is None  # type: ignore[arg-type]
    assert pz.identify(None) is None  # neither a visitor nor a customer
    assert pz.stats() == {"invalid.bad_id": 2, "invalid.type": 2}
    assert pz.store.resolve("v") is None


def test_a_different_customer_on_a_shared_device_gets_the_new_history_only(pz, clock):
    pz.identify("shared", user_id="alice")
    pz.track("shared", ev.PRODUCT_VIEWED, view("alice-item"))
    pz.identify("shared", user_id="bob")
    pz.track("shared", ev.PRODUCT_VIEWED, view("bob-item"))
    assert pz.profile("shared").user_id == "bob"
    assert pz.profile("shared").recently_viewed == ("bob-item",)
    assert pz.store.load("u:alice").recently_viewed == ("alice-item",)


# -- alias: Segment's previousId may be a visitor id or a user id the customer had before ---------


@pytest.fixture(params=["memory", "sqlite"])
def stored(request, tmp_path, clock) -> Iterator[Personalizer]:
    """A Personalizer on each store that runs on this machine alone (Redis: tests/collector)."""
    store = SQLiteStore(tmp_path / "pz.db") if request.param == "sqlite" else None
    pz = Personalizer(store=store, clock=clock, strict=True)
    yield pz
    pz.close()


def test_alias_of_an_earlier_user_id_merges_the_two_customers(stored, clock):
    pz = stored
    pz.track(None, ev.PRODUCT_VIEWED, view("old-a"), user_id="u-old")  # a server-side event
    pz.track("phone", ev.PRODUCT_VIEWED, view("old-b"))
    pz.identify("phone", user_id="u-old", traits={"tier": "gold"})
    pz.track(None, ev.PRODUCT_VIEWED, view("new-a"), user_id="u-new")
    clock.advance(MINUTE)
    merged = pz.alias("u-old", "u-new")
    assert merged is not None and merged.user_id == "u-new"
    customer = pz.profile(user_id="u-new")
    assert customer.counters[ev.PRODUCT_VIEWED] == 3
    assert set(customer.recently_viewed) == {"old-a", "old-b", "new-a"}
    assert customer.traits["tier"] == "gold"
    assert pz.store.load("u:u-old") is None  # one customer now, not two
    # The earlier customer's device is the new customer's, and a repeat changes nothing.
    assert pz.profile("phone").user_id == "u-new"
    pz.alias("u-old", "u-new")
    assert pz.profile(user_id="u-new") == customer
    pz.track("phone", ev.PRODUCT_VIEWED, view("later"))
    assert pz.profile(user_id="u-new").counters[ev.PRODUCT_VIEWED] == 4
    pz.forget("u-new")  # and erasure leaves nothing of either behind
    assert pz.store.load("u:u-new") is None and pz.store.load("u:u-old") is None
    assert pz.store.resolve("phone") is None and pz.store.resolve("u-old") is None


def test_alias_of_a_visitor_id_is_identify(stored):
    pz = stored
    pz.track("anon-1", ev.PRODUCT_VIEWED, view("a"))
    assert pz.alias("anon-1", "u-1") is not None
    assert pz.profile("anon-1").user_id == "u-1"
    assert pz.profile(user_id="u-1").counters == {ev.PRODUCT_VIEWED: 1}
    assert pz.store.load("v:anon-1") is None


def test_alias_of_a_customer_to_itself_keeps_it(stored):
    pz = stored
    pz.track(None, ev.PRODUCT_VIEWED, view("a"), user_id="u-1")
    before = pz.profile(user_id="u-1")
    pz.alias("u-1", "u-1")
    assert pz.profile(user_id="u-1").counters == before.counters == {ev.PRODUCT_VIEWED: 1}


def test_an_event_written_during_the_alias_is_not_lost(clock):
    """The earlier customer changes between the alias's read and its removal (another worker
    tracks for it): what was read is merged, and the rest is put back, not dropped."""
    pz: Personalizer

    class WrittenMeanwhile(MemoryStore):
        def unlink_user(self, user_id: str) -> list[str]:
            pz.track(None, ev.PRODUCT_ADDED, view("meanwhile"), user_id="u-old")
            return super().unlink_user(user_id)

    pz = Personalizer(store=WrittenMeanwhile(), clock=clock, strict=True)
    pz.track(None, ev.PRODUCT_VIEWED, view("a"), user_id="u-old")
    pz.alias("u-old", "u-new")
    assert pz.profile(user_id="u-new").counters == {ev.PRODUCT_VIEWED: 1}
    assert pz.profile(user_id="u-old").counters[ev.PRODUCT_ADDED] == 1


def test_alias_with_bad_ids_is_counted_in_production(clock):
    pz = Personalizer(clock=clock)
    assert pz.alias("", "u-1") is None and pz.alias("u-1", "x" * 256) is None
    assert pz.stats() == {"invalid.bad_id": 2}


def test_the_async_alias_merges_off_the_event_loop_on_a_store_that_blocks(tmp_path, clock):
    store = SQLiteStore(tmp_path / "pz.db")
    pz = Personalizer(store=store, clock=clock, strict=True)
    pz.track(None, ev.PRODUCT_VIEWED, view("old-a"), user_id="u-old")
    threads: set[str] = set()
    update = store.update

    def noting_thread(*args, **kwargs):
        threads.add(threading.current_thread().name)
        return update(*args, **kwargs)

    store.update = noting_thread  # type: ignore[method-assign]

    async def login() -> None:
        assert await pz.aalias("u-old", "u-new") is not None

    asyncio.run(login())
    assert pz.profile(user_id="u-new").counters == {ev.PRODUCT_VIEWED: 1}
    assert threads and threading.main_thread().name not in threads
    pz.close()
