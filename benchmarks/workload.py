"""The shared e-commerce event mix: a generated catalog and seeded shopper journeys.

Everything is drawn from `random.Random` instances seeded per catalog and per shopper, so a run
replays exactly the same events as the last one, whatever else changed.

A shopper session follows Segment's e-commerce spec v2: an optional home page view, a product
list (category page), sometimes a search, several product views that mostly stay in one
category, sometimes adds to cart, and then a funnel (cart, checkout, order) that fewer shoppers
finish at each step. A cart left unbought is carried into the shopper's next session.

Product ids, categories and brands are the catalog's own string objects, as a shop's catalog
would hand them out; product names are built afresh for each event, as a shop's per-request
database read would, so a profile that keeps a name pays for its own copy.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from personalize_sdk import Personalizer

MINUTE = 60.0
HOUR = 3_600.0
DAY = 86_400.0
NOW = 1_750_000_000.0
"""The simulated shop's "now" (2025-06-15): generated journeys end before it."""

CURRENCY = "EUR"
SHOP_URL = "https://shop.example"

# Category -> (nouns for product names, (min, max) typical price).
CATEGORIES: Mapping[str, tuple[tuple[str, ...], tuple[float, float]]] = {
    "Watches": (("Chronograph", "Diver", "Field Watch", "Smartwatch"), (60.0, 900.0)),
    "Shoes": (("Sneaker", "Loafer", "Boot", "Sandal", "Runner"), (35.0, 240.0)),
    "Bags": (("Tote", "Backpack", "Crossbody", "Duffel"), (25.0, 400.0)),
    "Jackets": (("Parka", "Bomber", "Rain Jacket", "Blazer"), (50.0, 450.0)),
    "Dresses": (("Maxi Dress", "Shirt Dress", "Wrap Dress"), (30.0, 220.0)),
    "Jeans": (("Slim Jeans", "Straight Jeans", "Wide Jeans"), (30.0, 160.0)),
    "T-Shirts": (("Tee", "Polo", "Henley", "Tank"), (9.0, 60.0)),
    "Sunglasses": (("Aviator", "Wayfarer", "Round Frame"), (15.0, 250.0)),
    "Jewellery": (("Ring", "Necklace", "Bracelet", "Earrings"), (20.0, 800.0)),
    "Perfume": (("Eau de Parfum", "Eau de Toilette", "Body Mist"), (15.0, 180.0)),
    "Skincare": (("Serum", "Moisturiser", "Cleanser", "Sunscreen"), (8.0, 90.0)),
    "Makeup": (("Lipstick", "Mascara", "Foundation", "Palette"), (6.0, 70.0)),
    "Home Decor": (("Vase", "Lamp", "Cushion", "Mirror"), (12.0, 300.0)),
    "Kitchen": (("Knife Set", "Pan", "Kettle", "Espresso Maker"), (15.0, 600.0)),
    "Bedding": (("Duvet Cover", "Pillow", "Throw"), (20.0, 250.0)),
    "Electronics": (("Speaker", "Charger", "Tablet", "Camera"), (20.0, 1200.0)),
    "Headphones": (("Earbuds", "Over-Ear", "Headset"), (25.0, 450.0)),
    "Phones": (("Phone", "Phone Case", "Screen Guard"), (10.0, 1100.0)),
    "Toys": (("Puzzle", "Building Set", "Plush", "Board Game"), (8.0, 120.0)),
    "Books": (("Novel", "Cookbook", "Travel Guide"), (8.0, 45.0)),
    "Sports": (("Yoga Mat", "Dumbbells", "Racket", "Football"), (12.0, 300.0)),
    "Outdoor": (("Tent", "Sleeping Bag", "Hiking Pole", "Lantern"), (15.0, 500.0)),
    "Garden": (("Planter", "Hose", "Pruner", "Grill"), (10.0, 700.0)),
    "Pet Supplies": (("Dog Bed", "Cat Tree", "Leash", "Feeder"), (8.0, 150.0)),
}
BRANDS: tuple[str, ...] = (
    "Acme", "Nordwind", "Lumen", "Solace", "Vireo", "Kestrel", "Marlowe", "Oakhaven", "Brixton",
    "Calder", "Ember", "Fable", "Grove", "Halcyon", "Ivory", "Juniper", "Kinfolk", "Larch",
    "Meridian", "Nimbus", "Orchard", "Pioneer", "Quill", "Rowan", "Sable", "Tundra", "Umber",
    "Velvet", "Willow", "Zephyr", "Sonic", "Aurora", "Basalt", "Cobalt", "Drift", "Echo",
    "Fjord", "Granite", "Harbor", "Indigo",
)  # fmt: skip
BRANDS_PER_CATEGORY = 8
ADJECTIVES = ("Classic", "Urban", "Essential", "Premium", "Light", "Pro", "Vintage", "Eco")
COLOURS = ("black", "white", "navy", "red", "green", "beige", "grey", "blue")

