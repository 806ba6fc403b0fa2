"""Building a widget's data (`Widget.data`) for one shopper on one page: pure.

One builder per kind, in `BUILDERS`, turns a campaign variant's content into the JSON-ready
model that `widgets.render_widget` renders and headless front ends read. A builder returns None
when it has nothing worth showing (no recently viewed products yet, no threshold for the cart's
currency, a countdown past its deadline): the decision then moves on to the next campaign.
Copy templates raise `CopyError` when they fail; the caller skips that widget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from .campaign import Campaign, Variant
from .campaign_kinds import RECOMMENDATION_TITLES, Article
from .catalog import Catalog, MemoryCatalog, Product
from .copy import CopyTemplate, VariedCopy
from .coupons import Coupon
from .identity_memo import IdentityMemo
from .money import format_money, remaining_to, to_decimal
from .page import Page
from .popularity_feed import PopularityFeed
from .profile import Cart, Profile
from .read_only import ReadOnlyDict

Data = dict[str, Any]


@attrs.define
class Scene:
    """Everything a builder may read about this request, with the copy context built once."""

    profile: Profile
    page: Page
    segments: frozenset[str]
    now: float
    half_life: float
    beacon: str
    catalog: Catalog | None = None
    popularity: PopularityFeed | None = None
    coupons: Callable[[str, str, str, float, float | None], Coupon] | None = None
    """`CouponBook.code_for`, or a cache in front of it."""
    default_currency: str = "USD"
    _copy: dict[str, Any] = attrs.field(factory=dict)

    @property
    def category(self) -> str | None:
        """What the shopper is browsing: the page's category, else the session's top one,
        else their strongest category affinity."""
        if self.page.category:
            return self.page.category.strip().lower()
        session = self.profile.session
        if session is not None and session.top_category:
            return session.top_category
        return _strongest(self.profile.category_affinity)

    @property
    def brand(self) -> str | None:
        return _strongest(self.profile.brand_affinity)

    def product(self, product_id: str | None) -> Product | None:
        if product_id is None or self.catalog is None:
            return None
        return self.catalog.get(product_id)

    def copy_context(self, names: Iterable[str]) -> dict[str, Any]:
        """The copy context (see `copy`) with at least `names`; each entry is built once."""
        context = self._copy
        for name in names:
            if name not in context:
                build = _CONTEXT.get(name)
                context[name] = None if build is None else build(self)
        return context

    def text(self, copy: VariedCopy | None, **extra: Any) -> str:
        if copy is None:
            return ""
        template: CopyTemplate = (
            copy.for_category(self.category) if copy.by_category else copy.default
        )
        if template.is_constant:
            return template.source  # most copy: no context to build
        context = self.copy_context(template.names)
        return template.render({**context, **extra} if extra else context)


def _first_name(scene: Scene) -> str | None:
    traits = scene.profile.traits
    first_name = traits.get("first_name") or traits.get("firstName")
    return first_name if isinstance(first_name, str) else None


def _product_context(scene: Scene) -> dict[str, Any] | None:
    product = scene.product(scene.page.product_id)
    if product is None:
        return None
    return {"name": product.name, "price": product.price, "url": product.url}


def _cart_context(scene: Scene) -> dict[str, Any]:
    cart = scene.profile.cart
    return {
        "value": cart_value(scene.profile),
        "currency": cart.currency or scene.default_currency,
        "quantity": cart.quantity,
        "items": len(cart.items),
    }


_CONTEXT: Mapping[str, Callable[[Scene], Any]] = {
    "first_name": _first_name,
    "category": lambda scene: scene.category,
    "brand": lambda scene: scene.brand,
    "product": _product_context,
    "cart": _cart_context,
    "page": lambda scene: {"type": scene.page.type, "path": scene.page.path},
    "segments": lambda scene: scene.segments,
}
"""How each name of the copy context is made, on first use (see `copy` for the list)."""


def cart_value(profile: Profile) -> Decimal:
    """The cart's value, exact: each line's price as written (floats via their text form)."""
    cart = profile.cart
    # A cart is an immutable value, priced on every page until it changes: remembered by
    # identity (hashing it by value costs as much as pricing it).
    total = _TOTALS.get(cart)
    if total is None:
        total = _TOTALS.put(cart, sum(
            (to_decimal(item.price) * item.quantity for item in cart.items), Decimal(0)
        ))  # fmt: skip
    return total


_TOTALS: IdentityMemo[Cart, Decimal] = IdentityMemo()


def build(campaign: Campaign, variant: Variant, scene: Scene) -> Data | None:
    data = BUILDERS[campaign.kind](campaign, variant, scene)
    if data is None:
        return None
    data.update(
        kind=campaign.kind,
        campaign_id=campaign.id,
        variant=variant.id,
        slot=campaign.slot,
        beacon=scene.beacon,
    )
    return data


def control_data(campaign: Campaign, scene: Scene, data: Data) -> Data:
    """What the holdout's marker carries: who it is, and for an overlay the trigger settings of
    the widget it stands in for (`data`), so its exposure is recorded on the same gesture."""
    control = {
        "kind": campaign.kind,
        "campaign_id": campaign.id,
        "variant": "control",
        "slot": campaign.slot,
        "beacon": scene.beacon,
    }
    if "trigger" in data:
        control["trigger"] = data["trigger"]
    return control


# -- builders ---------------------------------------------------------------------------------

Builder = Callable[[Campaign, Variant, Scene], "Data | None"]


def _link(content: Mapping[str, Any], scene: Scene) -> dict[str, str] | None:
    url = content.get("link_url")
    if url is None:
        return None
    text = scene.text(content.get("link_text")) or "Shop now"
    return {"url": url, "text": text}


def coupon_data(campaign: Campaign, variant: Variant, scene: Scene) -> dict[str, Any] | None:
    """The shopper's coupon of this variant as widget data, or None when it has none."""
    if variant.content.get("coupon") is None or scene.coupons is None:
        return None
    exposure = scene.profile.exposures.get(campaign.id)
    coupon = scene.coupons(
        campaign.id,
        variant.id,
        (exposure and exposure.issued_to) or scene.profile.key,
        # Codes are issued per minute (their expiry is rounded to one), so calls within a
        # minute ask the same question and a cache can answer it.
        scene.now // 60 * 60,
        None if exposure is None else exposure.first_shown,
    )
    return {"code": coupon.code, "expires_at": coupon.expires_at, "discount": coupon.discount}


