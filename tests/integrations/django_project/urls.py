"""URLs and views of the test project: pages of every kind the middleware must tell apart."""

from __future__ import annotations

import attrs
from django.contrib.auth import alogout
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template import engines
from django.urls import include, path
from django.utils.functional import SimpleLazyObject


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "page.html", {"title": "Home"})


def product(request: HttpRequest, sku: str) -> HttpResponse:
    handle = request.personalize  # type: ignore[attr-defined]
    handle.page = attrs.evolve(handle.page, product_id=sku, category="watches")
    handle.track("Product Viewed", {"product_id": sku, "category": "watches", "price": 249.0})
    return render(request, "page.html", {"title": sku})


def jinja_page(request: HttpRequest) -> HttpResponse:
    template = engines["jinja2"].get_template("page.jinja")
    return HttpResponse(template.render({"title": "Jinja"}, request))


def bare(request: HttpRequest) -> HttpResponse:
    """A template rendered without a request in its context: the tags render nothing."""
    return HttpResponse(engines["django"].get_template("bare.html").render({}))


def api(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"visitor": request.personalize.visitor_id})  # type: ignore[attr-defined]


def logo(request: HttpRequest) -> HttpResponse:
    """What a CDN may keep for everyone."""
    response = HttpResponse(b"GIF89a", content_type="image/gif")
    response["Cache-Control"] = request.GET.get("cache", "public, max-age=86400")
    return response


def missing(request: HttpRequest) -> HttpResponse:
    """A 404 page with the shop's slots."""
    return render(request, "page.html", {"title": "Not found"}, status=404)


def widgets_api(request: HttpRequest) -> JsonResponse:
    """A headless storefront's API: the shopper's widgets as JSON."""
    handle = request.personalize  # type: ignore[attr-defined]
    return JsonResponse([dict(widget.data) for widget in handle.widgets("top")], safe=False)


def form(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<p>thanks</p>", content_type="text/html")


async def async_page(request: HttpRequest) -> HttpResponse:
    handle = request.personalize  # type: ignore[attr-defined]
    top = await handle.arender("top")
    return HttpResponse(f"<html><body>{top}<p>{handle.user_id}</p></body></html>")


def who(request: HttpRequest) -> JsonResponse:
    handle = request.personalize  # type: ignore[attr-defined]
    return JsonResponse({"visitor": handle.visitor_id, "user": handle.user_id})


def csp_page(request: HttpRequest, engine: str) -> HttpResponse:
    """The assets tag given the page's CSP nonce as django-csp sets it: ``request.csp_nonce``
    is a `SimpleLazyObject` (here of ``?nonce=``, or a valid nonce)."""
    nonce = request.GET.get("nonce", "bm9uY2UtMTIz")
    request.csp_nonce = SimpleLazyObject(lambda: nonce)  # type: ignore[attr-defined]
    name = "csp.jinja" if engine == "jinja2" else "csp.html"
    return HttpResponse(engines[engine].get_template(name).render({}, request))


async def async_logout(request: HttpRequest) -> HttpResponse:
    await alogout(request)
    return HttpResponseRedirect("/")


def page(request: HttpRequest) -> JsonResponse:
    resolved = request.personalize.page  # type: ignore[attr-defined]
    return JsonResponse({"type": resolved.type, "device": resolved.device})


urlpatterns = [
    path("", home),
    path("p/<str:sku>", product),
    path("jinja/", jinja_page),
    path("bare/", bare),
    path("api/", api),
    path("who/", who),
    path("page/", page),
    path("form/", form),
    path("missing/", missing),
    path("logo.gif", logo),
    path("api/widgets/", widgets_api),
    path("async/", async_page),
    path("login/", LoginView.as_view()),
    path("logout/", LogoutView.as_view(next_page="/")),
    path("async-logout/", async_logout),
    path("csp/<str:engine>/", csp_page),
    path("_personalize/", include("personalize_sdk.integrations.django.urls")),
]