FIRST_NAMES = (
    "Asha", "Ben", "Chloe", "Diego", "Elif", "Finn", "Grace", "Hugo", "Ines", "Jonas",
    "Kira", "Liam", "Mia", "Noah", "Olga", "Priya", "Ravi", "Sara", "Tom", "Yuki",
)  # fmt: skip
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "web.de", "icloud.com", "proton.me")
COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "GB", "US", "IN", "LK", "SE", "AT", "PL")
COUNTRY_WEIGHTS = (30, 14, 8, 8, 8, 8, 7, 5, 2, 4, 3, 3)
TIERS = ("bronze", "silver", "gold", "platinum")
TIER_WEIGHTS = (50, 30, 15, 5)


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    category: str
    brand: str
    model: str
    price: float

    @property
    def name(self) -> str:
        """A new string on every read, like a name loaded from the shop's database."""
        return f"{self.brand} {self.model}"


@dataclass(frozen=True)
class Catalog:
    products: tuple[Product, ...]
    by_category: Mapping[str, tuple[Product, ...]]

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.by_category)


@dataclass(frozen=True, slots=True)
class Track:
    """One `track()` call: visitor, event name, properties and when it happened."""

    visitor_id: str
    event: str
    properties: dict[str, Any]
    timestamp: float


@dataclass(frozen=True, slots=True)
class Identify:
    """A shopper signing in: `identify(visitor_id, user_id=..., traits=...)`."""

    visitor_id: str
    user_id: str
    traits: dict[str, Any]
    timestamp: float


Step = Track | Identify


def make_catalog(size: int = 2_000, seed: int = 7) -> Catalog:
    """`size` products spread evenly over the categories, each category with its own brands."""
    rng = random.Random(seed)
    names = list(CATEGORIES)
    brands = {name: rng.sample(BRANDS, BRANDS_PER_CATEGORY) for name in names}
    by_category: dict[str, list[Product]] = {name: [] for name in names}
    for index in range(size):
        category = names[index % len(names)]
        nouns, (low, high) = CATEGORIES[category]
        model = f"{rng.choice(ADJECTIVES)} {rng.choice(nouns)} {rng.choice(COLOURS)}"
        price = round(low * (high / low) ** (rng.random() ** 1.6), 2)
        product = Product(
            f"sku-{index + 1:05d}", category, rng.choice(brands[category]), model, price
        )
        by_category[category].append(product)
    return Catalog(
        products=tuple(p for group in by_category.values() for p in group),
        by_category={name: tuple(group) for name, group in by_category.items()},
    )


def product_properties(product: Product, **extra: Any) -> dict[str, Any]:
    return {
        "product_id": product.product_id,
        "name": product.name,
        "category": product.category,
        "brand": product.brand,
        "price": product.price,
        "currency": CURRENCY,
        **extra,
    }


