"""`SegmentCache`: each process's cache of evaluated segments, safe across threads.

An entry remembers the profile object it was computed from. Profiles are immutable, so any
change (an event, identify, forget) is a new object, and `get` answers only for the very profile
it was computed from: invalidation needs no message. The TTL bounds how late purely time-driven
segments (a cart turning abandoned) appear.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cachetools import TTLCache

from .profile import Profile


class SegmentCache:
    def __init__(self, *, maxsize: int, ttl: float, timer: Callable[[], float]) -> None:
        self._entries: TTLCache[str, tuple[Profile | None, frozenset[str]]] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl, timer=timer) if ttl > 0 else None
        )
        # cachetools caches are not thread-safe; a request thread must never see one half-updated.
        self._lock = threading.Lock()

    def get(self, key: str, profile: Profile | None) -> frozenset[str] | None:
        """The segments cached for `key` if they were computed from this very `profile`."""
        entries = self._entries
        if entries is None:
            return None
        lock = self._lock
        lock.acquire()  # cheaper than `with` on this, the page-render path
        try:
            computed_from, segments = entries[key]
        except KeyError:
            return None
        finally:
            lock.release()
        return segments if computed_from is profile else None

    def put(self, key: str, profile: Profile | None, segments: frozenset[str]) -> None:
        if self._entries is not None:
            with self._lock:
                self._entries[key] = (profile, segments)

    def discard(self, *keys: str) -> None:
        if self._entries is not None:
            with self._lock:
                for key in keys:
                    self._entries.pop(key, None)
