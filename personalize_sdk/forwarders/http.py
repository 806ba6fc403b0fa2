"""`HttpForwarder`: batches to any URL, as JSON or msgpack, gzip optional, custom headers.

The body is ``{"batch": [message, ...], "sentAt": "..."}`` in either encoding, each message
as `segment_message` spells it; msgpack goes out as ``application/msgpack``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from .._exceptions import ConfigError
from ..segment_message import iso_timestamp
from ._base import expect
from ._formatted import FormattedForwarder
from ._http_post import Poster, post_batch, tls_context


class HttpForwarder(FormattedForwarder):
    type = "http"
    options = frozenset({"url", "format", "gzip", "headers", "timeout"})
    required = frozenset({"url"})

    def __init__(
        self,
        url: str,
        *,
        format: str = "json",
        gzip: bool = False,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        **common: Any,
    ) -> None:
        self.check_options({"url": url, "format": format, "gzip": gzip, "timeout": timeout})
        super().__init__(format=format, **common)
        self.url = url
        self.gzip = gzip
        self.headers = {
            "Content-Type": "application/msgpack" if format == "msgpack" else "application/json",
            **(headers or {}),
        }
        self.timeout = timeout
        self._tls = tls_context(self.url)  # here, not in the delivery thread: see _http_post
        self._client: Poster | None = None

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        super().check_options(options)
        url = options.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"expected an http(s):// URL, got {url!r}", field="url")
        expect(options, "gzip", bool, "true or false")
        expect(options, "timeout", (int, float), "seconds")
        headers = options.get("headers", {})
        if not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise ConfigError("expected a table of header names to text values", field="headers")

    def body(self, items: Sequence[bytes]) -> bytes:
        """One request body from encoded items, without decoding them again."""
        sent_at = iso_timestamp(time.time())
        if self.format == "msgpack":
            packer = self._packer
            return b"".join(
                (
                    packer.pack_map_header(2),
                    packer.pack("batch"),
                    packer.pack_array_header(len(items)),
                    *items,
                    packer.pack("sentAt"),
                    packer.pack(sent_at),
                )
            )
        return b'{"batch":[' + b",".join(items) + b'],"sentAt":"' + sent_at.encode() + b'"}'

    async def send(self, items: Sequence[bytes]) -> None:
        if self._client is None:
            self._client = Poster(self.url, self.timeout, self._tls)
        await post_batch(self._client, self.body(items), self.headers, compress=self.gzip)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
