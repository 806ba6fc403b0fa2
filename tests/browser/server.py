"""A tiny local shop for browser tests: serves pages built from widget HTML, records beacons.

`Site` runs a standard-library `ThreadingHTTPServer` on 127.0.0.1 with an ephemeral port. Pages
carry the real script and stylesheet from `personalize_sdk.assets` (inline under a CSP nonce, or
as external files), and every beacon body the browser posts is parsed and kept for assertions.
`widget(kind, campaign, **fields)` builds `Widget.data` with sensible defaults per kind.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from personalize_sdk import assets

if TYPE_CHECKING:
    from playwright.sync_api import Page

BEACON_PATH = "/_personalize/beacon"
NONCE = "dGVzdC1ub25jZS0xMjM0NQ=="
SCRIPT_PATH = "/static/personalize.js"
STYLE_PATH = "/static/personalize.css"

Body = str | bytes | Callable[[], str]

_DEFAULTS: dict[str, dict[str, Any]] = {
    "hello_bar": {"text": "Hello Asha, free shipping over $50", "link": None, "dismissible": True},
    "side_coupon": {
        "tab": "10% off",
        "text": "Your welcome gift",
        "coupon": {"code": "WELCOME10", "expires_at": None, "discount": "10% off"},
        "position": "right",
    },
    "exit_intent": {
        "title": "Leaving already?",
        "text": "Take 10% with you.",
        "coupon": None,
        "link": None,
        "survey": None,
        "trigger": {"min_dwell_ms": 0},
    },
    "progress_bar": {
        "text": "Spend $12.50 more for free shipping",
        "unlocked": False,
        "percent": 75,
        "remaining": "$12.50",
        "threshold": "$50.00",
        "currency": "USD",
        "refresh_url": None,
    },
    "recently_viewed": {"title": "Recently viewed", "products": []},
    "recommendations": {
        "title": "Bestsellers in Watches",
        "products": [],
        "strategy": "bestsellers",
    },
    "floating_icon": {
        "label": "Chat with us",
        "icon": None,
        "link": {"url": "/help", "text": "Help"},
        "position": "right",
    },
    "scratch_coupon": {
        "title": "A gift for you",
        "text": "Scratch to see your code",
        "cover_text": "Scratch here",
        "coupon": {"code": "SCRATCH15", "expires_at": None, "discount": "15% off"},
    },
    "countdown": {
        "title": "Flash sale",
        "text": "Ends in",
        "deadline": 0.0,
        "expired_text": "The sale has ended",
    },
    "editorial": {
        "article": {
            "title": "How to pick a watch",
            "url": "/journal/watches",
            "image": None,
            "summary": "Five things to look at.",
        }
    },
}


def products(count: int = 4) -> list[dict[str, Any]]:
    return [
        {
            "id": f"sku-{n}",
            "name": f"Watch {n}",
            "url": f"/p/sku-{n}",
            "image": None,
            "price": f"${100 + n}.00",
        }
        for n in range(1, count + 1)
    ]


def widget(kind: str, campaign: str, **fields: Any) -> dict[str, Any]:
    """`Widget.data` of `kind` for `campaign`: the defaults of the kind, then `fields`."""
    data: dict[str, Any] = {
        "kind": kind,
        "campaign_id": campaign,
        "variant": "a",
        "slot": "top",
        "beacon": BEACON_PATH,
    }
    data.update(_DEFAULTS[kind])
    if kind in ("recently_viewed", "recommendations"):
        data["products"] = products()
    data.update(fields)
    return data


def document(body: str, *, external: bool = False, head: str = "") -> str:
    """A whole shop page around `body`, with the SDK's stylesheet and script."""
    if external:
        style = assets.style_tag(href=STYLE_PATH)
        script = assets.script_tag(src=SCRIPT_PATH, nonce=NONCE)
    else:
        style = assets.style_tag(nonce=NONCE)
        script = assets.script_tag(nonce=NONCE)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Test shop</title>{style}{script}"
        f'<style nonce="{NONCE}">body{{margin:0;font:16px/1.5 sans-serif}}'
        "main{padding:1rem}.filler{height:1200px}</style>"
        f"{head}</head><body>{body}</body></html>"
    )


