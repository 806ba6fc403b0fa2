"""The collector through Starlette's real test client: every route, every way to give the
write key, the limits and the answers, de-duplication, clock skew and alias."""

from __future__ import annotations

import base64
import gzip
import json
import resource
import tracemalloc
import zlib

import msgpack
import pytest
from starlette.testclient import TestClient

from personalize_sdk import Personalizer
from personalize_sdk.collector import Collector
from personalize_sdk.segment_message import iso_timestamp
from tests.helpers import Clock

KEY = "wk-1"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pz(clock: Clock) -> Personalizer:
    return Personalizer({"collector": {"write_keys": [KEY, "other"]}}, clock=clock)


@pytest.fixture
def collector(pz: Personalizer) -> Collector:
    return Collector(pz)


@pytest.fixture
def client(collector: Collector) -> TestClient:
    return TestClient(collector)


def _track(n: int = 0, **extra):
    return {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": "anon-1",
        "messageId": f"m-{n}",
        "properties": {"product_id": f"sku-{n}", "price": 9.5, "category": "Watches"},
        **extra,
    }


def test_track_lands_in_the_profile(client, pz):
    answer = client.post("/v1/track", json=_track(), headers=AUTH)
    assert answer.status_code == 200 and answer.json() == {"success": True}
    assert pz.profile("anon-1").recently_viewed[0] == "sku-0"


@pytest.mark.parametrize("how", ["basic", "header", "body"])
def test_the_write_key_three_ways(client, pz, how):
    body = _track()
    headers = {}
    if how == "basic":
        headers = AUTH
    elif how == "header":
        headers = {"X-Write-Key": "other"}
    else:
        body["writeKey"] = KEY
    assert client.post("/v1/track", json=body, headers=headers).status_code == 200
    assert pz.profile("anon-1").counters["Product Viewed"] == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Write-Key": "nope"},
        {"Authorization": "Basic " + base64.b64encode(b"nope:").decode()},
        {"Authorization": "Basic %%%"},
        {"Authorization": "Bearer wk-1"},
    ],
)
def test_unknown_or_missing_write_keys_are_401_and_change_nothing(client, pz, headers):
    answer = client.post("/v1/track", json=_track(), headers=headers)
    assert answer.status_code == 401
    assert answer.json()["success"] is False
    assert pz.profile("anon-1").counters == {}


def test_no_configured_keys_refuses_everyone():
    client = TestClient(Collector(Personalizer()))
    assert client.post("/v1/track", json=_track(), headers=AUTH).status_code == 401


def test_identify_page_screen_group_and_alias(client, pz):
    post = lambda path, body: client.post(path, json=body, headers=AUTH)  # noqa: E731
    assert (
        post(
            "/v1/identify", {"anonymousId": "anon-1", "traits": {"first_name": "Asha"}}
        ).status_code
        == 200
    )
    assert pz.profile("anon-1").traits["first_name"] == "Asha"
    assert (
        post(
            "/v1/page", {"anonymousId": "anon-1", "name": "Home", "properties": {"path": "/"}}
        ).status_code
        == 200
    )
    assert post("/v1/screen", {"anonymousId": "anon-1", "name": "Cart"}).status_code == 200
    counters = pz.profile("anon-1").counters
    assert counters["Page Viewed"] == 1 and counters["Screen Viewed"] == 1
    assert (
        post(
            "/v1/group", {"userId": "u-9", "groupId": "acme", "traits": {"plan": "pro"}}
        ).status_code
        == 200
    )
    traits = pz.profile(user_id="u-9").traits
    assert traits["group_id"] == "acme" and traits["group_plan"] == "pro"
    # alias: the anonymous history merges into the customer
    assert post("/v1/alias", {"previousId": "anon-1", "userId": "u-9"}).status_code == 200
    merged = pz.profile("anon-1")
    assert merged.user_id == "u-9" and merged.counters["Page Viewed"] == 1
    assert merged.traits["group_id"] == "acme"


def test_identify_by_user_id_only_sets_the_customers_traits(client, pz):
    body = {"userId": 42, "traits": {"email_opt_in": True}}  # Segment allows numeric ids
    assert client.post("/v1/identify", json=body, headers=AUTH).status_code == 200
    assert pz.profile(user_id="42").traits["email_opt_in"] is True


