"""The SDK's own routes under the Starlette middleware, answered in plain ASGI without calling
the app: the beacon (``{prefix}/beacon``) and the script and stylesheet
(``{prefix}/static/personalize.js|css``). What to answer comes from the framework-neutral
`answer_beacon` and `static_file`; this module only reads the request and writes the answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope, Send

from personalize_sdk import Personalizer

from ._asgi_headers import request_headers
from ._beacon import BeaconAnswer, RateLimiter, answer_beacon
from ._settings import IntegrationSettings
from ._static import static_file
from ._visitor import visitor_from_header

_NO_STORE = (b"cache-control", b"no-store")
_NOSNIFF = (b"x-content-type-options", b"nosniff")


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, but never more than `limit` bytes of it: reading stops as soon as the
    body grows past `limit` (what was read so far, cut to `limit`, is returned, so a caller
    passing its maximum + 1 sees that it was too large). None when the client went away."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit or not message.get("more_body", False):
            return b"".join(chunks)[:limit]


async def send_answer(
    send: Send,
    status: int,
    body: bytes = b"",
    headers: Iterable[tuple[bytes, bytes]] = (),
    *,
    head: bool = False,
) -> None:
    """One complete response; a HEAD request (`head`) gets the headers without the body."""
    raw = [*headers]
    if status not in (204, 304):
        raw.append((b"content-length", str(len(body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    empty = head or status in (204, 304)
    await send({"type": "http.response.body", "body": b"" if empty else body})


async def send_beacon_answer(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [_NO_STORE, _NOSNIFF]
    if body:
        headers.append((b"content-type", content_type.encode("latin-1")))
    if status == 405:
        headers.append((b"allow", b"POST"))
    await send_answer(send, status, body, headers)


async def send_static(scope: Scope, send: Send, name: str) -> None:
    """The packaged file `name` with its ETag (304 to a matching If-None-Match), or a 404."""
    method = scope["method"]
    found = static_file(name)
    if found is None:
        await send_answer(send, 404, b"Not Found", [(b"content-type", b"text/plain")])
        return
    if method not in ("GET", "HEAD"):
        allow = [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain")]
        await send_answer(send, 405, b"Method Not Allowed", allow)
        return
    validators = [
        (b"etag", found.etag.encode("latin-1")),
        (b"cache-control", found.cache_control.encode("latin-1")),
    ]
    if etag_matches(Headers(scope=scope).get("if-none-match"), found.etag):
        await send_answer(send, 304, headers=validators)
        return
    headers = [(b"content-type", found.content_type.encode("latin-1")), _NOSNIFF, *validators]
    await send_answer(send, 200, found.body, headers, head=method == "HEAD")


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: any listed tag (``W/`` or not) or ``*`` matches."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match[:1024].split(",")}
    return "*" in tags or etag in tags


class BeaconRoute:
    """``POST {prefix}/beacon``: the body read up to ``beacon_max_bytes`` (+1 to tell "too
    large" apart; never more), the visitor from the signed cookie, the answer from
    `answer_beacon`. With a store that may block, the recording runs in a worker thread."""

    def __init__(
        self,
        pz: Personalizer,
        settings: IntegrationSettings,
        *,
        in_thread: bool,
        report: Callable[[str], None],
    ) -> None:
        self.pz = pz
        self.settings = settings
        self.limiter = RateLimiter(settings.beacons_per_minute)
        self._in_thread = in_thread
        self._report = report

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        limit = self.settings.beacon_max_bytes + 1
        body = await read_body(receive, limit) if method == "POST" else b""
        if body is None:  # the browser went away (a page being closed): nobody to answer
            return
        try:
            answer = await self._answer(scope, method, body)
        except Exception:  # noqa: BLE001 - answer_beacon never raises; this guards the reading
            self._report("answering a beacon")
            answer = BeaconAnswer(503, b'{"error": "the beacon could not be recorded"}')
        await send_beacon_answer(send, answer.status, answer.body, answer.content_type)

    async def _answer(self, scope: Scope, method: str, body: bytes) -> BeaconAnswer:
        connection = HTTPConnection(scope)
        headers = connection.headers
        # The Cookie headers as the middleware reads them for pages (`connection.cookies` keeps
        # the last of several values of one cookie; the page was decided for the first that
        # verifies).
        cookie = request_headers(scope["headers"]).cookie
        visitor = visitor_from_header(cookie, self.settings.cookie_name, self.pz.signer)
        request = {
            "method": method,
            "visitor_id": None if visitor.is_new else visitor.id,
            "origin": headers.get("origin"),
            "referer": headers.get("referer"),
            "host": headers.get("host"),
            "body": body,
            "user_id": user_id(scope),
        }

        def answer() -> BeaconAnswer:
            return answer_beacon(self.pz, self.settings, self.limiter, **request)  # type: ignore[arg-type]

        return await run_in_threadpool(answer) if self._in_thread else answer()


def route_path(scope: Scope) -> str:
    """The path inside the app: without ``root_path`` when the server included it."""
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


def user_id(scope: Scope) -> str | None:
    """The logged-in user by Starlette's ``AuthenticationMiddleware`` (placed before ours):
    ``request.user.identity`` when authenticated, else None."""
    user = scope.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        identity = user.identity
    except Exception:  # noqa: BLE001 - a BaseUser without one raises NotImplementedError
        return None
    return str(identity)[:256] if identity not in (None, "") else None
