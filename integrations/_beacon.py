"""The beacon endpoint, framework-neutral and hardened: `answer_beacon` takes what the adapter
read from the request and says what to answer.

Only same-origin requests (the Origin header, else the Referer, must name this host), only
bodies up to `beacon_max_bytes`, only the caller's own visitor (from the signed cookie), at
most `beacons_per_minute` per visitor. Every refusal is a 4xx with a message and records
nothing; entries the SDK refuses one by one (an unknown campaign, a variant the shopper is not
in) are listed in a 400 while the valid ones are recorded. Never a 500: a fault is a 503.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import attrs
from cachetools import TTLCache

from personalize_sdk import Personalizer

from ._settings import IntegrationSettings


@attrs.frozen
class BeaconAnswer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"


class RateLimiter:
    """At most `per_minute` hits per key in any rolling minute (a token bucket), for up to
    `maxsize` keys at once (the least recently seen forgotten first). Thread-safe."""

    def __init__(
        self,
        per_minute: int,
        maxsize: int = 100_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self._timer = timer
        self._buckets: TTLCache[str, list[float]] = TTLCache(maxsize, ttl=60.0, timer=timer)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self._timer()
        rate = self.per_minute / 60.0
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = [float(self.per_minute), now]
            tokens = min(float(self.per_minute), bucket[0] + (now - bucket[1]) * rate)
            allowed = tokens >= 1.0
            self._buckets[key] = [tokens - 1.0 if allowed else tokens, now]
            return allowed


def same_origin(origin: str | None, referer: str | None, host: str | None) -> bool:
    """Does the request come from a page of this host (Origin, else Referer)?"""
    if not host:
        return False
    source = origin if origin and origin != "null" else referer
    if not source:
        return False
    try:
        netloc = urlsplit(source).netloc
    except ValueError:
        return False
    return netloc.lower() == host.lower()


def answer_beacon(
    pz: Personalizer,
    settings: IntegrationSettings,
    limiter: RateLimiter,
    *,
    method: str,
    visitor_id: str | None,
    origin: str | None,
    referer: str | None,
    host: str | None,
    body: bytes,
    user_id: str | None = None,
) -> BeaconAnswer:
    """What to answer a beacon request; records the accepted interactions."""
    try:
        if method != "POST":
            return _refuse(405, "the beacon takes POST")
        if not same_origin(origin, referer, host):
            return _refuse(403, "the beacon takes requests from this site's own pages only")
        if visitor_id is None:
            return _refuse(403, "no visitor cookie: the beacon reports for the visitor only")
        if len(body) > settings.beacon_max_bytes:
            return _refuse(413, f"a beacon is at most {settings.beacon_max_bytes} bytes")
        if not limiter.allow(visitor_id):
            return _refuse(429, "too many beacons from this visitor; try again in a minute")
        result = pz.beacon(visitor_id, body, user_id=user_id)
    except Exception:  # noqa: BLE001 - a beacon never breaks the site
        return _refuse(503, "the beacon could not be recorded")
    if result.ok:
        return BeaconAnswer(204)
    payload = {"accepted": result.accepted, "rejected": list(result.rejected)}
    return BeaconAnswer(400, json.dumps(payload).encode())


def _refuse(status: int, message: str) -> BeaconAnswer:
    return BeaconAnswer(status, json.dumps({"error": message}).encode())
