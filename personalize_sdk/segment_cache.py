"""`SegmentCache`: each process's cache of evaluated segments, safe across threads.

An entry remembers the profile object it was computed from. Profiles are immutable, so any
change (an event, identify, forget) is a new object, and `get` answers only for the very profile
it was computed from: invalidation needs no message. The TTL bounds how late purely time-driven
segments (a cart turning abandoned) appear.

This is read on every page, so an entry carries its own expiry time and lives in a plain
`cachetools.Cache` (one lookup), not a `TTLCache` (a timer context and a linked list per
lookup: three times the work). Each `put` re-inserts its key last, so when the cache is full the
entry computed longest ago goes first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cachetools import Cache

from .profile import Profile

_Entry = tuple["Profile | None", frozenset[str], float]
"""(the profile the segments were computed from, the segments, when they expire)"""


class SegmentCache:
    def __init__(self, *, maxsize: int, ttl: float, timer: Callable[[], float]) -> None:
        self._entries: Cache[str, _Entry] | None = Cache(maxsize=maxsize) if ttl > 0 else None
        self._ttl = ttl
        self._timer = timer
        # cachetools caches are not thread-safe: changes take the lock (lookups need none).
        self._lock = threading.Lock()

    def get(self, key: str, profile: Profile | None) -> frozenset[str] | None:
        """The segments cached for `key` if they were computed from this very `profile` and
        have not expired."""
        entries = self._entries
        if entries is None:
            return None
        try:  # no lock: a `Cache` lookup only reads its dict (a `put` meanwhile: a miss at worst)
            computed_from, segments, expires = entries[key]
        except KeyError:
            return None
        if computed_from is not profile or self._timer() >= expires:
            return None
        return segments

    def put(self, key: str, profile: Profile | None, segments: frozenset[str]) -> None:
        if self._entries is not None:
            expires = self._timer() + self._ttl
            with self._lock:
                self._entries.pop(key, None)  # in again last: a full cache drops the oldest first
                self._entries[key] = (profile, segments, expires)

    def discard(self, *keys: str) -> None:
        if self._entries is not None:
            with self._lock:
                for key in keys:
                    self._entries.pop(key, None)
