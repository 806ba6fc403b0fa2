"""`SegmentForwarder`: Segment's HTTP Tracking API batch call, for Segment itself, RudderStack,
Jitsu or our own collector (`personalize collect`).

``POST {host}/v1/batch`` with the write key as the Basic auth user name and in the body's
``writeKey``, at most 32 KB per event and 500 KB per batch, as the spec says.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .._exceptions import ConfigError
from ..segment_message import iso_timestamp
from ._base import BaseForwarder, expect
from ._http_post import Poster, post_batch, tls_context

DEFAULT_HOST = "https://api.segment.io"


class SegmentForwarder(BaseForwarder):
    type = "segment"
    options = frozenset({"write_key", "host", "gzip", "timeout"})
    required = frozenset({"write_key"})
    max_event_bytes = 32 * 1024
    max_batch_bytes = 500 * 1000 - 1024  # room for the envelope around the events

    def __init__(
        self,
        write_key: str,
        *,
        host: str = DEFAULT_HOST,
        gzip: bool = False,
        timeout: float = 10.0,
        **common: Any,
    ) -> None:
        self.check_options({"write_key": write_key, "host": host, "gzip": gzip, "timeout": timeout})
        super().__init__(**common)
        self.write_key = write_key
        self.url = host.rstrip("/") + "/v1/batch"
        self.gzip = gzip
        self.timeout = timeout
        token = base64.b64encode(f"{write_key}:".encode()).decode()
        self.headers = {"Content-Type": "application/json", "Authorization": f"Basic {token}"}
        self._envelope_tail = b',"writeKey":' + json.dumps(write_key).encode()
        self._tls = tls_context(self.url)  # here, not in the delivery thread: see _http_post
        self._client: Poster | None = None

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        super().check_options(options)
        key = options.get("write_key")
        if not isinstance(key, str) or not key or len(key) > 256:
            raise ConfigError("expected the source's write key", field="write_key")
        host = options.get("host", DEFAULT_HOST)
        if not isinstance(host, str) or not host.startswith(("http://", "https://")):
            raise ConfigError(f"expected an http(s):// URL, got {host!r}", field="host")
        expect(options, "gzip", bool, "true or false")
        expect(options, "timeout", (int, float), "seconds")

    def body(self, items: Sequence[bytes]) -> bytes:
        sent_at = iso_timestamp(time.time()).encode()
        return (
            b'{"batch":['
            + b",".join(items)
            + b'],"sentAt":"'
            + sent_at
            + b'"'
            + self._envelope_tail
            + b"}"
        )

    async def send(self, items: Sequence[bytes]) -> None:
        if self._client is None:
            self._client = Poster(self.url, self.timeout, self._tls)
        await post_batch(self._client, self.body(items), self.headers, compress=self.gzip)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
