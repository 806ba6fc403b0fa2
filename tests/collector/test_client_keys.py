"""Client write keys (public: in pages and apps) against server keys: a client cannot link its
device to a customer, merge a customer into itself or write into a customer's profile without
the token the shop's backend issued for that customer (`Personalizer.user_token`)."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from personalize_sdk import ConfigError, Page, Personalizer
from personalize_sdk.collector import Collector
from personalize_sdk.user_tokens import UserTokens
from tests.helpers import Clock

WEB = {"X-Write-Key": "web-key"}
BACKEND = {"X-Write-Key": "backend-key"}
HOME = Page(type="home", path="/")
CONFIG = {
    "collector": {"write_keys": ["web-key"], "server_keys": ["backend-key"]},
    "campaigns": [{"id": "hi", "kind": "hello_bar", "text": "Hi {{ first_name or 'there' }}"}],
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pz(clock: Clock) -> Personalizer:
    pz = Personalizer(CONFIG, clock=clock, secret="collector-test-secret-0123456789")
    # The victim: a customer signed in on their own browser, with a name and a history.
    pz.identify("v-victim", user_id="42", traits={"first_name": "Asha"})
    pz.track("v-victim", "Product Viewed", {"product_id": "gift-for-asha"})
    return pz


@pytest.fixture
def client(pz: Personalizer) -> TestClient:
    return TestClient(Collector(pz))


def victim_untouched(pz: Personalizer) -> None:
    victim = pz.profile(user_id="42")
    assert victim.traits == {"first_name": "Asha"}
    assert victim.recently_viewed == ("gift-for-asha",)
    assert victim.counters == {"Product Viewed": 1}


def test_a_client_key_cannot_link_a_device_to_a_customer_without_a_token(client, pz, caplog):
    with caplog.at_level(logging.WARNING, logger="personalize_sdk.collector"):
        for _ in range(2):
            answer = client.post(
                "/v1/identify",
                json={"anonymousId": "v-attacker", "userId": "42", "traits": {"nick": "x"}},
                headers=WEB,
            )
            assert answer.status_code == 200  # a batch is not lost for it
    attacker = pz.profile("v-attacker")
    assert attacker.user_id is None and attacker.traits == {"nick": "x"}  # its own traits only
    assert attacker.recently_viewed == ()
    assert "Asha" not in pz.render("v-attacker", HOME)
    victim_untouched(pz)
    assert Collector(pz).stats() == {}  # counted per collector
    warnings = [r for r in caplog.records if "userToken" in r.getMessage()]
    assert len(warnings) == 1  # logged once


def test_untrusted_messages_are_counted(pz):
    collector = Collector(pz)
    client = TestClient(collector)
    batch = {
        "batch": [
            {"type": "identify", "anonymousId": "v-attacker", "userId": "42"},
            {"type": "alias", "anonymousId": "v-attacker", "previousId": "42", "userId": "me"},
            {"type": "track", "userId": "42", "event": "Order Completed",
             "properties": {"order_id": "o-1", "total": 9999.0}},
            {"type": "track", "anonymousId": "v-attacker", "event": "Page Viewed"},
        ]
    }  # fmt: skip
    assert client.post("/v1/batch", json=batch, headers=WEB).status_code == 200
    stats = collector.stats()
    assert stats["untrusted"] == 3 and stats["accepted"] == 2  # the identify's traits, the page
    victim_untouched(pz)
    assert pz.profile(user_id="me").merged == ()


def test_a_token_the_shop_issued_links_the_device(client, pz, clock):
    token = pz.user_token("42")
    body = {
        "anonymousId": "v-phone",
        "userId": "42",
        "traits": {"home_store": "Pune"},
        "context": {"personalize": {"userToken": token}},
    }
    assert client.post("/v1/identify", json=body, headers=WEB).status_code == 200
    assert pz.profile("v-phone").user_id == "42"
    assert pz.profile(user_id="42").traits["home_store"] == "Pune"
    assert "Asha" in pz.render("v-phone", HOME)
    # The phone's later events (analytics.js sends the userId with each) reach the customer
    # through the device's link.
    event = {"anonymousId": "v-phone", "userId": "42", "event": "Product Viewed",
             "properties": {"product_id": "sku-7"}}  # fmt: skip
    assert client.post("/v1/track", json=event, headers=WEB).status_code == 200
    assert pz.profile(user_id="42").recently_viewed[0] == "sku-7"


@pytest.mark.parametrize("which", ["another user's", "expired", "tampered", "another shop's",
                                   "not text", "a visitor cookie"])  # fmt: skip
def test_a_bad_token_links_nothing(client, pz, clock, which):
    if which == "another user's":
        token = pz.user_token("43")
    elif which == "expired":
        token = pz.user_token("42", ttl_seconds=60)
        clock.advance(61)
    elif which == "tampered":
        token = pz.user_token("42")[:-2] + "AA"
    elif which == "another shop's":
        token = UserTokens(b"another-shops-secret-0123456789").issue("42", clock())
    elif which == "not text":
        token = {"$ne": None}
    else:
        token = pz.signer.sign("0|42")  # signed, but for the visitor cookie
    body = {"anonymousId": "v-attacker", "userId": "42",
            "context": {"personalize": {"userToken": token}}}  # fmt: skip
    assert client.post("/v1/identify", json=body, headers=WEB).status_code == 200
    assert pz.profile("v-attacker").user_id is None
    victim_untouched(pz)


def test_an_event_of_a_client_key_lands_on_its_anonymous_id(client, pz):
    event = {"anonymousId": "v-attacker", "userId": "42", "event": "Product Added",
             "properties": {"product_id": "spam", "price": 1.0, "quantity": 1}}  # fmt: skip
    assert client.post("/v1/track", json=event, headers=WEB).status_code == 200
    assert pz.profile("v-attacker").cart.items[0].product_id == "spam"
    victim_untouched(pz)
    assert not pz.profile(user_id="42").cart  # no cart reminder for what Asha never added


def test_an_alias_of_a_client_key_needs_its_own_anonymous_id_and_a_token(client, pz):
    token = pz.user_token("u-new")
    steal = {"anonymousId": "v-attacker", "previousId": "42", "userId": "u-new",
             "context": {"personalize": {"userToken": token}}}  # fmt: skip
    assert client.post("/v1/alias", json=steal, headers=WEB).status_code == 200
    victim_untouched(pz)  # a token for the sender's own id does not let it take another's
    pz.track("v-mine", "Product Viewed", {"product_id": "sku-1"})
    own = {**steal, "anonymousId": "v-mine", "previousId": "v-mine"}
    assert client.post("/v1/alias", json=own, headers=WEB).status_code == 200
    assert pz.profile(user_id="u-new").recently_viewed == ("sku-1",)
    assert pz.profile("v-mine").user_id == "u-new"


def test_an_alias_of_a_client_key_never_merges_a_customer(client, pz):
    # The sender picks both ids: "42" as its anonymousId and previousId, its own account (and
    # the token the shop gave it) as userId. Read as a user id, "42" is the victim.
    token = pz.user_token("mallory")
    steal = {"anonymousId": "42", "previousId": "42", "userId": "mallory",
             "context": {"personalize": {"userToken": token}}}  # fmt: skip
    assert client.post("/v1/alias", json=steal, headers=WEB).status_code == 200
    victim_untouched(pz)
    assert pz.profile("v-victim").user_id == "42"  # the victim's devices stay theirs
    mallory = pz.profile(user_id="mallory")
    assert mallory.traits == {} and mallory.recently_viewed == ()


@pytest.mark.parametrize(
    "event",
    ["Widget Shown", "Widget Clicked", "Widget Dismissed", "Coupon Copied",
     "Exit Survey Answered", "Order Completed", "Order Updated", "Order Refunded",
     "Order Cancelled"],
)  # fmt: skip
def test_the_beacons_events_and_orders_are_not_a_clients_to_send(pz, event):
    collector = Collector(pz)
    message = {"type": "track", "anonymousId": "v-attacker", "event": event,
               "properties": {"campaign_id": "hi", "variant": "default", "order_id": "o-1",
                              "total": 5000.0, "products": [{"product_id": "sku-9"}]}}  # fmt: skip
    answer = TestClient(collector).post("/v1/batch", json={"batch": [message]}, headers=WEB)
    assert answer.status_code == 200
    profile = pz.profile("v-attacker")
    assert profile.counters == {} and profile.exposures == {} and profile.orders.count == 0
    assert collector.stats()["untrusted"] == 1


def test_a_client_cannot_claim_the_backends_message_ids_first(client, pz):
    junk = {"anonymousId": "v-attacker", "messageId": "order-o-77", "name": "x"}
    assert client.post("/v1/page", json=junk, headers=WEB).status_code == 200
    order = {"userId": "42", "messageId": "order-o-77", "event": "Order Completed",
             "properties": {"order_id": "o-77", "total": 20.0}}  # fmt: skip
    assert client.post("/v1/track", json=order, headers=BACKEND).status_code == 200
    assert pz.profile(user_id="42").orders.count == 1
    # Each kind of key still has its retries folded once.
    assert client.post("/v1/track", json=order, headers=BACKEND).status_code == 200
    assert client.post("/v1/page", json=junk, headers=WEB).status_code == 200
    assert pz.profile(user_id="42").orders.count == 1
    assert pz.profile("v-attacker").counters == {"Page Viewed": 1}


def test_a_clients_message_id_is_its_own_in_the_profile_too(client, pz):
    # The customer's own app (vouched) and the backend write the same profile: an id the app
    # used first must not make the backend's order a "retry".
    token = pz.user_token("42")
    link = {"anonymousId": "v-app", "userId": "42",
            "context": {"personalize": {"userToken": token}}}  # fmt: skip
    assert client.post("/v1/identify", json=link, headers=WEB).status_code == 200
    page = {"anonymousId": "v-app", "messageId": "o-5", "name": "x"}
    assert client.post("/v1/page", json=page, headers=WEB).status_code == 200
    order = {"userId": "42", "messageId": "o-5", "event": "Order Completed",
             "properties": {"order_id": "o-5", "total": 20.0}}  # fmt: skip
    assert client.post("/v1/track", json=order, headers=BACKEND).status_code == 200
    customer = pz.profile(user_id="42")
    assert customer.orders.count == 1 and customer.counters["Page Viewed"] == 1
    assert "c:o-5" in customer.message_ids and "o-5" in customer.message_ids


def test_a_server_key_is_trusted_with_user_ids(client, pz):
    body = {"anonymousId": "v-support-desk", "userId": "42", "traits": {"tier": "gold"}}
    assert client.post("/v1/identify", json=body, headers=BACKEND).status_code == 200
    assert pz.profile("v-support-desk").user_id == "42"
    order = {"userId": "42", "event": "Order Completed",
             "properties": {"order_id": "o-9", "total": 20.0}}  # fmt: skip
    assert client.post("/v1/track", json=order, headers=BACKEND).status_code == 200
    assert pz.profile(user_id="42").orders.count == 1


def test_a_key_is_a_clients_or_a_servers():
    with pytest.raises(ConfigError, match=r"collector\.server_keys"):
        Personalizer({"collector": {"write_keys": ["k"], "server_keys": ["k"]}})
    with pytest.raises(ConfigError, match=r"collector\.server_keys"):
        Personalizer({"collector": {"server_keys": "backend-key"}})


def test_tokens_verify_in_another_process_with_the_same_secret(clock):
    one = Personalizer(clock=clock, secret="shared-secret-0123456789abcdef")
    other = Personalizer(clock=clock, secret="shared-secret-0123456789abcdef")
    assert other.user_tokens.vouches(one.user_token("42"), "42", clock())
    with pytest.raises(Exception, match="user_id"):
        one.user_token("")


def test_tokens_for_any_user_id_text(clock):
    pz = Personalizer(clock=clock, secret="shared-secret-0123456789abcdef")
    for user_id in ("josé@example.com", "顧客-42", "a|b.c", "x" * 255):
        token = pz.user_token(user_id)
        assert token.isascii() and pz.user_tokens.vouches(token, user_id, clock())
        assert not pz.user_tokens.vouches(token, user_id + "x", clock())
    with pytest.raises(ValueError, match="too long"):
        pz.user_token("é" * 255)  # 510 bytes of UTF-8: no token of 512 characters holds it
