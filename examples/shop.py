"""The example shops' storefront, framework-neutral: the catalog, carts, orders and what each
page shows and tracks. The Starlette, Django and Flask shops only route requests here and
render the returned `View` with the shared Jinja2 templates (``examples/templates``).

Everything personal goes through the request handle (`RequestPersonalize`) the integration
gives each request: events with `track`, login with `identify`, and the richer `Page` of a
product or category page (so widgets target it).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import attrs

from personalize_sdk import Page
from personalize_sdk.integrations._handle import RequestPersonalize
from personalize_sdk.money import format_money

DATA = Path(__file__).parent / "data"
TEMPLATES = Path(__file__).parent / "templates"
CATALOG = DATA / "catalog.json"
CAMPAIGNS = DATA / "personalize.toml"

MARKETS = {"us": "USD", "eu": "EUR"}
"""Market (the ``market`` cookie) -> currency: every product has a price in each."""
MARKET_COOKIE = "market"
MAX_QUANTITY = 20
MAX_CART_LINES = 30


@attrs.frozen
class Product:
    id: str
    name: str
    url: str
    image: str
    category: str
    brand: str
    in_stock: bool
    prices: Mapping[str, Decimal]

    def price(self, currency: str) -> Decimal:
        return self.prices[currency]

    def event_properties(self, currency: str, **more: Any) -> dict[str, Any]:
        """The Segment e-commerce v2 properties of this product, priced in `currency`."""
        return {
            "product_id": self.id,
            "name": self.name,
            "category": self.category,
            "brand": self.brand,
            "price": float(self.price(currency)),
            "currency": currency,
            "url": self.url,
            **more,
        }


@attrs.frozen
class View:
    """What a page shows: the template, its context, and the HTTP status."""

    template: str
    context: dict[str, Any]
    status: int = 200


@attrs.frozen
class Line:
    product: Product
    quantity: int
    currency: str

    @property
    def total(self) -> Decimal:
        return self.product.price(self.currency) * self.quantity


class Unpersonalized:
    """The request handle of the same shop without personalisation (the `http` benchmark's
    baseline): what the views read of a `RequestPersonalize`, with every call a no-op. The
    templates' `personalize_slot` and `personalize_assets` render nothing for it."""

    def __init__(self, page: Page, visitor_id: str = "anonymous") -> None:
        self.page = page
        self.visitor_id = visitor_id
        self.user_id: str | None = None

    def track(self, event: str, properties: Mapping[str, Any] | None = None, **_: Any) -> None:
        return None

    def identify(self, user_id: str, traits: Mapping[str, Any] | None = None) -> None:
        return None


def load_products(path: Path = CATALOG) -> dict[str, Product]:
    records = json.loads(path.read_text(encoding="utf-8"))
    return {
        record["id"]: Product(
            id=record["id"],
            name=record["name"],
            url=record["url"],
            image=record["image"],
            category=record["category"],
            brand=record["brand"],
            in_stock=record.get("in_stock", True),
            prices={code: Decimal(amount) for code, amount in record["prices"].items()},
        )
        for record in records
    }


def market_currency(market: str | None) -> str:
    return MARKETS.get((market or "").lower(), "USD")


