"""Flask integration: ``Personalize(app)``, or ``personalize.init_app(app)`` in an app factory.

Configured from ``app.config["PERSONALIZE"]`` (a dict: ``config``, ``secret``, ``catalog``,
``prefix``, ``cookie_name`` ... see `IntegrationSettings`), merged over the keyword arguments
given to `Personalize` (the app's own config wins: the extension may serve several apps). For
each app it builds one `Personalizer` and:

- before each request, resolves the visitor (a signed cookie; missing or tampered: a new
  visitor), the `Page` and the logged-in customer (Flask-Login's ``current_user``, when
  installed) into ``g.personalize``, a `RequestPersonalize`;
- after it, sets the cookie for a new visitor (and renews it on each HTML page) and tracks
  ``Page Viewed`` for a GET answered 200 with ``text/html``;
- adds the Jinja globals ``personalize_slot(slot)`` and ``personalize_assets()``;
- mounts a blueprint at the prefix: the beacon (``POST {prefix}/beacon``) and the widgets'
  script and stylesheet (``{prefix}/static/...``);
- with Flask-Login, links the visitor to the customer on ``user_logged_in``, and on
  ``user_logged_out`` makes the browser a new anonymous visitor (a new cookie on the response).

See docs/quickstart-flask.md.
"""

from __future__ import annotations

try:
    import flask
    from flask import Blueprint, Flask, Response, current_app, g, has_request_context, request
    from werkzeug.exceptions import SecurityError
except ImportError as error:  # pragma: no cover - exercised only without Flask installed
    raise ImportError(
        'personalize_sdk.integrations.flask needs Flask: pip install "personalize-sdk[flask]"'
    ) from error

import logging
import weakref
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from personalize_sdk import Page, Personalizer
from personalize_sdk._exceptions import ConfigError

from ._beacon import RateLimiter, answer_beacon
from ._framework import UserTraits, build_from_settings, default_user_traits
from ._handle import RequestPersonalize
from ._pages import PageResolver
from ._settings import IntegrationSettings
from ._static import asset_tags, static_file
from ._visitor import (
    Visitor,
    request_visitor,
    set_cookie_header,
    shared_cacheable,
    visitor_from_header,
)

try:  # Flask-Login is optional: without it there is no customer to read or to identify on login
    import flask_login
    from flask_login.signals import user_logged_in, user_logged_out
except ImportError:
    flask_login = None
    user_logged_in = None
    user_logged_out = None

__all__ = ["EXTENSION", "Personalize", "default_user_traits"]

logger = logging.getLogger("personalize_sdk.flask")

EXTENSION = "personalize"
"""The key in ``app.extensions`` and the blueprint's name."""
SETTING = "app.config['PERSONALIZE']"
_MAX_HEADER = 2048
"""Paths, URLs and referrers are cut to this many characters before they are tracked."""


class Personalize:
    """The Flask extension. ``Personalize(app, **options)`` or, in an app factory,
    ``personalize = Personalize(**options)`` at import time and ``personalize.init_app(app)``
    for each app. Options are the keys of ``app.config["PERSONALIZE"]`` (which wins over
    them), plus ``user_traits``: a callable ``user -> dict`` of the traits recorded at login.
    """

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        self.options = options
        self._runtimes: weakref.WeakKeyDictionary[Flask, _Runtime] = weakref.WeakKeyDictionary()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Build the app's `Personalizer` and wire the hooks, the Jinja globals, the blueprint
        and the login signal. Raises `ConfigError` naming a bad setting."""
        if EXTENSION in app.extensions:
            raise ConfigError("Personalize is already set up on this app", source=SETTING)
        runtime = _Runtime.from_config(app, self.options)
        self._runtimes[app] = runtime
        app.extensions[EXTENSION] = self
        app.before_request(runtime.before_request)
        app.after_request(runtime.after_request)
        app.add_template_global(runtime.personalize_slot, "personalize_slot")
        app.add_template_global(runtime.personalize_assets, "personalize_assets")
        app.context_processor(runtime.template_context)
        app.register_blueprint(runtime.blueprint(), url_prefix=runtime.settings.prefix)
        if user_logged_in is not None and user_logged_out is not None:
            # Per app (the sender); blinker holds the receivers weakly, the runtime lives with
            # the app in `_runtimes`.
            user_logged_in.connect(runtime.identify_on_login, app)
            user_logged_out.connect(runtime.new_visitor_on_logout, app)

    def _runtime(self, app: Flask | None = None) -> _Runtime:
        """The state kept for `app` (default: the current app)."""
        if app is None:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            return self._runtimes[app]
        except KeyError:
            raise RuntimeError(
                f"Personalize.init_app() was not called for the app {app.name!r}"
            ) from None

    @property
    def personalizer(self) -> Personalizer:
        """The current app's `Personalizer` (for code outside a request: CLI commands, tasks,
        webhooks, inside ``app.app_context()``)."""
        return self._runtime().personalizer

    @property
    def settings(self) -> IntegrationSettings:
        """The current app's integration settings (prefix, cookie, page types ...)."""
        return self._runtime().settings