def _hello_bar(campaign: Campaign, variant: Variant, scene: Scene) -> Data:
    content = variant.content
    return {
        "text": scene.text(content["text"]),
        "link": _link(content, scene),
        "dismissible": content["dismissible"],
    }


def _side_coupon(campaign: Campaign, variant: Variant, scene: Scene) -> Data | None:
    coupon = coupon_data(campaign, variant, scene)
    if coupon is None:
        return None
    content = variant.content
    return {
        "tab": scene.text(content["tab"]),
        "text": scene.text(content["text"], coupon=coupon),
        "coupon": coupon,
        "position": content["position"],
    }


def _exit_intent(campaign: Campaign, variant: Variant, scene: Scene) -> Data:
    content = variant.content
    coupon = coupon_data(campaign, variant, scene)
    survey = content.get("survey")
    return {
        "title": scene.text(content["title"], coupon=coupon),
        "text": scene.text(content["text"], coupon=coupon),
        "coupon": coupon,
        "link": _link(content, scene),
        "survey": None
        if survey is None
        else {
            "question": survey.question,
            "options": [{"value": o.value, "label": o.label} for o in survey.options],
        },
        "trigger": {
            "sensitivity": content["sensitivity"],
            "delay_ms": round(content["delay_seconds"] * 1000),
            "min_dwell_ms": round(content["min_dwell_seconds"] * 1000),
            "mobile": list(content["mobile_triggers"]),
            "idle_ms": round(content["idle_seconds"] * 1000),
        },
    }


