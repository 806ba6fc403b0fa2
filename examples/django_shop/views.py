"""The shop's views: they route each request to the shared `Shop` and render its `View` with
the Jinja2 backend; ``request.personalize`` is the middleware's handle."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from personalize_sdk import Page

from ..shop import MARKET_COOKIE, Shop, Unpersonalized, View, market_currency
from ..shop import product_image as image_svg

shop = Shop()
"""One per process, as on the other shops: the carts and orders live in memory."""


def show(request: HttpRequest, view: View) -> HttpResponse:
    return render(request, view.template, view.context, status=view.status)


def context(request: HttpRequest) -> tuple[Any, str]:
    handle = getattr(request, "personalize", None)
    if handle is None:  # settings_plain: the shop without the SDK
        handle = Unpersonalized(Page(type="other", path=request.path))
    return handle, market_currency(request.COOKIES.get(MARKET_COOKIE))


def back(to: str) -> HttpResponse:
    """A 303 to `to`, as is (HttpResponseRedirect would refuse an odd Referer with a 400)."""
    return HttpResponse(status=303, headers={"Location": to})


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return show(request, shop.home(*context(request)))


@require_safe
def category(request: HttpRequest, name: str) -> HttpResponse:
    return show(request, shop.category(*context(request), name))


@require_safe
def product(request: HttpRequest, product_id: str) -> HttpResponse:
    return show(request, shop.product(*context(request), product_id))


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    return show(request, shop.search(*context(request), request.GET.get("q", "")))


@require_safe
def cart(request: HttpRequest) -> HttpResponse:
    return show(request, shop.cart(*context(request)))


# The shared templates' forms carry no CSRF token: an example with no sessions and no accounts
# has no logged-in state for a forged form to abuse. A real shop keeps CSRF protection on and
# adds {{ csrf_input }} to its forms.


@csrf_exempt
@require_POST
def add(request: HttpRequest) -> HttpResponse:
    form = request.POST
    shop.add_to_cart(*context(request), form.get("product_id", ""), form.get("quantity"))
    return back("/cart")


@csrf_exempt
@require_POST
def remove(request: HttpRequest) -> HttpResponse:
    shop.remove_from_cart(*context(request), request.POST.get("product_id", ""))
    return back("/cart")


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return show(request, shop.checkout(*context(request)))
    order_id = shop.place_order(*context(request), request.POST.get("email", ""))
    return back(f"/order/{order_id}" if order_id else "/cart")


@require_safe
def order(request: HttpRequest, order_id: str) -> HttpResponse:
    return show(request, shop.order_placed(*context(request), order_id))


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return show(request, shop.signin_form(*context(request)))
    pz, _ = context(request)
    shop.sign_in(pz, request.POST.get("email", ""), request.POST.get("first_name", ""))
    return back("/")


@csrf_exempt
@require_POST
def market(request: HttpRequest) -> HttpResponse:
    response = back(request.headers.get("Referer") or "/")
    chosen = request.POST.get("market", "us")
    response.set_cookie(MARKET_COOKIE, chosen if chosen in ("us", "eu") else "us",
                        max_age=365 * 86_400, samesite="Lax")  # fmt: skip
    return response


@require_safe
def image(request: HttpRequest, product_id: str) -> HttpResponse:
    svg = image_svg(product_id, shop.products)
    if svg is None:
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    return HttpResponse(svg, content_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: the shop's 404 page (plain text under the personalize prefix, where the
    middleware gives no handle)."""
    if not hasattr(request, "personalize"):
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    return show(request, shop.not_found(*context(request)))
