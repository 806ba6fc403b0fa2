"""The SDK's own routes, mounted by ``path("_personalize/", include(...urls))``: the beacon the
widgets post their interactions to, and the widgets' script and stylesheet."""

from __future__ import annotations

from django.core.exceptions import DisallowedHost
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import etag, require_safe

from .._beacon import answer_beacon
from .._static import static_file
from .._visitor import visitor_from_header
from .apps import get_runtime
from .middleware import _authenticated_id


@csrf_exempt  # sendBeacon sends no CSRF token; answer_beacon checks the Origin instead
def beacon(request: HttpRequest) -> HttpResponse:
    runtime = get_runtime()
    settings = runtime.settings
    pz = runtime.personalizer
    # The visitor the middleware read for the page: the first cookie value that verifies.
    visitor = visitor_from_header(request.META.get("HTTP_COOKIE"), settings.cookie_name, pz.signer)
    answer = answer_beacon(
        pz,
        settings,
        runtime.limiter,
        method=request.method or "",
        visitor_id=None if visitor.is_new else visitor.id,
        origin=request.headers.get("Origin"),
        referer=request.headers.get("Referer"),
        host=_host(request),
        body=_read_capped(request, settings.beacon_max_bytes) if request.method == "POST" else b"",
        user_id=_user_id(request),
    )
    response = HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
    if answer.status == 405:
        response["Allow"] = "POST"
    return response


def _read_capped(request: HttpRequest, limit: int) -> bytes:
    """At most ``limit + 1`` bytes: enough for answer_beacon to see an oversized body, never
    the whole of a huge one (Django's request stream reads only what is asked)."""
    return request.read(limit + 1)


def _host(request: HttpRequest) -> str | None:
    try:
        return request.get_host()
    except DisallowedHost:  # not one of ALLOWED_HOSTS: not this site's page
        return None


def _user_id(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    try:
        return _authenticated_id(user)
    except Exception:  # noqa: BLE001 - the beacon still records for the visitor
        return None


def _etag(request: HttpRequest, name: str) -> str | None:
    found = static_file(name)
    return found.etag if found is not None else None


@require_safe
@etag(_etag)  # answers 304 to a matching If-None-Match
def static(request: HttpRequest, name: str) -> HttpResponse:
    found = static_file(name)
    if found is None:
        raise Http404("no such personalize asset")
    response = HttpResponse(found.body, content_type=found.content_type)
    response["Cache-Control"] = found.cache_control
    return response
