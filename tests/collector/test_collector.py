"""The collector through Starlette's real test client: every route, every way to give the
write key, the limits and the answers, de-duplication, clock skew and alias."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import os
import resource
import sqlite3
import tracemalloc
import zlib

import httpx
import msgpack
import pytest
from starlette.testclient import TestClient

from personalize_sdk import Personalizer
from personalize_sdk.collector import Collector
from personalize_sdk.collector.dedup import MemoryDedup
from personalize_sdk.segment_message import iso_timestamp
from personalize_sdk.sqlite_store import SQLiteStore
from tests.helpers import Clock

KEY = "wk-1"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pz(clock: Clock) -> Personalizer:
    return Personalizer({"collector": {"server_keys": [KEY, "other"]}}, clock=clock)


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


def test_an_id_of_nan_or_infinity_is_refused(client, pz):
    # Python's JSON reads NaN and Infinity (JavaScript's JSON.stringify writes null for them)
    for number in ("NaN", "Infinity", "-Infinity"):
        body = f'{{"userId": {number}, "event": "Page Viewed"}}'
        answer = client.post(
            "/v1/track", content=body, headers={**AUTH, "content-type": "application/json"}
        )
        assert answer.status_code == 400, number
        assert "userId" in answer.text
    assert pz.store.load("u:nan") is None and pz.store.load("u:inf") is None


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
        {"collector": {"server_keys": [KEY]}},
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


def test_a_device_clock_at_1970_is_corrected_from_sent_at(client, pz, clock):
    """A phone whose clock reset to 1970 sends a timestamp and a sentAt that agree, 60 s apart:
    corrected as Segment does, it happened 60 s before we received it. A 400 would make the
    client drop the batch."""
    body = {
        "batch": [_track(1, timestamp="1970-01-01T00:05:00.000Z")],
        "sentAt": "1970-01-01T00:06:00.000Z",
    }
    answer = client.post("/v1/batch", json=body, headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert pz.profile("anon-1").last_seen == pytest.approx(clock() - 60)
    single = {**_track(2, timestamp=0), "sentAt": 30}  # epoch seconds, the same correction
    assert client.post("/v1/track", json=single, headers=AUTH).status_code == 200
    assert pz.profile("anon-1").counters["Product Viewed"] == 2


@pytest.mark.parametrize(
    ("timestamp", "sent_at"),
    [
        ("1970-01-01T00:05:00Z", None),  # nothing to correct it by
        ("1970-01-01T00:05:00Z", "now"),  # the sender's clock is right: 1970 it is
        ("1999-12-31T23:00:00Z", "now"),
        (1_790_000_000_000, None),  # milliseconds
        (1_790_000_000_000, "now"),
        ("1970-06-01T00:00:00Z", "2030-01-01T00:00:00Z"),  # corrected, 1966
    ],
)
def test_a_time_outside_2000_2100_once_corrected_is_400(client, pz, clock, timestamp, sent_at):
    body = {"batch": [_track(1, timestamp=timestamp)]}
    if sent_at is not None:
        body["sentAt"] = iso_timestamp(clock()) if sent_at == "now" else sent_at
    answer = client.post("/v1/batch", json=body, headers=AUTH)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith("batch[0].timestamp: ")
    assert "outside 2000..2100" in answer.json()["error"]
    assert pz.profile("anon-1").counters == {}


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
    rss_before = _reset_peak_rss()
    tracemalloc.start()
    try:
        assert client.post("/v1/batch", content=bomb, headers=headers).status_code == 413
        assert client.post("/v1/batch", content=small_bomb, headers=headers).status_code == 413
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak  # inflated no further than the 500 KB limit
    if rss_before is not None:  # the process's peak resident memory, reset just before
        assert _peak_rss() - rss_before < 32 * 1024 * 1024, _peak_rss() - rss_before
    assert client.post("/v1/batch", content=b"\x1f\x8bnot gzip", headers=headers).status_code == 400
    assert pz.profile("anon-1").counters["Product Viewed"] == 50


MAX_COMPRESSED = 500 * 1024


def _peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux: VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def _reset_peak_rss() -> int | None:
    """Reset the peak to the current resident memory and return it; None where Linux does not
    let us (then only the Python allocations are measured)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return _peak_rss()
    except OSError:
        return None


