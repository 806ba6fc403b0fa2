"""Which `messageId`s the collector has folded already, over a window (24 h by default), kept
where the profiles are: in memory, in the SQLite file, or in Redis, so every collector worker
sharing that store shares the memory of what was seen.

`claim(ids)` says, for each id, whether this caller is the first to see it (and marks it seen);
`release(ids)` forgets ids whose events could not be applied after all, so a retry is folded.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cachetools import TTLCache

MEMORY_IDS = 2_000_000
"""Ids a memory de-duplicator remembers at most (about 200 MB at most; the oldest go first)."""


class Dedup(Protocol):
    def claim(self, ids: Sequence[str]) -> list[bool]: ...

    def release(self, ids: Sequence[str]) -> None: ...


class MemoryDedup:
    def __init__(self, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._seen: TTLCache[str, bool] = TTLCache(MEMORY_IDS, window, timer=clock)
        self._lock = threading.Lock()

    def claim(self, ids: Sequence[str]) -> list[bool]:
        seen = self._seen
        first = []
        with self._lock:
            for message_id in ids:
                if message_id in seen:
                    first.append(False)
                else:
                    seen[message_id] = True
                    first.append(True)
        return first

    def release(self, ids: Sequence[str]) -> None:
        with self._lock:
            for message_id in ids:
                self._seen.pop(message_id, None)


class SQLiteDedup:
    """A table beside the profiles in the SQLite file; expired rows are swept as it goes."""

    def __init__(self, path: str, window: float, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.window = window
        self._clock = clock
        self._local = threading.local()
        self._swept = 0.0
        with self._connection() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS collector_seen "
                "(message_id TEXT PRIMARY KEY, seen_at REAL NOT NULL) WITHOUT ROWID"
            )

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    def claim(self, ids: Sequence[str]) -> list[bool]:
        now = self._clock()
        db = self._connection()
        first = []
        db.execute("BEGIN IMMEDIATE")
        try:
            if now - self._swept > 60:
                db.execute("DELETE FROM collector_seen WHERE seen_at < ?", (now - self.window,))
                self._swept = now
            for message_id in ids:
                row = db.execute(
                    "SELECT seen_at FROM collector_seen WHERE message_id = ?", (message_id,)
                ).fetchone()
                fresh = row is None or row[0] < now - self.window
                if fresh:
                    db.execute(
                        "INSERT OR REPLACE INTO collector_seen VALUES (?, ?)", (message_id, now)
                    )
                first.append(fresh)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return first

    def release(self, ids: Sequence[str]) -> None:
        self._connection().executemany(
            "DELETE FROM collector_seen WHERE message_id = ?", [(i,) for i in ids]
        )


class RedisDedup:
    """``SET key 1 NX PX window`` per id, pipelined, under the store's key prefix."""

    def __init__(self, client: Any, prefix: str, window: float) -> None:
        self.client = client
        self.prefix = f"{prefix}seen:"
        self.window_ms = int(window * 1000)

    def claim(self, ids: Sequence[str]) -> list[bool]:
        pipe = self.client.pipeline(transaction=False)
        for message_id in ids:
            pipe.set(self.prefix + message_id, 1, nx=True, px=self.window_ms)
        return [bool(answer) for answer in pipe.execute()]

    def release(self, ids: Sequence[str]) -> None:
        if ids:
            self.client.delete(*(self.prefix + message_id for message_id in ids))


def dedup_for(store: Any, window: float) -> Dedup:
    """The de-duplicator that lives where `store` keeps the profiles."""
    kind = type(store).__name__
    if kind == "SQLiteStore":
        return SQLiteDedup(store.path, window)
    if kind == "RedisStore":
        return RedisDedup(store.redis, store.keys.prefix, window)
    return MemoryDedup(window)
