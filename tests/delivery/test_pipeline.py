"""The delivery pipeline end to end: a Personalizer with forwarders, a real HTTP server on
127.0.0.1 that misbehaves on cue (`tests/delivery/sink.py`), and the counters."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from pathlib import Path

import attrs
import pytest

from personalize_sdk import Personalizer
from personalize_sdk.delivery.alarm import Alarm
from personalize_sdk.delivery_config import DeliverySettings
from personalize_sdk.forwarders import HttpForwarder, SegmentForwarder

from .sink import Sink


def _track(
    pz: Personalizer, count: int, *, start: int = 0, name: str = "Product Viewed"
) -> list[str]:
    ids = []
    for n in range(start, start + count):
        message_id = pz.track(f"v{n % 7}", name, {"product_id": f"sku-{n}", "price": 10.0 + n})
        assert message_id is not None
        ids.append(message_id)
    return ids


def _wait(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def test_segment_forwarder_sends_the_spec_batch_format(sink: Sink, delivery):
    forwarder = SegmentForwarder("key-1", host=sink.url)
    with Personalizer(forwarders=[forwarder], delivery=delivery) as pz:
        [message_id] = _track(pz, 1)
        pz.identify("v0", user_id="u-42", traits={"first_name": "Asha"})
        pz.track(None, "Order Completed", {"order_id": "o-1", "total": 5.0}, user_id="u-42")
        assert pz.flush(5.0) is True
    [batch, *rest] = sink.batches
    assert not rest
    assert batch["path"] == "/v1/batch"
    assert batch["headers"]["Authorization"] == "Basic a2V5LTE6"  # "key-1:" in base64
    payload = batch["payload"]
    assert payload["writeKey"] == "key-1"
    assert payload["sentAt"].endswith("Z")
    viewed, identified, ordered = payload["batch"]
    assert viewed["type"] == "track"
    assert viewed["event"] == "Product Viewed"
    assert viewed["messageId"] == message_id
    assert viewed["anonymousId"] == "v0"
    assert "userId" not in viewed
    assert viewed["properties"] == {"product_id": "sku-0", "price": 10.0}
    assert viewed["context"]["library"]["name"] == "personalize-sdk"
    assert viewed["timestamp"].endswith("Z") and "T" in viewed["timestamp"]
    assert identified["type"] == "identify"
    assert identified["userId"] == "u-42"
    assert identified["anonymousId"] == "v0"
    assert identified["traits"] == {"first_name": "Asha"}
    assert ordered["userId"] == "u-42" and "anonymousId" not in ordered


def test_http_forwarder_in_msgpack_with_gzip_and_headers(sink: Sink, delivery):
    forwarder = HttpForwarder(
        sink.url + "/ingest",
        format="msgpack",
        gzip=True,
        headers={"Authorization": "Bearer t0ken"},
        name="lake",
    )
    with Personalizer(forwarders=[forwarder], delivery=delivery) as pz:
        ids = _track(pz, 1200)
        assert pz.flush(5.0) is True
        stats = pz.delivery_stats()["lake"]
    assert sink.message_ids() == ids  # every one, once, in order
    headers = sink.batches[0]["headers"]
    assert headers["Content-Type"] == "application/msgpack"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Authorization"] == "Bearer t0ken"
    assert max(len(b["payload"]["batch"]) for b in sink.batches) <= 500
    assert stats["sent"] == 1200 and stats["queued"] == 0 and stats["dropped"] == {}


def test_faults_lose_nothing_and_the_counters_say_what_happened(sink: Sink, delivery):
    sink.script = [
        ("status", 503, {"Retry-After": "0.2"}),
        ("status", 429, {}),
        ("reset",),
        ("slow", 1.5),  # past the forwarder's timeout: retried, and may arrive twice
        ("status", 500, {}),
    ]
    forwarder = SegmentForwarder("k", host=sink.url, timeout=0.5, batch_size=50)
    with Personalizer(forwarders=[forwarder], delivery=delivery) as pz:
        ids = _track(pz, 300)
        assert pz.flush(30.0) is True
        stats = pz.delivery_stats()["segment"]
    received = Counter(sink.message_ids())
    assert set(received) == set(ids)  # nothing lost
    assert len(set(sink.message_ids())) == 300  # after de-duplication by messageId: exactly once
    assert stats["sent"] == 300
    assert stats["retried"] == 5
    assert stats["dropped"] == {}
    assert stats["last_error"]  # the latest failure, in words


def test_a_poison_event_is_dropped_alone(sink: Sink, delivery):
    with Personalizer(forwarders=[SegmentForwarder("k", host=sink.url)], delivery=delivery) as pz:
        ids = _track(pz, 100)
        sink.poison = {ids[37]}
        assert pz.flush(10.0) is True
        stats = pz.delivery_stats()["segment"]
    assert sorted(sink.message_ids()) == sorted(i for i in ids if i != ids[37])
    assert stats["dropped"] == {"http_400": 1}
    assert stats["sent"] == 99


def test_other_4xx_drop_the_batch_and_count_it(sink: Sink, delivery):
    sink.script = [("status", 401, {})]
    with Personalizer(forwarders=[SegmentForwarder("k", host=sink.url)], delivery=delivery) as pz:
        _track(pz, 10)
        assert pz.flush(5.0) is True
        later = _track(pz, 5, start=10)
        assert pz.flush(5.0) is True
        stats = pz.delivery_stats()["segment"]
        counts = pz.stats()
    assert sink.message_ids() == later
    assert stats["dropped"] == {"http_401": 10}
    assert counts["forward.segment.dropped.http_401"] == 10
    assert counts["forward.segment.sent"] == 5


def test_include_exclude_and_a_redacting_hook(sink: Sink, delivery):
    def redact(message):
        message.get("properties", {}).pop("email", None)
        return None if message.get("event") == "Secret" else message

    orders = SegmentForwarder("k", host=sink.url, include=["Order Completed"], name="orders")
    everything = HttpForwarder(
        sink.url + "/all", exclude=["Product Viewed"], transform=redact, name="all"
    )
    with Personalizer(forwarders=[orders, everything], delivery=delivery) as pz:
        pz.track("v1", "Product Viewed", {"product_id": "p"})
        pz.track("v1", "Order Completed", {"order_id": "o", "email": "a@b.c"})
        pz.track("v1", "Secret", {"x": 1})
        assert pz.flush(5.0) is True
        stats = pz.delivery_stats()
    by_path = {}
    for batch in sink.batches:
        by_path.setdefault(batch["path"], []).extend(batch["payload"]["batch"])
    assert [m["event"] for m in by_path["/v1/batch"]] == ["Order Completed"]
    assert by_path["/v1/batch"][0]["properties"]["email"] == "a@b.c"  # redacted for one only
    assert [m["event"] for m in by_path["/all"]] == ["Order Completed"]
    assert "email" not in by_path["/all"][0]["properties"]
    assert stats["all"]["dropped"] == {"transform": 1}


def test_a_slow_destination_delays_no_other(sink: Sink, delivery):
    slow = Sink()
    slow.script = [("slow", 3.0)]
    try:
        with Personalizer(
            forwarders=[
                SegmentForwarder("k", host=slow.url, name="slow", timeout=10.0),
                SegmentForwarder("k", host=sink.url, name="fast", interval=0.05),
            ],
            delivery=delivery,
        ) as pz:
            ids = _track(pz, 20)
            started = time.monotonic()
            assert _wait(lambda: len(sink.messages) == 20, timeout=2.0)
            assert time.monotonic() - started < 1.5
            assert not slow.batches
            assert pz.flush(10.0) is True
        assert slow.message_ids() == ids
    finally:
        slow.close()


def test_track_never_waits_on_a_hanging_destination(sink: Sink, delivery):
    sink.script = [("slow", 5.0)] * 3
    with Personalizer(
        forwarders=[SegmentForwarder("k", host=sink.url, timeout=30.0)], delivery=delivery
    ) as pz:
        _track(pz, 1)
        time.sleep(0.2)  # the first batch is in flight, hanging
        started = time.perf_counter()
        _track(pz, 2000, start=1)
        per_call = (time.perf_counter() - started) / 2000
        began = time.monotonic()
        assert pz.flush(0.3) is False  # bounded: says it is not done
        assert time.monotonic() - began < 1.0
        assert pz.delivery_stats()["segment"]["queued"] == 2001
    assert per_call < 0.005  # a deque append and the profile fold, nowhere near the 5 s hang


def test_memory_bound_spills_to_disk_then_delivers_in_order(sink: Sink, delivery):
    sink.script = [("status", 503, {"Retry-After": "0.5"})] * 3
    settings = attrs.evolve(delivery, memory_bytes=20_000)
    with Personalizer(forwarders=[SegmentForwarder("k", host=sink.url)], delivery=settings) as pz:
        ids = _track(pz, 2000)
        assert _wait(lambda: pz.delivery_stats()["segment"]["spilled"] > 0)
        during = pz.delivery_stats()["segment"]
        assert during["in_memory_bytes"] <= 20_000
        assert during["on_disk_bytes"] > 0
        assert pz.flush(20.0) is True
        stats = pz.delivery_stats()["segment"]
    assert sink.message_ids() == ids  # nothing lost, first in first out
    assert stats["spilled"] > 1000 and stats["dropped"] == {} and stats["on_disk_bytes"] == 0
    assert not list((delivery.spool_root / "segment").glob("*.spool"))  # delivered: removed


def test_past_the_disk_bound_the_oldest_are_dropped_and_counted(delivery):
    dead = "http://127.0.0.1:9"  # discard port: nothing listens, connection refused
    settings = attrs.evolve(delivery, memory_bytes=0, disk_bytes=200_000)
    with Personalizer(
        forwarders=[SegmentForwarder("k", host=dead, timeout=0.2)], delivery=settings
    ) as pz:
        _track(pz, 3000)
        pz.flush(1.0)
        stats = pz.delivery_stats()["segment"]
    assert stats["dropped"].get("disk_full", 0) > 0
    assert stats["on_disk_bytes"] <= 200_000
    assert stats["dropped"]["disk_full"] + stats["queued"] == 3000
    assert stats["retried"] >= 1 and "network error" in stats["last_error"]


def test_close_keeps_what_it_could_not_send_and_the_next_start_sends_it(sink: Sink, delivery):
    dead = "http://127.0.0.1:9"
    first = Personalizer(
        forwarders=[SegmentForwarder("k", host=dead, timeout=0.2)],
        delivery=attrs.evolve(delivery, drain_timeout=0.5),
    )
    ids = _track(first, 700)
    started = time.monotonic()
    first.close()  # one bounded drain, then the rest goes to disk
    assert time.monotonic() - started < 3.0
    assert list((delivery.spool_root / "segment").glob("*.spool"))
    second = Personalizer(forwarders=[SegmentForwarder("k", host=sink.url)], delivery=delivery)
    try:
        assert second.flush(10.0) is True  # nothing tracked here: the spool alone
        assert sorted(sink.message_ids()) == sorted(ids)
        assert second.delivery_stats()["segment"]["sent"] == 700
    finally:
        second.close()


def test_many_threads_track_at_once_and_every_event_arrives(sink: Sink, delivery):
    with Personalizer(forwarders=[SegmentForwarder("k", host=sink.url)], delivery=delivery) as pz:
        results: list[list[str]] = []

        def worker(n: int) -> None:
            results.append(_track(pz, 500, start=n * 1000))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert pz.flush(10.0) is True
    sent = sink.message_ids()
    assert len(sent) == 4000 and set(sent) == {i for ids in results for i in ids}


def test_flush_without_forwarders_and_after_close(sink: Sink, delivery):
    plain = Personalizer()
    assert plain.flush() is True
    assert plain.delivery_stats() == {}
    pz = Personalizer(forwarders=[SegmentForwarder("k", host=sink.url)], delivery=delivery)
    assert pz.flush(0.1) is True  # nothing queued, nothing started
    _track(pz, 3)
    pz.close()
    assert sorted(sink.message_ids()) and len(sink.message_ids()) == 3
    assert pz.track("v", "Product Viewed") is None  # refused after close, counted
    assert pz.flush(0.1) is True


def test_rejected_events_are_not_forwarded(sink: Sink, delivery):
    with Personalizer(forwarders=[SegmentForwarder("k", host=sink.url)], delivery=delivery) as pz:
        assert pz.track("v1", "Product Viewed", {"price": float("nan")}) is None
        good = pz.track("v1", "Product Viewed", {"price": 1.0})
        assert pz.flush(5.0)
    assert sink.message_ids() == [good]


def test_what_is_forwarded_is_the_event_as_tracked_not_as_the_caller_changed_it(
    sink: Sink, delivery
):
    """A shop reusing one dict (and one product list) for its next calls: the delivery thread
    encodes later, but every event goes out as it was when it was tracked."""
    release = threading.Event()

    def hold(message):  # the dispatcher waits here on the first message: the rest stay queued
        release.wait(10.0)
        return message

    forwarder = SegmentForwarder("k", host=sink.url, transform=hold)
    with Personalizer(forwarders=[forwarder], delivery=delivery) as pz:
        properties: dict = {"products": [{"product_id": "first"}]}
        context: dict = {"page": {"path": "/"}}
        traits: dict = {"first_name": "Zoë"}
        ids = []
        for n in range(60):
            properties["product_id"] = f"sku-{n}"
            properties["price"] = float(n)
            properties["products"].append({"product_id": f"line-{n}"})
            context["page"]["path"] = f"/{n}"
            ids.append(pz.track("v1", "Product Viewed", properties, context=context))
        pz.identify("v1", user_id="u1", traits=traits)
        for n in range(1000):  # grown past what a resize-free mutation would be
            properties[f"extra-{n}"] = n
        properties["products"].clear()
        context["page"].clear()
        traits["first_name"] = "changed"
        release.set()
        assert pz.flush(10.0) is True
        stats = pz.delivery_stats()["segment"]
    assert stats["dropped"] == {}
    messages = {message["messageId"]: message for message in sink.messages}
    assert set(ids) <= set(messages)
    for n, message_id in enumerate(ids):
        sent = messages[message_id]
        assert sent["properties"]["product_id"] == f"sku-{n}"
        assert sent["properties"]["price"] == n
        lines = [line["product_id"] for line in sent["properties"]["products"]]
        assert lines == ["first"] + [f"line-{i}" for i in range(n + 1)]
        assert not any(key.startswith("extra-") for key in sent["properties"])
        assert sent["context"]["page"] == {"path": f"/{n}"}
    (identify,) = [message for message in sink.messages if message["type"] == "identify"]
    assert identify["traits"] == {"first_name": "Zoë"}


def test_forwarder_names_must_be_unique(delivery):
    from personalize_sdk import ConfigError

    with pytest.raises(ConfigError, match="share a name"):
        Personalizer(
            forwarders=[SegmentForwarder("a", host="http://127.0.0.1:9")] * 2, delivery=delivery
        )


def test_a_subclass_that_encodes_its_own_way_is_used_and_its_failures_drop_one_event(
    sink: Sink, delivery
):
    class Tagged(HttpForwarder):
        def encode(self, message):
            if message["properties"].get("broken"):
                raise ValueError("cannot encode this one")
            return super().encode({**message, "tag": "mine"})

    tagged = Tagged(sink.url + "/tagged", name="tagged")
    plain = HttpForwarder(sink.url + "/plain", format="msgpack", name="plain")
    assert tagged.direct_encoder() is None  # the override is honoured
    assert plain.direct_encoder() is not None
    with Personalizer(forwarders=[tagged, plain], delivery=delivery) as pz:
        good = pz.track("v1", "Product Viewed", {"product_id": "p"})
        pz.track("v1", "Product Viewed", {"broken": True})
        assert pz.flush(5.0) is True
        stats = pz.delivery_stats()
    by_path: dict[str, list] = {}
    for batch in sink.batches:
        by_path.setdefault(batch["path"], []).extend(batch["payload"]["batch"])
    assert [(m["messageId"], m["tag"]) for m in by_path["/tagged"]] == [(good, "mine")]
    assert len(by_path["/plain"]) == 2 and "tag" not in by_path["/plain"][0]
    assert stats["tagged"]["dropped"] == {"encode_error": 1}
    assert "cannot encode this one" in stats["tagged"]["last_error"]
    assert stats["plain"]["dropped"] == {}


def test_the_rest_of_a_backlog_goes_within_its_interval_not_an_interval_later(sink: Sink, delivery):
    """A destination slow for a moment lets a backlog build: once it answers, the full batches
    go, and then the remainder at once (its oldest event waited past the interval already)."""
    sink.script = [("slow", 1.5)]
    forwarder = SegmentForwarder("k", host=sink.url, batch_size=500, interval=1.5)
    with Personalizer(forwarders=[forwarder], delivery=delivery) as pz:
        started = time.monotonic()
        ids = _track(pz, 500)  # one full batch: it goes at once, and is answered in 1.5 s
        assert _wait(lambda: sink.requests, 5.0)
        ids += _track(pz, 700, start=500)  # a full batch and 200 left behind
        assert _wait(lambda: set(ids) <= set(sink.message_ids()), 10.0)
        elapsed = time.monotonic() - started
    # 1.5 s of the slow answer, by when the 200 waited their interval: they go at once (they
    # would wait 1.5 s more if their clock restarted when the batch before them left)
    assert elapsed < 2.3, elapsed
    assert len(sink.message_ids()) == 1200


def test_a_failing_destination_opens_its_breaker_and_delays_no_other(sink: Sink, delivery):
    """Five failed tries in a row open the forwarder's circuit breaker; the other forwarder
    delivers meanwhile; after the cool-down the breaker lets a try through and all arrives."""
    healthy = Sink()
    try:
        sink.script = [("status", 503, {"Retry-After": "0"})] * 5
        failing = SegmentForwarder("k", host=sink.url, name="failing", interval=0.05)
        other = SegmentForwarder("k", host=healthy.url, name="other", interval=0.05)
        with Personalizer(forwarders=[failing, other], delivery=delivery) as pz:
            ids = _track(pz, 20)
            assert _wait(lambda: pz.delivery_stats()["failing"]["circuit_open"], 5.0)
            assert set(healthy.message_ids()) == set(ids)  # while the breaker is open
            assert pz.flush(10.0) is True
            stats = pz.delivery_stats()["failing"]
        assert stats["circuit_open"] is False
        assert stats["retried"] == 5 and stats["dropped"] == {} and stats["sent"] == 20
        assert set(sink.message_ids()) == set(ids)
    finally:
        healthy.close()


def test_the_counters_are_logged_at_info_when_they_change(sink: Sink, tmp_path, caplog):
    settings = attrs.evolve(DeliverySettings(spool_dir=tmp_path / "spool"), log_interval=0.05)
    caplog.set_level(logging.INFO, logger="personalize_sdk.delivery")
    forwarder = SegmentForwarder("k", host=sink.url, name="logged", interval=0.05)
    with Personalizer(forwarders=[forwarder], delivery=settings) as pz:
        _track(pz, 3)
        assert pz.flush(5.0) is True
        assert _wait(lambda: "forwarder 'logged': queued=0 sent=3" in caplog.text, 5.0)
        lines = caplog.text.count("forwarder 'logged':")
        time.sleep(0.3)  # unchanged counters: not logged again
        assert caplog.text.count("forwarder 'logged':") == lines


@pytest.mark.parametrize(("memory_bytes", "longest"), [(0, 0.02), (1_000_000, 0.25)])
def test_idle_the_dispatcher_naps_longer_but_not_when_every_event_goes_to_disk(
    sink: Sink, delivery, monkeypatch, memory_bytes, longest
):
    naps: list[float] = []
    sleep = Alarm.sleep
    settings = attrs.evolve(delivery, memory_bytes=memory_bytes)
    with Personalizer(forwarders=[SegmentForwarder("k", host=sink.url)], delivery=settings) as pz:

        async def recorded(self, seconds):
            if self is pz._outbox._stop:  # the dispatcher's naps (not the lanes')
                naps.append(seconds)
            await sleep(self, seconds)

        monkeypatch.setattr(Alarm, "sleep", recorded)
        _track(pz, 1)
        assert _wait(lambda: len(naps) >= 12)  # quiet: 12 naps reach the longest
        assert max(naps) == longest
        assert pz.flush(5.0) is True


def test_a_lane_is_woken_for_its_first_event_and_a_full_batch_not_for_every_round(
    sink: Sink, delivery, monkeypatch
):
    rings: list[object] = []
    ring = Alarm.ring

    def counted(self):
        rings.append(self)
        ring(self)

    monkeypatch.setattr(Alarm, "ring", counted)
    forwarder = SegmentForwarder("k", host=sink.url, interval=30.0, batch_size=10)
    with Personalizer(forwarders=[forwarder], delivery=delivery) as pz:

        def lane_rings() -> int:
            return sum(1 for alarm in rings if alarm is not pz._outbox._stop)

        for n in range(4):  # rounds of the dispatcher apart: each sorts one event
            _track(pz, 1, start=n)
            assert _wait(lambda: not pz._outbox._intake)
        assert lane_rings() == 1  # the first event started the interval; the rest just wait
        assert sink.batches == []
        _track(pz, 6, start=4)  # a full batch of 10: it goes now, not in 30 s
        assert _wait(lambda: len(sink.message_ids()) == 10)
        assert lane_rings() == 2


def _delivery_threads(besides: set[threading.Thread]) -> int:
    """Delivery threads running, not counting those of other tests (in `besides`)."""
    return sum(
        thread.name == "personalize-delivery" and thread not in besides
        for thread in threading.enumerate()
    )


def test_a_full_spool_disk_is_counted_and_delivery_goes_on(sink: Sink, small_disk):
    sink.script = [("status", 503, {"Retry-After": "1"})] * 3  # down: the spool fills the disk
    settings = DeliverySettings(spool_dir=small_disk / "spool", memory_bytes=20_000)
    others = set(threading.enumerate())
    pz = Personalizer(forwarders=[HttpForwarder(sink.url + "/in")], delivery=settings)
    try:
        ids = []
        for n in range(3000):  # about 900 KB for a disk of 256 KiB
            ids.append(pz.track(f"v{n % 50}", "Product Viewed", {"n": n, "pad": "x" * 80}))
            if n % 500 == 0:
                time.sleep(0.1)  # the delivery thread spools a round meanwhile
        assert _wait(lambda: pz.delivery_stats()["http"]["dropped"].get("disk_error", 0) > 0)
        assert _delivery_threads(others) == 1  # still running
        assert pz.flush(20.0) is True
        stats = pz.delivery_stats()["http"]
    finally:
        pz.close()  # does not raise either
    delivered = sink.message_ids()
    assert len(set(delivered)) == len(delivered) and set(delivered) <= set(ids)
    assert len(delivered) + stats["dropped"]["disk_error"] == 3000  # every event accounted for
    assert stats["queued"] == 0 and stats["dropped"].keys() == {"disk_error"}


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_delivery_thread_that_died_is_replaced_and_flush_never_raises(sink: Sink, delivery):
    def fatal(message: dict) -> dict:
        if message.get("event") == "Fatal":
            raise SystemExit("a hook that ends its thread")
        return message

    forwarder = HttpForwarder(sink.url, transform=fatal)
    others = set(threading.enumerate())
    with Personalizer(forwarders=[forwarder], delivery=delivery) as pz:
        pz.track("v1", "Fatal")
        assert _wait(lambda: _delivery_threads(others) == 0)
        first = pz.track("v1", "Page Viewed")  # starts a thread of its own
        assert pz.flush(10.0) is True  # not the dead thread's closed loop
        later = [pz.track("v1", "Page Viewed", {"n": n}) for n in range(20)]
        assert pz.flush(10.0) is True
    assert set(sink.message_ids()) == {first, *later}


def test_what_a_dead_delivery_thread_had_spooled_is_delivered_by_the_next(
    sink: Sink, tmp_path: Path
):
    def fatal(message: dict) -> dict:
        if message.get("event") == "Fatal":
            raise SystemExit("a hook that ends its thread")
        return message

    sink.script = [("status", 503, {"Retry-After": "1"})] * 3  # the first batches wait on disk
    forwarder = HttpForwarder(sink.url, transform=fatal)
    spooled = DeliverySettings(spool_dir=tmp_path / "spool", memory_bytes=0)
    others = set(threading.enumerate())
    with Personalizer(forwarders=[forwarder], delivery=spooled) as pz:
        before = [pz.track("v1", "Page Viewed", {"n": n}) for n in range(20)]
        assert _wait(lambda: pz.delivery_stats()["http"]["spilled"] >= 20)
        pz.track("v1", "Fatal")
        assert _wait(lambda: _delivery_threads(others) == 0)
        after = pz.track("v1", "Page Viewed")  # a new thread: it adopts the dead one's files
        assert pz.flush(15.0) is True
    assert set(sink.message_ids()) >= {*before, after}
