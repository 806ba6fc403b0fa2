"""The Django adapter through Django's real test clients (WSGI `Client`, ASGI `AsyncClient`):
the visitor cookie, page tracking, identify at login, template tags and Jinja2 globals, the
beacon and static routes, system checks and the management command.

Django is set up by a module fixture from tests/integrations/django_project (no pytest-django),
so nothing of it reaches the other test files' configuration.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import jinja2
import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import ManagementUtility, call_command
from django.core.management.base import SystemCheckError
from django.test import AsyncClient, Client, override_settings
from django.test.utils import setup_test_environment, teardown_test_environment

from personalize_sdk import Personalizer, assets
from personalize_sdk.integrations import _static
from personalize_sdk.integrations._settings import IntegrationSettings
from personalize_sdk.integrations._visitor import Visitor, set_cookie_header
from tests.helpers import Clock

SETTINGS_MODULE = "tests.integrations.django_project.settings"
BEACON = "/_personalize/beacon"
SHOWN = {"type": "shown", "campaign": "welcome-bar", "variant": "default", "kind": "hello_bar",
         "slot": "top", "path": "/"}  # fmt: skip
ORIGIN = "http://testserver"


@pytest.fixture(scope="module", autouse=True)
def django_project() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
        django.setup()
        setup_test_environment()
        try:
            call_command("migrate", verbosity=0, interactive=False)
            yield
        finally:
            teardown_test_environment()


@pytest.fixture
def pz(clock: Clock) -> Iterator[Personalizer]:
    """A fresh Personalizer per test: the app rebuilds it when PERSONALIZE changes."""
    from personalize_sdk.integrations.django import get_personalizer

    with override_settings(PERSONALIZE={**settings.PERSONALIZE, "clock": clock}):
        yield get_personalizer()


@pytest.fixture
def tracked(pz: Personalizer, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every `track` call as (visitor_id, event, properties, user_id); the real one still runs."""
    calls: list[tuple[Any, ...]] = []
    real = pz.track

    def track(visitor_id: Any, event: str, properties: Any = None, **kwargs: Any) -> Any:
        calls.append((visitor_id, event, dict(properties or {}), kwargs.get("user_id")))
        return real(visitor_id, event, properties, **kwargs)

    monkeypatch.setattr(pz, "track", track)
    return calls


