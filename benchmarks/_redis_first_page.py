"""Part 4 of the `redis` benchmark: a new visitor's first page with `RedisStore`.

The example Starlette shop's product page (`TWO_SLOTS`: a hello bar and the recently viewed
strip), called in process as an ASGI app (no server, no socket: what is timed is the SDK's work
and its round trips to Redis), for three kinds of request, interleaved batch by batch:

- *new visitor*: no cookie, as a first visit arrives; the middleware mints the id and tells the
  store (`RedisStore.note_new_visitor`), so nothing is read from Redis;
- *new, store not told*: the same with `note_new_visitor` hidden from the middleware, as it was
  before the store could be told: the first event reads the link and the profile;
- *returning, cached*: a visitor with a cookie whose profile this process holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from personalize_sdk import Personalizer
from personalize_sdk.examples.shop import CATALOG, load_products
from personalize_sdk.examples.starlette_shop import create_app
from personalize_sdk.redis_store import RedisStore

from ._http_apps import SECRET, TWO_SLOTS
from .stats import median, percentile

KINDS = ("new visitor", "new, store not told", "returning, cached")
BATCH = 100


def run(url: str, prefix: str, quick: bool) -> None:
    rounds = 1 if quick else 3
    batches = 2 if quick else 10
    print(
        f"\n  4. a new visitor's first page: the example Starlette product page with two "
        f"campaigns, in process (ASGI, no server), {rounds} round(s) of {batches} batches of "
        f"{BATCH} per kind, interleaved"
    )
    products = list(load_products())
    told = RedisStore(url, prefix=f"{prefix}f:")
    untold = RedisStore(url, prefix=f"{prefix}f:")
    untold.note_new_visitor = None  # type: ignore[assignment,method-assign]  # as before
    apps = {
        "new visitor": _app(told),
        "new, store not told": _app(untold),
        "returning, cached": _app(told),
    }
    returning = asyncio.run(_cookies(apps["returning, cached"], products))
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for round_ in range(rounds * batches):
        for kind in KINDS[round_ % 3 :] + KINDS[: round_ % 3]:
            cookie = (lambda n: returning[n % len(returning)]) if kind == KINDS[2] else None
            times[kind] += asyncio.run(_timed(apps[kind], products, cookie, warm=round_ == 0))
    print(f"  {'us per page':<24}{'median':>8}{'p90':>8}{'p99':>8}")
    for kind in KINDS:
        values = times[kind]
        print(
            f"  {kind:<24}{median(values):>8.0f}{percentile(values, 90):>8.0f}"
            f"{percentile(values, 99):>8.0f}"
        )
    saved = median(times[KINDS[1]]) - median(times[KINDS[0]])
    print(f"  a new visitor's first page: {saved:.0f} us less at the median when the store is told")
    for store in (told, untold):
        store.flush(10)
        store.close(timeout=2)


def _app(store: RedisStore) -> Any:
    return create_app(personalizer=Personalizer(TWO_SLOTS, catalog=CATALOG, store=store,
                                                secret=SECRET))  # fmt: skip


async def _get(app: Any, path: str, cookie: str | None) -> list[dict[str, Any]]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"accept", b"text/html")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def _cookies(app: Any, products: list[str]) -> list[str]:
    """200 returning visitors: their cookies, from a first page each (their profiles cached)."""
    cookies = []
    for n in range(200):
        sent = await _get(app, f"/p/{products[n % len(products)]}", None)
        header = next(v for k, v in sent[0]["headers"] if k == b"set-cookie").decode()
        cookies.append(header.split(";")[0])
    return cookies


async def _timed(
    app: Any, products: list[str], cookie: Callable[[int], str] | None, *, warm: bool
) -> list[float]:
    """One batch: microseconds per page (the first batch of each kind untimed: warm-up)."""
    times = []
    for n in range(BATCH):
        path = f"/p/{products[n % len(products)]}"
        started = time.perf_counter()
        sent = await _get(app, path, None if cookie is None else cookie(n))
        elapsed = time.perf_counter() - started
        if sent[0]["status"] != 200:
            raise RuntimeError(f"{path} answered {sent[0]['status']}")
        times.append(elapsed * 1e6)
    return [] if warm else times