def test_our_own_msgpack_batches(client, pz):
    body = msgpack.packb(
        {"batch": [_track(n) for n in range(3)], "sentAt": iso_timestamp(pz.clock())}
    )
    headers = {**AUTH, "Content-Type": "application/msgpack"}
    assert client.post("/v1/batch", content=body, headers=headers).status_code == 200
    assert pz.profile("anon-1").counters["Product Viewed"] == 3
    assert client.post("/v1/batch", content=b"\xc1", headers=headers).status_code == 400


def test_ten_thousand_distinct_unknown_event_names_keep_memory_bounded(client, pz):
    before = _reset_peak_rss()
    if before is None:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
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
    after = _peak_rss() if os.path.exists("/proc/self/status") else 0
    grown = max(after, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) - before
    assert grown < 100 * 1024 * 1024, grown
    stats = pz.stats()
    assert stats["events"] == 10_000
    assert len(stats) < 50  # no counter per event name


def test_unknown_routes_and_methods(client):
    assert client.post("/v1/teleport", json={}, headers=AUTH).status_code == 404
    assert client.get("/v1/track").status_code == 405


def test_overload_answers_503_with_retry_after(clock):
    """One request held in flight (its body still arriving) and the limit at 1: the next is
    answered 503 with Retry-After, and the held one completes."""
    pz = Personalizer(
        {"collector": {"server_keys": [KEY], "max_concurrent_requests": 1}}, clock=clock
    )
    collector = Collector(pz)

    async def scenario():
        release = asyncio.Event()

        async def slow_body():
            yield b'{"batch": ['
            await release.wait()
            yield json.dumps(_track(1)).encode() + b"]}"

        transport = httpx.ASGITransport(app=collector)
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as http:
            held = asyncio.ensure_future(http.post("/v1/batch", content=slow_body(), headers=AUTH))
            while collector._in_flight == 0:  # the held request is being read
                await asyncio.sleep(0.001)
            refused = await http.post("/v1/track", json=_track(2), headers=AUTH)
            release.set()
            return await held, refused

    held, refused = asyncio.run(scenario())
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert refused.json() == {"success": False, "error": "overloaded, retry later"}
    assert held.status_code == 200
    assert collector.stats()["overloaded"] == 1
    assert pz.profile("anon-1").counters["Product Viewed"] == 1  # the refused one not folded


@pytest.mark.parametrize("dedup", ["sqlite", "memory"])
def test_a_locked_store_is_a_503_and_the_retry_is_folded_once(tmp_path, dedup):
    """Another process holds the SQLite file's write lock: the store (and the de-duplication
    table beside it) cannot write, the batch is answered 503 and nothing is marked seen; once
    the lock is gone, the sender's retry folds every event exactly once."""
    path = tmp_path / "pz.db"
    pz = Personalizer(
        {"collector": {"server_keys": [KEY]}}, store=SQLiteStore(path, busy_timeout=0.2)
    )
    collector = Collector(pz, dedup=MemoryDedup(3600.0) if dedup == "memory" else None)
    client = TestClient(collector)
    body = {"batch": [_track(1), _track(2), _track(3)]}
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # what a long write by another worker looks like
    try:
        first = client.post("/v1/batch", json=body, headers=AUTH)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert first.status_code == 503 and first.headers["Retry-After"] == "2"
    assert "store unavailable" in first.json()["error"]
    assert collector.stats()["unavailable"] == 1
    assert client.post("/v1/batch", json=body, headers=AUTH).status_code == 200
    assert client.post("/v1/batch", json=body, headers=AUTH).status_code == 200  # a duplicate
    assert pz.profile("anon-1").counters["Product Viewed"] == 3  # each exactly once
    assert collector.stats()["accepted"] == 3 and collector.stats()["duplicates"] == 3
    pz.close()


def test_mounted_in_a_starlette_app(pz):
    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = Starlette(routes=[Mount("/segment", app=Collector(pz))])
    answer = TestClient(app).post("/segment/v1/track", json=_track(), headers=AUTH)
    assert answer.status_code == 200
    assert pz.profile("anon-1").counters["Product Viewed"] == 1