class Shop:
    """One shop's state: the products, a cart per visitor and the orders placed (in memory:
    an example, not a database)."""

    def __init__(self, catalog: Path = CATALOG) -> None:
        self.products = load_products(catalog)
        self.categories = sorted({product.category for product in self.products.values()})
        self._carts: dict[str, dict[str, int]] = {}
        self.orders: dict[str, list[Line]] = {}
        self._lock = threading.Lock()

    # -- pages ------------------------------------------------------------------------------

    def home(self, pz: RequestPersonalize, currency: str) -> View:
        featured = [self.products[pid] for pid in list(self.products)[::8]]
        return self._view(pz, currency, "home.html", title="Welcome", products=featured)

    def category(self, pz: RequestPersonalize, currency: str, name: str) -> View:
        listed = [p for p in self.products.values() if p.category == name]
        if not listed:
            return self.not_found(pz, currency)
        pz.page = _page(pz, "category", category=name)
        pz.track(
            "Product List Viewed",
            {"list_id": name, "category": name, "products": [
                {"product_id": p.id, "position": i + 1} for i, p in enumerate(listed)
            ]},
        )  # fmt: skip
        return self._view(pz, currency, "category.html", title=name.title(), products=listed)

    def product(self, pz: RequestPersonalize, currency: str, product_id: str) -> View:
        product = self.products.get(product_id)
        if product is None:
            return self.not_found(pz, currency)
        pz.page = _page(pz, "product", product_id=product.id, category=product.category)
        pz.track("Product Viewed", product.event_properties(currency))
        return self._view(pz, currency, "product.html", title=product.name, product=product)

    def search(self, pz: RequestPersonalize, currency: str, query: str) -> View:
        query = query.strip()[:100]
        words = query.lower().split()
        found = [
            p
            for p in self.products.values()
            if words and all(w in f"{p.name} {p.category} {p.brand}".lower() for w in words)
        ]
        pz.page = _page(pz, "search", query=query or None)
        if query:
            pz.track("Products Searched", {"query": query})
        return self._view(
            pz, currency, "search.html", title="Search", query=query, products=found[:24]
        )

    def cart(self, pz: RequestPersonalize, currency: str) -> View:
        lines = self.lines(pz.visitor_id, currency)
        pz.track("Cart Viewed", {"cart_id": pz.visitor_id, "products": _products(lines)})
        return self._view(pz, currency, "cart.html", title="Your cart", lines=lines)

    def checkout(self, pz: RequestPersonalize, currency: str) -> View:
        lines = self.lines(pz.visitor_id, currency)
        if lines:
            pz.track(
                "Checkout Started",
                {"value": float(_total(lines)), "currency": currency, "products": _products(lines)},
            )  # fmt: skip
        return self._view(pz, currency, "checkout.html", title="Checkout", lines=lines)

    def order_placed(self, pz: RequestPersonalize, currency: str, order_id: str) -> View:
        lines = self.orders.get(order_id)
        if lines is None:
            return self.not_found(pz, currency)
        return self._view(
            pz, currency, "order.html", title="Thank you", order_id=order_id, lines=lines
        )

    def signin_form(self, pz: RequestPersonalize, currency: str) -> View:
        return self._view(pz, currency, "signin.html", title="Sign in")

    def not_found(self, pz: RequestPersonalize, currency: str) -> View:
        return View("404.html", self._context(pz, currency, title="Not found"), 404)

    # -- actions (POST): the caller redirects afterwards ------------------------------------

    def add_to_cart(
        self, pz: RequestPersonalize, currency: str, product_id: str, quantity: Any = 1
    ) -> bool:
        product = self.products.get(product_id)
        count = _quantity(quantity)
        if product is None or not product.in_stock or count is None:
            return False
        with self._lock:
            cart = self._carts.setdefault(pz.visitor_id, {})
            if product_id not in cart and len(cart) >= MAX_CART_LINES:
                return False
            cart[product_id] = min(MAX_QUANTITY, cart.get(product_id, 0) + count)
        pz.track("Product Added", product.event_properties(currency, quantity=count))
        return True

    def remove_from_cart(self, pz: RequestPersonalize, currency: str, product_id: str) -> None:
        with self._lock:
            count = self._carts.get(pz.visitor_id, {}).pop(product_id, None)
        product = self.products.get(product_id)
        if count and product is not None:
            pz.track("Product Removed", product.event_properties(currency, quantity=count))

    def place_order(self, pz: RequestPersonalize, currency: str, email: str = "") -> str | None:
        """Completes the order of the visitor's cart: the order id, or None for an empty
        cart. With an e-mail address the shopper is identified by it first."""
        with self._lock:
            cart = self._carts.pop(pz.visitor_id, {})
        lines = self._priced(cart, currency)
        if not lines:
            return None
        email = email.strip()[:200]
        if "@" in email:
            self.sign_in(pz, email, "")
        order_id = "o-" + uuid.uuid4().hex[:12]
        self.orders[order_id] = lines
        total = _total(lines)
        pz.track(
            "Order Completed",
            {"order_id": order_id, "total": float(total), "revenue": float(total),
             "currency": currency, "products": _products(lines)},
        )  # fmt: skip
        return order_id

    def sign_in(self, pz: RequestPersonalize, email: str, first_name: str) -> bool:
        """The example's sign-in (no password: a demo): the shopper's id is their e-mail."""
        email = email.strip().lower()[:200]
        if "@" not in email:
            return False
        traits = {"email": email}
        if first_name.strip():
            traits["first_name"] = first_name.strip()[:100]
        pz.identify(email, traits)
        return True

    # -- helpers ----------------------------------------------------------------------------

    def lines(self, visitor_id: str, currency: str) -> list[Line]:
        with self._lock:
            cart = dict(self._carts.get(visitor_id, {}))
        return self._priced(cart, currency)

    def _priced(self, cart: Mapping[str, int], currency: str) -> list[Line]:
        return [
            Line(self.products[pid], quantity, currency)
            for pid, quantity in cart.items()
            if pid in self.products
        ]

    def _view(self, pz: RequestPersonalize, currency: str, template: str, **context: Any) -> View:
        return View(template, self._context(pz, currency, **context))

    def _context(self, pz: RequestPersonalize, currency: str, **context: Any) -> dict[str, Any]:
        lines = self.lines(pz.visitor_id, currency)
        return {
            "categories": self.categories,
            "currency": currency,
            "market": next(m for m, c in MARKETS.items() if c == currency),
            "money": lambda amount: format_money(amount, currency),
            "cart_count": sum(line.quantity for line in lines),
            "cart_total": _total(lines),
            "signed_in": pz.user_id,
            **context,
        }


def _page(pz: RequestPersonalize, kind: str, **context: str | None) -> Page:
    """The page the middleware resolved from the URL, with what the view knows besides."""
    return Page(type=kind, path=pz.page.path, device=pz.page.device, **context)


def _quantity(raw: Any) -> int | None:
    try:
        count = int(raw)
    except (TypeError, ValueError):
        return None
    return count if 1 <= count <= MAX_QUANTITY else None


def _total(lines: list[Line]) -> Decimal:
    return sum((line.total for line in lines), Decimal(0))


def _products(lines: list[Line]) -> list[dict[str, Any]]:
    return [line.product.event_properties(line.currency, quantity=line.quantity) for line in lines]


def product_image(product_id: str, products: Mapping[str, Product]) -> str | None:
    """A placeholder picture (SVG) for a product: a tinted square with its initials."""
    product = products.get(product_id)
    if product is None:
        return None
    hue = sum(map(ord, product.category)) * 37 % 360
    initials = escape("".join(word[0] for word in product.name.split()[:2]))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240">'
        f'<rect width="240" height="240" fill="hsl({hue},35%,82%)"/>'
        f'<text x="120" y="135" font-family="sans-serif" font-size="48" text-anchor="middle" '
        f'fill="hsl({hue},30%,30%)">{initials}</text></svg>'
    )