def _progress_bar(campaign: Campaign, variant: Variant, scene: Scene) -> Data | None:
    content = variant.content
    cart = scene.profile.cart
    if not cart and not content["show_when_empty"]:
        return None
    currency = cart.currency or scene.default_currency
    threshold = content["thresholds"].get(currency)
    if threshold is None:
        return None  # no goal in this market's currency: say nothing rather than something wrong
    value = cart_value(scene.profile)
    remaining = remaining_to(threshold, value, currency)
    unlocked = remaining <= 0
    percent = 100 if unlocked else max(0, min(99, int(value * 100 / threshold)))
    extra = {
        "remaining": format_money(remaining, currency),
        "threshold": format_money(threshold, currency),
    }
    text = scene.text(content["unlocked_text" if unlocked else "text"], **extra)
    return {
        "text": text,
        "unlocked": unlocked,
        "percent": percent,
        "currency": currency,
        "refresh_url": None,
        **extra,
    }


CARDS_REMEMBERED = 16_384
"""Products whose cards (and their markup) are kept: a few MB at most; a catalog with more
products than this shown in strips makes some again now and then."""


def _product_card(product: Product) -> ReadOnlyDict:
    """The product as a card (read-only: the same card serves every widget that lists it)."""
    card = _CARDS.get(product)
    if card is None:
        price = product.price
        card = _CARDS.put(product, ReadOnlyDict(
            id=product.id,
            name=product.name,
            url=product.url,
            image=product.image,
            price=None if price is None else format_money(price, product.currency),
        ))  # fmt: skip
    return card


_CARDS: IdentityMemo[Product, ReadOnlyDict] = IdentityMemo(CARDS_REMEMBERED)
"""A catalog that keeps its `Product` objects (`MemoryCatalog`) gets each card made once."""


def _cards(scene: Scene, ids: list[str], limit: int) -> list[dict[str, Any]]:
    """Cards of products in stock, in the order given; without a catalog, bare ids."""
    if scene.catalog is None:
        return [
            {"id": i, "name": i, "url": None, "image": None, "price": None} for i in ids[:limit]
        ]
    catalog = scene.catalog
    # An in-memory catalog is asked id by id, as far as the strip fills (a few of up to twenty
    # recently viewed); another is asked once for them all (one call to the shop's lookup).
    get = catalog.get if type(catalog) is MemoryCatalog else catalog.get_many(ids).get
    cards = []
    for product_id in ids:
        product = get(product_id)
        if product is not None and product.in_stock:
            cards.append(_product_card(product))
            if len(cards) == limit:
                break
    return cards


def _recently_viewed(campaign: Campaign, variant: Variant, scene: Scene) -> Data | None:
    content = variant.content
    profile = scene.profile
    skip = set(profile.orders.product_ids)
    if scene.page.product_id:
        skip.add(scene.page.product_id)
    ids = [pid for pid in profile.recently_viewed if pid not in skip]
    products = _cards(scene, ids, content["limit"])
    if len(products) < content["min_items"]:
        return None
    return {"title": scene.text(content["title"]), "products": products}


