"""Redis for the store tests: the server on 127.0.0.1:6379 (`.ci/run` starts one), each test
under its own key prefix, its keys deleted afterwards. Without a server the Redis tests skip,
except on CI (`CI=true`), where they must run."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REDIS_URL = os.environ.get("PERSONALIZE_TEST_REDIS", "redis://127.0.0.1:6379/15")


def redis_client():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no Redis at {REDIS_URL} (CI=true: the Redis tests must run): {error}")
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    return client


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis_client()
    prefix = f"pztest-{uuid.uuid4().hex[:10]}:"
    yield prefix
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def make(redis_prefix: str) -> Iterator[Callable[..., Any]]:
    """Build RedisStores under the test's prefix (closed after the test)."""
    from personalize_sdk.redis_store import RedisStore

    made: list[RedisStore] = []

    def build(url: str = REDIS_URL, **options: Any) -> RedisStore:
        store = RedisStore(url, prefix=redis_prefix, **options)
        made.append(store)
        return store

    yield build
    for store in made:
        store.close(timeout=1)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    """A redis-server of the test's own (`RedisServer`), for outages: killed and restarted."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    from tests.stores.redis_helpers import RedisServer

    own = RedisServer(tmp_path).start()
    yield own
    if own.process and own.process.poll() is None:
        own.kill()
