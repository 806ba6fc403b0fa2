"""Helpers of the RedisStore tests: hold the writer at a chosen step, count its replays."""

from __future__ import annotations

import threading

from personalize_sdk.redis_store import RedisStore


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


def count_replays(store: RedisStore) -> list[str]:
    replayed: list[str] = []
    inner = store._replayed

    def spy(keys, *rest):
        replayed.extend(keys)
        return inner(keys, *rest)

    store._replayed = spy
    return replayed