def test_a_batch_merges_its_context_and_lands_every_item(client, pz):
    body = {
        "batch": [_track(n, context={"ip": "1.2.3.4"}) for n in range(5)]
        + [
            {
                "type": "identify",
                "userId": "u-1",
                "anonymousId": "anon-1",
                "traits": {"tier": "gold"},
            }
        ],
        "context": {"app": {"name": "ios"}, "ip": "9.9.9.9"},
    }
    assert client.post("/v1/batch", json=body, headers=AUTH).status_code == 200
    profile = pz.profile("anon-1")
    assert profile.user_id == "u-1" and profile.counters["Product Viewed"] == 5
    assert client.post("/v1/import", json={"batch": [_track(9)]}, headers=AUTH).status_code == 200
    assert pz.profile("anon-1").counters["Product Viewed"] == 6


def test_forwarded_context_is_the_items_merged_with_the_batchs(pz, tmp_path):
    from personalize_sdk.delivery_config import DeliverySettings
    from personalize_sdk.forwarders import FileForwarder

    relay = Personalizer(
        {"collector": {"write_keys": [KEY]}},
        forwarders=[FileForwarder(tmp_path / "drop")],
        delivery=DeliverySettings(spool_dir=tmp_path / "spool"),
    )
    client = TestClient(Collector(relay))
    body = {
        "batch": [_track(1, context={"ip": "1.2.3.4"})],
        "context": {"app": {"name": "ios"}, "ip": "x"},
    }
    assert client.post("/v1/batch", json=body, headers=AUTH).status_code == 200
    assert relay.flush(5.0)
    relay.close()
    [done] = (tmp_path / "drop").glob("*.ndjson")
    [line] = done.read_text().splitlines()
    message = json.loads(line)
    assert message["messageId"] == "m-1"
    assert message["context"]["ip"] == "1.2.3.4" and message["context"]["app"] == {"name": "ios"}


def test_a_message_seen_before_is_answered_200_and_not_folded_again(client, pz, collector):
    for _ in range(3):
        assert (
            client.post(
                "/v1/batch", json={"batch": [_track(1), _track(2)]}, headers=AUTH
            ).status_code
            == 200
        )
    assert pz.profile("anon-1").counters["Product Viewed"] == 2
    assert collector.stats()["duplicates"] == 4 and collector.stats()["accepted"] == 2


