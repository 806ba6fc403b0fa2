"""`Collector`: an ASGI app (Starlette) speaking Segment's HTTP Tracking API, so mobile apps,
other services and existing Segment libraries feed the same profiles as `track()`.

    POST /v1/track /v1/identify /v1/page /v1/screen /v1/group /v1/alias
    POST /v1/batch /v1/import (the same as batch)

Mount it (``app.mount("/segment", Collector(pz))``) or run it alone with ``personalize
collect``. Answers: 200 ``{"success": true}`` (the only answer Segment's clients count as a
success), 400 naming the problem, 401 for a write key not configured, 413 past a limit, 503
with Retry-After when overloaded or the store is down. Never a 500: bad input is the sender's
problem, and a fault of ours is a 503 that the sender retries.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import Response
    from starlette.routing import Route
except ImportError as error:  # pragma: no cover - the extra is missing
    raise ImportError(
        "the collector needs Starlette: pip install 'personalize-sdk[collector]'"
    ) from error

from .._exceptions import StoreUnavailable
from ..collector_config import CollectorSettings
from ..events import Event
from ..memory_store import MemoryStore
from .body import BadRequest, decode, inflate
from .dedup import Dedup, dedup_for
from .messages import KINDS, Alias, Identify, Inbound, parse_message, sent_at_skew
from .trust import from_client

logger = logging.getLogger("personalize_sdk.collector")

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_EVENTS = 2500
BATCH_ROUTES = frozenset({"batch", "import"})
_OK = b'{"success":true}'


class Unavailable(Exception):
    """Some events could not be stored (the Personalizer counted why): 503, the sender
    retries."""


class Collector:
    """An ASGI app that takes Segment's HTTP Tracking API into `personalizer`'s profiles.

    `settings` defaults to the Personalizer's `[collector]` config table, `dedup` to the
    de-duplicator that lives where the store keeps the profiles (`dedup.dedup_for`).
    """

    def __init__(
        self,
        personalizer: Any,
        settings: CollectorSettings | None = None,
        *,
        dedup: Dedup | None = None,
    ) -> None:
        self.pz = personalizer
        self.settings = settings if settings is not None else personalizer.config.collector
        self.dedup = (
            dedup
            if dedup is not None
            else dedup_for(personalizer.store, self.settings.dedup_window)
        )
        self.counts: Counter[str] = Counter()
        """Since start: `accepted`, `duplicates`, `skipped` (their integrations turn us off),
        `untrusted` (what a client key may not ask, see `trust`: not applied),
        `rejected.<reason>` (auth, too_large, encoding, malformed, invalid), and the requests
        answered 503: `overloaded`, `unavailable` (the store), `errors` (a fault of ours,
        logged); `disconnected` (the sender went away mid-body)."""
        self._counting = threading.Lock()
        self._in_flight = 0
        # The embedded store does no I/O: apply in the event loop; other stores in a thread.
        self._inline = isinstance(personalizer.store, MemoryStore)
        self.app = Starlette(routes=[Route("/v1/{kind}", self._endpoint, methods=["POST"])])

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    async def _endpoint(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in KINDS and kind not in BATCH_ROUTES:
            return _error(404, f"no such call: /v1/{kind}")
        if self._in_flight >= self.settings.max_concurrent_requests:
            self.counts["overloaded"] += 1
            return _error(503, "overloaded, retry later", retry_after="1")
        self._in_flight += 1
        try:
            items = await self._read(request, kind)
            if self._inline:
                self._apply(items)
            else:
                await run_in_threadpool(self._apply, items)
        except BadRequest as bad:
            self.counts[f"rejected.{bad.reason}"] += 1
            return _error(bad.status, bad.message)
        except (Unavailable, StoreUnavailable) as error:
            self.counts["unavailable"] += 1
            if self.counts["unavailable"] == 1:
                logger.warning("collector: answering 503, the store is unavailable: %s", error)
            return _error(503, f"store unavailable, retry later ({error})", retry_after="2")
        except ClientDisconnect:
            self.counts["disconnected"] += 1
            return _error(400, "the client went away")
        except Exception:
            self.counts["errors"] += 1
            logger.exception("collector: request failed")
            return _error(503, "internal error, retry later", retry_after="2")
        finally:
            self._in_flight -= 1
        return Response(_OK, media_type="application/json")

    async def _read(self, request: Request, kind: str) -> list[Inbound]:
        """The request's messages, checked, and as a client key may send them (see `trust`)."""
        batch = kind in BATCH_ROUTES
        limit = MAX_BATCH_BYTES if batch else MAX_EVENT_BYTES
        headers = request.headers
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BadRequest(413, f"body: over {limit} bytes")
        key = _header_key(headers)
        accepted_keys = self.settings.accepted_keys
        if key is not None and key not in accepted_keys:
            raise BadRequest(401, "unknown write key")
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BadRequest(413, f"body: over {limit} bytes")
            chunks.append(chunk)
        data = b"".join(chunks)
        encoding = headers.get("content-encoding", "").lower()
        if encoding == "gzip":
            data = inflate(data, limit)
        elif encoding not in ("", "identity"):
            raise BadRequest(415, f"content-encoding {encoding!r} is not supported (gzip is)")
        body = decode(data, headers.get("content-type", "application/json"))
        if not isinstance(body, Mapping):
            raise BadRequest(400, f"body: expected an object, got {type(body).__name__}")
        if key is None:
            key = body.get("writeKey")
            if not isinstance(key, str) or key not in accepted_keys:
                raise BadRequest(401, "missing or unknown write key")
        received_at = self.pz.clock()
        limits = self.pz.limits
        skew = sent_at_skew(body.get("sentAt"), received_at)
        if not batch:
            items = [parse_message(body, kind, kind, received_at, skew, None, limits)]
        else:
            entries = body.get("batch")
            if type(entries) is not list:
                raise BadRequest(400, "batch: expected a list of messages", reason="invalid")
            if len(entries) > MAX_BATCH_EVENTS:
                raise BadRequest(413, f"batch: over {MAX_BATCH_EVENTS} messages")
            shared = _shared(body)
            items = [
                parse_message(entry, None, f"batch[{n}]", received_at, skew, shared, limits)
                for n, entry in enumerate(entries)
            ]
        return items if key in self.settings.server_keys else self._from_client(items)

    def _from_client(self, items: list[Inbound]) -> list[Inbound]:
        """What a client key may do of `items` (see `trust`); the rest counted, and logged
        the first time."""
        tokens, now = self.pz.user_tokens, self.pz.clock()

        def vouches(token: object, user_id: str) -> bool:
            return tokens.vouches(token, user_id, now)

        kept: list[Inbound] = []
        untrusted = 0
        for item in items:
            allowed, refused = from_client(item, vouches)
            untrusted += refused
            if allowed is not None or item is None:
                kept.append(allowed)
        if untrusted:
            with self._counting:
                self.counts["untrusted"] += untrusted
                first = self.counts["untrusted"] == untrusted
            if first:
                logger.warning(
                    "collector: not applied (counted as 'untrusted'), what a client write key "
                    "may not send: an identify or alias for a userId without a valid "
                    "context.personalize.userToken (send the one pz.user_token(user_id) gives), "
                    "an order or a widget event (send orders from a server key), or an event "
                    "with a userId and no anonymousId. See docs/collector.md."
                )
        return kept

    def _apply(self, items: Sequence[Inbound]) -> None:
        ids = [_message_id(item) for item in items]
        claimed = [i for i in ids if i is not None]
        first = iter(self.dedup.claim(claimed) if claimed else ())
        failed: list[str] = []
        pz = self.pz
        accepted = duplicates = skipped = 0
        for item, message_id in zip(items, ids, strict=True):
            if message_id is not None and not next(first):
                duplicates += 1
                continue
            if item is None:
                skipped += 1
                continue
            kind = type(item)
            if kind is Event:
                done = pz.record(item) is not None
            elif kind is Alias:
                done = pz.alias(item.previous_id, item.user_id) is not None
            else:
                done = _identify(pz, item)
            if not done:
                if message_id is not None:
                    failed.append(message_id)
            else:
                accepted += 1
        with self._counting:  # `_apply` runs in a thread pool for stores that do I/O
            counts = self.counts
            counts["accepted"] += accepted
            if duplicates:
                counts["duplicates"] += duplicates
            if skipped:
                counts["skipped"] += skipped
        if failed:
            self.dedup.release(failed)  # not folded: a retry must be
            raise Unavailable(f"{len(failed)} of {len(items)} events could not be stored")

    def stats(self) -> dict[str, int]:
        """A copy of `counts`."""
        with self._counting:
            return dict(self.counts)


