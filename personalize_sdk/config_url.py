"""`UrlConfigSource`: poll a config URL with httpx, in the background.

    pz = Personalizer("personalize.toml", config_url="https://config.example/personalize.toml")

Every `interval` seconds (the first time at once) it asks for the config with the ETag of the
last answer in ``If-None-Match``: ``304 Not Modified`` keeps the current config at the cost of a
few bytes. A ``200`` is parsed as JSON when its content type (or else the URL's suffix) says so,
as TOML otherwise, and applied. Anything else (a network error or timeout, another status, a
body over `max_bytes`, invalid config) keeps the current config; faults are logged once per kind,
counted and retried with a backoff that doubles up to `max_backoff` seconds. A rejected config
is not fetched again until the server's copy changes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from .config_source import ConfigSource

DEFAULT_INTERVAL = 10.0


class UrlConfigSource(ConfigSource):
    kind = "url"

    def __init__(
        self,
        url: str,
        *,
        interval: float = DEFAULT_INTERVAL,
        timeout: float = 5.0,
        max_backoff: float = 300.0,
        headers: Mapping[str, str] | None = None,
        max_bytes: int = 10_000_000,
    ) -> None:
        super().__init__()
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.max_backoff = max(max_backoff, interval)
        self.headers = dict(headers or {})
        """Sent with every request (an ``Authorization`` header, for example)."""
        self.max_bytes = max_bytes
        self.etag: str | None = None
        self._failures = 0

    def _run(self) -> None:
        # The client is made in the thread that uses it: a forked child makes its own.
        with httpx.Client(timeout=self.timeout, headers=self.headers) as client:
            while not self._stopping():
                try:
                    wait = self.poll(client)
                except Exception as error:  # noqa: BLE001 - whatever a server sends: one fault
                    wait = self._failed("internal", f"{self.url}: {type(error).__name__}: {error}")
                if self._wait(wait):
                    return

    def poll(self, client: httpx.Client) -> float:
        """Ask once; the seconds to wait before asking again. The whole request, body
        included, must be done within `timeout` (httpx's own applies to each read: a server
        dripping a byte at a time would hold this thread for ever)."""
        headers = {} if self.etag is None else {"If-None-Match": self.etag}
        deadline = time.monotonic() + self.timeout
        try:
            with client.stream("GET", self.url, headers=headers) as response:
                if response.status_code == 304:  # Not Modified
                    self._count("not_modified")
                    return self._worked()
                status = response.status_code
                if status != 200:
                    return self._failed(f"http_{status}", f"{self.url} answered {status}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        return self._failed(
                            "too_large", f"{self.url} sent more than {self.max_bytes} bytes"
                        )
                    if time.monotonic() > deadline:
                        return self._failed(
                            "network", f"{self.url}: the body took over {self.timeout:g} s"
                        )
                etag = response.headers.get("etag")
                if etag is not None and not etag.isascii():
                    etag = None  # it could not be sent back (headers are ASCII): ask in full
                format = _format_of(response.headers.get("content-type", ""), self.url)
        except httpx.HTTPError as error:
            return self._failed("network", f"{self.url}: {type(error).__name__}: {error}")
        if self._stopping():
            return self.interval  # closed while the body came: nothing is applied any more
        self._count("fetched")
        self._offer(bytes(body), format=format, source=self.url)
        self.etag = etag  # a rejected config too: asked for again only once it changes
        return self._worked()

    def _worked(self) -> float:
        self._failures = 0
        self._recovered(self.url)
        return self.interval

    def _failed(self, kind: str, message: str) -> float:
        self._fault(kind, message)
        self._failures += 1
        return min(self.interval * 2 ** min(self._failures - 1, 30), self.max_backoff)


def _format_of(content_type: str, url: str) -> str:
    """JSON when the content type or, failing that, the URL's suffix says so; else TOML."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return "json"
    if "toml" in media:
        return "toml"
    return "json" if urlsplit(url).path.lower().endswith(".json") else "toml"
