"""`PersonalizeMiddleware`: the visitor, the request handle and page tracking, in WSGI and ASGI
deployments alike.

Add it after ``AuthenticationMiddleware`` (it reads ``request.user``):

    MIDDLEWARE = [..., "django.contrib.auth.middleware.AuthenticationMiddleware",
                  "personalize_sdk.integrations.django.middleware.PersonalizeMiddleware", ...]

For each request outside the SDK's own routes (``{prefix}/...``, answered by the URL include):

- the visitor comes from the signed cookie; a missing or tampered one is a new visitor, and the
  cookie is set on the response (and renewed on each HTML page);
- ``request.personalize`` is a `RequestPersonalize` bound to the visitor, the logged-in user
  (``str(user.pk)``) and the `Page` of the URL (a view may replace ``request.personalize.page``
  with a richer one: the page view is tracked with it);
- a GET answered 200 with ``text/html`` is tracked as ``Page Viewed`` (under ASGI through the
  async twin, so that no store makes the event loop wait);
- after a logout (``user_logged_out``) the response carries a new visitor's cookie.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers

from personalize_sdk import Page

from .._handle import RequestPersonalize
from .._visitor import Visitor, request_visitor, shared_cacheable, visitor_cookie
from .apps import Runtime, get_runtime

logger = logging.getLogger("personalize_sdk.django")

GetResponse = Callable[[HttpRequest], Any]

_MAX_HEADER = 2048
"""Referrer and URL are cut to this many characters before they are tracked."""


class PersonalizeMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        # A broken PERSONALIZE setting stops the server from starting, with the check's message.
        get_runtime()

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        runtime = get_runtime()
        if _is_own_route(request, runtime):
            return self.get_response(request)
        visitor = _begin(request, runtime, _user_id(request))
        response = self.get_response(request)
        page_view = _finish(request, response, runtime, visitor)
        if page_view is not None:
            _track(request, page_view)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        runtime = get_runtime()
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        if _is_own_route(request, runtime):
            return await get_response(request)
        visitor = _begin(request, runtime, await _auser_id(request))
        response = await get_response(request)
        page_view = _finish(request, response, runtime, visitor)
        if page_view is not None:
            # The async twin: a store that may block (SQLite's busy wait) is used from a
            # worker thread, Redis through its asyncio client; memory directly.
            await _atrack(request, page_view)
        return response


def _is_own_route(request: HttpRequest, runtime: Runtime) -> bool:
    """The beacon and the static files: no cookie, no handle, no page view for them."""
    return request.path.startswith(runtime.settings.prefix + "/")


def _begin(request: HttpRequest, runtime: Runtime, user_id: str | None) -> Visitor:
    pz = runtime.personalizer
    # The raw header, not `request.COOKIES`: that keeps only the last of several values of the
    # cookie, and the visitor is the first that verifies (as in every adapter).
    visitor = request_visitor(request.META.get("HTTP_COOKIE"), runtime.settings.cookie_name, pz)
    request.personalize = RequestPersonalize(  # type: ignore[attr-defined]
        pz, visitor.id, _page(request, runtime), user_id=user_id
    )
    return visitor


def _page(request: HttpRequest, runtime: Runtime) -> Page:
    try:
        # `META`, not `request.headers`: building that costs more than all the rest here.
        return runtime.pages.page(request.path, request.META.get("HTTP_USER_AGENT"))
    except Exception:
        logger.exception("personalize could not resolve the page type of %r", request.path[:200])
        return Page(type="other", path=request.path[:_MAX_HEADER])


def _finish(
    request: HttpRequest, response: HttpResponseBase, runtime: Runtime, visitor: Visitor
) -> dict[str, Any] | None:
    """Set the cookie (a new visitor's, or a renewal on an HTML page); the properties of the
    page view to track, or None."""
    try:
        handle: RequestPersonalize = request.personalize  # type: ignore[attr-defined]
        visitor = handle.new_visitor or visitor  # a logout in this request started a new one
        is_page = _is_html_page(request, response)
        if is_page or visitor.is_new:
            _set_cookie(request, response, runtime, visitor)
        if is_page or handle.response_varies:  # a 404 page's greeting, a JSON of widgets
            patch_vary_headers(response, ("Cookie",))
        if is_page and runtime.settings.track_page_views:
            return _page_view(request, handle)
    except Exception:
        logger.exception("personalize could not finish the request")
    return None


def _is_html_page(request: HttpRequest, response: HttpResponseBase) -> bool:
    return (
        request.method == "GET"
        and response.status_code == 200
        and response.get("Content-Type", "").lower().startswith("text/html")
    )


def _set_cookie(
    request: HttpRequest, response: HttpResponseBase, runtime: Runtime, visitor: Visitor
) -> None:
    name = runtime.settings.cookie_name
    if name in response.cookies:  # the view set (or deleted) it on purpose
        return
    if shared_cacheable(response.get("Cache-Control")):
        return
    cookie = visitor_cookie(
        visitor, runtime.personalizer.signer, runtime.settings, https=request.is_secure()
    )
    # Into Django's cookie jar (a raw Set-Cookie header would be overwritten by Django's own),
    # as a morsel: parsing the header instead (`cookies.load`) costs three times as much.
    jar = response.cookies
    jar[name] = cookie.value
    jar[name].update(cookie.morsel_attributes())


def _page_view(request: HttpRequest, handle: RequestPersonalize) -> dict[str, Any]:
    properties = {"path": request.path[:_MAX_HEADER], "page_type": handle.page.type}
    try:
        properties["url"] = request.build_absolute_uri()[:_MAX_HEADER]
    except Exception:  # noqa: BLE001 - DisallowedHost: the page was served, keep the view
        logger.debug("personalize: no absolute URL for %r", request.path[:200])
    referrer = request.META.get("HTTP_REFERER")
    if referrer:
        properties["referrer"] = referrer[:_MAX_HEADER]
    return properties


def _track(request: HttpRequest, page_view: dict[str, Any]) -> None:
    try:
        request.personalize.track("Page Viewed", page_view)  # type: ignore[attr-defined]
    except Exception:
        logger.exception("personalize could not track the page view")


async def _atrack(request: HttpRequest, page_view: dict[str, Any]) -> None:
    try:
        await request.personalize.atrack("Page Viewed", page_view)  # type: ignore[attr-defined]
    except Exception:
        logger.exception("personalize could not track the page view")


def _user_id(request: HttpRequest) -> str | None:
    if not hasattr(request, "user"):  # no AuthenticationMiddleware before this one
        return None
    try:
        return _authenticated_id(request.user)
    except Exception:
        logger.exception("personalize could not read request.user")
        return None


async def _auser_id(request: HttpRequest) -> str | None:
    if not hasattr(request, "user"):
        return None
    try:
        auser = getattr(request, "auser", None)  # Django >= 5.0
        if auser is not None:
            return _authenticated_id(await auser())
        return await sync_to_async(lambda: _authenticated_id(request.user))()
    except Exception:
        logger.exception("personalize could not read request.user")
        return None


def _authenticated_id(user: Any) -> str | None:
    if user is None or not user.is_authenticated or user.pk is None:
        return None
    return str(user.pk)
