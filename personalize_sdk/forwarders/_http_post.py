"""POST one batch with httpx and turn the answer into success or a `DeliveryFailed`.

Network errors, 408, 429 and 5xx are worth retrying (honouring `Retry-After`); 400, 413 and
422 say something in the batch is wrong, so the pipeline splits it to find the poison event;
any other status drops the batch.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib
import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import httpx

from ._base import DeliveryFailed

_LAZY_IMPORTS = ("httpcore", "httpcore._backends.anyio", "anyio._backends._asyncio", "sniffio")
"""What httpx, httpcore and anyio import on their first request, imported here instead.

The delivery thread must import nothing: a process that forks while another thread is in the
middle of an import (gunicorn --preload forks its workers right after the app module tracked
its first event) leaves the child a partially initialised module for good ("partially
initialized module 'httpcore' has no attribute 'AsyncConnectionPool'"). Importing them with
this module, in the thread that builds the forwarders, closes that window. A name missing in
some version of these libraries is skipped; tests/delivery/test_fork.py checks that the
delivery thread imports nothing."""

for _name in _LAZY_IMPORTS:
    with contextlib.suppress(ImportError):
        importlib.import_module(_name)

RETRYABLE_STATUS = frozenset({408, 429})
SPLITTABLE_STATUS = frozenset({400, 413, 422})
USER_AGENT = "personalize-sdk/0.1.0"


async def post_batch(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    compress: bool,
) -> None:
    if compress:
        body = gzip.compress(body, compresslevel=5)
        headers = {**headers, "Content-Encoding": "gzip"}
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException as error:
        raise DeliveryFailed(f"timed out: {error!r}", retryable=True) from None
    except httpx.TransportError as error:
        raise DeliveryFailed(f"network error: {error!r}", retryable=True) from None
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"{url} answered {status}: {response.text[:200]!r}"
    if status in RETRYABLE_STATUS or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise DeliveryFailed(detail, retryable=True, retry_after=retry_after)
    raise DeliveryFailed(
        detail, retryable=False, splittable=status in SPLITTABLE_STATUS, reason=f"http_{status}"
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def new_client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
        headers={"User-Agent": USER_AGENT},
    )
