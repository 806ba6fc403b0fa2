"""The example shop on Starlette (FastAPI is the same: it is Starlette underneath).

    uvicorn personalize_sdk.examples.starlette_shop:app        # or: personalize demo

One middleware (`PersonalizeMiddleware`) and the two template globals are all the wiring;
the views are the shared `Shop`'s.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from personalize_sdk import Page
from personalize_sdk.integrations.starlette import PersonalizeMiddleware, install_templates

from .shop import (
    CAMPAIGNS,
    CATALOG,
    MARKET_COOKIE,
    TEMPLATES,
    Shop,
    Unpersonalized,
    View,
    market_currency,
)
from .shop import product_image as image_svg

DEMO_SECRET = "example-shop-secret-not-for-production"


def create_app(
    *, personalizer: Any = None, secret: str | None = None, personalize: bool = True
) -> Starlette:
    """The shop as an ASGI app. Pass a `Personalizer` to share one (tests), else one is built
    from the example campaigns and catalog. ``personalize=False`` is the same shop without the
    SDK (no middleware, no widgets, nothing tracked): the baseline of the `http` benchmark."""
    shop = Shop()
    templates = install_templates(Jinja2Templates(directory=str(TEMPLATES)))

    def show(request: Request, view: View) -> Response:
        return templates.TemplateResponse(request, view.template, view.context, view.status)

    def context(request: Request) -> tuple[Any, str]:
        currency = market_currency(request.cookies.get(MARKET_COOKIE))
        if not personalize:
            return Unpersonalized(Page(type="other", path=request.url.path)), currency
        return request.state.personalize, currency

    def back(to: str) -> RedirectResponse:
        return RedirectResponse(to, status_code=303)

    async def home(request: Request) -> Response:
        return show(request, shop.home(*context(request)))

    async def category(request: Request) -> Response:
        return show(request, shop.category(*context(request), request.path_params["name"]))

    async def product(request: Request) -> Response:
        return show(request, shop.product(*context(request), request.path_params["product_id"]))

    async def search(request: Request) -> Response:
        return show(request, shop.search(*context(request), request.query_params.get("q", "")))

    async def cart(request: Request) -> Response:
        return show(request, shop.cart(*context(request)))

    async def add(request: Request) -> Response:
        form = await request.form()
        shop.add_to_cart(*context(request), str(form.get("product_id", "")), form.get("quantity"))
        return back("/cart")

    async def remove(request: Request) -> Response:
        form = await request.form()
        shop.remove_from_cart(*context(request), str(form.get("product_id", "")))
        return back("/cart")

    async def checkout(request: Request) -> Response:
        if request.method == "GET":
            return show(request, shop.checkout(*context(request)))
        form = await request.form()
        order_id = shop.place_order(*context(request), str(form.get("email", "")))
        return back(f"/order/{order_id}" if order_id else "/cart")

    async def order(request: Request) -> Response:
        return show(request, shop.order_placed(*context(request), request.path_params["order_id"]))

    async def signin(request: Request) -> Response:
        if request.method == "GET":
            return show(request, shop.signin_form(*context(request)))
        form = await request.form()
        pz, _ = context(request)
        shop.sign_in(pz, str(form.get("email", "")), str(form.get("first_name", "")))
        return back("/")

    async def market(request: Request) -> Response:
        form = await request.form()
        response = back(request.headers.get("referer") or "/")
        chosen = str(form.get("market", "us"))
        response.set_cookie(MARKET_COOKIE, chosen if chosen in ("us", "eu") else "us",
                            max_age=365 * 86_400, samesite="lax")  # fmt: skip
        return response

    async def image(request: Request) -> Response:
        svg = image_svg(request.path_params["product_id"], shop.products)
        if svg is None:
            return Response("Not Found", 404, media_type="text/plain")
        return Response(svg, media_type="image/svg+xml",
                        headers={"cache-control": "public, max-age=86400"})  # fmt: skip

    async def not_found(request: Request, _: Exception) -> Response:
        return show(request, shop.not_found(*context(request)))

    routes = [
        Route("/", home),
        Route("/c/{name}", category),
        Route("/p/{product_id}", product),
        Route("/search", search),
        Route("/cart", cart),
        Route("/cart/add", add, methods=["POST"]),
        Route("/cart/remove", remove, methods=["POST"]),
        Route("/checkout", checkout, methods=["GET", "POST"]),
        Route("/order/{order_id}", order),
        Route("/signin", signin, methods=["GET", "POST"]),
        Route("/market", market, methods=["POST"]),
        Route("/img/{product_id}.svg", image),
    ]
    if personalizer is not None:
        wiring: dict[str, Any] = {"personalizer": personalizer}
    else:
        secret = secret or os.environ.get("PERSONALIZE_SECRET") or DEMO_SECRET
        wiring = {"config": CAMPAIGNS, "catalog": CATALOG, "secret": secret}
    app = Starlette(
        routes=routes,
        middleware=[Middleware(PersonalizeMiddleware, **wiring)] if personalize else [],
        exception_handlers={404: not_found},
    )
    app.state.shop = shop
    return app


app = create_app()
