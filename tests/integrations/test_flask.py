"""The Flask extension through Flask's real test client: the visitor cookie, page tracking,
slots and assets in Jinja templates, the hardened beacon, Flask-Login and app factories."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask, abort, g, jsonify, render_template_string, request
from flask.testing import FlaskClient

from personalize_sdk import ConfigError, Personalizer
from personalize_sdk.integrations import _static
from personalize_sdk.integrations.flask import Personalize
from tests.helpers import Clock

try:
    import flask_login
except ImportError:  # Flask-Login is optional; CI installs it with the dev extra
    flask_login = None

DATA = Path(__file__).resolve().parent.parent / "data"
SECRET = "flask-integration-secret-0123"
ORIGIN = "http://localhost"  # the test client's host
BEACON = "/_personalize/beacon"
SHOWN = json.dumps(
    {
        "events": [
            {"type": "shown", "campaign": "welcome-bar", "variant": "default",
             "kind": "hello_bar", "slot": "top", "path": "/"}
        ]
    }
)  # fmt: skip
PAGE = """<!doctype html><html><head>{{ personalize_assets() }}</head>
<body>{{ personalize_slot("top") }}<main>{{ message }}</main></body></html>"""


def make_app(extension: Personalize | None = None, testing: bool = True, **settings: Any) -> Flask:
    """A small shop: HTML pages with a slot, a JSON API, a form post and a failing view."""
    app = Flask(__name__)
    app.config.update(TESTING=testing, SECRET_KEY="the-flask-secret-key-0123456789")
    app.config["PERSONALIZE"] = {"config": DATA / "shop.toml", "secret": SECRET, **settings}

    @app.get("/")
    def home() -> str:
        return render_template_string(PAGE, message="home")

    @app.get("/p/<sku>")
    def product(sku: str) -> str:
        return render_template_string(PAGE, message=sku)

    @app.get("/api/cart")
    def api() -> Any:
        return jsonify(items=[])

    @app.post("/newsletter")
    def newsletter() -> str:
        return "<p>thanks</p>"

    @app.get("/missing")
    def missing() -> str:
        abort(404)

    @app.get("/logo.gif")
    def logo() -> Any:  # what a CDN may keep for everyone
        response = app.response_class(b"GIF89a", mimetype="image/gif")
        for value in request.args.getlist("cache") or ["public, max-age=86400"]:
            response.headers.add("Cache-Control", value)  # one header each
        return response

    @app.get("/lost")
    def lost() -> Any:  # a 404 page with the shop's slots
        return render_template_string(PAGE, message="?"), 404

    @app.get("/api/widgets")
    def widgets_api() -> Any:  # a headless storefront's API
        return jsonify([dict(widget.data) for widget in g.personalize.widgets("top")])

    @app.get("/boom")
    def boom() -> str:
        raise ValueError("the shop's own bug")

    @app.get("/whoami")
    def whoami() -> Any:
        return jsonify(visitor=g.personalize.visitor_id, user=g.personalize.user_id)

    (extension or Personalize()).init_app(app)
    return app


def personalizer_of(app: Flask) -> Personalizer:
    with app.app_context():
        return app.extensions["personalize"].personalizer


def visitor_of(client: FlaskClient, app: Flask) -> str:
    cookie = client.get_cookie("pz_vid")
    assert cookie is not None
    visitor_id = personalizer_of(app).signer.unsign(cookie.value)
    assert visitor_id is not None
    return visitor_id


@pytest.fixture
def app() -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class TestVisitorCookie:
    def test_a_new_visitor_gets_a_signed_httponly_lax_cookie(
        self, app: Flask, client: FlaskClient
    ) -> None:
        response = client.get("/")
        assert response.status_code == 200
        cookie = client.get_cookie("pz_vid")
        assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
        assert cookie.path == "/" and not cookie.secure and cookie.max_age == 365 * 86_400
        assert visitor_of(client, app).startswith("v-")
        assert "Cookie" in response.headers["Vary"]

    def test_what_shows_the_shopper_varies_by_cookie_whatever_its_status_or_type(
        self, client: FlaskClient
    ) -> None:
        client.get("/")
        for response in (client.head("/"), client.get("/lost"), client.get("/api/widgets")):
            assert "Cookie" in response.headers.get("Vary", ""), response.request.path
        assert client.get("/api/widgets").json[0]["campaign_id"] == "welcome-bar"
        for path in ("/whoami", "/api/cart", "/missing"):
            assert "Vary" not in client.get(path).headers, path  # nothing of the shopper

    def test_no_cookie_on_what_a_shared_cache_may_keep(self, client: FlaskClient) -> None:
        for cache in ("public, max-age=86400", "s-maxage=600"):
            response = client.get("/logo.gif", query_string={"cache": cache})
            assert response.status_code == 200 and "Set-Cookie" not in response.headers
        two = client.get("/logo.gif", query_string=[("cache", "max-age=600"), ("cache", "public")])
        assert "Set-Cookie" not in two.headers  # the directives of every header count
        private = client.get("/logo.gif", query_string={"cache": "private, max-age=60"})
        assert private.headers["Set-Cookie"].startswith("pz_vid=")

    def test_of_two_cookies_the_page_and_the_beacon_take_the_first_that_verifies(
        self, app: Flask
    ) -> None:
        pz = personalizer_of(app)
        ours = pz.signer.sign("v-ours")
        foreign = Personalizer(secret="another-shop-secret-12345").signer.sign("v-theirs")
        client = app.test_client(use_cookies=False)
        for header in (f"pz_vid={foreign}; pz_vid={ours}", f"pz_vid={ours}; pz_vid={foreign}"):
            assert client.get("/whoami", headers={"Cookie": header}).json["visitor"] == "v-ours"
            headers = {"Cookie": header, "Origin": ORIGIN}
            assert client.post(BEACON, data=SHOWN, headers=headers).status_code == 204
        assert pz.profile("v-ours").exposures["welcome-bar"].shown == 2
        assert pz.profile("v-theirs").exposures == {}

    def test_https_makes_it_secure(self, client: FlaskClient) -> None:
        response = client.get("/", base_url="https://localhost")
        assert "Secure" in response.headers["Set-Cookie"]

    def test_the_visitor_is_kept_across_requests(self, app: Flask, client: FlaskClient) -> None:
        first = client.get("/whoami").json
        second = client.get("/whoami").json
        assert first["visitor"] == second["visitor"] == visitor_of(client, app)
        # Kept on a JSON answer without a new header; renewed on the next HTML page.
        assert "Set-Cookie" not in client.get("/api/cart").headers
        assert client.get("/").headers["Set-Cookie"].startswith("pz_vid=")
        assert visitor_of(client, app) == first["visitor"]

    @pytest.mark.parametrize(
        "forged",
        ["tampered", "v-attacker.AAAAAAAA", "v-é.x", "x" * 3000, "'; DROP TABLE visitors; --"],
    )
    def test_a_tampered_cookie_is_a_new_visitor(
        self, app: Flask, client: FlaskClient, forged: str
    ) -> None:
        original = client.get("/whoami").json["visitor"]
        cookie = client.get_cookie("pz_vid")
        assert cookie is not None
        client.set_cookie("pz_vid", cookie.value[:-3] + "AAA" if forged == "tampered" else forged)
        response = client.get("/whoami")
        assert response.status_code == 200
        fresh = response.json["visitor"]
        assert fresh != original and fresh.startswith("v-") and fresh != "v-attacker"
        assert visitor_of(client, app) == fresh  # a new, valid cookie replaced the bad one

    def test_a_cookie_the_view_sets_itself_is_left_alone(self, app: Flask) -> None:
        @app.get("/logout-everywhere")
        def forget_me() -> Any:
            response = app.make_response("<p>bye</p>")
            response.delete_cookie("pz_vid")
            return response

        response = app.test_client().get("/logout-everywhere")
        cookies = response.headers.getlist("Set-Cookie")
        assert len(cookies) == 1 and "Max-Age=0" in cookies[0]

    def test_signed_with_the_apps_secret_key_when_no_secret_is_given(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("PERSONALIZE_SECRET", raising=False)
        settings = {"config": DATA / "shop.toml"}
        workers = []
        for _ in range(2):  # two workers of one shop, sharing only the Flask SECRET_KEY
            worker = Flask(__name__)
            worker.config.update(SECRET_KEY="the-flask-secret-key-0123456789",
                                 PERSONALIZE=settings)  # fmt: skip
            worker.add_url_rule("/", "home", lambda: render_template_string(PAGE, message=""))
            Personalize(worker)
            workers.append(worker)
        assert not personalizer_of(workers[0]).secret_is_ephemeral
        browser = workers[0].test_client()
        browser.get("/")
        cookie = browser.get_cookie("pz_vid")
        assert cookie is not None
        assert personalizer_of(workers[1]).signer.unsign(cookie.value) == visitor_of(
            browser, workers[0]
        )


class RecordingPersonalizer(Personalizer):
    """A real Personalizer that also keeps the events it was asked to track."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tracked: list[tuple[str | None, str, Mapping[str, Any] | None]] = []

    def track(
        self, visitor_id: str | None, event: str, properties: Any = None, **kwargs: Any
    ) -> str | None:
        self.tracked.append((visitor_id, event, properties))
        return super().track(visitor_id, event, properties, **kwargs)