class Site:
    """The local shop. `add` routes, `page` builds a page, `events`/`wait_for` read beacons."""

    def __init__(self) -> None:
        self._routes: dict[str, tuple[Body, str, float]] = {}
        self._beacons: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.on_beacon: Callable[[bytes], object] | None = None
        """Also hand every beacon body to this (a real `Personalizer.beacon`, say)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.site = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.add(SCRIPT_PATH, assets.script(), "text/javascript")
        self.add(STYLE_PATH, assets.stylesheet(), "text/css")
        self.add("/favicon.ico", b"", "image/x-icon")  # a 404 would show as a console error

    def start(self) -> Site:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def add(
        self,
        path: str,
        body: Body,
        content_type: str = "text/html; charset=utf-8",
        *,
        delay: float = 0.0,
    ) -> str:
        """Serve `body` (or what the callable returns on each request) at `path`."""
        self._routes[path] = (body, content_type, delay)
        return self.url(path)

    def page(
        self,
        path: str,
        widgets: Iterable[str],
        *,
        before: str = "",
        after: str = "",
        external: bool = False,
        head: str = "",
    ) -> str:
        """A page with the widgets' HTML at the top of the body, then `before` a short main
        column and `after` it. Returns the page's URL."""
        main = (
            '<main><h1>Watches</h1><label>Search <input id="search" type="search"></label>'
            '<p id="copy">Our finest watches, hand picked.</p>'
            f'<a id="sale" href="/sale">Sale</a>{before}</main>{after}'
        )
        return self.add(path, document("".join(widgets) + main, external=external, head=head))

    def record(self, body: bytes) -> None:
        if self.on_beacon is not None:
            self.on_beacon(body)
        with self._lock:
            self._beacons.append(json.loads(body))

    def route(self, path: str) -> tuple[Body, str, float] | None:
        return self._routes.get(path)

    @property
    def beacons(self) -> list[dict[str, Any]]:
        """Every beacon body received so far, in order."""
        with self._lock:
            return list(self._beacons)

    def events(self, **match: Any) -> list[dict[str, Any]]:
        """Every event received so far whose fields equal `match`."""
        return [
            event
            for beacon in self.beacons
            for event in beacon["events"]
            if all(event.get(key) == value for key, value in match.items())
        ]

    def wait_for(self, count: int = 1, timeout: float = 6.0, **match: Any) -> list[dict[str, Any]]:
        """Polls until at least `count` events match; fails naming what did arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(**match)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} event(s) {match}, received {self.beacons}")


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:
        site: Site = self.server.site  # type: ignore[attr-defined]
        found = site.route(self.path.split("?", 1)[0])
        if found is None:
            self._answer(404, b"not found", "text/plain")
            return
        body, content_type, delay = found
        if delay:
            time.sleep(delay)
        text = body() if callable(body) else body
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        self._answer(200, data, content_type)

    def do_POST(self) -> None:
        site: Site = self.server.site  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != BEACON_PATH:
            self._answer(404, b"not found", "text/plain")
            return
        site.record(body)
        self._answer(204, b"", "text/plain")

    def _answer(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if content_type.startswith("text/html"):
            # Only scripts carrying the nonce run: proves `script_tag(nonce=...)` works.
            self.send_header("Content-Security-Policy", f"script-src 'nonce-{NONCE}'")
        self.end_headers()
        if data:
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on what arrived, not on the log."""


# What a shopper does, and what the page shows, in the terms of docs/markup.md.


def root(campaign: str) -> str:
    """CSS selector of a widget's root element."""
    return f'[data-pz-campaign="{campaign}"]'


def leave(page: Page, edge: str = "top") -> None:
    """Moves the real mouse into the page, then out through `edge` (top, bottom or right)."""
    size = page.viewport_size
    width, height = size["width"], size["height"]
    page.mouse.move(width / 2, height / 2)
    if edge == "top":
        page.mouse.move(width / 2, 10, steps=5)
        page.mouse.move(width / 2, -1)
    elif edge == "bottom":
        page.mouse.move(width / 2, height - 10, steps=5)
        page.mouse.move(width / 2, height + 1)
    else:
        page.mouse.move(width - 10, height / 2, steps=5)
        page.mouse.move(width + 1, height / 2)


def is_open(page: Page, campaign: str) -> bool:
    return page.evaluate("s => !document.querySelector(s).hidden", root(campaign))


def wait_open(page: Page, campaign: str, timeout: float = 5000) -> None:
    page.wait_for_function(
        "s => !document.querySelector(s).hidden", arg=root(campaign), timeout=timeout
    )


def focused(page: Page) -> str:
    """The focused element, described as tag#id.classes[data-pz-*] for readable assertions."""
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          if (!el || el === document.body) return "body";
          const data = [...el.attributes].map(a => a.name).filter(n => n.startsWith("data-pz"));
          return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
            [...el.classList].map(c => "." + c).join("") + data.map(d => `[${d}]`).join("");
        }"""
    )


def focus_inside(page: Page, selector: str) -> bool:
    return page.evaluate(
        "s => document.querySelector(s).contains(document.activeElement)", selector
    )


def touch_drag(
    page: Page, start: tuple[float, float], end: tuple[float, float], steps: int = 6
) -> None:
    """A real finger on the screen (CDP touch events), from `start` to `end` in `steps` moves.
    (`page.touchscreen` only taps.) Moving a finger down scrolls the page up."""
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, points: list[dict[str, float]]) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", [{"x": start[0], "y": start[1]}])
    for step in range(1, steps + 1):
        x = start[0] + (end[0] - start[0]) * step / steps
        y = start[1] + (end[1] - start[1]) * step / steps
        touch("touchMove", [{"x": x, "y": y}])
    touch("touchEnd", [])
    cdp.detach()
