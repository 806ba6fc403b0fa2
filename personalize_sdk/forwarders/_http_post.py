"""POST one batch with httpx and turn the answer into success or a `DeliveryFailed`.

Network errors, 408, 429 and 5xx are worth retrying (honouring `Retry-After`); 400, 413 and
422 say something in the batch is wrong, so the pipeline splits it to find the poison event;
any other status drops the batch.

A `Poster` sends through httpx's transport directly: a forwarder posts to one URL and needs
none of what an ``AsyncClient`` adds on every request (cookies, auth flows, redirects, event
hooks), which is a quarter of a request's CPU (1,272 vs 1,663 us per 140 KB request on this
machine, medians of 6 interleaved runs). What the client would take from the environment is
kept: the proxy for the URL (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``, ``NO_PROXY``, as
the standard library reads them) and ``SSL_CERT_FILE``/``SSL_CERT_DIR``.

The TLS context (`tls_context`) is made where the forwarder is built, once, and every `Poster`
of the process and of its forked children uses it. So no delivery thread is inside OpenSSL
making one when gunicorn ``--preload`` forks: a lock OpenSSL held then would stay held in the
child for good. (tests/delivery/test_fork.py once saw a worker whose delivery thread never sent
anything, in 8 runs; that this was the cause is likely, not proven.) Nor does every forked
child load the CA bundle again (30-50 ms of CPU). A plain ``http://`` destination loads no
certificates.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib
import math
import ssl
import time
import urllib.request
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


def tls_context(url: str) -> ssl.SSLContext:
    """What `Poster` checks the destination's certificate with (certifi's bundle, or the
    environment's ``SSL_CERT_FILE``/``SSL_CERT_DIR``); for plain http, an empty one (a proxy
    could still be https)."""
    return httpx.create_ssl_context(verify=url.startswith("https://"))


class Poster:
    """Connections to one URL (a pool of at most 4, 2 kept alive), and how to POST to it."""

    def __init__(self, url: str, timeout: float, tls: ssl.SSLContext) -> None:
        self.url = httpx.URL(url)
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        self._transport = httpx.AsyncHTTPTransport(
            verify=tls,
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
            proxy=environment_proxy(self.url),
        )

    async def post(self, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        """The answer, read whole (so the connection can be used again)."""
        request = httpx.Request(
            "POST",
            self.url,
            content=body,
            headers={"User-Agent": USER_AGENT, **headers},
            extensions=self._extensions,
        )
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


def environment_proxy(url: httpx.URL) -> str | None:
    """The proxy the environment names for `url`, as ``AsyncClient(trust_env=True)`` uses one
    (read by the standard library: ``<scheme>_PROXY``, ``ALL_PROXY``, ``NO_PROXY``)."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    host = f"{url.host}:{url.port}" if url.port else url.host  # NO_PROXY may name a port
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


async def post_batch(
    poster: Poster, body: bytes, headers: Mapping[str, str], *, compress: bool
) -> None:
    if compress:
        body = gzip.compress(body, compresslevel=5)
        headers = {**headers, "Content-Encoding": "gzip"}
    try:
        response = await poster.post(body, headers)
    except httpx.TimeoutException as error:
        raise DeliveryFailed(f"timed out: {error!r}", retryable=True) from None
    except httpx.TransportError as error:
        raise DeliveryFailed(f"network error: {error!r}", retryable=True) from None
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"{poster.url} answered {status}: {response.text[:200]!r}"
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
