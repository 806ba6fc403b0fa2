"""`RedisStore`: profiles in Redis, shared by every process on every host, with a local cache.

    store = RedisStore("redis://127.0.0.1:6379/0")      # rediss://, unix:// too
    store = RedisStore("redis+cluster://10.0.0.5:7000")  # a Redis Cluster (rediss+cluster://)
    pz = Personalizer(store=store)

The request path never waits on a write:

- `update` (and `apply`, for every `track`) folds the event into the process's own copy of
  the profile, so the next page in this process sees it at once; the event joins a queue that
  a background writer sends to Redis in batches, pipelined, by compare-and-set (see
  `_redis_layout`): a profile another process changed meanwhile is read again and the queued
  events are folded into it, so concurrent writers lose nothing. What the writer may fold
  again is queued as `apply`'s `replay` form: `track` passes its event frozen.
- `track` (`apply`) never reads: a shopper this process has no copy of gets a blind copy,
  the event folded into nothing (see `_Entry`), and the first read of it here, or the writer,
  folds those events into what Redis holds.
- Reads come from the local cache (`LocalCache`) when they can, else from Redis (one round
  trip). After each write the writer publishes the profile's key; every other process
  drops its copy, so a change in one process shows in the others within milliseconds.
- Redis being down never takes a page down: connect and read timeouts are 50 ms, a circuit
  breaker stops calling a dead server at all, reads then answer from the local cache (or as an
  unknown shopper), and queued writes wait (up to `max_pending` events) and are written when
  Redis is back. A local copy holding events not yet written stays past `local_ttl` and
  `local_size` until they are (`LocalCache`'s `keep`): the shopper's pages keep showing them.
  Beyond `max_pending` events leave the queue, the longest-waiting shopper's first, counted
  as `dropped`: they reach Redis only if this process's copy of the profile can be written
  as is (no other process changed that shopper meanwhile), and are lost otherwise.
- Fork-safe: a child process (gunicorn ``--preload``) starts with an empty cache and queue and
  its own connections, threads, locks and circuit breaker; the parent's queue stays the
  parent's to send. The client's pool is `fork_safe` (see `_redis_fork`).

`identify` and `forget` (`pop`, `unlink`, `unlink_user`) are rare and go to Redis directly, after
the queue is flushed (while Redis answers: with the breaker open they are `StoreUnavailable` at
once, and the wait for the queue stops when it opens). Anonymous profiles expire
`anonymous_ttl` seconds (default 90 days) after their last write; customers' profiles do not.
"""

from __future__ import annotations

try:
    import redis
    import redis.asyncio
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError('RedisStore needs redis-py: pip install "personalize-sdk[redis]"') from error

import asyncio
import contextlib
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

import attrs
from redis.backoff import NoBackoff
from redis.retry import Retry

from ._exceptions import ConfigError, StoreUnavailable
from ._redis_faults import FAULTS as _FAULTS
from ._redis_faults import REFUSALS as _REFUSALS
from ._redis_fork import fork_safe
from ._redis_layout import (
    CAS_WRITE,
    LINK_VISITOR,
    READ_SHOPPER,
    READ_VISITOR,
    UNLINK_IF_LINKED,
    KeyLayout,
    invalidation,
    read_invalidation,
)
from ._redis_pubsub import subscription
from .circuit_breaker import CircuitBreaker
from .invalidation_log import InvalidationLog
from .local_cache import LocalCache
from .profile import Profile, profile_key
from .profile_codec import ProfileDecodeError, decode, decode_erased, encode
from .store import Change
from .write_queue import WriteQueue

logger = logging.getLogger("personalize_sdk.redis")

DEFAULT_ANONYMOUS_TTL = 90 * 86_400
DEFAULT_LINK_TTL = 400 * 86_400
_NO_LINK = ""
_MISSING = object()
_NOT_RUN = -2
"""`_cas_all`'s answer for a write the server had no script for (so it did nothing)."""
_PROBE_TIMEOUT = 1.0
"""Seconds after which the breaker lets another call probe, should a probe never report (each
call's own timeout is 50 ms: a probe still out after this is lost, not slow)."""
_IDENTIFY_FLUSH = 0.5
"""Seconds `identify` waits for the queue: a login page must not wait long, and what is still
queued for the visitor then is moved to the customer as it is written (refused as linked)."""
_FORGET_FLUSH = 5.0
"""Seconds `forget` waits for the queue (while Redis answers), so that what it erases is all
in Redis: an erasure matters more than its speed."""
_RETRIED = _FAULTS + _REFUSALS
"""What a write may fail with and still be sent again later (nothing of it is lost)."""
_REFUSED_PAUSE = 1.0
"""Seconds the writer waits after Redis refused a batch (out of memory, read-only) before it
tries again."""


@attrs.define(eq=False)
class _Op:
    """One queued update: re-applied to the stored profile if it changed meanwhile."""

    visitor_id: str | None
    user_id: str | None
    change: Change
    args: tuple[Any, ...]
    key: str
    """The profile key it was applied to locally (the visitor's, or the linked customer's)."""


@attrs.define
class _Entry:
    """The local copy of a profile: `version` is the stored version it was built on ("?":
    unknown, the writer re-reads), `pending` the ops applied locally and not yet written.

    A `blind` copy was built without reading Redis (`track` of a shopper this process had no
    copy of: the event costs no round trip): `pending` folded into nothing, with `version` ""
    while that is all it is. What Redis holds is unknown, so a read of it reads the stored
    profile and folds `pending` into that (`_merge`), and the writer does the same before it
    writes, except where nothing is stored: then the blind copy is the profile to write."""

    profile: Profile | None
    version: str
    pending: list[_Op] = attrs.Factory(list)
    blind: bool = False


