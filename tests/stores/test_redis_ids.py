"""Any id a shopper may have (spaces, a newline, braces) works across processes: another
process drops its copy of that shopper when one changes it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from personalize_sdk import Personalizer
from personalize_sdk._redis_layout import invalidation, read_invalidation
from tests.stores.conftest import redis_client
from tests.stores.redis_helpers import hearing, listening, wait_to_hear

pytest.importorskip("redis")

pytestmark = pytest.mark.redis

ODD_IDS = ["jane doe", "line\nbreak", "{tag} and  two spaces"]


def soon(seen: Callable[[], bool]) -> None:
    """`seen()` within 2 s (the other process's copy lives 30 s: only a notice drops it)."""
    deadline = time.monotonic() + 2
    while not seen():
        assert time.monotonic() < deadline, "the other process still serves its old copy"
        time.sleep(0.005)


@pytest.mark.parametrize("user_id", ODD_IDS)
def test_a_customers_change_reaches_another_process_whatever_the_id(make, user_id):
    # The notice was the keys joined by spaces, split on spaces: "u:jane doe" arrived as
    # "u:jane" and "doe", and the other process served its stale copy for `local_ttl`.
    one, other = Personalizer(store=make(), strict=True), Personalizer(store=make(), strict=True)
    listening(other.store)
    one.track(None, "Page Viewed", user_id=user_id)
    assert one.store.flush()
    assert other.profile(user_id=user_id).counters == {"Page Viewed": 1}  # cached there now
    one.track(None, "Page Viewed", user_id=user_id)
    assert one.store.flush()
    soon(lambda: other.profile(user_id=user_id).counters == {"Page Viewed": 2})


@pytest.mark.parametrize("visitor_id", ODD_IDS)
def test_a_login_reaches_another_process_whatever_the_visitor_id(make, visitor_id):
    one, other = Personalizer(store=make(), strict=True), Personalizer(store=make(), strict=True)
    listening(other.store)
    assert other.profile(visitor_id).user_id is None  # "not linked", cached there now
    one.track(visitor_id, "Page Viewed")
    one.identify(visitor_id, user_id="u-1")
    soon(lambda: other.profile(visitor_id).user_id == "u-1")
    assert other.profile(visitor_id).counters == {"Page Viewed": 1}


def test_a_message_on_the_channel_that_is_no_notice_is_ignored(make):
    one, other = Personalizer(store=make(), strict=True), Personalizer(store=make(), strict=True)
    heard = hearing(other.store)
    listening(other.store)
    assert redis_client().publish(other.store.keys.channel, b"not a notice at all") == 1
    one.track("v1", "Page Viewed")
    assert one.store.flush()
    wait_to_hear(heard, "v:v1")  # the listener went on
    assert other.store.stats().get("subscribed") == 1


def test_a_notice_holds_its_keys_exactly():
    keys = ["v:a b", "u:\n", "l:{x}", ""]
    assert read_invalidation(invalidation("sender", keys)) == ("sender", keys)
    for other in (b"", b"sender v:a", invalidation("s", [])[:-1], b"\x92\x01\x02"):
        assert read_invalidation(other) is None