class _Runtime:
    """Everything one app's hooks, views and template globals share, built once."""

    def __init__(
        self, personalizer: Personalizer, settings: IntegrationSettings, user_traits: UserTraits
    ) -> None:
        self.personalizer = personalizer
        self.settings = settings
        self.user_traits = user_traits
        self.limiter = RateLimiter(settings.beacons_per_minute)
        self.pages = PageResolver(settings)
        self._own_routes = settings.prefix + "/"

    @classmethod
    def from_config(cls, app: Flask, defaults: Mapping[str, Any]) -> _Runtime:
        raw = app.config.get("PERSONALIZE")
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"expected a dict, got {type(raw).__name__}", source=SETTING)
        options = {**defaults, **raw}
        personalizer, settings, user_traits = build_from_settings(
            options, setting=SETTING, secret_key=app.config.get("SECRET_KEY")
        )
        return cls(personalizer, settings, user_traits)

    # -- the request cycle ------------------------------------------------------------------

    def is_own_route(self) -> bool:
        """The beacon and the static files: no handle, no cookie, no page view for them."""
        return request.path.startswith(self._own_routes)

    def before_request(self) -> None:
        if self.is_own_route():
            return
        pz = self.personalizer
        # The raw header: the visitor is the first value of the cookie that verifies, as in
        # every adapter.
        visitor = request_visitor(request.environ.get("HTTP_COOKIE"), self.settings.cookie_name, pz)
        g._personalize_visitor = visitor
        g.personalize = RequestPersonalize(pz, visitor.id, self._page(), user_id=_user_id())

    def after_request(self, response: Response) -> Response:
        visitor: Visitor | None = g.get("_personalize_visitor")
        handle = g.get("personalize")
        if visitor is None or not isinstance(handle, RequestPersonalize):
            return response  # a route of ours, or another before_request answered first
        visitor = handle.new_visitor or visitor  # a logout in this request started a new one
        try:
            is_page = _is_html_page(response)
            if is_page or visitor.is_new:
                self._set_cookie(response, visitor)
            if is_page or handle.response_varies:  # a 404 page's greeting, a JSON of widgets
                response.vary.add("Cookie")
            if is_page and self.settings.track_page_views:
                _track_page_view(handle)
        except Exception:  # the SDK never breaks its host
            logger.exception("personalize could not finish the request")
        return response

    def _page(self) -> Page:
        try:
            return self.pages.page(request.path, request.headers.get("User-Agent"))
        except Exception:  # a shop's page_type hook must not break the page
            logger.exception(
                "personalize could not resolve the page type of %r", request.path[:200]
            )
            return Page(type="other", path=request.path[:_MAX_HEADER])

    def _set_cookie(self, response: Response, visitor: Visitor) -> None:
        name = self.settings.cookie_name
        if any(header.startswith(name + "=") for header in response.headers.getlist("Set-Cookie")):
            return  # the view set (or deleted) it on purpose
        if shared_cacheable(",".join(response.headers.getlist("Cache-Control"))):
            return
        header = set_cookie_header(
            visitor, self.personalizer.signer, self.settings, https=request.is_secure
        )
        response.headers.add("Set-Cookie", header)

    def identify_on_login(self, sender: Any, user: Any = None, **_: Any) -> None:
        """On Flask-Login's ``user_logged_in``: link the request's visitor to the customer
        (``user.get_id()``) with `user_traits`, so the visitor's history follows them. Never
        raises into the login."""
        if user is None or not has_request_context():
            return
        try:
            user_id = user.get_id()
            if user_id is None:
                return
            user_id = str(user_id)
            traits = self.user_traits(user)
            handle = g.get("personalize")
            if isinstance(handle, RequestPersonalize):
                handle.identify(user_id, traits)  # later tracking in this request is theirs
                return
            visitor = self._visitor()
            if not visitor.is_new:
                self.personalizer.identify(visitor.id, user_id=user_id, traits=traits)
        except Exception:  # a login never fails because of personalisation
            logger.exception("personalize could not identify the user at login")

    def new_visitor_on_logout(self, sender: Any, **_: Any) -> None:
        """On Flask-Login's ``user_logged_out``: the browser becomes a new anonymous visitor,
        whose cookie `after_request` sets on the logout response, so on a shared device the next
        person is not greeted as the customer and their browsing does not join the customer's
        profile (which the customer keeps, for their next login). Never raises into the
        logout."""
        handle = g.get("personalize") if has_request_context() else None
        if not isinstance(handle, RequestPersonalize):
            return  # a logout outside a request the extension saw
        try:
            handle.start_new_visitor()
        except Exception:  # a logout never fails because of personalisation
            logger.exception("personalize could not start a new visitor at logout")

    def _visitor(self) -> Visitor:
        """The request's visitor, as `before_request` reads it."""
        header = request.environ.get("HTTP_COOKIE")
        return visitor_from_header(header, self.settings.cookie_name, self.personalizer.signer)

    # -- templates ----------------------------------------------------------------------------

    def template_context(self) -> dict[str, Any]:
        """Once per `render_template` in a request the extension saw: ``personalize_slot`` as
        the request's own `RequestPersonalize.render`, so each slot of the page costs one call
        (the global below looks up ``g`` through two context-local proxies every time)."""
        handle = g.get("personalize") if has_request_context() else None
        return {"personalize_slot": handle.render} if isinstance(handle, RequestPersonalize) else {}

    def personalize_slot(self, slot: str = "top") -> Markup:
        """``{{ personalize_slot("top") }}``: the widgets of `slot` for this visitor and page
        (empty outside a request the extension saw)."""
        handle = g.get("personalize") if has_request_context() else None
        if not isinstance(handle, RequestPersonalize):
            return Markup("")
        return handle.render(slot)

    def personalize_assets(self, nonce: str | None = None) -> Markup:
        """``{{ personalize_assets() }}`` in ``<head>``: the stylesheet ``<link>`` and the
        deferred ``<script>``, served by the blueprint; pass the page's CSP nonce as
        ``nonce=...`` when a Content-Security-Policy asks for one."""
        prefix = self.settings.static_prefix
        return Markup(asset_tags(prefix, nonce))  # built from escaped parts

    # -- the blueprint ------------------------------------------------------------------------

    def blueprint(self) -> Blueprint:
        """A blueprint of this app's own: its views close over this runtime."""
        blueprint = Blueprint(EXTENSION, __name__)
        # Every method reaches the view, so the refusal is answer_beacon's (405 + JSON);
        # Flask answers OPTIONS itself, without CORS headers: browsers send no cross-site beacon.
        blueprint.add_url_rule(
            "/beacon", "beacon", self.beacon, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
        )
        blueprint.add_url_rule("/static/<path:name>", "static", self.static)
        return blueprint

    def beacon(self) -> Response:
        settings = self.settings
        pz = self.personalizer
        visitor = self._visitor()
        answer = answer_beacon(
            pz,
            settings,
            self.limiter,
            method=request.method,
            visitor_id=None if visitor.is_new else visitor.id,
            origin=request.headers.get("Origin"),
            referer=request.headers.get("Referer"),
            host=_host(),
            body=_read_capped(settings.beacon_max_bytes) if request.method == "POST" else b"",
            user_id=_user_id(),
        )
        response = Response(answer.body, status=answer.status, content_type=answer.content_type)
        if answer.status == 405:
            response.headers["Allow"] = "POST"
        return response

    def static(self, name: str) -> Response:
        found = static_file(name)
        if found is None:
            flask.abort(404)
        response = Response(found.body, content_type=found.content_type)
        response.headers["ETag"] = found.etag
        response.headers["Cache-Control"] = found.cache_control
        return response.make_conditional(request)  # 304 to a matching If-None-Match


