"""`FAULTS`: the errors that mean Redis is away (or a part of a cluster is), not that a
command was wrong: the stores and the config listener count them, degrade, and try again later.

`REFUSALS`: a server that is there, reads included, but takes no write for now. The writer keeps
its writes queued and tries again later, without opening the breaker the reads go through.
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
)

REFUSALS: tuple[type[BaseException], ...] = (
    redis.exceptions.OutOfMemoryError,  # maxmemory reached, under noeviction
    redis.exceptions.ReadOnlyError,  # a replica, after a failover
)
