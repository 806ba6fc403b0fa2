"""`FAULTS`: the errors that mean Redis is away (or a part of a cluster is), not that a
command was wrong: the stores and the config listener count them, degrade, and try again later.
"""

from __future__ import annotations

import redis

FAULTS: tuple[type[BaseException], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    OSError,
    # A cluster's: a node down (its slots uncovered), the cluster unreachable, a slot moving.
    redis.exceptions.ClusterError,
    redis.exceptions.RedisClusterException,
    redis.exceptions.TryAgainError,
    # A server that is there but cannot take writes for now: out of memory (maxmemory with
    # noeviction), a replica after a failover. Every profile of a batch would be refused: the
    # writes wait in the queue (bounded) until it can.
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
)