class RedisStore:
    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "pz:",
        anonymous_ttl: int = DEFAULT_ANONYMOUS_TTL,
        link_ttl: int = DEFAULT_LINK_TTL,
        timeout: float = 0.05,
        local_ttl: float = 30.0,
        local_size: int = 10_000,
        max_pending: int = 100_000,
        batch_size: int = 500,
        client: redis.Redis | None = None,
    ) -> None:
        if not isinstance(prefix, str) or not prefix or "{" in prefix or "}" in prefix:
            raise ConfigError(f"expected a key prefix without braces, got {prefix!r}",
                              field="prefix")  # fmt: skip
        for name, value in (("anonymous_ttl", anonymous_ttl), ("link_ttl", link_ttl)):
            if type(value) is not int or value < 1:
                raise ConfigError(f"expected whole seconds >= 1, got {value!r}", field=name)
        if type(local_size) is not int or local_size < 1:
            raise ConfigError(f"expected a size >= 1, got {local_size!r}", field="local_size")
        if type(local_ttl) not in (int, float) or not local_ttl > 0:
            raise ConfigError(f"expected seconds > 0, got {local_ttl!r}", field="local_ttl")
        scheme, separator, rest = url.partition("://") if isinstance(url, str) else ("", "", "")
        if scheme.lower() in ("redis+cluster", "rediss+cluster") and separator:
            url = f"{scheme[: -len('+cluster')]}://{rest}"  # a node's URL, for the clients
            if client is None:
                client = _cluster_client(url, timeout)
        self.url = url
        self.keys = KeyLayout(prefix)
        self.anonymous_ttl = anonymous_ttl
        self.link_ttl = link_ttl
        self.timeout = timeout
        self.max_pending = max_pending
        self.batch_size = batch_size
        self._local_ttl = local_ttl
        self._local_size = local_size
        try:
            self.redis = fork_safe(client or redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout,
                health_check_interval=30,
            ))  # fmt: skip
        except ValueError as error:
            raise ConfigError(str(error), field="url") from error
        self._cas = self.redis.register_script(CAS_WRITE)
        self._link = self.redis.register_script(LINK_VISITOR)
        self._unlink_script = self.redis.register_script(UNLINK_IF_LINKED)
        self._visitor_script = self.redis.register_script(READ_VISITOR)
        self._shopper_script = self.redis.register_script(READ_SHOPPER)
        self._around = self.keys.customer_profile_around()
        self._clustered = isinstance(self.redis, redis.RedisCluster)
        self.follows_links = True
        """Whether a visitor's read follows its link on the server (`READ_SHOPPER`): one round
        trip for a signed-in shopper's first page here. Off for good once the server refuses
        the script's key of another slot (a cluster whose other node holds the customer's)."""
        self._reset()
        _forked.add(self)

    def _reset(self) -> None:
        """Process-local state, new in every process (at start and after a fork)."""
        self._pid = os.getpid()
        self.counts: dict[str, int] = {}
        """This process's counters (a child starts from zero: summed over workers, they add
        up)."""
        self._id = uuid.uuid4().hex
        self._lock = threading.RLock()
        # Its own breaker too: the parent's lock may have been held by its writer at the fork.
        self.breaker = CircuitBreaker(probe_timeout=_PROBE_TIMEOUT)
        # A copy holding events not yet written is kept past its time to live and the size (an
        # outage, a slow writer): it is the only place they show. One per queued event at most.
        self._cache: LocalCache[str, _Entry] = LocalCache(
            self._local_size, self._local_ttl, keep=_unwritten
        )
        self._links: LocalCache[str, str] = LocalCache(self._local_size, self._local_ttl)
        self._news = InvalidationLog()
        """Invalidations from other processes, for reads and writes that were in flight."""
        self._queue: WriteQueue[_Op] = WriteQueue()
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._writing = 0
        self._in_flight = 0
        self._writing_keys: frozenset[str] = frozenset()
        """The profiles of the batch the writer has taken (`pop` waits for it to land)."""
        self._erase_after_write: set[str] = set()
        """Profiles `pop` erased while a batch with their events was still being written: the
        writer deletes them again once it is done."""
        """Ops the writer has taken from the queue and not yet written (or put back)."""
        self._load_cas = False
        """The server answered that it has no `CAS_WRITE`: load it before the next write."""
        self._closed = False
        self._writer: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._aredis: Any = None
        self._aredis_loop: asyncio.AbstractEventLoop | None = None

    # -- reads --------------------------------------------------------------------------------

    def load(self, key: str) -> Profile | None:
        entry = self._entry(key)
        return None if entry is None else entry.profile

    def resolve(self, visitor_id: str) -> str | None:
        self._started()
        return self._resolve(visitor_id)

    def _resolve(self, visitor_id: str) -> str | None:
        with self._lock:
            cached = self._links.get(visitor_id)
            began = self._news.now
        if cached is None:
            found = self._read(lambda: self._read_visitor(keys=self._visitor_keys(visitor_id)))
            if found is _MISSING:
                return None  # unknown while Redis is away: not cached
            cached = self._visitor_read(visitor_id, found, began)
        return cached or None

    def _visitor_read(self, visitor_id: str, found: list[Any], began: int) -> str:
        """What `READ_SHOPPER` or `READ_VISITOR` found, read since the `_news` moment `began`:
        the link (or `_NO_LINK`) and the profile that came with it (the visitor's own, or the
        customer's when the read followed the link), which go into the local cache (unless
        news of them came during the read: see `_kept`). Returns the link."""
        linked = found[0]
        user_id = _NO_LINK if linked is None else linked.decode()
        key = f"v:{visitor_id}" if linked is None else f"u:{user_id}"
        try:
            entry = _stored(found[1], found[2]) if len(found) == 3 else None
        except ProfileDecodeError:  # the link is what was asked; a read of the profile reports it
            entry = None
        with self._lock:
            if not self._news.since(f"l:{visitor_id}", began):
                self._links[visitor_id] = user_id
                if user_id:
                    self._to_customer(visitor_id, user_id)
            if entry is not None:
                self._kept(key, entry, began)
        return user_id

    def _to_customer(self, visitor_id: str, user_id: str) -> None:
        """The visitor turned out linked to `user_id` (lock held): events tracked here into
        the visitor's copy and not yet written are the customer's (a blind `track` before this
        process knew the link). Those still queued move now; those the writer holds come back
        refused as linked, and `_relink` moves them."""
        moved = self._queue.move(f"v:{visitor_id}", f"u:{user_id}")
        if moved:
            self._cache.pop(f"v:{visitor_id}", None)
            self._moved(moved, user_id)

    def _moved(self, ops: list[_Op], user_id: str) -> None:
        """Make `ops` (queued under the customer's key already) the customer's: their key,
        folded into its copy (a blind one if this process has none) and pending there (lock
        held)."""
        key = f"u:{user_id}"
        entry = self._cache.get(key) or _Entry(None, "?", blind=True)
        profile = entry.profile
        for op in ops:
            op.key = key
            with contextlib.suppress(Exception):  # the writer's replay reports it
                profile = op.change(profile, op.visitor_id, user_id, *op.args)
            entry.pending.append(op)
        entry.profile, entry.version = profile, "?"
        self._cache[key] = entry

    def note_new_visitor(self, visitor_id: str) -> None:
        """`visitor_id` was minted here just now (the integrations call this for a request
        without a valid visitor cookie): nothing is stored under it, so its first events need
        no read from Redis. Were something stored after all, the first write's compare-and-set
        finds that version, and the writer folds the events into what is stored."""
        with self._lock:
            self._links.setdefault(visitor_id, _NO_LINK)
            self._cache.setdefault(f"v:{visitor_id}", _Entry(None, ""))

    def _entry(self, key: str) -> _Entry | None:
        """The local copy, else the stored profile read into it (None: Redis unreachable)."""
        self._started()
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and not entry.blind:
                return entry
            began = self._news.now
        found = self._read(lambda: self.redis.hmget(self.keys.profile(key), "d", "v"))
        if found is _MISSING:
            return entry  # Redis away: a blind copy shows at least this process's events
        with self._lock:
            return self._kept(key, _stored(*found), began)

    def _kept(self, key: str, entry: _Entry, began: int) -> _Entry:
        """`entry`, read from Redis since the moment `began`, as the local copy of `key`
        (lock held). Unless another process's change of `key` was announced during the read:
        then the answer may predate it, and serves this call only, its version unknown (so
        that the writer reads the profile again before it writes). A blind copy of `key` takes
        the answer in (`_merge`)."""
        current = self._cache.get(key)
        if current is not None and current.blind:
            self._merge(key, current, entry, began)
            return current
        if self._news.since(key, began):
            entry.version = "?"
            return self._cache.get(key, entry)  # type: ignore[return-value]
        return self._cache.setdefault(key, entry)

    def _merge(self, key: str, blind: _Entry, stored: _Entry, began: int) -> None:
        """Fold the blind copy's pending ops into `stored`, read since `began`: the copy is
        the profile as it is then (lock held). Ops that cannot go into it leave the copy as it
        was (the writer counts and logs them as it writes)."""
        user_id = key[2:] if key.startswith("u:") else None
        profile = stored.profile
        try:
            for op in blind.pending:
                profile = op.change(profile, op.visitor_id, user_id, *op.args)
        except Exception:  # noqa: BLE001 - the writer's replay reports it
            return
        blind.profile, blind.blind = profile, False
        blind.version = "?" if self._news.since(key, began) else stored.version

    async def aprefetch(self, visitor_id: str | None, user_id: str | None = None) -> None:
        """Bring the shopper's link and profile into the local cache without blocking the
        event loop (redis-py's asyncio client), so the synchronous call that follows (`track`,
        `widgets` ...) finds them there. A fault is counted and leaves the cache as it was."""
        self._started()
        if user_id is None and visitor_id is not None:
            with self._lock:
                user_id = self._links.get(visitor_id)
                began = self._news.now
            if user_id is None:
                found = await self._aread(lambda r: self._aread_visitor(r, visitor_id))
                if found is _MISSING:
                    return
                user_id = self._visitor_read(visitor_id, found, began)
                if not user_id:
                    return  # not linked: the visitor's own profile came with the link
        key = profile_key(visitor_id, user_id or None)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and not cached.blind:
                return
            began = self._news.now
        found = await self._aread(lambda r: r.hmget(self.keys.profile(key), "d", "v"))
        if found is _MISSING:
            return
        entry = _stored(*found)
        with self._lock:
            self._kept(key, entry, began)

    def _read(self, command: Callable[[], Any]) -> Any:
        """`command`'s answer, or `_MISSING` while Redis is away (the breaker open, or this
        read failed: counted as `faults.read`)."""
        if not self.breaker.allow():
            return _MISSING
        try:
            result = command()
        except _FAULTS as error:
            self._fault("read", error)
            return _MISSING
        except BaseException as error:
            self._answered(error)
            raise
        self.breaker.success()
        return result

    async def _aread(self, command: Callable[[Any], Any]) -> Any:
        """`_read` on the asyncio client of the running loop."""
        if not self.breaker.allow():
            return _MISSING
        try:
            result = await command(self._async_client())
        except _FAULTS as error:
            self._fault("read", error)
            return _MISSING
        except BaseException as error:  # asyncio.CancelledError among them
            self._answered(error)
            raise
        self.breaker.success()
        return result

    def _read_visitor(self, keys: list[str]) -> Any:
        """`READ_SHOPPER` (else `READ_VISITOR`) by its digest, loaded again if the server lost
        it: redis-py's `Script` call costs about 20 us more per read (two imports and type
        checks per call; 146.6 against 124.1 us per round trip on loopback, medians of 5,000
        interleaved)."""
        if self.follows_links:
            try:
                return self._run(self._shopper_script, keys, self._around)
            except redis.exceptions.ResponseError as error:
                self._stop_following(error)
        return self._run(self._visitor_script, keys)

    def _run(self, script: Any, keys: list[str], args: tuple[str, ...] = ()) -> Any:
        try:
            return self.redis.evalsha(script.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return self.redis.eval(script.script, len(keys), *keys, *args)

    async def _aread_visitor(self, client: Any, visitor_id: str) -> Any:
        """`_read_visitor` on the asyncio client."""
        keys = self._visitor_keys(visitor_id)
        if self.follows_links:
            try:
                return await _arun(client, self._shopper_script, keys, self._around)
            except redis.exceptions.ResponseError as error:
                self._stop_following(error)
        return await _arun(client, self._visitor_script, keys)

    def _stop_following(self, error: Exception) -> None:
        """The server refused `READ_SHOPPER` (a cluster, or a proxy refusing another slot's
        key): read the link and the customer apart from now on. A fault (a cluster node down
        answers with an error too) is not a refusal: it goes on as one."""
        if isinstance(error, _FAULTS) or str(error).startswith("WRONGTYPE"):
            raise error  # a fault, or this shopper's key holding something else: no refusal
        if self.follows_links:
            self.follows_links = False
            logger.info("personalize reads linked visitors in two round trips: %s", error)

    def _visitor_keys(self, visitor_id: str) -> list[str]:
        return [self.keys.link(visitor_id), self.keys.profile(f"v:{visitor_id}")]

    def _async_client(self) -> Any:
        """An asyncio client of the running event loop's own (a client cannot change loops)."""
        loop = asyncio.get_running_loop()
        if self._aredis is None or self._aredis_loop is not loop:
            kind = redis.asyncio.RedisCluster if self._clustered else redis.asyncio.Redis
            self._aredis = kind.from_url(
                self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
            self._aredis_loop = loop
        return self._aredis

    def _read_link(self, visitor_id: str) -> str | None:
        """The user id the visitor is linked to (`_NO_LINK`: none; None: Redis unreachable)."""
        user_id = self._read(lambda: self.redis.get(self.keys.link(visitor_id)))
        if user_id is _MISSING:
            return None
        return _NO_LINK if user_id is None else user_id.decode()

    # -- writes -------------------------------------------------------------------------------

    def update(
        self, visitor_id: str | None, user_id: str | None, change: Change, *args: Any
    ) -> Profile:
        return self._update(visitor_id, user_id, change, args, None, read=True)

    def apply(
        self,
        visitor_id: str | None,
        user_id: str | None,
        change: Change,
        *args: Any,
        replay: tuple[Change, tuple[Any, ...]] | None = None,
    ) -> None:
        """`update` without its answer (`track` calls this). `replay`: the (change, args) to
        queue for the writer in place of these, the same change in a form that holds none of
        the caller's objects: the writer may fold it again much later (a profile another
        process changed meanwhile), when the caller has changed its dicts (`track` passes its
        event frozen). A shopper this process has no copy of is not read from Redis: the
        event goes into a blind copy (see `_Entry`), read and merged when a page asks."""
        self._update(visitor_id, user_id, change, args, replay, read=False)

    def _update(
        self,
        visitor_id: str | None,
        user_id: str | None,
        change: Change,
        args: tuple[Any, ...],
        replay: tuple[Change, tuple[Any, ...]] | None,
        *,
        read: bool,
    ) -> Profile:
        """`read`: the answer must hold what Redis has (else a blind copy may take the
        change)."""
        self._started()
        resolved = user_id
        if resolved is None and visitor_id is not None:
            if read:
                resolved = self._resolve(visitor_id)
            else:  # unknown here: the visitor's copy (the writer moves it if linked)
                with self._lock:
                    resolved = self._links.get(visitor_id) or None
        key = profile_key(visitor_id, resolved)
        with self._lock:
            entry = self._cache.get(key)
            if entry is None and not read:
                entry = _Entry(None, "", blind=True)
            if entry is not None and not (read and entry.blind):
                # the common case: the local copy, in one locked section
                profile = self._fold_in(entry, key, visitor_id, user_id, resolved, change, args,
                                        replay)  # fmt: skip
            else:
                entry = None
        if entry is None:
            entry = self._entry(key) or _Entry(None, "", blind=True)  # None: Redis away
            with self._lock:
                entry = self._cache.get(key, entry)
                profile = self._fold_in(entry, key, visitor_id, user_id, resolved, change, args,
                                        replay)  # fmt: skip
        wake = self._wake
        if not wake.is_set():  # set already: the writer has yet to clear it and look
            wake.set()
        return profile

    def _fold_in(
        self,
        entry: _Entry,
        key: str,
        visitor_id: str | None,
        user_id: str | None,
        resolved: str | None,
        change: Change,
        args: tuple[Any, ...],
        replay: tuple[Change, tuple[Any, ...]] | None,
    ) -> Profile:
        """Apply `change` to the local copy and queue it (or `replay`) for the writer (lock
        held)."""
        profile = change(entry.profile, visitor_id, resolved, *args)
        op = _Op(visitor_id, user_id, *(replay or (change, args)), key)
        entry.profile = profile
        entry.pending.append(op)
        self._cache[key] = entry  # back in, or its time to live renewed
        self._queue.append(key, op)
        self._trim()
        return profile

    def _trim(self) -> None:
        """Keep the queue within `max_pending`: the events of the profile waiting longest
        leave first, oldest first (lock held)."""
        while self._queue and len(self._queue) + self._in_flight > self.max_pending:
            key, dropped = self._queue.pop_first()
            self._count("dropped")
            owner = self._cache.get(key)
            if owner is not None and any(op is dropped for op in owner.pending):
                owner.pending = [op for op in owner.pending if op is not dropped]
                if not owner.pending:
                    self._cache.release(key)

    def identify(self, visitor_id: str, user_id: str, change: Change, *args: Any) -> Profile:
        self._before_direct("identify", _IDENTIFY_FLUSH)
        keys = self.keys
        visitor_key, customer_key = f"v:{visitor_id}", f"u:{user_id}"
        with self._lock:
            began = self._news.now
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hmget(keys.profile(visitor_key), "d", "v")
            pipe.hmget(keys.profile(customer_key), "d", "v")
            (seen, seen_version), (stored, version) = pipe.execute()
            visitor = None if seen is None else decode(seen)
            customer = None if stored is None else decode(stored)
            # First without changing anything: a change that raises leaves everything as it was.
            profile = change(customer, visitor, *args)
            # Linked from now on: later writes for the visitor go to the customer.
            linked, linked_version = self._link(
                keys=[keys.profile(visitor_key), keys.link(visitor_id)],
                args=[user_id, self.link_ttl],
            )
            if linked_version != seen_version:  # written meanwhile: merge what is there now
                visitor = None if linked is None else decode(linked)
                profile = change(customer, visitor, *args)
            for _ in range(50):
                written = self._cas(
                    keys=[keys.profile(customer_key)],
                    args=[_text(version), encode(profile), 0, "0"],
                )
                if written:
                    break
                stored, version = self.redis.hmget(keys.profile(customer_key), "d", "v")
                profile = change(None if stored is None else decode(stored), visitor, *args)
            else:  # pragma: no cover - fifty writers on one customer at once
                raise StoreUnavailable(f"identify of {user_id!r}: too many concurrent writers")
            pipe = self.redis.pipeline(transaction=False)
            pipe.sadd(keys.visitors(user_id), visitor_id)
            pipe.delete(keys.profile(visitor_key))
            news = (keys.channel, invalidation(self._id, (visitor_key, customer_key,
                                                          f"l:{visitor_id}")))  # fmt: skip
            if self._clustered:  # a cluster's pipeline takes commands of keys only
                pipe.execute()
                self.redis.publish(*news)
            else:
                pipe.publish(*news)
                pipe.execute()
        except _FAULTS as error:
            self._fault("identify", error)
            raise StoreUnavailable(f"Redis at {self.url}: {error}") from error
        self.breaker.success()
        link_key = f"l:{visitor_id}"
        with self._lock:
            # Another process's news of these since the first read: what this one wrote may
            # be older than what Redis has now, so it is not kept.
            if self._news.since(customer_key, began):
                self._cache.pop(customer_key, None)
            else:
                self._cache[customer_key] = _Entry(profile, str(written))
            if self._news.since(link_key, began):
                self._links.pop(visitor_id, None)
            else:
                self._links[visitor_id] = user_id
            self._cache.pop(visitor_key, None)
            self._changed_here(visitor_key, customer_key, link_key)
        return profile

    def _changed_here(self, *keys: str) -> None:
        """This process changed `keys` in Redis just now (lock held): a read of them that began
        before, in another thread, must not keep what it read (the listener does not hear this
        process's own notices)."""
        for key in keys:
            self._news.mark(key)

    def pop(self, key: str) -> Profile | None:
        """Delete the profile under `key` (and its events still queued here) and return it.
        Decoded after the delete: a stored profile this release cannot read (corrupt, or a
        newer release's) is erased all the same, and counts as one with no aliases (logged)."""
        self._before_direct("forget", _FORGET_FLUSH)
        with self._idle:
            self._queue.discard(key)  # the writer would write them back, as a new profile
            # A batch the writer has taken already, with this shopper's events, lands first:
            # deleted before it, the profile would be written again.
            deadline = time.monotonic() + _FORGET_FLUSH
            while key in self._writing_keys and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
        redis_key = self.keys.profile(key)
        data = self._direct(lambda: self.redis.hget(redis_key, "d"))
        self._direct(lambda: self.redis.delete(redis_key))
        with self._lock:
            self._queue.discard(key)  # queued while it was erased: they belong to it too
            if key in self._writing_keys:  # still being written: deleted again after it
                self._erase_after_write.add(key)
            self._cache.pop(key, None)
            self._changed_here(key)
        self._publish(key)
        return None if data is None else decode_erased(key, data)

    def _erase_again(self, keys: set[str]) -> None:
        """Delete profiles a batch may have written back after `pop` erased them (the writer,
        once that batch is done)."""
        try:
            for key in keys:  # one by one: on a cluster, each is in a slot of its own
                self.redis.delete(self.keys.profile(key))
        except _FAULTS as error:
            self._fault("forget", error)
            logger.error("personalize could not erase %d profiles again after a write that "
                         "was under way: %s", len(keys), error)  # fmt: skip
            return
        with self._lock:
            for key in keys:
                self._cache.pop(key, None)
        self._publish(*keys)

    def unlink(self, visitor_id: str) -> None:
        """The link gone, and the visitor out of its customer's set of visitors (else a later
        `alias` or `forget` of that customer would find it, and relink or erase it). A login
        page or a logout waits for the queue no longer than an identify does."""
        self._before_direct("unlink", _IDENTIFY_FLUSH)
        link = self.keys.link(visitor_id)
        user = self._direct(lambda: self.redis.get(link))
        self._direct(lambda: self.redis.delete(link))
        if user is not None:
            visitors = self.keys.visitors(user.decode() if isinstance(user, bytes) else user)
            self._direct(lambda: self.redis.srem(visitors, visitor_id))
        with self._lock:
            self._links.pop(visitor_id, None)
            self._changed_here(f"l:{visitor_id}")
        self._publish(f"l:{visitor_id}")

    def unlink_user(self, user_id: str) -> list[str]:
        """Unlink the customer's visitors, and return them: those linked to `user_id` still,
        or to nobody. One that signed in as another customer since (a shared device) is that
        customer's now, and is left alone: the customer's set of visitors keeps it, since
        relinking it touched another slot, so each link is checked as it is deleted."""
        self._before_direct("forget", _FORGET_FLUSH)
        members = self._direct(lambda: self.redis.smembers(self.keys.visitors(user_id)))
        visitors = []
        for visitor_id in sorted(member.decode() for member in members):
            link = [self.keys.link(visitor_id)]
            if self._direct(partial(self._run, self._unlink_script, link, (user_id,))):
                visitors.append(visitor_id)
        self._direct(lambda: self.redis.delete(self.keys.visitors(user_id)))
        with self._lock:
            for visitor_id in visitors:
                self._links.pop(visitor_id, None)
            self._changed_here(*(f"l:{v}" for v in visitors))
        self._publish(*(f"l:{v}" for v in visitors))
        return visitors

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait (at most `timeout` seconds) until every queued write is in Redis; whether it
        got there."""
        return self._flush(timeout, while_up=False)

    def _flush(self, timeout: float, *, while_up: bool) -> bool:
        """`flush`; `while_up`: give up too once the breaker is open (nothing is written
        until it closes again)."""
        if os.getpid() != self._pid:
            return True
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while self._queue or self._writing:
                left = deadline - time.monotonic()
                if left <= 0 or self._writer is None or (while_up and self.breaker.is_open):
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def _before_direct(self, doing: str, timeout: float) -> None:
        """Before `identify` or `forget` goes to Redis directly: the queue written first (for
        at most `timeout` seconds), so that the shopper's queued events are in Redis, unless
        Redis is away: with the breaker open (or opening meanwhile) `StoreUnavailable` at
        once, so that no page (a login) waits on a dead server."""
        if not self.breaker.is_open:
            self._flush(timeout, while_up=True)
        if self.breaker.is_open:
            raise StoreUnavailable(f"Redis at {self.url} is away: {doing} not tried "
                                   "(the circuit breaker is open)")  # fmt: skip

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        self._closed = True
        self._wake.set()
        listener = self._listener
        if listener is not None and listener is not threading.current_thread():
            listener.join(1.0)  # it checks `_closed` at least every 0.5 s
        try:
            self.redis.close()
        except Exception:
            logger.debug("closing the Redis client failed", exc_info=True)

    def popularity_feed(self, clock: Callable[[], float] = time.time) -> Any:
        """Shop-wide popularity counters shared through this Redis (`RedisPopularityFeed`),
        on a client of their own: their syncs are background reads far larger than a
        profile's, so they get a longer timeout than the request path's 50 ms."""
        from .redis_popularity import RedisPopularityFeed

        kind = redis.RedisCluster if self._clustered else redis.Redis
        client = kind.from_url(self.url, socket_timeout=2.0, socket_connect_timeout=0.5)
        return RedisPopularityFeed(client, prefix=self.keys.prefix, clock=clock)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                **self.counts,
                "pending": len(self._queue) + self._in_flight,
                "breaker_opened": self.breaker.opened,
            }

    # -- the background writer ------------------------------------------------------------------

    def _started(self) -> None:
        """Start the writer and the invalidation listener in this process, once."""
        if os.getpid() != self._pid:
            self._reset()
        if self._writer is None and not self._closed:
            with self._lock:
                if self._writer is None:
                    self._writer = _thread(self._write_loop, "personalize-redis-writer")
                    self._listener = _thread(self._listen_loop, "personalize-redis-listener")

    def _write_loop(self) -> None:
        while not self._closed or self._queue:
            self._wake.wait(0.5)
            self._wake.clear()
            while self._queue and not self._closed_and_down():
                if not self.breaker.allow():
                    time.sleep(0.05)
                    continue
                with self._lock:
                    batch = self._queue.take(self.batch_size)
                    self._writing += 1
                    self._in_flight = sum(map(len, batch.values()))
                    self._writing_keys = frozenset(batch)
                done: set[_Op] = set()
                try:
                    self._write(batch, done)
                    self.breaker.success()
                except _RETRIED as error:
                    # What the write did before it failed (profiles written, events moved to a
                    # customer) is done: sent again it would count twice.
                    with self._lock:
                        self._put_back(batch, done)
                        self._in_flight = 0  # back in the queue: counted there
                        self._trim()
                    if isinstance(error, _REFUSALS):
                        self._refused(error)
                    else:
                        self._fault("write", error)
                except Exception as error:  # noqa: BLE001 - a bug of ours, not Redis away
                    self._lost(batch, done, error)
                    self.breaker.success()  # not a fault: were this the probe, it must report
                finally:
                    with self._idle:
                        self._writing -= 1
                        self._in_flight = 0
                        self._writing_keys = frozenset()
                        erase = self._erase_after_write.intersection(batch)
                        self._erase_after_write -= erase
                        self._idle.notify_all()
                    if erase:
                        self._erase_again(erase)
            with self._idle:
                self._idle.notify_all()

    def _refused(self, error: BaseException) -> None:
        """Redis is up, reads work, but it took no write (out of memory, read-only): the
        breaker stays closed for the reads, and the writer waits a while before it tries
        again."""
        self.breaker.success()  # it answered: were this the probe, it reports
        if self._count("faults.write_refused") == 1:
            logger.warning("Redis at %s refuses writes for now: %s; they wait in the queue "
                           "(logged once, counted in stats())", self.url, error)  # fmt: skip
        time.sleep(_REFUSED_PAUSE)

    def _lost(self, batch: dict[str, list[_Op]], done: set[_Op], error: Exception) -> None:
        """The write of `batch` failed half-way for a reason that sending it again would not
        mend: what was not `done` is lost, counted, and its local copies are dropped, so that
        they neither show events that never reach Redis nor stay held as unwritten for good."""
        lost = {key: [op for op in ops if op not in done] for key, ops in batch.items()}
        logger.error("personalize could not write %d profile updates",
                     sum(map(len, lost.values())), exc_info=error)  # fmt: skip
        for key, ops in lost.items():
            if ops:
                self._lose(key, ops)

    def _put_back(self, batch: dict[str, list[_Op]], done: set[_Op]) -> None:
        """The ops of `batch` not `done` wait first again, each before its profile's later
        ones (lock held)."""
        for key in reversed(list(batch)):  # the first profile of the batch ends up first
            self._queue.put_back(key, [op for op in batch[key] if op not in done])

    def _closed_and_down(self) -> bool:
        return self._closed and self.breaker.is_open

    def _write(self, by_key: dict[str, list[_Op]], done: set[_Op]) -> None:
        """Write a batch, the queued ops of the profiles waiting longest (`WriteQueue.take`:
        a profile's pending ops leave together, so that its local copy can go as it is): per
        profile, the local copy when it was built on the stored version, else the stored
        profile with the batch's ops folded in again; conflicts retried. `done` gets the ops
        dealt with as it goes (written, moved to a customer, refused), so that a fault in a
        later round puts back only the others."""
        attempt: dict[str, tuple[str, Profile]] = {}
        local: dict[str, _Entry] = {}  # the entries whose local copy is (or may be) the attempt
        blind: dict[str, Profile | None] = {}  # blind copies of exactly these ops
        with self._lock:
            began = self._news.now
            for key, ops in by_key.items():
                entry = self._cache.get(key)
                if entry is None or entry.version == "?" or not _same(entry.pending, ops):
                    continue
                local[key] = entry
                if entry.blind:
                    blind[key] = entry.profile
                else:
                    attempt[key] = (entry.version, entry.profile)  # type: ignore[assignment]
        replay = [key for key in by_key if key not in attempt]
        committed: list[str] = []
        try:
            for _ in range(20):
                if replay:
                    attempt.update(self._replayed(replay, by_key, done, blind))
                written = self._cas_all(attempt)
                replay = []
                again: dict[str, tuple[str, Profile]] = {}
                fault: Exception | None = None
                for key, result in written.items():
                    if isinstance(result, Exception):
                        if isinstance(result, _RETRIED):  # sent again later
                            fault = result
                        else:  # this profile's alone (cannot be encoded, a key of another type)
                            self._unwritable(key, by_key[key], result)
                            done.update(by_key[key])
                        continue
                    if result == _NOT_RUN:  # as it was: sent as it is in the next round
                        again[key] = attempt[key]
                        continue
                    if result > 0:
                        self._committed(key, by_key[key], attempt[key], str(result),
                                        local.get(key), began)  # fmt: skip
                        committed.append(key)
                    elif result == 0:
                        local.pop(key, None)
                        replay.append(key)
                        self._count("conflicts")
                        continue
                    else:  # the visitor got linked: its events go to the customer now
                        try:
                            self._relink(by_key[key])
                        except Exception as error:  # noqa: BLE001 - its link is not a link
                            self._unwritable(key, by_key[key], error)
                    done.update(by_key[key])
                if fault is not None:  # the rest of this round is done: the others go back
                    raise fault
                attempt = again
                if not replay and not again:
                    break
            else:  # pragma: no cover - twenty conflicts in a row on one profile
                raise redis.TimeoutError("too many write conflicts")
        finally:  # what was written is told to the other processes, fault or not
            self._publish(*committed)

    def _replayed(
        self,
        keys: list[str],
        by_key: dict[str, list[_Op]],
        done: set[_Op],
        blind: dict[str, Profile | None],
    ) -> dict[str, tuple[str, Profile]]:
        """The stored profiles of `keys` with their ops folded in again; where nothing is
        stored, the `blind` copy of those ops, if any, as it is. A profile that cannot be read
        back or take its ops again (written by a newer release, say) loses those ops alone,
        counted and logged: the rest of the batch is written."""
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(self.keys.profile(key), "d", "v")
        out: dict[str, tuple[str, Profile]] = {}
        for key, found in zip(keys, pipe.execute(raise_on_error=False), strict=True):
            if isinstance(found, _FAULTS):
                raise found  # nothing written yet: the batch goes back, as it was
            ops = by_key[key]
            user_id = key[2:] if key.startswith("u:") else None
            try:
                if isinstance(found, Exception):
                    raise found  # refused for this key alone (WRONGTYPE: not a profile's hash)
                data, version = found
                if data is None and key in blind:
                    out[key] = ("", blind[key])  # type: ignore[assignment]
                    continue
                profile = None if data is None else decode(data)
                for op in ops:
                    profile = op.change(profile, op.visitor_id, user_id, *op.args)
            except Exception as error:  # noqa: BLE001 - this shopper's, not the batch's
                self._unwritable(key, ops, error)
                done.update(ops)
                continue
            out[key] = (_text(version), profile)  # type: ignore[assignment]
        return out

    def _unwritable(self, key: str, ops: list[_Op], error: Exception) -> None:
        """`ops` cannot go into the stored profile of `key`: lost (`_lose`), logged once."""
        if self._lose(key, ops) == len(ops):
            logger.error("personalize cannot write to the stored profile %r (logged once, "
                         "counted in stats() as write_errors): %s", key, error)  # fmt: skip

    def _lose(self, key: str, ops: list[_Op]) -> int:
        """`ops` of `key` will not be written: counted as `write_errors` (the count returned),
        and the local copy that holds them dropped, so that this process shows what Redis
        has (its later ops, still queued, are folded into that as they are written)."""
        with self._lock:
            self._cache.pop(key, None)
        return self._count("write_errors", len(ops))

    def _cas_all(self, attempt: dict[str, tuple[str, Profile]]) -> dict[str, int | Exception]:
        """`CAS_WRITE` of each profile of `attempt`, in one pipeline: the new version, 0 on a
        conflict, -1 for a visitor linked meanwhile, `_NOT_RUN` where the server did not have
        the script (loaded before the next call), or the error of that profile's write alone:
        one that cannot be encoded is not sent, one the server refused (a key of another type)
        or whose node is down (a cluster's) did not run, and the others are written."""
        if self._load_cas:
            self.redis.script_load(CAS_WRITE)  # on a cluster: on every primary
            self._load_cas = False
        pipe = self.redis.pipeline(transaction=False)
        answers: dict[str, int | Exception] = {}
        sent: list[str] = []
        for key, (version, profile) in attempt.items():
            try:
                data = encode(profile)
            except Exception as error:  # noqa: BLE001 - this shopper's profile, not the batch's
                answers[key] = error
                continue
            anonymous = key.startswith("v:")
            keys = [self.keys.profile(key)]
            if anonymous:
                keys.append(self.keys.link(key[2:]))
            ttl = self.anonymous_ttl if anonymous else 0
            args = [version, data, ttl, "1" if anonymous else "0"]
            pipe.evalsha(self._cas.sha, len(keys), *keys, *args)
            sent.append(key)
            # The GIL back after each profile encoded: a request thread waiting for it (a
            # reply from Redis came in) waits for one profile, not for a batch's, which
            # also lets more of its events queue per profile and go out in one write. (Handing
            # it over only every 0.5 ms of encoding instead made the writer keep up with a busy
            # request thread, in smaller writes: 21,000 writes for 26,650 events against
            # 4,800, and fewer events/s in all, measured with `benchmarks redis`.)
            time.sleep(0)
        results = pipe.execute(raise_on_error=False) if sent else []
        run = 0
        for key, result in zip(sent, results, strict=True):
            if isinstance(result, redis.exceptions.NoScriptError):
                # A server that lost its scripts (restarted, or a cluster node that never had
                # them): that write did not run. It goes again in the next round, after the
                # script is loaded: loading it here could fail after the others were written,
                # and those would then be sent again, and counted twice.
                answers[key] = _NOT_RUN
                self._load_cas = True
            elif isinstance(result, Exception):
                answers[key] = result
            else:
                answers[key] = int(result)
                run += 1
        self._count("writes", run)
        return {key: answers[key] for key in attempt}

    def _committed(
        self,
        key: str,
        ops: list[_Op],
        written: tuple[str, Profile],
        version: str,
        local: _Entry | None,
        began: int,
    ) -> None:
        """`written` (the version it replaced, the profile) is in Redis as `version`; `local`
        is the entry whose local copy it may be (None: replayed); `began`, the `_news` moment
        the batch started at."""
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return
            written_ops = set(ops)  # by identity (ops moved here from a visitor are not pending)
            entry.pending = [op for op in entry.pending if op not in written_ops]
            if not entry.pending:
                self._cache.release(key)  # a copy like any other again, if it was held
                if self._news.since(key, began):  # another process wrote it after this one
                    self._cache.pop(key, None)
                    return
                entry.profile, entry.version, entry.blind = written[1], version, False
            elif entry is local and entry.version == written[0]:
                # The local copy is what was written with the newer ops folded in (nobody
                # invalidated it meanwhile; a blind one: nothing was stored): built on the new
                # version, written as is next.
                entry.version, entry.blind = version, False
            else:
                entry.version = "?"  # newer local ops wait for the next batch, replayed

    def _relink(self, ops: list[_Op]) -> None:
        """A visitor linked meanwhile (by another process, or before this one knew): queue its
        ops again, for the customer now, together with its later ops, and fold them into the
        customer's copy so that this process's pages show them until they are written."""
        visitor_id = ops[0].visitor_id or ""
        with self._lock:
            self._links.pop(visitor_id, None)
            self._cache.pop(ops[0].key, None)
        user_id = self._read_link(visitor_id) or None
        with self._lock:
            self._in_flight -= len(ops)  # counted in the queue again
            if user_id is None:  # Redis away: the visitor's still, until the link can be read
                self._queue.put_back(ops[0].key, ops)
                return
            key = f"u:{user_id}"
            self._queue.put_back(key, ops)
            later = self._queue.move(ops[0].key, key)
            self._moved([*ops, *later], user_id)

    # -- invalidation across processes ------------------------------------------------------------

    def _publish(self, *keys: str) -> None:
        if not keys:
            return
        try:
            self.redis.publish(self.keys.channel, invalidation(self._id, keys))
        except _FAULTS as error:
            self._fault("publish", error)

    def _listen_loop(self) -> None:
        backoff = 0.1
        while not self._closed:
            try:
                with subscription(self.redis, self.keys.channel) as messages:
                    with self._lock:  # news may have been missed while not subscribed
                        self._forget_unpending()
                        self._count("subscribed")
                    backoff = 0.1
                    while not self._closed:
                        data = messages.next(timeout=0.5)
                        if data is not None:
                            self._invalidate(data)
            except _FAULTS as error:
                if self._count("faults.listen") == 1:
                    logger.warning("Redis at %s: the invalidation listener lost its connection "
                                   "(%s); it subscribes again and forgets the local copies it may "
                                   "have missed news of (logged once, counted in stats())",
                                   self.url, error)  # fmt: skip
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:
                logger.exception("personalize's Redis invalidation listener failed")
                time.sleep(backoff)

    def _invalidate(self, data: bytes) -> None:
        notice = read_invalidation(data)
        if notice is None:  # not a store's notice (something else published on the channel)
            logger.debug("personalize ignored a message on %s: %r", self.keys.channel, data[:80])
            return
        sender, keys = notice
        if sender == self._id:
            return
        with self._lock:
            for key in keys:
                self._news.mark(key)
                if key.startswith("l:"):
                    self._links.pop(key[2:], None)
                    continue
                entry = self._cache.get(key)
                if entry is None:
                    continue
                if entry.pending:
                    entry.version = "?"  # the writer re-reads it before writing
                else:
                    self._cache.pop(key, None)

    def _forget_unpending(self) -> None:
        self._news.mark_all()
        for key in [k for k, e in self._cache.items() if not e.pending]:
            self._cache.pop(key, None)
        self._links.clear()

    # -- faults ---------------------------------------------------------------------------------

    def _direct(self, call: Callable[[], Any]) -> Any:
        """`call`'s answer, for `forget`: `StoreUnavailable` on a fault, and at once while the
        breaker is open."""
        if not self.breaker.allow():
            raise StoreUnavailable(f"Redis at {self.url} is away (the circuit breaker is open)")
        try:
            result = call()
        except _FAULTS as error:
            self._fault("forget", error)
            raise StoreUnavailable(f"Redis at {self.url}: {error}") from error
        except BaseException as error:
            self._answered(error)
            raise
        self.breaker.success()
        return result

    def _answered(self, error: BaseException) -> None:
        """A call the breaker let through ended in `error`, not a fault. Were it the probe, it
        must report, or no call would be let through again: an error of the command (a key
        of another type) or of what came back is the server answering, so a success; a call
        cancelled (asyncio) says nothing, so the next caller probes instead."""
        if isinstance(error, Exception):
            self.breaker.success()
        else:
            self.breaker.abandon()

    def _fault(self, doing: str, error: BaseException) -> None:
        self.breaker.failure()
        if self._count(f"faults.{doing}") == 1:
            logger.warning("Redis at %s failed (%s): %s; degrading (logged once per kind, "
                           "counted in stats())", self.url, doing, error)  # fmt: skip

    def _count(self, name: str, by: int = 1) -> int:
        with self._lock:
            value = self.counts.get(name, 0) + by
            self.counts[name] = value
            return value


def _unwritten(entry: _Entry) -> bool:
    return bool(entry.pending)


def _same(pending: list[_Op], ops: list[_Op]) -> bool:
    return len(pending) == len(ops) and all(a is b for a, b in zip(pending, ops, strict=True))


def _cluster_client(url: str, timeout: float) -> redis.RedisCluster:
    """A cluster client of the cluster that `url`'s node belongs to: redis-py asks the node
    for the cluster's map as it builds one, so a cluster none of whose given nodes answers is
    `StoreUnavailable` here, at once (a single server's client connects on first use)."""
    try:
        return redis.RedisCluster.from_url(url, socket_timeout=timeout,
                                           socket_connect_timeout=timeout,
                                           retry=Retry(NoBackoff(), 0))  # fmt: skip
    except ValueError as error:
        raise ConfigError(str(error), field="url") from error
    except (redis.RedisError, redis.exceptions.RedisClusterException) as error:
        raise StoreUnavailable(f"Redis Cluster at {url}: {error}") from error


async def _arun(client: Any, script: Any, keys: list[str], args: tuple[str, ...] = ()) -> Any:
    """`RedisStore._run` on an asyncio client."""
    try:
        return await client.evalsha(script.sha, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:
        return await client.eval(script.script, len(keys), *keys, *args)


def _stored(data: bytes | None, version: bytes | None) -> _Entry:
    """A local copy of what Redis holds under a profile key (`d` and `v`)."""
    return _Entry(None if data is None else decode(data), _text(version))


def _text(version: bytes | None) -> str:
    return "" if version is None else version.decode()


def _thread(target: Callable[[], None], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


_forked: weakref.WeakSet[RedisStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_forked):
        store._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