def _is_html_page(response: Response) -> bool:
    return (
        request.method == "GET"
        and response.status_code == 200
        and (response.mimetype == "text/html")
    )


def _track_page_view(handle: RequestPersonalize) -> None:
    properties = {
        "path": request.path[:_MAX_HEADER],
        "page_type": handle.page.type,
        "url": request.url[:_MAX_HEADER],
    }
    if request.referrer:
        properties["referrer"] = request.referrer[:_MAX_HEADER]
    handle.track("Page Viewed", properties)


def _read_capped(limit: int) -> bytes:
    """The beacon's body, never more than ``limit + 1`` bytes of it in memory: enough for
    answer_beacon to see an oversized one."""
    declared = request.content_length
    if declared is not None and declared > limit:
        # Declared too big: not a byte is read. These zeros stand in for it, so answer_beacon
        # answers 413 after its other checks (method, origin, cookie), as for any body.
        return bytes(limit + 1)
    return request.stream.read(limit + 1)


def _host() -> str | None:
    try:
        return request.host
    except SecurityError:  # not one of TRUSTED_HOSTS: not this site's page
        return None


def _user_id() -> str | None:
    """Flask-Login's authenticated ``current_user``, when Flask-Login is installed and set up
    on this app; None otherwise (and when reading the user fails: the page still renders)."""
    if flask_login is None or not hasattr(current_app, "login_manager"):
        return None
    try:
        user = flask_login.current_user
        if not user.is_authenticated:
            return None
        user_id = user.get_id()
        return None if user_id is None else str(user_id)
    except Exception:  # an unreachable user store is the shop's to report
        logger.exception("personalize could not read flask_login.current_user")
        return None