class Shopper:
    """One simulated shopper: their tastes, their cart, and the events their sessions emit."""

    def __init__(self, rng: random.Random, catalog: Catalog) -> None:
        self.rng = rng
        self.catalog = catalog
        self.visitor_id = f"anon-{rng.getrandbits(64):016x}"
        self.favourites = rng.sample(catalog.categories, 2)
        self.cart: dict[str, tuple[Product, int]] = {}
        self.cart_id = f"cart-{rng.getrandbits(48):012x}"
        self.clock = 0.0
        self.steps: list[Step] = []

    # -- a session ------------------------------------------------------------------------------

    def session(self, start: float, sign_in_as: str | None = None) -> list[Step]:
        """The events of one visit starting at `start` (epoch seconds), signing in as
        `sign_in_as` after the landing page when given."""
        rng = self.rng
        self.clock, self.steps = start, []
        focus = self._pick_category()
        if rng.random() < 0.7:
            self._emit("Page Viewed", _home_page(), (1.0, 5.0))
        if sign_in_as is not None:
            self.identify(sign_in_as)
        self._list(focus)
        if rng.random() < 0.45:
            self._search(focus)
        viewed = []
        for _ in range(rng.randint(2, 8)):
            if rng.random() < 0.12:
                focus = self._pick_category()
                self._list(focus)
            product = self._pick_product(focus)
            viewed.append(product)
            self._emit("Product Viewed", product_properties(product), (10.0, 150.0))
        self._shop(viewed)
        return self.steps

    def identify(self, user_id: str) -> None:
        self.steps.append(Identify(self.visitor_id, user_id, make_traits(self.rng), self.clock))

    def _shop(self, viewed: list[Product]) -> None:
        rng = self.rng
        if rng.random() < 0.4:
            self._add(rng.choice(viewed))
            if rng.random() < 0.2:
                self._add(rng.choice(viewed))
        if not self.cart or rng.random() >= 0.7:
            return
        self._emit("Cart Viewed", self._cart_properties(cart_id=self.cart_id), (5.0, 40.0))
        if rng.random() >= 0.55:
            return
        order_id = f"ord-{rng.getrandbits(40):010x}"
        self._emit("Checkout Started", self._order_properties(order_id), (10.0, 60.0))
        if rng.random() < 0.65:
            self._emit("Order Completed", self._order_properties(order_id), (60.0, 300.0))
            self.cart = {}

    # -- one event each -------------------------------------------------------------------------

    def _emit(self, event: str, properties: dict[str, Any], gap: tuple[float, float]) -> None:
        self.clock += self.rng.uniform(*gap)
        self.steps.append(Track(self.visitor_id, event, properties, self.clock))

    def _list(self, category: str) -> None:
        shown = self.rng.sample(self.catalog.by_category[category], 8)
        products = [
            {"product_id": p.product_id, "price": p.price, "position": position}
            for position, p in enumerate(shown, 1)
        ]
        slug = category.lower().replace(" ", "-")
        properties = {"list_id": f"cat-{slug}", "category": category, "products": products}
        self._emit("Product List Viewed", properties, (3.0, 30.0))

    def _search(self, category: str) -> None:
        nouns, _ = CATEGORIES[category]
        query = f"{self.rng.choice(COLOURS)} {self.rng.choice(nouns).lower()}"
        self._emit("Products Searched", {"query": query}, (5.0, 20.0))

    def _add(self, product: Product) -> None:
        quantity = 1 if self.rng.random() < 0.85 else 2
        _, held = self.cart.get(product.product_id, (product, 0))
        self.cart[product.product_id] = (product, held + quantity)
        properties = product_properties(product, quantity=quantity, cart_id=self.cart_id)
        self._emit("Product Added", properties, (2.0, 15.0))

    # -- helpers --------------------------------------------------------------------------------

    def _pick_category(self) -> str:
        if self.rng.random() < 0.75:
            return self.rng.choice(self.favourites)
        return self.rng.choice(self.catalog.categories)

    def _pick_product(self, focus: str) -> Product:
        category = focus if self.rng.random() < 0.7 else self._pick_category()
        return self.rng.choice(self.catalog.by_category[category])

    def _cart_lines(self) -> list[dict[str, Any]]:
        return [
            {
                "product_id": p.product_id,
                "name": p.name,
                "category": p.category,
                "brand": p.brand,
                "price": p.price,
                "quantity": quantity,
            }
            for p, quantity in self.cart.values()
        ]

    def _cart_properties(self, **extra: Any) -> dict[str, Any]:
        return {**extra, "currency": CURRENCY, "products": self._cart_lines()}

    def _order_properties(self, order_id: str) -> dict[str, Any]:
        subtotal = round(sum(p.price * quantity for p, quantity in self.cart.values()), 2)
        discount = round(subtotal * 0.1, 2) if self.rng.random() < 0.2 else 0.0
        shipping = 0.0 if subtotal >= 50 else 4.95
        return self._cart_properties(
            order_id=order_id,
            total=round(subtotal - discount + shipping, 2),
            revenue=round(subtotal - discount, 2),
            shipping=shipping,
            tax=round((subtotal - discount) * 0.19 / 1.19, 2),
            discount=discount,
        )


