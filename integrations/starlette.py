"""Starlette integration (FastAPI works through it): a pure ASGI middleware and Jinja2 globals.

    app = Starlette(routes=..., middleware=[Middleware(PersonalizeMiddleware,
                                                       config="personalize.toml", secret=...)])
    install_templates(templates)

For each HTTP request the middleware

- answers its own routes without calling the app: the beacon (``{prefix}/beacon``, POST, body
  read up to ``beacon_max_bytes``) and the script and stylesheet (``{prefix}/static/...``, with
  an ETag);
- otherwise reads the visitor from the signed cookie (a missing or tampered one is a new
  visitor) and puts a `RequestPersonalize` in ``request.state.personalize``, bound to the
  visitor, the `Page` of the URL (a view may replace ``.page`` with a richer one) and, behind
  Starlette's ``AuthenticationMiddleware``, the user's ``identity``;
- sets the cookie on the response for a new visitor, and renews it on every HTML page (after a
  logout view called ``request.state.personalize.start_new_visitor()``, a new visitor's);
- after a GET answered 200 with ``text/html``, tracks ``Page Viewed``.

Tracking and the beacon do not block the event loop: with the embedded (memory) store
`Personalizer.track` folds the event into the profile in memory and returns in microseconds;
any other store is called from a worker thread. Websocket and lifespan scopes pass through
untouched. A fault of the SDK never breaks the app's response (the first of each kind is
logged with its traceback), while the app's own exceptions propagate as they would without it.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised with starlette hidden
    raise ImportError(
        "personalize_sdk.integrations.starlette needs Starlette: "
        'pip install "personalize-sdk[starlette]"'
    ) from error

import logging
import re
import threading
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from personalize_sdk import Page, Personalizer
from personalize_sdk.memory_store import MemoryStore

from ._asgi_headers import (
    RequestHeaders,
    request_headers,
    response_header,
    sets_cookie,
    with_vary_cookie,
)
from ._handle import RequestPersonalize
from ._pages import PageResolver
from ._settings import build
from ._starlette_routes import BeaconRoute, route_path, send_static, user_id
from ._starlette_templates import (
    STATIC_PREFIX_KEY,
    install_templates,
    personalize_assets,
    personalize_slot,
)
from ._visitor import Visitor, request_visitor, set_cookie_header, shared_cacheable

__all__ = [
    "PersonalizeMiddleware",
    "install_templates",
    "personalize_assets",
    "personalize_slot",
]

logger = logging.getLogger("personalize_sdk.starlette")

_HOST = re.compile(r"^(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_MAX_TEXT = 2048
"""Paths, URLs and referrers are cut to this many characters before they are tracked."""


class PersonalizeMiddleware:
    """Pure ASGI middleware. Give it an existing ``personalizer``, or what builds one
    (``config``: a path, mapping or `Config`; ``secret``; ``catalog``; and ``store``, ``clock``,
    ``strict``), plus any `IntegrationSettings` (``prefix``, ``cookie_name``, ``page_types``,
    ``page_type``, ``beacons_per_minute`` ...) as keyword arguments. A bad setting raises
    `ConfigError` when the app is built, never on a request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        personalizer: Personalizer | None = None,
        config: Any = None,
        secret: str | bytes | None = None,
        catalog: Any = None,
        **settings: Any,
    ) -> None:
        given = {"personalizer": personalizer, "config": config, "secret": secret}
        raw = {key: value for key, value in given.items() if value is not None}
        if catalog is not None:
            raw["catalog"] = catalog
        self.app = app
        self.personalizer, self.settings = build({**raw, **settings})
        self.pages = PageResolver(self.settings)
        self._store_may_block = not isinstance(self.personalizer.store, MemoryStore)
        self._faults = _FaultLog()
        self._beacon = BeaconRoute(
            self.personalizer,
            self.settings,
            in_thread=self._store_may_block,
            report=self._faults.report,
        )
        _warn_about_setup(self.personalizer, self.settings.beacon_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        if path == self.settings.beacon_path:
            await self._beacon(scope, receive, send)
            return
        if path.startswith(self.settings.static_prefix):
            await send_static(scope, send, path[len(self.settings.static_prefix) :])
            return
        begun = self._begin(scope, path)
        if begun is None:
            await self.app(scope, receive, send)
            return
        handle, visitor, headers = begun
        page_served = False

        async def send_with_cookie(message: Message) -> None:
            nonlocal page_served
            if message["type"] == "http.response.start":
                try:
                    # A logout in the view (`start_new_visitor`) began a new visitor.
                    current = handle.new_visitor or visitor
                    page_served = self._on_response_start(
                        scope, message, current, handle.response_varies
                    )
                except Exception:  # noqa: BLE001 - the SDK never breaks its host
                    self._faults.report("setting the visitor cookie")
            await send(message)

        await self.app(scope, receive, send_with_cookie)
        if page_served and self.settings.track_page_views:
            await self._track_page_view(scope, path, handle, headers)

    # -- the app's own requests ---------------------------------------------------------------

    def _begin(
        self, scope: Scope, path: str
    ) -> tuple[RequestPersonalize, Visitor, RequestHeaders] | None:
        """The request handle (put in ``scope["state"]``), the visitor and the headers read,
        or None on a fault: the request then reaches the app without personalisation."""
        try:
            headers = request_headers(scope["headers"])
            pz = self.personalizer
            visitor = request_visitor(headers.cookie, self.settings.cookie_name, pz)
            page = self._page(path, headers.user_agent)
            handle = RequestPersonalize(pz, visitor.id, page, user_id=user_id(scope))
            scope.setdefault("state", {})["personalize"] = handle
            scope[STATIC_PREFIX_KEY] = self.settings.static_prefix
            return handle, visitor, headers
        except Exception:  # noqa: BLE001
            self._faults.report("reading the visitor")
            return None

    def _page(self, path: str, user_agent: str | None) -> Page:
        try:
            return self.pages.page(path, user_agent)
        except Exception:  # noqa: BLE001 - a shop's page_type hook must not break the page
            self._faults.report("resolving the page type")
            return Page(type="other", path=path[:_MAX_TEXT])

    def _on_response_start(
        self, scope: Scope, message: Message, visitor: Visitor, varies: bool
    ) -> bool:
        """Add the cookie (a new visitor's, or a renewal on an HTML page) unless the app set
        it itself, and ``Vary: Cookie`` to an HTML page or a response that `varies` (the view
        read the shopper's widgets, segments or profile); True when the response is an HTML
        page (a page view)."""
        raw = message.get("headers", [])
        content_type = response_header(raw, b"content-type") or b""
        is_page = (
            scope["method"] == "GET"
            and message["status"] == 200
            and content_type[:9].lower() == b"text/html"
        )
        if not (is_page or varies or visitor.is_new):
            return False
        raw = list(raw)
        if is_page or varies:
            raw = with_vary_cookie(raw)
        if (
            (is_page or visitor.is_new)
            and not sets_cookie(raw, self.settings.cookie_name)
            and not shared_cacheable(
                b",".join(v for k, v in raw if k.lower() == b"cache-control")  # every header
            )
        ):
            https = scope.get("scheme") == "https"
            header = set_cookie_header(visitor, self.personalizer.signer, self.settings,
                                       https=https)  # fmt: skip
            raw.append((b"set-cookie", header.encode("latin-1")))
        message["headers"] = raw
        return is_page

    async def _track_page_view(
        self, scope: Scope, path: str, handle: RequestPersonalize, headers: RequestHeaders
    ) -> None:
        try:
            properties = {
                "path": path[:_MAX_TEXT],
                "page_type": handle.page.type,
                "url": _url(scope, headers.host)[:_MAX_TEXT],
            }
            if headers.referer:
                properties["referrer"] = headers.referer[:_MAX_TEXT]
            if self._store_may_block:
                await handle.atrack("Page Viewed", properties)
            else:
                handle.track("Page Viewed", properties)  # in memory: microseconds, no I/O
        except Exception:  # noqa: BLE001
            self._faults.report("tracking the page view")


def _url(scope: Scope, host: str | None) -> str:
    """The request's URL, as Starlette's `URL(scope=...)` spells it: the Host header when it
    is a valid host, else the server's address."""
    scheme = scope.get("scheme", "http")
    if not host or not _HOST.match(host):
        server = scope.get("server")
        if server is None:
            host = ""
        else:
            name, port = server
            name = f"[{name}]" if ":" in name and not name.startswith("[") else name
            default = 443 if scheme in ("https", "wss") else 80
            host = name if port == default else f"{name}:{port}"
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"")
    url = f"{scheme}://{host}{path}"
    return f"{url}?{query.decode('latin-1')}" if query else url


def _warn_about_setup(pz: Personalizer, beacon_path: str) -> None:
    beacon_url = pz.config.widgets.beacon_url
    if beacon_url != beacon_path:
        logger.warning(
            "[widgets] beacon_url is %r but the beacon is served at %r: the widgets' beacons "
            "will miss it (set beacon_url, or the middleware's prefix, to match)",
            beacon_url,
            beacon_path,
        )
    if pz.secret_is_ephemeral:
        logger.warning(
            "no secret: visitor cookies are signed with a key of this process only, so every "
            "restart and every worker forgets the visitors (pass secret=... or set "
            "PERSONALIZE_SECRET)"
        )


class _FaultLog:
    """The SDK's own faults on the request path: the first of each kind is logged with its
    traceback, the rest at debug level (a broken store must not flood the logs)."""

    def __init__(self) -> None:
        self.count = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def report(self, doing: str) -> None:
        with self._lock:
            self.count += 1
            first = doing not in self._seen
            self._seen.add(doing)
        if first:
            logger.exception("personalize failed %s; the response goes on without it", doing)
        else:
            logger.debug("personalize failed %s again", doing, exc_info=True)
