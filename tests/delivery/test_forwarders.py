"""Each forwarder type on its own: options checked when configured, the file drop, the Redis
stream, and the HTTP status and Retry-After rules every HTTP forwarder shares."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import msgpack
import pytest

from personalize_sdk import ConfigError, Personalizer
from personalize_sdk.config import Config
from personalize_sdk.delivery.backoff import retry_delay
from personalize_sdk.forwarders import (
    DeliveryFailed,
    FileForwarder,
    Forwarder,
    HttpForwarder,
    RedisStreamForwarder,
    SegmentForwarder,
)
from personalize_sdk.forwarders._http_post import environment_proxy, parse_retry_after
from tests.stores.conftest import REDIS_URL

from .sink import Sink
from .small_disk import fill

ROOT = Path(__file__).resolve().parents[2]


def test_every_type_is_a_forwarder():
    for forwarder in (
        HttpForwarder("http://127.0.0.1:1"),
        SegmentForwarder("k"),
        FileForwarder("/tmp/x"),
        RedisStreamForwarder("redis://127.0.0.1:6379/15"),
    ):
        assert isinstance(forwarder, Forwarder)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"type": "carrier-pigeon"}, "forwarders[0].type"),
        ({"type": ["segment"]}, "forwarders[0].type"),
        ({"type": "file", "path": "/tmp/x", 7: 1, "zz": 2}, "forwarder 'file'.7"),
        ({"type": "segment"}, "forwarder 'segment'.write_key"),
        ({"type": "segment", "write_key": "k", "hots": "x"}, "forwarder 'segment'.hots"),
        ({"type": "segment", "write_key": "k", "host": "ftp://x"}, "forwarder 'segment'.host"),
        ({"type": "http", "url": "http://x", "format": "xml"}, "forwarder 'http'.format"),
        ({"type": "http", "url": "http://x", "gzip": "yes"}, "forwarder 'http'.gzip"),
        ({"type": "http", "url": "http://x", "headers": {"A": 1}}, "forwarder 'http'.headers"),
        ({"type": "file", "path": "/tmp/x", "rotate_bytes": True}, "forwarder 'file'.rotate_bytes"),
        ({"type": "redis_stream", "url": "http://x"}, "forwarder 'redis_stream'.url"),
        ({"type": "segment", "write_key": "k", "name": "a b"}, "forwarders[0].name"),
        ({"type": "segment", "write_key": "k", "batch_size": 0}, "forwarder 'segment'.batch_size"),
        ({"type": "segment", "write_key": "k", "interval": -1}, "forwarder 'segment'.interval"),
        ({"type": "segment", "write_key": "k", "include": "Order"}, "forwarder 'segment'.include"),
    ],
)
def test_a_bad_forwarder_entry_names_the_field(entry, field):
    with pytest.raises(ConfigError) as raised:
        Config.from_dict({"forwarders": [entry]}, source="shop.toml")
    assert raised.value.field == field
    assert "shop.toml" in str(raised.value)


def test_two_forwarders_of_one_name_and_bad_delivery_settings_are_refused():
    with pytest.raises(ConfigError, match="share this name"):
        Config.from_dict(
            {"forwarders": [{"type": "file", "path": "/a"}, {"type": "file", "path": "/b"}]}
        )
    with pytest.raises(ConfigError) as raised:
        Config.from_dict({"delivery": {"memory_bytes": -1}})
    assert raised.value.field == "delivery.memory_bytes"
    with pytest.raises(ConfigError) as raised:
        Config.from_dict({"delivery": {"drain_timeout": "5"}})
    assert raised.value.field == "delivery.drain_timeout"
    with pytest.raises(ConfigError) as raised:
        Config.from_dict({"store": 42})
    assert raised.value.field == "store"


def test_the_toml_config_builds_its_forwarders_and_store(tmp_path, sink: Sink):
    config = tmp_path / "personalize.toml"
    config.write_text(
        f"""
store = "sqlite:///{tmp_path / "pz.db"}"

[delivery]
spool_dir = "{tmp_path / "spool"}"
drain_timeout = 2.5