def _recommendations(campaign: Campaign, variant: Variant, scene: Scene) -> Data | None:
    content = variant.content
    popularity = scene.popularity
    if popularity is None:
        return None
    profile = scene.profile
    strategy = content["strategy"]
    in_cart = [item.product_id for item in profile.cart.items]
    exclude = {*in_cart, *profile.orders.product_ids}
    if scene.page.product_id:
        exclude.add(scene.page.product_id)
    # Ask for more than needed: some will be out of stock or unknown to the catalog.
    wanted = content["limit"] * 2
    days = content["days"]
    extra: dict[str, Any] = {}
    if strategy == "category_bestsellers":
        category = scene.category
        if category is None:
            return None
        ids = popularity.top_products(
            scene.now, days=days, limit=wanted, category=category, metric="orders", exclude=exclude
        )
        extra["category"] = category
    elif strategy == "brand_trending":
        brand = scene.brand
        if brand is None:
            return None
        ids = popularity.top_products(
            scene.now, days=days, limit=wanted, brand=brand, metric="score", exclude=exclude
        )
        extra["brand"] = brand
    else:
        if not in_cart:
            return None
        ids = popularity.bought_together(in_cart, scene.now, limit=wanted, exclude=exclude)
    products = _cards(scene, [entry.product_id for entry in ids], content["limit"])
    if len(products) < content["min_items"]:
        return None
    title = content.get("title")
    if title is None:
        title = _DEFAULT_TITLES[strategy]
    return {"title": scene.text(title, **extra), "strategy": strategy, "products": products}


def _floating_icon(campaign: Campaign, variant: Variant, scene: Scene) -> Data:
    content = variant.content
    label = scene.text(content["label"])
    return {
        "label": label,
        "icon": content["icon"],
        "link": {"url": content["link_url"], "text": label},
        "position": content["position"],
    }


def _scratch_coupon(campaign: Campaign, variant: Variant, scene: Scene) -> Data | None:
    coupon = coupon_data(campaign, variant, scene)
    if coupon is None:
        return None
    content = variant.content
    return {
        "title": scene.text(content["title"]),
        "text": scene.text(content["text"], coupon=coupon),
        "cover_text": scene.text(content["cover_text"]),
        "coupon": coupon,
    }


def _countdown(campaign: Campaign, variant: Variant, scene: Scene) -> Data | None:
    content = variant.content
    deadline = content.get("deadline")
    if deadline is None and content.get("duration_minutes") is not None:
        # Evergreen: the clock starts when this shopper first saw the offer.
        exposure = scene.profile.exposures.get(campaign.id)
        started = (
            scene.now if exposure is None or exposure.first_shown is None else exposure.first_shown
        )
        deadline = started + content["duration_minutes"] * 60
    if deadline is None and campaign.schedule is not None:
        deadline = campaign.schedule.end
    if deadline is None or deadline <= scene.now:
        return None
    return {
        "title": scene.text(content["title"]),
        "text": scene.text(content["text"]),
        "deadline": deadline,
        "remaining_seconds": deadline - scene.now,
        "expired_text": scene.text(content["expired_text"]),
        "link": _link(content, scene),
    }


def _editorial(campaign: Campaign, variant: Variant, scene: Scene) -> Data | None:
    articles: tuple[Article, ...] = variant.content["articles"]
    category = scene.category
    chosen = next((a for a in articles if category is not None and category in a.categories), None)
    if chosen is None:
        chosen = next((a for a in articles if not a.categories), None)
    if chosen is None:
        return None
    return {
        "title": scene.text(variant.content["title"]),
        "article": {
            "title": chosen.title,
            "url": chosen.url,
            "image": chosen.image,
            "summary": chosen.summary,
        },
    }


_DEFAULT_TITLES: Mapping[str, VariedCopy] = {
    strategy: VariedCopy.from_value(title, field="title")
    for strategy, title in RECOMMENDATION_TITLES.items()
}

BUILDERS: Mapping[str, Builder] = {
    "hello_bar": _hello_bar,
    "side_coupon": _side_coupon,
    "exit_intent": _exit_intent,
    "progress_bar": _progress_bar,
    "recently_viewed": _recently_viewed,
    "recommendations": _recommendations,
    "floating_icon": _floating_icon,
    "scratch_coupon": _scratch_coupon,
    "countdown": _countdown,
    "editorial": _editorial,
}


def _strongest(scores: Mapping[str, float]) -> str | None:
    """The key with the highest log-form score (decay shifts every key alike, so no `now`)."""
    return max(scores, key=scores.__getitem__) if scores else None