def test_a_batchs_integrations_merge_into_each_item_and_can_turn_us_off(client, pz, collector):
    body = {
        "batch": [
            _track(1),  # the batch's {"All": false} applies: skipped
            _track(2, integrations={"Personalize": True}),  # its own switch wins
            _track(3, integrations={"Mixpanel": True}),  # merged: All false, so skipped
        ],
        "integrations": {"All": False},
    }
    assert client.post("/v1/batch", json=body, headers=AUTH).status_code == 200
    assert pz.profile("anon-1").recently_viewed == ("sku-2",)
    off = {"batch": [_track(4, integrations={"Personalize": False})]}
    assert client.post("/v1/batch", json=off, headers=AUTH).status_code == 200
    assert pz.profile("anon-1").counters["Product Viewed"] == 1
    assert collector.stats()["skipped"] == 3 and collector.stats()["accepted"] == 1
    bad = {"batch": [_track(5, integrations=["Mixpanel"])]}
    answer = client.post("/v1/batch", json=bad, headers=AUTH)
    assert answer.status_code == 400 and "batch[0].integrations" in answer.json()["error"]
    assert (
        client.post("/v1/batch", json={"batch": [], "context": 7}, headers=AUTH).status_code == 400
    )


def test_rejections_are_counted_by_reason(client, collector):
    client.post("/v1/track", json=_track(), headers={"X-Write-Key": "nope"})
    client.post("/v1/track", content=b"{", headers=AUTH)
    client.post("/v1/track", json=_track(event=""), headers=AUTH)
    client.post("/v1/batch", json={"batch": [_track(n) for n in range(2501)]}, headers=AUTH)
    client.post("/v1/track", content=b"x", headers={**AUTH, "Content-Encoding": "br"})
    assert collector.stats() == {
        "rejected.auth": 1,
        "rejected.malformed": 1,
        "rejected.invalid": 1,
        "rejected.too_large": 1,
        "rejected.encoding": 1,
    }


def test_errors_are_named_in_segments_terms(client):
    cases = [
        (_track(anonymousId="x" * 300), "batch[0].anonymousId: must be 1..255 characters"),
        (_track(userId=["u"]), "batch[0].userId: expected str, got list"),
        (_track(messageId=5), "batch[0].messageId: expected str, got int"),
        (_track(properties={"price": "cheap"}), "batch[0].properties.price"),
        ({"type": "alias", "userId": "u-1"}, "batch[0].previousId: alias needs"),
        ({"type": "group", "userId": "u-1"}, "batch[0].groupId: group needs a groupId"),
        ({"type": "identify", "anonymousId": "a", "traits": 3}, "batch[0].traits: expected"),
        ({"type": "page", "anonymousId": "a", "properties": "x"}, "batch[0].properties"),
    ]
    for message, error in cases:
        answer = client.post("/v1/batch", json={"batch": [message]}, headers=AUTH)
        assert answer.status_code == 400, (message, answer.text)
        assert answer.json()["error"].startswith(error), (error, answer.json())
    single = client.post("/v1/track", json={"event": "X"}, headers=AUTH)
    assert single.json()["error"].startswith("track.userId: userId or anonymousId is required")


def test_one_event_over_32_kb_in_a_batch_is_413_and_the_batch_is_not_applied(client, pz):
    huge = _track(2, properties={f"k{n}": "v" * 8000 for n in range(5)})
    answer = client.post("/v1/batch", json={"batch": [_track(1), huge]}, headers=AUTH)
    assert answer.status_code == 413 and answer.json()["error"].startswith("batch[1]")
    assert pz.profile("anon-1").counters == {}


