"""`unlink` on Redis (a login's old visitor id, a logout's): the link goes, and so does the
visitor from its customer's set of visitors; a login or logout never fails for Redis being
away."""

from __future__ import annotations

import time

import pytest

from personalize_sdk import Page, Personalizer
from personalize_sdk.integrations._handle import RequestPersonalize
from tests.stores.conftest import redis_client

pytest.importorskip("redis")

pytestmark = pytest.mark.redis

HOME = Page(type="home", path="/")
BAR = {"campaigns": [{"id": "hi", "kind": "hello_bar", "text": "Hi {{ first_name or 'there' }}"}]}


def test_an_unlinked_visitor_leaves_its_customers_set(make) -> None:
    store = make()
    pz = Personalizer(BAR, store=store)
    pz.identify("v-kiosk", user_id="u-42", traits={"first_name": "Asha"})
    pz.identify("v-phone", user_id="u-42")
    pz.unlink("v-kiosk")
    members = redis_client().smembers(store.keys.visitors("u-42"))
    assert members == {b"v-phone"}
    assert redis_client().get(store.keys.link("v-kiosk")) is None
    # A later alias of that customer (from the shop's backend) moves their devices: not this one.
    pz.alias("u-42", "u-new")
    assert pz.profile("v-kiosk").user_id is None and "Asha" not in pz.render("v-kiosk", HOME)
    assert pz.profile("v-phone").user_id == "u-new"


def test_logins_do_not_grow_the_customers_set(make) -> None:
    store = make()
    pz = Personalizer(BAR, store=store)
    visitor = "v-first"
    for _ in range(20):  # a view that identifies on every request, without an auth integration
        handle = RequestPersonalize(pz, visitor, HOME)
        handle.identify("u-42")
        assert handle.new_visitor is not None
        visitor = handle.new_visitor.id
    assert redis_client().smembers(store.keys.visitors("u-42")) == {visitor.encode()}


def test_a_login_or_logout_with_redis_away_still_answers(make) -> None:
    pz = Personalizer(BAR, store=make("redis://127.0.0.1:1/0"))  # nothing listens there
    handle = RequestPersonalize(pz, "v-1", HOME)
    started = time.monotonic()
    assert handle.identify("u-42", {"first_name": "Asha"}) is None  # counted, not raised
    fresh = handle.start_new_visitor()
    assert fresh != "v-1" and handle.new_visitor is not None and handle.user_id is None
    assert time.monotonic() - started < 2.0
    assert pz.stats()["errors.identify.store"] >= 1