def _home_page() -> dict[str, Any]:
    return {"page_type": "home", "path": "/", "title": "Home", "url": f"{SHOP_URL}/"}


def make_traits(rng: random.Random) -> dict[str, Any]:
    """Traits a shop would send at sign-in: name, contact, consent, tier, country, age."""
    first_name = rng.choice(FIRST_NAMES)
    traits: dict[str, Any] = {
        "first_name": first_name,
        "email": f"{first_name.lower()}.{rng.randint(1, 9_999)}@{rng.choice(EMAIL_DOMAINS)}",
        "country": rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0],
        "tier": rng.choices(TIERS, TIER_WEIGHTS)[0],
        "email_opt_in": rng.random() < 0.6,
        "sms_opt_in": rng.random() < 0.25,
        "age": rng.randint(18, 75),
    }
    if traits["sms_opt_in"]:
        traits["phone"] = f"+49{rng.randint(10**9, 10**10 - 1)}"
    if rng.random() < 0.8:
        traits["gender"] = rng.choice(("female", "male", "Female", "diverse"))
    if rng.random() < 0.3:
        traits["app_version"] = f"3.{rng.randint(0, 4)}.{rng.randint(0, 12)}"
    return traits


# -- journeys ------------------------------------------------------------------------------------


def shopper_history(
    catalog: Catalog,
    index: int,
    *,
    seed: int,
    sessions: tuple[int, int],
    last_seen: tuple[float, float],
    identify_share: float = 0.0,
) -> list[Step]:
    """All steps of shopper `index`: a number of visits in the range `sessions`, an hour to three
    weeks apart, the last event between `last_seen` seconds before `NOW` (log-uniformly, so
    shoppers active right now, yesterday and last month are all common).

    With probability `identify_share` the shopper signs in at the start of one of the visits.
    """
    rng = random.Random(seed * 1_000_003 + index)
    shopper = Shopper(rng, catalog)
    count = rng.randint(*sessions)
    signs_in_at = rng.randrange(count) if rng.random() < identify_share else -1
    steps: list[Step] = []
    cursor = 0.0
    for visit in range(count):
        user_id = f"cust-{seed}-{index:07d}" if visit == signs_in_at else None
        steps.extend(shopper.session(cursor, sign_in_as=user_id))
        cursor = shopper.clock + rng.uniform(HOUR, 21 * DAY)
    low, high = (math.log(bound) for bound in last_seen)
    shift = NOW - math.exp(rng.uniform(low, high)) - steps[-1].timestamp
    return [replace(step, timestamp=step.timestamp + shift) for step in steps]


def track_mix(catalog: Catalog, visitors: int = 5_000, seed: int = 1) -> list[Track]:
    """The `track()` calls of `visitors` shoppers, one visit each, in time order, so visitors
    interleave as they would in a live shop."""
    calls = [
        step
        for index in range(visitors)
        for step in shopper_history(
            catalog, index, seed=seed, sessions=(1, 1), last_seen=(MINUTE, 6 * HOUR)
        )
        if isinstance(step, Track)
    ]
    calls.sort(key=lambda call: call.timestamp)
    return calls


def shopper_histories(
    catalog: Catalog,
    visitors: int,
    *,
    seed: int = 2,
    identify_share: float = 0.35,
) -> Iterator[list[Step]]:
    """Lazily, the histories of `visitors` shoppers: 2-4 visits, about 20-40 events, last seen
    between five minutes and a month ago, about a third of them signing in. Built one at a time
    so that nothing else is held."""
    for index in range(visitors):
        yield shopper_history(
            catalog,
            index,
            seed=seed,
            sessions=(2, 4),
            last_seen=(5 * MINUTE, 30 * DAY),
            identify_share=identify_share,
        )


def replay(pz: Personalizer, steps: Iterable[Step]) -> int:
    """Feed `steps` to `pz` with their own timestamps; returns the number of events tracked."""
    tracked = 0
    for step in steps:
        if isinstance(step, Track):
            pz.track(step.visitor_id, step.event, step.properties, timestamp=step.timestamp)
            tracked += 1
        else:
            pz.identify(step.visitor_id, user_id=step.user_id, traits=step.traits)
    return tracked


def rejected(pz: Personalizer) -> int:
    """Events and calls `pz` rejected or failed on: must be 0, or the figures flatter it."""
    return sum(n for key, n in pz.stats().items() if key.startswith(("invalid.", "errors.")))
