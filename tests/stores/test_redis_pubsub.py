"""`subscription` on the real Redis: confirmed before it is used, a dropped connection raises
instead of being mended silently by redis-py, and the pool's connection is left as it was."""

from __future__ import annotations

import pytest

from tests.stores.conftest import REDIS_URL, redis_client

redis = pytest.importorskip("redis")
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

from personalize_sdk._redis_pubsub import Resubscribed, subscription  # noqa: E402

pytestmark = pytest.mark.redis


def _named_client(name: str, **options) -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, client_name=name, socket_timeout=2, **options)


def _kill_subscribers(name: str) -> int:
    admin = redis_client()
    killed = 0
    for entry in admin.client_list():
        if entry["name"] == name and int(entry.get("sub", 0)):
            killed += admin.client_kill_filter(_id=entry["id"])
    return killed


@pytest.mark.parametrize("decode_responses", [False, True])
def test_what_is_published_once_the_block_starts_arrives_as_bytes(redis_prefix, decode_responses):
    channel = f"{redis_prefix}news"
    client = _named_client("pz-sub-data", decode_responses=decode_responses)
    with subscription(client, channel) as messages:
        assert redis_client().publish(channel, "änderung 1") == 1  # confirmed: one listener
        data = None
        for _ in range(20):
            data = messages.next(timeout=0.1)
            if data is not None:
                break
        assert data == "änderung 1".encode()
        assert messages.next(timeout=0.05) is None
    client.close()


def test_a_dropped_connection_raises_and_redis_py_does_not_mend_it_behind_the_listener(
    redis_prefix,
):
    channel = f"{redis_prefix}news"
    name = f"{redis_prefix}drop".replace(":", "-")
    client = _named_client(name, retry=Retry(NoBackoff(), 3))  # redis.Redis()'s own: 3 retries
    with subscription(client, channel) as messages:
        assert _kill_subscribers(name) == 1
        with pytest.raises(redis.ConnectionError) as raised:
            for _ in range(50):
                messages.next(timeout=0.1)
    # redis-py's own error reached the listener, not a silent mend: with no retries it may
    # reconnect on its way out, but it raises all the same (and the block drops that pubsub).
    assert not isinstance(raised.value, Resubscribed)
    client.close()


def test_a_subscription_redis_py_renews_by_itself_raises_resubscribed(redis_prefix):
    # What redis-py does on a server's maintenance notice: a new connection, on which its
    # connect callback subscribes again. Messages of the gap are gone; the listener must know.
    channel = f"{redis_prefix}news"
    client = _named_client("pz-sub-renew")
    with subscription(client, channel) as messages:
        connection = messages._pubsub.connection
        connection.disconnect()
        connection.connect()
        with pytest.raises(Resubscribed):
            for _ in range(50):
                messages.next(timeout=0.1)
    client.close()


def test_the_connection_goes_back_to_the_pool_with_its_own_retry_policy(redis_prefix):
    client = _named_client("pz-sub-pool", retry=Retry(NoBackoff(), 3))
    pool = client.connection_pool
    connection = pool.get_connection()
    policy = connection.retry
    pool.release(connection)  # the next one handed out
    with subscription(client, f"{redis_prefix}news") as messages:
        assert messages._pubsub.connection is connection
        assert connection.retry.get_retries() == 0
    assert connection.retry is policy and policy.get_retries() == 3
    assert client.ping()
    client.close()


def test_no_server_raises_a_connection_error():
    client = redis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    with pytest.raises(redis.ConnectionError), subscription(client, "pz:news"):
        pass  # pragma: no cover - never entered
