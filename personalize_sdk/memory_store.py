"""`MemoryStore`: the embedded default. One process, no services, bounded memory.

Profiles live in a map capped at `max_profiles` (default 100,000; under 3 KB each for a typical
shopper, see benchmarks/); when it is full, the least recently *updated* profile is evicted (every
page view tracks an event, so that is the least recently active shopper). One lock makes
`update` and `identify` atomic across threads; it is held only for the reducer call, never
across I/O.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from .profile import Profile, profile_key
from .store import Change

DEFAULT_MAX_PROFILES = 100_000


class MemoryStore:
    def __init__(
        self, *, max_profiles: int = DEFAULT_MAX_PROFILES, max_links: int | None = None
    ) -> None:
        if max_profiles < 1:
            raise ValueError("max_profiles must be at least 1")
        self.max_profiles = max_profiles
        self.max_links = max_links if max_links is not None else 2 * max_profiles
        self._profiles: OrderedDict[str, Profile] = OrderedDict()
        self._links: OrderedDict[str, str] = OrderedDict()
        self._linked: dict[str, set[str]] = {}
        """user id -> the visitor ids linked to it: `unlink_user` never scans every link."""
        self._lock = threading.Lock()
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._profiles)

    def load(self, key: str) -> Profile | None:
        return self._profiles.get(key)

    def resolve(self, visitor_id: str) -> str | None:
        return self._links.get(visitor_id)

    def update(
        self, visitor_id: str | None, user_id: str | None, change: Change, *args: Any
    ) -> Profile:
        lock = self._lock
        lock.acquire()  # cheaper than `with` on this, the track() path
        try:
            if user_id is None and visitor_id is not None:
                user_id = self._links.get(visitor_id)
            key = f"u:{user_id}" if user_id is not None else f"v:{visitor_id}"  # profile_key
            profiles = self._profiles
            profile = change(profiles.get(key), visitor_id, user_id, *args)
            profiles[key] = profile  # `_put`, inline on this path
            profiles.move_to_end(key)
            if len(profiles) > self.max_profiles:
                profiles.popitem(last=False)
                self.evictions += 1
        finally:
            lock.release()
        return profile

    def identify(self, visitor_id: str, user_id: str, change: Change, *args: Any) -> Profile:
        profiles = self._profiles
        visitor_key = profile_key(visitor_id, None)
        key = profile_key(visitor_id, user_id)
        with self._lock:
            # Compute first, then change anything: if `change` raises, nothing is lost.
            profile = change(profiles.get(key), profiles.get(visitor_key), *args)
            profiles.pop(visitor_key, None)
            self._put(key, profile)
            self._link(visitor_id, user_id)
        return profile

    def _link(self, visitor_id: str, user_id: str) -> None:
        links = self._links
        self._drop_link(visitor_id)
        links[visitor_id] = user_id
        self._linked.setdefault(user_id, set()).add(visitor_id)
        if len(links) > self.max_links:
            self._drop_link(next(iter(links)))

    def _drop_link(self, visitor_id: str) -> None:
        user_id = self._links.pop(visitor_id, None)
        if user_id is not None:
            visitors = self._linked[user_id]
            visitors.discard(visitor_id)
            if not visitors:
                del self._linked[user_id]

    def _put(self, key: str, profile: Profile) -> None:
        profiles = self._profiles
        profiles[key] = profile
        profiles.move_to_end(key)
        if len(profiles) > self.max_profiles:
            profiles.popitem(last=False)
            self.evictions += 1

    def pop(self, key: str) -> Profile | None:
        with self._lock:
            return self._profiles.pop(key, None)

    def unlink(self, visitor_id: str) -> None:
        with self._lock:
            self._drop_link(visitor_id)

    def unlink_user(self, user_id: str) -> list[str]:
        with self._lock:
            visitors = sorted(self._linked.get(user_id, ()))
            for visitor_id in visitors:
                self._drop_link(visitor_id)
        return visitors

    def flush(self, timeout: float = 5.0) -> bool:
        """Nothing is buffered: every update is visible when `update` returns."""
        return True

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._profiles.clear()
            self._links.clear()
            self._linked.clear()