def test_alias_and_identify_merge_two_devices_into_one_customer(client, pz):
    phone = [_track(n, anonymousId="phone") for n in range(3)]
    laptop = [_track(n + 10, anonymousId="laptop") for n in range(2)]
    assert client.post("/v1/batch", json={"batch": phone + laptop}, headers=AUTH).status_code == 200
    merges = {
        "batch": [
            {"type": "identify", "anonymousId": "phone", "userId": "u-5", "traits": {"tier": "a"}},
            {"type": "alias", "previousId": "laptop", "userId": "u-5", "messageId": "al-1"},
        ]
    }
    assert client.post("/v1/batch", json=merges, headers=AUTH).status_code == 200
    customer = pz.profile(user_id="u-5")
    assert customer.counters["Product Viewed"] == 5 and customer.traits["tier"] == "a"
    assert pz.profile("phone").user_id == pz.profile("laptop").user_id == "u-5"
    # later events from either device land on the customer
    later = {"batch": [_track(20, anonymousId="laptop"), _track(21, userId="u-5")]}
    assert client.post("/v1/batch", json=later, headers=AUTH).status_code == 200
    assert pz.profile(user_id="u-5").counters["Product Viewed"] == 7


def test_every_single_message_route_through_httpx_asgi_transport(pz):
    collector = Collector(pz)
    messages = {
        "track": _track(1),
        "page": {"anonymousId": "anon-1", "name": "Home", "messageId": "p"},
        "screen": {"anonymousId": "anon-1", "name": "Cart", "category": "Shop"},
        "identify": {"anonymousId": "anon-1", "userId": "u-1", "traits": {"tier": "b"}},
        "group": {"userId": "u-1", "groupId": "g-1", "traits": {"name": "Acme"}},
        "alias": {"previousId": "anon-2", "userId": "u-1"},
    }

    async def post_all():
        transport = httpx.ASGITransport(app=collector)
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as http:
            return {
                kind: await http.post(f"/v1/{kind}", json=body, auth=(KEY, ""))
                for kind, body in messages.items()
            }

    answers = asyncio.run(post_all())
    assert {kind: a.status_code for kind, a in answers.items()} == dict.fromkeys(messages, 200)
    assert all(a.json() == {"success": True} for a in answers.values())
    customer = pz.profile("anon-1")
    assert customer.user_id == "u-1" and customer.traits["group_name"] == "Acme"
    assert customer.counters["Page Viewed"] == 1 and customer.counters["Screen Viewed"] == 1
    assert customer.counters["Product Viewed"] == 1 and customer.traits["tier"] == "b"
    assert pz.profile("anon-2").user_id == "u-1"
    assert collector.stats() == {"accepted": 6}


@pytest.mark.parametrize(
    "where", ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]
)
def test_alias_of_an_earlier_user_id_merges_the_two_customers(request, tmp_path, where):
    """Segment's alias lets previousId be a userId the customer was known by (server-side
    events sent by userId only): the two customers become one."""
    if where == "sqlite":
        store = SQLiteStore(tmp_path / "pz.db")
    elif where == "redis":
        from personalize_sdk.redis_store import RedisStore
        from tests.stores.conftest import REDIS_URL

        store = RedisStore(REDIS_URL, prefix=request.getfixturevalue("redis_prefix"))
    else:
        store = None
    pz = Personalizer({"collector": {"server_keys": [KEY]}}, store=store)
    client = TestClient(Collector(pz))
    before = {
        "batch": [
            _track(1, userId="u-old"),
            _track(2, anonymousId="phone"),
            {"type": "identify", "anonymousId": "phone", "userId": "u-old", "messageId": "i"},
            _track(3, userId="u-new"),
        ]
    }
    assert client.post("/v1/batch", json=before, headers=AUTH).status_code == 200
    alias = {"previousId": "u-old", "userId": "u-new", "messageId": "al-1"}
    assert client.post("/v1/alias", json=alias, headers=AUTH).status_code == 200
    customer = pz.profile(user_id="u-new")
    assert customer.counters["Product Viewed"] == 3
    assert set(customer.recently_viewed) == {"sku-1", "sku-2", "sku-3"}
    assert pz.profile(user_id="u-old").counters == {}  # one customer now
    later = {"batch": [_track(4, anonymousId="phone")]}  # the earlier customer's device
    assert client.post("/v1/batch", json=later, headers=AUTH).status_code == 200
    assert pz.profile(user_id="u-new").counters["Product Viewed"] == 4
    pz.close()