class TestPageViews:
    def test_html_get_pages_are_tracked_with_their_properties(self) -> None:
        pz = RecordingPersonalizer(DATA / "shop.toml", secret=SECRET, clock=Clock())
        app = Flask(__name__)
        app.add_url_rule("/p/<sku>", "product", lambda sku: render_template_string(PAGE))
        Personalize(app, personalizer=pz)
        client = app.test_client()
        client.get("/p/w-1?ref=mail", headers={"Referer": "https://search.example/q=watch"})
        visitor = visitor_of(client, app)
        assert pz.tracked == [
            (
                visitor,
                "Page Viewed",
                {"path": "/p/w-1", "page_type": "product", "url": "http://localhost/p/w-1?ref=mail",
                 "referrer": "https://search.example/q=watch"},
            )
        ]  # fmt: skip
        profile = pz.profile(visitor)
        assert profile.counters["Page Viewed"] == 1
        assert profile.session is not None and profile.session.page_type == "product"

    def test_only_html_get_200_pages_are_tracked(self, app: Flask, client: FlaskClient) -> None:
        client.get("/")
        pz = personalizer_of(app)
        visitor = visitor_of(client, app)
        assert pz.profile(visitor).counters["Page Viewed"] == 1
        assert client.get("/api/cart").status_code == 200  # JSON
        assert client.get("/missing").status_code == 404
        assert client.get("/no-such-page").status_code == 404
        assert client.post("/newsletter").status_code == 200  # HTML, but a POST
        assert client.head("/").status_code == 200
        assert client.post(BEACON, data=SHOWN, headers={"Origin": ORIGIN}).status_code == 204
        assert client.get("/_personalize/static/personalize.js").status_code == 200
        assert pz.profile(visitor).counters["Page Viewed"] == 1
        client.get("/")
        assert pz.profile(visitor).counters["Page Viewed"] == 2

    def test_page_tracking_can_be_turned_off(self) -> None:
        app = make_app(track_page_views=False)
        client = app.test_client()
        client.get("/")
        assert "Page Viewed" not in personalizer_of(app).profile(visitor_of(client, app)).counters

    def test_a_broken_page_type_hook_does_not_break_the_page(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        def page_type(path: str) -> str:
            raise RuntimeError("the shop's hook is broken")

        app = make_app(page_type=page_type)
        response = app.test_client().get("/")
        assert response.status_code == 200 and b"<main>home</main>" in response.data
        assert "page type" in caplog.text


class TestTemplates:
    def test_the_slot_renders_the_hello_bar(self, client: FlaskClient) -> None:
        html = client.get("/").get_data(as_text=True)
        assert 'data-pz-campaign="welcome-bar"' in html
        assert "Hi there, free shipping on orders over $50" in html
        assert 'data-pz-beacon="/_personalize/beacon"' in html
        assert "&lt;" not in html.split("<main>")[0]  # inserted as markup, not escaped twice

    def test_the_slot_greets_a_customer_by_name(self, app: Flask) -> None:
        @app.get("/hello")
        def hello() -> str:
            g.personalize.identify("u-7", {"first_name": request.args["name"]})
            return render_template_string(PAGE, message="")

        response = app.test_client().get("/hello", query_string={"name": "<b>Asha</b>"})
        html = response.get_data(as_text=True)
        assert "Hi &lt;b&gt;Asha&lt;/b&gt;, free shipping" in html  # escaped, never raw

    def test_the_assets_tags(self, client: FlaskClient) -> None:
        html = client.get("/").get_data(as_text=True)
        assert '<link rel="stylesheet" href="/_personalize/static/personalize.css">' in html
        assert '<script defer src="/_personalize/static/personalize.js"></script>' in html

    def test_the_assets_take_a_csp_nonce(self, app: Flask) -> None:
        with app.test_request_context("/"):
            tags = render_template_string("{{ personalize_assets(nonce='abc123') }}")
        assert tags.count('nonce="abc123"') == 2

    def test_a_csp_nonce_as_flask_talisman_gives_it(
        self, app: Flask, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Flask-Talisman registers `csp_nonce` as a Jinja global function.
        app.jinja_env.globals["csp_nonce"] = lambda: "bm9uY2UtMTIz"

        @app.get("/csp/<how>")
        def csp(how: str) -> str:
            nonce = "csp_nonce()" if how == "called" else "csp_nonce"
            return render_template_string(f"{{{{ personalize_assets(nonce={nonce}) }}}}")

        monkeypatch.setattr(_static, "_bad_nonces_seen", set())
        client = app.test_client()
        assert client.get("/csp/called").text.count('nonce="bm9uY2UtMTIz"') == 2
        for _ in range(2):  # the function itself, not called: the tags without a nonce
            response = client.get("/csp/uncalled")
            assert response.status_code == 200 and "nonce" not in response.text
            assert '<script defer src="/_personalize/static/personalize.js">' in response.text
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "csp_nonce()" in warnings[0].getMessage()

    def test_outside_a_request_the_slot_is_empty(self, app: Flask) -> None:
        with app.app_context():
            assert render_template_string('[{{ personalize_slot("top") }}]') == "[]"


class TestStaticFiles:
    @pytest.mark.parametrize(
        ("name", "content_type"),
        [("personalize.js", "text/javascript"), ("personalize.css", "text/css")],
    )
    def test_served_with_their_type_and_a_validator(
        self, client: FlaskClient, name: str, content_type: str
    ) -> None:
        response = client.get(f"/_personalize/static/{name}")
        assert response.status_code == 200
        assert response.mimetype == content_type and response.data
        assert response.headers["Cache-Control"] == "public, max-age=3600"
        etag = response.headers["ETag"]
        again = client.get(f"/_personalize/static/{name}", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        other = client.get(f"/_personalize/static/{name}", headers={"If-None-Match": '"old"'})
        assert other.status_code == 200
        assert "Set-Cookie" not in response.headers  # no visitor for the SDK's own routes

    @pytest.mark.parametrize("name", ["nope.js", "../../etc/passwd", "personalize.js/x"])
    def test_anything_else_is_404(self, client: FlaskClient, name: str) -> None:
        assert client.get(f"/_personalize/static/{name}").status_code == 404


class TestBeacon:
    @pytest.fixture
    def app(self) -> Flask:
        return make_app(beacons_per_minute=3)

    @pytest.fixture
    def visitor(self, app: Flask, client: FlaskClient) -> str:
        client.get("/")  # the page that showed the widget sets the cookie
        return visitor_of(client, app)

    def test_accepted(self, app: Flask, client: FlaskClient, visitor: str) -> None:
        response = client.post(BEACON, data=SHOWN, headers={"Origin": ORIGIN})
        assert response.status_code == 204 and response.data == b""
        assert personalizer_of(app).profile(visitor).exposures["welcome-bar"].shown == 1

    def test_accepted_by_referer_when_there_is_no_origin(
        self, app: Flask, client: FlaskClient, visitor: str
    ) -> None:
        response = client.post(BEACON, data=SHOWN, headers={"Referer": ORIGIN + "/p/w-1"})
        assert response.status_code == 204

    @pytest.mark.parametrize(
        ("method", "headers", "body", "status"),
        [
            ("GET", {"Origin": ORIGIN}, "", 405),
            ("PUT", {"Origin": ORIGIN}, SHOWN, 405),
            ("POST", {"Origin": "https://evil.example"}, SHOWN, 403),
            ("POST", {"Origin": "null", "Referer": "https://evil.example/"}, SHOWN, 403),
            ("POST", {}, SHOWN, 403),
            ("POST", {"Origin": ORIGIN}, "x" * 9000, 413),
            ("POST", {"Origin": ORIGIN}, "{not json", 400),
            ("POST", {"Origin": ORIGIN}, json.dumps({"events": [{"type": "shown",
             "campaign": "no-such-campaign", "variant": "default"}]}), 400),
        ],
    )  # fmt: skip
    def test_refused_and_nothing_recorded(
        self,
        app: Flask,
        client: FlaskClient,
        visitor: str,
        method: str,
        headers: dict[str, str],
        body: str,
        status: int,
    ) -> None:
        response = client.open(BEACON, method=method, data=body, headers=headers)
        assert response.status_code == status
        assert response.mimetype == "application/json"
        answer = response.json
        assert answer is not None and ("error" in answer or "rejected" in answer)
        if status == 405:
            assert response.headers["Allow"] == "POST"
        assert personalizer_of(app).profile(visitor).exposures == {}

    def test_refused_without_a_visitor_cookie(self, app: Flask, client: FlaskClient) -> None:
        response = client.post(BEACON, data=SHOWN, headers={"Origin": ORIGIN})
        assert response.status_code == 403
        assert client.get_cookie("pz_vid") is None  # the beacon issues no visitor
        client.set_cookie("pz_vid", "v-someone-else.forged")
        assert client.post(BEACON, data=SHOWN, headers={"Origin": ORIGIN}).status_code == 403

    def test_rate_limited(self, app: Flask, client: FlaskClient, visitor: str) -> None:
        statuses = [
            client.post(BEACON, data=SHOWN, headers={"Origin": ORIGIN}).status_code
            for _ in range(4)
        ]
        assert statuses == [204, 204, 204, 429]
        assert personalizer_of(app).profile(visitor).exposures["welcome-bar"].shown == 3

    def test_an_oversized_body_is_not_read(
        self, app: Flask, client: FlaskClient, visitor: str
    ) -> None:
        stream = CountingStream(b"x" * 100_000)
        response = client.post(
            BEACON, input_stream=stream, content_length=100_000, headers={"Origin": ORIGIN}
        )
        assert response.status_code == 413 and stream.asked == 0

    def test_a_body_without_a_length_is_read_up_to_the_cap(
        self, app: Flask, client: FlaskClient, visitor: str
    ) -> None:
        stream = CountingStream(b"x" * 100_000)
        response = client.post(
            BEACON,
            input_stream=stream,
            headers={"Origin": ORIGIN},
            environ_overrides={"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True},
        )
        assert response.status_code == 413
        assert stream.asked == 8 * 1024 + 1
        assert personalizer_of(app).profile(visitor).exposures == {}


class CountingStream(io.BytesIO):
    """A request body (the WSGI input) that counts the bytes read from it."""

    asked = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.asked += len(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self.asked += count
        return count


class TestErrors:
    def test_an_error_in_a_view_propagates_under_testing(self, client: FlaskClient) -> None:
        with pytest.raises(ValueError, match="the shop's own bug"):
            client.get("/boom")

    def test_an_error_in_a_view_is_a_500_in_production(self) -> None:
        app = make_app(testing=False)
        client = app.test_client()
        response = client.get("/boom")
        assert response.status_code == 500
        assert "Page Viewed" not in personalizer_of(app).profile(visitor_of(client, app)).counters

    def test_the_shops_error_handler_still_answers(self, app: Flask) -> None:
        @app.errorhandler(ValueError)
        def teapot(error: ValueError) -> tuple[str, int]:
            return f"<p>{error}</p>", 418

        response = app.test_client().get("/boom")
        assert response.status_code == 418 and b"the shop's own bug" in response.data

    @pytest.mark.parametrize(
        ("config", "field"),
        [
            ({"colour": "red"}, "colour"),
            ({"prefix": "no-slash"}, "prefix"),
            ({"user_traits": "not callable"}, "user_traits"),
            ({"beacon_max_bytes": float("nan")}, "beacon_max_bytes"),
        ],
    )
    def test_bad_settings_fail_at_startup_naming_the_field(
        self, config: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(ConfigError) as raised:
            make_app(**config)
        assert raised.value.field == field

    def test_the_setting_must_be_a_dict(self) -> None:
        app = Flask(__name__)
        app.config["PERSONALIZE"] = ["config.toml"]
        with pytest.raises(ConfigError, match="expected a dict"):
            Personalize(app)

    def test_a_missing_config_file_names_the_setting(self) -> None:
        with pytest.raises(ConfigError):
            make_app(config=DATA / "no-such-file.toml")

    def test_a_beacon_url_the_blueprint_does_not_serve_is_a_warning(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="personalize_sdk.flask"):
            make_app(prefix="/pz")
        assert "beacon_url" in caplog.text and "/pz/beacon" in caplog.text

    def test_set_up_twice_on_one_app_is_an_error(self, app: Flask) -> None:
        with pytest.raises(ConfigError, match="already"):
            Personalize(app)


class TestAppFactory:
    def test_one_extension_several_apps(self) -> None:
        personalize = Personalize(secret=SECRET)  # created before any app, at import time

        def create_app(prefix: str) -> Flask:
            return make_app(personalize, prefix=prefix)

        first, second = create_app("/_personalize"), create_app("/pz")
        assert first.extensions["personalize"] is second.extensions["personalize"] is personalize
        assert personalizer_of(first) is not personalizer_of(second)
        with second.app_context():
            assert personalize.settings.beacon_path == "/pz/beacon"
        one, two = first.test_client(), second.test_client()
        assert one.get("/_personalize/static/personalize.js").status_code == 200
        assert two.get("/pz/static/personalize.js").status_code == 200
        assert two.get("/_personalize/static/personalize.js").status_code == 404
        assert '<script defer src="/pz/static/personalize.js">' in two.get("/").text
        one.get("/")
        visitor = visitor_of(one, first)
        assert personalizer_of(first).profile(visitor).counters["Page Viewed"] == 1
        assert personalizer_of(second).profile(visitor).counters == {}

    def test_the_apps_config_wins_over_the_constructor(self) -> None:
        app = make_app(Personalize(prefix="/from-constructor"), prefix="/from-config")
        assert app.test_client().get("/from-config/static/personalize.css").status_code == 200

    def test_outside_an_app_the_extension_says_what_is_missing(self) -> None:
        personalize = Personalize()
        app = Flask(__name__)
        with app.app_context(), pytest.raises(RuntimeError, match="init_app"):
            _ = personalize.personalizer


@pytest.fixture
def login_manager() -> Iterator[Any]:
    if flask_login is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Flask-Login is missing: CI installs the dev extra, which has it")
        pytest.skip("Flask-Login is not installed (pip install flask-login)")
    yield flask_login.LoginManager()


class Customer:
    def __init__(self, user_id: str, first_name: str) -> None:
        self.id = user_id
        self.first_name = first_name
        self.email = f"{first_name.lower()}@example.com"
        self.is_authenticated = True
        self.is_active = True
        self.is_anonymous = False

    def get_id(self) -> str:
        return self.id


class TestFlaskLogin:
    CUSTOMERS: ClassVar[dict[str, Customer]] = {"u-42": Customer("u-42", "Asha")}

    @pytest.fixture
    def app(self, login_manager: Any) -> Flask:
        app = make_app()
        login_manager.init_app(app)
        login_manager.user_loader(self.CUSTOMERS.get)

        @app.post("/login")
        def login() -> str:
            flask_login.login_user(self.CUSTOMERS["u-42"])
            return "<p>welcome back</p>"

        @app.post("/logout")
        def logout() -> str:
            flask_login.logout_user()
            return "<p>bye</p>"

        return app

    def test_login_links_the_visitor_to_the_customer(self, app: Flask, client: FlaskClient) -> None:
        client.get("/p/w-1")  # browsing anonymously
        before = visitor_of(client, app)
        assert client.get("/whoami").json["user"] is None
        client.post("/login")
        pz = personalizer_of(app)
        visitor = visitor_of(client, app)  # a new visitor id at login, as a new session
        assert visitor != before and pz.profile(before).user_id is None
        profile = pz.profile(visitor)
        assert profile.user_id == "u-42"
        assert profile.traits["first_name"] == "Asha"
        assert profile.traits["email"] == "asha@example.com"
        assert profile.counters["Page Viewed"] == 1  # the anonymous history came along
        assert client.get("/whoami").json == {"visitor": visitor, "user": "u-42"}
        assert "Hi Asha, free shipping" in client.get("/").text
        assert pz.profile(user_id="u-42").counters["Page Viewed"] == 2

    def test_logout_makes_the_browser_a_new_visitor(self, app: Flask, client: FlaskClient) -> None:
        client.get("/")
        client.post("/login")
        customers_visitor = visitor_of(client, app)
        assert "Hi Asha" in client.get("/").text
        pz = personalizer_of(app)
        views = pz.profile(user_id="u-42").counters["Page Viewed"]
        response = client.post("/logout")
        assert response.headers["Set-Cookie"].startswith("pz_vid=")  # on the logout response
        fresh = visitor_of(client, app)
        assert fresh != customers_visitor
        # The next person on this browser: greeted as nobody, their browsing theirs alone.
        assert "Hi there" in client.get("/").text
        assert client.get("/whoami").json == {"visitor": fresh, "user": None}
        assert pz.profile(fresh).user_id is None and "first_name" not in pz.profile(fresh).traits
        assert pz.profile(user_id="u-42").counters["Page Viewed"] == views
        assert pz.profile(user_id="u-42").traits["first_name"] == "Asha"  # the customer's kept
        assert pz.profile(customers_visitor).user_id is None  # the old cookie opens nothing

    def test_a_login_on_the_first_request_links_the_new_visitor(
        self, app: Flask, client: FlaskClient
    ) -> None:
        client.post("/login")  # no cookie yet: the visitor is born in this request
        visitor = visitor_of(client, app)
        assert personalizer_of(app).profile(visitor).user_id == "u-42"

    def test_custom_traits(self, login_manager: Any) -> None:
        app = make_app(user_traits=lambda user: {"tier": "gold"})
        login_manager.init_app(app)

        @app.post("/login")
        def login() -> str:
            flask_login.login_user(self.CUSTOMERS["u-42"])
            return ""

        client = app.test_client()
        client.post("/login")
        traits = personalizer_of(app).profile(visitor_of(client, app)).traits
        assert traits["tier"] == "gold" and "first_name" not in traits

    def test_a_failing_user_store_does_not_break_the_page(
        self, login_manager: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        app = make_app()
        login_manager.init_app(app)

        @login_manager.user_loader
        def load(user_id: str) -> Any:
            raise ConnectionError("the user database is down")

        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = "u-42"
        response = client.get("/whoami")
        assert response.status_code == 200 and response.json["user"] is None
        assert "current_user" in caplog.text


def test_without_flask_login_the_view_identifies_the_customer() -> None:
    """The documented fallback: no Flask-Login on the app, the view calls identify itself."""
    app = make_app()

    @app.post("/login")
    def login() -> str:
        g.personalize.identify("u-9", {"first_name": "Ravi"})
        return "<p>welcome</p>"

    client = app.test_client()
    client.get("/")
    client.post("/login")
    visitor = visitor_of(client, app)
    assert personalizer_of(app).profile(visitor).user_id == "u-9"
    assert "Hi Ravi" in client.get("/").text
