"""`RedisStreamForwarder`: each event `XADD`ed to a Redis stream (approximate ``MAXLEN``), for
other consumers to read with ``XREAD`` or a consumer group. Needs the ``redis`` extra.

Each entry has one field, ``event``: the message as JSON (or msgpack with ``format``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from .._exceptions import ConfigError
from ._base import DeliveryFailed, expect
from ._formatted import FormattedForwarder


class RedisStreamForwarder(FormattedForwarder):
    type = "redis_stream"
    options = frozenset({"url", "stream", "maxlen", "format", "timeout"})
    required = frozenset({"url"})
    max_event_bytes = 512 * 1024
    max_batch_bytes = 8 * 1024 * 1024

    def __init__(
        self,
        url: str,
        *,
        stream: str = "personalize:events",
        maxlen: int = 1_000_000,
        format: str = "json",
        timeout: float = 5.0,
        **common: Any,
    ) -> None:
        self.check_options(
            {"url": url, "stream": stream, "maxlen": maxlen, "format": format, "timeout": timeout}
        )
        super().__init__(format=format, **common)
        # Imported here, in the thread that builds the forwarder: the delivery thread must
        # import nothing (see `_http_post._LAZY_IMPORTS`), and a missing extra fails at once.
        try:
            import redis.asyncio as aioredis
            from redis.exceptions import RedisError
        except ImportError as error:
            raise ImportError(
                'the redis_stream forwarder needs redis-py: pip install "personalize-sdk[redis]"'
            ) from error
        self._redis, self._redis_error = aioredis, RedisError
        self.url = url
        self.stream = stream
        self.maxlen = maxlen
        self.timeout = timeout
        self._client: Any = None

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        super().check_options(options)
        url = options.get("url")
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"expected a redis:// URL, got {url!r}", field="url")
        stream = options.get("stream", "personalize:events")
        if not isinstance(stream, str) or not stream:
            raise ConfigError("expected a stream key", field="stream")
        expect(options, "maxlen", int, "a number of entries")
        expect(options, "timeout", (int, float), "seconds")

    async def send(self, items: Sequence[bytes]) -> None:
        if self._client is None:
            self._client = self._redis.Redis.from_url(
                self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
        try:
            pipe = self._client.pipeline(transaction=False)
            for item in items:
                pipe.xadd(self.stream, {"event": item}, maxlen=self.maxlen, approximate=True)
            await pipe.execute()
        except (self._redis_error, OSError) as error:
            await self.aclose()
            raise DeliveryFailed(f"redis: {error!r}", retryable=True) from None

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(Exception):  # closing a broken connection
                await client.aclose()
