"""The Starlette middleware through Starlette's real TestClient: the visitor cookie, page
tracking, slots and assets in Jinja2 templates, the hardened beacon, the static files,
websockets and lifespan passing through, and faults that never break a response."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import jinja2
import pytest
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.templating import Jinja2Templates
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from personalize_sdk import ConfigError, Personalizer
from personalize_sdk.integrations import _static, _visitor
from personalize_sdk.integrations._starlette_routes import read_body, route_path, send_static
from personalize_sdk.integrations._starlette_templates import slot_of_request
from personalize_sdk.integrations.starlette import PersonalizeMiddleware, install_templates
from tests.helpers import Clock, view

DATA = Path(__file__).resolve().parent.parent / "data"
SECRET = "starlette-integration-secret-0123"
ORIGIN = "http://testserver"  # the test client's host
BEACON = "/_personalize/beacon"
STATIC = "/_personalize/static/"
SHOWN = json.dumps(
    {"events": [{"type": "shown", "campaign": "welcome-bar", "variant": "default",
                 "kind": "hello_bar", "slot": "top", "path": "/"}]}
)  # fmt: skip
PAGE = """<!doctype html><html><head>{{ personalize_assets() }}</head>
<body>{{ personalize_slot("top") }}<main>{{ message }}</main></body></html>"""

Tracked = list[tuple[Any, ...]]


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": PAGE}), autoescape=True)
    return install_templates(Jinja2Templates(env=env))


def make_routes(templates: Jinja2Templates) -> list[Any]:
    """A small shop: HTML pages with a slot, a JSON API, a form post, a login, a 404 page, a
    failing view and a websocket."""

    async def home(request: Request) -> Response:
        return templates.TemplateResponse(request, "page.html", {"message": "home"})

    async def product(request: Request) -> Response:
        sku = request.path_params["sku"]
        return templates.TemplateResponse(request, "page.html", {"message": sku})

    async def whoami(request: Request) -> Response:
        handle = request.state.personalize
        return JSONResponse(
            {"visitor": handle.visitor_id, "page_type": handle.page.type, "user": handle.user_id}
        )

    async def form(request: Request) -> Response:
        return HTMLResponse("<p>thanks</p>")

    async def login(request: Request) -> Response:
        request.state.personalize.identify("u-42", {"first_name": "Asha"})
        return JSONResponse({"ok": True})

    async def logout(request: Request) -> Response:
        response = JSONResponse({"ok": True})
        response.delete_cookie("pz_vid")
        return response

    async def sign_out(request: Request) -> Response:
        # As docs/quickstart-starlette.md says a logout view does.
        request.state.personalize.start_new_visitor()
        return JSONResponse({"ok": True})

    async def gone(request: Request) -> Response:
        return HTMLResponse("<p>no such page</p>", status_code=404)

    async def logo(request: Request) -> Response:  # what a CDN may keep for everyone
        response = Response(b"GIF89a", media_type="image/gif")
        for value in request.query_params.getlist("cache") or ["public, max-age=86400"]:
            response.raw_headers.append((b"cache-control", value.encode()))  # one header each
        return response

    async def missing(request: Request) -> Response:  # a 404 page with the shop's slots
        return templates.TemplateResponse(request, "page.html", {"message": "?"}, 404)

    async def widgets_api(request: Request) -> Response:  # a headless storefront's API
        handle = request.state.personalize
        return JSONResponse([dict(widget.data) for widget in handle.widgets("top")])

    async def boom(request: Request) -> Response:
        raise RuntimeError("the shop's own bug")

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        state = websocket.scope.get("state", {})
        await websocket.send_json({"echo": text, "personalized": "personalize" in state})
        await websocket.close()

    return [
        Route("/", home),
        Route("/p/{sku}", product),
        Route("/looks/{name}", home),
        Route("/api/whoami/{rest:path}", whoami),
        Route("/form", form, methods=["POST"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/gone", gone),
        Route("/missing", missing),
        Route("/logo.gif", logo),
        Route("/api/widgets", widgets_api),
        Route("/boom", boom),
        WebSocketRoute("/ws", echo),
    ]


def make_app(pz: Personalizer, *, outer: Sequence[Middleware] = (), **settings: Any) -> Starlette:
    middleware = [*outer, Middleware(PersonalizeMiddleware, personalizer=pz, **settings)]
    return Starlette(routes=make_routes(make_templates()), middleware=middleware)


def recording(pz: Personalizer, monkeypatch: pytest.MonkeyPatch) -> Tracked:
    """Every `pz.track` call, (visitor_id, event, properties), still tracked for real."""
    calls: Tracked = []
    track = pz.track

    def spy(visitor_id: Any, event: str, properties: Any = None, **kwargs: Any) -> Any:
        calls.append((visitor_id, event, properties))
        return track(visitor_id, event, properties, **kwargs)

    monkeypatch.setattr(pz, "track", spy)
    return calls


def page_views(calls: Tracked) -> Tracked:
    return [call for call in calls if call[1] == "Page Viewed"]


@pytest.fixture
def pz(clock: Clock) -> Personalizer:
    return Personalizer.from_file(DATA / "shop.toml", clock=clock, secret=SECRET)


@pytest.fixture
def tracked(pz: Personalizer, monkeypatch: pytest.MonkeyPatch) -> Tracked:
    return recording(pz, monkeypatch)


@pytest.fixture
def client(pz: Personalizer) -> Iterator[TestClient]:
    with TestClient(make_app(pz)) as client:
        yield client


def visitor_of(client: TestClient) -> str:
    return client.get("/api/whoami/").json()["visitor"]


def our_cookies(response: Any) -> list[str]:
    return [c for c in response.headers.get_list("set-cookie") if c.startswith("pz_vid=")]


def test_a_missing_starlette_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "starlette", None)  # what `import starlette` then raises
    monkeypatch.delitem(sys.modules, "personalize_sdk.integrations.starlette")
    with pytest.raises(ImportError, match=r'pip install "personalize-sdk\[starlette\]"'):
        import personalize_sdk.integrations.starlette  # noqa: F401


class TestSetup:
    def test_bad_settings_fail_when_the_app_is_built(self, pz: Personalizer) -> None:
        for bad in ({"prefix": "no-slash"}, {"colour": "red"}, {"beacons_per_minute": 0},
                    {"secret": SECRET}):  # fmt: skip
            with pytest.raises(ConfigError):
                PersonalizeMiddleware(make_app(pz), personalizer=pz, **bad)

    def test_builds_its_own_personalizer(self, clock: Clock) -> None:
        middleware = PersonalizeMiddleware(
            Starlette(),
            config=DATA / "shop.toml",
            secret=SECRET,
            clock=clock,
            prefix="/_personalize",
        )
        assert (
            middleware.personalizer.config.campaigns
            and middleware.settings.prefix == "/_personalize"
        )
        assert not middleware.personalizer.secret_is_ephemeral

    def test_a_beacon_url_the_middleware_does_not_serve_is_a_warning(
        self, pz: Personalizer, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="personalize_sdk.starlette"):
            PersonalizeMiddleware(Starlette(), personalizer=pz)
            assert not caplog.records
            PersonalizeMiddleware(Starlette(), personalizer=pz, prefix="/pz")
        assert "beacon_url" in caplog.text and "'/pz/beacon'" in caplog.text


class TestVisitorCookie:
    def test_first_visit_gets_a_signed_http_only_lax_cookie(
        self, client: TestClient, pz: Personalizer
    ) -> None:
        response = client.get("/")
        (header,) = our_cookies(response)
        value = header.split(";")[0].split("=", 1)[1]
        parts = {part.strip() for part in header.split(";")}
        assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= parts
        assert "Secure" not in parts  # plain http: the browser would drop a Secure cookie
        visitor = pz.signer.unsign(value)
        assert visitor is not None and visitor.startswith("v-") and value != visitor
        assert "Cookie" in response.headers["vary"]

    def test_https_makes_it_secure(self, pz: Personalizer) -> None:
        with TestClient(make_app(pz), base_url="https://testserver") as client:
            (header,) = our_cookies(client.get("/"))
        assert "Secure" in {part.strip() for part in header.split(";")}

    def test_the_next_request_is_the_same_visitor_and_the_profile_grows(
        self, client: TestClient, pz: Personalizer
    ) -> None:
        first = visitor_of(client)
        client.get("/")
        client.get("/p/sku-1")
        assert visitor_of(client) == first
        profile = pz.profile(first)
        assert profile.counters["Page Viewed"] == 2 and profile.session.page_type == "product"

    def test_a_returning_visitor_is_renewed_on_pages_only(self, client: TestClient) -> None:
        client.get("/")
        assert len(our_cookies(client.get("/"))) == 1  # renewed: Max-Age counts from now
        assert our_cookies(client.get("/api/whoami/")) == []

    @pytest.mark.parametrize(
        "cookie",
        ["garbage", "v-abc.AAAA", "x" * 5000, "v-forged." + "A" * 43, '"quoted value"'],
    )
    def test_anything_not_ours_is_a_new_visitor(
        self, pz: Personalizer, cookie: str, tracked: Tracked
    ) -> None:
        with TestClient(make_app(pz)) as client:
            response = client.get("/", headers={"cookie": f"pz_vid={cookie}"})
        assert response.status_code == 200 and "welcome-bar" in response.text
        (header,) = our_cookies(response)
        visitor = pz.signer.unsign(header.split(";")[0].split("=", 1)[1])
        assert visitor is not None and page_views(tracked)[0][0] == visitor

    def test_of_two_cookies_the_page_and_the_beacon_take_the_first_that_verifies(
        self, pz: Personalizer
    ) -> None:
        first, second = pz.signer.sign("v-first"), pz.signer.sign("v-second")
        foreign = Personalizer(secret="another-shop-secret-12345").signer.sign("v-theirs")
        with TestClient(make_app(pz)) as client:
            for header, visitor in [
                (f"pz_vid={first}; pz_vid={second}", "v-first"),
                (f"pz_vid={foreign}; pz_vid={second}", "v-second"),  # theirs first, ours next
            ]:
                page = client.get("/api/whoami/", headers={"cookie": header})
                assert page.json()["visitor"] == visitor
                headers = {"cookie": header, "origin": ORIGIN}
                assert client.post(BEACON, content=SHOWN, headers=headers).status_code == 204
                assert pz.profile(visitor).exposures["welcome-bar"].shown == 1
        assert pz.profile("v-theirs").exposures == {}

    def test_an_oversized_cookie_is_not_remembered(self, client: TestClient) -> None:
        remembered = _visitor._checked.cache_info().currsize
        for junk in ("a" * 16_000, "b" * 16_000):
            response = client.get("/api/whoami/", headers={"cookie": f"pz_vid={junk}"})
            assert response.status_code == 200
        assert _visitor._checked.cache_info().currsize == remembered

    def test_a_cookie_the_app_sets_itself_wins(self, client: TestClient) -> None:
        response = client.post("/logout")  # a new visitor, whose cookie the app deletes
        (header,) = our_cookies(response)
        assert "Max-Age=0" in header


class TestPageViews:
    def test_tracked_for_an_html_get_answered_200(
        self, client: TestClient, tracked: Tracked
    ) -> None:
        visitor = visitor_of(client)
        client.get("/p/sku-1", headers={"referer": "https://search.example/?q=watch"})
        assert page_views(tracked) == [
            (visitor, "Page Viewed", {"path": "/p/sku-1", "page_type": "product",
                                      "url": "http://testserver/p/sku-1",
                                      "referrer": "https://search.example/?q=watch"})
        ]  # fmt: skip

    def test_not_for_json_404_post_head_beacon_or_static(
        self, client: TestClient, tracked: Tracked, pz: Personalizer
    ) -> None:
        visitor = visitor_of(client)
        client.get("/gone")
        client.get("/nowhere")
        client.post("/form")
        client.head("/")
        client.post(BEACON, content=SHOWN, headers={"origin": ORIGIN})
        client.get(STATIC + "personalize.js")
        assert page_views(tracked) == []
        assert "Page Viewed" not in pz.profile(visitor).counters

    def test_what_shows_the_shopper_varies_by_cookie_whatever_its_status_or_type(
        self, client: TestClient, pz: Personalizer
    ) -> None:
        visitor_of(client)
        for response in (
            client.get("/"),
            client.head("/"),
            client.get("/missing"),  # a 404 page greeting the shopper: no CDN may keep it
            client.get("/api/widgets"),
        ):
            assert "Cookie" in response.headers.get("vary", ""), response.request.url
        api = client.get("/api/widgets")
        assert api.json()[0]["campaign_id"] == "welcome-bar"
        assert our_cookies(api) == []  # renewed on pages only, as before
        for response in (client.get("/api/whoami/x"), client.get("/gone")):
            assert "vary" not in response.headers  # nothing of the shopper in these

    def test_no_cookie_on_what_a_shared_cache_may_keep(self, client: TestClient) -> None:
        # Kept by a CDN with the cookie, it would make every new shopper the same visitor.
        for cache in ("public, max-age=86400", "s-maxage=600"):
            response = client.get("/logo.gif", params={"cache": cache})
            assert response.status_code == 200 and our_cookies(response) == []
        two = client.get("/logo.gif", params=[("cache", "max-age=600"), ("cache", "public")])
        assert our_cookies(two) == []  # the directives of every Cache-Control header count
        assert our_cookies(client.get("/logo.gif", params={"cache": "private, max-age=60"}))

    def test_can_be_turned_off(self, pz: Personalizer, tracked: Tracked) -> None:
        with TestClient(make_app(pz, track_page_views=False)) as client:
            assert client.get("/").status_code == 200
        assert page_views(tracked) == []

    def test_page_type_from_patterns_and_from_a_hook(
        self, pz: Personalizer, tracked: Tracked
    ) -> None:
        paths = ("/", "/p/sku-1", "/looks/summer")
        with TestClient(make_app(pz)) as client:
            for path in paths:
                client.get(path)
        assert [call[2]["page_type"] for call in page_views(tracked)] == [
            "home", "product", "other",
        ]  # fmt: skip

        def hook(path: str) -> str | None:
            return "lookbook" if path.startswith("/looks/") else None

        tracked.clear()
        with TestClient(make_app(pz, page_type=hook)) as client:
            for path in paths:
                client.get(path)
            visitor = visitor_of(client)
        assert [call[2]["page_type"] for call in page_views(tracked)] == [
            "home", "product", "lookbook",
        ]  # fmt: skip
        assert pz.profile(visitor).session.page_type == "lookbook"

    def test_the_user_of_authentication_middleware(self, pz: Personalizer) -> None:
        class HeaderAuth(AuthenticationBackend):
            async def authenticate(self, conn: HTTPConnection) -> Any:
                name = conn.headers.get("x-user")
                return (AuthCredentials(["authenticated"]), SimpleUser(name)) if name else None

        outer = [Middleware(AuthenticationMiddleware, backend=HeaderAuth())]
        with TestClient(make_app(pz, outer=outer)) as client:
            assert client.get("/api/whoami/", headers={"x-user": "u-7"}).json()["user"] == "u-7"
            assert client.get("/api/whoami/").json()["user"] is None


class TestTemplates:
    def test_the_slot_and_the_assets(self, client: TestClient, pz: Personalizer) -> None:
        html = client.get("/").text
        assert 'data-pz-campaign="welcome-bar"' in html and "Hi there" in html
        assert f'data-pz-beacon="{BEACON}"' in html
        assert f'<link rel="stylesheet" href="{STATIC}personalize.css">' in html
        assert f'<script defer src="{STATIC}personalize.js"></script>' in html

    def test_the_slot_follows_the_profile(self, client: TestClient) -> None:
        client.get("/")
        assert client.post("/login").json() == {"ok": True}
        assert "Hi Asha" in client.get("/").text

    def test_a_logout_view_starts_a_new_visitor(self, client: TestClient, pz: Personalizer) -> None:
        client.get("/")
        before = visitor_of(client)
        client.post("/login")
        customers_visitor = visitor_of(client)  # a new visitor id at login
        assert customers_visitor != before and pz.profile(before).user_id is None
        assert "Hi Asha" in client.get("/").text
        views = pz.profile(user_id="u-42").counters["Page Viewed"]
        response = client.post("/sign-out")
        (header,) = our_cookies(response)  # on the logout response itself
        fresh = pz.signer.unsign(header.split(";")[0].split("=", 1)[1])
        assert fresh is not None and fresh != customers_visitor
        assert visitor_of(client) == fresh
        # The next person on this browser: greeted as nobody, their browsing theirs alone.
        assert "Hi there" in client.get("/").text
        assert pz.profile(fresh).user_id is None and "first_name" not in pz.profile(fresh).traits
        assert pz.profile(user_id="u-42").counters["Page Viewed"] == views
        assert pz.profile(user_id="u-42").traits["first_name"] == "Asha"  # the customer's kept
        assert pz.profile(customers_visitor).user_id is None  # the old cookie opens nothing

    def test_a_bad_csp_nonce_renders_the_tags_without_it(
        self, pz: Personalizer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_static, "_bad_nonces_seen", set())
        env = install_templates(jinja2.Environment(autoescape=True))
        page = env.from_string("{{ personalize_assets(nonce=request.query_params['nonce']) }}")

        async def csp(request: Request) -> Response:
            return HTMLResponse(page.render(request=request))

        middleware = [Middleware(PersonalizeMiddleware, personalizer=pz)]
        app = Starlette(routes=[Route("/csp", csp)], middleware=middleware)
        with TestClient(app) as client:
            good = client.get("/csp", params={"nonce": "bm9uY2UtMTIz"}).text
            assert good.count('nonce="bm9uY2UtMTIz"') == 2
            for _ in range(2):
                response = client.get("/csp", params={"nonce": 'x" onload="alert(1)'})
                assert response.status_code == 200
                assert "nonce" not in response.text and "onload" not in response.text
                assert f'<script defer src="{STATIC}personalize.js"></script>' in response.text
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "CSP nonce" in warnings[0].getMessage()

    def test_nothing_without_the_middleware(self) -> None:
        app = Starlette(routes=make_routes(make_templates()))
        with TestClient(app) as client:
            html = client.get("/").text
        assert "<head></head>" in html and "<body><main>home</main>" in html

    def test_a_response_gets_the_slot_of_its_own_request(self, pz: Personalizer) -> None:
        # TemplateResponse runs the context processor: the template's personalize_slot is the
        # request's handle.render; a template rendered by hand uses the global, to the same HTML.
        templates = make_templates()
        assert install_templates(templates) is templates
        assert templates.context_processors.count(slot_of_request) == 1  # installed once
        seen: dict[str, Any] = {}

        async def by_response(request: Request) -> Response:
            response = templates.TemplateResponse(request, "page.html", {"message": "m"})
            seen["slot"] = response.context["personalize_slot"]
            seen["handle"] = request.state.personalize
            return response

        async def by_hand(request: Request) -> Response:
            page = templates.get_template("page.html")
            return HTMLResponse(page.render(request=request, message="m"))

        routes = [Route("/r", by_response), Route("/h", by_hand)]
        app = Starlette(
            routes=routes, middleware=[Middleware(PersonalizeMiddleware, personalizer=pz)]
        )
        with TestClient(app) as client:
            client.get("/r")  # the visitor's cookie first: both pages then see the same visitor
            first, second = client.get("/r").text, client.get("/h").text
        assert seen["slot"] == seen["handle"].render  # the handle's own bound method
        assert 'data-pz-campaign="welcome-bar"' in first
        assert first.split("<main>")[0] == second.split("<main>")[0]
        assert slot_of_request(object()) == {}  # no scope, no handle: the global stays

    def test_install_on_a_bare_environment(self) -> None:
        env = jinja2.Environment(autoescape=True)
        assert install_templates(env) is env
        assert env.from_string("[{{ personalize_slot('top') }}]").render(request=None) == "[]"


class TestStatic:
    @pytest.mark.parametrize(
        ("name", "content_type", "needle"),
        [("personalize.js", "text/javascript; charset=utf-8", "function"),
         ("personalize.css", "text/css; charset=utf-8", ".pz-")],
    )  # fmt: skip
    def test_served_with_type_etag_and_304(
        self, client: TestClient, name: str, content_type: str, needle: str
    ) -> None:
        response = client.get(STATIC + name)
        assert response.status_code == 200 and response.headers["content-type"] == content_type
        assert needle in response.text and response.headers["x-content-type-options"] == "nosniff"
        assert our_cookies(response) == []
        etag = response.headers["etag"]
        for validator in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = client.get(STATIC + name, headers={"if-none-match": validator})
            assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
        assert client.get(STATIC + name, headers={"if-none-match": '"stale"'}).status_code == 200

    def test_head_unknown_and_wrong_method(self, client: TestClient) -> None:
        head = client.head(STATIC + "personalize.js")
        assert (
            head.status_code == 200
            and head.content == b""
            and int(head.headers["content-length"]) > 0
        )
        assert client.get(STATIC + "../secrets.txt").status_code == 404
        assert client.get(STATIC + "personalize.jsx").status_code == 404
        wrong = client.post(STATIC + "personalize.js")
        assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD"

    def test_head_sends_no_body(self) -> None:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "HEAD", "headers": []}
        asyncio.run(send_static(scope, send, "personalize.js"))  # type: ignore[arg-type]
        start, body = sent
        assert start["status"] == 200 and body["body"] == b""
        assert int(dict(start["headers"])[b"content-length"]) > 0


class TestBeacon:
    def test_accepted(self, client: TestClient, pz: Personalizer) -> None:
        visitor = visitor_of(client)
        response = client.post(BEACON, content=SHOWN, headers={"origin": ORIGIN})
        assert response.status_code == 204 and response.content == b""
        assert response.headers["cache-control"] == "no-store" and our_cookies(response) == []
        assert pz.profile(visitor).exposures["welcome-bar"].shown == 1
        by_referer = client.post(BEACON, content=SHOWN, headers={"referer": ORIGIN + "/p/1"})
        assert by_referer.status_code == 204
        assert pz.profile(visitor).exposures["welcome-bar"].shown == 2

    @pytest.mark.parametrize(
        ("method", "headers", "body", "status"),
        [
            ("GET", {"origin": ORIGIN}, "", 405),
            ("PUT", {"origin": ORIGIN}, SHOWN, 405),
            ("POST", {"origin": "https://evil.example"}, SHOWN, 403),
            ("POST", {"origin": "https://evil.example", "referer": ORIGIN + "/"}, SHOWN, 403),
            ("POST", {}, SHOWN, 403),
            ("POST", {"origin": ORIGIN}, "x" * 9000, 413),
            ("POST", {"origin": ORIGIN}, "{not json", 400),
            ("POST", {"origin": ORIGIN},
             json.dumps({"events": [{"type": "shown", "campaign": "nope", "variant": "a"}]}), 400),
        ],
    )  # fmt: skip
    def test_refusals_record_nothing(
        self,
        client: TestClient,
        pz: Personalizer,
        method: str,
        headers: dict[str, str],
        body: str,
        status: int,
    ) -> None:
        visitor = visitor_of(client)
        before = pz.profile(visitor)
        response = client.request(method, BEACON, content=body, headers=headers)
        assert response.status_code == status
        answer = response.json()
        assert "error" in answer or answer["rejected"]
        assert pz.profile(visitor) == before and pz.profile(visitor).exposures == {}
        if status == 405:
            assert response.headers["allow"] == "POST"

    def test_no_cookie_is_refused(self, pz: Personalizer) -> None:
        with TestClient(make_app(pz)) as client:
            response = client.post(BEACON, content=SHOWN, headers={"origin": ORIGIN})
            assert response.status_code == 403 and our_cookies(response) == []
            forged = client.post(
                BEACON, content=SHOWN, headers={"origin": ORIGIN, "cookie": "pz_vid=v-1.forged"}
            )
            assert forged.status_code == 403
        assert pz.profile("v-1").exposures == {}

    def test_a_streamed_body_past_the_limit_is_413(
        self, client: TestClient, pz: Personalizer
    ) -> None:
        visitor = visitor_of(client)

        def chunks() -> Iterator[bytes]:
            yield SHOWN.encode()
            yield b" " * 10_000

        response = client.post(BEACON, content=chunks(), headers={"origin": ORIGIN})
        assert response.status_code == 413 and pz.profile(visitor).exposures == {}

    def test_rate_limited(self, pz: Personalizer) -> None:
        with TestClient(make_app(pz, beacons_per_minute=2)) as client:
            visitor = visitor_of(client)
            statuses = [client.post(BEACON, content=SHOWN, headers={"origin": ORIGIN}).status_code
                        for _ in range(3)]  # fmt: skip
        assert statuses == [204, 204, 429]
        assert pz.profile(visitor).exposures["welcome-bar"].shown == 2

    def test_the_body_is_read_with_a_hard_cap(self) -> None:
        pulled = 0

        async def endless() -> dict[str, Any]:
            nonlocal pulled
            pulled += 1
            if pulled > 100:
                raise AssertionError("read on past the cap")
            return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

        body = asyncio.run(read_body(endless, 8193))
        assert body is not None and len(body) == 8193 and pulled == 9

    def test_a_client_gone_is_no_body(self) -> None:
        async def gone() -> dict[str, Any]:
            return {"type": "http.disconnect"}

        assert asyncio.run(read_body(gone, 100)) is None


class TestPassThrough:
    def test_websockets_untouched(self, client: TestClient) -> None:
        with client.websocket_connect("/ws") as websocket:
            websocket.send_text("hello")
            assert websocket.receive_json() == {"echo": "hello", "personalized": False}

    def test_lifespan_untouched(self, pz: Personalizer) -> None:
        events: list[str] = []

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
            events.append("startup")
            yield {"db": "ready"}
            events.append("shutdown")

        app = Starlette(
            routes=make_routes(make_templates()),
            middleware=[Middleware(PersonalizeMiddleware, personalizer=pz)],
            lifespan=lifespan,  # type: ignore[arg-type]
        )
        with TestClient(app) as client:
            assert client.get("/").status_code == 200
            assert events == ["startup"]
        assert events == ["startup", "shutdown"]

    def test_the_apps_own_errors_propagate(self, pz: Personalizer, tracked: Tracked) -> None:
        with TestClient(make_app(pz)) as client, pytest.raises(RuntimeError, match="own bug"):
            client.get("/boom")
        with TestClient(make_app(pz), raise_server_exceptions=False) as client:
            assert client.get("/boom").status_code == 500
        assert page_views(tracked) == []

    def test_route_path_inside_a_root_path(self) -> None:
        assert route_path({"path": "/shop/_personalize/beacon", "root_path": "/shop"}) == BEACON
        assert route_path({"path": BEACON, "root_path": "/shop"}) == BEACON
        assert route_path({"path": "/shopping", "root_path": "/shop"}) == "/shopping"
        assert route_path({"path": "/shop", "root_path": "/shop"}) == "/"


class TestFaultsNeverBreakThePage:
    def test_a_failing_page_type_hook(
        self, pz: Personalizer, caplog: pytest.LogCaptureFixture
    ) -> None:
        def hook(path: str) -> str | None:
            raise ValueError("the shop's hook is broken")

        with TestClient(make_app(pz, page_type=hook)) as client:
            assert client.get("/api/whoami/").json()["page_type"] == "other"
            assert "welcome-bar" in client.get("/").text
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "resolving the page type" in errors[0].getMessage()

    def test_a_failing_signer(
        self, pz: Personalizer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        class BrokenSigner:
            def __init__(self, inner: Any) -> None:
                self.unsign = inner.unsign

            def sign(self, value: str) -> str:
                raise OSError("no key")

        monkeypatch.setattr(pz, "signer", BrokenSigner(pz.signer))
        with TestClient(make_app(pz)) as client:
            for _ in range(2):
                response = client.get("/")
                assert response.status_code == 200 and "welcome-bar" in response.text
                assert our_cookies(response) == []
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "setting the visitor cookie" in errors[0].getMessage()

    def test_a_failing_track(
        self, pz: Personalizer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        def broken(*args: Any, **kwargs: Any) -> None:
            raise MemoryError("store full")

        monkeypatch.setattr(pz, "track", broken)
        with TestClient(make_app(pz)) as client:
            assert client.get("/").status_code == 200
        assert "tracking the page view" in caplog.text


class ThreadRecordingStore:
    """A store that is not the embedded one (so it may block): every call is delegated to a
    memory store, and the thread it came from recorded."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.threads: list[threading.Thread] = []

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.threads.append(threading.current_thread())
            return method(*args, **kwargs)

        return call