def test_clock_skew_is_corrected_from_sent_at(client, pz, clock):
    now = clock()
    skewed = 3600.0  # the phone's clock is an hour fast
    body = {
        "batch": [_track(1, timestamp=iso_timestamp(now - 60 + skewed))],
        "sentAt": iso_timestamp(now + skewed),
    }
    assert client.post("/v1/batch", json=body, headers=AUTH).status_code == 200
    viewed = pz.profile("anon-1").session
    assert viewed is not None
    assert abs(pz.profile("anon-1").last_seen - (now - 60)) < 1.0


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "expected an object"),
        (json.dumps({"batch": "x"}).encode(), 400, "batch: expected a list"),
        (
            json.dumps({"batch": [_track(1), {"type": "track", "event": "X"}]}).encode(),
            400,
            "batch[1].userId",
        ),
        (json.dumps({"batch": [_track(1, properties=[1])]}).encode(), 400, "batch[0].properties"),
        (json.dumps({"batch": [_track(1, event=7)]}).encode(), 400, "batch[0].event"),
        (
            json.dumps({"batch": [_track(1, timestamp="yesterday")]}).encode(),
            400,
            "batch[0].timestamp",
        ),
        (json.dumps({"batch": [_track(1, type="explode")]}).encode(), 400, "batch[0].type"),
        (json.dumps({"batch": [_track(1, properties={"price": 1e400})]}).encode(), 400, "batch[0]"),
        (json.dumps({"batch": [_track(1)], "sentAt": "never"}).encode(), 400, "sentAt"),
        (json.dumps({"batch": [_track(1, anonymousId={"a": 1})]}).encode(), 400, "anonymousId"),
        (b"\xc3\x28 garbage", 400, "body:"),
        (b"[" * 300_000 + b"]" * 300_000, 413, "over"),
        (b"[" * 50_000 + b"]" * 50_000, 400, ""),
    ],
)
def test_bad_input_gets_the_right_4xx_naming_the_problem_and_changes_nothing(
    client, pz, body, status, names
):
    answer = client.post(
        "/v1/batch", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert answer.status_code == status, answer.text
    assert answer.json()["success"] is False
    assert names in answer.json()["error"]
    assert pz.profile("anon-1").counters == {}


def test_size_limits(client, pz):
    big_event = _track(
        1, properties={"blob": "x" * 8000, "b2": "x" * 8000, "b3": "x" * 8000, "b4": "x" * 9000}
    )
    assert client.post("/v1/track", json=big_event, headers=AUTH).status_code == 413
    too_many = {"batch": [_track(n) for n in range(2501)]}
    assert client.post("/v1/batch", json=too_many, headers=AUTH).status_code == 413
    over = {"batch": [_track(n, properties={"t": "y" * 5000}) for n in range(120)]}
    assert client.post("/v1/batch", json=over, headers=AUTH).status_code == 413
    assert pz.profile("anon-1").counters == {}


def test_gzip_bodies_and_a_gzip_bomb(client, pz):
    body = gzip.compress(json.dumps({"batch": [_track(n) for n in range(50)]}).encode())
    headers = {**AUTH, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    assert client.post("/v1/batch", content=body, headers=headers).status_code == 200
    assert pz.profile("anon-1").counters["Product Viewed"] == 50
    # 1 GiB of zeros, about 1 MB compressed: refused by its compressed size ...
    packer = zlib.compressobj(9, wbits=31)
    zeros = b"\0" * (1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range(1024)) + packer.flush()
    # ... and one small enough to pass (50 MB of blanks in about 50 KB) by its inflated size.
    small_bomb = gzip.compress(b'{"batch": [' + b" " * 50_000_000 + b"]}")
    assert len(small_bomb) < MAX_COMPRESSED
    tracemalloc.start()
    try:
        assert client.post("/v1/batch", content=bomb, headers=headers).status_code == 413
        assert client.post("/v1/batch", content=small_bomb, headers=headers).status_code == 413
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak  # inflated no further than the 500 KB limit
    assert client.post("/v1/batch", content=b"\x1f\x8bnot gzip", headers=headers).status_code == 400
    assert pz.profile("anon-1").counters["Product Viewed"] == 50


MAX_COMPRESSED = 500 * 1024


def test_our_own_msgpack_batches(client, pz):
    body = msgpack.packb(
        {"batch": [_track(n) for n in range(3)], "sentAt": iso_timestamp(pz.clock())}
    )
    headers = {**AUTH, "Content-Type": "application/msgpack"}
    assert client.post("/v1/batch", content=body, headers=headers).status_code == 200
    assert pz.profile("anon-1").counters["Product Viewed"] == 3
    assert client.post("/v1/batch", content=b"\xc1", headers=headers).status_code == 400


def test_ten_thousand_distinct_unknown_event_names_keep_memory_bounded(client, pz):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for start in range(0, 10_000, 500):
        batch = [
            {
                "type": "track",
                "event": f"Custom Event {n}",
                "anonymousId": f"a{n % 20}",
                "messageId": f"c{n}",
            }
            for n in range(start, start + 500)
        ]
        assert client.post("/v1/batch", json={"batch": batch}, headers=AUTH).status_code == 200
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 100 * 1024, grown_kb
    stats = pz.stats()
    assert stats["events"] == 10_000
    assert len(stats) < 50  # no counter per event name


def test_unknown_routes_and_methods(client):
    assert client.post("/v1/teleport", json={}, headers=AUTH).status_code == 404
    assert client.get("/v1/track").status_code == 405


def test_overload_answers_503_with_retry_after(pz):
    collector = Collector(pz)
    collector._in_flight = collector.settings.max_concurrent_requests
    answer = TestClient(collector).post("/v1/track", json=_track(), headers=AUTH)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert collector.stats()["overloaded"] == 1


def test_a_store_fault_is_a_503_and_the_retry_is_folded(pz, collector, client, monkeypatch):
    original = pz.store.update
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            from personalize_sdk import StoreUnavailable

            raise StoreUnavailable("down for a moment")
        return original(*args, **kwargs)

    monkeypatch.setattr(pz.store, "update", flaky)
    body = {"batch": [_track(1), _track(2), _track(3)]}
    first = client.post("/v1/batch", json=body, headers=AUTH)
    assert first.status_code == 503 and "Retry-After" in first.headers
    assert client.post("/v1/batch", json=body, headers=AUTH).status_code == 200
    assert pz.profile("anon-1").counters["Product Viewed"] == 3  # each exactly once


def test_mounted_in_a_starlette_app(pz):
    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = Starlette(routes=[Mount("/segment", app=Collector(pz))])
    answer = TestClient(app).post("/segment/v1/track", json=_track(), headers=AUTH)
    assert answer.status_code == 200
    assert pz.profile("anon-1").counters["Product Viewed"] == 1
