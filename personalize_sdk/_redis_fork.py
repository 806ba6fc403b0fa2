"""`fork_safe`: a redis-py client whose connection pool a forked child can use.

redis-py resets a pool in a child process on its first command there (`_checkpid`), and that
reset takes the pool's lock. A child forked while a thread of the parent held that lock (our
writer taking a connection, say) inherits it held by a thread that does not exist in the child:
the reset waits forever, and every other thread of the child fails with `ChildDeadlockedError`
after five seconds. So around each fork the forking thread takes the locks of every pool made
fork-safe here, and lets them go on both sides: no other thread of the parent can be inside
them at the fork.

The locks are redis-py's own (`_fork_lock`, `_lock`); a redis-py without them is left as it is.

Importing this module also imports the `idna` codec, which `socket.getaddrinfo` loads on a
connection's first use: a child forked while a parent's thread was importing it fails every
connection with "unknown encoding: idna".
"""

from __future__ import annotations

import encodings.idna  # noqa: F401 - see the module docstring
import os
import threading
import weakref
from typing import Any

_pools: weakref.WeakSet[Any] = weakref.WeakSet()
_held: list[Any] = []
_guard = threading.Lock()


def fork_safe(client: Any) -> Any:
    """Register `client`'s connection pool (see the module docstring); returns `client`."""
    pool = getattr(client, "connection_pool", None)
    if pool is not None:
        with _guard:
            _pools.add(pool)
    return client


def _before_fork() -> None:
    _guard.acquire()
    for pool in list(_pools):
        for name in ("_fork_lock", "_lock"):
            lock = getattr(pool, name, None)
            if lock is not None and lock.acquire(timeout=1.0):
                _held.append(lock)


def _after_fork() -> None:
    while _held:
        _held.pop().release()
    _guard.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork
    )