def page_views(calls: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [call for call in calls if call[1] == "Page Viewed"]


def visitor_of(response: Any, pz: Personalizer) -> str:
    value = pz.signer.unsign(response.cookies["pz_vid"].value)
    assert value is not None and value.startswith("v-")
    return value


def run_checks() -> list[checks.CheckMessage]:
    return checks.run_checks(tags=["personalize"])


def make_user(username: str = "asha", **fields: Any) -> Any:
    from django.contrib.auth.models import User

    User.objects.filter(username=username).delete()
    return User.objects.create_user(username, password="pw-123456", **fields)


def page_type_hook(path: str) -> str | None:
    return "landing" if path.startswith("/form") else None


# -- import guard ------------------------------------------------------------------------------


def test_without_django_the_import_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['django'] = None\n"
        "try:\n    import personalize_sdk.integrations.django\n"
        "except ImportError as error:\n    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "personalize-sdk[django]"' in out.stdout


# -- the visitor cookie ------------------------------------------------------------------------


class TestVisitorCookie:
    def test_a_new_visitor_gets_a_signed_http_only_cookie(self, pz: Personalizer) -> None:
        response = Client().get("/")
        assert response.status_code == 200
        cookie = response.cookies["pz_vid"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
        assert int(cookie["max-age"]) == 365 * 86_400
        assert not cookie["secure"]
        visitor_of(response, pz)
        assert "Cookie" in response["Vary"]

    def test_what_shows_the_shopper_varies_by_cookie_whatever_its_status_or_type(
        self, pz: Personalizer
    ) -> None:
        # Without sessions (whose middleware adds Vary: Cookie on its own when a view reads
        # the session), as in a shop with no logins.
        ours = ["personalize_sdk.integrations.django.middleware.PersonalizeMiddleware"]
        with override_settings(MIDDLEWARE=ours):
            client = Client()
            client.get("/")
            for url, method in (("/", "head"), ("/missing/", "get"), ("/api/widgets/", "get")):
                response = getattr(client, method)(url)
                assert "Cookie" in response.get("Vary", ""), url
            assert client.get("/api/widgets/").json()[0]["campaign_id"] == "welcome-bar"
            assert "Vary" not in client.get("/who/")  # nothing of the shopper in it

    def test_no_cookie_on_what_a_shared_cache_may_keep(self, pz: Personalizer) -> None:
        for cache in ("public, max-age=86400", "s-maxage=600"):
            response = Client().get("/logo.gif", {"cache": cache})
            assert response.status_code == 200 and "pz_vid" not in response.cookies
        assert "pz_vid" in Client().get("/logo.gif", {"cache": "private, max-age=60"}).cookies

    def test_over_https_the_cookie_is_secure(self, pz: Personalizer) -> None:
        assert Client().get("/", secure=True).cookies["pz_vid"]["secure"]

    def test_the_visitor_is_kept_across_requests(self, pz: Personalizer) -> None:
        client = Client()
        first = client.get("/api/")
        visitor = visitor_of(first, pz)  # set on a first response of any kind
        second = client.get("/api/")
        assert second.json() == {"visitor": visitor}
        assert "pz_vid" not in second.cookies  # known visitor, not a page: nothing to set
        third = client.get("/")
        assert visitor_of(third, pz) == visitor  # renewed on pages

    @pytest.mark.parametrize(
        "forged",
        ["garbage", "v-attacker.AAAA", "x" * 5000, "u-42", "v-attacker.<script>"],
    )
    def test_a_tampered_cookie_is_a_new_visitor(self, pz: Personalizer, forged: str) -> None:
        client = Client()
        client.cookies["pz_vid"] = forged
        response = client.get("/api/")
        visitor = response.json()["visitor"]
        assert visitor.startswith("v-") and not forged.startswith(visitor)
        assert visitor_of(response, pz) == visitor

    def test_another_shops_signature_is_not_ours(self, pz: Personalizer) -> None:
        client = Client()
        client.cookies["pz_vid"] = Personalizer(secret="another-shop-1234567").signer.sign("v-x")
        assert client.get("/api/").json()["visitor"] != "v-x"

    def test_of_two_cookies_the_page_and_the_beacon_take_the_first_that_verifies(
        self, pz: Personalizer
    ) -> None:
        ours = pz.signer.sign("v-ours")
        foreign = Personalizer(secret="another-shop-1234567").signer.sign("v-theirs")
        client = Client()
        # Django's own `request.COOKIES` keeps the last value: ours must win from either place.
        for header in (f"pz_vid={foreign}; pz_vid={ours}", f"pz_vid={ours}; pz_vid={foreign}"):
            assert client.get("/api/", HTTP_COOKIE=header).json() == {"visitor": "v-ours"}
            response = post_beacon(client, {"events": [SHOWN]}, HTTP_COOKIE=header)
            assert response.status_code == 204
        assert pz.profile("v-ours").exposures["welcome-bar"].shown == 2
        assert pz.profile("v-theirs").exposures == {}

    def test_the_sdks_own_routes_get_no_cookie_and_no_tracking(
        self, tracked: list[tuple[Any, ...]]
    ) -> None:
        response = Client().get("/_personalize/static/personalize.css")
        assert response.status_code == 200 and "pz_vid" not in response.cookies
        assert tracked == []


# -- page views --------------------------------------------------------------------------------


class TestPageViews:
    def test_an_html_get_is_tracked(self, pz: Personalizer, tracked: list) -> None:
        response = Client().get("/", HTTP_REFERER="https://search.example/?q=watches")
        visitor = visitor_of(response, pz)
        assert page_views(tracked) == [
            (
                visitor,
                "Page Viewed",
                {
                    "path": "/",
                    "page_type": "home",
                    "url": "http://testserver/",
                    "referrer": "https://search.example/?q=watches",
                },
                None,
            )
        ]
        profile = pz.profile(visitor)
        assert profile.counters["Page Viewed"] == 1 and profile.session.page_type == "home"

    @pytest.mark.parametrize(
        ("agent", "device"),
        [("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", "mobile"),
         ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)", "tablet"),
         ("Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0", "desktop"), (None, None)],
    )  # fmt: skip
    def test_the_device_is_read_from_the_user_agent(
        self, pz: Personalizer, agent: str | None, device: str | None
    ) -> None:
        headers = {} if agent is None else {"HTTP_USER_AGENT": agent}
        assert Client().get("/page/", **headers).json() == {"type": "other", "device": device}

    def test_the_cookie_carries_exactly_the_shared_attributes(self, pz: Personalizer) -> None:
        for secure in (False, True):
            header = Client().get("/", secure=secure).cookies["pz_vid"].OutputString()
            value = header.split(";")[0].split("=", 1)[1]
            visitor = Visitor(pz.signer.unsign(value), False, value)
            shared = set_cookie_header(visitor, pz.signer, IntegrationSettings(), https=secure)
            assert sorted(header.lower().split("; ")) == sorted(shared.lower().split("; "))

    def test_the_page_a_view_sets_is_the_one_tracked(self, pz: Personalizer, tracked: list) -> None:
        Client().get("/p/w-1")
        assert [call[1] for call in tracked] == ["Product Viewed", "Page Viewed"]
        assert page_views(tracked)[0][2]["page_type"] == "product"

    @pytest.mark.parametrize(
        ("method", "path"),
        [("get", "/api/"), ("post", "/form/"), ("get", "/missing/"), ("head", "/"),
         ("get", "/_personalize/static/personalize.js"), ("post", BEACON)],
    )  # fmt: skip
    def test_only_html_gets_answered_200_are_tracked(
        self, tracked: list, method: str, path: str
    ) -> None:
        getattr(Client(), method)(path)
        assert page_views(tracked) == []

    def test_page_tracking_can_be_turned_off(self, tracked: list) -> None:
        with override_settings(PERSONALIZE={**settings.PERSONALIZE, "track_page_views": False}):
            response = Client().get("/")
        assert response.status_code == 200 and "pz_vid" in response.cookies
        assert page_views(tracked) == []

    def test_a_page_type_hook_by_dotted_path(self, clock: Clock) -> None:
        hook = f"{__name__}.page_type_hook"
        with override_settings(PERSONALIZE={**settings.PERSONALIZE, "page_type": hook}):
            from personalize_sdk.integrations.django import get_personalizer

            pz = get_personalizer()
            client = Client()
            client.get("/form/")
            visitor = visitor_of(client.get("/form/"), pz)
            assert pz.profile(visitor).session.page_type == "landing"


# -- templates ---------------------------------------------------------------------------------


class TestTemplates:
    def test_the_tags_render_the_slot_and_the_assets(self, pz: Personalizer) -> None:
        html = Client().get("/").content.decode()
        assert 'data-pz-campaign="welcome-bar"' in html
        assert 'data-pz-beacon="/_personalize/beacon"' in html
        assert '<link rel="stylesheet" href="/_personalize/static/personalize.css">' in html
        assert '<script defer src="/_personalize/static/personalize.js"></script>' in html
        assert "&lt;div" not in html  # inserted as HTML, not escaped twice

    def test_what_the_shopper_typed_is_escaped(self, pz: Personalizer) -> None:
        client = Client()
        visitor = visitor_of(client.get("/api/"), pz)
        pz.identify(visitor, traits={"first_name": "<script>alert(1)</script>"})
        html = client.get("/").content.decode()
        assert "<script>alert(1)" not in html
        assert "Hi &lt;script&gt;alert(1)&lt;/script&gt;" in html

    def test_without_a_request_the_tags_render_nothing(self, pz: Personalizer) -> None:
        assert Client().get("/bare/").content == b"[][]"

    def test_jinja2_globals(self, pz: Personalizer) -> None:
        html = Client().get("/jinja/").content.decode()
        assert 'data-pz-campaign="welcome-bar"' in html
        assert 'nonce="abc123"' in html and "/_personalize/static/personalize.js" in html
        assert "&lt;div" not in html

    @pytest.mark.parametrize("engine", ["django", "jinja2"])
    def test_the_csp_nonce_as_django_csp_sets_it(self, pz: Personalizer, engine: str) -> None:
        # django-csp's request.csp_nonce is a SimpleLazyObject: it passes isinstance(str).
        response = Client().get(f"/csp/{engine}/")
        assert response.status_code == 200
        assert response.content.decode().count('nonce="bm9uY2UtMTIz"') == 2

    @pytest.mark.parametrize("engine", ["django", "jinja2"])
    def test_a_bad_nonce_renders_the_tags_without_it_logged_once(
        self,
        pz: Personalizer,
        engine: str,
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(_static, "_bad_nonces_seen", set())
        client = Client()
        for _ in range(2):
            response = client.get(f"/csp/{engine}/", {"nonce": 'x" onload="alert(1)'})
            assert response.status_code == 200
            html = response.content.decode()
            assert "nonce" not in html and "onload" not in html
            assert '<script defer src="/_personalize/static/personalize.js"></script>' in html
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "CSP nonce" in warnings[0].getMessage()

    def test_jinja2_install_on_an_existing_environment(self) -> None:
        from personalize_sdk.integrations.django.jinja2 import install

        env = install(jinja2.Environment(autoescape=True))
        # No request in the context: nothing, rather than an error.
        assert env.from_string("[{{ personalize_slot('top') }}]").render() == "[]"


# -- identify at login -------------------------------------------------------------------------


class TestLogin:
    def test_logging_in_links_the_visitor_to_the_customer(self, pz: Personalizer) -> None:
        user = make_user(first_name="Asha", email="asha@example.com")
        client = Client()
        before = visitor_of(client.get("/"), pz)
        response = client.post("/login/", {"username": "asha", "password": "pw-123456"})
        assert response.status_code == 302
        visitor = visitor_of(response, pz)  # a new visitor id at login, as a new session key
        assert visitor != before and pz.profile(before).user_id is None
        profile = pz.profile(visitor)
        assert profile.user_id == str(user.pk)
        assert profile.traits["first_name"] == "Asha"
        assert profile.traits["email"] == "asha@example.com"
        assert client.get("/who/").json() == {"visitor": visitor, "user": str(user.pk)}
        assert "Hi Asha" in client.get("/").content.decode()

    def test_a_first_request_that_logs_in_links_its_new_visitor(self, pz: Personalizer) -> None:
        user = make_user()
        response = Client().post("/login/", {"username": "asha", "password": "pw-123456"})
        assert pz.profile(visitor_of(response, pz)).user_id == str(user.pk)

    def test_custom_traits_by_dotted_path(self, clock: Clock) -> None:
        from personalize_sdk.integrations.django import get_personalizer

        user = make_user(first_name="Asha")
        with override_settings(
            PERSONALIZE={**settings.PERSONALIZE, "user_traits": f"{__name__}.vip_traits"}
        ):
            pz = get_personalizer()
            client = Client()
            client.get("/")
            response = client.post("/login/", {"username": "asha", "password": "pw-123456"})
            visitor = visitor_of(response, pz)
            assert dict(pz.profile(visitor).traits) == {"vip": True, "login": "asha"}
            assert pz.profile(visitor).user_id == str(user.pk)

    def test_client_login_has_no_visitor_and_links_nothing(self, pz: Personalizer) -> None:
        user = make_user()
        client = Client()
        assert client.login(username="asha", password="pw-123456")
        assert pz.stats().get("identifies", 0) == 0
        # The logged-in customer still reaches the handle through request.user.
        assert client.get("/who/").json()["user"] == str(user.pk)


def vip_traits(user: Any) -> dict[str, Any]:
    return {"vip": True, "login": user.username}


# -- a new visitor at logout -------------------------------------------------------------------


class TestLogout:
    def test_logging_out_makes_the_browser_a_new_visitor(self, pz: Personalizer) -> None:
        user = make_user(first_name="Asha")
        client = Client()
        client.get("/")
        login = client.post("/login/", {"username": "asha", "password": "pw-123456"})
        customers_visitor = visitor_of(login, pz)
        assert "Hi Asha" in client.get("/").content.decode()
        views = pz.profile(user_id=str(user.pk)).counters["Page Viewed"]
        response = client.post("/logout/")
        assert response.status_code == 302
        fresh = visitor_of(response, pz)  # set on the logout response itself
        assert fresh != customers_visitor
        # The next person on this browser: greeted as nobody, their browsing theirs alone.
        html = client.get("/").content.decode()
        assert "Hi Asha" not in html and "Hi there" in html
        assert client.get("/who/").json() == {"visitor": fresh, "user": None}
        assert pz.profile(fresh).user_id is None and "first_name" not in pz.profile(fresh).traits
        assert pz.profile(user_id=str(user.pk)).counters["Page Viewed"] == views
        assert pz.profile(user_id=str(user.pk)).traits["first_name"] == "Asha"  # kept
        # A copy of the cookie from before the logout no longer opens it.
        assert pz.profile(customers_visitor).user_id is None

    def test_alogout_over_asgi(self, pz: Personalizer) -> None:
        user = make_user(first_name="Asha")

        async def scenario() -> tuple[str, Any, Any]:
            client = AsyncClient()
            await client.get("/async/")
            login = await client.post("/login/", {"username": "asha", "password": "pw-123456"})
            customers_visitor = visitor_of(login, pz)
            logout = await client.post("/async-logout/")
            return customers_visitor, logout, await client.get("/async/")

        customers_visitor, logout, after = async_to_sync(scenario)()
        fresh = visitor_of(logout, pz)
        assert fresh != customers_visitor and pz.profile(fresh).user_id is None
        assert "Hi there" in after.content.decode()
        assert pz.profile(customers_visitor).user_id is None  # unlinked at the logout
        assert pz.profile(user_id=str(user.pk)).traits["first_name"] == "Asha"


# -- ASGI --------------------------------------------------------------------------------------


class TestAsgi:
    def test_the_middleware_follows_the_handler(self) -> None:
        from personalize_sdk.integrations.django.middleware import PersonalizeMiddleware

        async def async_view(request: Any) -> Any:
            return None

        assert iscoroutinefunction(PersonalizeMiddleware(async_view))
        assert not iscoroutinefunction(PersonalizeMiddleware(lambda request: None))

    def test_cookie_slot_and_page_view_over_asgi(self, pz: Personalizer, tracked: list) -> None:
        async def scenario() -> tuple[Any, Any, Any]:
            client = AsyncClient()
            first = await client.get("/async/")
            second = await client.get("/api/")
            body = json.dumps({"events": [SHOWN]})
            beacon = await client.post(
                BEACON, body, content_type="text/plain", headers={"Origin": ORIGIN}
            )
            return first, second, beacon

        first, second, beacon = async_to_sync(scenario)()
        visitor = visitor_of(first, pz)
        assert 'data-pz-campaign="welcome-bar"' in first.content.decode()
        assert second.json() == {"visitor": visitor}
        assert page_views(tracked)[0][0] == visitor and len(page_views(tracked)) == 1
        assert beacon.status_code == 204
        assert "welcome-bar" in pz.profile(visitor).exposures

    def test_cookies_sent_in_several_headers_as_http2_does(self, pz: Personalizer) -> None:
        # An HTTP/2 server (Daphne, Hypercorn) passes each cookie as a header of its own;
        # Django's ASGIRequest joins them with ",". The visitor must survive that.
        from django.core.asgi import get_asgi_application

        ours = pz.signer.sign("v-ours")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "2", "method": "GET",
            "scheme": "http", "path": "/api/", "raw_path": b"/api/", "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
            "headers": [(b"host", b"testserver"), (b"cookie", b"theme=dark"),
                        (b"cookie", f"pz_vid={ours}".encode()), (b"cookie", b"lang=en")],
        }  # fmt: skip
        sent: list[dict[str, Any]] = []

        requested: list[bool] = []

        async def receive() -> dict[str, Any]:
            if requested:  # Django then listens for a disconnect, cancelled after the response
                await asyncio.Event().wait()
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async_to_sync(get_asgi_application())(scope, receive, send)
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        assert json.loads(body) == {"visitor": "v-ours"}

    def test_a_store_that_may_block_is_written_off_the_event_loop(
        self, clock: Clock, tmp_path: Path
    ) -> None:
        from personalize_sdk.integrations.django import get_personalizer

        store = f"sqlite:///{tmp_path / 'pz.db'}"
        with override_settings(PERSONALIZE={**settings.PERSONALIZE, "store": store}):
            pz = get_personalizer()
            threads: list[threading.Thread] = []
            real = pz.track

            def track(*args: Any, **kwargs: Any) -> Any:
                threads.append(threading.current_thread())
                return real(*args, **kwargs)

            pz.track = track  # type: ignore[method-assign]

            async def scenario() -> tuple[Any, threading.Thread]:
                return await AsyncClient().get("/async/"), threading.current_thread()

            response, loop_thread = async_to_sync(scenario)()
            visitor = visitor_of(response, pz)
            assert threads and loop_thread not in threads  # a SQLite busy wait stalls no loop
            assert pz.profile(visitor).counters["Page Viewed"] == 1
            pz.close()

    def test_the_logged_in_customer_over_asgi(self, pz: Personalizer, tracked: list) -> None:
        user = make_user()
        client = AsyncClient()
        client.force_login(user)
        response = async_to_sync(client.get)("/async/")
        assert f"<p>{user.pk}</p>" in response.content.decode()
        assert page_views(tracked)[0][3] == str(user.pk)


# -- the beacon --------------------------------------------------------------------------------


def post_beacon(client: Client, body: Any, origin: str | None = ORIGIN, **extra: Any) -> Any:
    if origin is not None:
        extra["HTTP_ORIGIN"] = origin
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(BEACON, data, content_type="text/plain", **extra)


class TestBeacon:
    @pytest.fixture
    def client(self, pz: Personalizer) -> Client:
        client = Client()
        client.get("/")  # the page that rendered the widget, and set the cookie
        return client

    def test_accepted(self, pz: Personalizer, client: Client) -> None:
        visitor = visitor_of(client.get("/"), pz)
        response = post_beacon(client, {"events": [SHOWN]})
        assert response.status_code == 204 and response.content == b""
        assert "welcome-bar" in pz.profile(visitor).exposures

    def test_a_referer_of_this_site_will_do(self, client: Client) -> None:
        response = post_beacon(client, {"events": [SHOWN]}, origin=None,
                               HTTP_REFERER="http://testserver/p/w-1")  # fmt: skip
        assert response.status_code == 204

    def test_only_post(self, client: Client) -> None:
        response = client.get(BEACON)
        assert response.status_code == 405 and response["Allow"] == "POST"

    @pytest.mark.parametrize("origin", ["https://evil.example", "null", None])
    def test_cross_origin_is_refused(self, pz: Personalizer, client: Client, origin: Any) -> None:
        response = post_beacon(client, {"events": [SHOWN]}, origin=origin)
        assert response.status_code == 403 and "error" in response.json()

    def test_without_a_visitor_cookie_is_refused(self, pz: Personalizer) -> None:
        response = post_beacon(Client(), {"events": [SHOWN]})
        assert response.status_code == 403 and "cookie" in response.json()["error"]

    def test_too_large_is_refused(self, client: Client) -> None:
        response = post_beacon(client, b"{" + b" " * 9000 + b"}")
        assert response.status_code == 413

    def test_too_many_is_refused(self, pz: Personalizer, clock: Clock) -> None:
        limited = {**settings.PERSONALIZE, "clock": clock, "beacons_per_minute": 2}
        with override_settings(PERSONALIZE=limited):
            client = Client()
            client.get("/")
            answers = [post_beacon(client, {"events": [SHOWN]}).status_code for _ in range(3)]
        assert answers == [204, 204, 429]

    @pytest.mark.parametrize(
        "body",
        [{"events": [{**SHOWN, "campaign": "no-such-campaign"}]}, "not json", b"\xff\xfe",
         {"events": "many"}, {"events": [{**SHOWN, "type": "<script>"}]}],
    )  # fmt: skip
    def test_invalid_entries_are_a_400(self, client: Client, body: Any) -> None:
        response = post_beacon(client, body)
        assert response.status_code == 400
        assert response.json()["accepted"] == 0

    def test_the_beacon_is_csrf_exempt(self, pz: Personalizer) -> None:
        client = Client(enforce_csrf_checks=True)
        client.get("/")
        assert post_beacon(client, {"events": [SHOWN]}).status_code == 204


# -- static files ------------------------------------------------------------------------------


class TestStatic:
    @pytest.mark.parametrize(
        ("name", "text", "content_type"),
        [("personalize.js", assets.script, "text/javascript"),
         ("personalize.css", assets.stylesheet, "text/css")],
    )  # fmt: skip
    def test_served_with_an_etag_and_304(
        self, pz: Personalizer, name: str, text: Any, content_type: str
    ) -> None:
        client = Client()
        response = client.get(f"/_personalize/static/{name}")
        assert response.status_code == 200 and response.content == text().encode()
        assert response["Content-Type"].startswith(content_type)
        assert "max-age" in response["Cache-Control"]
        again = client.get(f"/_personalize/static/{name}", HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304 and again.content == b""
        stale = client.get(f"/_personalize/static/{name}", HTTP_IF_NONE_MATCH='"stale"')
        assert stale.status_code == 200

    def test_unknown_files_and_methods(self, pz: Personalizer) -> None:
        client = Client()
        assert client.get("/_personalize/static/settings.py").status_code == 404
        assert client.get("/_personalize/static/..%2Fsettings.py").status_code == 404
        assert client.post("/_personalize/static/personalize.js").status_code == 405
        assert client.head("/_personalize/static/personalize.js").status_code == 200


# -- system checks, startup and the management command -----------------------------------------


BROKEN_TOML = """
[[campaigns]]
id = "bar"
kind = "no_such_kind"
text = "hello"
"""


@pytest.fixture
def broken_config(tmp_path: Path) -> str:
    path = tmp_path / "personalize.toml"
    path.write_text(BROKEN_TOML)
    return str(path)


class TestChecks:
    def test_the_test_project_passes(self, pz: Personalizer) -> None:
        assert run_checks() == []

    @pytest.mark.parametrize(
        ("setting", "named"),
        [("not a dict", "expected a dict"), ({"colour": "red"}, "colour"),
         ({"config": "/no/such/personalize.toml"}, "personalize.toml"),
         ({"prefix": "no-slash"}, "prefix"), ({"secret": "short"}, "secret"),
         ({"user_traits": "no_such_module.traits"}, "no_such_module"),
         ({"user_traits": 42}, "user_traits")],
    )  # fmt: skip
    def test_a_broken_setting_is_a_check_error_not_a_crash(self, setting: Any, named: str) -> None:
        from personalize_sdk.integrations.django import get_personalizer

        with override_settings(PERSONALIZE=setting):
            errors = run_checks()
            assert [error.id for error in errors] == ["personalize.E001"]
            assert named in errors[0].msg and errors[0].level == checks.ERROR
            with pytest.raises(SystemCheckError, match=r"personalize\.E001"):
                call_command("check")
            with pytest.raises(ImproperlyConfigured, match="not configured"):
                get_personalizer()
            # The site does not start half-configured: the middleware refuses to load.
            with pytest.raises(ImproperlyConfigured, match=named.split(maxsplit=1)[0]):
                Client().get("/")

    def test_a_broken_config_file_is_named(self, broken_config: str) -> None:
        with override_settings(PERSONALIZE={"config": broken_config}):
            (error,) = run_checks()
        assert broken_config in error.msg and "kind" in error.msg

    def test_a_prefix_the_urls_and_beacon_url_disagree_with(self) -> None:
        with override_settings(PERSONALIZE={**settings.PERSONALIZE, "prefix": "/pz"}):
            ids = sorted(message.id for message in run_checks())
        assert ids == ["personalize.W001", "personalize.W003"]

    def test_middleware_missing_or_before_authentication(self, pz: Personalizer) -> None:
        mine, auth = settings.MIDDLEWARE[-1], settings.MIDDLEWARE[-2]
        with override_settings(MIDDLEWARE=settings.MIDDLEWARE[:-1]):
            assert [message.id for message in run_checks()] == ["personalize.W004"]
        with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE[:-2], mine, auth]):
            assert [message.id for message in run_checks()] == ["personalize.W005"]

    def test_the_secret_defaults_to_a_long_secret_key(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from personalize_sdk.integrations.django import get_personalizer

        monkeypatch.delenv("PERSONALIZE_SECRET", raising=False)
        no_secret = {key: value for key, value in settings.PERSONALIZE.items() if key != "secret"}
        with override_settings(PERSONALIZE=no_secret):
            assert not get_personalizer().secret_is_ephemeral
            assert run_checks() == []
            with override_settings(SECRET_KEY="short"):
                assert get_personalizer().secret_is_ephemeral
                assert [message.id for message in run_checks()] == ["personalize.W002"]


class TestManagementCommand:
    def test_a_valid_config_exits_0(self, capsys: pytest.CaptureFixture[str]) -> None:
        ManagementUtility(["manage.py", "personalize_check"]).execute()
        assert "personalize config OK: 12 campaigns" in capsys.readouterr().out

    def test_a_broken_config_exits_1_with_the_message(
        self, broken_config: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        utility = ManagementUtility(["manage.py", "personalize_check", "--config", broken_config])
        with pytest.raises(SystemExit) as exited:
            utility.execute()
        assert exited.value.code == 1
        err = capsys.readouterr().err
        assert broken_config in err and "kind" in err

    def test_a_broken_setting_exits_1(self, capsys: pytest.CaptureFixture[str]) -> None:
        with override_settings(PERSONALIZE={"colour": "red"}), pytest.raises(SystemExit) as exited:
            ManagementUtility(["manage.py", "personalize_check"]).execute()
        assert exited.value.code == 1 and "colour" in capsys.readouterr().err