def test_a_store_that_may_block_is_called_off_the_event_loop(clock: Clock) -> None:
    from personalize_sdk.memory_store import MemoryStore

    store = ThreadRecordingStore(MemoryStore())
    pz = Personalizer.from_file(DATA / "shop.toml", clock=clock, secret=SECRET, store=store)  # type: ignore[arg-type]
    loop_threads: list[threading.Thread] = []

    async def plain(request: Request) -> Response:
        loop_threads.append(threading.current_thread())
        return HTMLResponse("<p>plain</p>")

    app = Starlette(
        routes=[Route("/plain", plain)],
        middleware=[Middleware(PersonalizeMiddleware, personalizer=pz)],
    )
    with TestClient(app) as client:
        assert client.get("/plain").status_code == 200
        assert client.post(BEACON, content=SHOWN, headers={"origin": ORIGIN}).status_code == 204
        visitor = pz.signer.unsign(client.cookies["pz_vid"])
    assert store.threads and loop_threads[0] not in store.threads
    assert pz.profile(visitor).counters["Page Viewed"] == 1
    assert pz.profile(visitor).exposures["welcome-bar"].shown == 1


def test_fastapi_through_the_same_middleware(pz: Personalizer, tracked: Tracked) -> None:
    fastapi = pytest.importorskip("fastapi", reason="fastapi is not installed in this venv")

    templates = make_templates()
    app = fastapi.FastAPI()
    app.add_middleware(PersonalizeMiddleware, personalizer=pz)

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        return templates.TemplateResponse(request, "page.html", {"message": "fastapi"})

    @app.post("/api/viewed/{sku}")
    async def viewed(sku: str, request: Request) -> dict[str, str]:
        request.state.personalize.track("Product Viewed", view(sku))
        return {"visitor": request.state.personalize.visitor_id}

    with TestClient(app) as client:
        html = client.get("/").text
        visitor = client.post("/api/viewed/sku-9").json()["visitor"]
    assert 'data-pz-campaign="welcome-bar"' in html and "fastapi" in html
    assert page_views(tracked)[0][0] == visitor
    assert pz.profile(visitor).recently_viewed == ("sku-9",)


@pytest.mark.parametrize(
    ("host", "path", "query"),
    [("shop.example:8000", "/p/a?b#c", b"x=1"), ("evil host<script>", "/", b""),
     (None, "/c/x\\y", b""), ("[::1]:8080", "/", b"q=%20")],
)  # fmt: skip
def test_the_tracked_url_is_spelled_as_starlette_spells_it(host, path, query):
    from starlette.datastructures import URL

    from personalize_sdk.integrations.starlette import _url

    headers = [(b"host", host.encode())] if host else []
    scope = {"type": "http", "scheme": "http", "server": ("127.0.0.1", 8000), "path": path,
             "root_path": "/shop", "query_string": query, "headers": headers}  # fmt: skip
    assert _url(scope, host) == str(URL(scope=scope))
