"""`personalize collect` as a process, and de-duplication kept in each store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from personalize_sdk import Personalizer
from personalize_sdk.collector import Collector
from personalize_sdk.collector.dedup import MemoryDedup, RedisDedup, SQLiteDedup, dedup_for
from personalize_sdk.sqlite_store import SQLiteStore
from tests.helpers import Clock
from tests.stores.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_personalize_collect_serves_the_config_and_store(tmp_path):
    config = tmp_path / "personalize.toml"
    config.write_text('[collector]\nwrite_keys = ["cli-key"]\n')
    db = tmp_path / "pz.db"
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "personalize_sdk.cli", "collect", "--port", str(port),
         "--config", str(config), "--store", f"sqlite:///{db}"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/v1/batch" in banner and "SQLiteStore" in banner
        body = {
            "batch": [
                {"type": "track", "event": "Product Viewed", "anonymousId": "a-1",
                 "messageId": f"m{n}", "properties": {"product_id": f"p{n}"}}
                for n in range(5)
            ]
        }  # fmt: skip
        deadline = time.monotonic() + 15
        while True:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/v1/batch", json=body,
                                    auth=("cli-key", ""), timeout=5)  # fmt: skip
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.json() == {"success": True}
        refused = httpx.post(f"http://127.0.0.1:{port}/v1/batch", json=body, auth=("x", ""))
        assert refused.status_code == 401
        again = httpx.post(f"http://127.0.0.1:{port}/v1/batch", json=body, auth=("cli-key", ""))
        assert again.status_code == 200
    finally:
        process.terminate()
        rest, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    # It stops gracefully on SIGTERM and says what it took.
    assert "collector stats: accepted=5 duplicates=5 rejected.auth=1" in rest
    store = SQLiteStore(db)
    try:
        profile = store.load("v:a-1")
        assert profile is not None and profile.counters["Product Viewed"] == 5  # once each
    finally:
        store.close()


def test_personalize_collect_warns_without_write_keys_and_refuses_everyone(tmp_path):
    config = tmp_path / "personalize.toml"
    config.write_text('store = "memory://"\n')
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "personalize_sdk.cli", "collect", "--port", str(port),
         "--config", str(config)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None and process.stdout is not None
        warning = process.stderr.readline()
        assert "has no [collector] write_keys" in warning and "401" in warning
        assert "(store: MemoryStore)" in process.stdout.readline()
        answer = _post_when_up(port, {"batch": []}, ("any-key", ""))
        assert answer.status_code == 401
    finally:
        process.terminate()
        process.communicate(timeout=15)


def _post_when_up(port: int, body: dict, auth: tuple[str, str]) -> httpx.Response:
    deadline = time.monotonic() + 15
    while True:
        try:
            return httpx.post(f"http://127.0.0.1:{port}/v1/batch", json=body, auth=auth, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_personalize_collect_refuses_a_bad_config(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[collector]\nwrite_keys = "one"\n')
    result = subprocess.run(
        [sys.executable, "-m", "personalize_sdk.cli", "collect", "--config", str(bad)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "collector.write_keys" in result.stderr


def _contract(dedup) -> None:
    assert dedup.claim(["a", "b", "a"]) == [True, True, False]
    assert dedup.claim(["b", "c"]) == [False, True]
    dedup.release(["c"])
    assert dedup.claim(["c"]) == [True]


def test_memory_dedup_forgets_after_the_window():
    clock = Clock()
    dedup = MemoryDedup(60.0, clock=clock)
    _contract(dedup)
    clock.advance(61)
    assert dedup.claim(["a"]) == [True]


def test_sqlite_dedup_is_shared_by_every_worker_of_the_file(tmp_path):
    clock = Clock()
    path = str(tmp_path / "pz.db")
    one = SQLiteDedup(path, 60.0, clock=clock)
    _contract(one)
    other = SQLiteDedup(path, 60.0, clock=clock)  # another worker, same file
    assert other.claim(["a", "z"]) == [False, True]
    clock.advance(61)
    assert other.claim(["a"]) == [True]
    pz = Personalizer(store=f"sqlite:///{path}")
    assert isinstance(dedup_for(pz.store, 60.0), SQLiteDedup)
    pz.close()


@pytest.mark.redis
def test_redis_dedup_under_the_store_prefix(redis_prefix):
    from personalize_sdk.redis_store import RedisStore

    store = RedisStore(REDIS_URL, prefix=redis_prefix)
    try:
        dedup = dedup_for(store, 60.0)
        assert isinstance(dedup, RedisDedup)
        _contract(dedup)
        assert store.redis.pttl(f"{redis_prefix}seen:a") > 50_000
    finally:
        store.close()


def _batch(ids: range) -> dict:
    return {
        "batch": [
            {"type": "track", "event": "Product Viewed", "anonymousId": "shared-visitor",
             "messageId": f"w-{n}", "properties": {"product_id": f"p{n}"}}
            for n in ids
        ]
    }  # fmt: skip


def test_two_workers_on_one_sqlite_file_fold_a_batch_once(tmp_path):
    """The same batch reaching two collector workers (a retry that went elsewhere) folds once:
    both de-duplicate in the SQLite file that holds the profiles."""
    url = f"sqlite:///{tmp_path / 'pz.db'}"
    config = {"collector": {"write_keys": ["k"]}}
    one, other = Personalizer(config, store=url), Personalizer(config, store=url)
    try:
        for pz in (one, other):
            assert (
                TestClient(Collector(pz))
                .post("/v1/batch", json=_batch(range(4)), auth=("k", ""))
                .status_code
                == 200
            )
        assert (
            TestClient(Collector(other))
            .post("/v1/batch", json=_batch(range(2, 6)), auth=("k", ""))
            .status_code
            == 200
        )
        assert one.profile("shared-visitor").counters["Product Viewed"] == 6
    finally:
        one.close()
        other.close()


@pytest.mark.redis
def test_two_collectors_on_one_redis_fold_a_batch_once(redis_prefix):
    from personalize_sdk.redis_store import RedisStore

    config = {"collector": {"write_keys": ["k"]}}
    stores = [RedisStore(REDIS_URL, prefix=redis_prefix) for _ in range(2)]
    pzs = [Personalizer(config, store=store) for store in stores]
    try:
        collectors = [Collector(pz) for pz in pzs]
        assert all(isinstance(c.dedup, RedisDedup) for c in collectors)
        for collector in collectors:
            answer = TestClient(collector).post("/v1/batch", json=_batch(range(5)), auth=("k", ""))
            assert answer.status_code == 200
        for pz in pzs:
            pz.flush()
        assert collectors[0].stats() == {"accepted": 5}
        assert collectors[1].stats() == {"accepted": 0, "duplicates": 5}
        assert pzs[1].profile("shared-visitor").counters["Product Viewed"] == 5
    finally:
        for pz in pzs:
            pz.close()


def test_redis_down_is_a_503_not_a_500():
    from personalize_sdk.redis_store import RedisStore

    pytest.importorskip("redis")
    store = RedisStore(f"redis://127.0.0.1:{_free_port()}/0")  # nobody listens there
    pz = Personalizer({"collector": {"write_keys": ["k"]}}, store=store)
    try:
        collector = Collector(pz)
        answer = TestClient(collector).post("/v1/batch", json=_batch(range(2)), auth=("k", ""))
        assert answer.status_code == 503 and "Retry-After" in answer.headers
        assert collector.stats() == {"unavailable": 1}
    finally:
        pz.close()
