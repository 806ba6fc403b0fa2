"""Counters behind `Personalizer.stats()`: accepted events, rejections by kind, faults."""

from __future__ import annotations

import itertools
import threading


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        # `next()` on an itertools.count is atomic under the GIL, so the hot path takes no lock;
        # its repr, "count(N)", gives the next value without consuming it.
        self._events = itertools.count()
        self.accepted = self._events.__next__
        """Count one more accepted event."""

    def count(self, name: str) -> int:
        """Add one to `name`; return the new count."""
        with self._lock:
            n = self._counts[name] = self._counts.get(name, 0) + 1
        return n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            counts = dict(self._counts)
        accepted = int(repr(self._events)[len("count(") : -1])
        if accepted:
            counts["events"] = accepted
        return counts
