"""The example shop on Flask: the same routes, pages and widgets as the Starlette one.

    flask --app personalize_sdk.examples.flask_shop run        # or: personalize demo --shop flask

The `Personalize` extension, configured from ``app.config["PERSONALIZE"]``, is all the wiring:
it sets ``g.personalize`` and the template globals; the views are the shared `Shop`'s.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, g, redirect, render_template, request
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from personalize_sdk import Page
from personalize_sdk.integrations.flask import Personalize

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
) -> Flask:
    """The shop as a Flask app. Pass a `Personalizer` to share one (tests), else one is built
    from the example campaigns and catalog. ``personalize=False`` is the same shop without the
    SDK (no extension, no widgets, nothing tracked): the baseline of the `http` benchmark."""
    # No static folder: the shop has no files of its own, and /static/... stays a 404 page as
    # on the other shops.
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=None)
    if personalizer is not None:
        app.config["PERSONALIZE"] = {"personalizer": personalizer}
    else:
        secret = secret or os.environ.get("PERSONALIZE_SECRET") or DEMO_SECRET
        app.config["PERSONALIZE"] = {"config": CAMPAIGNS, "catalog": CATALOG, "secret": secret}
    if personalize:
        Personalize(app)
    else:  # the templates' slots and assets render nothing
        app.jinja_env.globals.update(
            personalize_slot=lambda slot="top": Markup(""),
            personalize_assets=lambda nonce=None: Markup(""),
        )
    shop = Shop()
    app.extensions["shop"] = shop

    def show(view: View) -> tuple[str, int]:
        return render_template(view.template, **view.context), view.status

    def context() -> tuple[Any, str]:
        currency = market_currency(request.cookies.get(MARKET_COOKIE))
        if not personalize:
            return Unpersonalized(Page(type="other", path=request.path)), currency
        return g.personalize, currency

    def back(to: str) -> BaseResponse:
        return redirect(to, code=303)

    @app.get("/")
    def home() -> tuple[str, int]:
        return show(shop.home(*context()))

    @app.get("/c/<name>")
    def category(name: str) -> tuple[str, int]:
        return show(shop.category(*context(), name))

    @app.get("/p/<product_id>")
    def product(product_id: str) -> tuple[str, int]:
        return show(shop.product(*context(), product_id))

    @app.get("/search")
    def search() -> tuple[str, int]:
        return show(shop.search(*context(), request.args.get("q", "")))

    @app.get("/cart")
    def cart() -> tuple[str, int]:
        return show(shop.cart(*context()))

    @app.post("/cart/add")
    def add() -> BaseResponse:
        form = request.form
        shop.add_to_cart(*context(), form.get("product_id", ""), form.get("quantity"))
        return back("/cart")

    @app.post("/cart/remove")
    def remove() -> BaseResponse:
        shop.remove_from_cart(*context(), request.form.get("product_id", ""))
        return back("/cart")

    @app.route("/checkout", methods=["GET", "POST"])
    def checkout() -> Any:
        if request.method == "GET":
            return show(shop.checkout(*context()))
        order_id = shop.place_order(*context(), request.form.get("email", ""))
        return back(f"/order/{order_id}" if order_id else "/cart")

    @app.get("/order/<order_id>")
    def order(order_id: str) -> tuple[str, int]:
        return show(shop.order_placed(*context(), order_id))

    @app.route("/signin", methods=["GET", "POST"])
    def signin() -> Any:
        if request.method == "GET":
            return show(shop.signin_form(*context()))
        form = request.form
        shop.sign_in(context()[0], form.get("email", ""), form.get("first_name", ""))
        return back("/")

    @app.post("/market")
    def market() -> BaseResponse:
        response = back(request.headers.get("Referer") or "/")
        chosen = request.form.get("market", "us")
        response.set_cookie(MARKET_COOKIE, chosen if chosen in ("us", "eu") else "us",
                            max_age=365 * 86_400, samesite="Lax")  # fmt: skip
        return response

    @app.get("/img/<product_id>.svg")
    def image(product_id: str) -> Response:
        svg = image_svg(product_id, shop.products)
        if svg is None:
            return Response("Not Found", 404, mimetype="text/plain")
        return Response(svg, mimetype="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip

    @app.errorhandler(404)
    def not_found(_: Exception) -> Any:
        if personalize and "personalize" not in g:  # under the extension's prefix: no visitor
            return Response("Not Found", 404, mimetype="text/plain")
        return show(shop.not_found(*context()))

    return app


app = create_app()
