"""Helpers of the RedisStore tests: hold the writer at a chosen step, count its replays and the
commands sent, hear its invalidations, store a shopper from another process, run a server of
the test's own (`RedisServer`, the `server` fixture) to kill and restart."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import redis

from personalize_sdk import Personalizer
from personalize_sdk._redis_layout import read_invalidation
from personalize_sdk.redis_store import RedisStore
from tests.helpers import view


def stored_elsewhere(make: Callable[[], RedisStore], visitor: str, views: int) -> None:
    """`views` Product Viewed events of `visitor` in Redis, written by another store."""
    other = Personalizer(store=make(), strict=True)
    for i in range(views):
        other.track(visitor, "Product Viewed", view(f"sku-{i}"))
    assert other.store.flush()


def gated(store: RedisStore, method: str) -> tuple[threading.Event, threading.Event]:
    """Hold the writer in its first call of `method` until the test releases it."""
    entered, release = threading.Event(), threading.Event()
    inner = getattr(store, method)

    def held(*args):
        if not release.is_set():
            entered.set()
            assert release.wait(10)
        return inner(*args)

    setattr(store, method, held)
    return entered, release


def holding_the_writer(store: RedisStore, pz: Personalizer) -> threading.Event:
    """Track an event the writer takes and then holds before it writes anything: what is
    tracked next waits in the queue. Returns the writer's release. ("x" is noted new: its
    write reads nothing first.)"""
    entered, release = gated(store, "_write")
    store.note_new_visitor("x")
    pz.track("x", "Page Viewed")
    assert entered.wait(10)
    return release


def sent_commands(store: RedisStore) -> list[str]:
    """The commands the store sends outside a pipeline from now on (the request path's)."""
    sent: list[str] = []
    inner = store.redis.execute_command

    def counted(*args, **options):
        sent.append(args[0])
        return inner(*args, **options)

    store.redis.execute_command = counted  # type: ignore[method-assign]
    return sent


def count_replays(store: RedisStore) -> list[str]:
    """The keys whose ops the writer folds again into what it read from Redis (a blind copy
    written as it is, nothing being stored, is not one)."""
    replayed: list[str] = []
    inner = store._replayed

    def spy(keys, by_key, done, blind):
        out = inner(keys, by_key, done, blind)
        replayed.extend(
            k for k in keys if k not in blind or out.get(k, ("", None))[1] is not blind[k]
        )
        return out

    store._replayed = spy
    return replayed


def hearing(store: RedisStore) -> list[str]:
    """The keys of other processes' invalidations the store's listener handles from now on
    (its own notices come back to it too, and are ignored)."""
    heard: list[str] = []
    invalidate = store._invalidate

    def spy(data: bytes) -> None:
        invalidate(data)
        notice = read_invalidation(data)
        if notice is not None and notice[0] != store._id:
            heard.extend(notice[1])

    store._invalidate = spy
    return heard


def wait_to_hear(heard: list[str], key: str) -> None:
    deadline = time.monotonic() + 10
    while key not in heard:
        assert time.monotonic() < deadline, f"no invalidation of {key} arrived"
        time.sleep(0.005)


def listening(store: RedisStore) -> None:
    """Start the store's listener and wait until it is subscribed (confirmed by the server) and
    has dropped the copies it may have missed news of: a copy read after this is kept."""
    store.load("v:nobody")
    deadline = time.monotonic() + 10
    while store.stats().get("subscribed", 0) < 1:
        assert time.monotonic() < deadline, "the listener never subscribed"
        time.sleep(0.01)


class RedisServer:
    """A redis-server on a free port (and a unix socket), with an append-only file so that a
    restart keeps what was written before it was killed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory),
             "--unixsocket", str(self.socket), "--unixsocketperm", "700"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()