[[forwarders]]
type = "segment"
name = "cdp"
host = "{sink.url}"
write_key = "abc"
include = ["Order Completed"]

[[forwarders]]
type = "file"
name = "warehouse"
path = "{tmp_path / "drop"}"
exclude = ["Order Completed"]
"""
    )
    with Personalizer.from_file(config) as pz:
        assert type(pz.store).__name__ == "SQLiteStore"
        pz.track("v1", "Order Completed", {"order_id": "o-1", "total": 3.0})
        pz.track("v1", "Product Viewed", {"product_id": "p-1"})
        assert pz.flush() is True
        assert set(pz.delivery_stats()) == {"cdp", "warehouse"}
    assert [m["event"] for m in sink.messages] == ["Order Completed"]
    [done] = (tmp_path / "drop").glob("*.ndjson")
    assert [json.loads(line)["event"] for line in done.read_text().splitlines()] == [
        "Product Viewed"
    ]


def test_the_file_drop_rotates_by_size_and_by_age(tmp_path):
    forwarder = FileForwarder(tmp_path, rotate_bytes=2000, rotate_seconds=3600)

    async def write(count: int) -> None:
        for n in range(count):
            await forwarder.send([forwarder.encode({"n": n, "text": "é" * 50})])

    asyncio.run(write(60))
    open_files = list(tmp_path.glob("*.ndjson.open"))
    assert len(open_files) == 1  # the one being written, not for loaders yet
    assert len(forwarder.completed) >= 2
    asyncio.run(forwarder.aclose())
    assert not list(tmp_path.glob("*.open"))
    lines = [
        json.loads(line) for path in forwarder.completed for line in path.read_text().splitlines()
    ]
    assert [line["n"] for line in lines] == list(range(60))  # every event once, in order

    aged = FileForwarder(tmp_path / "aged", rotate_seconds=0.01)

    async def two_batches() -> None:
        await aged.send([b'{"a":1}'])
        await asyncio.sleep(0.05)
        await aged.send([b'{"a":2}'])
        await aged.aclose()

    asyncio.run(two_batches())
    assert len(aged.completed) == 2


def test_a_file_drop_that_cannot_be_written_is_retried(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    forwarder = FileForwarder(blocker)
    with pytest.raises(DeliveryFailed) as raised:
        asyncio.run(forwarder.send([b"{}"]))
    assert raised.value.retryable


def _lines(paths) -> list[dict]:
    """Every line of the files, each one whole JSON (a torn line fails here)."""
    lines = []
    for path in paths:
        data = path.read_bytes()
        assert data and data.endswith(b"\n"), f"{path.name}: empty, or its last line torn"
        lines.extend(json.loads(line) for line in data.splitlines())
    return lines


def test_a_full_disk_leaves_whole_lines_and_no_empty_files_then_the_batch_goes_in(small_disk):
    forwarder = FileForwarder(small_disk / "drop", rotate_bytes=40_000)
    events = [forwarder.encode({"n": n, "pad": "x" * 200}) for n in range(500)]
    batches = [events[start : start + 50] for start in range(0, 500, 50)]  # 11 KB each
    filler = fill(small_disk, leave=60_000)

    async def deliver() -> int:
        failures = 0
        waiting = list(batches)
        while waiting:
            try:
                await forwarder.send(waiting[0])  # a failed batch is retried, as the lane does
            except DeliveryFailed as failure:
                assert failure.retryable
                failures += 1
                if failures == 3:
                    filler.unlink()  # room again
                continue
            waiting.pop(0)
        await forwarder.aclose()
        return failures

    assert asyncio.run(deliver()) == 3
    assert not list(forwarder.folder.glob("*.open"))
    assert len(forwarder.completed) >= 2
    assert [line["n"] for line in _lines(forwarder.completed)] == list(range(500))  # each once


def test_the_open_file_of_a_killed_writer_is_completed_by_the_next_start(tmp_path):
    drop = tmp_path / "drop"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import asyncio, sys, time\n"
            "from personalize_sdk.forwarders import FileForwarder\n"
            "forwarder = FileForwarder(sys.argv[1])\n"
            "for start in (0, 50):\n"
            "    batch = [forwarder.encode({'n': n}) for n in range(start, start + 50)]\n"
            "    asyncio.run(forwarder.send(batch))\n"
            "print('written', flush=True)\n"
            "time.sleep(60)\n",
            str(drop),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "written\n"
        [open_file] = drop.glob("*.ndjson.open")
        with open_file.open("ab") as file:
            file.write(b'{"n": 100, "pad')  # the line it was writing, cut short

        alive = FileForwarder(drop)  # starts while the writer lives: leaves its file alone
        asyncio.run(alive.send([b'{"n": -1}']))
        assert open_file.exists()
        writer.kill()  # SIGKILL: no chance to finish its file
        writer.wait(10)
    finally:
        writer.kill()
        writer.wait(10)

    later = FileForwarder(drop)  # the next start (a live file of this process beside it)
    asyncio.run(later.send([b'{"n": 1000}']))
    assert not open_file.exists()
    asyncio.run(later.aclose())
    asyncio.run(alive.aclose())
    assert not list(drop.glob("*.open"))
    numbers = sorted(line["n"] for line in _lines(later.completed))
    assert numbers == [-1, *range(100), 1000]  # the torn line dropped, the rest completed


@pytest.mark.redis
def test_redis_stream_xadds_each_event_with_an_approximate_maxlen(delivery, redis_prefix):
    from tests.stores.conftest import redis_client

    stream = f"{redis_prefix}events"
    forwarder = RedisStreamForwarder(REDIS_URL, stream=stream, maxlen=1000, format="msgpack")
    with Personalizer(forwarders=[forwarder], delivery=delivery) as pz:
        ids = [pz.track("v1", "Product Viewed", {"n": n}) for n in range(3000)]
        assert pz.flush(10.0) is True
    client = redis_client()
    try:
        length = client.xlen(stream)
        assert 1000 <= length < 3000  # trimmed, approximately
        entries = client.xrange(stream, count=5000)
        got = [msgpack.unpackb(fields[b"event"])["messageId"] for _, fields in entries]
        assert got == ids[-len(got) :]  # the newest kept, in order
    finally:
        client.close()


def test_redis_stream_down_is_retried_not_lost(delivery):
    forwarder = RedisStreamForwarder("redis://127.0.0.1:9/0", timeout=0.2)
    with pytest.raises(DeliveryFailed) as raised:
        asyncio.run(forwarder.send([b"{}"]))
    assert raised.value.retryable


def test_http_answers_map_to_retry_split_or_drop(sink: Sink):
    forwarder = HttpForwarder(sink.url, timeout=0.3)

    def outcome(*fault) -> DeliveryFailed | None:
        sink.script = [fault] if fault else []
        try:
            asyncio.run(_send_and_close(forwarder))
        except DeliveryFailed as failed:
            return failed
        return None

    assert outcome() is None
    for status in (408, 429, 500, 502, 503):
        failed = outcome("status", status, {"Retry-After": "7"})
        assert failed.retryable and failed.retry_after == 7.0
    for status in (400, 413, 422):
        failed = outcome("status", status, {})
        assert not failed.retryable and failed.splittable
    for status in (401, 403, 404):
        failed = outcome("status", status, {})
        assert not failed.retryable and not failed.splittable and failed.reason == f"http_{status}"
    assert outcome("reset").retryable
    assert outcome("slow", 1.0).retryable


async def _send_and_close(forwarder: HttpForwarder) -> None:
    try:
        await forwarder.send([forwarder.encode({"messageId": "m", "type": "track"})])
    finally:
        await forwarder.aclose()


def test_retry_after_in_seconds_or_as_a_date_and_the_backoff_is_bounded():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after(None) is None
    moment = datetime(2026, 12, 2, 12, 0, 10, tzinfo=timezone.utc)
    now = (moment - timedelta(seconds=10)).timestamp()
    assert parse_retry_after(format_datetime(moment, usegmt=True), now) == pytest.approx(10.0)
    assert retry_delay(0, 86_400.0) == 60.0  # a server cannot park us for a day
    rng = random.Random(7)
    delays = [retry_delay(attempt, rng=rng) for attempt in range(40)]
    assert all(0 <= d <= 30.0 for d in delays)
    assert max(delays[:3]) <= 0.8 and max(delays[10:]) > 1.0  # grows, with full jitter


def test_segment_batches_stay_within_the_spec_limits():
    forwarder = SegmentForwarder("k", batch_bytes=10_000_000)
    assert forwarder.batch_bytes < 500_000 and forwarder.max_event_bytes == 32 * 1024
    body = forwarder.body([b'{"a":1}', b'{"b":2}'])
    parsed = json.loads(body)
    assert parsed["batch"] == [{"a": 1}, {"b": 2}] and parsed["writeKey"] == "k"
    packed = HttpForwarder("http://x", format="msgpack")
    decoded = msgpack.unpackb(packed.body([packed.encode({"a": "ü"}), packed.encode({"b": [1]})]))
    assert decoded["batch"] == [{"a": "ü"}, {"b": [1]}] and decoded["sentAt"].endswith("Z")


def test_an_oversized_event_is_dropped_alone_and_counted(sink: Sink, delivery):
    from personalize_sdk import Personalizer as P

    with P(forwarders=[SegmentForwarder("k", host=sink.url)], delivery=delivery) as pz:
        # Within our own 32 KB bound, over Segment's once the envelope fields are added.
        near_the_bound = dict.fromkeys("abcd", "x" * 8000) | {"e": "x" * 660}
        big = pz.track("v", "Product Viewed", near_the_bound)
        small = pz.track("v", "Product Viewed", {"description": "y"})
        assert big is not None
        assert pz.flush(5.0)
        stats = pz.delivery_stats()["segment"]
    assert sink.message_ids() == [small] and stats["dropped"] == {"too_large": 1}


def test_the_environment_proxy_is_used_and_no_proxy_is_honoured(sink: Sink, monkeypatch):
    # The sink plays the proxy: a proxied request names the whole destination URL.
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", sink.url)
    asyncio.run(_send_and_close(HttpForwarder("http://analytics.example/in", format="json")))
    [proxied] = sink.batches
    assert proxied["path"] == "http://analytics.example/in"
    assert proxied["headers"]["User-Agent"].startswith("personalize-sdk/")
    # NO_PROXY: straight to the destination (the proxy named now does not answer at all).
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    asyncio.run(_send_and_close(HttpForwarder(sink.url + "/direct", format="json")))
    assert [batch["path"] for batch in sink.batches] == ["http://analytics.example/in", "/direct"]
    monkeypatch.delenv("NO_PROXY")
    with pytest.raises(DeliveryFailed, match="network error"):  # through the dead proxy
        asyncio.run(_send_and_close(HttpForwarder(sink.url + "/direct", format="json")))


def test_no_proxy_may_name_a_port(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "example.com:8443")
    assert environment_proxy(httpx.URL("https://example.com:8443/v1/batch")) is None
    assert environment_proxy(httpx.URL("https://example.com/v1/batch")) == (
        "http://proxy.example:3128"
    )
    monkeypatch.setenv("ALL_PROXY", "proxy.example:1080")  # no scheme: http
    assert environment_proxy(httpx.URL("http://other.example/")) == "http://proxy.example:1080"


def test_the_tls_context_is_made_with_the_forwarder_and_checks_https_certificates():
    import ssl

    secure = SegmentForwarder("k", host="https://api.segment.io")
    assert secure._tls.verify_mode == ssl.CERT_REQUIRED and secure._tls.check_hostname
    assert secure._tls.cert_store_stats()["x509_ca"] > 0  # certifi's bundle, loaded once here
    plain = HttpForwarder("http://127.0.0.1:9/in")
    assert plain._tls.verify_mode == ssl.CERT_NONE  # nothing to verify, nothing loaded
    plain.after_fork()
    assert plain._tls is not None  # a forked child keeps the context: no OpenSSL work there
