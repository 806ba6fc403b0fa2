"""`RedisPopularityFeed`: the shop-wide popularity counters shared by every process through
Redis, in day buckets, so "bestsellers of the week" counts the orders of the whole fleet.

Each process keeps answering from its own `PopularityCounters` (queries stay in-memory fast and
memoised) and counts its own events there at once. A background thread

- every `push_interval` seconds adds this process's new counts to Redis (pipelined
  ``HINCRBY``), day by day: ``{prefix}{pop}:d:<day>:n`` (``v|<id>``, ``a|<id>``, ``o|<id>``),
  ``...:f`` (the product's latest category and brand) and ``...:p`` (co-purchases,
  ``<a>|<b>`` with ``a < b``), each expiring after the retention window;
- every `pull_interval` seconds rebuilds the local counters from Redis (the window's days;
  past days, which rarely change, at most every `pull_past_interval`), keeping the counts not
  pushed yet.

Counts are eventually consistent: another process's order shows in this process's lists
within about ``push_interval + pull_interval`` (default 1 s + 5 s). Redis being down leaves
the local counts answering and the unpushed counts waiting (bounded: past `max_pending` keys
the oldest day's are dropped and counted); nothing reaches the request path. All popularity
keys share the ``{pop}`` hash tag: one cluster slot, one pipeline.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import Counter
from collections.abc import Mapping
from typing import Any

import redis

from ._redis_fork import fork_safe
from .catalog import facet_key
from .circuit_breaker import CircuitBreaker
from .events import Event
from .popularity import DAY_SECONDS, CountedOrder, PopularityCounters
from .popularity_feed import COUNTED_EVENTS, Counted, PopularityFeed

logger = logging.getLogger("personalize_sdk.redis")

_SEP = "|"
_FACET_SEP = "\x1f"


class RedisPopularityFeed(PopularityFeed):
    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "pz:",
        push_interval: float = 1.0,
        pull_interval: float = 5.0,
        pull_past_interval: float = 300.0,
        max_pending: int = 200_000,
        clock: Any = time.time,
        **settings: int,
    ) -> None:
        super().__init__(PopularityCounters(**settings))
        self.redis = fork_safe(client)
        self.prefix = prefix
        self.settings = settings
        self.push_interval = push_interval
        self.pull_interval = pull_interval
        self.pull_past_interval = pull_past_interval
        self.max_pending = max_pending
        self._clock = clock
        self._reset()
        _forked.add(self)

    def _reset(self) -> None:
        """Process-local state, new in every process: a lock (or the breaker's) held by a
        thread of the parent at the fork would never be released in the child."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.breaker = CircuitBreaker()
        self.counts: Counter[str] = Counter()
        self._pending: dict[int, _DayDelta] = {}
        self._thread: threading.Thread | None = None
        self._closed = False
        self._wake = threading.Event()
        self._pulled: dict[int, tuple[float, Any]] = {}
        """day -> (when it was last read, what was read)."""

    # -- recording: local counters at once, Redis later ---------------------------------------

    def record(self, event: Event) -> None:
        if event.name not in COUNTED_EVENTS:
            return
        self._started()
        with self._lock:
            counted = self._record(event)  # validates and counts; raises on what it refuses
            if counted is None:
                return
            delta = self._pending.get(day := int(event.timestamp // DAY_SECONDS))
            if delta is None:
                delta = self._pending[day] = _DayDelta()
            delta.add(counted)  # exactly what the local counters took, caps included
            self._trim()

    def _trim(self) -> None:
        while sum(len(d) for d in self._pending.values()) > self.max_pending:
            oldest = min(self._pending)
            self.counts["dropped"] += len(self._pending.pop(oldest))

    # -- the background sync --------------------------------------------------------------------

    def _started(self) -> None:
        if os.getpid() != self._pid:
            self._reset()
        if self._thread is None and not self._closed:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="personalize-popularity", daemon=True
                    )
                    self._thread.start()

    def _loop(self) -> None:
        pulled_at = 0.0
        while not self._closed:
            self._wake.wait(self.push_interval)
            self._wake.clear()
            pull = time.monotonic() - pulled_at >= self.pull_interval
            try:
                if self.sync(pull=pull) and pull:
                    pulled_at = time.monotonic()
            except Exception:
                logger.exception("personalize could not sync the popularity counters")

    def sync(self, *, pull: bool = True) -> bool:
        """Push this process's new counts, then (with `pull`) rebuild from Redis. Whether
        Redis answered. Called by the background thread; tests and shutdown call it too."""
        if not self.breaker.allow():
            return False
        try:
            self._push()
            if pull:
                self._pull()
        except (redis.RedisError, OSError) as error:
            self._fault(error)
            return False
        self.breaker.success()
        return True

    def _push(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        ttl = (self.counters.retention_days + 1) * DAY_SECONDS
        pipe = self.redis.pipeline(transaction=False)
        for day, delta in pending.items():
            counts, facets, pairs = self._keys(day)
            for field, amount in delta.counts.items():
                pipe.hincrby(counts, field, amount)
            if delta.facets:
                pipe.hset(facets, mapping=delta.facets)
            for field, amount in delta.pairs.items():
                pipe.hincrby(pairs, field, amount)
            for key in (counts, facets, pairs):
                pipe.expire(key, ttl)
        try:
            pipe.execute()
        except BaseException:
            with self._lock:  # back in line, ahead of what came meanwhile
                for day, delta in pending.items():
                    delta.merge(self._pending.get(day))
                    self._pending[day] = delta
                self._trim()
            raise
        self.counts["pushed"] += sum(len(d) for d in pending.values())

    def _pull(self) -> None:
        now = self._clock()
        today = int(now // DAY_SECONDS)
        retention = self.counters.retention_days
        days = range(today - retention + 1, today + 1)
        stale = [
            day
            for day in days
            if day >= today - 1
            or day not in self._pulled
            or time.monotonic() - self._pulled[day][0] >= self.pull_past_interval
        ]
        pipe = self.redis.pipeline(transaction=False)
        for day in stale:
            for key in self._keys(day):
                pipe.hgetall(key)
        answers = pipe.execute()
        read_at = time.monotonic()
        for index, day in enumerate(stale):
            self._pulled[day] = (read_at, answers[index * 3 : index * 3 + 3])
        for day in [d for d in self._pulled if d not in days]:
            del self._pulled[day]
        rebuilt = PopularityCounters.from_snapshot(_snapshot(self._pulled, today), **self.settings)
        with self._lock:
            for day, delta in self._pending.items():  # counted here, not in Redis yet
                delta.replay(rebuilt, day)
            self.counters = rebuilt
        self.counts["pulls"] += 1

    def _keys(self, day: int) -> tuple[str, str, str]:
        base = f"{self.prefix}{{pop}}:d:{day}"
        return f"{base}:n", f"{base}:f", f"{base}:p"

    def _fault(self, error: BaseException) -> None:
        self.breaker.failure()
        self.counts["faults"] += 1
        if self.counts["faults"] == 1:
            logger.warning("popularity sync with Redis failed: %s (logged once)", error)

    def close(self, timeout: float = 2.0) -> None:
        """Push what is counted, once more, and stop the thread."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.sync(pull=False)


class _DayDelta:
    """One day's counts not yet in Redis."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.facets: dict[str, str] = {}
        self.pairs: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self.counts) + len(self.facets) + len(self.pairs)

    def add(self, counted: Counted) -> None:
        """What the local counters counted for one event, as Redis hash increments."""
        if isinstance(counted, CountedOrder):
            for pid, category, brand, units in counted.lines:
                self._count("o", pid, units, category, brand)
            for first, second in counted.pairs:
                a, b = sorted((first, second))
                self.pairs[f"{a}{_SEP}{b}"] += 1
        elif counted is not None:
            metric, pid, category, brand, amount = counted
            self._count(_FIELD[metric], pid, amount, category, brand)

    def _count(self, field: str, pid: str, amount: int, category: Any, brand: Any) -> None:
        self.counts[f"{field}{_SEP}{pid}"] += amount
        category, brand = facet_key(category), facet_key(brand)
        if category is not None or brand is not None:
            self.facets[pid] = f"{category or ''}{_FACET_SEP}{brand or ''}"

    def merge(self, newer: _DayDelta | None) -> None:
        if newer is not None:
            self.counts.update(newer.counts)
            self.facets.update(newer.facets)
            self.pairs.update(newer.pairs)

    def replay(self, counters: PopularityCounters, day: int) -> None:
        """Add these counts to counters rebuilt from Redis, which do not have them yet."""
        now = day * DAY_SECONDS + 1
        for field, amount in self.counts.items():
            kind, pid = field.split(_SEP, 1)
            category, brand = _facets(self.facets.get(pid))
            counters.add_counts(pid, category, brand, now, **{_METRIC[kind]: amount})
        for field, amount in self.pairs.items():
            first, second = field.split(_SEP, 1)
            counters.add_pair(first, second, amount, now)


_METRIC = {"v": "views", "a": "adds", "o": "orders"}
_FIELD = {metric: field for field, metric in _METRIC.items()}


def _facets(raw: str | bytes | None) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    text = raw.decode() if isinstance(raw, bytes) else raw
    category, _, brand = text.partition(_FACET_SEP)
    return category or None, brand or None


def _snapshot(pulled: Mapping[int, tuple[float, Any]], today: int) -> dict[str, Any]:
    """`PopularityCounters.snapshot()` data from the day hashes read from Redis."""
    products: dict[str, list[Any]] = {}
    pairs = []
    for day in sorted(pulled):
        counts, facets, day_pairs = pulled[day][1]
        for raw_pid, raw in facets.items():
            pid = raw_pid.decode()
            category, brand = _facets(raw)
            entry = products.setdefault(pid, [pid, None, None, {}])
            entry[1], entry[2] = category or entry[1], brand or entry[2]
        for raw_field, raw_amount in counts.items():
            kind, _, pid = raw_field.decode().partition(_SEP)
            entry = products.setdefault(pid, [pid, None, None, {}])
            bucket = entry[3].setdefault(day, [day, 0, 0, 0])
            bucket[{"v": 1, "a": 2, "o": 3}[kind]] += int(raw_amount)
        for raw_field, raw_amount in day_pairs.items():
            first, _, second = raw_field.decode().partition(_SEP)
            pairs.append([day, first, second, int(raw_amount)])
    return {
        "version": 1,
        "latest_day": today,
        "products": [[pid, c, b, list(days.values())] for pid, c, b, days in products.values()],
        "pairs": pairs,
    }


_forked: weakref.WeakSet[RedisPopularityFeed] = weakref.WeakSet()

if hasattr(os, "register_at_fork"):  # a lock held by a thread of the parent is not the child's
    os.register_at_fork(after_in_child=lambda: [feed._reset() for feed in list(_forked)])
