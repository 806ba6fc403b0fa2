"""`subscription`: a Redis pub/sub subscription that only its listener reconnects.

    with subscription(client, channel) as messages:
        catch_up()                          # what was published before we listened
        while running:
            data = messages.next(timeout=0.5)   # raises a redis.ConnectionError when dropped

redis-py's `PubSub` reconnects by itself when its connection drops (the connection's retry
policy) and subscribes again without telling anyone. Whatever was published in between is
lost, and the listener never learns that it should catch up (read the stored config again,
forget its local copies). Here the subscription's connection gets a policy of no retries while
it is subscribed, so a dropped connection raises out of `next`. The listener's own loop then
counts and logs the fault, subscribes again and catches up. If redis-py subscribes again anyway
(on a server's maintenance notice, say), the new confirmation raises `Resubscribed`, which
the listener handles the same way.

The subscription is confirmed by the server before the block starts, so nothing published
after `catch_up` begins can be missed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger("personalize_sdk.redis")


class Resubscribed(redis.ConnectionError):
    """redis-py reconnected and subscribed again by itself: messages may have been missed."""


class Messages:
    """The messages of one confirmed subscription (see `subscription`)."""

    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    def next(self, timeout: float) -> bytes | None:
        """The next message's data, or None if none came within `timeout` seconds."""
        message = self._pubsub.get_message(timeout=timeout)
        if message is None:
            return None
        kind = message["type"]  # str, whether the client decodes responses or not
        if kind == "message":
            data = message["data"]
            return data.encode() if isinstance(data, str) else data
        if kind == "subscribe":
            raise Resubscribed("the subscription was renewed by redis-py on a new connection")
        return None


@contextmanager
def subscription(client: Any, channel: str, *, timeout: float = 5.0) -> Iterator[Messages]:
    """Subscribe `client` to `channel`, wait for the server's confirmation and yield its
    `Messages`; the pubsub is closed (its connection back in the pool, as it was) on exit.
    Raises redis-py's connection and timeout errors."""
    pubsub = client.pubsub()
    connection = None
    retry = None
    try:
        pubsub.subscribe(channel)
        connection = pubsub.connection
        retry, connection.retry = connection.retry, Retry(NoBackoff(), 0)
        _await_confirmation(pubsub, timeout)
        yield Messages(pubsub)
    finally:
        if connection is not None:
            connection.retry = retry
        try:
            pubsub.close()
        except Exception:  # a broken connection may fail to close; nothing more to do
            logger.debug("closing the pubsub failed", exc_info=True)


def _await_confirmation(pubsub: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=max(deadline - time.monotonic(), 0.01))
        if message is not None and message["type"] == "subscribe":
            return
    raise redis.TimeoutError("no confirmation of the subscription")