def _identify(pz: Any, item: Identify) -> bool:
    """Apply one identify; False only when the store failed. A profile with no room left for
    more traits keeps the rest and is linked all the same (the Personalizer counts it): a
    retry would not change that, so it is not answered 503."""
    before = _store_faults(pz)
    if pz.identify(item.visitor_id, user_id=item.user_id, traits=item.traits) is not None:
        return True
    return _store_faults(pz) == before


def _store_faults(pz: Any) -> int:
    return sum(v for k, v in pz.stats().items() if k.startswith("errors.identify."))


def _message_id(item: Inbound) -> str | None:
    """The sender's messageId to de-duplicate by (None: the sender gave none)."""
    if item is None:
        return None
    if type(item) is Event:
        return item.message_id if item.caller_message_id else None
    return item.message_id


def _shared(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The batch's top-level `context` and `integrations`, merged into each message."""
    shared = {}
    for field in ("context", "integrations"):
        value = body.get(field)
        if value is not None:
            if not isinstance(value, Mapping):
                raise BadRequest(400, f"{field}: expected an object", reason="invalid")
            if value:
                shared[field] = value
    return shared or None


def _header_key(headers: Mapping[str, str]) -> str | None:
    """The write key from Basic auth (the user name) or X-Write-Key, if either is there."""
    auth = headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "basic":
            raise BadRequest(401, "expected Basic auth with the write key as the user name")
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode()
        except ValueError:  # binascii.Error, non-ASCII text (a plain ValueError), not UTF-8
            raise BadRequest(401, "Basic auth: not valid base64") from None
        return decoded.partition(":")[0]
    return headers.get("x-write-key")


def _error(status: int, message: str, *, retry_after: str | None = None) -> Response:
    headers = {"Retry-After": retry_after} if retry_after else None
    body = json.dumps({"success": False, "error": message}).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)
