"""`SQLiteStore`: profiles in one SQLite file, shared by every worker process on one host.

- **No lost update across processes**: `update` and `identify` run in a ``BEGIN IMMEDIATE``
  transaction, which takes the database's write lock before reading, so two processes folding
  events into the same shopper take turns instead of overwriting each other. Readers never wait
  (WAL mode); a writer waits up to `busy_timeout` for the lock, then `StoreUnavailable`.
- **Durable**: committed profiles survive restarts and crashes (WAL, ``synchronous=NORMAL``: a
  power cut may lose the last transactions, never corrupt the file).
- **Schema versioned**: ``PRAGMA user_version`` says which of `MIGRATIONS` a file has; opening
  applies the missing ones in one transaction. A file from a newer release is refused.
- **Fork-safe**: each thread has its own connection, and a child process (gunicorn
  ``--preload``) closes the connections it inherited as it starts and opens its own on first
  use. (SQLite keeps each process's file locks in a table the child inherits: a connection
  opened while the parent's are still open reuses the parent's entries and takes no lock of
  its own, and another process can then checkpoint and delete the WAL under the child, losing
  its writes.)

Anonymous profiles not updated for `anonymous_ttl` seconds (default 90 days) are deleted by
`expire()`, which the store runs by itself at most once an hour, on a write.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ._exceptions import ConfigError, StoreUnavailable
from .profile import Profile, profile_key
from .profile_codec import decode, decode_erased, encode
from .store import Change

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE profiles (
        key TEXT PRIMARY KEY,
        data BLOB NOT NULL,
        updated_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX profiles_anonymous_by_age ON profiles (updated_at) WHERE key LIKE 'v:%';
    CREATE TABLE links (
        visitor_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX links_by_user ON links (user_id);
    """,
)
"""Schema changes in order: the file is at version N when the first N have been applied."""

DEFAULT_ANONYMOUS_TTL = 90 * 86_400.0
EXPIRE_EVERY = 3600.0


class _Connection(sqlite3.Connection):
    """A connection the store can hold weakly (to close it in a forked child), marked `busy`
    while a call of the store runs on it."""

    busy = False


