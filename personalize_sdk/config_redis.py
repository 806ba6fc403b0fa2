"""Config over Redis: `publish_config` once, and every process switches within a second.

    publish_config("redis://cache:6379/0", Path("personalize.toml"))     # from a deploy script
    pz = Personalizer("personalize.toml", config_redis="redis://cache:6379/0")  # every server

`publish_config` validates the text (an invalid config never leaves the publisher), stores it
in a Redis hash under the channel's name (``text``, ``format``, ``version``) and publishes the
version on the channel, in one transaction. Each `RedisConfigSource` listens on the channel in
a thread of its own; on a notice it reads the stored text and applies it. Pub/sub delivers only
to whoever listens at that moment, so on every (re)subscription the source also reads the stored
config once: a process that just started, or lost its connection while a config was published,
catches up by itself. The listener alone reconnects (see `_redis_pubsub`), with a backoff
(0.1 s doubling to 5 s); faults are logged once until it recovers, and counted.
"""

from __future__ import annotations

try:
    import redis
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'config over Redis needs redis-py: pip install "personalize-sdk[redis]"'
    ) from error

import hashlib
import os
from pathlib import Path

from ._exceptions import ConfigError, PersonalizeError
from ._redis_faults import FAULTS as _FAULTS
from ._redis_fork import fork_safe
from ._redis_pubsub import subscription
from .config import Config, file_format
from .config_source import DEFAULT_CHANNEL, ConfigSource, logger


def publish_config(
    redis_url_or_client: str | redis.Redis,
    config: str | bytes | os.PathLike[str],
    *,
    channel: str = DEFAULT_CHANNEL,
    format: str | None = None,
) -> int:
    """Validate a config (TOML or JSON text, or a file), store it and tell every process.

    A path's format comes from its suffix (``.json`` or TOML); text is TOML unless `format`
    says ``"json"``. Raises `ConfigError` for an invalid config (nothing is published) and
    `PersonalizeError` when Redis cannot be reached. Returns how many processes were listening.
    """
    if isinstance(config, os.PathLike):
        path = Path(config)
        try:
            text = path.read_bytes()
        except OSError as error:
            raise ConfigError(f"cannot read: {error.strerror or error}", source=str(path)) from None
        format = format or file_format(path)
        source = str(path)
    else:
        text = config.encode("utf-8") if isinstance(config, str) else config
        format = format or "toml"
        source = f"publish_config(channel={channel!r})"
    # Raises: nothing invalid goes out, nor an empty text every listener would refuse.
    Config.from_text(text, format=format, source=source, allow_empty=False)
    version = hashlib.sha256(text).hexdigest()[:16]
    client = _client(redis_url_or_client)
    stored = {"text": text, "format": format, "version": version}
    try:
        if isinstance(client, redis.RedisCluster):  # its pipelines take commands of keys only
            client.hset(channel, mapping=stored)  # stored first: a listener reads it on news
            return int(client.publish(channel, version))
        pipe = client.pipeline(transaction=True)
        pipe.hset(channel, mapping=stored)
        pipe.publish(channel, version)
        return int(pipe.execute()[1])
    except redis.RedisError as error:
        raise PersonalizeError(f"cannot publish the config to Redis: {error}") from error
    finally:
        if client is not redis_url_or_client:
            client.close()


class RedisConfigSource(ConfigSource):
    kind = "redis"

    def __init__(self, redis_url_or_client: str | redis.Redis, *, channel: str = DEFAULT_CHANNEL):
        super().__init__()
        self.channel = channel
        self.redis = _client(redis_url_or_client)
        self._own_client = self.redis is not redis_url_or_client
        self.version: str | None = None
        """The version of the config applied last (None before the first)."""

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping():
            try:
                with subscription(self.redis, self.channel) as messages:
                    self._count("subscribed")
                    self.fetch()  # whatever was published while we were not listening
                    self._recovered(f"Redis channel {self.channel!r}")
                    backoff = 0.1
                    while not self._stopping():
                        if messages.next(timeout=0.5) is not None:
                            self.fetch()
            except _FAULTS as error:
                self._fault("unreachable", f"Redis channel {self.channel!r}: {error}")
            except Exception as error:  # noqa: BLE001 - the listener must outlive any surprise
                logger.debug("Redis config listener failed", exc_info=True)
                self._fault("internal", f"Redis channel {self.channel!r}: {error!r}")
            if self._wait(backoff):
                break
            backoff = min(backoff * 2, 5.0)
        if self._own_client:
            self.redis.close()

    def fetch(self) -> bool:
        """Read the stored config and apply it if it is new; whether it was applied."""
        text, format, version = self.redis.hmget(self.channel, "text", "format", "version")
        if text is None or version is None:
            return False  # nothing published yet
        version = _str(version)
        if version == self.version:
            return False
        self.version = version
        return self._offer(
            text,
            format=_str(format or "toml"),
            source=f"Redis {self.channel!r} version {version}",
        )


def _str(value: str | bytes) -> str:
    """Text from a reply, whether the client decodes responses or not."""
    return value.decode() if isinstance(value, bytes) else value


def _client(redis_url_or_client: str | redis.Redis) -> redis.Redis:
    if not isinstance(redis_url_or_client, str):
        return fork_safe(redis_url_or_client)
    try:
        return fork_safe(
            redis.Redis.from_url(
                redis_url_or_client,
                socket_timeout=5.0,
                socket_connect_timeout=2.0,
                health_check_interval=10,
            )
        )
    except ValueError as error:
        raise ConfigError(str(error), field="config_redis") from error