class SQLiteStore:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        anonymous_ttl: float | None = DEFAULT_ANONYMOUS_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < busy_timeout <= 600:
            raise ConfigError(f"expected seconds in (0, 600], got {busy_timeout!r}",
                              field="busy_timeout")  # fmt: skip
        if anonymous_ttl is not None and not anonymous_ttl > 0:
            raise ConfigError(f"expected seconds > 0 or None, got {anonymous_ttl!r}",
                              field="anonymous_ttl")  # fmt: skip
        self.path = str(Path(path))
        self.busy_timeout = busy_timeout
        self.anonymous_ttl = anonymous_ttl
        self._clock = clock
        self._local = threading.local()
        self._opened: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._expired_at = 0.0
        self._closed = False
        self._migrate()
        _stores.add(self)

    # -- reads --------------------------------------------------------------------------------

    def load(self, key: str) -> Profile | None:
        row = self._query("SELECT data FROM profiles WHERE key = ?", (key,))
        return decode(row[0]) if row else None

    def resolve(self, visitor_id: str) -> str | None:
        row = self._query("SELECT user_id FROM links WHERE visitor_id = ?", (visitor_id,))
        return row[0] if row else None

    # -- atomic writes --------------------------------------------------------------------------

    def update(
        self, visitor_id: str | None, user_id: str | None, change: Change, *args: Any
    ) -> Profile:
        with self._write() as db:
            if user_id is None and visitor_id is not None:
                user_id = _one(db, "SELECT user_id FROM links WHERE visitor_id = ?", visitor_id)
            key = profile_key(visitor_id, user_id)
            profile = change(self._get(db, key), visitor_id, user_id, *args)
            self._put(db, key, profile)
        return profile

    def identify(self, visitor_id: str, user_id: str, change: Change, *args: Any) -> Profile:
        visitor_key = profile_key(visitor_id, None)
        key = profile_key(visitor_id, user_id)
        with self._write() as db:
            profile = change(self._get(db, key), self._get(db, visitor_key), *args)
            db.execute("DELETE FROM profiles WHERE key = ?", (visitor_key,))
            self._put(db, key, profile)
            db.execute(
                "INSERT INTO links (visitor_id, user_id) VALUES (?, ?) "
                "ON CONFLICT (visitor_id) DO UPDATE SET user_id = excluded.user_id",
                (visitor_id, user_id),
            )
        return profile

    def pop(self, key: str) -> Profile | None:
        """Delete the profile under `key` and return it. Decoded after the delete: a stored
        profile this release cannot read (corrupt, or a newer release's) is erased all the
        same, and counts as one with no aliases (logged)."""
        with self._write() as db:
            raw = _one(db, "SELECT data FROM profiles WHERE key = ?", key)
            db.execute("DELETE FROM profiles WHERE key = ?", (key,))
        return None if raw is None else decode_erased(key, raw)

    def unlink(self, visitor_id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM links WHERE visitor_id = ?", (visitor_id,))

    def unlink_user(self, user_id: str) -> list[str]:
        with self._write() as db:
            rows = db.execute(
                "SELECT visitor_id FROM links WHERE user_id = ? ORDER BY visitor_id", (user_id,)
            ).fetchall()
            db.execute("DELETE FROM links WHERE user_id = ?", (user_id,))
        return [row[0] for row in rows]

    def expire(self, now: float | None = None) -> int:
        """Delete anonymous profiles not updated for `anonymous_ttl` seconds; how many."""
        if self.anonymous_ttl is None:
            return 0
        cutoff = (self._clock() if now is None else now) - self.anonymous_ttl
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM profiles WHERE key LIKE 'v:%' AND updated_at < ?", (cutoff,)
            )
        return cursor.rowcount

    def __len__(self) -> int:
        row = self._query("SELECT count(*) FROM profiles", ())
        return int(row[0]) if row else 0

    def flush(self, timeout: float = 5.0) -> bool:
        """Nothing is buffered: every write is committed when it returns."""
        return True

    def close(self, timeout: float = 5.0) -> None:
        self._closed = True
        connection = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            connection.close()
        self._local = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (a process started with "spawn") without its connections: the new process
        opens its own."""
        state = self.__dict__.copy()
        del state["_local"], state["_opened"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._opened = weakref.WeakSet()
        _stores.add(self)

    def _close_inherited(self) -> None:
        """In a forked child, before it opens any connection: close the parent's (see the
        module's docstring). One that another thread of the parent was using at the fork is
        left alone: its SQLite mutex stays locked in the child, and closing it would hang."""
        inherited, self._opened = self._opened, weakref.WeakSet()
        self._local = threading.local()
        for connection in list(inherited):
            if not connection.busy:
                with suppress(sqlite3.Error):
                    connection.close()

    # -- the connection -------------------------------------------------------------------------

    def _connection(self) -> _Connection:
        if self._closed:
            raise StoreUnavailable(f"the SQLite store {self.path} is closed")
        local = self._local
        connection: _Connection | None = getattr(local, "connection", None)
        if connection is None or local.pid != os.getpid():  # new thread, or a forked child
            if connection is not None:  # forked without the fork hook: the parent's, close it
                self._close_inherited()
                local = self._local
            connection = self._connect()
            local.connection, local.pid = connection, os.getpid()
            self._opened.add(connection)
        return connection

    def _connect(self) -> _Connection:
        try:
            connection = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None,
                check_same_thread=False, factory=_Connection,
            )  # fmt: skip
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        except sqlite3.Error as error:
            raise StoreUnavailable(f"cannot open the SQLite store {self.path}: {error}") from error
        return connection

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise ConfigError(
                    f"the file has schema version {version}, this release knows "
                    f"{len(MIGRATIONS)}: it was written by a newer personalize-sdk",
                    source=self.path,
                )
            for number in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the database's write lock from its first read."""
        db = self._connection()
        db.busy = True
        try:
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise StoreUnavailable(f"SQLite store {self.path}: {error}") from error
            try:
                yield db
                db.execute("COMMIT")
            except BaseException as error:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    raise StoreUnavailable(f"SQLite store {self.path}: {error}") from error
                raise
        finally:
            db.busy = False

    def _query(self, sql: str, params: tuple[Any, ...]) -> Any:
        db = self._connection()
        db.busy = True
        try:
            return db.execute(sql, params).fetchone()
        except sqlite3.Error as error:
            raise StoreUnavailable(f"SQLite store {self.path}: {error}") from error
        finally:
            db.busy = False

    def _get(self, db: sqlite3.Connection, key: str) -> Profile | None:
        raw = _one(db, "SELECT data FROM profiles WHERE key = ?", key)
        return None if raw is None else decode(raw)

    def _put(self, db: sqlite3.Connection, key: str, profile: Profile) -> None:
        now = self._clock()
        db.execute(
            "INSERT INTO profiles (key, data, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (key, encode(profile), now),
        )
        if self.anonymous_ttl is not None and now - self._expired_at >= EXPIRE_EVERY:
            self._expired_at = now
            db.execute(
                "DELETE FROM profiles WHERE key LIKE 'v:%' AND updated_at < ?",
                (now - self.anonymous_ttl,),
            )


def _one(db: sqlite3.Connection, sql: str, value: str) -> Any:
    row = db.execute(sql, (value,)).fetchone()
    return None if row is None else row[0]


_stores: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_stores):
        store._close_inherited()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
